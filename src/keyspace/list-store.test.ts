/* The list API of the keyspace (list-store.ts) over the in-memory engine: each operation against a
 * plain array model, the seq field codec's byte order, WRONGTYPE, emptied lists disappearing,
 * WATCH touches, and a cache rebuilt when a collection is replaced behind the store's back. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CaskadeError } from '../core/errors.js'
import { createRng } from '../core/rng.js'
import { decodeListSeq, encodeListSeq } from './list-store.js'
import { createKeyspace, type EngineKeyspace } from './keyspace.js'
import { MemoryEngine } from './memory-engine.js'
import { Watcher } from './watch.js'

const t0 = 1_700_000_000_000

function newKeyspace(): EngineKeyspace {
  const clock = { monotonicMs: () => 0, wallMs: () => t0 }
  const timers = {
    every: () => () => undefined,
    after: () => () => undefined,
    defer: () => undefined,
  }
  return createKeyspace({ engine: new MemoryEngine(), clock, timers, rng: createRng(1) })
}

const b = (text: string): Buffer => Buffer.from(text)
const texts = (values: Buffer[]): string[] => values.map((value) => value.toString())
const key = b('list')

describe('list seq fields', () => {
  test('byte order of encoded seqs is their numeric order', () => {
    const seqs = [-(2 ** 53) + 1, -1e9, -2.5, -1, -(2 ** -20), 0, 2 ** -20, 0.5, 1, 7, 2 ** 53 - 1]
    const fields = seqs.map(encodeListSeq)
    for (let i = 1; i < fields.length; i++) {
      assert.ok(Buffer.compare(fields[i - 1] as Buffer, fields[i] as Buffer) < 0, `at ${i}`)
    }
    for (const seq of seqs) assert.equal(decodeListSeq(encodeListSeq(seq)), seq)
    assert.ok(Object.is(decodeListSeq(encodeListSeq(-0)), 0))
  })
})

describe('lists through the keyspace', () => {
  test('pushes at both ends, pops from both ends, and the last pop deletes the key', () => {
    const keyspace = newKeyspace()
    assert.equal(keyspace.listLength(key, 'write'), 0)
    assert.equal(keyspace.listPush(key, 'left', [b('a'), b('b')]), 2)
    assert.equal(keyspace.listPush(key, 'right', [b('c'), b('d')]), 4)
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['b', 'a', 'c', 'd'])
    assert.equal(keyspace.typeOf(key), 'list')
    assert.deepEqual(texts(keyspace.listPop(key, 'right', 3)), ['d', 'c', 'a'])
    assert.equal(keyspace.listLength(key, 'read'), 1)
    assert.deepEqual(texts(keyspace.listPop(key, 'left', 5)), ['b'])
    assert.equal(keyspace.has(key), false)
    assert.equal(keyspace.listLength(key, 'read'), 0)
  })

  test('another type answers WRONGTYPE, and strings refuse a list', () => {
    const keyspace = newKeyspace()
    keyspace.set(b('s'), b('v'))
    assert.throws(
      () => keyspace.listLength(b('s'), 'read'),
      (error: unknown) => error instanceof CaskadeError && error.code === 'WRONGTYPE',
    )
    keyspace.listPush(key, 'left', [b('x')])
    assert.throws(() => keyspace.get(key), CaskadeError)
  })

  test('LSET, LINSERT, LREM, LTRIM and LPOS act on the right elements', () => {
    const keyspace = newKeyspace()
    keyspace.listPush(key, 'right', ['a', 'b', 'a', 'c', 'a'].map(b))
    assert.equal(keyspace.listSet(key, -1, b('z')), true)
    assert.equal(keyspace.listSet(key, 5, b('z')), false)
    assert.equal(keyspace.listInsert(key, 'after', b('b'), b('n')), 6)
    assert.equal(keyspace.listInsert(key, 'before', b('missing'), b('n')), -1)
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['a', 'b', 'n', 'a', 'c', 'z'])
    assert.deepEqual(
      keyspace.listPositions(key, b('a'), { rank: -1, count: 0, maxLength: 0 }),
      [3, 0],
    )
    assert.equal(keyspace.listRemove(key, -1, b('a')), 1)
    assert.equal(keyspace.listTrim(key, 1, -2), 2)
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['b', 'n', 'c'])
    assert.equal(keyspace.listIndex(key, -1)?.toString(), 'c')
    assert.equal(keyspace.listIndex(key, 3), null)
    assert.equal(keyspace.listTrim(key, 5, 10), 3)
    assert.equal(keyspace.has(key), false)
  })

  test('a move between lists, and a rotation of a one-element list that keeps the key', () => {
    const keyspace = newKeyspace()
    keyspace.listPush(key, 'right', [b('a'), b('b')])
    assert.equal(keyspace.listMove(key, b('other'), 'right', 'left').toString(), 'b')
    assert.equal(keyspace.listMove(key, b('other'), 'left', 'right').toString(), 'a')
    assert.equal(keyspace.has(key), false)
    assert.deepEqual(texts(keyspace.listRange(b('other'), 0, -1)), ['b', 'a'])
    keyspace.listPush(key, 'left', [b('only')])
    keyspace.expireAt(key, t0 + 10_000)
    assert.equal(keyspace.listMove(key, key, 'left', 'right').toString(), 'only')
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['only'])
    assert.equal(keyspace.peekExpiresAtMs(key), t0 + 10_000)
  })

  test('every list write touches WATCH; a removal that finds nothing does not', () => {
    const keyspace = newKeyspace()
    keyspace.listPush(key, 'right', [b('a'), b('b')])
    const watcher = new Watcher()
    keyspace.watch(watcher, key)
    keyspace.listRemove(key, 0, b('nothing'))
    keyspace.listInsert(key, 'before', b('nothing'), b('x'))
    assert.equal(watcher.dirty, false)
    keyspace.listTrim(key, 0, -1) // Redis's LTRIM signals the key even when nothing goes
    assert.equal(watcher.dirty, true)
  })

  test('a list replaced behind the store (DEL, RENAME, COPY) is rebuilt from its records', () => {
    const keyspace = newKeyspace()
    keyspace.listPush(key, 'right', [b('1'), b('2'), b('3')])
    keyspace.listPush(key, 'left', [b('0')])
    assert.equal(keyspace.copy(key, b('copy'), { replace: false }), 'done')
    keyspace.delete(key)
    keyspace.listPush(key, 'right', [b('new')])
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['new'])
    assert.equal(keyspace.rename(b('copy'), key, { onlyIfAbsent: false }), 'done')
    assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), ['0', '1', '2', '3'])
    keyspace.listPush(key, 'left', [b('-1')])
    assert.deepEqual(texts(keyspace.listRange(key, 0, 1)), ['-1', '0'])
  })

  test('random operations match an array model (fast-check)', () => {
    const value = fc.constantFrom('a', 'b', 'c', 'dd')
    const index = fc.integer({ min: -8, max: 8 })
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('push' as const),
        left: fc.boolean(),
        values: fc.array(value, { minLength: 1, maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('pop' as const),
        left: fc.boolean(),
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('set' as const), index, value }),
      fc.record({
        kind: fc.constant('insert' as const),
        before: fc.boolean(),
        pivot: value,
        value,
      }),
      fc.record({
        kind: fc.constant('remove' as const),
        count: fc.integer({ min: -2, max: 2 }),
        value,
      }),
      fc.record({ kind: fc.constant('trim' as const), start: index, stop: index }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const keyspace = newKeyspace()
        const model: string[] = []
        for (const step of ops) applyBoth(keyspace, model, step)
        assert.deepEqual(texts(keyspace.listRange(key, 0, -1)), model)
        assert.equal(keyspace.listLength(key, 'read'), model.length)
      }),
      { numRuns: 200, seed: 7 },
    )
  })
})

type Op =
  | { kind: 'push'; left: boolean; values: string[] }
  | { kind: 'pop'; left: boolean; count: number }
  | { kind: 'set'; index: number; value: string }
  | { kind: 'insert'; before: boolean; pivot: string; value: string }
  | { kind: 'remove'; count: number; value: string }
  | { kind: 'trim'; start: number; stop: number }

function applyBoth(keyspace: EngineKeyspace, model: string[], op: Op): void {
  const live = keyspace.listLength(key, 'write') > 0
  if (op.kind === 'push') {
    keyspace.listPush(key, op.left ? 'left' : 'right', op.values.map(b))
    for (const value of op.values) {
      if (op.left) model.unshift(value)
      else model.push(value)
    }
  } else if (!live) {
    return
  } else if (op.kind === 'pop') {
    const popped = keyspace.listPop(key, op.left ? 'left' : 'right', op.count)
    const expected = op.left ? model.splice(0, op.count) : model.splice(-op.count).reverse()
    assert.deepEqual(texts(popped), expected)
  } else if (op.kind === 'set') {
    const at = op.index < 0 ? model.length + op.index : op.index
    const inRange = at >= 0 && at < model.length
    assert.equal(keyspace.listSet(key, op.index, b(op.value)), inRange)
    if (inRange) model[at] = op.value
  } else if (op.kind === 'insert') {
    const at = model.indexOf(op.pivot)
    const length = keyspace.listInsert(
      key,
      op.before ? 'before' : 'after',
      b(op.pivot),
      b(op.value),
    )
    if (at >= 0) model.splice(op.before ? at : at + 1, 0, op.value)
    assert.equal(length, at < 0 ? -1 : model.length)
  } else if (op.kind === 'remove') {
    keyspace.listRemove(key, op.count, b(op.value))
    removeFromModel(model, op.count, op.value)
  } else {
    keyspace.listTrim(key, op.start, op.stop)
    const kept = trimModel(model, op.start, op.stop)
    model.splice(0, model.length, ...kept)
  }
}

function removeFromModel(model: string[], count: number, value: string): void {
  let budget = count === 0 ? Infinity : Math.abs(count)
  if (count >= 0) {
    for (let i = 0; i < model.length && budget > 0;) {
      if (model[i] === value) {
        model.splice(i, 1)
        budget--
      } else i++
    }
    return
  }
  for (let i = model.length - 1; i >= 0 && budget > 0; i--) {
    if (model[i] === value) {
      model.splice(i, 1)
      budget--
    }
  }
}

function trimModel(model: string[], start: number, stop: number): string[] {
  let first = start < 0 ? model.length + start : start
  let last = stop < 0 ? model.length + stop : stop
  if (first < 0) first = 0
  if (first > last || first >= model.length) return []
  if (last >= model.length) last = model.length - 1
  return model.slice(first, last + 1)
}
