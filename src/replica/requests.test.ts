import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encodeKvCommand, encodeKvQuery } from './kv-state-machine.js'
import type { ReplicaResult } from './types.js'
import { TestCluster, kvReply } from './test-support.js'

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ op: 'put', key, value })
const get = (key: string): Uint8Array => encodeKvQuery({ op: 'get', key })

describe('replica host: requests', () => {
  it('group commit: many writes of one turn share one fdatasync', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'warm', value: 'up' })
    const syncsBefore = cluster.disk(leader).syncs
    const results: ReplicaResult[] = []
    for (let i = 0; i < 50; i++) {
      cluster
        .host(leader)
        .write(
          { clientId: 100 + i, sequence: 1, ackedThrough: 0, command: put(`k${i}`, 'v') },
          (r) => results.push(r),
        )
    }
    cluster.until(() => results.length === 50)
    assert.ok(results.every((r) => r.ok))
    assert.equal(cluster.disk(leader).syncs - syncsBefore, 1)
  })

  it('a write pending on a leader that loses its quorum is answered unknown', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    cluster.isolate(leader)
    const result = cluster.call((done) =>
      cluster
        .host(leader)
        .write({ clientId: 1, sequence: 1, ackedThrough: 0, command: put('a', 'b') }, done),
    )
    assert.deepEqual(result, { ok: false, error: 'unknown' })
    assert.notEqual(cluster.host(leader).status().role, 'leader')
    // The others moved on; once healed, the old leader's uncommitted entry is overwritten.
    const next = cluster.leader()
    cluster.write(next, 2, 1, { op: 'put', key: 'a', value: 'new' })
    cluster.heal()
    cluster.until(() => cluster.machine(leader).get('a') === 'new')
    assert.deepEqual(kvReply(cluster.read(leader, 'a')), { op: 'get', value: 'new' })
  })

  it('a read that cannot be confirmed within an election timeout is answered unknown', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { electionTicks: 20 } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: 'b' })
    cluster.isolate(leader)
    const result = cluster.call((done) => cluster.host(leader).read(get('a'), done))
    assert.deepEqual(result, { ok: false, error: 'unknown' })
  })

  it('a read with no leader known is refused at once', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const results: ReplicaResult[] = []
    cluster.host(1).read(get('a'), (r) => results.push(r))
    assert.deepEqual(results, [{ ok: false, error: 'not-leader', leaderId: 0 }])
  })

  it('writes are refused busy while leadership is being transferred', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    const target = [1, 2, 3].find((id) => id !== leader) ?? 0
    assert.ok(cluster.host(leader).transferLeadership(target))
    const results: ReplicaResult[] = []
    cluster
      .host(leader)
      .write({ clientId: 1, sequence: 1, ackedThrough: 0, command: put('a', 'b') }, (r) =>
        results.push(r),
      )
    assert.deepEqual(results, [{ ok: false, error: 'busy' }])
    cluster.until(() => cluster.host(target).status().role === 'leader')
    assert.deepEqual(kvReply(cluster.write(target, 1, 1, { op: 'put', key: 'a', value: 'b' })), {
      op: 'put',
    })
  })

  it('unsafeLocalReads answers from local state without a quorum (the broken mode)', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { unsafeLocalReads: true } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: 'old' })
    cluster.isolate(leader)
    const results: ReplicaResult[] = []
    cluster.host(leader).read(get('a'), (r) => results.push(r))
    assert.equal(results.length, 1, 'answered at once, without any round trip')
    assert.deepEqual(kvReply(results[0] as ReplicaResult), { op: 'get', value: 'old' })
  })

  it('evicts the least recently written session beyond sessionsMax, the same on every node', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { sessionsMax: 2 } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'append', key: 'a', value: 'x' })
    cluster.write(leader, 2, 1, { op: 'append', key: 'a', value: 'y' })
    cluster.write(leader, 3, 1, { op: 'append', key: 'a', value: 'z' }) // evicts client 1
    // Client 1's retry is no longer recognised: it is applied again (the documented bound).
    cluster.write(leader, 1, 1, { op: 'append', key: 'a', value: 'x' })
    // Client 3 is still remembered.
    cluster.write(leader, 3, 1, { op: 'append', key: 'a', value: 'z' })
    assert.deepEqual(kvReply(cluster.read(leader, 'a')), { op: 'get', value: 'xyzx' })
  })
})
