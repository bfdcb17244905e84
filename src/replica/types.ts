/* The contract of the replica host: one node's member of one Raft group, driving the pure core's
 * Ready loop (persist -> send -> apply -> advance) over the ports. The simulator runs this same
 * host on simulated ports; the server will run it on real ones. Plain types only. */
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import type { MembershipChange } from '../raft/index.js'
import type { Entry, GroupId, Membership, NodeId, RaftMessage, Role } from '../raft/types.js'

/**
 * The replicated state machine. Deterministic: the same commands in the same order give the same
 * state and replies on every node (no clock, no randomness: a command is already an effect).
 */
export interface StateMachine {
  /**
   * Applies one committed command; returns its reply. `index` is its Raft log index (increasing
   * across calls; a state machine may seed its randomness from it or remember it per key).
   */
  apply(command: Uint8Array, index: number): Uint8Array
  /** Answers a read-only query from the current state (the host decides when that is safe). */
  query(query: Uint8Array): Uint8Array
  /** The whole state, for a Raft snapshot. */
  snapshot(): Uint8Array
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void
  /**
   * Snapshots as files (the storage engine's frozen segments) instead of snapshot()/restore()
   * bytes: the host captures and installs them asynchronously, off the event loop.
   */
  readonly files?: FileSnapshots
}

/** A state machine whose snapshot is files (the storage engine's frozen segments), not bytes. */
export interface FileSnapshots {
  /**
   * Freezes the state as applied now (through the last applied index); resolves with the
   * snapshot's descriptor (small opaque bytes naming the files and carrying the machine's other
   * state) once the files are durable. Applying goes on meanwhile. Rejects: no snapshot made.
   */
  capture(): Promise<Uint8Array>
  /**
   * Replaces the state by the one `descriptor` describes, fetching missing files from `source`
   * in chunks (bounded in flight); resolves once the state is the snapshot's. Rejects with the
   * state unchanged when the files cannot be had (source gone, snapshot deleted there).
   */
  install(descriptor: Uint8Array, source: NodeId): Promise<void>
  /** True iff the machine holds exactly this snapshot's state (opened from it, nothing applied). */
  holds(descriptor: Uint8Array): boolean
  /**
   * The snapshots the host still needs (the log's current one, the one being sent...): files of
   * other snapshots may be deleted (the machine may keep recently served ones a while).
   */
  retain(descriptors: readonly Uint8Array[]): void
}

/** How linearizable reads are served. */
export type ReadMode =
  /** ReadIndex: the leader confirms its leadership with a quorum round before answering. */
  | 'read-index'
  /** Leader lease (needs CheckQuorum; assumes clock drift between nodes below the lease margin). */
  | 'lease'

export interface ReplicaOptions {
  readonly groupId: GroupId
  readonly id: NodeId
  /** The data directory of this replica (Raft log, hard state, snapshots). */
  readonly dir: string
  readonly disk: Disk
  readonly clock: Clock
  readonly timers: Timers
  readonly rng: Rng
  /** Initial voters when bootstrapping a new group (ignored when the directory holds state). */
  readonly voters: readonly NodeId[]
  readonly learners?: readonly NodeId[]
  readonly stateMachine: StateMachine
  /** Sends one message towards its `to` node (unreliable: may drop, delay, duplicate, reorder). */
  readonly send: (message: RaftMessage) => void
  /** Milliseconds per Raft tick (the election timeout is electionTicks of these). */
  readonly tickMs: number
  readonly electionTicks?: number
  readonly heartbeatTicks?: number
  readonly readMode?: ReadMode
  /**
   * readMode 'lease' only: the lease is this many ticks shorter than the election timeout, the
   * clock-drift margin (Raft core default: raftDefaults.leaseDriftTicks).
   */
  readonly leaseDriftTicks?: number
  /** Snapshot the state machine every this many applied entries... */
  readonly snapshotEveryEntries?: number
  /** ...keeping this many entries of log behind the snapshot for slow followers. */
  readonly logTailEntries?: number
  /** Client sessions remembered for exactly-once writes (the oldest is evicted beyond this). */
  readonly sessionsMax?: number
  /**
   * fdatasync the log on the disk's own thread (BlockFile.sync) while the loop keeps stepping,
   * ticking and sending heartbeats; default false: syncSync inside the turn (harnesses that
   * never yield to promise continuations need that).
   */
  readonly syncOffLoop?: boolean
  /** TEST ONLY: the leader answers reads from local state without ReadIndex or lease (broken). */
  readonly unsafeLocalReads?: boolean
  /** Observer of every applied entry (the simulator's State Machine Safety check). */
  readonly onApplied?: (entry: Entry) => void
  /** Observer of role and membership changes (logs). */
  readonly onEvent?: (event: ReplicaEvent) => void
}

export type ReplicaEvent =
  | { readonly kind: 'role'; readonly role: Role; readonly term: number; readonly leaderId: NodeId }
  | { readonly kind: 'membership'; readonly membership: Membership }
  | { readonly kind: 'snapshot-saved'; readonly index: number }
  | { readonly kind: 'snapshot-restored'; readonly index: number }
  /**
   * A file snapshot's install failed (files not to be had from `source`): nothing was persisted
   * and the core was rebuilt from disk, so its commit index is the durable one again (lower).
   */
  | { readonly kind: 'snapshot-install-failed'; readonly index: number; readonly source: NodeId }

/** A write as a client sends it: retries reuse the same (clientId, sequence), applied once. */
export interface WriteRequest {
  /** A client session id, unique per client (e.g. random 53-bit). */
  readonly clientId: number
  /** Increases by one per new write of that client; a retry repeats it. */
  readonly sequence: number
  /**
   * Every sequence <= this has had its reply delivered (the lowest sequence without one, minus
   * one): the session then forgets their replies. At most sessionRepliesMax below `sequence`.
   */
  readonly ackedThrough: number
  readonly command: Uint8Array
}

export type ReplicaFailure =
  /** Not the leader: retry at `leaderId` (noNode = unknown). */
  | { readonly ok: false; readonly error: 'not-leader'; readonly leaderId: NodeId }
  /** Accepted but its fate is unknown (leadership lost before commit, or the host stopped). */
  | { readonly ok: false; readonly error: 'unknown' }
  /**
   * Refused before anything happened (queue full, leadership transfer in progress, a write more
   * than sessionRepliesMax above its ackedThrough).
   */
  | { readonly ok: false; readonly error: 'busy' }
  /**
   * A write at or below its session's ackedThrough (a correct client never sends one): its reply
   * is gone and it was not applied now, but an earlier copy may have been.
   */
  | { readonly ok: false; readonly error: 'stale' }
  /** Refused for good, nothing applied: a membership change that does not apply. */
  | { readonly ok: false; readonly error: 'refused'; readonly reason: string }

export type ReplicaResult = { readonly ok: true; readonly reply: Uint8Array } | ReplicaFailure

export interface ReplicaStatus {
  readonly id: NodeId
  readonly role: Role
  readonly term: number
  readonly leaderId: NodeId
  readonly commitIndex: number
  readonly appliedIndex: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly membership: Membership
}

/** What the simulator's invariant checks read (never used on a hot path). */
export interface ReplicaInspection extends ReplicaStatus {
  /** The log held in memory, from the first index after the snapshot to the last. */
  readonly entries: readonly Entry[]
  /** Term of the snapshot's last entry (0: none). */
  readonly snapshotTerm: number
}

export interface ReplicaHost {
  readonly id: NodeId
  /** Recovers from `dir` (or bootstraps) and starts ticking. */
  start(): void
  /** Stops timers and answers every pending request 'unknown'; durable state stays in `dir`. */
  stop(): void
  /** A message from the network. */
  receive(message: RaftMessage): void
  /** Proposes a write; `done` runs once it is applied (with the reply) or known not to be. */
  write(request: WriteRequest, done: (result: ReplicaResult) => void): void
  /** A linearizable read (per readMode); `done` gets the state machine's answer. */
  read(query: Uint8Array, done: (result: ReplicaResult) => void): void
  changeMembership(change: MembershipChange, done: (result: ReplicaResult) => void): void
  transferLeadership(target: NodeId): boolean
  /** On a leader: the highest log index known to be replicated on `id`; null elsewhere. */
  matchIndexOf(id: NodeId): number | null
  status(): ReplicaStatus
  inspect(): ReplicaInspection
}
