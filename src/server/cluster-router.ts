/* Cluster-mode command routing: 'write' commands become log entries (host.write on the leader,
 * forwarded by a follower), 'readonly' ones ReadIndex reads (local and stale after READONLY),
 * EXEC one 'exec' entry whose WATCH index came from a ReadIndex barrier, a blocking command
 * writes until one finds data (cluster-blocking.ts); per-node commands run locally.
 * Invariant: every write of a connection carries (clientId, sequence, ackedThrough), a retry
 * repeats its sequence, and at most sessionRepliesMax writes are in flight, so a write is applied
 * at most once however often or in whatever order it is retried or forwarded. */
import type { Dispatcher } from '../commands/dispatch.js'
import { hasSubscriptions } from '../commands/pubsub.js'
import { resetTransaction } from '../commands/transactions.js'
import type { ClientSession, CommandContext, CommandSpec } from '../commands/types.js'
import { ErrorCode, RedisErrors } from '../core/errors.js'
import type { Clock, Rng, Timers } from '../core/ports.js'
import { encodeEntry, encodeQuery, type CommandEntry } from '../replica/command-entry.js'
import { SessionClient } from '../replica/session-client.js'
import type { ReplicaResult } from '../replica/types.js'
import { randomClientId, type ClusterNode } from './cluster-node.js'
import { runRaftCommand } from './raft-command.js'
import type { CommandRouter, RouteKind, RouterSession } from './command-router.js'
import { retrying, type RetryOutcome } from './cluster-retry.js'
import type { AttemptResult, ClusterBlocking } from './cluster-blocking.js'

/** How long a write or read keeps retrying (elections, a lost leader) before it answers. */
export const routeRetryWindowMs = 5000
/** Writes of one connection waiting for the session's window; beyond: TRYAGAIN, not proposed. */
export const writesWaitingMax = 10_000

const ok = Buffer.from('+OK\r\n')
const errorBytes = (code: string, message: string): Buffer => Buffer.from(`-${code} ${message}\r\n`)
export const tryAgainReply = errorBytes(ErrorCode.TryAgain, RedisErrors.noLeader)
export const uncertainReply = errorBytes(ErrorCode.Uncertain, RedisErrors.uncertainWrite)
/** -MISCONF: this node's Raft log failed a write or fdatasync (Redis's AOF wording, adapted). */
export const misconfReply = (reason: string): Buffer =>
  errorBytes(ErrorCode.MisConf, RedisErrors.raftLogWriteError(reason))

export interface ClusterRouterParts {
  readonly node: ClusterNode
  readonly dispatcher: Dispatcher
  /** The node's blocked clients (BLPOP ...: cluster-blocking.ts). */
  readonly blocking: ClusterBlocking
  readonly clock: Clock
  readonly timers: Timers
  readonly rng: Rng
}

export function createClusterRouter(parts: ClusterRouterParts): CommandRouter {
  return { open: () => new ClusterRouterSession(parts) }
}

/** What a routed name asks for before the command table is consulted. */
const ownCommands = new Map<string, 'raft' | 'readonly' | 'readwrite'>([
  ['raft', 'raft'],
  ['readonly', 'readonly'],
  ['readwrite', 'readwrite'],
])

function arityAccepts(arity: number, argCount: number): boolean {
  return arity > 0 ? argCount === arity : argCount >= -arity
}

function lowerName(arg: Buffer | undefined): string {
  return arg === undefined || arg.length > 16 ? '' : arg.toString('latin1').toLowerCase()
}

class ClusterRouterSession implements RouterSession {
  readonly #parts: ClusterRouterParts
  /** The connection's session: sequences, ackedThrough, and the window of writes in flight. */
  readonly #session: SessionClient
  /** Writes past the window, started in order as earlier ones are answered. */
  readonly #waiting: Array<{ command: Uint8Array; finish: (outcome: RetryOutcome) => void }> = []
  #readonly = false
  #watched: Buffer[] = []
  #watchIndex = 0

  constructor(parts: ClusterRouterParts) {
    this.#parts = parts
    this.#session = new SessionClient(randomClientId(parts.rng))
  }

  classify(ctx: CommandContext, args: readonly Buffer[]): RouteKind {
    const client = ctx.client
    const own = ownCommands.get(lowerName(args[0]))
    if (own !== undefined) return client.transaction?.queued == null ? 'exclusive' : 'local'
    const spec = this.#parts.dispatcher.lookup(args)
    if (spec === null || !arityAccepts(spec.arity, args.length)) return 'local'
    const transaction = client.transaction
    if (transaction !== undefined && transaction.queued !== null) {
      return spec.name === 'exec' && !transaction.execAbort ? 'exclusive' : 'local'
    }
    if (spec.name === 'watch') return 'exclusive'
    if (client.protocol === 2 && hasSubscriptions(client)) return 'local'
    return routeOfSpec(spec)
  }

  beforeLocal(ctx: CommandContext, args: readonly Buffer[]): void {
    const name = lowerName(args[0])
    if (name === 'unwatch' || name === 'discard' || name === 'exec') this.#unwatch()
    if (name === 'reset') {
      this.#unwatch()
      this.#readonly = false
    }
    void ctx
  }

  start(
    kind: Exclude<RouteKind, 'local'>,
    ctx: CommandContext,
    args: readonly Buffer[],
    done: (reply: Buffer) => void,
  ): void {
    const protocol = ctx.client.protocol
    if (kind === 'write') {
      const timeMs = this.#parts.clock.wallMs()
      return this.#write({ kind: 'command', timeMs, protocol, argv: args }, done)
    }
    if (kind === 'read') return this.#read(encodeQuery({ protocol, argv: args }), done)
    this.#exclusive(ctx, args, done)
  }

  #exclusive(ctx: CommandContext, args: readonly Buffer[], done: (reply: Buffer) => void): void {
    const name = lowerName(args[0])
    switch (name) {
      case 'readonly':
      case 'readwrite':
        this.#readonly = name === 'readonly'
        return done(ok)
      case 'raft':
        return runRaftCommand(this.#parts.node, ctx.client.protocol, args, done)
      case 'watch':
        return this.#watch(ctx.client, args, done)
      case 'exec':
        return this.#exec(ctx, done)
      default:
        return this.#block(ctx, args, done)
    }
  }

  /** A blocking command: attempts are writes of this session (see cluster-blocking.ts). */
  #block(ctx: CommandContext, args: readonly Buffer[], done: (reply: Buffer) => void): void {
    const argv = args.map((arg) => Buffer.from(arg))
    const protocol = ctx.client.protocol
    const attempt = (attempted: (result: AttemptResult) => void): void => {
      const timeMs = this.#parts.clock.wallMs()
      const entry: CommandEntry = { kind: 'command', timeMs, protocol, argv }
      this.#writeOutcome(entry, (outcome) => {
        attempted({ ok: outcome.result.ok, reply: replyOf(outcome, true) })
      })
    }
    this.#parts.blocking.run({ ctx, argv, attempt, done })
  }

  /** Starts the write now if the session's window allows, else queues it (or TRYAGAIN). */
  #write(entry: CommandEntry, done: (reply: Buffer) => void): void {
    this.#writeOutcome(entry, (outcome) => done(replyOf(outcome, true)))
  }

  #writeOutcome(entry: CommandEntry, finish: (outcome: RetryOutcome) => void): void {
    const command = encodeEntry(entry)
    if (this.#waiting.length > 0 || !this.#session.canStart) {
      if (this.#waiting.length >= writesWaitingMax) {
        return finish({ result: { ok: false, error: 'busy' }, uncertain: false })
      }
      this.#waiting.push({ command, finish })
      return
    }
    this.#startWrite(command, finish)
  }

  /**
   * Every attempt carries the current ackedThrough (it only grows); the sequence counts as
   * answered once the reply is handed to the connection, which never asks for it again.
   */
  #startWrite(command: Uint8Array, finish: (outcome: RetryOutcome) => void): void {
    const session = this.#session
    const sequence = session.next()
    const node = this.#parts.node
    retrying(
      this.#retryParts(true),
      (attemptDone) => {
        const { clientId, ackedThrough } = session
        node.write({ clientId, sequence, ackedThrough, command }, attemptDone)
      },
      (outcome) => {
        session.answered(sequence)
        finish(outcome)
        this.#startWaiting()
      },
    )
  }

  #startWaiting(): void {
    while (this.#waiting.length > 0 && this.#session.canStart) {
      const write = this.#waiting.shift()
      if (write !== undefined) this.#startWrite(write.command, write.finish)
    }
  }

  #read(query: Uint8Array, done: (reply: Buffer) => void): void {
    const node = this.#parts.node
    if (this.#readonly) return done(Buffer.from(node.stateMachine.query(query)))
    retrying(
      this.#retryParts(true),
      (attemptDone) => node.read(query, attemptDone),
      (outcome) => done(replyOf(outcome, false)),
    )
  }

  /** WATCH: a ReadIndex barrier; modifications after the applied index then abort EXEC. */
  #watch(client: ClientSession, args: readonly Buffer[], done: (reply: Buffer) => void): void {
    const keys = args.slice(1).map((key) => Buffer.from(key))
    const node = this.#parts.node
    const query = encodeQuery({ protocol: client.protocol, argv: [Buffer.from('EXISTS'), ...keys] })
    retrying(
      this.#retryParts(true),
      (attemptDone) => node.read(query, attemptDone),
      (outcome) => {
        if (!outcome.result.ok) return done(replyOf(outcome, false))
        // The earliest WATCH counts for every key (conservative for later ones, as it must be).
        if (this.#watched.length === 0) this.#watchIndex = node.host.status().appliedIndex
        this.#watched.push(...keys)
        done(ok)
      },
    )
  }

  #exec(ctx: CommandContext, done: (reply: Buffer) => void): void {
    const transaction = ctx.client.transaction
    const commands = (transaction?.queued ?? []).map((command) => command.args)
    const entry: CommandEntry = {
      kind: 'exec',
      timeMs: this.#parts.clock.wallMs(),
      protocol: ctx.client.protocol,
      watchIndex: this.#watchIndex,
      watched: this.#watched,
      commands,
    }
    resetTransaction(ctx)
    this.#unwatch()
    this.#write(entry, done)
  }

  #unwatch(): void {
    this.#watched = []
    this.#watchIndex = 0
  }

  #retryParts(retryUnknown: boolean) {
    const { clock, timers } = this.#parts
    return { clock, timers, windowMs: routeRetryWindowMs, retryUnknown }
  }
}

/** 'write' and PUBLISH are proposed (every node's subscribers get a PUBLISH); 'readonly' read. */
function routeOfSpec(spec: CommandSpec): RouteKind {
  if (spec.flags.includes('blocking')) return 'exclusive'
  if (spec.flags.includes('write') || spec.name === 'publish' || spec.name === 'spublish') {
    return 'write'
  }
  if (spec.flags.includes('readonly')) return 'read'
  return 'local'
}

/** The client's reply for a routed command's final outcome. */
export function replyOf(outcome: RetryOutcome, write: boolean): Buffer {
  const result: ReplicaResult = outcome.result
  if (result.ok) return Buffer.from(result.reply)
  // A read that never got its answer changed nothing: it is always safe to try again.
  if (write && outcome.uncertain) return uncertainReply
  // Only an earlier copy of a write that outlived its answer is stale: it may have applied.
  if (result.error === 'stale') return uncertainReply
  if (result.error === 'refused') return errorBytes(ErrorCode.Err, result.reason)
  if (result.error === 'disk') return misconfReply(result.reason)
  return tryAgainReply
}
