/* The replica host's defaults and resolved settings. Invariant: a resolved config has positive
 * bounds and a known read mode, checked once when the host is created ('lease' maps to the Raft
 * core's readOnly 'lease-based', which itself requires CheckQuorum). */
import { assert } from '../core/assert.js'
import { raftDefaults } from '../raft/index.js'
import type { ReadMode, ReplicaOptions } from './types.js'

export const replicaDefaults = {
  readMode: 'read-index',
  /** Applied entries between snapshots. */
  snapshotEveryEntries: 10_000,
  /** Entries kept behind a snapshot, so a follower slightly behind still catches up by log. */
  logTailEntries: 1_000,
  sessionsMax: 10_000,
  /** Writes and membership changes awaiting their entry's apply before 'busy'. */
  pendingProposalsMax: 10_000,
  /** Reads awaiting confirmation or apply before 'busy'. */
  pendingReadsMax: 10_000,
  /** Ready rounds handled per turn before yielding to the event loop (the rest is deferred). */
  readyRoundsPerTurn: 64,
} as const

export interface ReplicaConfig {
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly readMode: ReadMode
  readonly snapshotEveryEntries: number
  readonly logTailEntries: number
  readonly sessionsMax: number
}

export function resolveReplicaConfig(options: ReplicaOptions): ReplicaConfig {
  const config: ReplicaConfig = {
    electionTicks: options.electionTicks ?? raftDefaults.electionTicks,
    heartbeatTicks: options.heartbeatTicks ?? raftDefaults.heartbeatTicks,
    readMode: options.readMode ?? replicaDefaults.readMode,
    snapshotEveryEntries: options.snapshotEveryEntries ?? replicaDefaults.snapshotEveryEntries,
    logTailEntries: options.logTailEntries ?? replicaDefaults.logTailEntries,
    sessionsMax: options.sessionsMax ?? replicaDefaults.sessionsMax,
  }
  assert(options.tickMs > 0, 'tickMs > 0')
  assert(config.snapshotEveryEntries > 0, 'snapshotEveryEntries > 0')
  assert(config.logTailEntries >= 0, 'logTailEntries >= 0')
  assert(config.readMode === 'read-index' || config.readMode === 'lease', 'a known readMode')
  return config
}
