/* Dispatch: finds a command (and subcommand) by name without allocating, checks arity, runs the
 * handler, turns a thrown CaskadeError into one error reply and keeps Redis's per-command stats.
 * Invariant: every call writes exactly one reply unless the handler itself breaks that contract;
 * a non-CaskadeError escapes, because it is a bug, not a user error. Inside MULTI a command is
 * queued instead of run, and a refusal flags the transaction (multi-queue.ts). */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode, RedisErrors } from '../core/errors.js'
import { flagTransaction, queueIfInMulti } from './multi-queue.js'
import type { CommandContext, CommandSpec } from './types.js'

/** Redis truncates the unknown command's name and the argument preview at 128 bytes. */
const unknownCommandPreviewBytesMax = 128
/**
 * Commands between two reads of the wall clock. In between, a command's wall time (for CLIENT
 * LIST idle=) is derived from the monotonic reading it takes anyway, like Redis's cached clock:
 * one clock read per command instead of two, and a clock step is picked up within this many.
 */
const wallClockReadIntervalCommands = 1024

export interface CommandStats {
  /** Full name as COMMAND reports it, e.g. 'get' or 'client|list'. */
  readonly name: string
  calls: number
  /** Total execution time in microseconds (fractional; rounded when rendered). */
  usec: number
  /** Refused before running: wrong arity. */
  rejectedCalls: number
  /** Ran and replied an error. */
  failedCalls: number
}

export interface Dispatcher {
  execute(ctx: CommandContext, args: readonly Buffer[]): void
  /** The table this dispatcher serves (top-level commands; subcommands nested in their spec). */
  readonly table: ReadonlyMap<string, CommandSpec>
  /** The spec `args` would run (a subcommand when the command is a container), or null. */
  lookup(args: readonly Buffer[]): CommandSpec | null
  /** Commands executed (arity-rejected and unknown ones are not counted, as in Redis). */
  commandsProcessed(): number
  /** Error replies sent, of any kind (Redis's total_error_replies). */
  errorReplies(): number
  /** Stats of every command and subcommand, in table order. */
  commandStats(): readonly CommandStats[]
  /** Error replies by error code (the first word), in first-seen order. */
  errorStats(): ReadonlyMap<string, number>
  /** CONFIG RESETSTAT. */
  resetStats(): void
  /**
   * Opens a batch (one read chunk of a connection) at monotonic `nowMs`: commands executed until
   * endBatch read no clock; endBatch shares the batch's elapsed time equally among them.
   */
  beginBatch(nowMs: number): void
  endBatch(nowMs: number): void
}

interface Entry {
  readonly spec: CommandSpec
  /** Lowercase ASCII bytes matched against the argument (the part after '|' for a sub). */
  readonly matchBytes: Buffer
  readonly subcommands: LookupIndex | null
  readonly stats: CommandStats
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
}

/** Names bucketed by (length, lowercased first byte): a lookup compares one or two names. */
class LookupIndex {
  readonly #buckets = new Map<number, Entry[]>()

  static keyOf(length: number, firstByte: number): number {
    return length * 256 + lowerAscii(firstByte)
  }

  add(entry: Entry): void {
    const bytes = entry.matchBytes
    const key = LookupIndex.keyOf(bytes.length, bytes[0] as number)
    const bucket = this.#buckets.get(key)
    if (bucket === undefined) this.#buckets.set(key, [entry])
    else bucket.push(entry)
  }

  find(arg: Buffer): Entry | null {
    if (arg.length === 0) return null
    const bucket = this.#buckets.get(LookupIndex.keyOf(arg.length, arg[0] as number))
    if (bucket === undefined) return null
    for (const entry of bucket) {
      if (equalsLowerAscii(arg, entry.matchBytes)) return entry
    }
    return null
  }
}

function equalsLowerAscii(arg: Buffer, lower: Buffer): boolean {
  for (let i = 1; i < arg.length; i++) {
    if (lowerAscii(arg[i] as number) !== lower[i]) return false
  }
  return true
}

function newStats(name: string): CommandStats {
  return { name, calls: 0, usec: 0, rejectedCalls: 0, failedCalls: 0 }
}

/** C's "%.*s": at most `maxBytes` bytes, stopping at a NUL byte. */
function cString(arg: Buffer, maxBytes: number): string {
  let end = Math.min(arg.length, Math.max(0, maxBytes))
  const nul = arg.indexOf(0)
  if (nul !== -1 && nul < end) end = nul
  return arg.toString('utf8', 0, end)
}

/** Redis's text: "unknown command 'foo', with args beginning with: 'a' 'b' " (128-byte caps). */
export function unknownCommandMessage(args: readonly Buffer[]): string {
  const name = args[0] === undefined ? '' : cString(args[0], unknownCommandPreviewBytesMax)
  let preview = ''
  let previewBytes = 0
  for (let i = 1; i < args.length && previewBytes < unknownCommandPreviewBytesMax; i++) {
    const text = cString(args[i] as Buffer, unknownCommandPreviewBytesMax - previewBytes)
    preview += `'${text}' `
    previewBytes += Buffer.byteLength(text) + 3
  }
  return RedisErrors.unknownCommand(name, preview)
}

/** Redis's text: "unknown subcommand 'x'. Try CLIENT HELP." */
export function unknownSubcommandMessage(container: string, sub: Buffer): string {
  const text = cString(sub, unknownCommandPreviewBytesMax)
  return `unknown subcommand '${text}'. Try ${container.toUpperCase()} HELP.`
}

function arityAccepts(arity: number, argCount: number): boolean {
  return arity > 0 ? argCount === arity : argCount >= -arity
}

function buildEntry(spec: CommandSpec, container: CommandSpec | null): Entry {
  const matchName = container === null ? spec.name : spec.name.slice(container.name.length + 1)
  let subcommands: LookupIndex | null = null
  if (spec.subcommands !== undefined) {
    subcommands = new LookupIndex()
    for (const sub of spec.subcommands) subcommands.add(buildEntry(sub, spec))
  }
  return {
    spec,
    matchBytes: Buffer.from(matchName, 'latin1'),
    subcommands,
    stats: newStats(spec.name),
  }
}

/** The dispatcher running a command right now (for INFO commandstats, COMMAND, RESETSTAT). */
let running: Dispatcher | null = null

/**
 * The dispatcher executing the current command, for handlers that describe the command layer
 * itself. Execution is synchronous, so this is exact; null outside `execute`.
 */
export function activeDispatcher(): Dispatcher | null {
  return running
}

export function createDispatcher(table: ReadonlyMap<string, CommandSpec>): Dispatcher {
  return new TableDispatcher(table)
}

class TableDispatcher implements Dispatcher {
  readonly table: ReadonlyMap<string, CommandSpec>
  readonly #index = new LookupIndex()
  readonly #allStats: CommandStats[] = []
  #errors = new Map<string, number>()
  #commandsProcessed = 0
  #errorReplies = 0
  #wallMinusMonotonicMs = 0
  #commandsUntilWallRead = 0
  /** Monotonic start of the open batch, or -1 when none is open (each command timed alone). */
  #batchStartMs = -1
  /** Stats of the commands run in the open batch, in run order: [0, #batchCount). */
  readonly #batchStats: CommandStats[] = []
  #batchCount = 0

  constructor(table: ReadonlyMap<string, CommandSpec>) {
    this.table = table
    for (const spec of table.values()) {
      const entry = buildEntry(spec, null)
      this.#index.add(entry)
      this.#allStats.push(entry.stats)
      if (spec.subcommands !== undefined) {
        const subs = entry.subcommands as LookupIndex
        for (const sub of spec.subcommands) {
          const subEntry = subs.find(Buffer.from(sub.name.slice(spec.name.length + 1), 'latin1'))
          assert(subEntry !== null, 'a subcommand is found by its own name')
          this.#allStats.push(subEntry.stats)
        }
      }
    }
  }

  lookup(args: readonly Buffer[]): CommandSpec | null {
    const name = args[0]
    if (name === undefined) return null
    const entry = this.#index.find(name)
    if (entry === null) return null
    if (entry.subcommands === null) return entry.spec
    const sub = args[1]
    if (sub === undefined) return entry.spec
    return entry.subcommands.find(sub)?.spec ?? null
  }

  execute(ctx: CommandContext, args: readonly Buffer[]): void {
    const name = args[0]
    assert(name !== undefined, 'a command has a name')
    const startMs = this.#batchStartMs >= 0 ? this.#batchStartMs : ctx.clock.monotonicMs()
    ctx.client.lastInteractionMs = this.#wallMsAt(ctx, startMs)
    let entry = this.#index.find(name)
    if (entry === null) {
      ctx.client.lastCommand = 'NULL'
      flagTransaction(ctx.client)
      this.#replyError(ctx, ErrorCode.Err, unknownCommandMessage(args))
      return
    }
    if (entry.subcommands !== null && args.length >= 2) {
      const sub = entry.subcommands.find(args[1] as Buffer)
      if (sub === null) {
        ctx.client.lastCommand = 'NULL'
        flagTransaction(ctx.client)
        const message = unknownSubcommandMessage(entry.spec.name, args[1] as Buffer)
        this.#replyError(ctx, ErrorCode.Err, message)
        return
      }
      entry = sub
    }
    const spec = entry.spec
    ctx.client.lastCommand = spec.name
    if (!arityAccepts(spec.arity, args.length)) {
      entry.stats.rejectedCalls++
      flagTransaction(ctx.client)
      this.#replyError(ctx, ErrorCode.Err, RedisErrors.wrongArity(spec.name))
      return
    }
    if (ctx.client.transaction !== undefined) {
      const queuing = queueIfInMulti(ctx, spec, args)
      if (queuing === 'queued') return
      if (queuing !== 'run') {
        entry.stats.rejectedCalls++
        this.#replyError(ctx, queuing.code, queuing.message)
        return
      }
    }
    this.#run(ctx, args, entry, startMs)
  }

  #wallMsAt(ctx: CommandContext, monotonicMs: number): number {
    if (this.#commandsUntilWallRead <= 0) {
      this.#wallMinusMonotonicMs = ctx.clock.wallMs() - monotonicMs
      this.#commandsUntilWallRead = wallClockReadIntervalCommands
    }
    this.#commandsUntilWallRead--
    return monotonicMs + this.#wallMinusMonotonicMs
  }

  #run(ctx: CommandContext, args: readonly Buffer[], entry: Entry, startMs: number): void {
    const stats = entry.stats
    const outer = running
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- publishes the running dispatcher
    running = this
    const bytesBefore = ctx.reply.pendingBytes()
    try {
      entry.spec.handler(ctx, args)
    } catch (error) {
      if (!(error instanceof CaskadeError)) throw error
      assert(
        ctx.reply.pendingBytes() === bytesBefore,
        `${entry.spec.name}: a handler throws before it writes any reply`,
      )
      stats.failedCalls++
      this.#replyError(ctx, error.code, error.message)
    } finally {
      running = outer
      if (this.#batchStartMs >= 0) this.#batchStats[this.#batchCount++] = stats
      else stats.usec += (ctx.clock.monotonicMs() - startMs) * 1000
      stats.calls++
      this.#commandsProcessed++
    }
  }

  beginBatch(nowMs: number): void {
    this.#batchStartMs = nowMs
    this.#batchCount = 0
  }

  /**
   * INFO commandstats stays meaningful: a batch is the commands of one read chunk, run back to
   * back, so its wall time is their total time (plus the parsing between them, which Redis leaves
   * out); each gets an equal share. Calls stay exact; usec per call is exact for a batch of one
   * (no pipelining) and an average over the batch otherwise. Saves two clock reads per command.
   */
  endBatch(nowMs: number): void {
    const count = this.#batchCount
    if (count > 0) {
      const shareUsec = ((nowMs - this.#batchStartMs) * 1000) / count
      const batch = this.#batchStats
      for (let i = 0; i < count; i++) (batch[i] as CommandStats).usec += shareUsec
    }
    this.#batchStartMs = -1
    this.#batchCount = 0
  }

  #replyError(ctx: CommandContext, code: string, message: string): void {
    this.#errorReplies++
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1)
    ctx.reply.error(code, message)
  }

  commandsProcessed(): number {
    return this.#commandsProcessed
  }

  errorReplies(): number {
    return this.#errorReplies
  }

  commandStats(): readonly CommandStats[] {
    return this.#allStats
  }

  errorStats(): ReadonlyMap<string, number> {
    return this.#errors
  }

  resetStats(): void {
    for (const stats of this.#allStats) {
      stats.calls = 0
      stats.usec = 0
      stats.rejectedCalls = 0
      stats.failedCalls = 0
    }
    this.#errors = new Map()
    this.#commandsProcessed = 0
    this.#errorReplies = 0
  }
}
