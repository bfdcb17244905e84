import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ReplicaEvent } from './types.js'
import { TestCluster, kvReply } from './test-support.js'

const compacting = { snapshotEveryEntries: 10, logTailEntries: 2 }

function converged(cluster: TestCluster, ids: readonly number[]): boolean {
  const applied = new Set(ids.map((id) => cluster.host(id).status().appliedIndex))
  const digests = new Set(ids.map((id) => cluster.machine(id).digest()))
  return applied.size === 1 && digests.size === 1
}

describe('replica host: snapshots and compaction', () => {
  it('snapshots every N applied entries and keeps only a short tail of log', async () => {
    const events: ReplicaEvent[] = []
    const cluster = new TestCluster({
      ids: [1, 2, 3],
      replica: { ...compacting, onEvent: (event) => events.push(event) },
    })
    const leader = cluster.leader()
    for (let i = 1; i <= 35; i++)
      cluster.write(leader, 1, i, { op: 'put', key: `k${i}`, value: 'v' })
    const status = cluster.host(leader).status()
    assert.ok(status.snapshotIndex >= 30, `snapshot at ${status.snapshotIndex}`)
    const inspection = cluster.host(leader).inspect()
    assert.equal(inspection.entries[0]?.index, status.snapshotIndex + 1)
    assert.ok(events.some((e) => e.kind === 'snapshot-saved'))
    await Promise.resolve() // old files are removed asynchronously
    const files = cluster.disk(leader).listSync(`/data/n${leader}`)
    assert.equal(files.filter((f) => f.startsWith('raft-log-')).length, 1, files.join(' '))
    assert.equal(files.filter((f) => f.startsWith('raft-snap-')).length, 1, files.join(' '))
  })

  it('a node behind the compacted log catches up by InstallSnapshot', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: compacting })
    const leader = cluster.leader()
    const lagging = [1, 2, 3].find((id) => id !== leader) ?? 0
    cluster.isolate(lagging)
    for (let i = 1; i <= 40; i++) {
      cluster.write(leader, 5, i, { op: 'append', key: 'log', value: String(i % 10) })
    }
    assert.ok(cluster.host(leader).status().snapshotIndex > 3)
    cluster.heal()
    cluster.until(() => converged(cluster, [1, 2, 3]))
    assert.ok(cluster.delivered.some((m) => m.type === 'snapshot' && m.to === lagging))
    assert.equal(cluster.machine(lagging).get('log'), cluster.machine(leader).get('log'))
    // Its directory now holds the installed snapshot: a crash and restart keeps the state.
    cluster.crash(lagging)
    cluster.start(lagging)
    assert.ok(cluster.host(lagging).status().snapshotIndex > 3)
    cluster.until(() => converged(cluster, [1, 2, 3]))
    assert.equal(cluster.machine(lagging).get('log'), cluster.machine(leader).get('log'))
    // ...and the session table came with the snapshot: a retry is answered, not re-applied.
    const retry = cluster.write(leader, 5, 40, { op: 'append', key: 'log', value: '0' })
    assert.deepEqual(kvReply(retry), { op: 'append', length: 40 })
  })

  it('restarts from snapshot plus log tail after compaction', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3], replica: compacting })
    const leader = cluster.leader()
    for (let i = 1; i <= 27; i++)
      cluster.write(leader, 2, i, { op: 'put', key: `k${i % 5}`, value: `${i}` })
    cluster.until(() => converged(cluster, [1, 2, 3]))
    const digest = cluster.machine(leader).digest()
    for (const id of [1, 2, 3]) cluster.crash(id)
    for (const id of [1, 2, 3]) cluster.start(id)
    for (const id of [1, 2, 3]) assert.ok(cluster.host(id).status().snapshotIndex > 0)
    const newLeader = cluster.leader()
    cluster.write(newLeader, 2, 28, { op: 'put', key: 'after', value: 'restart' })
    cluster.until(() => converged(cluster, [1, 2, 3]))
    assert.equal(cluster.machine(newLeader).get('k2'), '27')
    assert.notEqual(cluster.machine(newLeader).digest(), digest)
  })

  it('a crash that tears the last log record loses only unacknowledged state', () => {
    const cluster = new TestCluster({ ids: [1, 2, 3] })
    const leader = cluster.leader()
    for (let i = 1; i <= 5; i++)
      cluster.write(leader, 3, i, { op: 'put', key: `k${i}`, value: 'v' })
    // A write proposed but not yet persisted: the crash tears whatever part of it was written.
    const command = new TextEncoder().encode(JSON.stringify({ op: 'put', key: 'torn', value: 'x' }))
    const results: unknown[] = []
    cluster
      .host(leader)
      .write({ clientId: 3, sequence: 6, ackedThrough: 5, command }, (r) => results.push(r))
    cluster.crash(leader, 7)
    assert.deepEqual(results, [{ ok: false, error: 'unknown' }])
    cluster.start(leader)
    const next = cluster.leader()
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(kvReply(cluster.read(next, `k${i}`)), { op: 'get', value: 'v' })
    }
    cluster.until(() => converged(cluster, [1, 2, 3]))
  })
})
