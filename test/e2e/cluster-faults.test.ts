/* End-to-end faults on real cluster processes (issue 5 "Proofs"): 3 and 5 nodes, SIGKILL of the
 * leader, a follower, a majority; SIGSTOP of the leader past the election timeout; partitions,
 * one-way links and delays from the fault proxies between every node pair. Each scenario: the
 * clients' history plus final local reads on every node is linearizable, every node holds the
 * same values, and clients make progress after the heal. SEED=n repeats a run;
 * CASKADE_HISTORY_DIR=dir keeps every history. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  followerOf,
  pastElectionMs,
  seededScenarios,
  sharedCluster,
} from '../helpers/fault-suite.js'

const { report: runScenario, run: scenario } = seededScenarios('cluster faults')

describe('cluster faults, 3 nodes', () => {
  const shared = sharedCluster(3)
  test('SIGKILL of the leader, a new leader serves, the old one restarts and catches up', () =>
    scenario(shared(), 'kill-leader', async ({ cluster, note }) => {
      const leader = await cluster.leader()
      await cluster.kill(leader)
      note(`SIGKILL leader ${leader}`)
      note(`new leader ${await cluster.leader()}`)
      await sleep(pastElectionMs)
      await cluster.restart(leader)
      note(`restarted ${leader}`)
    }))

  test('SIGKILL of a follower, then its restart', () =>
    scenario(shared(), 'kill-follower', async (context) => {
      const { cluster, note } = context
      const follower = followerOf(context, await cluster.leader())
      await cluster.kill(follower)
      note(`SIGKILL follower ${follower}`)
      await sleep(pastElectionMs)
      await cluster.restart(follower)
      note(`restarted ${follower}`)
    }))

  test('SIGKILL of a majority: no write is acknowledged wrongly, restart brings it back', () =>
    scenario(shared(), 'kill-majority', async (context) => {
      const { cluster, note } = context
      const leader = await cluster.leader()
      const follower = followerOf(context, leader)
      await Promise.all([cluster.kill(leader), cluster.kill(follower)])
      note(`SIGKILL ${leader} (leader) and ${follower}`)
      await sleep(1000)
      await Promise.all([cluster.restart(leader), cluster.restart(follower)])
      note(`restarted ${leader}, ${follower}`)
      note(`leader ${await cluster.leader()}`)
    }))

  test('a majority down past the no-leader window: TRYAGAIN, and nothing it refused applies', async () => {
    // Clients wait longer than the node's 5 s no-leader window, so they see its TRYAGAIN; the
    // history leaves those writes out, so a refused write that took effect would be caught.
    const report = await runScenario(
      shared(),
      'kill-majority-tryagain',
      async (context) => {
        const { cluster, note } = context
        const leader = await cluster.leader()
        const follower = followerOf(context, leader)
        await Promise.all([cluster.kill(leader), cluster.kill(follower)])
        note(`SIGKILL ${leader} (leader) and ${follower}`)
        await sleep(7000)
        await Promise.all([cluster.restart(leader), cluster.restart(follower)])
        note(`restarted ${leader}, ${follower}`)
      },
      { commandTimeoutMs: 9000 },
    )
    assert.ok(
      report.fail > 0,
      `some operations were refused with TRYAGAIN: ${JSON.stringify(report.errors)}`,
    )
  })

  test('SIGSTOP of the leader past the election timeout, then SIGCONT', () =>
    scenario(shared(), 'pause-leader', async ({ cluster, note }) => {
      const leader = await cluster.leader()
      cluster.pause(leader)
      note(`SIGSTOP leader ${leader}`)
      await sleep(pastElectionMs)
      cluster.resume(leader)
      note(`SIGCONT ${leader}`)
    }))

  test('the leader isolated by the proxies, then healed', () =>
    scenario(shared(), 'isolate-leader', async ({ cluster, note }) => {
      note(`isolated leader ${await cluster.isolateLeader()}`)
      note(`new leader ${await cluster.leader()}`)
      await sleep(pastElectionMs)
    }))

  test('one-way links: the leader cannot send, then a follower cannot reply', () =>
    scenario(shared(), 'one-way', async (context) => {
      const { cluster, note } = context
      const leader = await cluster.leader()
      for (const name of cluster.names()) if (name !== leader) cluster.oneWay(leader, name)
      note(`${leader} (leader) -> others blocked one way`)
      await sleep(pastElectionMs)
      cluster.heal()
      const next = await cluster.leader()
      const follower = followerOf(context, next)
      cluster.oneWay(follower, next)
      note(`healed; ${follower} -> ${next} (leader) blocked one way`)
      await sleep(pastElectionMs)
    }))

  test('every link delayed by 100 ms', () =>
    scenario(shared(), 'delay', async ({ cluster, note }) => {
      cluster.delay(100)
      note('all links +100 ms')
      await sleep(pastElectionMs)
    }))

  test('majority/minority: a follower cut off, then the leader, without a heal between', () =>
    scenario(shared(), 'flapping-partitions', async (context) => {
      const { cluster, note } = context
      const leader = await cluster.leader()
      const follower = followerOf(context, leader)
      cluster.isolate(follower)
      note(`${follower} | rest`)
      await sleep(1000)
      note(`${(await cluster.splitLeaderIntoMinority(1)).join(',')} | rest`)
      await sleep(pastElectionMs)
    }))
})

describe('cluster faults, 5 nodes', () => {
  const shared = sharedCluster(5)
  test('SIGKILL of two nodes (the leader among them), then their restart', () =>
    scenario(shared(), 'kill-two-of-five', async (context) => {
      const { cluster, note } = context
      const leader = await cluster.leader()
      const follower = followerOf(context, leader)
      await Promise.all([cluster.kill(leader), cluster.kill(follower)])
      note(`SIGKILL ${leader} (leader) and ${follower}`)
      note(`new leader ${await cluster.leader()}`)
      await sleep(1000)
      await Promise.all([cluster.restart(leader), cluster.restart(follower)])
      note(`restarted ${leader}, ${follower}`)
    }))

  test('a 2|3 partition with the leader on the minority side', () =>
    scenario(shared(), 'partition-2-3', async ({ cluster, note }) => {
      const minority = await cluster.splitLeaderIntoMinority(2)
      note(`${minority.join(',')} | rest`)
      note(`majority leader ${await cluster.leader()}`)
      await sleep(pastElectionMs)
    }))
})

describe('cluster faults with membership changes', () => {
  const shared = sharedCluster(3, 1)
  test('a node joins and a dead follower is removed while that follower is down', () =>
    scenario(shared(), 'membership-during-kill', async (context) => {
      const { cluster, note } = context
      const follower = followerOf(context, await cluster.leader())
      await cluster.kill(follower)
      note(`SIGKILL follower ${follower}`)
      await cluster.join('n4')
      await cluster.waitMembers(4)
      note('n4 joined and was promoted: 4 voters, 3 alive')
      await cluster.remove(follower)
      await cluster.waitMembers(3)
      note(`RAFT REMOVE ${follower}: 3 voters`)
    }))
})
