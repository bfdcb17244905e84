/* The checker must be able to fail: with the replica's TEST-ONLY broken read path (a leader that
 * answers from local state without ReadIndex), some seed within a few hundred yields a history
 * the linearizability checker rejects, while the same seeds with the correct path pass. Lease
 * reads pass under bounded drift and are caught when a process pause breaks their assumption. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runSeed, type SimConfig } from './run.js'
import { deps, explain, simConfig } from './test-support.js'

/** Crashes with message loss and delays: a new leader that has not yet learnt its predecessor's
 * commit index answers from a state machine missing acknowledged writes. */
const faults = ['crash', 'drop', 'delay'] as const
const seedsMax = 400

test('unsafe local reads are caught as not linearizable within a few hundred seeds', async (t) => {
  let caughtAt: number | null = null
  for (let seed = 1; seed <= seedsMax && caughtAt === null; seed++) {
    const base = simConfig({ seed, faults: [...faults] })
    const result = await runSeed(
      { ...base, tuning: { ...base.tuning, unsafeLocalReads: true } },
      deps,
    )
    if (result.failure === null) continue
    assert.equal(result.failure.kind, 'Linearizability', explain(result))
    caughtAt = seed
    t.diagnostic(`caught at seed ${seed} (${seed} seeds): ${result.failure.message.split('\n')[0]}`)
    const safe = await runSeed(simConfig({ seed, faults: [...faults] }), deps)
    assert.equal(safe.failure, null, `the correct read path passes the same seed: ${explain(safe)}`)
  }
  assert.notEqual(caughtAt, null, `no stale read caught in ${seedsMax} seeds`)
})

test('lease reads: safe under bounded drift, caught when a process pause breaks the assumption', async (t) => {
  const lease = (seed: number, faults: SimConfig['faults']): SimConfig => {
    const base = simConfig({ seed, faults })
    return { ...base, tuning: { ...base.tuning, readMode: 'lease' } }
  }
  // Clock drift within the lease margin, with partitions, crashes and transfers: linearizable.
  const bounded = ['drift', 'isolate-leader', 'isolate', 'drop', 'crash', 'transfer'] as const
  for (let seed = 1; seed <= 20; seed++) {
    const result = await runSeed(lease(seed, [...bounded]), deps)
    assert.equal(result.failure, null, explain(result))
  }
  // A paused leader does not tick, so its lease outlives the election of its successor.
  let caughtAt: number | null = null
  for (let seed = 1; seed <= seedsMax && caughtAt === null; seed++) {
    const result = await runSeed(lease(seed, ['pause', 'isolate-leader', 'isolate', 'drop']), deps)
    if (result.failure === null) continue
    assert.equal(result.failure.kind, 'Linearizability', explain(result))
    caughtAt = seed
  }
  assert.notEqual(caughtAt, null, `no stale lease read caught in ${seedsMax} seeds`)
  t.diagnostic(`stale lease read after a pause caught at seed ${caughtAt}`)
})
