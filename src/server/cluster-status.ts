/* What a cluster node reports about itself: the INFO raft fields (design note section 4), INFO
 * replication in Redis's shape, and the RAFT NODES rows. Pure functions of a status snapshot, so
 * every view (INFO, RAFT STATUS, the status RPC) shows the same numbers. */
import type { InfoField } from '../commands/types.js'
import { noNode, type NodeId } from '../raft/index.js'
import type { NodeAddress } from '../replica/command-entry.js'
import type { ReplicaStatus } from '../replica/types.js'
import type { NodeIdentity } from './cluster-identity.js'

export type ClusterRole = 'leader' | 'follower' | 'candidate' | 'learner'

/** INFO raft, field for field (names as the design note spells them). */
export interface ClusterStatus {
  readonly role: ClusterRole
  readonly node_id: string
  readonly raft_id: number
  readonly term: number
  readonly leader_id: string
  readonly leader_addr: string
  readonly commit_index: number
  readonly applied_index: number
  readonly members: number
  readonly learners: number
  readonly last_index: number
  readonly snapshot_index: number
  /**
   * 'waiting': this node is in no membership it knows of (a new node not contacted yet, or one
   * whose join is still in progress); 'ok': a voter or learner.
   */
  readonly cluster_state: 'ok' | 'waiting'
  /** Only once the Raft log failed a write or fdatasync (strerror's text): the node is latched. */
  readonly disk_error?: string
}

export interface StatusSources {
  readonly identity: NodeIdentity
  readonly replica: ReplicaStatus
  readonly addressBook: ReadonlyMap<NodeId, NodeAddress>
}

function isMember(identity: NodeIdentity, replica: ReplicaStatus): boolean {
  const { voters, learners } = replica.membership
  return voters.includes(identity.id) || learners.includes(identity.id)
}

/** A node outside every membership it knows votes in nothing: it reports as a learner. */
function roleOf(identity: NodeIdentity, replica: ReplicaStatus): ClusterRole {
  if (!isMember(identity, replica)) return 'learner'
  if (replica.membership.learners.includes(identity.id)) return 'learner'
  if (replica.role === 'leader') return 'leader'
  if (replica.role === 'candidate' || replica.role === 'pre-candidate') return 'candidate'
  return 'follower'
}

export function clusterStatusOf(sources: StatusSources): ClusterStatus {
  const { identity, replica, addressBook } = sources
  const leader = replica.leaderId === noNode ? undefined : addressBook.get(replica.leaderId)
  const leaderName = replica.leaderId === identity.id ? identity.name : (leader?.name ?? '')
  const leaderAddr =
    replica.leaderId === identity.id
      ? `${addressBook.get(identity.id)?.host ?? identity.host}:${identity.port}`
      : leader === undefined
        ? ''
        : `${leader.host}:${leader.port}`
  return {
    role: roleOf(identity, replica),
    node_id: identity.name,
    raft_id: identity.id,
    term: replica.term,
    leader_id: leaderName,
    leader_addr: leaderAddr,
    commit_index: replica.commitIndex,
    applied_index: replica.appliedIndex,
    members: replica.membership.voters.length,
    learners: replica.membership.learners.length,
    last_index: replica.lastIndex,
    snapshot_index: replica.snapshotIndex,
    cluster_state: isMember(identity, replica) ? 'ok' : 'waiting',
    ...(replica.diskError === undefined ? {} : { disk_error: replica.diskError }),
  }
}

export function raftInfoFields(status: ClusterStatus): InfoField[] {
  return Object.entries(status) as InfoField[]
}

/** INFO replication as Redis writes it: a master lists its slaves, a slave names its master. */
export function replicationInfoFields(
  sources: StatusSources & { matchIndexOf(id: NodeId): number | null },
): InfoField[] {
  const status = clusterStatusOf(sources)
  const { replica, addressBook, identity } = sources
  if (status.role === 'leader') {
    const others = [...replica.membership.voters, ...replica.membership.learners].filter(
      (id) => id !== identity.id,
    )
    const fields: InfoField[] = [
      ['role', 'master'],
      ['connected_slaves', others.length],
    ]
    others.forEach((id, i) => {
      const address = addressBook.get(id)
      const offset = sources.matchIndexOf(id) ?? 0
      const state = offset >= replica.commitIndex ? 'online' : 'wait_bgsave'
      fields.push([
        `slave${i}`,
        `ip=${address?.host ?? '?'},port=${address?.port ?? 0},state=${state},` +
          `offset=${offset},lag=${Math.max(0, replica.lastIndex - offset)}`,
      ])
    })
    return [...fields, ...offsetFields(replica.commitIndex)]
  }
  const [host, port] = splitAddress(status.leader_addr)
  return [
    ['role', 'slave'],
    ['master_host', host],
    ['master_port', port],
    ['master_link_status', status.leader_addr === '' ? 'down' : 'up'],
    ['master_last_io_seconds_ago', status.leader_addr === '' ? -1 : 0],
    ['master_sync_in_progress', 0],
    ['slave_read_repl_offset', replica.appliedIndex],
    ['slave_repl_offset', replica.appliedIndex],
    ['slave_priority', 100],
    ['slave_read_only', 1],
    ['replica_announced', 1],
    ['connected_slaves', 0],
    ...offsetFields(replica.appliedIndex),
  ]
}

function offsetFields(offset: number): InfoField[] {
  return [
    ['master_failover_state', 'no-failover'],
    ['master_repl_offset', offset],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
    ['repl_backlog_size', 0],
    ['repl_backlog_first_byte_offset', 0],
    ['repl_backlog_histlen', 0],
  ]
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':')
  if (colon < 0) return ['', 0]
  return [address.slice(0, colon), Number(address.slice(colon + 1))]
}

/** RAFT NODES: [name, raftId, "host:port", "host:clusterPort", "voter"|"learner"] per member. */
export type RaftNodeRow = [string, number, string, string, 'voter' | 'learner']

export function raftNodeRows(sources: StatusSources): RaftNodeRow[] {
  const { replica, addressBook } = sources
  const row = (id: NodeId, kind: 'voter' | 'learner'): RaftNodeRow => {
    const address = addressBook.get(id)
    if (address === undefined) return ['', id, '', '', kind]
    return [
      address.name,
      id,
      `${address.host}:${address.port}`,
      `${address.host}:${address.clusterPort}`,
      kind,
    ]
  }
  return [
    ...replica.membership.voters.map((id) => row(id, 'voter')),
    ...replica.membership.learners.map((id) => row(id, 'learner')),
  ]
}
