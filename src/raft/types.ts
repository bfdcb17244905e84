/* The Raft core's contract: log entries, hard state, the messages peers exchange (every one
 * carries its Raft group id), and the Ready batch the host must persist, send and apply.
 * Invariant: plain data only (no methods), so a host can encode any of it onto disk or wire. */

export type NodeId = number
export type GroupId = number

/** No node: no leader known, no vote cast. Node ids are positive integers. */
export const noNode: NodeId = 0

/** `noop` is the empty entry a new leader appends to commit entries of earlier terms; `config`
 * carries a whole new Membership (it takes effect on every node when applied). */
export type EntryKind = 'command' | 'noop' | 'config'

/** Voters elect and form quorums; learners only receive the log. */
export interface Membership {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

export interface Entry {
  readonly term: number
  readonly index: number
  readonly kind: EntryKind
  /** The command's bytes (owned by the log: callers must not mutate them after proposing). */
  readonly data: Uint8Array
}

/** The state machine as of `index` (whose entry had `term`); the log before it is compacted. */
export interface Snapshot {
  readonly index: number
  readonly term: number
  /** The membership as of `index`. */
  readonly membership: Membership
  /** The state machine's encoding, opaque to Raft (owned by whoever made the snapshot). */
  readonly data: Uint8Array
}

/** What must survive a crash before any message that depends on it is sent. */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader'

/** Volatile state the host may want to observe (leader hints, metrics). */
export interface SoftState {
  readonly leaderId: NodeId
  readonly role: Role
}

interface MessageBase {
  readonly groupId: GroupId
  readonly from: NodeId
  readonly to: NodeId
  /** Sender's term; for a pre-vote request, the term the sender would campaign at. */
  readonly term: number
}

export interface AppendMessage extends MessageBase {
  readonly type: 'append'
  readonly prevLogIndex: number
  readonly prevLogTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}

export interface AppendResponse extends MessageBase {
  readonly type: 'append-response'
  readonly reject: boolean
  /** Accepted: the follower's last index matching the leader. Rejected: the probed prevLogIndex. */
  readonly index: number
  /** Rejected only: the largest index whose term is <= hintTerm (fast backtracking). */
  readonly hintIndex: number
  readonly hintTerm: number
}

export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'pre-vote'
  readonly lastLogIndex: number
  readonly lastLogTerm: number
  /** Set by a leadership transfer: voters ignore their leader lease for this campaign. */
  readonly transfer: boolean
}

export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response' | 'pre-vote-response'
  readonly reject: boolean
}

export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat'
  readonly commit: number
  /** The leader's newest ReadIndex round (0: none); echoed back to confirm leadership. */
  readonly readRound: number
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response'
  readonly readRound: number
}

/** One chunk of InstallSnapshot: bytes [offset, offset + data.length) of `totalBytes`. */
export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot'
  readonly snapshotIndex: number
  readonly snapshotTerm: number
  /** The snapshot's membership (sent with every chunk; the snapshot needs it when complete). */
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
  readonly totalBytes: number
  readonly offset: number
  readonly data: Uint8Array
}

/** A chunk's answer: the follower holds `offset` contiguous bytes of that snapshot (0: restart). */
export interface SnapshotResponse extends MessageBase {
  readonly type: 'snapshot-response'
  readonly snapshotIndex: number
  readonly offset: number
}

/** A leadership transfer: the target campaigns at once, ignoring PreVote and leases. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeout-now'
}

/** A follower forwards a linearizable read to its leader. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index'
  readonly requestId: number
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response'
  readonly requestId: number
  /** The leader's commit index once it confirmed its leadership. */
  readonly index: number
}

export type RaftMessage =
  | AppendMessage
  | AppendResponse
  | VoteMessage
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | SnapshotResponse
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse

export type MessageType = RaftMessage['type']

/** A linearizable read may be served once this node has applied `index`. */
export interface ReadState {
  readonly requestId: number
  readonly index: number
}

/**
 * Work for the host, in order: persist `snapshot`, `hardState` and `entries` (fsync if `mustSync`),
 * restore the state machine from `snapshot` if there is one, then send
 * `messages`, then apply `committed` and serve `readStates`, then call advance(ready).
 */
export interface Ready {
  readonly softState: SoftState | null
  readonly hardState: HardState | null
  /** A snapshot received from the leader: persist it (replacing the log) and restore from it. */
  readonly snapshot: Snapshot | null
  /** Entries to append to stable storage; they may replace a conflicting suffix. */
  readonly entries: readonly Entry[]
  readonly messages: readonly RaftMessage[]
  /** Committed, locally stable entries to apply, in index order. */
  readonly committed: readonly Entry[]
  readonly readStates: readonly ReadState[]
  /** Term, vote, snapshot or entries changed: on stable storage before messages go out. */
  readonly mustSync: boolean
}

/** Outcome of propose(): the entry's position, or why it was not accepted. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeRefusal }

export type ProposeRefusal =
  | 'not-leader'
  | 'transferring'
  | 'too-many-uncommitted'
  /** proposeMembershipChange: the previous change is not applied yet. */
  | 'config-change-pending'
  /** proposeMembershipChange: a learner is promoted only once it has the committed log. */
  | 'learner-behind'
  /** proposeMembershipChange: not a valid change of the current membership. */
  | 'invalid-change'
