/* The replicated keyspace: the single-node command handlers and keyspace over a Bitcask engine,
 * driven by committed Raft entries (command-entry.ts). Invariant: the same entries in the same
 * order give the same replies and the same snapshot bytes on every node, restored or not: apply
 * time and Rng come from the entries (never this node's clock), every key expired at the apply
 * time is deleted before and after each entry in (expiry, key) order, random picks depend on the
 * data only (tracked-engine.ts), and a query finds nothing to expire, so it never writes. */
import { createDispatcher, type Dispatcher } from '../commands/dispatch.js'
import { transactionOf } from '../commands/multi-queue.js'
import { PubSubHub } from '../commands/pubsub-hub.js'
import { commandTable } from '../commands/registry.js'
import type { ClientSession, CommandContext, CommandSpec, ServerHost } from '../commands/types.js'
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { createKeyspace, type EngineKeyspace } from '../keyspace/keyspace.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { ProtocolVersion, ReplyWriter } from '../protocol/types.js'
import type { NodeId } from '../raft/types.js'
import { openEngine } from '../storage/engine.js'
import type { HashSeed } from '../storage/half-siphash.js'
import type { StorageEngine } from '../storage/types.js'
import {
  decodeEntry,
  decodeQuery,
  type ExecEntry,
  type NodeAddress,
  type SingleCommandEntry,
  type TickEntry,
} from './command-entry.js'
import { ExpiryQueue } from './expiry-queue.js'
import { decodeDescriptor, isKeyspaceDump } from './keyspace-descriptor.js'
import {
  KeyspaceFiles,
  linkSnapshotFiles,
  liveDirOf,
  pruneSnapshotsDir,
  type CheckpointEngine,
  type FilesMachine,
} from './keyspace-files.js'
import {
  decodeKeyspaceSnapshot,
  encodeKeyspaceSnapshot,
  type KeyspaceMeta,
} from './keyspace-snapshot.js'
import type { FetchChunk } from './snapshot-files-fetch.js'
import type { SnapshotChunkRequest } from './snapshot-files.js'
import { ModifiedKeys, TrackedEngine } from './tracked-engine.js'
import type { StateMachine } from './types.js'

export type { NodeAddress } from './command-entry.js'

/** The slice of a pino logger the state machine uses (replica/ may not import obs/). */
export interface StateMachineLogger {
  info(fields: Record<string, unknown>, message: string): void
}

export interface KeyspaceStateMachineOptions {
  readonly disk: Disk
  /**
   * DIR/cluster/state, wiped at creation; the live engine is in its subdirectory live-<n> (an
   * install opens the next one before closing the old). restore() empties the engine with a
   * FLUSHALL marker instead (synchronous; merge reclaims the dead segments).
   */
  readonly dir: string
  /**
   * DIR/cluster/snapshots: with it (and fetchChunk) the machine has file snapshots (`files`);
   * at creation every snapshot directory there but the descriptor's is deleted.
   */
  readonly snapshotsDir?: string
  /** Opens the machine from this file snapshot (its files must be in snapshotsDir). */
  readonly descriptor?: Uint8Array
  /** How an install pulls a peer's snapshot files (peer RPC 'snapshot-read'). */
  readonly fetchChunk?: FetchChunk
  /** Snapshot and fetch directory names; omitted: a fixed seed. */
  readonly rng?: Rng
  /** The real clock, for stats only: apply time comes from the entries. */
  readonly clock: Clock
  /** The engine's background work (group commit, reclaiming dropped collections, merge). */
  readonly timers: Timers
  /** The keydir's secret hash key (hosts draw it from a CSPRNG); omitted: a fixed key. */
  readonly hashSeed?: HashSeed
  /** Keyspace notifications and PUBLISH at apply go here (every node's subscribers get them). */
  readonly pubsub?: PubSubHub
  /** The node's server host, for the commands in entries that ask it (none by default). */
  readonly host?: ServerHost
  readonly logger?: StateMachineLogger
  /**
   * Called for every key an applied entry writes, and with null after a snapshot is installed
   * (any key may have changed): the node's clients blocked in BLPOP... wait on keys. It must
   * not write to the state machine (it runs inside apply).
   */
  readonly onKeyModified?: (key: Buffer | null) => void
}

export interface KeyspaceStateMachine extends StateMachine {
  /** The apply time: max over applied entries' timeMs (never goes back). */
  readonly appliedTimeMs: number
  /** Every node's address, as replicated by 'address' entries (and snapshots). */
  addressBook(): ReadonlyMap<NodeId, NodeAddress>
  /** Whether a key's TTL is due at `nowMs` (the leader then proposes a 'tick' entry). */
  dueExpiries(nowMs: number): boolean
  /** Keys and keys with a TTL as of the last applied entry (INFO keyspace). */
  keyspaceStats(): { readonly keys: number; readonly keysWithExpiry: number }
  /** Bytes of one of this node's snapshot files for a peer; rejects (refused) without files. */
  readSnapshotChunk(request: SnapshotChunkRequest): Promise<Buffer>
  /** Closes the engine (no sync needed: the Raft log is the write-ahead log). */
  close(): void
}

/** Commands a log entry may carry besides 'write' and 'readonly' ones: their effect or reply is
 * the same on every node (PUBLISH reaches every node's subscribers). Others act on one node. */
const sharedCommands: ReadonlySet<string> = new Set(['publish', 'spublish', 'ping', 'echo', 'time'])

function isReplicable(spec: CommandSpec): boolean {
  return (
    spec.flags.includes('write') || spec.flags.includes('readonly') || sharedCommands.has(spec.name)
  )
}

const okReply = new Uint8Array(Buffer.from('+OK\r\n', 'latin1'))
const lockFilePrefix = 'LOCK'
/** Rotate engine segments at 64 MiB (a snapshot rotates a smaller one: the engine merges those). */
const stateSegmentBytes = 64 * 1024 * 1024
const stateMergeDeadRatio = 0.5
const stateMergeDeadBytesMin = 64 * 1024 * 1024
/** A rebuild of the expiry queue once stale entries outnumber live expiring keys this much. */
const expiryQueueSlack = 1024

/** Timers that never fire: expiry runs only at applied entries, never on this node's clock. */
const inertTimers: Timers = {
  every: () => () => undefined,
  after: () => () => undefined,
  defer: () => undefined,
}

/** A Rng whose sequence is replaced per entry (seeded from the entry's log index). */
class SeededRng implements Rng {
  #rng: Rng = createRng(0)
  reseed(seed: number): void {
    // Both halves of a 53-bit index reach the 32-bit seed.
    this.#rng = createRng((seed % 0x1_0000_0000) ^ Math.floor(seed / 0x1_0000_0000))
  }
  int(bound: number): number {
    return this.#rng.int(bound)
  }
  float(): number {
    return this.#rng.float()
  }
}

/** A host for nodes that give none: no clients, no configuration, nothing per node. */
const detachedHost: ServerHost = {
  config: {
    get: () => [],
    set: () => {
      throw new CaskadeError(ErrorCode.Err, 'CONFIG SET is not available here')
    },
  },
  clients: () => [],
  clientListExtras: () => [],
  killClients: () => 0,
  infoSection: () => null,
  shutdown: () => undefined,
  sleepBlocking: () => undefined,
}

function entrySession(protocol: ProtocolVersion, nowMs: number): ClientSession {
  return {
    id: 0,
    addr: 'replicated-log:0',
    laddr: 'replicated-log:0',
    createdAtMs: nowMs,
    name: null,
    libName: null,
    libVersion: null,
    protocol,
    closeAfterReply: false,
    lastCommand: 'NULL',
    lastInteractionMs: nowMs,
  }
}

/** Empties the engine directory (the engine is rebuilt from the Raft snapshot and log). */
async function wipeStateDir(disk: Disk, dir: string): Promise<void> {
  disk.mkdirp(dir)
  // Held while listing: a live process using this directory makes this throw, not lose data.
  const lock = disk.lockDir(dir)
  let names: string[]
  try {
    names = await disk.list(dir)
  } finally {
    lock.release()
  }
  // Live engine directories (live-<n>) and anything else.
  for (const name of names) {
    if (!name.startsWith(lockFilePrefix)) await disk.remove(`${dir}/${name}`)
  }
}

function openStateEngine(
  options: KeyspaceStateMachineOptions,
  engineDir: string,
): Promise<CheckpointEngine> {
  return openEngine({
    dir: engineDir,
    disk: options.disk,
    clock: options.clock,
    timers: options.timers,
    fsync: 'no', // the Raft log is the write-ahead log
    segmentBytesMax: stateSegmentBytes,
    mergeDeadRatioMin: stateMergeDeadRatio,
    mergeDeadBytesMin: stateMergeDeadBytesMin,
    ...(options.hashSeed === undefined ? {} : { hashSeed: options.hashSeed }),
  })
}

/**
 * Wipes the state directory, then opens the engine empty or, with a descriptor, on hard links of
 * that snapshot's files (hints only: no dump, no replay of what the snapshot holds).
 */
export async function createKeyspaceStateMachine(
  options: KeyspaceStateMachineOptions,
): Promise<KeyspaceStateMachine> {
  const { disk, snapshotsDir, descriptor } = options
  await wipeStateDir(disk, options.dir)
  const engineDir = liveDirOf(options.dir, 1)
  // A dump: the log's snapshot predates file snapshots (loaded below, the slow way, once).
  const dump = descriptor !== undefined && isKeyspaceDump(descriptor) ? descriptor : null
  const decoded = descriptor === undefined || dump !== null ? null : decodeDescriptor(descriptor)
  assert(decoded === null || snapshotsDir !== undefined, 'a descriptor needs its snapshotsDir')
  if (snapshotsDir !== undefined)
    await pruneSnapshotsDir(disk, snapshotsDir, decoded?.dirName ?? null)
  if (decoded !== null) {
    const snapshotDir = `${snapshotsDir as string}/${decoded.dirName}`
    assert(disk.exists(snapshotDir), `the snapshot's files are in ${snapshotDir}`)
    linkSnapshotFiles(disk, snapshotDir, engineDir, decoded.files)
  }
  const engine = await openStateEngine(options, engineDir)
  const machine = new ReplicatedKeyspace(options, engine, decoded?.meta ?? null)
  if (dump !== null) machine.restore(dump)
  if (snapshotsDir !== undefined && options.fetchChunk !== undefined) {
    const files = new KeyspaceFiles(
      {
        disk,
        clock: options.clock,
        timers: options.timers,
        rng: options.rng ?? createRng(0x5a4e),
        stateDir: options.dir,
        snapshotsDir,
        fetchChunk: options.fetchChunk,
        openEngineAt: (dir) => openStateEngine(options, dir),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      },
      machine.filesMachine(engine),
      1,
    )
    machine.attachFiles(files)
    return Object.assign(machine, { files })
  }
  return machine
}

/** Over any StorageEngine (the memory engine in tests); the caller owns nothing after this. */
export function keyspaceStateMachineOver(
  engine: StorageEngine,
  options: Omit<KeyspaceStateMachineOptions, 'disk' | 'dir' | 'timers'>,
): KeyspaceStateMachine {
  assert(engine.keyCount() === 0, 'the state machine starts from an empty engine')
  return new ReplicatedKeyspace(options, engine, null)
}

type MachineOptions = Omit<KeyspaceStateMachineOptions, 'disk' | 'dir' | 'timers'>

class ReplicatedKeyspace implements KeyspaceStateMachine {
  readonly #options: MachineOptions
  #engine: StorageEngine
  readonly #modified = new ModifiedKeys()
  readonly #expiries = new ExpiryQueue()
  #tracked: TrackedEngine
  #files: KeyspaceFiles | null = null
  readonly #dispatcher: Dispatcher = createDispatcher(commandTable)
  readonly #reply: ReplyWriter = createReplyWriter(2)
  readonly #entryRng = new SeededRng()
  readonly #queryRng: Rng
  readonly #clock: Clock
  /** The node's hub, or one with no subscribers (PUBLISH then reaches nobody here). */
  readonly #pubsub: PubSubHub
  #keyspace: EngineKeyspace
  #addressBook = new Map<NodeId, NodeAddress>()
  #appliedTimeMs = 0
  #lastIndex = 0
  #closed = false

  /** `meta`: the state `engine` holds came from a file snapshot with this meta. */
  constructor(options: MachineOptions, engine: StorageEngine, meta: KeyspaceMeta | null) {
    this.#options = options
    this.#engine = engine
    const onKeyModified = options.onKeyModified
    this.#tracked = new TrackedEngine(engine, this.#modified, this.#expiries, onKeyModified)
    this.#queryRng = createRng(0x5eed)
    this.#pubsub = options.pubsub ?? new PubSubHub()
    const now = (): number => this.#appliedTimeMs
    this.#clock = { monotonicMs: now, wallMs: now }
    if (meta !== null) this.#loadMeta(meta)
    this.#keyspace = this.#createKeyspace()
  }

  attachFiles(files: KeyspaceFiles): void {
    this.#files = files
  }

  /** The machine as KeyspaceFiles sees it (`engine`: the live one, which can checkpoint). */
  filesMachine(engine: CheckpointEngine): FilesMachine {
    let live = engine
    return {
      engine: () => live,
      meta: () => this.#meta(),
      lastIndex: () => this.#lastIndex,
      adopt: (next, meta) => {
        assert(!this.#closed, 'install after close')
        const old = live
        live = next
        this.#keyspace.close()
        this.#engine = next
        const onKeyModified = this.#options.onKeyModified
        this.#tracked = new TrackedEngine(next, this.#modified, this.#expiries, onKeyModified)
        this.#loadMeta(meta)
        this.#keyspace = this.#createKeyspace()
        // Any key may have changed: blocked clients on this node try again.
        onKeyModified?.(null)
        return old
      },
    }
  }

  readSnapshotChunk(request: SnapshotChunkRequest): Promise<Buffer> {
    if (this.#files === null) {
      return Promise.reject(new CaskadeError(ErrorCode.Err, 'this node has no file snapshots'))
    }
    return this.#files.readChunk(request)
  }

  #meta(): KeyspaceMeta {
    return {
      lastIndex: this.#lastIndex,
      appliedTimeMs: this.#appliedTimeMs,
      addressBook: new Map(this.#addressBook),
      modifiedFloorIndex: this.#modified.floorIndex,
      modified: [...this.#modified.entries()],
    }
  }

  #loadMeta(meta: KeyspaceMeta): void {
    this.#lastIndex = meta.lastIndex
    this.#appliedTimeMs = meta.appliedTimeMs
    this.#addressBook = new Map(meta.addressBook)
    this.#modified.reset(meta.modifiedFloorIndex, meta.modified)
  }

  get appliedTimeMs(): number {
    return this.#appliedTimeMs
  }

  addressBook(): ReadonlyMap<NodeId, NodeAddress> {
    return this.#addressBook
  }

  dueExpiries(nowMs: number): boolean {
    const queue = this.#expiries
    // Skipping stale entries changes no state: they would be skipped when applying too.
    while (queue.size > 0 && !this.#isCurrentExpiry(queue.peekName(), queue.peekMs())) queue.pop()
    return queue.peekMs() < nowMs
  }

  keyspaceStats(): { readonly keys: number; readonly keysWithExpiry: number } {
    const { keys, keysWithExpiry } = this.#keyspace.stats()
    return { keys, keysWithExpiry }
  }

  apply(command: Uint8Array, index: number): Uint8Array {
    assert(!this.#closed, 'apply after close')
    assert(index > this.#lastIndex, 'entries are applied in log order, each once')
    const entry = decodeEntry(command)
    this.#lastIndex = index
    if (entry.kind === 'address') {
      this.#addressBook.set(entry.id, entry.address)
      return okReply
    }
    const firstTimed = this.#appliedTimeMs === 0 && entry.timeMs > 0
    this.#appliedTimeMs = Math.max(this.#appliedTimeMs, entry.timeMs)
    // The keyspace made before any entry had a time has its timing wheel at 1970: its first
    // active expiry cycle (the first tick entry) would walk 56 years of wheel boundaries, which
    // stalled every node's loop for seconds. Made again now, its wheel starts at the apply time
    // (every node does this at the same entry; nothing holds a TTL yet, so nothing is lost).
    if (firstTimed) this.#renewKeyspace()
    this.#tracked.setMode('apply', index)
    this.#entryRng.reseed(index)
    try {
      this.#expireDue()
      const reply = this.#run(entry)
      // A key written already expired (SET ... PXAT in the past) goes now: a query never
      // finds an expired key to delete.
      this.#expireDue()
      return reply
    } finally {
      this.#tracked.setMode('idle')
    }
  }

  #run(entry: SingleCommandEntry | ExecEntry | TickEntry): Uint8Array {
    switch (entry.kind) {
      case 'command':
        return this.#runCommand(entry)
      case 'exec':
        return this.#runExec(entry)
      case 'tick':
        // The wheel's own bookkeeping (everything due is already gone): it stays small.
        this.#keyspace.activeExpireCycle()
        return okReply
    }
  }

  #context(protocol: ProtocolVersion, rng: Rng): CommandContext {
    this.#reply.protocol = protocol
    return {
      keyspace: this.#keyspace,
      clock: this.#clock,
      rng,
      reply: this.#reply,
      client: entrySession(protocol, this.#appliedTimeMs),
      host: this.#options.host ?? detachedHost,
      pubsub: this.#pubsub,
    }
  }

  #take(): Uint8Array {
    const bytes = this.#reply.take()
    assert(bytes !== null, 'a command writes a reply')
    return bytes
  }

  #runCommand(entry: SingleCommandEntry): Uint8Array {
    const ctx = this.#context(entry.protocol, this.#entryRng)
    const spec = this.#dispatcher.lookup(entry.argv)
    if (spec !== null && !isReplicable(spec)) {
      ctx.reply.error(ErrorCode.Err, notReplicableMessage(spec))
    } else {
      this.#dispatcher.execute(ctx, entry.argv)
    }
    return this.#take()
  }

  /** MULTI, the queue, EXEC, as a connection runs them; only EXEC's reply is returned. */
  #runExec(entry: ExecEntry): Uint8Array {
    const ctx = this.#context(entry.protocol, this.#entryRng)
    const dispatcher = this.#dispatcher
    dispatcher.execute(ctx, [Buffer.from('MULTI')])
    const state = transactionOf(ctx.client)
    for (const argv of entry.commands) {
      const spec = dispatcher.lookup(argv)
      if (spec !== null && !isReplicable(spec)) state.execAbort = true
      else dispatcher.execute(ctx, argv)
    }
    this.#reply.take() // +OK and the +QUEUED (or refusals) went to the client at queuing
    const watchIndex = entry.watchIndex
    if (entry.watched.some((key) => this.#modifiedSince(key, watchIndex))) {
      state.watcher.dirty = true
    }
    dispatcher.execute(ctx, [Buffer.from('EXEC')])
    return this.#take()
  }

  #modifiedSince(key: Buffer, index: number): boolean {
    return this.#modified.lastModifiedIndex(key.toString('latin1')) > index
  }

  query(query: Uint8Array): Uint8Array {
    assert(!this.#closed, 'query after close')
    const { protocol, argv } = decodeQuery(query)
    const ctx = this.#context(protocol, this.#queryRng)
    const spec = this.#dispatcher.lookup(argv)
    this.#tracked.setMode('query')
    try {
      if (spec !== null && !spec.flags.includes('readonly')) {
        ctx.reply.error(ErrorCode.Err, `'${spec.name}' is not a read-only command`)
      } else {
        this.#dispatcher.execute(ctx, argv)
      }
    } finally {
      this.#tracked.setMode('idle')
    }
    return this.#take()
  }

  snapshot(): Uint8Array {
    return encodeKeyspaceSnapshot(this.#engine, this.#meta())
  }

  restore(data: Uint8Array): void {
    assert(!this.#closed, 'restore after close')
    this.#keyspace.close()
    // FLUSHALL's marker: every record before it is dead (merge reclaims the space), at once.
    this.#engine.clear()
    this.#loadMeta(decodeKeyspaceSnapshot(data, this.#engine))
    this.#keyspace = this.#createKeyspace()
    this.#options.logger?.info({ keys: this.#engine.keyCount() }, 'state machine restored')
    this.#options.onKeyModified?.(null)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#keyspace.close()
    this.#engine.close().catch((error: unknown) => {
      this.#options.logger?.info({ error: String(error) }, 'state machine engine close failed')
    })
  }

  #renewKeyspace(): void {
    this.#keyspace.close()
    this.#keyspace = this.#createKeyspace()
  }

  /** A fresh keyspace over the engine (its wheel and the expiry queue refilled from it). */
  #createKeyspace(): EngineKeyspace {
    this.#expiries.clear()
    this.#engine.forEachExpiring((key, expiresAtMs) => {
      this.#expiries.push(key.toString('latin1'), expiresAtMs)
    })
    return createKeyspace({
      engine: this.#tracked,
      clock: this.#clock,
      timers: inertTimers,
      rng: this.#entryRng,
      events: this.#pubsub,
    })
  }

  #isCurrentExpiry(name: string, atMs: number): boolean {
    return this.#engine.expiresAtMs(Buffer.from(name, 'latin1')) === atMs
  }

  /** Deletes every key expired at the apply time, in (expiry, key) order: same on every node. */
  #expireDue(): void {
    const queue = this.#expiries
    const nowMs = this.#appliedTimeMs
    while (queue.peekMs() < nowMs) {
      const name = queue.peekName()
      const atMs = queue.peekMs()
      queue.pop()
      // The keyspace's lazy expiry: delete, count, notify 'expired', as on access.
      if (this.#isCurrentExpiry(name, atMs)) this.#keyspace.has(Buffer.from(name, 'latin1'))
    }
    const sizeMax = expiryQueueSlack + 2 * this.#engine.stats().keysWithExpiry
    if (queue.size > expiryQueueSlack && queue.size > sizeMax) {
      this.#expiries.clear()
      this.#engine.forEachExpiring((key, expiresAtMs) => {
        this.#expiries.push(key.toString('latin1'), expiresAtMs)
      })
    }
  }
}

function notReplicableMessage(spec: CommandSpec): string {
  return `'${spec.name}' acts on one node and is not replicated`
}
