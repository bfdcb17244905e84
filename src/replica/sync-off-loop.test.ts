/* The host with syncOffLoop (cluster nodes): while a node's fdatasync is still running, its
 * heartbeats and heartbeat answers go on (no election for a slow disk), but its acknowledgements
 * of entries wait for the sync, so a write commits only on a quorum of synced logs, and a node
 * applies only entries its own log has synced. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { BlockFile } from '../core/ports.js'
import type { ReplicaResult } from './types.js'
import {
  leaderAmong as leaderOf,
  putKv,
  runTicks as run,
  startDiskGroup,
} from '../../test/helpers/replica-group.js'
import { MemDisk, kvReply } from './test-support.js'

/** A MemDisk whose syncs hang while `held` (the bytes become durable only on release). */
class SlowDisk extends MemDisk {
  held = false
  #waiting: (() => void)[] = []

  override openSync(path: string, mode: 'read' | 'append'): BlockFile {
    const file = super.openSync(path, mode)
    return {
      ...file,
      sync: () => {
        if (!this.held) return file.sync()
        return new Promise<void>((resolve) => this.#waiting.push(() => resolve(file.sync())))
      },
    }
  }

  release(): void {
    this.held = false
    for (const resume of this.#waiting.splice(0)) resume()
  }
}

describe('replica host with the fdatasync off the loop', () => {
  it('followers whose syncs hang keep the leader (heartbeats flow) but ack nothing', async () => {
    const { cluster, disks } = await startDiskGroup(() => new SlowDisk())
    const leader = leaderOf(cluster, [1, 2, 3])
    assert.ok(leader !== null)
    const term = cluster.host(leader).status().term
    const followers = [1, 2, 3].filter((id) => id !== leader)
    for (const id of followers) {
      const disk = disks.get(id)
      assert.ok(disk !== undefined)
      disk.held = true
    }
    const results = putKv(cluster, leader, 1, 'k')
    await run(cluster, 3000) // three election timeouts and more
    assert.equal(results.length, 0, 'no quorum has synced the entry: not acknowledged')
    for (const id of [1, 2, 3]) assert.equal(cluster.host(id).status().term, term)
    assert.equal(leaderOf(cluster, [1, 2, 3]), leader)
    for (const id of followers) disks.get(id)?.release()
    await run(cluster, 200)
    assert.equal(results.length, 1)
    assert.deepEqual(kvReply(results[0] as ReplicaResult), { op: 'put' })
  })

  it('a leader whose sync hangs commits on its synced followers, with no election', async () => {
    const { cluster, disks } = await startDiskGroup(() => new SlowDisk())
    const leader = leaderOf(cluster, [1, 2, 3])
    assert.ok(leader !== null)
    const { term, commitIndex } = cluster.host(leader).status()
    const slow = disks.get(leader)
    assert.ok(slow !== undefined)
    slow.held = true
    const results = putKv(cluster, leader, 1, 'k')
    await run(cluster, 3000)
    // Its appends went out before its own sync: the followers' acks commit the entry...
    assert.ok(cluster.host(leader).status().commitIndex > commitIndex)
    // ...but it applies (and answers) only entries in its own durable log.
    assert.equal(results.length, 0)
    for (const id of [1, 2, 3]) assert.equal(cluster.host(id).status().term, term)
    slow.release()
    await run(cluster, 200)
    assert.equal(results.length, 1)
    assert.deepEqual(kvReply(results[0] as ReplicaResult), { op: 'put' })
    assert.equal(cluster.machine(leader).get('k'), 'v')
  })
})
