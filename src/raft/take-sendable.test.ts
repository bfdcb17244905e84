/* takeSendable(): what a host may send while its last Ready is still being synced. A leader's
 * appends and heartbeats and a follower's heartbeat answers go; acknowledgements of entries and
 * votes wait for the Ready that persists what they promise. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RaftMessage } from './types.js'
import { TestNetwork, testGroupId } from './test-support.js'

function elected(): TestNetwork {
  const network = new TestNetwork({ count: 3, seed: 1, node: {} })
  network.node(1).raft.campaign()
  network.stabilize()
  assert.deepEqual(network.leaders(), [1])
  return network
}

const types = (messages: readonly RaftMessage[]): string[] => messages.map((m) => m.type)

describe('raft core: takeSendable while a Ready is unpersisted', () => {
  test('appends and heartbeat answers go at once; append answers wait for their Ready', () => {
    const network = elected()
    const leader = network.node(1).raft
    const term = leader.status().term
    leader.propose(Buffer.from('a'))
    const leaderReady = leader.ready()
    assert.ok(leaderReady !== null && leaderReady.mustSync)
    leader.propose(Buffer.from('b'))
    const early = leader.takeSendable()
    assert.ok(early.length > 0)
    assert.ok(
      types(early).every((type) => type === 'append'),
      'the leader replicates meanwhile',
    )

    const follower = network.node(2).raft
    for (const message of leaderReady.messages) if (message.to === 2) follower.step(message)
    const followerReady = follower.ready()
    assert.ok(followerReady !== null && followerReady.mustSync)
    assert.deepEqual(types(followerReady.messages), ['append-response'])
    for (const message of early) if (message.to === 2) follower.step(message)
    follower.step({
      groupId: testGroupId,
      from: 1,
      to: 2,
      term,
      type: 'heartbeat',
      commit: 0,
      readRound: 0,
    })
    assert.deepEqual(types(follower.takeSendable()), ['heartbeat-response'])
    follower.advance(followerReady)
    const next = follower.ready()
    assert.ok(next !== null && next.mustSync, 'b is persisted by the next Ready')
    assert.deepEqual(types(next.messages), ['append-response'])
  })

  test('nothing goes while a new term or vote is not persisted', () => {
    const network = elected()
    const voter = network.node(3).raft
    const term = voter.status().term
    voter.step({
      groupId: testGroupId,
      from: 2,
      to: 3,
      term: term + 1,
      type: 'vote',
      lastLogIndex: 1000,
      lastLogTerm: term,
      transfer: true,
    })
    assert.deepEqual(voter.takeSendable(), [])
    const ready = voter.ready()
    assert.ok(ready !== null && ready.mustSync)
    assert.deepEqual(ready.hardState, { term: term + 1, vote: 2, commit: ready.hardState?.commit })
    assert.deepEqual(types(ready.messages), ['vote-response'])
  })
})
