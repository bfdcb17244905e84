/* Options of one Raft group member and their named defaults (the bounds of every queue and window
 * the core keeps). Invariant: a resolved config satisfies 0 < heartbeatTicks < electionTicks, has
 * positive bounds, and lease reads only with CheckQuorum; checked once at construction. */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/ports.js'
import type { RaftStorage } from './storage.js'
import type { GroupId, NodeId } from './types.js'

export const raftDefaults = {
  /** A follower campaigns after a random timeout in [electionTicks, 2 * electionTicks). */
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  /** Entry bytes per append message (one entry always fits, however large). */
  messageBytesMax: 1024 * 1024,
  /** Appends in flight per follower in the replicate state, by count and by bytes. */
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  /** Proposed but uncommitted bytes before propose() answers 'too-many-uncommitted'. */
  uncommittedBytesMax: 64 * 1024 * 1024,
  /** Committed entry bytes handed out for applying in one Ready. */
  applyBytesMax: 64 * 1024 * 1024,
  /** Bytes of snapshot per InstallSnapshot chunk. */
  snapshotChunkBytes: 1024 * 1024,
  /** The largest snapshot a follower accepts (it is assembled in memory before restoring). */
  snapshotBytesMax: 1024 * 1024 * 1024,
  /**
   * 'safe': every linearizable read waits for a heartbeat round a quorum confirms (ReadIndex).
   * 'lease-based': the leader answers at once while its lease holds (see lease.ts); needs
   * checkQuorum, and assumes bounded clock drift (leaseDriftTicks).
   */
  readOnly: 'safe' as ReadOnlyOption,
  /**
   * The lease is this many ticks shorter than the election timeout. CLOCK-DRIFT ASSUMPTION: over
   * one election timeout no node ticks more than leaseDriftTicks - 1 times beyond the leader (one
   * tick goes to quantization). 2 allows 10% drift with the default electionTicks of 10.
   */
  leaseDriftTicks: 2,
  /** ReadIndex requests waiting for confirmation (or a first commit) before new ones drop. */
  pendingReadsMax: 10_000,
} as const

export type ReadOnlyOption = 'safe' | 'lease-based'

export interface RaftOptions {
  readonly groupId: GroupId
  readonly id: NodeId
  /** The voters as of the applied index (a node joining as a learner may know none yet). */
  readonly voters: readonly NodeId[]
  /** The learners as of the applied index; defaults to none. */
  readonly learners?: readonly NodeId[]
  readonly storage: RaftStorage
  readonly rng: Rng
  /** The state machine has applied up to here (restart); defaults to 0. */
  readonly applied?: number
  readonly electionTicks?: number
  readonly heartbeatTicks?: number
  readonly preVote?: boolean
  readonly checkQuorum?: boolean
  readonly readOnly?: ReadOnlyOption
  readonly leaseDriftTicks?: number
  readonly messageBytesMax?: number
  readonly inflightMessagesMax?: number
  readonly inflightBytesMax?: number
  readonly uncommittedBytesMax?: number
  readonly applyBytesMax?: number
  readonly pendingReadsMax?: number
  readonly snapshotChunkBytes?: number
  readonly snapshotBytesMax?: number
}

export interface RaftConfig {
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly readOnly: ReadOnlyOption
  readonly leaseDriftTicks: number
  readonly messageBytesMax: number
  readonly inflightMessagesMax: number
  readonly inflightBytesMax: number
  readonly uncommittedBytesMax: number
  readonly applyBytesMax: number
  readonly pendingReadsMax: number
  readonly snapshotChunkBytes: number
  readonly snapshotBytesMax: number
}

export function resolveRaftConfig(options: RaftOptions): RaftConfig {
  const config: RaftConfig = {
    electionTicks: options.electionTicks ?? raftDefaults.electionTicks,
    heartbeatTicks: options.heartbeatTicks ?? raftDefaults.heartbeatTicks,
    preVote: options.preVote ?? raftDefaults.preVote,
    checkQuorum: options.checkQuorum ?? raftDefaults.checkQuorum,
    readOnly: options.readOnly ?? raftDefaults.readOnly,
    leaseDriftTicks: options.leaseDriftTicks ?? raftDefaults.leaseDriftTicks,
    messageBytesMax: options.messageBytesMax ?? raftDefaults.messageBytesMax,
    inflightMessagesMax: options.inflightMessagesMax ?? raftDefaults.inflightMessagesMax,
    inflightBytesMax: options.inflightBytesMax ?? raftDefaults.inflightBytesMax,
    uncommittedBytesMax: options.uncommittedBytesMax ?? raftDefaults.uncommittedBytesMax,
    applyBytesMax: options.applyBytesMax ?? raftDefaults.applyBytesMax,
    pendingReadsMax: options.pendingReadsMax ?? raftDefaults.pendingReadsMax,
    snapshotChunkBytes: options.snapshotChunkBytes ?? raftDefaults.snapshotChunkBytes,
    snapshotBytesMax: options.snapshotBytesMax ?? raftDefaults.snapshotBytesMax,
  }
  assert(config.heartbeatTicks > 0, 'heartbeatTicks > 0')
  assert(config.electionTicks > config.heartbeatTicks, 'electionTicks > heartbeatTicks')
  assert(config.messageBytesMax > 0 && config.applyBytesMax > 0, 'byte bounds are positive')
  assert(config.inflightMessagesMax > 0 && config.inflightBytesMax > 0, 'in-flight bounds')
  assert(config.uncommittedBytesMax > 0 && config.pendingReadsMax > 0, 'queue bounds')
  assert(config.snapshotChunkBytes > 0 && config.snapshotBytesMax > 0, 'snapshot bounds')
  if (config.readOnly === 'lease-based') {
    assert(config.checkQuorum, "readOnly 'lease-based' requires checkQuorum: true")
    assert(
      Number.isSafeInteger(config.leaseDriftTicks) &&
        config.leaseDriftTicks >= 1 &&
        config.leaseDriftTicks < config.electionTicks,
      'leaseDriftTicks is an integer in [1, electionTicks)',
    )
  }
  assert(Number.isSafeInteger(options.id) && options.id > 0, 'node ids are positive integers')
  return config
}
