/* Atomic groups on disk: the records of one beginGroup/endGroup reach recovery all or none. The
 * power-loss test cuts the active segment at every byte from the group's first record to the end
 * of the file and reopens each cut; other scenarios pin the rules that keep groups whole (no
 * rotation inside a group, merge copies carry no group flag, flushAndSync waits for the group). */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { durable, engineOptions, tempDirs } from '../../test/helpers/engine-fixtures.js'
import { nodeDisk } from '../io/disk.js'
import { openEngine } from './engine.js'
import { inspectDataDir } from './inspect.js'
import { DecodeStatus, RecordFlag, RecordView, decodeRecord } from './record-codec.js'
import type { StorageEngine, StorageEvent } from './types.js'

const tempDir = tempDirs('caskade-group-')
const b = (text: string): Buffer => Buffer.from(text)
const str = (value: Buffer | null): string | null => (value === null ? null : value.toString())
const dataFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .sort()

/** The keys the scenario looks at, and what each reads as. */
function snapshotOf(engine: StorageEngine, keys: readonly string[]): Record<string, string | null> {
  const state: Record<string, string | null> = {}
  for (const key of keys) state[key] = str(engine.get(b(key)))
  return state
}

/** Every record's flags in a segment file, in order. */
function recordFlags(bytes: Buffer): number[] {
  const view = new RecordView()
  const flags: number[] = []
  let at = 0
  while (at < bytes.length) {
    assert.equal(decodeRecord(view, bytes, at, bytes.length), DecodeStatus.ok)
    flags.push(view.flags)
    at = view.valueEnd
  }
  return flags
}

describe('atomic groups survive power loss whole or not at all', () => {
  test('cutting the file at every byte from the group on shows the group entirely or not', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir))
    engine.put(b('a'), b('before-a'), 0)
    engine.put(b('b'), b('before-b'), 0)
    engine.put(b('c'), b('before-c'), 0)
    await durable(engine)
    const [segment] = dataFiles(dir)
    assert.ok(segment !== undefined)
    const groupStart = fs.statSync(path.join(dir, segment)).size
    engine.beginGroup()
    engine.put(b('a'), b('group-a-value-long-enough-to-not-be-inlined'), 0)
    assert.equal(engine.delete(b('b')), true)
    engine.put(b('d'), b('group-d'), 1_900_000_000_000)
    engine.put(b('c'), b('group-c'), 0)
    engine.endGroup()
    await durable(engine)
    const groupEnd = fs.statSync(path.join(dir, segment)).size
    engine.put(b('e'), b('after'), 0)
    await durable(engine)
    const bytes = fs.readFileSync(path.join(dir, segment))
    const flags = recordFlags(bytes)
    const continues = RecordFlag.groupContinues
    assert.deepEqual(
      flags.map((value) => value & continues),
      [0, 0, 0, continues, continues, continues, 0, 0],
      'every group record but the last says the group continues',
    )
    const keys = ['a', 'b', 'c', 'd', 'e']
    const before = { a: 'before-a', b: 'before-b', c: 'before-c', d: null, e: null }
    const after = {
      a: 'group-a-value-long-enough-to-not-be-inlined',
      b: null,
      c: 'group-c',
      d: 'group-d',
      e: null,
    }
    let cuts = 0
    for (let cut = groupStart; cut <= bytes.length; cut++) {
      const copy = tempDir()
      fs.writeFileSync(path.join(copy, segment), bytes.subarray(0, cut))
      const events: StorageEvent[] = []
      const reopened = await openEngine(
        engineOptions(copy, { onEvent: (event) => events.push(event) }),
      )
      const state = snapshotOf(reopened, keys)
      if (cut < groupEnd) {
        assert.deepEqual(state, before, `cut at ${cut}: none of the group`)
        const torn = events.find((event) => event.kind === 'torn-tail-truncated')
        if (cut > groupStart) assert.equal(torn?.offset, groupStart, `cut at ${cut}: truncated`)
      } else {
        const expected = { ...after, e: cut === bytes.length ? 'after' : null }
        assert.deepEqual(state, expected, `cut at ${cut}: the whole group`)
      }
      // Appends continue where the group was cut off, and survive another reopen (checked at
      // the boundaries and every 16th cut, which keeps the file's run time at a few seconds).
      const boundaries = [groupStart, groupStart + 1, groupEnd - 1, groupEnd, bytes.length]
      if (boundaries.includes(cut) || cut % 16 === 0) {
        reopened.put(b('z'), b('next'), 0)
        await reopened.close()
        const again = await openEngine(engineOptions(copy))
        assert.deepEqual(snapshotOf(again, keys), state, `cut at ${cut}: stable across reopen`)
        assert.equal(str(again.get(b('z'))), 'next')
        await again.close()
      } else {
        await reopened.close()
      }
      fs.rmSync(copy, { recursive: true, force: true })
      cuts++
    }
    assert.equal(cuts, bytes.length - groupStart + 1)
    await engine.close()
  })
})

describe('caskade inspect', () => {
  test('reports a segment that ends inside a group and leaves its keys out', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir))
    engine.put(b('a'), b('1'), 0)
    engine.beginGroup()
    engine.put(b('b'), b('2'), 0)
    engine.put(b('c'), b('3'), 0)
    engine.endGroup()
    await durable(engine)
    const [segment] = dataFiles(dir)
    const bytes = fs.readFileSync(path.join(dir, segment as string))
    const lastRecordBytes = 38 + 2
    const copy = tempDir()
    fs.writeFileSync(path.join(copy, segment as string), bytes.subarray(0, bytes.length - 1))
    const torn = await inspectDataDir(nodeDisk, copy)
    assert.equal(torn.keys, 1)
    assert.deepEqual(
      torn.problems.map((problem) => problem.offset),
      [bytes.length - lastRecordBytes, bytes.length - 2 * lastRecordBytes],
      'the cut record, then the group it belonged to',
    )
    fs.writeFileSync(path.join(copy, segment as string), bytes)
    const whole = await inspectDataDir(nodeDisk, copy)
    assert.deepEqual([whole.keys, whole.problems], [3, []])
    await engine.close()
  })
})

describe('rules that keep a group whole', () => {
  test('a group never spans two segments, even past segmentBytesMax', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir, { segmentBytesMax: 256 }))
    engine.put(b('first'), b('x'.repeat(200)), 0)
    engine.beginGroup()
    for (let i = 0; i < 10; i++) engine.put(b(`k${i}`), b('v'.repeat(60)), 0)
    engine.endGroup()
    await durable(engine)
    const files = dataFiles(dir)
    const sizes = files.map((name) => fs.statSync(path.join(dir, name)).size)
    assert.equal(files.length, 2, 'rotated once, before the group began')
    assert.ok((sizes[1] as number) > 256, 'the group overflows its segment instead of splitting')
    assert.deepEqual(
      recordFlags(fs.readFileSync(path.join(dir, files[1] as string))).map(
        (flags) => flags & RecordFlag.groupContinues,
      ),
      [...Array.from({ length: 9 }, () => RecordFlag.groupContinues), 0],
    )
    engine.put(b('after'), b('y'), 0)
    assert.equal(dataFiles(dir).length, 3, 'the next record outside a group rotates again')
    await engine.close()
  })

  test('FLUSHALL inside a group does not seal the segment the group already wrote to', async () => {
    const dir = tempDir()
    let engine = await openEngine(engineOptions(dir))
    engine.put(b('old'), b('1'), 0)
    await durable(engine)
    engine.beginGroup()
    engine.put(b('a'), b('2'), 0)
    engine.clear()
    engine.put(b('b'), b('3'), 0)
    engine.endGroup()
    await durable(engine)
    assert.equal(dataFiles(dir).length, 1)
    await engine.close()
    engine = await openEngine(engineOptions(dir))
    assert.deepEqual(snapshotOf(engine, ['old', 'a', 'b']), { old: null, a: null, b: '3' })
    await engine.close()
  })

  test('nested pairs form one group; an empty group writes nothing', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir))
    engine.beginGroup()
    engine.endGroup()
    engine.beginGroup()
    engine.put(b('a'), b('1'), 0)
    engine.beginGroup()
    engine.put(b('b'), b('2'), 0)
    engine.endGroup()
    engine.put(b('c'), b('3'), 0)
    engine.endGroup()
    await durable(engine)
    const [segment] = dataFiles(dir)
    const flags = recordFlags(fs.readFileSync(path.join(dir, segment as string)))
    const continues = RecordFlag.groupContinues
    assert.deepEqual(
      flags.map((value) => value & continues),
      [continues, continues, 0],
    )
    await engine.close()
  })

  test('flushAndSync called inside a group waits for the group to close', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir, { fsync: 'no' }))
    engine.beginGroup()
    engine.put(b('a'), b('1'), 0)
    let synced = false
    const sync = engine.flushAndSync().then(() => {
      synced = true
    })
    engine.put(b('b'), b('2'), 0)
    engine.endGroup()
    await sync
    assert.equal(synced, true)
    const [segment] = dataFiles(dir)
    const flags = recordFlags(fs.readFileSync(path.join(dir, segment as string)))
    assert.deepEqual(
      flags.map((value) => value & RecordFlag.groupContinues),
      [RecordFlag.groupContinues, 0],
    )
    await engine.close()
  })

  test('merge copies carry no group flag: with every hint lost, nothing reads as torn', async () => {
    const dir = tempDir()
    let engine = await openEngine(engineOptions(dir, { segmentBytesMax: 256 }))
    engine.beginGroup()
    engine.put(b('a'), b('A'.repeat(40)), 0)
    engine.put(b('b'), b('B'.repeat(40)), 0)
    engine.put(b('c'), b('C'.repeat(40)), 0)
    engine.endGroup()
    engine.put(b('c'), b('newer-c'.repeat(40)), 0) // rotates: the group's segment is sealed
    await engine.flushAndSync()
    assert.equal(engine.startMerge(), true)
    for (let i = 0; i < 200 && engine.stats().mergeInProgress; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    assert.equal(engine.stats().merges, 1)
    await engine.close()
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.hint')) fs.rmSync(path.join(dir, name))
    }
    engine = await openEngine(engineOptions(dir))
    assert.deepEqual(snapshotOf(engine, ['a', 'b', 'c']), {
      a: 'A'.repeat(40),
      b: 'B'.repeat(40),
      c: 'newer-c'.repeat(40),
    })
    await engine.close()
  })
})
