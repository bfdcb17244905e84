/* Properties: every history recorded from a concurrent execution against the model (each
 * operation's interval contains its linearization point) is linearizable, and corrupting one
 * read's output to a value never written is always caught, on that read's key. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkHistory, validateHistory } from './index.js'
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
