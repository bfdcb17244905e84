/* Properties: every history recorded from a concurrent execution against the model (each
 * operation's interval contains its linearization point) is linearizable; corrupting one read's
 * output to a value never written is always caught, on that read's key; and on small random
 * histories the verdict equals a brute-force search over every allowed order. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkHistory, validateHistory, type Operation } from './index.js'
import { illegal, step } from './model.js'
import { createRng } from '../core/rng.js'
import { historyFromActions, historyFromClientPool, type Action } from './test-support.js'

const noDeadline = { timeLimitMs: 60_000, now: (): number => 0 }

const actionArbitrary: fc.Arbitrary<Action> = fc.record({
  key: fc.nat(2),
  kind: fc.constantFrom('get', 'get', 'put', 'append', 'cas', 'del'),
  clientPick: fc.nat(50),
  callBefore: fc.nat(40),
  returnAfter: fc.nat(40),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'effect', 'lost'),
  casHits: fc.boolean(),
})

const actionsArbitrary = fc.array(actionArbitrary, { minLength: 1, maxLength: 60 })

describe('checker properties', () => {
  test('a history recorded from a linearizable execution is linearizable', () => {
    fc.assert(
      fc.property(actionsArbitrary, (actions) => {
        const history = historyFromActions(actions, { keys: 3 })
        validateHistory(history)
        const result = checkHistory(history, noDeadline)
        assert.equal(result.verdict, 'linearizable', JSON.stringify(result.violation))
      }),
      { numRuns: 300 },
    )
  })

  test('a read of a value never written is always caught on its key', () => {
    fc.assert(
      fc.property(actionsArbitrary, fc.nat(), (actions, pick) => {
        const history = historyFromActions(actions, { keys: 3 })
        const reads = history.operations.filter((op) => op.op === 'get' && op.unknown !== true)
        fc.pre(reads.length > 0)
        const read = reads[pick % reads.length]!
        if (read.op === 'get') read.out = 'never-written'
        const result = checkHistory(history, noDeadline)
        assert.equal(result.verdict, 'not-linearizable')
        assert.equal(result.violation?.key, read.key)
      }),
      { numRuns: 300 },
    )
  })

  test('a fixed pool of clients with random latencies and timeouts records a linearizable history', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 2, max: 8 }),
        (seed, clients) => {
          const history = historyFromClientPool({
            rng: createRng(seed),
            clients,
            keys: 3,
            operations: 200,
            unknownRate: 0.03,
            thinkMax: 20,
            latencyMax: 30,
          })
          validateHistory(history)
          const result = checkHistory(history, noDeadline)
          assert.equal(result.verdict, 'linearizable', JSON.stringify(result.violation))
        },
      ),
      { numRuns: 100 },
    )
  })
})

/** Every order the format allows, tried one by one: the reference the search must agree with. */
function bruteForceLinearizable(operations: readonly Operation[]): boolean {
  const placed = new Array<boolean>(operations.length).fill(false)
  const completed = operations.filter((op) => op.unknown !== true).length
  const byClientOrder = (i: number): boolean =>
    operations.every(
      (other, j) =>
        j === i ||
        other.client !== operations[i]!.client ||
        placed[j] ||
        other.call > operations[i]!.call ||
        (other.call === operations[i]!.call && j > i),
    )
  const search = (state: string | null, placedCompleted: number): boolean => {
    if (placedCompleted === completed) return true
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i]!
      if (placed[i]) continue
      const blocked = operations.some(
        (other, j) => !placed[j] && other.return !== undefined && other.return < op.call,
      )
      if (blocked || !byClientOrder(i)) continue
      const after = step(state, op)
      if (after === illegal) continue
      placed[i] = true
      const found = search(after, placedCompleted + (op.unknown === true ? 0 : 1))
      placed[i] = false
      if (found) return true
    }
    return false
  }
  return search(null, 0)
}

const smallOperation = fc.record({
  client: fc.nat(2),
  kind: fc.constantFrom('get', 'get', 'put', 'append', 'cas', 'del'),
  call: fc.nat(20),
  length: fc.nat(10),
  unknown: fc.constantFrom(false, false, false, false, true),
  pick: fc.nat(),
  flag: fc.boolean(),
})

/** Random small single-key histories whose outputs are drawn from plausible values, so that
 * about half are linearizable. Times are squeezed so each client is sequential (sometimes
 * calling again at the very time it returned); an unknown operation gets a client of its own. */
type SmallDraft = typeof smallOperation extends fc.Arbitrary<infer T> ? T : never

function smallHistory(drafts: SmallDraft[]): Operation[] {
  const written = drafts.map((_, i) => `v${i}`)
  const reads = [null, ...written, 'v0v1', 'v1v0', 'v2v3']
  const freeAt = new Map<number, number>()
  return drafts.map((draft, i): Operation => {
    const client = draft.unknown ? 10 + i : draft.client
    const call = Math.max(draft.call, freeAt.get(client) ?? 0)
    freeAt.set(client, call + draft.length)
    const timing = draft.unknown ? { call, unknown: true } : { call, return: call + draft.length }
    const base = { client, key: 'x', ...timing }
    const value = written[i]!
    switch (draft.kind) {
      case 'get':
        return draft.unknown
          ? { ...base, op: 'get' }
          : { ...base, op: 'get', out: reads[draft.pick % reads.length]! }
      case 'put':
        return { ...base, op: 'put', value }
      case 'append':
        return draft.flag || draft.unknown
          ? { ...base, op: 'append', value }
          : { ...base, op: 'append', value, out: 2 + 2 * (draft.pick % 3) }
      case 'cas': {
        const expected = reads[draft.pick % 4] ?? null
        return draft.unknown
          ? { ...base, op: 'cas', expected, value }
          : { ...base, op: 'cas', expected, value, out: draft.flag }
      }
      case 'del':
        return draft.unknown
          ? { ...base, op: 'del' }
          : { ...base, op: 'del', out: draft.flag ? 1 : 0 }
    }
  })
}

describe('checker agrees with a brute-force search', () => {
  test('on random small histories, linearizable or not', () => {
    let linearizable = 0
    const runs = 1500
    fc.assert(
      fc.property(fc.array(smallOperation, { minLength: 1, maxLength: 7 }), (drafts) => {
        const operations = smallHistory(drafts)
        validateHistory({ operations })
        const expected = bruteForceLinearizable(
          operations.filter((op) => !(op.op === 'get' && op.unknown === true)),
        )
        if (expected) linearizable++
        const result = checkHistory({ operations }, noDeadline)
        assert.equal(result.verdict, expected ? 'linearizable' : 'not-linearizable')
      }),
      { numRuns: runs },
    )
    assert.ok(
      linearizable > runs / 5 && linearizable < (runs * 4) / 5,
      `${linearizable} of ${runs}`,
    )
  })
})
