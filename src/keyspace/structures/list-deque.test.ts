/* Tests for ListDeque: Redis's index rules by example (answers checked against redis-server
 * 7.0), then fast-check model tests against a plain array, which also replay every returned
 * record write and delete into a Map keyed by seq, as the storage layer will, and require that the
 * Map sorted by seq is the list and that restoreBack rebuilds it. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ListDeque, type ListFindOptions, type ListInsertResult } from './list-deque.js'
import { normalizeIndex, normalizeIndexRange } from './range.js'

const b = (text: string): Buffer => Buffer.from(text, 'latin1')
const texts = (values: readonly Buffer[]): string[] => values.map((value) => value.toString())

function listOf(items: string[], chunkCapacity = 4): ListDeque {
  const list = new ListDeque({ chunkCapacity })
  for (const item of items) list.pushBack(b(item))
  return list
}

describe('ListDeque by example', () => {
  test('pushes and pops at both ends', () => {
    const list = new ListDeque({ chunkCapacity: 2 })
    assert.equal(list.popFront(), undefined)
    assert.equal(list.popBack(), undefined)
    assert.equal(list.pushBack(b('b')), 0)
    assert.equal(list.pushFront(b('a')), -1)
    assert.equal(list.pushBack(b('c')), 1)
    for (let at = 0; at < 10; at++) list.pushFront(b(`f${at}`))
    list.verify()
    assert.equal(list.length, 13)
    assert.deepEqual(list.popFront(), { seq: -11, value: b('f9') })
    assert.deepEqual(list.popBack(), { seq: 1, value: b('c') })
    assert.equal(list.firstSeq, -10)
    assert.equal(list.lastSeq, 0)
    list.verify()
  })

  test('LINDEX and LSET with negative and out-of-range indexes', () => {
    const list = listOf(['a', 'b', 'c', 'd', 'e'])
    assert.equal(list.at(0)?.toString(), 'a')
    assert.equal(list.at(-1)?.toString(), 'e')
    assert.equal(list.at(-5)?.toString(), 'a')
    assert.equal(list.at(-6), undefined)
    assert.equal(list.at(5), undefined)
    assert.equal(list.set(-2, b('D')), 3)
    assert.equal(list.set(5, b('x')), null)
    assert.equal(list.set(-6, b('x')), null)
    assert.deepEqual(texts(list.range(0, -1)), ['a', 'b', 'c', 'D', 'e'])
  })

  test('LRANGE clamps like Redis', () => {
    const list = listOf(['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(texts(list.range(-100, 100)), ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(texts(list.range(1, 2)), ['b', 'c'])
    assert.deepEqual(texts(list.range(-2, -1)), ['d', 'e'])
    assert.deepEqual(texts(list.range(3, 1)), [])
    assert.deepEqual(texts(list.range(5, 10)), [])
    assert.deepEqual(texts(list.range(-1, -2)), [])
    assert.deepEqual(texts(new ListDeque().range(0, -1)), [])
  })

  test('LTRIM keeps the range and returns the removed seqs; an empty range empties the list', () => {
    const list = listOf(['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(list.trim(1, -2), [0, 4])
    assert.deepEqual(texts(list.range(0, -1)), ['b', 'c', 'd'])
    assert.deepEqual(list.trim(0, 100), [])
    assert.deepEqual(list.trim(2, 1).sort(), [1, 2, 3])
    assert.equal(list.length, 0)
    list.verify()
    assert.equal(list.pushFront(b('z')), 0)
  })

  test('LINSERT takes a midpoint seq and writes one record', () => {
    const list = listOf(['a', 'b', 'c', 'd', 'e', 'f'])
    assert.equal(list.insertAround(b('zz'), b('x'), 'before'), null)
    const one = (seq: number, value: string) => ({
      writes: [{ seq, value: b(value) }],
      deletes: [],
    })
    assert.deepEqual(list.insertAround(b('e'), b('x'), 'before'), one(3.5, 'x'))
    assert.deepEqual(list.insertAround(b('a'), b('y'), 'after'), one(0.5, 'y'))
    assert.deepEqual(list.remove(1, b('c')), [2])
    assert.deepEqual(list.insertAround(b('d'), b('w'), 'before'), one(2, 'w'))
    assert.deepEqual(list.insertAt(0, b('h')), one(-1, 'h'))
    assert.deepEqual(list.insertAt(list.length, b('t')), one(6, 't'))
    assert.deepEqual(texts(list.range(0, -1)), ['h', 'a', 'y', 'b', 'w', 'd', 'x', 'e', 'f', 't'])
    list.verify()
  })

  test('LINSERT at one spot until the grid is used up relabels the smallest window evenly', () => {
    const list = listOf(['a', 'b', 'c', 'd', 'e', 'f'])
    let inserts = 0
    let result = list.insertAt(4, b('x'))
    while (result.writes.length === 1) {
      inserts++
      result = list.insertAt(4, b('x0'))
    }
    assert.equal(inserts, 20)
    // Each insert halved the gap after d (seq 3). The window of radius one, d and the newest x,
    // spreads with the new element between c (seq 2) and the next x (3 + 2^-19), 0.25 apart.
    assert.deepEqual(
      result.writes.map((write) => [write.seq, write.value.toString()]),
      [
        [2.25, 'd'],
        [2.75, 'x0'],
        [2.5, 'x0'],
      ],
    )
    assert.deepEqual(result.deletes, [3, 3 + 2 ** -20])
    list.verify()
    assert.equal(list.insertAt(4, b('x')).writes.length, 1)
  })

  test('10,000 LINSERTs at one spot of a 5,000-element list write few records each', () => {
    const list = listOf(Array.from({ length: 5000 }, (_, i) => `v${i}`))
    let records = 0
    for (let i = 0; i < 10_000; i++) {
      const result = list.insertAt(2500, b('x'))
      records += result.writes.length + result.deletes.length
    }
    list.verify()
    assert.ok(records / 10_000 < 10, `${records / 10_000} records per LINSERT`)
  })

  test('pushes after a fractional end take the next integer outside it', () => {
    const list = listOf(['a', 'b'])
    assert.equal(list.insertAt(1, b('x')).writes[0]?.seq, 0.5)
    assert.equal(list.insertAt(2, b('y')).writes[0]?.seq, 0.75)
    list.popFront()
    list.popBack()
    assert.equal(list.firstSeq, 0.5)
    assert.equal(list.pushFront(b('h')), -1)
    assert.equal(list.pushBack(b('t')), 2)
    assert.deepEqual(texts(list.range(0, -1)), ['h', 'x', 'y', 't'])
    list.verify()
  })

  test('LREM from the head, from the tail and all', () => {
    const list = listOf(['x', 'a', 'x', 'b', 'x', 'c', 'x'], 2)
    assert.deepEqual(list.remove(2, b('x')), [0, 2])
    assert.deepEqual(texts(list.range(0, -1)), ['a', 'b', 'x', 'c', 'x'])
    assert.deepEqual(list.remove(-1, b('x')), [6])
    assert.deepEqual(list.remove(0, b('x')), [4])
    assert.deepEqual(list.remove(0, b('nope')), [])
    assert.deepEqual(texts(list.range(0, -1)), ['a', 'b', 'c'])
    list.verify()
  })

  test('LPOS with RANK, COUNT and MAXLEN', () => {
    // redis: RPUSH l a b c 1 2 3 c c
    const list = listOf(['a', 'b', 'c', '1', '2', '3', 'c', 'c'])
    const find = (options: Partial<ListFindOptions>) =>
      list.find(b('c'), { rank: 1, count: 1, maxLength: 0, ...options })
    assert.deepEqual(find({}), [2])
    assert.deepEqual(find({ rank: 2 }), [6])
    assert.deepEqual(find({ rank: -1 }), [7])
    assert.deepEqual(find({ count: 0 }), [2, 6, 7])
    assert.deepEqual(find({ rank: -1, count: 2 }), [7, 6])
    assert.deepEqual(find({ rank: 4, count: 0 }), [])
    assert.deepEqual(find({ count: 0, maxLength: 7 }), [2, 6])
    assert.deepEqual(find({ rank: -2, count: 0, maxLength: 2 }), [6])
  })

  test('a queue (RPUSH + LPOP) keeps FIFO order while its chunks cycle through the slots', () => {
    const list = new ListDeque({ chunkCapacity: 2 })
    for (let at = 0; at < 20_000; at++) {
      list.pushBack(b(`v${at}`))
      if (at >= 5000) assert.equal(list.popFront()?.value.toString(), `v${at - 5000}`)
      if (at % 1000 === 0) list.verify()
    }
    assert.equal(list.length, 5000)
    assert.equal(list.at(0)?.toString(), 'v15000')
    assert.equal(list.at(-1)?.toString(), 'v19999')
  })

  test('restoreBack rebuilds a list from its records in seq order', () => {
    const list = new ListDeque({ chunkCapacity: 3 })
    for (const [seq, value] of [
      [-5, 'a'],
      [-1, 'b'],
      [7, 'c'],
      [8, 'd'],
    ] as const) {
      list.restoreBack(seq, b(value))
    }
    assert.throws(() => list.restoreBack(8, b('e')), /ascend/)
    assert.equal(list.pushFront(b('z')), -6)
    assert.equal(list.pushBack(b('y')), 9)
    assert.deepEqual(texts(list.range(0, -1)), ['z', 'a', 'b', 'c', 'd', 'y'])
  })
})

describe('range helpers', () => {
  test('normalizeIndexRange and normalizeIndex follow Redis', () => {
    assert.deepEqual(normalizeIndexRange(0, -1, 3), { first: 0, last: 2 })
    assert.deepEqual(normalizeIndexRange(-10, 1, 3), { first: 0, last: 1 })
    assert.equal(normalizeIndexRange(0, -1, 0), null)
    assert.equal(normalizeIndexRange(3, 5, 3), null)
    assert.equal(normalizeIndexRange(2, 1, 3), null)
    assert.equal(normalizeIndex(-1, 3), 2)
    assert.equal(normalizeIndex(-4, 3), -1)
    assert.equal(normalizeIndex(3, 3), -1)
  })
})

type Operation =
  | { op: 'push-front' | 'push-back'; value: string }
  | { op: 'pop-front' | 'pop-back' }
  | { op: 'index'; index: number }
  | { op: 'set'; index: number; value: string }
  | { op: 'range' | 'trim'; start: number; stop: number }
  | { op: 'insert'; pivot: string; value: string; where: 'before' | 'after' }
  | { op: 'insert-at'; index: number; value: string; times: number }
  | { op: 'remove'; count: number; value: string }
  | { op: 'find'; value: string; rank: number; count: number; maxLength: number }

const valueArbitrary = fc.constantFrom('a', 'b', 'c', 'd')
const indexArbitrary = fc.integer({ min: -40, max: 40 })
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constantFrom('push-front' as const, 'push-back' as const),
      value: valueArbitrary,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constantFrom('pop-front' as const, 'pop-back' as const) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('index' as const), index: indexArbitrary }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      index: indexArbitrary,
      value: valueArbitrary,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('range' as const, 'trim' as const),
      start: indexArbitrary,
      stop: indexArbitrary,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      pivot: valueArbitrary,
      value: valueArbitrary,
      where: fc.constantFrom('before' as const, 'after' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('insert-at' as const),
      index: fc.nat(6),
      value: valueArbitrary,
      // A burst of inserts at one spot uses up the 2^-20 grid there and forces a shift.
      times: fc.oneof(fc.constant(1), fc.integer({ min: 15, max: 25 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('remove' as const),
      count: fc.integer({ min: -3, max: 3 }),
      value: valueArbitrary,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('find' as const),
      value: valueArbitrary,
      rank: fc.integer({ min: -4, max: 4 }).filter((rank) => rank !== 0),
      count: fc.nat(3),
      maxLength: fc.nat(20),
    }),
  },
)

/** The naive model: the list as an array, plus the record store the returned seqs maintain. */
interface Model {
  values: string[]
  records: Map<number, string>
}

function modelRange(values: string[], start: number, stop: number): string[] {
  const range = normalizeIndexRange(start, stop, values.length)
  return range === null ? [] : values.slice(range.first, range.last + 1)
}

function modelFind(values: string[], operation: Extract<Operation, { op: 'find' }>): number[] {
  const order = values.map((_, index) => index)
  if (operation.rank < 0) order.reverse()
  const scanned = operation.maxLength === 0 ? order : order.slice(0, operation.maxLength)
  const matches = scanned.filter((index) => values[index] === operation.value)
  const fromRank = matches.slice(Math.abs(operation.rank) - 1)
  return operation.count === 0 ? fromRank : fromRank.slice(0, operation.count)
}

function modelRemove(model: Model, count: number, value: string): number {
  const order = model.values.map((_, index) => index)
  if (count < 0) order.reverse()
  const budget = count === 0 ? Infinity : Math.abs(count)
  const doomed = new Set(order.filter((index) => model.values[index] === value).slice(0, budget))
  model.values = model.values.filter((_, index) => !doomed.has(index))
  return doomed.size
}

function applyInsert(records: Map<number, string>, result: ListInsertResult): void {
  for (const seq of result.deletes) assert.ok(records.delete(seq), 'a deleted seq held a record')
  for (const write of result.writes) records.set(write.seq, write.value.toString())
}

function applyPushPop(list: ListDeque, model: Model, operation: Operation): boolean {
  switch (operation.op) {
    case 'push-front':
      model.records.set(list.pushFront(b(operation.value)), operation.value)
      model.values.unshift(operation.value)
      return true
    case 'push-back':
      model.records.set(list.pushBack(b(operation.value)), operation.value)
      model.values.push(operation.value)
      return true
    case 'pop-front':
    case 'pop-back': {
      const entry = operation.op === 'pop-front' ? list.popFront() : list.popBack()
      const expected = operation.op === 'pop-front' ? model.values.shift() : model.values.pop()
      assert.equal(entry?.value.toString(), expected)
      if (entry !== undefined) assert.ok(model.records.delete(entry.seq))
      return true
    }
    default:
      return false
  }
}

function applyOperation(list: ListDeque, model: Model, operation: Operation): void {
  if (applyPushPop(list, model, operation)) return
  const { values, records } = model
  switch (operation.op) {
    case 'index': {
      const offset = normalizeIndex(operation.index, values.length)
      assert.equal(list.at(operation.index)?.toString(), offset < 0 ? undefined : values[offset])
      return
    }
    case 'set': {
      const offset = normalizeIndex(operation.index, values.length)
      const seq = list.set(operation.index, b(operation.value))
      assert.equal(seq === null, offset < 0)
      if (seq === null) return
      values[offset] = operation.value
      records.set(seq, operation.value)
      return
    }
    case 'range':
      assert.deepEqual(
        texts(list.range(operation.start, operation.stop)),
        modelRange(values, operation.start, operation.stop),
      )
      return
    case 'trim': {
      const kept = modelRange(values, operation.start, operation.stop)
      const removed = list.trim(operation.start, operation.stop)
      assert.equal(removed.length, values.length - kept.length)
      for (const seq of removed) assert.ok(records.delete(seq))
      model.values = kept
      return
    }
    case 'insert': {
      const pivot = values.indexOf(operation.pivot)
      const result = list.insertAround(b(operation.pivot), b(operation.value), operation.where)
      assert.equal(result === null, pivot < 0)
      if (result === null) return
      values.splice(operation.where === 'before' ? pivot : pivot + 1, 0, operation.value)
      applyInsert(records, result)
      return
    }
    case 'insert-at': {
      const index = Math.min(operation.index, values.length)
      for (let time = 0; time < operation.times; time++) {
        const result = list.insertAt(index, b(operation.value))
        values.splice(index, 0, operation.value)
        applyInsert(records, result)
      }
      return
    }
    case 'remove': {
      const removed = list.remove(operation.count, b(operation.value))
      assert.equal(removed.length, modelRemove(model, operation.count, operation.value))
      for (const seq of removed) assert.ok(records.delete(seq))
      return
    }
    case 'find':
      assert.deepEqual(list.find(b(operation.value), operation), modelFind(values, operation))
      return
  }
}

function assertAgrees(list: ListDeque, model: Model): void {
  list.verify()
  assert.equal(list.length, model.values.length)
  assert.deepEqual(texts(list.range(0, -1)), model.values)
  const stored = [...model.records.entries()].sort(([x], [y]) => x - y)
  assert.deepEqual(
    stored.map(([, value]) => value),
    model.values,
  )
  assert.deepEqual(
    list.entries().map((entry) => entry.seq),
    stored.map(([seq]) => seq),
  )
}

describe('ListDeque against an array model and a record store', () => {
  test('random operation sequences agree with the model', () => {
    fc.assert(
      fc.property(
        fc.array(operationArbitrary, { maxLength: 300, size: 'max' }),
        fc.constantFrom(2, 3, 4, 128),
        (operations, chunkCapacity) => {
          const list = new ListDeque({ chunkCapacity })
          const model: Model = { values: [], records: new Map() }
          for (const operation of operations) {
            applyOperation(list, model, operation)
            assertAgrees(list, model)
          }
          const rebuilt = new ListDeque({ chunkCapacity })
          const stored = [...model.records.entries()].sort(([x], [y]) => x - y)
          for (const [seq, value] of stored) rebuilt.restoreBack(seq, b(value))
          assert.deepEqual(rebuilt.entries(), list.entries())
        },
      ),
      { numRuns: 150 },
    )
  })
})
