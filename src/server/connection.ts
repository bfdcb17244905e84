/* One client connection: socket bytes -> RespParser -> dispatcher -> ReplyWriter, replies taken
 * once per read chunk. Invariant: replies leave in command order; a batch that follows writes not
 * yet durable waits in a FIFO for engine.whenDurable, and nothing behind it overtakes it. Why: a
 * client must never see an acknowledgement (or a read of data) that a crash could take back. */
import type { Socket } from 'node:net'
import { CaskadeError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { Clock } from '../core/ports.js'
import { hasSubscriptions } from '../commands/pubsub.js'
import type { ClientSession, CommandContext } from '../commands/types.js'
import type { ParserLimits, ReplyWriter } from '../protocol/types.js'
import { RespParser } from '../protocol/resp-parser.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { StorageEngine } from '../storage/types.js'
import type { Logger } from '../obs/logger.js'
import type { ServerConfig } from './config.js'
import type { CommandRouter, RouteKind, RouterSession } from './command-router.js'
import type { ServerStats } from './stats.js'

/**
 * Replies are batched per read chunk, but a chunk of pipelined commands can ask for far more
 * reply bytes than it holds (GET of a large value); past this many bytes the batch is handed to
 * the socket early, so the output-buffer limit is checked before memory runs away.
 */
const replyBatchBytesMax = 1024 * 1024

export interface CommandExecutor {
  execute(ctx: CommandContext, args: readonly Buffer[]): void
  /** Brackets the commands of one read chunk (time is measured per chunk, see dispatch.ts). */
  beginBatch?(nowMs: number): void
  endBatch?(nowMs: number): void
}

/** What a connection needs from the server that owns it. */
export interface ConnectionOwner {
  /** The live configuration (CONFIG SET changes it in place). */
  readonly settings: ServerConfig
  /** Replies wait for its durability (cluster mode: always durable, the Raft log is the WAL). */
  readonly engine: Pick<StorageEngine, 'hasUndurableWrites' | 'whenDurable'>
  readonly executor: CommandExecutor
  readonly stats: ServerStats
  readonly logger: Logger
  readonly clock: Clock
  isShuttingDown(): boolean
  onConnectionClosed(connection: Connection): void
  /** kill() ran: the socket's 'close' comes later, but the client must stop waiting for keys
   * now, or a push could be served (popped) to a client that will never read it. */
  onConnectionKilled?(connection: Connection): void
}

interface PendingReply {
  bytes: Buffer | null
  ready: boolean
  error: Error | undefined
  closeAfter: boolean
}

export function parserLimitsOf(config: ServerConfig): ParserLimits {
  return {
    bulkBytesMax: config.protoMaxBulkLen,
    multibulkLengthMax: limits.multibulkLengthMax,
    inlineBytesMax: limits.inlineBytesMax,
  }
}

function isProtocolError(error: unknown): error is CaskadeError {
  return error instanceof CaskadeError && error.message.startsWith('Protocol error')
}

export class Connection {
  readonly session: ClientSession
  readonly #socket: Socket
  readonly #owner: ConnectionOwner
  readonly #parser: RespParser
  readonly #writer: ReplyWriter
  readonly #ctx: CommandContext
  readonly #pending: PendingReply[] = []
  #pendingBytes = 0
  #state: 'open' | 'closing' | 'closed' = 'open'
  #pausedForDrain = false
  #softLimitSinceMs = 0
  #lastActivityMs: number
  #lastInputChunkBytes = 0
  /** Cluster mode only: routes commands (null: every command runs in the dispatcher now). */
  readonly #route: RouterSession | null
  /** Routed commands awaiting their answer, all of kind #inFlightKind. */
  #inFlight = 0
  #inFlightKind: RouteKind = 'local'
  /** A command that must wait for the in-flight ones (its args copied); reading is paused. */
  #held: Buffer[] | null = null
  /** True while this connection runs its own commands: its own turn flushes deliveries. */
  #inTurn = false
  #deliveryFlushQueued = false

  constructor(options: {
    socket: Socket
    owner: ConnectionOwner
    session: ClientSession
    makeContext: (reply: ReplyWriter, session: ClientSession) => CommandContext
    router?: CommandRouter
  }) {
    this.#socket = options.socket
    this.#owner = options.owner
    this.session = options.session
    this.#parser = new RespParser(parserLimitsOf(options.owner.settings))
    this.#writer = createReplyWriter(this.session.protocol)
    this.#ctx = options.makeContext(this.#writer, this.session)
    this.#route = options.router?.open(this.session) ?? null
    this.#lastActivityMs = options.owner.clock.monotonicMs()
    const socket = this.#socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#onDrain())
    socket.on('error', (error) => {
      this.#owner.logger.debug({ client: this.session.addr, err: error.message }, 'socket error')
    })
    socket.on('close', () => this.#onClose())
  }

  lastActivityMs(): number {
    return this.#lastActivityMs
  }

  /** Applies a changed proto-max-bulk-len to this connection's parser. */
  applyParserLimits(parserLimits: ParserLimits): void {
    this.#parser.setLimits(parserLimits)
  }

  /** Fields for CLIENT LIST: query buffer, output buffer, memory, events. */
  listExtras(): Array<[string, string | number]> {
    const qbuf = this.#parser.bufferedBytes()
    const omem = this.#socket.writableLength + this.#pendingBytes
    return [
      ['fd', (this.#socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1],
      ['qbuf', qbuf],
      ['qbuf-free', Math.max(0, this.#lastInputChunkBytes - qbuf)],
      ['obl', 0],
      ['oll', this.#pending.length],
      ['omem', omem],
      ['tot-mem', qbuf + omem],
      ['events', this.#pausedForDrain ? 'w' : 'r'],
    ]
  }

  /**
   * A pub/sub message was written into this connection's writer (by any client's command). It
   * leaves with the publisher's batch: one flush per event-loop turn, or at once past the batch
   * size, through the same durability FIFO and output-buffer limit as replies.
   */
  onDelivered(): void {
    if (this.#inTurn) return
    if (this.#state === 'closed') {
      this.#writer.take() // a killed subscriber: nothing will send these bytes
      return
    }
    if (this.#writer.pendingBytes() >= replyBatchBytesMax) {
      this.#flushTurn(false)
      return
    }
    if (this.#deliveryFlushQueued) return
    this.#deliveryFlushQueued = true
    queueMicrotask(this.#flushDeliveries)
  }

  readonly #flushDeliveries = (): void => {
    this.#deliveryFlushQueued = false
    if (this.#inTurn) return
    if (this.#state === 'closed') this.#writer.take()
    else this.#flushTurn(false)
  }

  /** Closes at once; replies not yet sent are dropped (CLIENT KILL, limits, timeouts). */
  kill(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#socket.destroy()
    this.#owner.onConnectionKilled?.(this)
  }

  /** Stops reading, sends what is queued (waiting for durability), then closes (SHUTDOWN). */
  finish(): void {
    if (this.#state !== 'open') return
    this.#state = 'closing'
    this.#socket.pause()
    if (this.#pending.length === 0) this.#endSocket()
  }

  #onData(chunk: Buffer): void {
    if (this.#state !== 'open') return
    const owner = this.#owner
    owner.stats.netInputBytes += chunk.length
    owner.stats.readsProcessed++
    const nowMs = owner.clock.monotonicMs()
    this.#lastActivityMs = nowMs
    this.#lastInputChunkBytes = chunk.length
    this.#parser.feed(chunk)
    this.#processInput(nowMs)
  }

  /**
   * The blocking command this client waits in got its reply (served, timed out, CLIENT UNBLOCK):
   * after the current turn's code, the reply leaves and the commands read meanwhile run.
   */
  onUnblocked(): void {
    queueMicrotask(this.#resumeAfterBlock)
  }

  /**
   * The client now waits in a blocking command. In cluster mode that command was routed, and a
   * command read after it may be held with the socket paused: reading resumes (a disconnect is
   * noticed), and nothing runs until the blocking command is answered.
   */
  onBlocked(): void {
    if (this.#held !== null && !this.#pausedForDrain && this.#state === 'open') {
      this.#socket.resume()
    }
  }

  readonly #resumeAfterBlock = (): void => {
    if (this.#state === 'closed') {
      this.#writer.take()
      return
    }
    if (this.#state === 'closing') {
      this.#flushTurn(false) // shutting down: the reply leaves, no further command runs
      return
    }
    if (this.session.blocked !== undefined) return // blocked again meanwhile: nothing to send
    this.#processInput(this.#owner.clock.monotonicMs())
  }

  /** Runs the complete commands buffered in the parser (none while blocked), then flushes. */
  #processInput(nowMs: number): void {
    const owner = this.#owner
    if (this.session.blocked !== undefined) {
      // Redis stops processing a blocked client's input but keeps reading it (a disconnect is
      // noticed), within the query buffer limit.
      this.#checkQueryBufferLimit()
      return
    }
    if (this.#held !== null) return // runs once the in-flight commands answer
    let closeAfter: boolean
    owner.executor.beginBatch?.(nowMs)
    this.#inTurn = true
    try {
      closeAfter = this.#runCommands()
    } finally {
      this.#inTurn = false
      owner.executor.endBatch?.(owner.clock.monotonicMs())
    }
    if (owner.isShuttingDown()) {
      this.#writer.take() // SHUTDOWN: Redis closes connections without a reply
      return
    }
    if (!closeAfter && !this.#checkQueryBufferLimit()) return
    this.#flushTurn(closeAfter)
  }

  /** Closes the connection past client-query-buffer-limit; false when it did. */
  #checkQueryBufferLimit(): boolean {
    const owner = this.#owner
    const buffered = this.#parser.bufferedBytes()
    if (buffered > owner.stats.recentMaxInputBuffer) owner.stats.recentMaxInputBuffer = buffered
    if (buffered <= owner.settings.clientQueryBufferLimit) return true
    this.#closeForLimit('closing client that reached max query buffer length', {
      qbuf: buffered,
      limit: owner.settings.clientQueryBufferLimit,
    })
    return false
  }

  /**
   * Runs `first` (a held command), then every complete command in the parser, until one must
   * wait for routed commands in flight; returns true if the connection must close.
   */
  #runCommands(first?: readonly Buffer[]): boolean {
    const owner = this.#owner
    const session = this.session
    const writer = this.#writer
    let next = first
    try {
      for (;;) {
        let args = next
        next = undefined
        if (args === undefined) {
          const command = this.#parser.next()
          if (command === null) return false
          args = command.args
        }
        if (this.#route === null) owner.executor.execute(this.#ctx, args)
        else if (!this.#runRouted(this.#route, args)) return false
        if (session.blocked !== undefined) return false // the rest waits until it is served
        if (writer.protocol !== session.protocol) writer.protocol = session.protocol
        if (owner.isShuttingDown()) return true
        if (session.closeAfterReply || this.#state !== 'open') return true
        if (writer.pendingBytes() >= replyBatchBytesMax) {
          this.#flushTurn(false)
          if (this.#state !== 'open') return true
        }
      }
    } catch (error) {
      if (!isProtocolError(error)) throw error
      owner.logger.debug(
        { client: session.addr, id: session.id, reason: error.message },
        'protocol error from client',
      )
      writer.error(error.code, error.message)
      return true
    }
  }

  /** Cluster mode: runs or starts one command; false when it must wait (it is then held). */
  #runRouted(route: RouterSession, args: readonly Buffer[]): boolean {
    const kind = route.classify(this.#ctx, args)
    const joins = (kind === 'write' || kind === 'read') && kind === this.#inFlightKind
    if (this.#inFlight > 0 && !joins) {
      this.#held = args.map((arg) => Buffer.from(arg))
      this.#socket.pause()
      return false
    }
    if (kind === 'local') {
      route.beforeLocal(this.#ctx, args)
      this.#owner.executor.execute(this.#ctx, args)
      return true
    }
    // Replies of the local commands before this one leave first.
    const before = this.#writer.take()
    if (before !== null) {
      this.#queueReply(before)
      this.#drainPending()
    }
    const slot: PendingReply = { bytes: null, ready: false, error: undefined, closeAfter: false }
    this.#pending.push(slot)
    this.#inFlight++
    this.#inFlightKind = kind
    route.start(kind, this.#ctx, args, (reply) => this.#onRoutedReply(slot, reply))
    return true
  }

  #queueReply(bytes: Buffer): void {
    this.#pending.push({ bytes, ready: true, error: undefined, closeAfter: false })
    this.#pendingBytes += bytes.length
  }

  #onRoutedReply(slot: PendingReply, reply: Buffer): void {
    slot.bytes = reply
    slot.ready = true
    this.#pendingBytes += reply.length
    this.#inFlight--
    if (this.#inFlight === 0) this.#inFlightKind = 'local'
    this.#drainPending()
    this.#checkOutputLimit()
    if (this.#inFlight === 0 && this.#held !== null && !this.#inTurn) this.#resumeHeld()
  }

  /** The in-flight commands answered: run the held command and whatever was parsed after it. */
  #resumeHeld(): void {
    const held = this.#held
    this.#held = null
    if (held === null || this.#state !== 'open') return
    const owner = this.#owner
    let closeAfter: boolean
    owner.executor.beginBatch?.(owner.clock.monotonicMs())
    this.#inTurn = true
    try {
      closeAfter = this.#runCommands(held)
    } finally {
      this.#inTurn = false
      owner.executor.endBatch?.(owner.clock.monotonicMs())
    }
    if (owner.isShuttingDown()) {
      this.#writer.take()
      return
    }
    this.#flushTurn(closeAfter)
    if (this.#held === null && !this.#pausedForDrain && this.#state === 'open') {
      this.#socket.resume()
    }
  }

  #flushTurn(closeAfter: boolean): void {
    const bytes = this.#writer.take()
    if (bytes === null && !closeAfter) return
    const engine = this.#owner.engine
    if (!engine.hasUndurableWrites() && this.#pending.length === 0) {
      this.#write(bytes, closeAfter)
    } else {
      const entry: PendingReply = { bytes, ready: true, error: undefined, closeAfter }
      if (engine.hasUndurableWrites()) {
        entry.ready = false
        engine.whenDurable((error?: Error) => {
          entry.ready = true
          entry.error = error
          this.#drainPending()
        })
      }
      this.#pending.push(entry)
      this.#pendingBytes += bytes === null ? 0 : bytes.length
      this.#drainPending()
    }
    if (closeAfter && this.#state === 'open') this.#state = 'closing'
    this.#checkOutputLimit()
  }

  #drainPending(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0] as PendingReply
      if (!head.ready) return
      this.#pending.shift()
      this.#pendingBytes -= head.bytes === null ? 0 : head.bytes.length
      if (this.#state === 'closed') continue
      if (head.error !== undefined) {
        this.#owner.logger.error(
          { client: this.session.addr, err: head.error.message },
          'write not durable: closing the client without acknowledging it',
        )
        this.kill()
        continue
      }
      this.#write(head.bytes, head.closeAfter)
    }
    if (this.#state === 'closing' && this.#owner.isShuttingDown()) this.#endSocket()
  }

  #write(bytes: Buffer | null, closeAfter: boolean): void {
    if (this.#state === 'closed') return
    if (bytes !== null) {
      this.#owner.stats.netOutputBytes += bytes.length
      this.#owner.stats.writesProcessed++
      const flushed = this.#socket.write(bytes)
      if (!flushed && !this.#pausedForDrain) {
        this.#pausedForDrain = true
        this.#socket.pause()
      }
    }
    if (closeAfter) this.#endSocket()
  }

  #endSocket(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#socket.end()
  }

  #onDrain(): void {
    this.#checkOutputLimit()
    if (!this.#pausedForDrain) return
    this.#pausedForDrain = false
    if (this.#state === 'open' && this.#held === null) this.#socket.resume()
  }

  #checkOutputLimit(): void {
    if (this.#state === 'closed') return
    // Redis's client classes: a subscribed client is cut off by the (smaller) pubsub limits.
    const classLimits = this.#owner.settings.clientOutputBufferLimit
    const limit = hasSubscriptions(this.session) ? classLimits.pubsub : classLimits.normal
    const outstanding = this.#socket.writableLength + this.#pendingBytes
    const stats = this.#owner.stats
    if (outstanding > stats.recentMaxOutputBuffer) stats.recentMaxOutputBuffer = outstanding
    if (limit.hardBytes > 0 && outstanding > limit.hardBytes) {
      this.#closeForLimit('client closed for overcoming of output buffer limits', {
        omem: outstanding,
        limit: limit.hardBytes,
      })
      return
    }
    if (limit.softBytes === 0 || outstanding <= limit.softBytes) {
      this.#softLimitSinceMs = 0
      return
    }
    const nowMs = this.#owner.clock.monotonicMs()
    if (this.#softLimitSinceMs === 0) this.#softLimitSinceMs = nowMs
    else if (nowMs - this.#softLimitSinceMs >= limit.softSeconds * 1000) {
      this.#closeForLimit('client closed for overcoming of output buffer soft limit', {
        omem: outstanding,
        limit: limit.softBytes,
      })
    }
  }

  #closeForLimit(message: string, fields: Record<string, number>): void {
    this.#owner.stats.limitDisconnects++
    this.#owner.logger.warn(
      { client: this.session.addr, id: this.session.id, name: this.session.name, ...fields },
      message,
    )
    this.kill()
  }

  #onClose(): void {
    this.#state = 'closed'
    this.#owner.onConnectionClosed(this)
  }
}
