/* The embedded API on a temp dir: reads and writes with strings and Buffers, NX/XX, TTLs, scan,
 * persistence across reopen, and a closed store rejecting calls. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { open } from './index.js'

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'caskade-embedded-'))
}

describe('embedded API', () => {
  test('set/get/del/exists/size, strings and Buffers, persisted across reopen', async () => {
    const dir = tempDir()
    try {
      const store = await open(dir)
      assert.equal(await store.set('a', 'one'), true)
      assert.equal(await store.set(Buffer.from([0, 1, 2]), Buffer.from([255, 254])), true)
      assert.equal(await store.getString('a'), 'one')
      assert.deepEqual(await store.get(Buffer.from([0, 1, 2])), Buffer.from([255, 254]))
      assert.equal(await store.exists('a'), true)
      assert.equal(await store.size(), 2)
      assert.equal(await store.set('gone', 'x'), true)
      assert.equal(await store.del('gone', 'never-there'), 1)
      assert.equal(await store.get('gone'), null)
      await store.close()
      const again = await open(dir)
      assert.equal(await again.getString('a'), 'one')
      assert.equal(await again.size(), 2)
      await again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('NX and XX, TTLs and expire', async () => {
    const dir = tempDir()
    try {
      const store = await open(dir, { fsync: 'no' })
      assert.equal(await store.set('k', 'v', { nx: true }), true)
      assert.equal(await store.set('k', 'w', { nx: true }), false)
      assert.equal(await store.set('missing', 'w', { xx: true }), false)
      assert.equal(await store.set('k', 'w', { xx: true }), true)
      assert.equal(await store.getString('k'), 'w')
      assert.equal(await store.ttl('k'), -1)
      assert.equal(await store.ttl('missing'), -2)
      assert.equal(await store.expire('k', 100_000), true)
      const ttl = await store.ttl('k')
      assert.ok(ttl > 90_000 && ttl <= 100_000, `ttl ${ttl}`)
      assert.equal(await store.expire('missing', 1000), false)
      await store.set('abs', 'v', { expiresAtMs: Date.now() + 50_000 })
      assert.ok((await store.ttl('abs')) > 40_000)
      await store.set('past', 'v', { expiresAtMs: Date.now() - 1 })
      assert.equal(await store.get('past'), null)
      await assert.rejects(store.set('k', 'v', { nx: true, xx: true }), /syntax error/)
      await assert.rejects(store.set('k', 'v', { ttlMs: 0 }), /invalid expire time/)
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('scan yields every key, with MATCH', async () => {
    const dir = tempDir()
    try {
      const store = await open(dir, { fsync: 'no' })
      for (let i = 0; i < 250; i++) await store.set(`user:${i}`, 'u')
      for (let i = 0; i < 30; i++) await store.set(`order:${i}`, 'o')
      const all = new Set<string>()
      for await (const key of store.scan({ count: 17 })) all.add(key.toString())
      assert.equal(all.size, 280)
      const orders = new Set<string>()
      for await (const key of store.scan({ match: 'order:*' })) orders.add(key.toString())
      assert.equal(orders.size, 30)
      await store.close()
      await assert.rejects(store.get('user:1'), /closed/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
