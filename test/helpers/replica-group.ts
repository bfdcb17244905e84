/* Test harness for the replica host tests that drive a 3-node TestCluster on their own disks:
 * virtual time a tick at a time with promise continuations (finished syncs, captures, installs)
 * run in between, the group started until it has a leader, and a KV put. Invariant: time moves
 * only inside runTicks. Here, not in src/replica/, because that folder is fenced off timers. */
import type { Disk } from '../../src/core/ports.js'
import type { NodeId } from '../../src/raft/index.js'
import { TestCluster, testTickMs } from '../../src/replica/test-support.js'
import type { ReplicaResult } from '../../src/replica/types.js'

/** Virtual time in ticks, letting promise continuations run in between; stops early once
 * `until` holds. */
export async function runTicks(
  cluster: TestCluster,
  ms: number,
  until?: () => boolean,
): Promise<void> {
  for (let elapsedMs = 0; elapsedMs < ms && until?.() !== true; elapsedMs += testTickMs) {
    cluster.time.advance(testTickMs)
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      cluster.time.drain()
    }
  }
}

export const groupIds: readonly NodeId[] = [1, 2, 3]

export function leaderAmong(cluster: TestCluster, among: readonly NodeId[]): NodeId | null {
  return among.find((id) => cluster.host(id).status().role === 'leader') ?? null
}

/** Nodes 1..3 with syncOffLoop, each on its own disk from `makeDisk`, run until one leads. */
export async function startDiskGroup<D extends Disk>(
  makeDisk: () => D,
): Promise<{ cluster: TestCluster; disks: Map<NodeId, D> }> {
  const disks = new Map(groupIds.map((id) => [id, makeDisk()]))
  const cluster = new TestCluster({
    ids: groupIds,
    disk: (id) => disks.get(id) ?? makeDisk(),
    replica: { syncOffLoop: true },
  })
  for (let i = 0; i < 100 && leaderAmong(cluster, groupIds) === null; i++) {
    await runTicks(cluster, 100)
  }
  return { cluster, disks }
}

/** Writes `key` = 'v' through node `id` as client 5; the results arrive in the returned array. */
export function putKv(
  cluster: TestCluster,
  id: NodeId,
  sequence: number,
  key: string,
): ReplicaResult[] {
  const results: ReplicaResult[] = []
  const command = new TextEncoder().encode(JSON.stringify({ op: 'put', key, value: 'v' }))
  cluster
    .host(id)
    .write({ clientId: 5, sequence, ackedThrough: sequence - 1, command }, (result) =>
      results.push(result),
    )
  return results
}
