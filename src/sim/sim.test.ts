/* The simulator over caskade's real replica host: hundreds of seeds of the full fault mix keep
 * every Raft invariant, converge once healed and give linearizable histories; and a seed is a
 * complete reproduction recipe (the same seed gives the same trace and history twice).
 * SEED=n SIM_SEEDS=m narrows or widens the sweep. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runSeed } from './run.js'
import { deps, explain, simConfig } from './test-support.js'

const firstSeed = Number(process.env.SEED ?? 1)
const seedCount = Number(process.env.SIM_SEEDS ?? 200)

test(`${seedCount} seeds of the full fault mix: invariants hold, replicas converge, linearizable`, async (t) => {
  let operations = 0
  let events = 0
  const totals = new Map<string, number>()
  const startedMs = performance.now()
  for (let i = 0; i < seedCount; i++) {
    const seed = firstSeed + i
    // One seed in five runs five replicas (and more clients).
    const replicas = i % 5 === 4 ? 5 : 3
    const config = simConfig({ seed, replicas, clients: replicas === 5 ? 6 : 4 })
    const result = await runSeed(config, deps)
    assert.equal(result.failure, null, `${explain(result)}\n(replicas=${replicas})`)
    assert.notEqual(result.verdict, null)
    operations += result.operations
    events += result.events
    for (const [name, count] of Object.entries(result.stats)) {
      totals.set(name, (totals.get(name) ?? 0) + count)
    }
  }
  const seconds = (performance.now() - startedMs) / 1000
  t.diagnostic(
    `${seedCount} seeds, ${operations} operations, ${events} events, ` +
      `${Math.round(operations / seconds)} ops/s wall`,
  )
  t.diagnostic([...totals].map(([name, count]) => `${name}=${count}`).join(' '))
  // The mix really struck: crashes, restarts, snapshots installed, leadership changes, churn.
  for (const name of [
    'crash',
    'restart',
    'snapshot-restored',
    'role-leader',
    'pause',
    'fault-flap',
  ]) {
    assert.ok((totals.get(name) ?? 0) > 0, `${name} happened`)
  }
  assert.ok((totals.get('membership-promote-done') ?? 0) > 0, 'a learner was promoted')
  assert.ok((totals.get('membership-remove-done') ?? 0) > 0, 'a voter was removed')
})

test('the same seed gives the same trace and the same history twice', async () => {
  for (const seed of [3, 4]) {
    const config = simConfig({ seed })
    const first = await runSeed(config, deps)
    const second = await runSeed(config, deps)
    assert.equal(first.failure, null, explain(first))
    assert.equal(second.traceHash, first.traceHash)
    assert.equal(second.events, first.events)
    assert.equal(second.historyJson, first.historyJson)
    assert.deepEqual(second.stats, first.stats)
    const other = await runSeed(simConfig({ seed: seed + 1000 }), deps)
    assert.notEqual(other.traceHash, first.traceHash, 'another seed, another run')
  }
})
