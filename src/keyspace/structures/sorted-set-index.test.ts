/* Tests for SortedSetIndex: Redis's ordering rules by example, then fast-check model tests that
 * run random operation sequences against a sorted array of (score, member Buffer) compared with
 * Buffer.compare, on a tiny node capacity so that splits, merges and borrows happen often. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  SortedSetIndex,
  parseLexBound,
  type LexBound,
  type ScoreRange,
  type SortedSetCursor,
} from './sorted-set-index.js'

interface ModelEntry {
  member: Buffer
  score: number
}

const b = (text: string): Buffer => Buffer.from(text, 'latin1')

function compareEntries(x: ModelEntry, y: ModelEntry): number {
  if (x.score < y.score) return -1
  if (x.score > y.score) return 1
  return Buffer.compare(x.member, y.member)
}

/** The naive model: a Map by member, sorted into an array on demand. */
class Model {
  readonly entries = new Map<string, ModelEntry>()
  sorted(): ModelEntry[] {
    return [...this.entries.values()].sort(compareEntries)
  }
}

function collect(index: SortedSetIndex): ModelEntry[] {
  const out: ModelEntry[] = []
  for (const cursor = index.cursorAt(0); cursor.valid; cursor.next()) {
    out.push({ member: cursor.member(), score: cursor.score })
  }
  return out
}

function collectBackward(cursor: SortedSetCursor): ModelEntry[] {
  const out: ModelEntry[] = []
  for (; cursor.valid; cursor.prev()) out.push({ member: cursor.member(), score: cursor.score })
  return out
}

function inScoreRange(score: number, range: ScoreRange): boolean {
  const aboveMin = range.minExclusive ? score > range.min : score >= range.min
  const belowMax = range.maxExclusive ? score < range.max : score <= range.max
  return aboveMin && belowMax
}

function inLexRange(member: Buffer, min: LexBound, max: LexBound): boolean {
  const aboveMin =
    min.kind === 'min' ||
    (min.kind !== 'max' &&
      (min.kind === 'inclusive'
        ? Buffer.compare(member, min.member) >= 0
        : Buffer.compare(member, min.member) > 0))
  const belowMax =
    max.kind === 'max' ||
    (max.kind !== 'min' &&
      (max.kind === 'inclusive'
        ? Buffer.compare(member, max.member) <= 0
        : Buffer.compare(member, max.member) < 0))
  return aboveMin && belowMax
}

/** Checks a rank range against the model's run of matching entries (which must be contiguous). */
function assertRankRange(actual: { first: number; end: number }, matches: boolean[]): void {
  const first = matches.indexOf(true)
  const count = matches.filter(Boolean).length
  assert.equal(actual.end - actual.first, count)
  if (count > 0) assert.equal(actual.first, first)
}

describe('SortedSetIndex by example', () => {
  test('orders by score, then by member bytes as memcmp does', () => {
    const index = new SortedSetIndex()
    index.set(b('b'), 1)
    index.set(b('a'), 1)
    index.set(b('\xff'), 1)
    index.set(b('ab'), 1)
    index.set(b(''), 1)
    index.set(b('z'), 0.5)
    index.set(b('\x00'), 1)
    const members = collect(index).map((entry) => entry.member.toString('latin1'))
    assert.deepEqual(members, ['z', '', '\x00', 'a', 'ab', 'b', '\xff'])
    assert.equal(index.rank(b('\xff')), 6)
    assert.equal(index.rank(b('missing')), -1)
  })

  test('set reports added, updated and unchanged; -0 is 0 as in Redis', () => {
    const index = new SortedSetIndex()
    assert.equal(index.set(b('m'), -0), 'added')
    assert.equal(index.set(b('m'), 0), 'unchanged')
    assert.ok(Object.is(index.score(b('m')), 0))
    assert.ok(Object.is(index.at(0)?.score, 0))
    assert.equal(index.set(b('m'), 5), 'updated')
    assert.equal(index.score(b('m')), 5)
    assert.equal(index.size, 1)
    assert.equal(index.delete(b('m')), true)
    assert.equal(index.delete(b('m')), false)
    assert.equal(index.size, 0)
    assert.throws(() => index.set(b('m'), NaN), /not NaN/)
  })

  test('score ranges: inclusive, exclusive, -inf and +inf', () => {
    const index = new SortedSetIndex()
    const scores = [-Infinity, 1, 2, 2, 3, Infinity]
    scores.forEach((score, at) => index.set(b(`m${at}`), score))
    const range = (min: number, minExclusive: boolean, max: number, maxExclusive: boolean) =>
      index.rankRangeByScore({ min, minExclusive, max, maxExclusive })
    assert.deepEqual(range(-Infinity, false, Infinity, false), { first: 0, end: 6 })
    assert.deepEqual(range(-Infinity, true, Infinity, true), { first: 1, end: 5 })
    assert.deepEqual(range(2, false, 2, false), { first: 2, end: 4 })
    assert.deepEqual(range(2, true, 3, false), { first: 4, end: 5 })
    assert.deepEqual(range(1, true, 2, true), { first: 2, end: 2 })
    assert.deepEqual(range(3, false, 1, false), { first: 4, end: 4 })
    assert.deepEqual(range(2, false, 2, true), { first: 2, end: 2 })
  })

  test('lex ranges with -, +, [ and (', () => {
    const index = new SortedSetIndex()
    for (const member of ['a', 'b', 'c', 'd', 'e']) index.set(b(member), 0)
    const lex = (min: string, max: string) => {
      const minBound = parseLexBound(b(min))
      const maxBound = parseLexBound(b(max))
      assert.ok(minBound !== null && maxBound !== null)
      return index.rankRangeByLex({ min: minBound, max: maxBound })
    }
    assert.deepEqual(lex('-', '+'), { first: 0, end: 5 })
    assert.deepEqual(lex('[b', '[d'), { first: 1, end: 4 })
    assert.deepEqual(lex('(b', '(d'), { first: 2, end: 3 })
    assert.deepEqual(lex('[bb', '+'), { first: 2, end: 5 })
    assert.deepEqual(lex('-', '(a'), { first: 0, end: 0 })
    assert.deepEqual(lex('+', '-'), { first: 5, end: 5 })
    assert.deepEqual(lex('[d', '[b'), { first: 3, end: 3 })
    assert.deepEqual(lex('[', '+'), { first: 0, end: 5 })
  })

  test('parseLexBound rejects what Redis rejects', () => {
    assert.equal(parseLexBound(b('')), null)
    assert.equal(parseLexBound(b('a')), null)
    assert.equal(parseLexBound(b('--')), null)
    assert.deepEqual(parseLexBound(b('-')), { kind: 'min' })
    assert.deepEqual(parseLexBound(b('+')), { kind: 'max' })
    assert.deepEqual(parseLexBound(b('[-')), { kind: 'inclusive', member: b('-') })
    assert.deepEqual(parseLexBound(b('(')), { kind: 'exclusive', member: b('') })
  })

  test('at, cursors and deleteRankRange (ZPOPMIN, ZPOPMAX, ZREMRANGEBYRANK)', () => {
    const index = new SortedSetIndex({ nodeCapacity: 4 })
    for (let at = 0; at < 100; at++) index.set(b(`m${String(at).padStart(3, '0')}`), at % 10)
    index.verify()
    assert.equal(index.at(-1), null)
    assert.equal(index.at(100), null)
    assert.deepEqual(index.at(0), { member: b('m000'), score: 0 })
    assert.equal(collectBackward(index.cursorAt(99)).length, 100)
    assert.equal(index.cursorAt(1.5).valid, false)
    assert.deepEqual(index.deleteRankRange({ first: 0, end: 1 }), [{ member: b('m000'), score: 0 }])
    assert.deepEqual(index.deleteRankRange({ first: 98, end: 99 }), [
      { member: b('m099'), score: 9 },
    ])
    const removed = index.deleteRankRange({ first: 10, end: 50 })
    assert.equal(removed.length, 40)
    assert.equal(index.size, 58)
    index.verify()
    assert.deepEqual(index.deleteRankRange({ first: 50, end: 500 }).length, 8)
    assert.deepEqual(index.deleteRankRange({ first: 0, end: 1000 }).length, 50)
    assert.equal(index.size, 0)
    assert.equal(index.cursorAt(0).valid, false)
    index.verify()
  })

  test('load bulk-builds from unsorted entries; the last score of a repeated member wins', () => {
    const index = new SortedSetIndex({ nodeCapacity: 4 })
    const entries = Array.from({ length: 1000 }, (_, at) => ({
      member: b(`m${at % 700}`),
      score: -at,
    }))
    index.load(entries)
    index.verify()
    assert.equal(index.size, 700)
    assert.deepEqual(index.at(0), { member: b('m299'), score: -999 })
    assert.equal(index.score(b('m0')), -700)
    index.set(b('new'), 0.5)
    assert.equal(index.rank(b('new')), 700)
    const removed = index.deleteRankRange({ first: 100, end: 600 })
    assert.equal(removed.length, 500)
    assert.equal(removed[0]?.score, -899)
    assert.equal(index.size, 201)
    index.verify()
    index.load([])
    assert.equal(index.size, 0)
    index.verify()
  })

  test('10k rising scores build dense leaves, then drain from both ends', () => {
    const index = new SortedSetIndex({ nodeCapacity: 8 })
    for (let at = 0; at < 10_000; at++) index.set(b(`k${at}`), at)
    index.verify()
    assert.equal(index.rank(b('k5000')), 5000)
    for (let at = 0; at < 5000; at++) {
      assert.equal(index.deleteRankRange({ first: 0, end: 1 })[0]?.score, at)
      assert.equal(
        index.deleteRankRange({ first: index.size - 1, end: index.size })[0]?.score,
        9999 - at,
      )
    }
    assert.equal(index.size, 0)
    index.verify()
  })
})

const byteArbitrary = fc.constantFrom(0x00, 0x41, 0x42, 0x61, 0x7f, 0x80, 0xff)
const memberArbitrary = fc.array(byteArbitrary, { maxLength: 3 }).map((bytes) => Buffer.from(bytes))
const scoreArbitrary = fc.constantFrom(-Infinity, -2.5, -1, -0, 0, 1, 2, 3.25, Infinity)
const scoreRangeArbitrary = fc.record({
  min: scoreArbitrary,
  minExclusive: fc.boolean(),
  max: scoreArbitrary,
  maxExclusive: fc.boolean(),
})
const lexBoundArbitrary: fc.Arbitrary<LexBound> = fc.oneof(
  fc.constant<LexBound>({ kind: 'min' }),
  fc.constant<LexBound>({ kind: 'max' }),
  fc.record({
    kind: fc.constantFrom('inclusive' as const, 'exclusive' as const),
    member: memberArbitrary,
  }),
)

type Operation =
  | { op: 'set'; member: Buffer; score: number }
  | { op: 'delete'; member: Buffer }
  | { op: 'score-range'; range: ScoreRange }
  | { op: 'delete-ranks'; first: number; count: number }
  | { op: 'walk'; rank: number }

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      member: memberArbitrary,
      score: scoreArbitrary,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('delete' as const), member: memberArbitrary }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('score-range' as const), range: scoreRangeArbitrary }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('delete-ranks' as const),
      first: fc.nat(300),
      count: fc.oneof(fc.nat(12), fc.nat(300)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('walk' as const), rank: fc.nat(300) }) },
)

function applyOperation(index: SortedSetIndex, model: Model, operation: Operation): void {
  const key = (member: Buffer) => member.toString('latin1')
  switch (operation.op) {
    case 'set': {
      const previous = model.entries.get(key(operation.member))
      const expected =
        previous === undefined
          ? 'added'
          : previous.score === operation.score
            ? 'unchanged'
            : 'updated'
      assert.equal(index.set(operation.member, operation.score), expected)
      if (expected !== 'unchanged')
        model.entries.set(key(operation.member), {
          member: operation.member,
          score: operation.score + 0,
        })
      return
    }
    case 'delete':
      assert.equal(index.delete(operation.member), model.entries.delete(key(operation.member)))
      return
    case 'score-range': {
      const matches = model.sorted().map((entry) => inScoreRange(entry.score, operation.range))
      assertRankRange(index.rankRangeByScore(operation.range), matches)
      return
    }
    case 'delete-ranks': {
      const sorted = model.sorted()
      const range = { first: operation.first, end: operation.first + operation.count }
      const expected = sorted.slice(range.first, range.end)
      assert.deepEqual(index.deleteRankRange(range), expected)
      for (const entry of expected) model.entries.delete(key(entry.member))
      return
    }
    case 'walk': {
      const sorted = model.sorted()
      const expected = sorted.slice(0, operation.rank + 1).reverse()
      const cursor = index.cursorAt(Math.min(operation.rank, sorted.length - 1))
      assert.deepEqual(collectBackward(cursor), expected)
      return
    }
  }
}

function assertAgrees(index: SortedSetIndex, model: Model): void {
  index.verify()
  const sorted = model.sorted()
  assert.deepEqual(collect(index), sorted)
  assert.equal(index.size, sorted.length)
  sorted.forEach((entry, rank) => {
    assert.equal(index.rank(entry.member), rank)
    assert.deepEqual(index.at(rank), entry)
    assert.equal(index.score(entry.member), entry.score)
  })
}

describe('SortedSetIndex against a sorted-array model', () => {
  test('random operation sequences agree with the model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ member: memberArbitrary, score: scoreArbitrary }), { maxLength: 200 }),
        fc.array(operationArbitrary, { maxLength: 400, size: 'max' }),
        fc.constantFrom(4, 5, 8, 64),
        (initial, operations, nodeCapacity) => {
          const index = new SortedSetIndex({ nodeCapacity })
          const model = new Model()
          index.load(initial)
          for (const { member, score } of initial) {
            model.entries.set(member.toString('latin1'), { member, score: score + 0 })
          }
          assertAgrees(index, model)
          for (const operation of operations) applyOperation(index, model, operation)
          assertAgrees(index, model)
        },
      ),
      { numRuns: 150 },
    )
  })

  test('lex ranges over equal scores agree with a filter by Buffer.compare', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(memberArbitrary, {
          maxLength: 150,
          size: 'max',
          selector: (m) => m.toString('hex'),
        }),
        fc.array(fc.tuple(lexBoundArbitrary, lexBoundArbitrary), { minLength: 1, maxLength: 20 }),
        (members, ranges) => {
          const index = new SortedSetIndex({ nodeCapacity: 4 })
          for (const member of members) index.set(member, 7)
          const sorted = [...members].sort((x, y) => Buffer.compare(x, y))
          for (const [min, max] of ranges) {
            const matches = sorted.map((member) => inLexRange(member, min, max))
            assertRankRange(index.rankRangeByLex({ min, max }), matches)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
