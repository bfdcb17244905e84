/* The network server: opens the engine and keyspace on the data dir, listens on the configured
 * addresses, owns the connections and implements ServerHost for the command layer. Invariant:
 * shutdown (SHUTDOWN, close(), a signal) runs once: stop accepting, send queued replies, flush and
 * fsync the engine, close it; `closed` resolves after that, whatever failed on the way. */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import type { CommandContext, ClientSession } from '../commands/types.js'
import { createDispatcher, type Dispatcher } from '../commands/dispatch.js'
import { BlockingRegistry } from '../commands/blocking.js'
import { PubSubHub } from '../commands/pubsub-hub.js'
import { commandTable } from '../commands/registry.js'
import { createRng } from '../core/rng.js'
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import { nodeDisk } from '../io/disk.js'
import { traceDisk } from '../io/perf-trace.js'
import { systemClock } from '../io/clock.js'
import { nodeTimers } from '../io/timers.js'
import { releaseTransaction } from '../commands/transactions.js'
import { createKeyspace } from '../keyspace/keyspace.js'
import type { Keyspace } from '../keyspace/types.js'
import { openEngine } from '../storage/engine.js'
import type { FsyncPolicy, StorageEngine, StorageEvent } from '../storage/types.js'
import { createSilentLogger, setLogLevel, type Logger } from '../obs/logger.js'
import type { ServerConfig } from './config.js'
import { createConfigRegistry, type LiveConfigRegistry } from './config-registry.js'
import {
  Connection,
  parserLimitsOf,
  type CommandExecutor,
  type ConnectionOwner,
} from './connection.js'
import { createServerHost } from './host.js'
import type { InfoSources } from './info.js'
import { ServerStats, metricSampleIntervalMs } from './stats.js'
import { caskadeVersion } from './version.js'
import type { CommandRouter } from './command-router.js'
import type { ServerHost } from '../commands/types.js'
import { clusterPathsOf } from './cluster-identity.js'
import { wantsClusterMode } from './cluster-config.js'
import type { ClusterDeps, ClusterAttachment } from './cluster-server.js'

export interface ServerDeps {
  disk?: Disk
  clock?: Clock
  timers?: Timers
  rng?: Rng
  logger?: Logger
  /** Cluster mode's state machine and transport factories (default: the real ones). */
  cluster?: ClusterDeps
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number
  readonly addresses: readonly string[]
  readonly engine: StorageEngine
  readonly keyspace: Keyspace
  readonly config: LiveConfigRegistry
  /** Resolves once the server has shut down, by SHUTDOWN, close() or a signal. */
  readonly closed: Promise<void>
  /** Starts the shutdown (idempotent) and resolves when it is done. */
  close(): Promise<void>
}

/** Waiting for slow clients to take their last replies is bounded at shutdown. */
const shutdownDrainWaitMs = 2000
const clientTimeoutCheckIntervalMs = 1000

export async function startServer(
  config: ServerConfig,
  deps: ServerDeps = {},
): Promise<RunningServer> {
  const disk = deps.disk ?? traceDisk(nodeDisk)
  const clock = deps.clock ?? systemClock
  const timers = deps.timers ?? nodeTimers
  const logger = deps.logger ?? createSilentLogger()
  const rng = deps.rng ?? createRng(randomBytes(4).readUInt32LE(0))
  disk.mkdirp(config.dir)
  // DIR/cluster without an identity: a new node that was never contacted (its flags are needed).
  const clustered = wantsClusterMode(config.cluster) || disk.exists(clusterPathsOf(config.dir).root)
  if (clustered) {
    const { startClusterServer } = await import('./cluster-server.js')
    const cluster = deps.cluster ?? (await import('./cluster-deps.js')).realClusterDeps
    return startClusterServer(config, { disk, clock, timers, logger, rng }, cluster)
  }
  const openedAtMs = clock.monotonicMs()
  const engine = await openEngine({
    dir: config.dir,
    disk,
    clock,
    timers,
    fsync: config.fsync,
    segmentBytesMax: config.segmentBytes,
    mergeDeadRatioMin: config.mergeDeadRatio,
    mergeDeadBytesMin: config.mergeDeadBytesMin,
    onEvent: (event) => logStorageEvent(logger, event),
    hashSeed: randomHashSeed(),
  })
  const recoveryMs = clock.monotonicMs() - openedAtMs
  // The hub exists before the keyspace: expirations become keyspace notifications.
  const pubsub = new PubSubHub()
  // So is the blocking registry: writes to keys clients wait on make those keys ready.
  const blocking = new BlockingRegistry(timers)
  const keyspace = createKeyspace({
    engine,
    clock,
    timers,
    events: pubsub,
    onKeyModified: blocking.keyModified,
  })
  const parts = { config, engine, keyspace, pubsub, blocking, clock, timers, rng, logger }
  const server = new CaskadeServer(parts)
  try {
    await server.listen()
  } catch (error) {
    keyspace.close()
    await engine.close()
    throw error
  }
  logger.info(
    {
      version: caskadeVersion,
      port: server.port,
      bind: config.bind,
      dir: config.dir,
      fsync: config.fsync,
      keys: engine.keyCount(),
      segments: engine.stats().segments,
      recoveryMs: Math.round(recoveryMs),
    },
    'caskade started',
  )
  logger.info({ port: server.port }, 'Ready to accept connections')
  return server
}

/** A secret keydir hash key per process, so clients cannot craft colliding keys. */
function randomHashSeed(): number[] {
  const bytes = randomBytes(8)
  return [bytes.readUInt32LE(0), bytes.readUInt32LE(4)]
}

export function logStorageEvent(logger: Logger, event: StorageEvent): void {
  switch (event.kind) {
    case 'torn-tail-truncated':
      logger.warn(event, 'storage: torn tail truncated (an unacknowledged write was cut short)')
      return
    case 'corruption':
      logger.error(event, 'storage: corruption found')
      return
    case 'io-error':
      logger.error(event, 'storage: I/O error')
      return
    case 'merge-started':
    case 'merge-finished':
    case 'recovered':
      logger.info(event, `storage: ${event.kind}`)
      return
  }
}

export interface ServerParts {
  config: ServerConfig
  engine: StorageEngine
  keyspace: Keyspace
  pubsub: PubSubHub
  blocking: BlockingRegistry
  clock: Clock
  timers: Timers
  rng: Rng
  logger: Logger
}

export class CaskadeServer implements RunningServer, ConnectionOwner {
  readonly config: LiveConfigRegistry
  readonly engine: StorageEngine
  readonly keyspace: Keyspace
  readonly pubsub: PubSubHub
  readonly blocking: BlockingRegistry
  readonly executor: CommandExecutor
  readonly dispatcher: Dispatcher
  readonly stats = new ServerStats()
  readonly logger: Logger
  readonly clock: Clock
  readonly closed: Promise<void>
  readonly connections = new Map<number, Connection>()
  port = 0
  addresses: string[] = []
  readonly #parts: ServerParts
  readonly #listeners: net.Server[] = []
  readonly #cancelTimers: Array<() => void> = []
  readonly host: ServerHost
  readonly #info: InfoSources
  /** Cluster mode: routes client commands; connections arriving before it are refused. */
  #router: CommandRouter | null = null
  #cluster: ClusterAttachment | null = null
  #clusterPending = false
  #nextClientId = 1
  #closing: Promise<void> | null = null
  #resolveClosed: () => void = () => undefined
  #onAllClosed: (() => void) | null = null

  constructor(parts: ServerParts) {
    this.#parts = parts
    this.engine = parts.engine
    this.keyspace = parts.keyspace
    this.pubsub = parts.pubsub
    this.pubsub.notifyFlags = parts.config.notifyKeyspaceEvents
    this.pubsub.onDeliver = (clientId) => this.connections.get(clientId)?.onDelivered()
    this.logger = parts.logger
    this.clock = parts.clock
    this.config = createConfigRegistry(parts.config, (names) => this.#applyLive(names), {
      fsyncSettable: canSetFsyncPolicy(parts.engine),
    })
    this.blocking = parts.blocking
    this.blocking.onUnblocked = (session) => this.connections.get(session.id)?.onUnblocked()
    this.blocking.onBlocked = (session) => this.connections.get(session.id)?.onBlocked()
    this.dispatcher = createDispatcher(commandTable)
    this.executor = servingBlockedClients(this.dispatcher, this.blocking)
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    this.#info = this.#makeInfoSources()
    this.host = createServerHost({
      config: this.config,
      connections: this.connections,
      info: this.#info,
      timers: parts.timers,
      stats: this.stats,
      shutdown: () => void this.close(),
    })
  }

  /** The ServerConfig object the registry mutates (ConnectionOwner reads limits from it). */
  get settings(): ServerConfig {
    return this.config.current
  }

  /** Cluster mode: until attachCluster, client connections are refused. */
  expectCluster(): void {
    this.#clusterPending = true
  }

  attachCluster(cluster: ClusterAttachment, router: CommandRouter): void {
    this.#cluster = cluster
    this.#router = router
    this.#clusterPending = false
  }

  isShuttingDown(): boolean {
    return this.#closing !== null
  }

  /** Listens on every bind address; if one fails, the ones already bound are closed. */
  async listen(): Promise<void> {
    try {
      await this.#listenAll()
    } catch (error) {
      for (const listener of this.#listeners) listener.close()
      throw error
    }
    this.#startTimers()
  }

  async #listenAll(): Promise<void> {
    const config = this.config.current
    let port = config.port
    for (const address of config.bind) {
      const listener = net.createServer({ noDelay: true }, (socket) => this.#onConnection(socket))
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject)
        listener.listen({ port, host: address, backlog: 511 }, () => {
          listener.off('error', reject)
          resolve()
        })
      })
      listener.on('error', (error) => this.logger.error({ err: error.message }, 'listener error'))
      this.#listeners.push(listener)
      const bound = listener.address()
      if (bound !== null && typeof bound === 'object') port = bound.port
      this.addresses.push(address)
    }
    this.port = port
    config.port = port // CONFIG GET port reports the port actually bound (port 0 = any free)
  }

  close(): Promise<void> {
    if (this.#closing === null) this.#closing = this.#shutdown()
    return this.#closing
  }

  onConnectionClosed(connection: Connection): void {
    this.connections.delete(connection.session.id)
    releaseTransaction(this.keyspace, connection.session)
    this.pubsub.removeClient(connection.session)
    this.blocking.remove(connection.session)
    if (this.connections.size === 0) this.#onAllClosed?.()
  }

  onConnectionKilled(connection: Connection): void {
    this.blocking.remove(connection.session)
  }

  #startTimers(): void {
    const timers = this.#parts.timers
    this.#cancelTimers.push(
      timers.every(metricSampleIntervalMs, () =>
        this.stats.sampleMetrics(this.clock.monotonicMs(), this.dispatcher.commandsProcessed()),
      ),
      timers.every(clientTimeoutCheckIntervalMs, () => this.#closeIdleClients()),
    )
  }

  #closeIdleClients(): void {
    const timeoutSeconds = this.config.current.timeoutSeconds
    if (timeoutSeconds === 0) return
    const nowMs = this.clock.monotonicMs()
    for (const connection of this.connections.values()) {
      // As Redis, a blocked client is not idle: its own timeout ends the wait.
      if (connection.session.blocked !== undefined) continue
      if (nowMs - connection.lastActivityMs() > timeoutSeconds * 1000) {
        this.logger.debug({ client: connection.session.addr }, 'closing idle client')
        connection.kill()
      }
    }
  }

  #onConnection(socket: net.Socket): void {
    this.stats.connectionsReceived++
    if (this.#closing !== null || this.#clusterPending) {
      socket.destroy()
      return
    }
    if (this.connections.size >= this.config.current.maxclients) {
      this.stats.rejectedConnections++
      socket.on('error', () => undefined)
      socket.end('-ERR max number of clients reached\r\n')
      this.logger.warn({ maxclients: this.config.current.maxclients }, 'max clients reached')
      return
    }
    const session = this.#newSession(socket)
    const connection = new Connection({
      socket,
      owner: this,
      session,
      makeContext: (reply, client): CommandContext => ({
        keyspace: this.keyspace,
        clock: this.clock,
        rng: this.#parts.rng,
        reply,
        client,
        host: this.host,
        pubsub: this.pubsub,
        blocking: this.blocking,
      }),
      ...(this.#router === null ? {} : { router: this.#router }),
    })
    this.connections.set(session.id, connection)
  }

  #newSession(socket: net.Socket): ClientSession {
    const nowMs = this.clock.wallMs()
    return {
      id: this.#nextClientId++,
      addr: formatPeer(socket.remoteAddress, socket.remotePort),
      laddr: formatPeer(socket.localAddress, socket.localPort),
      createdAtMs: nowMs,
      name: null,
      libName: null,
      libVersion: null,
      protocol: 2,
      closeAfterReply: false,
      lastCommand: 'NULL',
      lastInteractionMs: nowMs,
    }
  }

  #applyLive(names: readonly string[]): void {
    const config = this.config.current
    for (const name of names) {
      if (name === 'loglevel') setLogLevel(this.logger, config.logLevel)
      if (name === 'proto-max-bulk-len') {
        const limits = parserLimitsOf(config)
        for (const connection of this.connections.values()) connection.applyParserLimits(limits)
      }
      if (name === 'notify-keyspace-events') this.pubsub.notifyFlags = config.notifyKeyspaceEvents
      if (name === 'appendfsync' && canSetFsyncPolicy(this.engine)) {
        this.engine.setFsyncPolicy(config.fsync)
      }
    }
    this.logger.info({ changed: names }, 'configuration changed by CONFIG SET')
  }

  #makeInfoSources(): InfoSources {
    return {
      // CONFIG SET mutates this object in place, so INFO always reads the live values.
      config: this.config.current,
      stats: this.stats,
      engine: this.engine,
      keyspace: this.keyspace,
      clock: this.clock,
      startedAtMonotonicMs: this.clock.monotonicMs(),
      runId: randomBytes(20).toString('hex'),
      caskadeVersion,
      executable: process.argv[1] ?? process.execPath,
      listenPort: () => this.port,
      connectedClients: () => this.connections.size,
      blockedClients: () => this.blocking.blockedCount,
      clientsInTimeoutTable: () => this.blocking.timedCount,
      commandsProcessed: () => this.dispatcher.commandsProcessed(),
      errorReplies: () => this.dispatcher.errorReplies(),
      peakMemoryBytes: 0,
      pubsubChannels: () => this.pubsub.channelCount(),
      pubsubPatterns: () => this.pubsub.patternCount(),
      pubsubShardChannels: () => this.pubsub.channelCount('shard'),
      clusterSection: (section) => this.#cluster?.infoSection(section) ?? null,
    }
  }

  async #shutdown(): Promise<void> {
    this.logger.info({ clients: this.connections.size }, 'shutting down: flushing and syncing')
    for (const cancel of this.#cancelTimers) cancel()
    this.blocking.close()
    for (const listener of this.#listeners) listener.close()
    for (const connection of this.connections.values()) connection.finish()
    try {
      await this.engine.flushAndSync()
    } catch (error) {
      this.logger.error({ err: String(error) }, 'shutdown: flush and sync failed')
    }
    await this.#waitForConnections()
    try {
      await this.#cluster?.close()
    } catch (error) {
      this.logger.error({ err: String(error) }, 'shutdown: stopping the cluster node failed')
    }
    try {
      this.keyspace.close()
      await this.engine.close()
    } catch (error) {
      this.logger.error({ err: String(error) }, 'shutdown: closing the engine failed')
    }
    this.logger.info('caskade is now ready to exit, bye bye...')
    this.#resolveClosed()
  }

  async #waitForConnections(): Promise<void> {
    if (this.connections.size === 0) return
    await new Promise<void>((resolve) => {
      const cancel = this.#parts.timers.after(shutdownDrainWaitMs, () => {
        for (const connection of this.connections.values()) connection.kill()
        resolve()
      })
      this.#onAllClosed = () => {
        cancel()
        resolve()
      }
    })
  }
}

/**
 * Redis's handleClientsBlockedOnKeys after every command (processCommand): clients blocked on keys
 * the command wrote are served before the next command runs, in the same event-loop turn. EXEC's
 * queued commands run inside one execute, so a transaction serves them once, at its end.
 */
function servingBlockedClients(
  dispatcher: Dispatcher,
  blocking: BlockingRegistry,
): CommandExecutor {
  return {
    execute(ctx, args) {
      dispatcher.execute(ctx, args)
      if (blocking.hasReadyKeys()) blocking.serveReady()
    },
    beginBatch: (nowMs) => dispatcher.beginBatch(nowMs),
    endBatch: (nowMs) => dispatcher.endBatch(nowMs),
  }
}

/** An engine that can change its fsync policy live (CONFIG SET appendfsync). */
interface FsyncPolicySettable {
  setFsyncPolicy(policy: FsyncPolicy): void
}

function canSetFsyncPolicy(engine: StorageEngine): engine is StorageEngine & FsyncPolicySettable {
  return typeof (engine as Partial<FsyncPolicySettable>).setFsyncPolicy === 'function'
}

function formatPeer(address: string | undefined, port: number | undefined): string {
  const host = address ?? '?'
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`
}
