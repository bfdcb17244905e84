/* Named scenarios on the simulated cluster, each a deterministic seed with scripted faults on top
 * of the clients' load: each must keep every invariant, converge once healed, give a linearizable
 * history, and prove (by its stats) that its fault really struck. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MembershipChange, NodeId } from '../raft/index.js'
import type { ReplicaResult } from '../replica/types.js'
import type { SimCluster } from './cluster.js'
import { runSeed, type SimConfig, type SimResult, type SimWorld } from './run.js'
import { deps, explain, simConfig } from './test-support.js'

async function scenario(config: SimConfig, script: (world: SimWorld) => void): Promise<SimResult> {
  const result = await runSeed(config, deps, script)
  assert.equal(result.failure, null, explain(result))
  assert.equal(result.verdict, 'linearizable')
  return result
}

function stat(result: SimResult, name: string): number {
  return result.stats[name] ?? 0
}

/** Cuts every link between `id` and the other nodes; returns the links, for restore(). */
function isolate(cluster: SimCluster, id: NodeId): [NodeId, NodeId][] {
  const links: [NodeId, NodeId][] = []
  for (const other of cluster.nodes.keys()) {
    if (other !== id) links.push([id, other], [other, id])
  }
  cluster.network.cut(links)
  return links
}

/** Proposes `change` through the current leader until it is applied (or `deadlineMs` passes). */
function changeUntilDone(world: SimWorld, change: MembershipChange, then: () => void): void {
  const { cluster, scheduler } = world
  const attempt = (): void => {
    const leader = cluster.leader()
    if (leader === null) return void scheduler.after(50, attempt)
    cluster.changeMembership(leader.id, change, (result: ReplicaResult) => {
      if (result.ok) then()
      else scheduler.after(50, attempt)
    })
  }
  attempt()
}

test('a retried write is applied once (duplicate delivery and client retries)', async () => {
  const base = simConfig({ seed: 11, faults: [] })
  const config = {
    ...base,
    // Replies often come after the client gave up on an attempt: it retries the same sequence.
    clientTiming: { ...base.clientTiming, attemptTimeoutMs: 25 },
  }
  const result = await scenario(config, ({ cluster }) => {
    cluster.network.conditions = {
      dropRate: 0.05,
      duplicateRate: 0.3,
      reorderRate: 0.05,
      delayMsMin: 2,
      delayMsMax: 15,
      reorderDelayMsMax: 60,
    }
  })
  assert.ok(stat(result, 'client-retried-writes') > 10, JSON.stringify(result.stats))
})

test('crash and restart of all nodes, twice, with torn and clean tails', async () => {
  const result = await scenario(
    simConfig({ seed: 12, faults: ['drop'] }),
    ({ cluster, scheduler }) => {
      const ids = [...cluster.nodes.keys()]
      const crashAll = (torn: boolean): void => ids.forEach((id) => cluster.crash(id, torn))
      const startAll = (): void => ids.forEach((id) => cluster.start(id))
      scheduler.at(800, () => crashAll(true))
      scheduler.at(1000, startAll)
      scheduler.at(2000, () => crashAll(false))
      scheduler.at(2300, startAll)
    },
  )
  assert.equal(stat(result, 'crash'), 6)
  assert.equal(stat(result, 'restart'), 6)
  assert.ok(stat(result, 'client-completed') > 100, JSON.stringify(result.stats))
})

test('a follower behind the compacted log catches up by snapshot, even after a crash during it', async () => {
  const base = simConfig({ seed: 13, faults: [] })
  const config = { ...base, tuning: { ...base.tuning, snapshotEveryEntries: 5, logTailEntries: 2 } }
  const result = await scenario(config, ({ cluster, scheduler }) => {
    let links: [NodeId, NodeId][] = []
    scheduler.at(100, () => (links = isolate(cluster, 3)))
    scheduler.at(1800, () => cluster.network.restore(links))
    // The first chunks are on their way: a crash now interrupts the transfer.
    scheduler.at(1803, () => cluster.crash(3, true))
    scheduler.at(1900, () => cluster.start(3))
  })
  assert.ok(stat(result, 'snapshot-chunks-to-n3') > 0, JSON.stringify(result.stats))
  assert.equal(stat(result, 'crash'), 1)
})

test('membership changes during a partition: add, promote, remove the cut-off node, then the leader', async () => {
  const done: string[] = []
  const result = await scenario(simConfig({ seed: 14, faults: ['delay'] }), (world) => {
    const { cluster, scheduler } = world
    let cut: [NodeId, NodeId][] = []
    const grow = (next: () => void): void => {
      const id = cluster.addNode()
      changeUntilDone(world, { type: 'add-learner', nodeId: id }, () => {
        done.push(`add ${id}`)
        changeUntilDone(world, { type: 'promote', nodeId: id }, () => {
          done.push(`promote ${id}`)
          next()
        })
      })
    }
    scheduler.at(400, () => {
      const leader = cluster.leader()?.id ?? 1
      const victim = [1, 2, 3].find((id) => id !== leader) ?? 2
      cut = isolate(cluster, victim)
      grow(() =>
        changeUntilDone(world, { type: 'remove', nodeId: victim }, () => {
          done.push(`remove ${victim}`)
          grow(() => {
            const current = cluster.leader()?.id ?? 1
            changeUntilDone(world, { type: 'remove', nodeId: current }, () => {
              done.push(`remove leader ${current}`)
            })
          })
        }),
      )
    })
    scheduler.at(2500, () => cluster.network.restore(cut))
  })
  assert.equal(done.length, 6, done.join(', '))
  assert.ok(done[5]?.startsWith('remove leader'), done.join(', '))
  assert.ok(stat(result, 'role-leader') >= 2, 'a new leader took over from the removed one')
})

test('leadership transfers under load', async () => {
  const result = await scenario(
    simConfig({ seed: 15, faults: ['delay'] }),
    ({ cluster, scheduler, rng }) => {
      for (let atMs = 300; atMs < 2900; atMs += 150) {
        scheduler.at(atMs, () => {
          const leader = cluster.leader()
          if (leader?.host == null) return
          const voters = leader.host.status().membership.voters.filter((id) => id !== leader.id)
          const target = voters[rng.int(voters.length)]
          if (target !== undefined) leader.host.transferLeadership(target)
        })
      }
    },
  )
  assert.ok(stat(result, 'role-leader') >= 8, JSON.stringify(result.stats))
  assert.ok(stat(result, 'client-completed') > 80, JSON.stringify(result.stats))
})
