/* Lease reads (readOnly 'lease-based') beyond the golden script: the configuration guards, the
 * lease lost for good after a leadership transfer, and a restarted voter keeping the promise it
 * may have made before the crash. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { createRng } from '../core/rng.js'
import { Raft } from './raft.js'
import { MemoryStorage } from './storage.js'
import { TestNetwork, testGroupId, type NodeOptions } from './test-support.js'

const lease: NodeOptions = { readOnly: 'lease-based', electionTicks: 10 }

function leaseNetwork(): TestNetwork {
  const network = new TestNetwork({ count: 3, seed: 1, node: lease })
  network.node(1).raft.campaign()
  network.stabilize()
  network.node(1).raft.tick() // a heartbeat round, acknowledged by both followers
  network.stabilize()
  return network
}

/** Issues a read on `id` and says whether it was answered in the very next Ready. */
function answeredAtOnce(network: TestNetwork, id: number, requestId: number): boolean {
  network.node(id).raft.readIndex(requestId)
  const ready = network.handleReady(id)
  return ready?.readStates.some((read) => read.requestId === requestId) ?? false
}

function newRaft(options: NodeOptions): Raft {
  const storage = new MemoryStorage()
  const rng = createRng(1)
  return new Raft({ ...options, groupId: testGroupId, id: 1, voters: [1, 2, 3], storage, rng })
}

describe('raft lease reads', () => {
  test('lease reads require CheckQuorum and a drift margin inside the election timeout', () => {
    assert.throws(
      () => newRaft({ readOnly: 'lease-based', checkQuorum: false }),
      (error) => error instanceof AssertionError && /requires checkQuorum/.test(error.message),
    )
    assert.throws(() => newRaft({ ...lease, leaseDriftTicks: 0 }), AssertionError)
    assert.throws(() => newRaft({ ...lease, leaseDriftTicks: 10 }), AssertionError)
    assert.equal(newRaft({ ...lease, leaseDriftTicks: 9 }).status().role, 'follower')
    assert.equal(newRaft({ readOnly: 'safe', checkQuorum: false }).status().role, 'follower')
  })

  test('the default safe mode never answers a read without a heartbeat round', () => {
    const network = new TestNetwork({ count: 3, seed: 1, node: {} })
    network.node(1).raft.campaign()
    network.stabilize()
    network.node(1).raft.tick()
    network.stabilize()
    assert.equal(answeredAtOnce(network, 1, 1), false)
    network.stabilize()
    assert.deepEqual(network.node(1).readStates, [{ requestId: 1, index: 1 }])
  })

  test('a leader that sent TimeoutNow serves no more lease reads, even if the transfer fails', () => {
    const network = leaseNetwork()
    assert.equal(answeredAtOnce(network, 1, 1), true)
    network.isolate(2)
    assert.equal(network.node(1).raft.transferLeadership(2), true) // 2 is caught up: TimeoutNow
    network.stabilize()
    network.heal()
    for (let tick = 0; tick < 12; tick++) {
      network.node(1).raft.tick()
      network.stabilize()
    }
    assert.equal(network.node(1).raft.status().role, 'leader')
    assert.equal(network.node(1).raft.status().transferee, 0, 'the transfer was abandoned')
    // The TimeoutNow might still arrive: reads fall back to a confirmed heartbeat round.
    assert.equal(answeredAtOnce(network, 1, 2), false)
    network.stabilize()
    assert.deepEqual(network.node(1).readStates.at(-1), { requestId: 2, index: 1 })
  })

  test('a restarted voter ignores campaigns for an election timeout, then votes', () => {
    const network = leaseNetwork()
    network.restart(2)
    network.isolate(1)
    const candidate = network.node(3).raft
    candidate.campaign()
    network.stabilize()
    assert.equal(candidate.status().role, 'pre-candidate', 'node 2 did not answer')
    for (let tick = 0; tick < 10; tick++) network.node(2).raft.tick()
    candidate.campaign()
    network.stabilize()
    assert.equal(candidate.status().role, 'leader')
  })

  test('a node that never had a term has promised nothing and votes at once', () => {
    const network = new TestNetwork({ count: 3, seed: 1, node: lease })
    network.node(1).raft.campaign()
    network.stabilize()
    assert.deepEqual(network.leaders(), [1])
  })
})
