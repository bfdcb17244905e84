/* The keyspace and the string/key commands over the real Bitcask engine on a temp dir: expiry
 * survives a restart (the wheel is refilled from the keydir), lazy and active expiry leave
 * tombstones that survive too, and the same handlers give the same replies as on memory. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { limits } from '../core/limits.js'
import { hashCommands } from '../commands/hashes.js'
import { keyCommands } from '../commands/keys.js'
import { setCommands } from '../commands/sets.js'
import { stringCommands } from '../commands/strings.js'
import { zsetCommands } from '../commands/zsets.js'
import { tempDirs } from '../../test/helpers/engine-fixtures.js'
import {
  ManualTime,
  manualTimeStartMs as t0,
  commandRunner,
  shutdown,
  withKeyspace,
} from '../../test/helpers/keyspace-fixtures.js'

const run = commandRunner([
  ...stringCommands,
  ...keyCommands,
  ...hashCommands,
  ...setCommands,
  ...zsetCommands,
])
const tempDir = tempDirs('caskade-keyspace-')

const b = (text: string): Buffer => Buffer.from(text)

describe('keyspace over the Bitcask engine', () => {
  test('expiry times survive a restart; the wheel is refilled and expires them', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    for (let i = 0; i < 100; i++) keyspace.set(b(`tmp${i}`), b('v'), { expiresAtMs: t0 + 5000 })
    keyspace.set(b('keep'), b('v'))
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(keyspace.size(), 101)
    assert.equal(keyspace.wheelSize(), 100)
    assert.equal(keyspace.peekExpiresAtMs(b('tmp7')), t0 + 5000)
    time.tick(6000)
    assert.equal(keyspace.size(), 1)
    assert.equal(keyspace.stats().expiredKeys, 100)
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(keyspace.size(), 1, 'the active-expiry tombstones were persisted')
    assert.deepEqual(keyspace.keys(b('*')).map(String), ['keep'])
    await shutdown(engine, keyspace)
  })

  test('a lazily expired key stays deleted after a restart', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 10 })
    time.nowMs = t0 + 11
    assert.equal(keyspace.get(b('k')), null)
    await shutdown(engine, keyspace)
    time.nowMs = t0 // even with the clock back, the tombstone wins
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(keyspace.get(b('k')), null)
    await shutdown(engine, keyspace)
  })

  test('string and key commands give the same replies on disk, and persist', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    assert.equal(run(keyspace, time, 'set', 'n', '41', 'px', '60000'), '+OK\r\n')
    assert.equal(run(keyspace, time, 'incr', 'n'), ':42\r\n')
    assert.equal(run(keyspace, time, 'append', 's', 'hello'), ':5\r\n')
    assert.equal(run(keyspace, time, 'setrange', 's', '0', 'J'), ':5\r\n')
    assert.equal(run(keyspace, time, 'incrbyfloat', 'f', '10.5'), '$4\r\n10.5\r\n')
    assert.equal(run(keyspace, time, 'rename', 's', 't'), '+OK\r\n')
    assert.equal(run(keyspace, time, 'copy', 'n', 'm'), ':1\r\n')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(run(keyspace, time, 'get', 'n'), '$2\r\n42\r\n')
    assert.equal(run(keyspace, time, 'pttl', 'm'), ':60000\r\n')
    assert.equal(run(keyspace, time, 'get', 't'), '$5\r\nJello\r\n')
    assert.equal(run(keyspace, time, 'exists', 's'), ':0\r\n')
    assert.equal(run(keyspace, time, 'incrbyfloat', 'f', '0.1'), '$4\r\n10.6\r\n')
    const seen: string[] = []
    let cursor = '0'
    do {
      const lines = run(keyspace, time, 'scan', cursor, 'count', '2').split('\r\n')
      cursor = lines[2] as string
      for (let i = 4; i + 1 < lines.length; i += 2) seen.push(lines[i + 1] as string)
    } while (cursor !== '0')
    assert.deepEqual(seen.sort(), ['f', 'm', 'n', 't'])
    await shutdown(engine, keyspace)
  })

  test('hashes persist across restarts, with TYPE, RENAME, COPY and WRONGTYPE', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    const r = (...args: string[]): string => run(keyspace, time, ...args)
    assert.equal(r('hset', 'h', 'a', '1', 'b', '2', 'c', '3'), ':3\r\n')
    assert.equal(r('hdel', 'h', 'b'), ':1\r\n')
    assert.equal(r('hincrby', 'h', 'a', '41'), ':42\r\n')
    assert.equal(r('hincrbyfloat', 'h', 'f', '0.5'), '$3\r\n0.5\r\n')
    assert.equal(r('copy', 'h', 'h2'), ':1\r\n')
    assert.equal(r('hset', 'gone', 'x', 'y'), ':1\r\n')
    assert.equal(r('rename', 'gone', 'moved'), '+OK\r\n')
    assert.equal(r('set', 's', 'v'), '+OK\r\n')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    const again = (...args: string[]): string => run(keyspace, time, ...args)
    // Field order after a restart follows the element index, not the original insertion.
    const pairs = (reply: string): string[] => {
      const lines = reply.split('\r\n').filter((_, index) => index % 2 === 0)
      const out: string[] = []
      for (let k = 1; k + 1 < lines.length; k += 2) out.push(`${lines[k]}=${lines[k + 1]}`)
      return out.sort()
    }
    assert.deepEqual(pairs(again('hgetall', 'h')), ['a=42', 'c=3', 'f=0.5'])
    assert.deepEqual(pairs(again('hgetall', 'h2')), ['a=42', 'c=3', 'f=0.5'])
    assert.equal(again('type', 'h'), '+hash\r\n')
    assert.equal(again('type', 'moved'), '+hash\r\n')
    assert.equal(again('exists', 'gone'), ':0\r\n')
    assert.equal(again('get', 'h').slice(0, 10), '-WRONGTYPE')
    assert.equal(again('hget', 's', 'f').slice(0, 10), '-WRONGTYPE')
    assert.equal(again('exists', 'h', 'h2', 'moved', 's'), ':4\r\n')
    await shutdown(engine, keyspace)
  })

  test('active expiry deletes a whole hash with one tombstone, and it stays deleted', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    for (let i = 0; i < 1000; i++) run(keyspace, time, 'hset', 'h', `f${i}`, `v${i}`)
    run(keyspace, time, 'pexpire', 'h', '5000')
    await engine.flushAndSync()
    const liveBefore = engine.stats().liveBytes
    time.tick(6000)
    assert.equal(keyspace.stats().expiredKeys, 1)
    assert.equal(keyspace.size(), 0)
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.ok(engine.stats().liveBytes < liveBefore / 100, 'every element is dead')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(run(keyspace, time, 'hlen', 'h'), ':0\r\n')
    assert.equal(engine.stats().liveBytes, 0)
    await shutdown(engine, keyspace)
  })

  test('an element too big to store is refused before its collection is created', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    const r = (...args: string[]): string => run(keyspace, time, ...args)
    const huge = 'x'.repeat(limits.keyBytesMax)
    const refused = '-ERR field exceeds maximum allowed size\r\n'
    assert.equal(r('hset', 'h', huge, 'v'), refused)
    assert.equal(r('sadd', 's', huge), refused)
    assert.equal(r('zadd', 'z', '1', huge), refused)
    for (const key of ['h', 's', 'z']) assert.equal(r('exists', key), ':0\r\n')
    assert.equal(keyspace.size(), 0)
    // The keys are usable as any absent key, and nothing of the refused writes reopens.
    assert.equal(r('hset', 'h', 'f', 'v'), ':1\r\n')
    assert.equal(r('zadd', 'z', '1', 'm'), ':1\r\n')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(run(keyspace, time, 'hlen', 'h'), ':1\r\n')
    assert.equal(run(keyspace, time, 'zcard', 'z'), ':1\r\n')
    assert.equal(run(keyspace, time, 'exists', 's'), ':0\r\n')
    await shutdown(engine, keyspace)
  })
})
