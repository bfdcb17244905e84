/* Lists over the real Bitcask engine on a temp dir: each element is one element record keyed by
 * its seq, a restart rebuilds every list's order from the recovered records (hints included),
 * crowded LINSERTs (which shift seqs) and LSET/LREM/LTRIM/pops survive it, a push costs one small
 * record whatever the list's length, deleting a big list writes one record, and each list
 * command's records (a push of several values creating the list, LTRIM, LMOVE) survive a file
 * cut inside or at the end of any record whole or not at all. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRng } from '../core/rng.js'
import { DecodeStatus, RecordView, decodeRecord } from '../storage/record-codec.js'
import { durable, tempDirs } from '../../test/helpers/engine-fixtures.js'
import { ManualTime, shutdown, withKeyspace } from '../../test/helpers/keyspace-fixtures.js'
import type { EngineKeyspace } from './keyspace.js'

const tempDir = tempDirs('caskade-lists-')
const b = (text: string): Buffer => Buffer.from(text)
const texts = (values: Buffer[]): string[] => values.map((value) => value.toString())
const whole = (keyspace: EngineKeyspace, key: string): string[] =>
  texts(keyspace.listRange(b(key), 0, -1))

describe('lists over the Bitcask engine', () => {
  test('a restart rebuilds every list in order from its element records', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    const rng = createRng(9)
    const big = b('big')
    for (let i = 0; i < 3000; i++) {
      keyspace.listLength(big, 'write')
      keyspace.listPush(big, rng.int(2) === 0 ? 'left' : 'right', [b(`v${i}`), b(`w${i}`)])
    }
    keyspace.listPop(big, 'left', 7)
    keyspace.listPop(big, 'right', 5)
    keyspace.listSet(big, 100, b('set-100'))
    keyspace.listRemove(big, 0, b('v17'))
    // 40 inserts at one spot use up the seq grid there and make LINSERT shift seqs.
    keyspace.listPush(b('crowded'), 'right', [b('head'), b('tail')])
    for (let i = 0; i < 40; i++) keyspace.listInsert(b('crowded'), 'before', b('tail'), b(`i${i}`))
    keyspace.listPush(b('trimmed'), 'right', ['a', 'b', 'c', 'd', 'e'].map(b))
    keyspace.listTrim(b('trimmed'), 1, 2)
    keyspace.listPush(b('gone'), 'left', [b('x')])
    keyspace.delete(b('gone'))
    keyspace.listPush(b('over'), 'left', [b('x')])
    keyspace.set(b('over'), b('string'))
    const keys = ['big', 'crowded', 'trimmed']
    const before = keys.map((key) => whole(keyspace, key))
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.deepEqual(
      keys.map((key) => whole(keyspace, key)),
      before,
    )
    assert.equal(keyspace.typeOf(big), 'list')
    assert.equal(keyspace.has(b('gone')), false)
    assert.equal(keyspace.get(b('over'))?.toString(), 'string')
    // Writes after the restart extend the rebuilt order, and survive the next restart too.
    keyspace.listPush(big, 'left', [b('first')])
    keyspace.listInsert(b('crowded'), 'after', b('head'), b('second'))
    keyspace.listMove(b('trimmed'), b('moved'), 'right', 'left')
    const after = ['big', 'crowded', 'trimmed', 'moved'].map((key) => whole(keyspace, key))
    assert.equal(after[0]?.[0], 'first')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.deepEqual(
      ['big', 'crowded', 'trimmed', 'moved'].map((key) => whole(keyspace, key)),
      after,
    )
    await shutdown(engine, keyspace)
  })

  test('a push onto a list of 2000 writes one small record; DEL of it writes one', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    const { engine, keyspace } = await withKeyspace(dir, time)
    const key = b('long')
    for (let i = 0; i < 1000; i++) keyspace.listPush(key, 'right', [b(`a${i}`), b(`b${i}`)])
    const bytes = (): number => engine.stats().liveBytes + engine.stats().deadBytes
    const start = bytes()
    keyspace.listPush(key, 'left', [b('one')])
    const pushed = bytes() - start
    // header 38 + element key (4 + 4 + 8 version + 8 seq) + 3 value bytes
    assert.ok(pushed > 0 && pushed < 96, `${pushed} bytes for one LPUSH`)
    const beforePop = bytes()
    keyspace.listPop(key, 'right', 1)
    assert.ok(bytes() - beforePop < 96, 'one tombstone for one RPOP')
    const beforeDelete = bytes()
    keyspace.delete(key)
    assert.ok(bytes() - beforeDelete < 64, 'DEL of a long list is one metadata tombstone')
    await shutdown(engine, keyspace)
  })

  test('each list write reaches recovery whole or not at all: cut around every record', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    const { engine, keyspace } = await withKeyspace(dir, time)
    const [segment] = fs.readdirSync(dir).filter((name) => name.endsWith('.data'))
    assert.ok(segment !== undefined)
    const file = path.join(dir, segment)
    const ends = [fs.statSync(file).size]
    const state = (space: EngineKeyspace): string[][] => [whole(space, 'l'), whole(space, 'm')]
    const states = [state(keyspace)]
    const writes = [
      () => keyspace.listPush(b('l'), 'right', [b('a'), b('b'), b('c')]),
      () => keyspace.listPush(b('l'), 'left', [b('x'), b('y')]),
      () => keyspace.listTrim(b('l'), 1, -2),
      () => keyspace.listMove(b('l'), b('m'), 'left', 'right'),
    ]
    for (const write of writes) {
      write()
      await durable(engine)
      ends.push(fs.statSync(file).size)
      states.push(state(keyspace))
    }
    await shutdown(engine, keyspace)
    const bytes = fs.readFileSync(file).subarray(0, ends[ends.length - 1])
    for (const cut of cutsAroundRecords(bytes, ends[0] as number)) {
      const copy = tempDir()
      fs.writeFileSync(path.join(copy, segment), bytes.subarray(0, cut))
      const reopened = await withKeyspace(copy, time)
      const done = ends.filter((end) => end <= cut).length - 1
      assert.deepEqual(state(reopened.keyspace), states[done], `cut at ${cut}: ${done} whole`)
      await shutdown(reopened.engine, reopened.keyspace)
      fs.rmSync(copy, { recursive: true, force: true })
    }
  })
})

/** Byte offsets just before, at and just after the end of every record from `from` on. */
function cutsAroundRecords(bytes: Buffer, from: number): number[] {
  const view = new RecordView()
  const cuts = new Set<number>([from])
  for (let at = 0; at < bytes.length; at = view.valueEnd) {
    assert.equal(decodeRecord(view, bytes, at, bytes.length), DecodeStatus.ok)
    for (const cut of [view.valueEnd - 1, view.valueEnd, view.valueEnd + 1]) {
      if (cut >= from && cut <= bytes.length) cuts.add(cut)
    }
  }
  return [...cuts].sort((x, y) => x - y)
}
