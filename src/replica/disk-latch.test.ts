/* The host latched by a failing disk (an injected MemDisk fault, no real disk): a failed
 * fdatasync or write of its Raft log stops it taking part (no votes, acks or applies), answers
 * every request 'disk' with strerror's text, shows it in status(), and the rest of the group
 * elects another leader and goes on without it. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { BlockFile } from '../core/ports.js'
import type { NodeId } from '../raft/index.js'
import type { ReplicaResult } from './types.js'
import {
  groupIds as ids,
  leaderAmong,
  putKv as put,
  runTicks as run,
  startDiskGroup,
} from '../../test/helpers/replica-group.js'
import { MemDisk, kvReply } from './test-support.js'

const eio = (syscall: string): Error =>
  Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', syscall })

/** A MemDisk whose Raft log files fail their fdatasync (or write) once `failing` is set. */
class FailingDisk extends MemDisk {
  failing: 'sync' | 'write' | null = null

  override openSync(path: string, mode: 'read' | 'append'): BlockFile {
    const file = super.openSync(path, mode)
    return {
      ...file,
      sync: () => (this.failing === 'sync' ? Promise.reject(eio('fdatasync')) : file.sync()),
      appendSync: (data) => {
        if (this.failing === 'write') throw eio('write')
        return file.appendSync(data)
      },
    }
  }
}

const diskRefusal = { ok: false, error: 'disk', reason: 'Input/output error' }

describe('replica host: a failing Raft log latches the host instead of killing the process', () => {
  it('the leader fails an fdatasync: latched, refusing with its strerror; another leads', async () => {
    const { cluster, disks } = await startDiskGroup(() => new FailingDisk())
    const leader = leaderAmong(cluster, ids)
    assert.ok(leader !== null)
    const term = cluster.host(leader).status().term
    disks.get(leader)!.failing = 'sync'
    const inFlight = put(cluster, leader, 1, 'a')
    await run(cluster, 3000)

    // The write's entry went to the followers before the failed sync: its fate is unknown.
    assert.deepEqual(inFlight, [{ ok: false, error: 'unknown' }])
    const latched = cluster.host(leader).status()
    assert.equal(latched.diskError, 'Input/output error')
    assert.equal(latched.role, 'follower')
    assert.equal(latched.term, term, 'a latched host takes part in no election')
    assert.deepEqual(put(cluster, leader, 2, 'b'), [diskRefusal])
    const reads: ReplicaResult[] = []
    cluster.host(leader).read(new TextEncoder().encode('a'), (result) => reads.push(result))
    assert.deepEqual(reads, [diskRefusal])

    const others = ids.filter((id) => id !== leader)
    const next = leaderAmong(cluster, others)
    assert.ok(next !== null, 'the others elect a leader')
    const written = put(cluster, next, 3, 'c')
    await run(cluster, 200)
    assert.deepEqual(kvReply(written[0]!), { op: 'put' })
    for (const id of others) assert.equal(cluster.machine(id).get('c'), 'v')
    assert.equal(cluster.machine(leader).get('c'), null, 'no applies after the latch')
  })

  it('a follower fails a log write: latched; the leader commits on the other follower', async () => {
    const { cluster, disks } = await startDiskGroup(() => new FailingDisk())
    const leader = leaderAmong(cluster, ids)
    assert.ok(leader !== null)
    const [broken, healthy] = ids.filter((id) => id !== leader) as [NodeId, NodeId]
    disks.get(broken)!.failing = 'write'
    const applied = cluster.host(broken).status().appliedIndex
    const written = put(cluster, leader, 1, 'k')
    await run(cluster, 2000)

    assert.deepEqual(kvReply(written[0]!), { op: 'put' })
    assert.equal(cluster.machine(healthy).get('k'), 'v')
    const status = cluster.host(broken).status()
    assert.equal(status.diskError, 'Input/output error')
    assert.equal(status.appliedIndex, applied)
    assert.equal(cluster.machine(broken).get('k'), null)
    assert.equal(leaderAmong(cluster, ids), leader, 'no election: the leader keeps its quorum')
    assert.equal(cluster.host(leader).status().diskError, undefined)
  })
})
