/* A caskade node's `INFO raft` fields (cluster-design.md section 4) as a typed status, for the
 * bench harness to find the leader and see a node catch up. Pure. Invariant: a missing or
 * malformed field reads as null (a node in the middle of starting), never as 0 or "". */

export interface RaftStatus {
  role: string | null
  nodeId: string | null
  term: number | null
  leaderId: string | null
  /** The leader's client address, host:port. */
  leaderAddr: string | null
  commitIndex: number | null
  appliedIndex: number | null
  members: number | null
}

function integerField(fields: ReadonlyMap<string, string>, name: string): number | null {
  const text = fields.get(name)
  if (text === undefined || !/^\d+$/.test(text.trim())) return null
  const value = Number(text)
  return Number.isSafeInteger(value) ? value : null
}

function textField(fields: ReadonlyMap<string, string>, name: string): string | null {
  const text = fields.get(name)?.trim()
  return text === undefined || text.length === 0 ? null : text
}

export function raftStatusOf(fields: ReadonlyMap<string, string>): RaftStatus {
  return {
    role: textField(fields, 'role'),
    nodeId: textField(fields, 'node_id'),
    term: integerField(fields, 'term'),
    leaderId: textField(fields, 'leader_id'),
    leaderAddr: textField(fields, 'leader_addr'),
    commitIndex: integerField(fields, 'commit_index'),
    appliedIndex: integerField(fields, 'applied_index'),
    members: integerField(fields, 'members'),
  }
}

/** A follower has caught up when it has applied everything the leader had committed. */
export function caughtUp(follower: RaftStatus, leader: RaftStatus): boolean {
  if (follower.appliedIndex === null || leader.commitIndex === null) return false
  return follower.appliedIndex >= leader.commitIndex
}
