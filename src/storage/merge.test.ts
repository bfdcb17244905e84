/* Merge: concurrent writes win, space is reclaimed, tombstones never resurrect keys, crashes
 * around the manifest recover, and a seeded random workload matches a model (SEED=n). */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { createRng } from '../core/rng.js'
import type { Disk } from '../core/ports.js'
import { engineOptions, tempDirs } from '../../test/helpers/engine-fixtures.js'
import { openEngine } from './engine.js'
import type { EngineOptions, StorageEngine, StorageEvent } from './types.js'

const tempDir = tempDirs('caskade-merge-')
const options = (dir: string, overrides: Partial<EngineOptions> = {}): EngineOptions =>
  engineOptions(dir, { fsync: 'no', segmentBytesMax: 4096, ...overrides })

const b = (text: string): Buffer => Buffer.from(text)
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const dirBytes = (dir: string): number =>
  fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !condition(); i++) await sleep(2)
  assert.ok(condition(), 'condition reached within the time limit')
}

const waitMergeDone = (engine: StorageEngine): Promise<void> =>
  waitFor(() => !engine.stats().mergeInProgress)

function assertMatches(engine: StorageEngine, model: Map<string, string>, label: string): void {
  assert.equal(engine.keyCount(), model.size, `${label}: key count`)
  for (const [key, value] of model) {
    assert.equal(engine.get(b(key))?.toString(), value, `${label}: value of ${key}`)
  }
  const seen = new Set<string>()
  let cursor = 0
  do {
    const page = engine.scan(cursor, 64)
    for (const key of page.keys) seen.add(key.toString())
    cursor = page.cursor
  } while (cursor !== 0)
  assert.deepEqual([...seen].sort(), [...model.keys()].sort(), `${label}: scanned keys`)
}

describe('merge', () => {
  test('merge under concurrent writes loses nothing and reclaims space', async () => {
    const dir = tempDir()
    const events: StorageEvent[] = []
    const opts = options(dir, { onEvent: (event) => events.push(event) })
    let engine = await openEngine(opts)
    const model = new Map<string, string>()
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) {
        const value = `r${round}-${i}-`.padEnd(30, '.')
        engine.put(b(`key${i}`), b(value), 0)
        model.set(`key${i}`, value)
      }
    }
    await engine.flushAndSync()
    await turn()
    const bytesBefore = dirBytes(dir)
    const deadBefore = engine.stats().deadBytes
    assert.equal(engine.startMerge(), true)
    assert.equal(engine.startMerge(), false, 'one merge at a time')
    let writes = 0
    // Bounded, so the bytes they add stay well below what the merge reclaims.
    while (engine.stats().mergeInProgress && writes < 150) {
      const i = writes % 150
      if (writes % 7 === 3) {
        engine.delete(b(`key${i}`))
        model.delete(`key${i}`)
      } else {
        const value = `during-${writes}`
        engine.put(b(`key${i}`), b(value), 0)
        model.set(`key${i}`, value)
      }
      writes++
      await turn()
    }
    assert.ok(writes > 0, 'writes interleaved with the merge')
    await waitMergeDone(engine)
    assertMatches(engine, model, 'after merge')
    const finished = events.find((event) => event.kind === 'merge-finished')
    assert.ok(finished?.kind === 'merge-finished' && finished.reclaimedBytes > 0)
    assert.equal(engine.stats().merges, 1)
    assert.ok(engine.stats().deadBytes < deadBefore)
    await engine.close()
    assert.ok(dirBytes(dir) < bytesBefore, 'the directory shrank')
    engine = await openEngine(opts)
    assertMatches(engine, model, 'after reopen')
    await engine.close()
  })

  test('deleted keys stay deleted after a merge drops their tombstones', async () => {
    const dir = tempDir()
    const opts = options(dir)
    let engine = await openEngine(opts)
    for (let i = 0; i < 200; i++) engine.put(b(`k${i}`), b(`v${i}`.padEnd(40, '-')), 0)
    for (let i = 0; i < 200; i += 2) engine.delete(b(`k${i}`))
    await engine.close()
    engine = await openEngine(opts)
    assert.equal(engine.startMerge(), true)
    await waitMergeDone(engine)
    await engine.close()
    engine = await openEngine(opts)
    for (let i = 0; i < 200; i++) {
      assert.equal(
        engine.get(b(`k${i}`))?.toString() ?? null,
        i % 2 ? `v${i}`.padEnd(40, '-') : null,
      )
    }
    await engine.close()
  })

  test('the dead-byte ratio triggers a merge by itself after rotations', async () => {
    const dir = tempDir()
    const events: StorageEvent[] = []
    const opts = options(dir, {
      mergeDeadRatioMin: 0.3,
      mergeDeadBytesMin: 8 * 1024,
      onEvent: (event) => events.push(event),
    })
    const engine = await openEngine(opts)
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 20; i++) engine.put(b(`hot${i}`), b(`${round}`.padEnd(50, 'x')), 0)
      await turn()
    }
    await waitFor(() => events.some((event) => event.kind === 'merge-finished'))
    assert.ok(events.some((event) => event.kind === 'merge-started'))
    await waitMergeDone(engine)
    for (let i = 0; i < 20; i++)
      assert.equal(engine.get(b(`hot${i}`))?.toString(), '29'.padEnd(50, 'x'))
    await engine.close()
  })

  test('a crash after the manifest but before the deletions is completed at open', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    const model = new Map<string, string>()
    for (let i = 0; i < 300; i++) {
      const value = `v${i}`.padEnd(30, '=')
      engine.put(b(`k${i % 60}`), b(value), 0)
      model.set(`k${i % 60}`, value)
    }
    for (let i = 0; i < 60; i += 5) {
      engine.delete(b(`k${i}`))
      model.delete(`k${i}`)
    }
    await engine.close()
    // A disk that "crashes" on the first segment deletion: snapshot the directory then.
    const snapshot = tempDir()
    let crashed = false
    const crashingDisk: Disk = {
      ...nodeDisk,
      remove: async (filePath) => {
        if (!crashed && filePath.endsWith('.data') && filePath.includes(dir)) {
          crashed = true
          fs.cpSync(dir, snapshot, { recursive: true })
        }
        return nodeDisk.remove(filePath)
      },
    }
    engine = await openEngine(options(dir, { disk: crashingDisk }))
    assert.equal(engine.startMerge(), true)
    await waitMergeDone(engine)
    assert.ok(crashed)
    await engine.close()
    assert.ok(fs.existsSync(path.join(snapshot, 'merge.obsolete')))
    fs.rmSync(path.join(snapshot, 'LOCK'), { force: true })
    const recovered = await openEngine(options(snapshot))
    assert.equal(fs.existsSync(path.join(snapshot, 'merge.obsolete')), false)
    assertMatches(recovered, model, 'recovered snapshot')
    await recovered.close()
  })

  test('an incomplete merge output left by a crash is discarded at open', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    for (let i = 0; i < 100; i++) engine.put(b(`k${i % 10}`), b(`v${i}`), 0)
    await engine.close()
    fs.writeFileSync(path.join(dir, '0000000999.data.merging'), 'half a merge')
    fs.writeFileSync(path.join(dir, '0000000999.hint'), 'orphan hint')
    engine = await openEngine(options(dir))
    for (let i = 0; i < 10; i++) assert.equal(engine.get(b(`k${i}`))?.toString(), `v${90 + i}`)
    await engine.close()
    assert.equal(fs.existsSync(path.join(dir, '0000000999.data.merging')), false)
    assert.equal(fs.existsSync(path.join(dir, '0000000999.hint')), false)
  })

  test('close during a merge aborts it cleanly', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    const model = new Map<string, string>()
    for (let i = 0; i < 2000; i++) {
      const value = `v${i}`.padEnd(60, '#')
      engine.put(b(`k${i % 300}`), b(value), 0)
      model.set(`k${i % 300}`, value)
    }
    await engine.flushAndSync()
    await turn()
    assert.equal(engine.startMerge(), true)
    await turn()
    await engine.close()
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.includes('merging')),
      [],
    )
    engine = await openEngine(options(dir))
    assertMatches(engine, model, 'after aborted merge')
    await engine.close()
  })

  test('seeded random operations with merges and restarts match a model', async () => {
    const seed = Number(process.env['SEED'] ?? 7)
    const rng = createRng(seed)
    const dir = tempDir()
    const opts = options(dir, {
      segmentBytesMax: 2048,
      mergeDeadRatioMin: 0.4,
      mergeDeadBytesMin: 4096,
    })
    let engine = await openEngine(opts)
    const model = new Map<string, string>()
    for (let step = 0; step < 3000; step++) {
      const key = `k${rng.int(80)}`
      const roll = rng.int(100)
      if (roll < 60) {
        const value = `s${step}`.padEnd(rng.int(80), '*')
        engine.put(b(key), b(value), 0)
        model.set(key, value)
      } else if (roll < 85) {
        assert.equal(engine.delete(b(key)), model.delete(key), `seed ${seed} step ${step}`)
      } else if (roll < 87) {
        engine.clear()
        model.clear()
      } else if (roll < 90) {
        engine.startMerge()
      } else if (roll < 91) {
        await engine.close()
        engine = await openEngine(opts)
        assertMatches(engine, model, `seed ${seed} reopen at ${step}`)
      } else {
        await turn()
      }
      assert.equal(engine.get(b(key))?.toString() ?? null, model.get(key) ?? null)
    }
    await waitMergeDone(engine)
    assertMatches(engine, model, `seed ${seed} end`)
    await engine.close()
    engine = await openEngine(opts)
    assertMatches(engine, model, `seed ${seed} final reopen`)
    await engine.close()
  })
})
