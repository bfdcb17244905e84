import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encodeKvQuery } from './kv-state-machine.js'
import type { ReplicaResult } from './types.js'
import { TestCluster, kvReply, testTickMs } from './test-support.js'

describe("replica host: readMode 'lease'", () => {
  it('the leader answers a read at once while its lease holds, with no round trip', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { readMode: 'lease' } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: '1' })
    cluster.time.advance(3 * testTickMs) // heartbeats acknowledged: the lease is established
    const delivered = cluster.delivered.length
    const results: ReplicaResult[] = []
    cluster.host(leader).read(encodeKvQuery({ op: 'get', key: 'a' }), (r) => results.push(r))
    cluster.time.drain()
    assert.equal(results.length, 1)
    assert.deepEqual(kvReply(results[0] as ReplicaResult), { op: 'get', value: '1' })
    assert.equal(cluster.delivered.length, delivered, 'no message was needed')
  })

  it('a partitioned leader stops serving reads once its lease runs out', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { readMode: 'lease' } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: 'old' })
    cluster.isolate(leader)
    // The others elect a leader only once the old leader's lease can no longer hold.
    const others = [1, 2, 3].filter((id) => id !== leader)
    cluster.until(() => others.some((id) => cluster.host(id).status().role === 'leader'))
    const next = others.find((id) => cluster.host(id).status().role === 'leader') ?? 0
    cluster.write(next, 2, 1, { op: 'put', key: 'a', value: 'new' })
    const stale = cluster.call((done) =>
      cluster.host(leader).read(encodeKvQuery({ op: 'get', key: 'a' }), done),
    )
    assert.equal(stale.ok, false, 'the old leader never answers the stale value')
    assert.deepEqual(kvReply(cluster.read(next, 'a')), { op: 'get', value: 'new' })
  })

  it('followers read through the leader in lease mode too', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: { readMode: 'lease' } })
    const leader = cluster.leader()
    cluster.write(leader, 1, 1, { op: 'put', key: 'a', value: 'v' })
    const follower = [1, 2, 3].find((id) => id !== leader) ?? 0
    cluster.until(() => cluster.host(follower).status().leaderId === leader)
    assert.deepEqual(kvReply(cluster.read(follower, 'a')), { op: 'get', value: 'v' })
  })
})
