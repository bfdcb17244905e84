import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeMembership, type Membership } from '../raft/index.js'
import type { ReplicaEvent, ReplicaResult } from './types.js'
import { TestCluster, kvReply } from './test-support.js'

function membershipOf(result: ReplicaResult): Membership {
  assert.ok(result.ok, JSON.stringify(result))
  return decodeMembership(result.reply)
}

describe('replica host: membership changes', () => {
  it('adds a learner, promotes it once caught up, then removes a voter', () => {
    const events: ReplicaEvent[] = []
    const cluster = new TestCluster({
      ids: [1, 2, 3],
      replica: { onEvent: (event) => events.push(event) },
    })
    const leader = cluster.leader()
    for (let i = 1; i <= 10; i++)
      cluster.write(leader, 1, i, { op: 'put', key: `k${i}`, value: 'v' })
    cluster.start(4, []) // a new, empty node: it learns the group from the leader
    const added = membershipOf(cluster.changeMembership(leader, { type: 'add-learner', nodeId: 4 }))
    assert.deepEqual(added, { voters: [1, 2, 3], learners: [4] })
    cluster.until(() => cluster.machine(4).get('k10') === 'v')
    const promoted = membershipOf(cluster.changeMembership(leader, { type: 'promote', nodeId: 4 }))
    assert.deepEqual(promoted, { voters: [1, 2, 3, 4], learners: [] })
    const removed = [1, 2, 3].find((id) => id !== leader) ?? 0
    const after = membershipOf(
      cluster.changeMembership(leader, { type: 'remove', nodeId: removed }),
    )
    assert.deepEqual(
      after.voters,
      [1, 2, 3, 4].filter((id) => id !== removed),
    )
    cluster.until(() => cluster.host(4).status().membership.voters.length === 3)
    assert.ok(events.some((e) => e.kind === 'membership' && e.membership.learners.includes(4)))
    // The group still commits with the new voter in it.
    cluster.write(leader, 1, 11, { op: 'put', key: 'k11', value: 'w' })
    cluster.until(() => cluster.machine(4).get('k11') === 'w')
  })

  it('refuses a change that does not apply, and a second change while one is pending', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    const invalid = cluster.changeMembership(leader, { type: 'promote', nodeId: 9 })
    assert.equal(!invalid.ok && invalid.error, 'refused')
    const results: ReplicaResult[] = []
    cluster
      .host(leader)
      .changeMembership({ type: 'add-learner', nodeId: 5 }, (r) => results.push(r))
    cluster
      .host(leader)
      .changeMembership({ type: 'add-learner', nodeId: 6 }, (r) => results.push(r))
    assert.deepEqual(results, [{ ok: false, error: 'busy' }])
    cluster.until(() => results.length === 2)
    assert.ok(results[1]?.ok)
  })

  it('removing the leader makes it step down and another node lead', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: '1' })
    membershipOf(cluster.changeMembership(leader, { type: 'remove', nodeId: leader }))
    cluster.until(() => cluster.host(leader).status().role !== 'leader')
    const next = cluster.leader()
    assert.notEqual(next, leader)
    assert.deepEqual(kvReply(cluster.write(next, 1, 2, { op: 'put', key: 'b', value: '2' })), {
      op: 'put',
    })
    // The removed node never campaigns again, however long it waits.
    cluster.time.advance(2_000)
    assert.notEqual(cluster.host(leader).status().role, 'leader')
  })
})
