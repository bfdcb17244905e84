/* The simulated cluster with file-snapshot state machines (--file-snapshots): captures finish
 * after a delay while applying goes on, lagging followers fetch the files from the sender of the
 * snapshot for longer than an election timeout, fetches fail when the source is down or cut off.
 * Every seed must keep every invariant, converge, and give a linearizable history. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NodeId } from '../raft/index.js'
import { runSeed, type SimConfig, type SimResult, type SimWorld } from './run.js'
import { explain, fileDeps, simConfig } from './test-support.js'

async function passes(config: SimConfig, script?: (world: SimWorld) => void): Promise<SimResult> {
  const result = await runSeed(config, fileDeps, script)
  assert.equal(result.failure, null, `${explain(result)}\n(with --file-snapshots)`)
  assert.equal(result.verdict, 'linearizable', `seed ${result.seed}`)
  return result
}

function stat(result: SimResult, name: string): number {
  return result.stats[name] ?? 0
}

test('seeds with crashes, partitions, pauses and lagging followers keep every invariant', async () => {
  const totals = new Map<string, number>()
  for (let seed = 1; seed <= 20; seed++) {
    const replicas = seed % 5 === 0 ? 5 : 3
    const result = await passes(simConfig({ seed, replicas }))
    for (const [name, count] of Object.entries(result.stats)) {
      totals.set(name, (totals.get(name) ?? 0) + count)
    }
  }
  const summary = JSON.stringify(Object.fromEntries(totals))
  assert.ok((totals.get('file-captures') ?? 0) > 50, summary)
  assert.ok((totals.get('file-installs') ?? 0) > 5, summary)
  assert.ok((totals.get('crash') ?? 0) > 20, summary)
})

test('seeds snapshotting every 5 entries (snapshots sent while another installs)', async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const base = simConfig({ seed })
    await passes({
      ...base,
      tuning: { ...base.tuning, snapshotEveryEntries: 5, logTailEntries: 2 },
    })
  }
})

test('a lagging follower fetches the files, even after a crash during the fetch', async () => {
  const base = simConfig({ seed: 13, faults: [] })
  const config = { ...base, tuning: { ...base.tuning, snapshotEveryEntries: 5, logTailEntries: 2 } }
  let fetching = false
  const result = await passes(config, ({ cluster, scheduler }) => {
    const links: [NodeId, NodeId][] = [1, 2].flatMap((id): [NodeId, NodeId][] => [
      [id, 3],
      [3, id],
    ])
    scheduler.at(100, () => cluster.network.cut(links))
    scheduler.at(1800, () => cluster.network.restore(links))
    const crashWhileFetching = (): void => {
      if ((cluster.stats.get('snapshot-chunks-to-n3') ?? 0) === 0) {
        scheduler.after(1, crashWhileFetching)
        return
      }
      fetching = true
      scheduler.after(20, () => cluster.crash(3, true)) // fetches take 50-400 ms
      scheduler.after(200, () => cluster.start(3))
    }
    scheduler.at(1800, crashWhileFetching)
  })
  assert.ok(fetching, JSON.stringify(result.stats))
  assert.equal(stat(result, 'crash'), 1)
  assert.ok(stat(result, 'file-installs') >= 1, JSON.stringify(result.stats))
})

test('a fetch from a leader that crashes fails; the new leader sends its snapshot, which installs', async () => {
  const base = simConfig({ seed: 21, faults: [] })
  const config = { ...base, tuning: { ...base.tuning, snapshotEveryEntries: 5, logTailEntries: 2 } }
  let source: NodeId | null = null
  const result = await passes(config, ({ cluster, scheduler }) => {
    const links: [NodeId, NodeId][] = [1, 2].flatMap((id): [NodeId, NodeId][] => [
      [id, 3],
      [3, id],
    ])
    // n3 must stay a follower: isolated from the start, it never leads.
    scheduler.at(0, () => cluster.network.cut(links))
    scheduler.at(1500, () => cluster.network.restore(links))
    const crashTheSource = (): void => {
      if ((cluster.stats.get('snapshot-chunks-to-n3') ?? 0) === 0) {
        scheduler.after(1, crashTheSource)
        return
      }
      source = cluster.leader()?.id ?? null
      if (source !== null) cluster.crash(source, false)
      const down = source
      if (down !== null) scheduler.after(1000, () => cluster.start(down))
    }
    scheduler.at(1500, crashTheSource)
  })
  assert.ok(source !== null && source !== 3, JSON.stringify(result.stats))
  assert.ok(stat(result, 'snapshot-install-failed') >= 1, JSON.stringify(result.stats))
  assert.ok(stat(result, 'snapshot-restored-n3') >= 1, JSON.stringify(result.stats))
})
