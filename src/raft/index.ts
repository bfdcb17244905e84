/* The public surface of the pure Raft core, for the replica host and the simulator: the core, its
 * options and defaults, the storage port with its in-memory implementation, and the contract types.
 * Everything here is I/O-free; the host drives it through ready()/advance(). */
export { Raft, sendableBeforePersist, type RaftStatus } from './raft.js'
export { raftDefaults, type RaftOptions, type ReadOnlyOption } from './config.js'
export {
  MemoryStorage,
  emptyHardState,
  emptySnapshot,
  entryBytes,
  type RaftStorage,
} from './storage.js'
export {
  applyMembershipChange,
  decodeMembership,
  encodeMembership,
  type MembershipChange,
} from './membership.js'
export * from './types.js'
