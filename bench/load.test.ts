/* Tests of the closed-loop load generator on a fake clock: only operations inside the measured
 * window count, failures are counted apart with a few samples, and the in-flight bound holds. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runClosedLoop } from './load.js'

/** A clock that moves 1 ms per operation, so the run is deterministic. */
function fakeClock(): { nowMs: () => number; tick: () => void } {
  let now = 0
  return { nowMs: () => now, tick: () => (now += 1) }
}

test('counts only operations inside the window and reports their latency', async () => {
  const clock = fakeClock()
  let inFlight = 0
  let inFlightMax = 0
  const result = await runClosedLoop({
    inFlight: 4,
    warmupMs: 10,
    durationMs: 100,
    nowMs: clock.nowMs,
    operation: async () => {
      inFlight += 1
      inFlightMax = Math.max(inFlightMax, inFlight)
      await Promise.resolve()
      clock.tick()
      inFlight -= 1
    },
  })
  assert.equal(inFlightMax, 4)
  assert.ok(result.operations > 0 && result.operations <= 100, String(result.operations))
  assert.equal(result.errors, 0)
  assert.equal(result.opsPerSecond, result.operations * 10)
  assert.ok(result.p50Ms !== null && result.p50Ms >= 1 && result.p50Ms < 5)
})

test('failures are counted apart, with distinct messages sampled', async () => {
  const clock = fakeClock()
  const result = await runClosedLoop({
    inFlight: 2,
    warmupMs: 0,
    durationMs: 50,
    nowMs: clock.nowMs,
    operation: async (sequence) => {
      clock.tick()
      await Promise.resolve()
      if (sequence % 2 === 1) throw new Error('TRYAGAIN no leader, try again')
    },
  })
  assert.ok(result.errors > 0 && result.operations > 0)
  assert.deepEqual(result.errorSamples, ['TRYAGAIN no leader, try again'])
})

test('a run where every operation fails has no latency figures', async () => {
  const clock = fakeClock()
  const result = await runClosedLoop({
    inFlight: 1,
    warmupMs: 0,
    durationMs: 5,
    nowMs: clock.nowMs,
    operation: () => {
      clock.tick()
      return Promise.reject(new Error('connect ECONNREFUSED'))
    },
  })
  assert.equal(result.operations, 0)
  assert.equal(result.p99Ms, null)
  assert.equal(result.opsPerSecond, 0)
})
