/* Blocked clients, as Redis 7.0's blocked.c: a client whose blocking command (BLPOP, BZPOPMIN...)
 * found nothing waits on its keys, FIFO per key, until a write makes one ready, its timeout fires,
 * CLIENT UNBLOCK or a disconnect. Invariant: a blocked client is in every queue of its keys and in
 * #byId exactly while `session.blocked` is set, and it is answered exactly once. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Timers } from '../core/ports.js'
import { parseFloatArg } from './args.js'
import type { ClientSession, CommandContext } from './types.js'

/**
 * Serves a blocked client from `key`, which a write made ready: writes the reply and returns true,
 * or returns false (writing nothing) when the key holds nothing of the command's type.
 */
export type ServeFromKey = (ctx: CommandContext, key: Buffer) => boolean

/** What a blocking handler registers when it found nothing to pop. */
export interface BlockRequest {
  readonly keys: readonly Buffer[]
  /** From parseBlockTimeoutOrThrow: 0 = forever. */
  readonly timeoutMs: number
  readonly serve: ServeFromKey
  /**
   * Cluster mode: the reply comes from elsewhere (a replicated attempt). A timeout or CLIENT
   * UNBLOCK calls this instead of writing the reply, and the owner calls `answered` once it has
   * answered; 'gone' (a disconnect, shutdown) comes after the client was forgotten.
   */
  readonly end?: (reason: UnblockReason | 'gone') => void
}

/** One blocked client (the `session.blocked` of a blocked client). */
export interface BlockedClient {
  readonly ctx: CommandContext
  /** Its keys as latin1 names, duplicates removed, in command order. */
  readonly keyNames: readonly string[]
  readonly serve: ServeFromKey
  readonly end: ((reason: UnblockReason | 'gone') => void) | undefined
  cancelTimeout: (() => void) | null
}

/** How a client stops being blocked other than by being served. */
export type UnblockReason = 'timeout' | 'error'

const hexIntegerPattern = /^[-+]?0[xX][0-9a-fA-F]+$/
/** LLONG_MAX as a double: a timeout whose milliseconds reach it wraps to negative in C. */
const int64Max = 2 ** 63

/**
 * Redis 7.0's getTimeoutFromObjectOrReply in seconds: a long double (hex integers as strtold),
 * times 1000, rounded up to whole ms; a value that overflows a long long (inf included) wraps to
 * negative as on x86. Returns the timeout in ms, 0 = block forever (so -0.0001 blocks forever).
 */
export function parseBlockTimeoutOrThrow(arg: Buffer): number {
  const text = arg.toString('latin1')
  const seconds = hexIntegerPattern.test(text) ? Number.parseInt(text, 16) : parseFloatArg(arg)
  if (seconds === null || Number.isNaN(seconds)) {
    throw new CaskadeError(ErrorCode.Err, 'timeout is not a float or out of range')
  }
  const ms = Math.ceil(seconds * 1000)
  if (ms < 0 || !(ms < int64Max)) throw new CaskadeError(ErrorCode.Err, 'timeout is negative')
  return ms + 0
}

/** A blocking command may block: not inside EXEC (Redis's CLIENT_DENY_BLOCKING), and only where
 * the host runs a registry (the embedded API has no other clients to wait for). */
export function canBlock(ctx: CommandContext): boolean {
  return ctx.blocking !== undefined && ctx.client.transaction?.executing !== true
}

export class BlockingRegistry {
  readonly #timers: Timers
  /** The client's reply is written (served, timed out, unblocked): the host resumes its input. */
  onUnblocked: (session: ClientSession) => void = () => undefined
  /** The client now waits: the host keeps reading its input (and runs none of it). */
  onBlocked: (session: ClientSession) => void = () => undefined
  /** Key name -> its blocked clients in the order they blocked (a Set keeps insertion order).
   * Bounded by maxclients: a client waits in at most one command. */
  readonly #byKey = new Map<string, Set<BlockedClient>>()
  readonly #byId = new Map<number, BlockedClient>()
  /** Keys written since the last serve that some client waits on (Redis's server.ready_keys). */
  #readyKeys = new Set<string>()

  constructor(timers: Timers) {
    this.#timers = timers
  }

  /** INFO clients blocked_clients. */
  get blockedCount(): number {
    return this.#byId.size
  }

  /** INFO clients clients_in_timeout_table: blocked clients with a timeout. */
  get timedCount(): number {
    let count = 0
    for (const client of this.#byId.values()) if (client.cancelTimeout !== null) count++
    return count
  }

  /** The keyspace's modified-key hook: one size check while nobody is blocked. */
  readonly keyModified = (key: Buffer): void => {
    if (this.#byKey.size === 0) return
    const name = key.toString('latin1')
    if (this.#byKey.has(name)) this.#readyKeys.add(name)
  }

  hasReadyKeys(): boolean {
    return this.#readyKeys.size > 0
  }

  /** Blocks the client of `ctx` (its handler wrote no reply). */
  block(ctx: CommandContext, request: BlockRequest): void {
    const session = ctx.client
    assert(session.blocked === undefined, 'a blocked client runs no command')
    const keyNames = [...new Set(request.keys.map((key) => key.toString('latin1')))]
    const { serve, end } = request
    const client: BlockedClient = { ctx, keyNames, serve, end, cancelTimeout: null }
    for (const name of keyNames) {
      const queue = this.#byKey.get(name)
      if (queue === undefined) this.#byKey.set(name, new Set([client]))
      else queue.add(client)
    }
    this.#byId.set(session.id, client)
    session.blocked = client
    if (request.timeoutMs > 0) {
      client.cancelTimeout = this.#timers.after(request.timeoutMs, () => {
        client.cancelTimeout = null
        this.#finish(client, 'timeout')
      })
    }
    this.onBlocked(session)
  }

  /**
   * Redis's handleClientsBlockedOnKeys, run after each command: serves the clients of every ready
   * key in the order they blocked while the key has something for them. Serving can make more
   * keys ready (BLMOVE pushes): they are served in a later round of the same call.
   */
  serveReady(): void {
    while (this.#readyKeys.size > 0) {
      const round = this.#readyKeys
      this.#readyKeys = new Set()
      for (const name of round) this.#serveKey(name)
    }
  }

  /** CLIENT UNBLOCK: false when the client is not blocked. */
  unblock(clientId: number, reason: UnblockReason): boolean {
    const client = this.#byId.get(clientId)
    if (client === undefined) return false
    this.#finish(client, reason)
    return true
  }

  /** Cluster mode: a client disconnected, blocked or not (its first attempt may be in flight). */
  onClientGone: (session: ClientSession) => void = () => undefined

  /** A disconnect: forgets the client without a reply. */
  remove(session: ClientSession): void {
    const client = this.#byId.get(session.id)
    if (client !== undefined && client.ctx.client === session) this.#forget(client)
    this.onClientGone(session)
  }

  /** Shutdown: cancels every timeout (the connections are closing). */
  close(): void {
    for (const client of [...this.#byId.values()]) this.#forget(client)
  }

  /** Cluster mode: the owner of a client blocked with `end` answered it; its input resumes. */
  answered(session: ClientSession): void {
    const client = this.#byId.get(session.id)
    if (client === undefined || client.ctx.client !== session) return
    this.#release(client)
    this.onUnblocked(session)
  }

  #forget(client: BlockedClient): void {
    this.#release(client)
    client.end?.('gone')
  }

  #serveKey(name: string): void {
    const queue = this.#byKey.get(name)
    if (queue === undefined) return
    const key = Buffer.from(name, 'latin1')
    for (const client of [...queue]) {
      if (client.ctx.client.blocked !== client) continue // served through another key this round
      if (!client.serve(client.ctx, key)) continue // not its type (Redis skips other btypes)
      this.#release(client)
      this.onUnblocked(client.ctx.client)
    }
  }

  /** Timeout or CLIENT UNBLOCK: Redis's replyToBlockedClientTimedOut or the UNBLOCKED error. */
  #finish(client: BlockedClient, reason: UnblockReason): void {
    if (client.end !== undefined) return client.end(reason) // it answers, then calls answered()
    this.#release(client)
    const reply = client.ctx.reply
    if (reason === 'timeout') reply.nullArray()
    else reply.error(ErrorCode.Unblocked, 'client unblocked via CLIENT UNBLOCK')
    this.onUnblocked(client.ctx.client)
  }

  #release(client: BlockedClient): void {
    client.cancelTimeout?.()
    client.cancelTimeout = null
    for (const name of client.keyNames) {
      const queue = this.#byKey.get(name)
      if (queue === undefined) continue
      queue.delete(client)
      if (queue.size === 0) this.#byKey.delete(name)
    }
    const session = client.ctx.client
    this.#byId.delete(session.id)
    delete session.blocked
  }
}
