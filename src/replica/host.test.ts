import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { TestCluster, kvReply } from './test-support.js'

describe('replica host: a 3-node group', () => {
  it('elects one leader and applies a write on every node', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    assert.deepEqual(kvReply(cluster.write(leader, 100, 1, { op: 'put', key: 'k', value: 'v' })), {
      op: 'put',
    })
    cluster.until(() => [1, 2, 3].every((id) => cluster.machine(id).get('k') === 'v'))
    const digests = new Set([1, 2, 3].map((id) => cluster.machine(id).digest()))
    assert.equal(digests.size, 1)
  })

  it('a follower refuses a write and names the leader', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    cluster.until(() => [1, 2, 3].every((id) => cluster.host(id).status().leaderId === leader))
    const follower = [1, 2, 3].find((id) => id !== leader) ?? 0
    const result = cluster.write(follower, 100, 1, { op: 'put', key: 'k', value: 'v' })
    assert.deepEqual(result, { ok: false, error: 'not-leader', leaderId: leader })
  })

  it('serves linearizable reads on the leader and on a follower', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    cluster.write(leader, 100, 1, { op: 'append', key: 'k', value: 'ab' })
    assert.deepEqual(kvReply(cluster.read(leader, 'k')), { op: 'get', value: 'ab' })
    const follower = [1, 2, 3].find((id) => id !== leader) ?? 0
    cluster.until(() => cluster.host(follower).status().leaderId === leader)
    // The follower may not have applied the write yet: ReadIndex makes it wait until it has.
    assert.deepEqual(kvReply(cluster.read(follower, 'k')), { op: 'get', value: 'ab' })
    assert.deepEqual(kvReply(cluster.read(follower, 'missing')), { op: 'get', value: null })
  })

  it('applies a retried write once and answers the retry with the first reply', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    const first = kvReply(cluster.write(leader, 7, 1, { op: 'append', key: 'list', value: 'x' }))
    const retry = kvReply(cluster.write(leader, 7, 1, { op: 'append', key: 'list', value: 'x' }))
    assert.deepEqual(first, { op: 'append', length: 1 })
    assert.deepEqual(retry, { op: 'append', length: 1 })
    const next = kvReply(cluster.write(leader, 7, 2, { op: 'append', key: 'list', value: 'y' }))
    assert.deepEqual(next, { op: 'append', length: 2 })
    const stale = cluster.write(leader, 7, 1, { op: 'append', key: 'list', value: 'x' })
    assert.equal(stale.ok, false)
    assert.equal(!stale.ok && stale.error, 'stale')
    assert.deepEqual(kvReply(cluster.read(leader, 'list')), { op: 'get', value: 'xy' })
  })

  it('two retries of one write in the same turn are applied once', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    const replies: unknown[] = []
    const command = new TextEncoder().encode(JSON.stringify({ op: 'append', key: 'a', value: 'z' }))
    for (let i = 0; i < 2; i++) {
      cluster
        .host(leader)
        .write({ clientId: 9, sequence: 1, ackedThrough: 0, command }, (r) => replies.push(r))
    }
    cluster.until(() => replies.length === 2)
    for (const reply of replies) {
      assert.deepEqual(kvReply(reply as never), { op: 'append', length: 1 })
    }
    assert.deepEqual(kvReply(cluster.read(leader, 'a')), { op: 'get', value: 'z' })
  })

  it('restarts every node from its directory with its state intact', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    for (let i = 1; i <= 20; i++) {
      cluster.write(leader, 1, i, { op: 'append', key: 'log', value: String(i % 10) })
    }
    const term = cluster.host(leader).status().term
    cluster.until(() => [1, 2, 3].every((id) => cluster.host(id).status().appliedIndex >= 21))
    for (const id of [1, 2, 3]) cluster.crash(id)
    for (const id of [1, 2, 3]) cluster.start(id)
    for (const id of [1, 2, 3]) assert.ok(cluster.host(id).status().term >= term)
    const newLeader = cluster.leader()
    assert.deepEqual(kvReply(cluster.read(newLeader, 'log')), {
      op: 'get',
      value: '12345678901234567890',
    })
    // The session table survived too: the last write's retry is still answered from it.
    const retry = kvReply(cluster.write(newLeader, 1, 20, { op: 'append', key: 'log', value: '0' }))
    assert.deepEqual(retry, { op: 'append', length: 20 })
  })

  it('stop() answers pending requests unknown', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    const results: unknown[] = []
    const command = new TextEncoder().encode(JSON.stringify({ op: 'put', key: 'a', value: 'b' }))
    cluster
      .host(leader)
      .write({ clientId: 1, sequence: 1, ackedThrough: 0, command }, (r) => results.push(r))
    cluster
      .host(leader)
      .read(new TextEncoder().encode('{"op":"get","key":"a"}'), (r) => results.push(r))
    cluster.stop(leader)
    assert.deepEqual(results, [
      { ok: false, error: 'unknown' },
      { ok: false, error: 'unknown' },
    ])
  })
})
