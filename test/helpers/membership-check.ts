/* The membership check after a fault scenario that changed membership: every running node's
 * applied membership (RAFT NODES) names exactly the expected members, each once. Invariant: call
 * it only once the nodes applied the same index (runScenarioOn waits for that), so a node that
 * is merely behind is never mistaken for one that disagrees. */
import assert from 'node:assert/strict'
import type { Cluster } from './cluster-process.js'

export interface MembershipExpectation {
  /** The members' names (default: the cluster's members, cluster.names()). */
  members?: readonly string[]
  /** Every member must be a voter (a finished join), and INFO raft counts them. */
  votersOnly?: boolean
}

export async function assertMembershipAgreed(
  cluster: Cluster,
  expectation: MembershipExpectation = {},
): Promise<void> {
  const expected = [...(expectation.members ?? cluster.names())].sort()
  for (const node of cluster.running()) {
    const rows = await cluster.raftNodes(node.name)
    const seen = `${node.name}: RAFT NODES ${JSON.stringify(rows)}`
    assert.deepEqual(rows.map((row) => row.name).sort(), expected, seen)
    if (expectation.votersOnly !== true) continue
    assert.ok(
      rows.every((row) => row.kind === 'voter'),
      seen,
    )
    assert.equal((await cluster.info(node.name)).members, String(expected.length), seen)
  }
}
