/* Blocking commands in cluster mode (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX): each
 * attempt is one replicated write that runs as the non-blocking form (it pops if data is there,
 * else answers nil); a client whose attempt found nothing stays blocked in the node's
 * BlockingRegistry (CLIENT UNBLOCK, CLIENT LIST b, INFO) and in the WaitingIndex, and is tried
 * again when this node's applied stream writes one of its keys. Invariant: a command is answered
 * exactly once, and never while an attempt is in flight (a pop it made is never dropped). */
import type { BlockingRegistry, UnblockReason } from '../commands/blocking.js'
import { parseBlockTimeoutOrThrow } from '../commands/blocking.js'
import type { ClientSession, CommandContext } from '../commands/types.js'
import { assert } from '../core/assert.js'
import { ErrorCode } from '../core/errors.js'
import type { Clock, Timers } from '../core/ports.js'
import { WaitingIndex, type Waiter } from './cluster-waiters.js'

/** The result of one attempt: ok with the command's reply, or the routed failure's reply. */
export interface AttemptResult {
  readonly ok: boolean
  readonly reply: Buffer
}

export interface BlockingRun {
  readonly ctx: CommandContext
  /** The command (copied: it outlives the read buffer). */
  readonly argv: readonly Buffer[]
  /** Runs one attempt as a replicated write (retried through elections, cluster-retry.ts). */
  readonly attempt: (done: (result: AttemptResult) => void) => void
  /** The command's one reply. */
  readonly done: (reply: Buffer) => void
}

const noBytes = Buffer.alloc(0)
const nilReplies = [Buffer.from('*-1\r\n'), Buffer.from('_\r\n')]
const unblockedReply = Buffer.from(
  `-${ErrorCode.Unblocked} client unblocked via CLIENT UNBLOCK\r\n`,
  'latin1',
)
const wrongTypePrefix = Buffer.from(`-${ErrorCode.WrongType} `, 'latin1')

/** The timeout's reply (Redis's null array: RESP2 *-1, RESP3 _). */
const nilReplyOf = (protocol: number): Buffer => (protocol === 3 ? nilReplies[1] : nilReplies[0])!

/** The keys a blocking command waits on (BLMOVE: its source) and its timeout argument. */
export function blockingShapeOf(argv: readonly Buffer[]): { keys: Buffer[]; timeoutArg: Buffer } {
  const name = argv[0]?.toString('latin1').toLowerCase() ?? ''
  const at = (index: number): Buffer => argv[index] ?? Buffer.alloc(0)
  switch (name) {
    case 'blmove':
      return { keys: [at(1)], timeoutArg: at(5) }
    case 'brpoplpush':
      return { keys: [at(1)], timeoutArg: at(3) }
    case 'blmpop': {
      const count = Number(at(2).toString('latin1'))
      const keyCount = Number.isSafeInteger(count) && count > 0 ? count : 0
      return { keys: argv.slice(3, 3 + keyCount), timeoutArg: at(1) }
    }
    default: // BLPOP BRPOP BZPOPMIN BZPOPMAX key [key ...] timeout
      return { keys: argv.slice(1, -1), timeoutArg: at(argv.length - 1) }
  }
}

/** One node's blocked clients: the index the state machine's apply feeds, and the retries. */
export class ClusterBlocking {
  readonly #registry: BlockingRegistry
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #index = new WaitingIndex<BlockedRun>()
  /** Each client's run, from its first attempt to its answer (a disconnect finds it here). */
  readonly #byClient = new Map<ClientSession, BlockedRun>()
  #roundQueued = false

  constructor(parts: { registry: BlockingRegistry; clock: Clock; timers: Timers }) {
    this.#registry = parts.registry
    this.#clock = parts.clock
    this.#timers = parts.timers
    parts.registry.onClientGone = (session) => this.#byClient.get(session)?.ended('gone')
  }

  /** Clients in the index (blocked, or running their first attempt). */
  get waiting(): number {
    return this.#index.size
  }

  /** The state machine's write hook (key null: every key, a snapshot was installed). */
  readonly keyModified = (key: Buffer | null): void => {
    if (this.#index.size === 0) return
    const index = this.#index
    const waited =
      key === null ? index.everyKeyModified() : index.keyModified(key.toString('latin1'))
    if (waited) this.queueRound()
  }

  /** Starts a blocking command: its first attempt now. */
  run(run: BlockingRun): void {
    const keys = blockingShapeOf(run.argv).keys
    const keyNames = [...new Set(keys.map((key) => key.toString('latin1')))]
    const blocked = new BlockedRun(this, run, keyNames, this.#clock.monotonicMs())
    assert(!this.#byClient.has(run.ctx.client), 'a client runs one blocking command at a time')
    this.#byClient.set(run.ctx.client, blocked)
    this.#index.add(blocked, true)
    blocked.attempt()
  }

  /** After the current turn (never inside an apply): attempts for the keys written meanwhile. */
  queueRound(): void {
    if (this.#roundQueued || !this.#index.hasReady()) return
    this.#roundQueued = true
    this.#timers.defer(() => {
      this.#roundQueued = false
      for (const blocked of this.#index.takeDue()) blocked.attempt()
    })
  }

  /** BlockedRun's view of the node. */
  get parts(): { registry: BlockingRegistry; clock: Clock; index: WaitingIndex<BlockedRun> } {
    return { registry: this.#registry, clock: this.#clock, index: this.#index }
  }

  /** The run answered (or its client left): it leaves the index. */
  finished(blocked: BlockedRun, session: ClientSession): void {
    this.#index.remove(blocked)
    if (this.#byClient.get(session) === blocked) this.#byClient.delete(session)
    this.queueRound()
  }
}

class BlockedRun implements Waiter {
  readonly keyNames: readonly string[]
  readonly #owner: ClusterBlocking
  readonly #run: BlockingRun
  readonly #startedAtMs: number
  #attempts = 0
  #inFlight = false
  /** In the registry (it found nothing once): CLIENT UNBLOCK and timeouts reach it. */
  #registered = false
  /** A timeout or CLIENT UNBLOCK that came during an attempt: answered when it ends. */
  #endReason: UnblockReason | null = null
  #answered = false

  constructor(owner: ClusterBlocking, run: BlockingRun, keyNames: string[], startedAtMs: number) {
    this.#owner = owner
    this.#run = run
    this.keyNames = keyNames
    this.#startedAtMs = startedAtMs
  }

  attempt(): void {
    assert(!this.#inFlight && !this.#answered, 'one attempt at a time, none after the answer')
    this.#inFlight = true
    this.#attempts++
    this.#run.attempt((result) => this.#attempted(result))
  }

  #attempted(result: AttemptResult): void {
    this.#inFlight = false
    if (this.#answered) return this.#run.done(noBytes) // gone: nobody reads it (see #ended)
    const first = this.#attempts === 1
    if (!result.ok || !this.#foundNothing(result.reply, first)) return this.#answer(result.reply)
    if (this.#endReason !== null) return this.#answer(this.#endReplyOf(this.#endReason))
    const index = this.#owner.parts.index
    if (!first) {
      index.foundNothing(this)
      return this.#owner.queueRound()
    }
    const remainingMs = this.#remainingMs()
    if (remainingMs === null) return this.#answer(nilReplyOf(this.#run.ctx.client.protocol))
    index.foundNothing(this)
    this.#registered = true
    this.#owner.parts.registry.block(this.#run.ctx, {
      keys: [],
      timeoutMs: remainingMs,
      serve: () => false,
      end: (reason) => this.ended(reason),
    })
    this.#owner.queueRound()
  }

  /**
   * Nil: nothing to pop. A later attempt that meets another type keeps waiting, as Redis serves
   * a blocked client only from a key of its type (BLMOVE to a wrong-type destination included).
   */
  #foundNothing(reply: Buffer, first: boolean): boolean {
    if (nilReplies.some((nil) => nil.equals(reply))) return true
    if (first) return false
    return reply.subarray(0, wrongTypePrefix.length).equals(wrongTypePrefix)
  }

  /** The time left of the command's timeout (0: forever), or null when it has passed. */
  #remainingMs(): number | null {
    const timeoutMs = parseBlockTimeoutOrThrow(blockingShapeOf(this.#run.argv).timeoutArg)
    if (timeoutMs === 0) return 0
    const elapsedMs = this.#owner.parts.clock.monotonicMs() - this.#startedAtMs
    return elapsedMs >= timeoutMs ? null : timeoutMs - elapsedMs
  }

  /** A timeout, CLIENT UNBLOCK, or 'gone' (a disconnect, shutdown; idempotent). */
  ended(reason: UnblockReason | 'gone'): void {
    if (reason === 'gone') {
      if (this.#answered) return
      // Disconnected or shutting down: the connection's slot is released with no bytes (Redis
      // closes a blocked client without a reply), now or when the attempt in flight ends.
      this.#answered = true
      this.#owner.finished(this, this.#run.ctx.client)
      if (!this.#inFlight) this.#run.done(noBytes)
      return
    }
    if (this.#answered || this.#endReason !== null) return
    this.#endReason = reason
    if (!this.#inFlight) this.#answer(this.#endReplyOf(reason))
  }

  #endReplyOf(reason: UnblockReason): Buffer {
    return reason === 'timeout' ? nilReplyOf(this.#run.ctx.client.protocol) : unblockedReply
  }

  /** The one reply: the client leaves the index and the registry (its input resumes). */
  #answer(reply: Buffer): void {
    assert(!this.#answered, 'a blocking command is answered once')
    this.#answered = true
    this.#owner.finished(this, this.#run.ctx.client)
    const registry = this.#owner.parts.registry
    if (this.#registered) registry.answered(this.#run.ctx.client)
    this.#run.done(reply)
  }
}
