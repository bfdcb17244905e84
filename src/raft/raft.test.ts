/* Behaviour tests of the Raft core that golden scripts show less directly: the persistence contract
 * of Ready, restarts, batching and flow control, backpressure, transfer abort, group ids, and
 * the Rng. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { createRng } from '../core/rng.js'
import { Raft } from './raft.js'
import { MemoryStorage } from './storage.js'
import { TestNetwork, testGroupId, type NodeOptions } from './test-support.js'

function electedNetwork(count: number, node: NodeOptions = {}): TestNetwork {
  const network = new TestNetwork({ count, seed: 1, node })
  network.node(1).raft.campaign()
  network.stabilize()
  assert.deepEqual(network.leaders(), [1])
  return network
}

describe('raft core', () => {
  test('a vote is persisted, synced, before the message granting it is sent', () => {
    const network = new TestNetwork({ count: 3, seed: 1, node: {} })
    network.node(1).raft.campaign()
    network.handleReady(1) // pre-votes
    for (const message of network.take(() => true)) network.deliver(message)
    network.handleReady(2)
    network.handleReady(3)
    for (const message of network.take(() => true)) network.deliver(message)
    network.handleReady(1) // real votes
    for (const message of network.take((m) => m.to === 2)) network.deliver(message)
    const ready = network.node(2).raft.ready()
    assert.ok(ready !== null)
    assert.deepEqual(ready.hardState, { term: 1, vote: 1, commit: 0 })
    assert.equal(ready.mustSync, true)
    assert.deepEqual(
      ready.messages.map((m) => m.type),
      ['vote-response'],
    )
    network.node(2).raft.advance(ready)
    assert.equal(network.node(2).raft.ready(), null, 'nothing more to do')
  })

  test('a commit-only change is reported without forcing a sync', () => {
    const network = electedNetwork(3)
    network.node(1).raft.propose(Buffer.from('a'))
    network.handleReady(1)
    for (const message of network.take(() => true)) network.deliver(message)
    network.handleReady(2)
    network.handleReady(3)
    for (const message of network.take(() => true)) network.deliver(message)
    const ready = network.node(1).raft.ready()
    assert.ok(ready !== null)
    assert.equal(ready.hardState?.commit, 2)
    assert.equal(ready.entries.length, 0)
    assert.equal(ready.mustSync, false)
    network.node(1).raft.advance(ready)
  })

  test('ready() refuses to run twice without advance()', () => {
    const network = new TestNetwork({ count: 1, seed: 1, node: {} })
    network.node(1).raft.campaign()
    assert.ok(network.node(1).raft.ready() !== null)
    assert.throws(() => network.node(1).raft.ready(), AssertionError)
  })

  test('a single voter elects itself, commits on persist, and serves reads at once', () => {
    const network = new TestNetwork({ count: 1, seed: 1, node: {} })
    const raft = network.node(1).raft
    raft.campaign()
    network.stabilize()
    assert.equal(raft.status().role, 'leader')
    const result = raft.propose(Buffer.from('solo'))
    assert.deepEqual(result, { ok: true, index: 2, term: 1 })
    network.stabilize()
    assert.equal(raft.status().commit, 2)
    raft.readIndex(42)
    network.stabilize()
    assert.deepEqual(network.node(1).readStates, [{ requestId: 42, index: 2 }])
  })

  test('restart of all nodes keeps term, vote and log, and loses no committed entry', () => {
    const network = electedNetwork(3)
    for (const text of ['a', 'b', 'c']) network.node(1).raft.propose(Buffer.from(text))
    network.stabilize()
    const before = network.ids.map((id) => network.node(id).raft.status())
    for (const id of network.ids) network.restart(id)
    for (const [i, id] of network.ids.entries()) {
      const status = network.node(id).raft.status()
      assert.equal(status.term, before[i]?.term)
      assert.equal(status.vote, before[i]?.vote)
      assert.equal(status.lastIndex, 4)
      assert.equal(status.applied, 4, 'the state machine resumes where it was')
    }
    for (let tick = 0; tick < 40 && network.leaders().length === 0; tick++) {
      for (const id of network.ids) network.node(id).raft.tick()
      network.stabilize()
    }
    const [leader] = network.leaders()
    assert.ok(leader !== undefined)
    assert.ok(network.node(leader).raft.propose(Buffer.from('d')).ok)
    network.stabilize()
    for (const id of network.ids) {
      const texts = network
        .node(id)
        .applied.filter((e) => e.kind === 'command')
        .map((e) => Buffer.from(e.data).toString())
      assert.deepEqual(texts, ['a', 'b', 'c', 'd'], 'applied once each, in order')
    }
  })

  test('proposals between two Readies travel in one append per follower', () => {
    const network = electedNetwork(3)
    for (let i = 0; i < 50; i++) network.node(1).raft.propose(Buffer.from(`p${i}`))
    const ready = network.handleReady(1)
    assert.ok(ready !== null)
    const appends = ready.messages.filter((m) => m.type === 'append')
    assert.equal(appends.length, 2)
    for (const append of appends) {
      assert.ok(append.type === 'append')
      assert.equal(append.entries.length, 50)
    }
  })

  test('appends in flight to a silent follower stop at the window bound', () => {
    const network = electedNetwork(3, { inflightMessagesMax: 3 })
    let appendsToTwo = 0
    for (let round = 0; round < 10; round++) {
      network.node(1).raft.propose(Buffer.from(`p${round}`))
      network.handleReady(1)
      for (const message of network.take(() => true)) {
        if (message.to === 2 && message.type === 'append') appendsToTwo++
        if (message.to === 3) network.deliver(message)
      }
      network.handleReady(3)
      for (const message of network.take(() => true)) network.deliver(message)
    }
    assert.equal(appendsToTwo, 3, 'replicate state pipelines at most 3 unacknowledged appends')
    assert.equal(network.node(1).raft.status().commit, 11, 'node 3 keeps the quorum going')
  })

  test('proposals beyond the uncommitted-bytes bound are refused', () => {
    const network = electedNetwork(3, { uncommittedBytesMax: 100 })
    network.isolate(1)
    const results = Array.from({ length: 5 }, () => network.node(1).raft.propose(Buffer.alloc(30)))
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, false, false, false],
    )
    assert.deepEqual(results[2], { ok: false, reason: 'too-many-uncommitted' })
  })

  test('a leadership transfer to an unreachable node is abandoned after an election timeout', () => {
    const network = electedNetwork(3, { electionTicks: 10 })
    network.isolate(2)
    const leader = network.node(1).raft
    assert.equal(leader.transferLeadership(2), true)
    assert.deepEqual(leader.propose(Buffer.from('x')), { ok: false, reason: 'transferring' })
    for (let tick = 0; tick < 10; tick++) {
      leader.tick()
      network.stabilize()
    }
    assert.equal(leader.status().role, 'leader')
    assert.equal(leader.status().transferee, 0)
    assert.equal(leader.propose(Buffer.from('y')).ok, true)
  })

  test('messages of another group are refused', () => {
    const raft = new Raft({
      groupId: testGroupId,
      id: 1,
      voters: [1, 2, 3],
      storage: new MemoryStorage(),
      rng: createRng(1),
    })
    const message = { type: 'heartbeat', groupId: 99, from: 2, to: 1, term: 1 } as const
    assert.throws(() => raft.step({ ...message, commit: 0, readRound: 0 }), AssertionError)
  })

  test('randomized election timeouts come from the injected Rng', () => {
    const firstTimeout = (seed: number): number => {
      const raft = new Raft({
        groupId: 1,
        id: 1,
        voters: [1, 2, 3],
        storage: new MemoryStorage(),
        rng: createRng(seed),
        electionTicks: 10,
      })
      for (let tick = 1; tick <= 20; tick++) {
        raft.tick()
        if (raft.status().role !== 'follower') return tick
      }
      return -1
    }
    const timeouts = [1, 2, 3, 4, 5, 6].map(firstTimeout)
    assert.ok(
      timeouts.every((t) => t >= 10 && t < 20),
      `within [10, 20): ${timeouts.join()}`,
    )
    assert.equal(firstTimeout(3), firstTimeout(3), 'same seed, same timeout')
    assert.ok(new Set(timeouts).size > 1, 'different seeds spread the timeouts')
  })
})
