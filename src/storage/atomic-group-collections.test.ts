/* Atomic groups of element records: a multi-field HSET on an existing hash, an HSET creating a
 * hash with its first fields, and a multi-field HDEL each reach recovery whole or not at all. The
 * file is cut at every byte from the first group on and reopened, as the keyspace writes them. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { durable, engineOptions, tempDirs } from '../../test/helpers/engine-fixtures.js'
import { openEngine } from './engine.js'
import { DecodeStatus, RecordFlag, RecordKind, RecordView, decodeRecord } from './record-codec.js'
import type { StorageEngine } from './types.js'

const tempDir = tempDirs('caskade-group-coll-')
const b = (text: string): Buffer => Buffer.from(text)

type Hash = Record<string, string> | null
type State = Record<'h' | 'n', Hash>

/** A hash's fields and values (sorted), or null when the key holds nothing. */
function hashOf(engine: StorageEngine, key: string): Hash {
  if (engine.kindOf(b(key)) === null) return null
  assert.equal(engine.kindOf(b(key)), RecordKind.hash)
  const fields: Record<string, string> = {}
  for (const field of engine.elementFields(b(key)).map(String).sort()) {
    fields[field] = String(engine.getElement(b(key), b(field)))
  }
  return fields
}

const stateOf = (engine: StorageEngine): State => ({
  h: hashOf(engine, 'h'),
  n: hashOf(engine, 'n'),
})

/** Every record's group flag in a segment file, in order. */
function groupFlags(bytes: Buffer): number[] {
  const view = new RecordView()
  const flags: number[] = []
  for (let at = 0; at < bytes.length; at = view.valueEnd) {
    assert.equal(decodeRecord(view, bytes, at, bytes.length), DecodeStatus.ok)
    flags.push(view.flags & RecordFlag.groupContinues)
  }
  return flags
}

function inGroup(engine: StorageEngine, write: () => void): void {
  engine.beginGroup()
  try {
    write()
  } finally {
    engine.endGroup()
  }
}

describe('atomic groups of element records survive power loss whole or not at all', () => {
  test('multi-field HSET, HSET creating a hash, multi-field HDEL: cut at every byte', async () => {
    const dir = tempDir()
    const engine = await openEngine(engineOptions(dir))
    engine.createCollection(b('h'), RecordKind.hash, 0)
    engine.putElement(b('h'), b('a'), b('1'))
    engine.putElement(b('h'), b('b'), b('2'))
    await durable(engine)
    const [segment] = fs.readdirSync(dir).filter((name) => name.endsWith('.data'))
    assert.ok(segment !== undefined)
    const file = path.join(dir, segment)
    const ends = [fs.statSync(file).size]
    // HSET h a A2 c C: two element records on an existing hash.
    inGroup(engine, () => {
      engine.putElement(b('h'), b('a'), b('A2-a value long enough not to be inlined'))
      engine.putElement(b('h'), b('c'), b('C'))
    })
    await durable(engine)
    ends.push(fs.statSync(file).size)
    // HSET n x X y Y: the metadata record and the first two elements.
    inGroup(engine, () => {
      engine.createCollection(b('n'), RecordKind.hash, 0)
      engine.putElement(b('n'), b('x'), b('X'))
      engine.putElement(b('n'), b('y'), b('Y'))
    })
    await durable(engine)
    ends.push(fs.statSync(file).size)
    // HDEL h a b: two element tombstones (c stays, so the hash does).
    inGroup(engine, () => {
      assert.equal(engine.deleteElement(b('h'), b('a')), true)
      assert.equal(engine.deleteElement(b('h'), b('b')), true)
    })
    await durable(engine)
    ends.push(fs.statSync(file).size)
    await engine.close()
    const bytes = fs.readFileSync(file).subarray(0, ends[3])
    const continues = RecordFlag.groupContinues
    assert.deepEqual(
      groupFlags(bytes),
      [0, 0, 0, continues, 0, continues, continues, 0, continues, 0],
      'every element record of a group but the last says the group continues',
    )
    const states: State[] = [
      { h: { a: '1', b: '2' }, n: null },
      { h: { a: 'A2-a value long enough not to be inlined', b: '2', c: 'C' }, n: null },
      {
        h: { a: 'A2-a value long enough not to be inlined', b: '2', c: 'C' },
        n: { x: 'X', y: 'Y' },
      },
      { h: { c: 'C' }, n: { x: 'X', y: 'Y' } },
    ]
    const groupStart = ends[0] as number
    for (let cut = groupStart; cut <= bytes.length; cut++) {
      const copy = tempDir()
      fs.writeFileSync(path.join(copy, segment), bytes.subarray(0, cut))
      const reopened = await openEngine(engineOptions(copy))
      const whole = ends.filter((end) => end <= cut).length - 1
      assert.deepEqual(stateOf(reopened), states[whole], `cut at ${cut}: ${whole} groups whole`)
      if (ends.includes(cut) || ends.includes(cut + 1)) {
        // Writes go on after the cut, and the state holds across another reopen.
        reopened.put(b('z'), b('next'), 0)
        await reopened.close()
        const again = await openEngine(engineOptions(copy))
        assert.deepEqual(stateOf(again), states[whole], `cut at ${cut}: stable across reopen`)
        assert.equal(String(again.get(b('z'))), 'next')
        await again.close()
      } else {
        await reopened.close()
      }
      fs.rmSync(copy, { recursive: true, force: true })
    }
  })
})
