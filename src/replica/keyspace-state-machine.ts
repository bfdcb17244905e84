/* The replicated keyspace: the single-node command handlers and keyspace over a Bitcask engine,
 * driven by committed Raft entries (command-entry.ts). Invariant: the same entries in the same
 * order give the same replies and the same snapshot bytes on every node (apply time and Rng come
 * from the entries, never from this node's clock). */
import type { Clock, Disk, Timers } from '../core/ports.js'
import type { PubSubHub } from '../commands/pubsub-hub.js'
import type { ServerHost } from '../commands/types.js'
import type { NodeId } from '../raft/types.js'
import type { HashSeed } from '../storage/half-siphash.js'
import type { NodeAddress } from './command-entry.js'
import type { StateMachine } from './types.js'

export type { NodeAddress } from './command-entry.js'

/** The slice of a pino logger the state machine uses (replica/ may not import obs/). */
export interface StateMachineLogger {
  info(fields: Record<string, unknown>, message: string): void
}

export interface KeyspaceStateMachineOptions {
  readonly disk: Disk
  /** The engine's directory (DIR/cluster/state): wiped at creation and on restore. */
  readonly dir: string
  /** The real clock, for stats only: apply time comes from the entries. */
  readonly clock: Clock
  /** The engine's background work (group commit, reclaiming dropped collections, merge). */
  readonly timers: Timers
  /** The keydir's secret hash key (hosts draw it from a CSPRNG); omitted: a fixed key. */
  readonly hashSeed?: HashSeed
  /** Keyspace notifications and PUBLISH at apply go here (every node's subscribers get them). */
  readonly pubsub?: PubSubHub
  /** The node's server host (CONFIG, INFO ... of commands run inside entries). */
  readonly host?: ServerHost
  readonly logger?: StateMachineLogger
}

export interface KeyspaceStateMachine extends StateMachine {
  /** The apply time: max over applied entries' timeMs (never goes back). */
  readonly appliedTimeMs: number
  /** Every node's address, as replicated by 'address' entries (and snapshots). */
  addressBook(): ReadonlyMap<NodeId, NodeAddress>
  /** Whether a key's TTL is due at `nowMs` (the leader then proposes a 'tick' entry). */
  dueExpiries(nowMs: number): boolean
  /** Closes the engine (no sync needed: the Raft log is the write-ahead log). */
  close(): void
}

/** The factory's shape: async because it opens the engine in `dir`. */
export type CreateKeyspaceStateMachine = (
  options: KeyspaceStateMachineOptions,
) => Promise<KeyspaceStateMachine>
