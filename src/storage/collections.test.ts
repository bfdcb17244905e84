/* Collections on the Bitcask engine: one record per field write, a whole collection deleted by
 * one metadata record, restart rebuilding every collection from hints or a segment scan (a torn
 * tail included), merge reclaiming old versions, and a seeded random workload with restarts and
 * merges that must match a model (SEED=n reproduces). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRng } from '../core/rng.js'
import { engineOptions, tempDirs } from '../../test/helpers/engine-fixtures.js'
import { nodeDisk } from '../io/disk.js'
import { openEngine } from './engine.js'
import { inspectDataDir } from './inspect.js'
import { RecordKind, recordBytes } from './record-codec.js'
import type { EngineOptions, StorageEngine, StorageEvent } from './types.js'

const tempDir = tempDirs('caskade-coll-')
const options = (dir: string, overrides: Partial<EngineOptions> = {}): EngineOptions =>
  engineOptions(dir, { fsync: 'no', ...overrides })
const b = (text: string): Buffer => Buffer.from(text)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/** Event-loop turns: a dropped collection's elements leave the keydir in deferred steps. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}
const dataBytes = (dir: string): number =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)

async function waitMergeDone(engine: StorageEngine): Promise<void> {
  for (let i = 0; i < 5000 && engine.stats().mergeInProgress; i++) await sleep(2)
  assert.equal(engine.stats().mergeInProgress, false, 'merge finished in time')
}

/** The collection's fields and values, sorted by field. */
function contents(engine: StorageEngine, key: string): Array<[string, string]> {
  return engine
    .elementFields(b(key))
    .map((field): [string, string] => [
      field.toString(),
      engine.getElement(b(key), field)?.toString() ?? '<missing>',
    ])
    .sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
}

function fillHash(engine: StorageEngine, key: string, fields: number, prefix = 'v'): void {
  engine.createCollection(b(key), RecordKind.hash, 0)
  for (let i = 0; i < fields; i++) engine.putElement(b(key), b(`f${i}`), b(`${prefix}${i}`))
}

describe('collections on Bitcask', () => {
  test('an HSET on a big hash appends one record, no bigger than a SET of the same sizes', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir, { segmentBytesMax: 64 * 1024 * 1024 }))
    fillHash(engine, 'big', 20_000)
    await engine.flushAndSync()
    const before = dataBytes(dir)
    engine.putElement(b('big'), b('f123'), b('new-value'))
    await engine.flushAndSync()
    const hsetBytes = dataBytes(dir) - before
    engine.put(b('string-key-f123'), b('new-value'), 0)
    await engine.flushAndSync()
    const setBytes = dataBytes(dir) - before - hsetBytes
    // The element key carries the user key, the version and the field: 12 bytes of framing.
    assert.equal(hsetBytes, recordBytes(4 + 3 + 8 + 4, 9))
    assert.ok(hsetBytes <= setBytes + 12, `HSET ${hsetBytes} B vs SET ${setBytes} B`)
    assert.equal(engine.getElement(b('big'), b('f123'))?.toString(), 'new-value')
    assert.equal(engine.elementCount(b('big')), 20_000)
    await engine.close()
  })

  test('deleting a 100k-field hash writes one record and merge reclaims its elements', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir, { segmentBytesMax: 256 * 1024 }))
    fillHash(engine, 'huge', 100_000)
    engine.put(b('keep'), b('me'), 0)
    await engine.flushAndSync()
    const before = dataBytes(dir)
    assert.equal(engine.delete(b('huge')), true)
    // O(1) in the command: the elements leave the keydir (and count as dead) in later turns.
    assert.ok(engine.stats().deadBytes < 1024 * 1024, 'the command did not walk the elements')
    await engine.flushAndSync()
    assert.equal(dataBytes(dir) - before, recordBytes(4, 0), 'one tombstone of the metadata')
    assert.equal(engine.kindOf(b('huge')), null)
    assert.equal(engine.elementCount(b('huge')), 0)
    // The same key again: a new version, whose fields do not see the old ones.
    fillHash(engine, 'huge', 3, 'new')
    engine.put(b('pad'), Buffer.alloc(300 * 1024), 0) // rotates: every element is immutable
    await turns(20)
    assert.ok(engine.stats().deadBytes > 4 * 1024 * 1024, 'the old version is dead bytes')
    assert.equal(engine.startMerge(), true)
    await waitMergeDone(engine)
    assert.ok(engine.stats().deadBytes < 64 * 1024, `dead after merge: ${engine.stats().deadBytes}`)
    assert.ok(dataBytes(dir) < 1024 * 1024, `data after merge: ${dataBytes(dir)}`)
    assert.deepEqual(contents(engine, 'huge'), [
      ['f0', 'new0'],
      ['f1', 'new1'],
      ['f2', 'new2'],
    ])
    await engine.close()
    const reopened = await openEngine(options(dir))
    assert.deepEqual(contents(reopened, 'huge').length, 3)
    assert.equal(reopened.get(b('keep'))?.toString(), 'me')
    await reopened.close()
  })

  test('a restart rebuilds collections from hints, and from a scan when hints are gone', async () => {
    const dir = tempDir()
    const events: StorageEvent[] = []
    const opts = options(dir, { segmentBytesMax: 8 * 1024, onEvent: (e) => events.push(e) })
    const engine = await openEngine(opts)
    fillHash(engine, 'h', 500)
    for (let i = 0; i < 500; i += 3) engine.deleteElement(b('h'), b(`f${i}`))
    engine.putElement(b('h'), b('f1'), b('updated'))
    engine.createCollection(b('s'), RecordKind.set, 0)
    engine.putElement(b('s'), b('member'), Buffer.alloc(0))
    fillHash(engine, 'gone', 50)
    engine.delete(b('gone'))
    fillHash(engine, 'replaced', 50)
    engine.put(b('replaced'), b('now a string'), 0)
    const expected = contents(engine, 'h')
    await engine.close()
    for (const withHints of [true, false]) {
      if (!withHints) {
        for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.hint'))) {
          fs.rmSync(path.join(dir, name))
        }
      }
      events.length = 0
      const dataFiles = fs.readdirSync(dir).filter((name) => name.endsWith('.data')).length
      const reopened = await openEngine(opts)
      const recovered = events.find((event) => event.kind === 'recovered')
      assert.ok(recovered?.kind === 'recovered')
      assert.equal(recovered.fromHints, withHints ? dataFiles : 0)
      assert.deepEqual(contents(reopened, 'h'), expected, `hash, hints: ${withHints}`)
      assert.equal(reopened.kindOf(b('s')), RecordKind.set)
      assert.equal(reopened.hasElement(b('s'), b('member')), true)
      assert.equal(reopened.kindOf(b('gone')), null)
      assert.equal(reopened.kindOf(b('replaced')), RecordKind.string)
      assert.equal(reopened.get(b('replaced'))?.toString(), 'now a string')
      assert.equal(reopened.keyCount(), 3)
      await reopened.close()
    }
  })

  test('a torn tail loses only the last record; a collection left empty is deleted', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    fillHash(engine, 'h', 10)
    engine.createCollection(b('lonely'), RecordKind.hash, 0)
    engine.putElement(b('lonely'), b('only'), b('field'))
    await engine.close()
    // As after a crash: the segment being appended to has no hint, and its last write is torn.
    const segment = fs.readdirSync(dir).find((name) => name.endsWith('.data'))
    assert.ok(segment !== undefined)
    fs.rmSync(path.join(dir, segment.replace('.data', '.hint')))
    const file = path.join(dir, segment)
    fs.truncateSync(file, fs.statSync(file).size - 3) // cuts the element of 'lonely'
    const events: StorageEvent[] = []
    const reopened = await openEngine(options(dir, { onEvent: (e) => events.push(e) }))
    assert.ok(events.some((event) => event.kind === 'torn-tail-truncated'))
    assert.equal(contents(reopened, 'h').length, 10)
    assert.equal(reopened.kindOf(b('lonely')), null, 'an empty collection disappears')
    assert.equal(reopened.keyCount(), 1)
    await reopened.close()
    const again = await openEngine(options(dir))
    assert.equal(again.kindOf(b('lonely')), null, 'its deletion was written')
    await again.close()
  })

  test('an expiry change keeps the collection; FLUSHALL drops every collection', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    fillHash(engine, 'h', 5)
    assert.equal(engine.setExpiry(b('h'), 4_000_000_000_000), true)
    assert.equal(engine.kindOf(b('h')), RecordKind.hash)
    assert.equal(engine.elementCount(b('h')), 5)
    await engine.close()
    const reopened = await openEngine(options(dir))
    assert.equal(reopened.expiresAtMs(b('h')), 4_000_000_000_000)
    assert.equal(reopened.elementCount(b('h')), 5)
    reopened.clear()
    assert.equal(reopened.elementCount(b('h')), 0)
    assert.equal(reopened.kindOf(b('h')), null)
    await reopened.close()
    const cleared = await openEngine(options(dir))
    assert.equal(cleared.keyCount(), 0)
    await cleared.close()
  })

  test('inspect counts user keys only and live bytes as the engine does', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir, { segmentBytesMax: 4096 }))
    fillHash(engine, 'h', 100)
    for (let i = 0; i < 50; i++) engine.deleteElement(b('h'), b(`f${i}`))
    fillHash(engine, 'dropped', 40)
    engine.delete(b('dropped'))
    fillHash(engine, 'replaced', 30)
    fillHash(engine, 'replaced', 5, 'again')
    engine.put(b('s'), b('string'), 0)
    await turns(5)
    await engine.flushAndSync()
    const liveBytes = engine.stats().liveBytes
    await engine.close()
    const report = await inspectDataDir(nodeDisk, dir)
    assert.deepEqual(report.problems, [])
    assert.equal(report.keys, 3)
    assert.equal(report.liveBytes, liveBytes)
  })

  test('a seeded random workload with restarts and merges matches a model', async () => {
    const seed = Number(process.env.SEED ?? 7)
    const rng = createRng(seed)
    const dir = tempDir()
    const opts = options(dir, { segmentBytesMax: 4096 })
    let engine = await openEngine(opts)
    const model = new Map<string, Map<string, string> | string>()
    const keys = ['a', 'b', 'c', 'd']
    for (let step = 0; step < 3000; step++) {
      applyRandomOp(engine, model, keys[rng.int(keys.length)] as string, rng.int(100), step)
      if (step % 500 === 499) {
        engine.startMerge()
        await waitMergeDone(engine)
      }
      if (step % 700 === 699) {
        await engine.close()
        engine = await openEngine(opts)
      }
      if (step % 100 === 99) assertModel(engine, model, `SEED=${seed} step ${step}`)
    }
    await engine.close()
    engine = await openEngine(opts)
    assertModel(engine, model, `SEED=${seed} final`)
    await engine.close()
  })
})

function applyRandomOp(
  engine: StorageEngine,
  model: Map<string, Map<string, string> | string>,
  key: string,
  roll: number,
  step: number,
): void {
  const current = model.get(key)
  const field = `f${roll % 13}`
  if (roll < 60) {
    if (typeof current !== 'object') engine.createCollection(b(key), RecordKind.hash, 0)
    const fields = typeof current === 'object' ? current : new Map<string, string>()
    engine.putElement(b(key), b(field), b(`v${step}`))
    fields.set(field, `v${step}`)
    model.set(key, fields)
  } else if (roll < 80) {
    if (typeof current !== 'object' || !current.has(field)) return
    if (current.size === 1) {
      engine.delete(b(key))
      model.delete(key)
      return
    }
    assert.equal(engine.deleteElement(b(key), b(field)), true)
    current.delete(field)
  } else if (roll < 88) {
    engine.delete(b(key))
    model.delete(key)
  } else {
    engine.put(b(key), b(`s${step}`), 0)
    model.set(key, `s${step}`)
  }
}

function assertModel(
  engine: StorageEngine,
  model: Map<string, Map<string, string> | string>,
  label: string,
): void {
  assert.equal(engine.keyCount(), model.size, `${label}: key count`)
  for (const [key, value] of model) {
    if (typeof value === 'string') {
      assert.equal(engine.kindOf(b(key)), RecordKind.string, `${label}: ${key} is a string`)
      assert.equal(engine.get(b(key))?.toString(), value, `${label}: ${key}`)
      continue
    }
    const expected = [...value].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
    assert.deepEqual(contents(engine, key), expected, `${label}: hash ${key}`)
  }
}
