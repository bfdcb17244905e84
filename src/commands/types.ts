/* Contracts between the command layer and its hosts (the server, later the replica). A handler
 * reads args, acts on the keyspace and writes exactly one reply through ctx.reply; it throws a
 * CaskadeError for a user-visible error (dispatch turns it into `-CODE message`). */
import type { Clock, Rng } from '../core/ports.js'
import type { Keyspace } from '../keyspace/types.js'
import type { Watcher } from '../keyspace/watch.js'
import type { ProtocolVersion, ReplyWriter } from '../protocol/types.js'
import type { BlockedClient, BlockingRegistry } from './blocking.js'
import type { PubSubHub } from './pubsub-hub.js'

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'no_multi'
  | 'allow_busy'
  | 'no_async_loading'
  | 'movablekeys'

export interface CommandSpec {
  /** Lowercase, as COMMAND reports it. */
  name: string
  /** Redis convention: N exact (including the name), -N at least N. */
  arity: number
  flags: readonly CommandFlag[]
  /** Key positions as in COMMAND INFO: first, last (-1 = last arg), step; 0,0,0 = no keys. */
  firstKey: number
  lastKey: number
  keyStep: number
  /** For COMMAND DOCS: 'string', 'generic', 'connection', 'server', ... */
  group: string
  summary: string
  since: string
  complexity: string
  /** Container commands (CLIENT, CONFIG, COMMAND) dispatch on args[1]. */
  subcommands?: readonly CommandSpec[]
  handler: (ctx: CommandContext, args: readonly Buffer[]) => void
}

/** Per-connection state that commands read and change. */
export interface ClientSession {
  readonly id: number
  /** "ip:port" of the peer and of our socket. */
  readonly addr: string
  readonly laddr: string
  readonly createdAtMs: number
  name: string | null
  libName: string | null
  libVersion: string | null
  protocol: ProtocolVersion
  /** Set by QUIT: the server closes the connection once this reply is written. */
  closeAfterReply: boolean
  lastCommand: string
  lastInteractionMs: number
  /** CLIENT NO-EVICT ON (flag 'e' in CLIENT LIST); caskade never evicts clients. */
  noEvict?: boolean
  /** CLIENT NO-TOUCH ON (flag 'T'); caskade keeps no access times, so this only reports. */
  noTouch?: boolean
  /** Pub/sub subscriptions (kept by the PubSubHub): CLIENT LIST sub/psub, subscribe mode. */
  subscribedChannels?: number
  subscribedPatterns?: number
  subscribedShardChannels?: number
  /** Bytes of pub/sub messages the hub wrote into this client's replies (dispatch's check). */
  pushedBytes?: number
  /** MULTI/EXEC and WATCH state, created by the first MULTI or WATCH (see transactions.ts). */
  transaction?: TransactionState
  /** Set while a blocking command waits (blocking.ts); CLIENT LIST flag 'b'. */
  blocked?: BlockedClient
}

/** A command queued by MULTI: its spec and its arguments, copied out of the read buffer. */
export interface QueuedCommand {
  readonly spec: CommandSpec
  readonly args: readonly Buffer[]
}

/** One connection's transaction, as Redis's client flags and multiState. */
export interface TransactionState {
  /** Commands queued since MULTI; null outside MULTI (Redis's CLIENT_MULTI). */
  queued: QueuedCommand[] | null
  /** Argument bytes queued, bounded by limits.transactionQueuedBytesMax. */
  queuedBytes: number
  /** A command was refused while queuing: EXEC answers EXECABORT (CLIENT_DIRTY_EXEC). */
  execAbort: boolean
  /** EXEC is running the queue: commands run instead of being queued again. */
  executing: boolean
  /** Watched keys; `watcher.dirty` is CLIENT_DIRTY_CAS. */
  readonly watcher: Watcher
}

export interface ClientKillFilter {
  id?: number
  addr?: string
  laddr?: string
  skipMe: boolean
  /** Legacy form: CLIENT KILL ip:port replies +OK or an error instead of a count. */
  legacy: boolean
}

export interface ConfigRegistry {
  /** CONFIG GET: every (name, value) whose name matches any of the glob patterns. */
  get(patterns: readonly string[]): Array<[string, string]>
  /** CONFIG SET of several pairs, all-or-nothing; throws CaskadeError with Redis's text. */
  set(pairs: ReadonlyArray<[string, string]>): void
}

export type InfoField = [name: string, value: string | number]

export interface ServerHost {
  readonly config: ConfigRegistry
  /** Sessions of every connected client (including the caller). */
  clients(): readonly ClientSession[]
  /** Extra per-client fields for CLIENT LIST (qbuf, omem, ...), rendered as k=v pairs. */
  clientListExtras(client: ClientSession): Array<[string, string | number]>
  /** Closes matching clients after this turn's replies; returns how many matched. */
  killClients(filter: ClientKillFilter, caller: ClientSession): number
  /** INFO sections the host owns: server, clients, memory, persistence, stats. */
  infoSection(section: string): InfoField[] | null
  /** Flushes and fsyncs the engine, replies are NOT sent to the caller (Redis closes), exits. */
  shutdown(options: { abort: boolean }): void
  /** DEBUG SLEEP: blocks the whole server, as Redis does. */
  sleepBlocking(ms: number): void
  /** CONFIG RESETSTAT: resets the host's INFO counters (connections, net bytes, ...). */
  resetStats?(): void
}

export interface CommandContext {
  readonly keyspace: Keyspace
  readonly clock: Clock
  readonly rng: Rng
  readonly reply: ReplyWriter
  readonly client: ClientSession
  readonly host: ServerHost
  /** The server's pub/sub hub; absent where no messaging exists (embedded, some tests). */
  readonly pubsub?: PubSubHub
  /** The server's blocked clients; absent where nothing can block (embedded, some tests). */
  readonly blocking?: BlockingRegistry
}
