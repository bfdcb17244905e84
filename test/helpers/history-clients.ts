/* Concurrent ioredis clients that drive caskade (one node or a cluster) with a random mix of
 * GET / SET / APPEND / CAS (WATCH+GET+MULTI/EXEC) / DEL on a few keys with unique values, and
 * record the history in the shared format (../../../shared/history-format.md). Invariant: an
 * operation is recorded completed only with a definite reply; a write whose fate is unknown
 * (UNCERTAIN, timeout, a connection lost after sending) is recorded unknown and its client goes
 * on under a new id on a new connection; one refused before anything happened (TRYAGAIN, not
 * sent) is a fail and left out, since it had no effect. */
import { Redis, ReplyError } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Rng } from '../../src/core/ports.js'
import type { History, Operation } from '../../src/check/index.js'

/** Monotonic microseconds: the history's time unit. */
export const nowUs = (): number => Math.round(performance.now() * 1000)

export class HistoryLog {
  readonly operations: Operation[] = []
  #nextClientId = 0

  newClientId(): number {
    return this.#nextClientId++
  }

  record(operation: Operation): void {
    this.operations.push(operation)
  }

  history(): History {
    const operations = [...this.operations].sort((a, b) => a.call - b.call || a.client - b.client)
    return { operations }
  }
}

export interface ClientCounts {
  ok: number
  /** Refused before any effect (TRYAGAIN, not sent): left out of the history. */
  fail: number
  /** Unknown outcome (UNCERTAIN, timeout, connection lost): recorded with `unknown`. */
  info: number
  /** Error replies by their first word, for the test's report. */
  errors: Record<string, number>
}

export interface HistoryClientsOptions {
  /** The nodes' client ports now (a restarted node may move); client i starts on port i % n. */
  ports: () => readonly number[]
  clients: number
  keys: readonly string[]
  rng: Rng
  log: HistoryLog
  /** Include compare-and-set (WATCH/MULTI/EXEC); default true. */
  cas?: boolean
  /** Per-command reply deadline; default 1000 ms. */
  commandTimeoutMs?: number
  /** Pause between one client's operations, uniform in [0, thinkMsMax); default 5. */
  thinkMsMax?: number
}

export interface HistoryClients {
  readonly counts: ClientCounts
  /** Issues no new operation and waits for the ones in flight; closes every connection. */
  stop(): Promise<void>
}

type Outcome = 'fail' | 'info'

/** How an error from a command maps to the history (see the header). */
export function classifyError(error: unknown): { outcome: Outcome; dropConnection: boolean } {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof ReplyError) {
    return { outcome: message.startsWith('TRYAGAIN') ? 'fail' : 'info', dropConnection: false }
  }
  // ioredis with enableOfflineQueue: false refuses before writing a byte.
  if (message.includes("Stream isn't writeable")) return { outcome: 'fail', dropConnection: true }
  return { outcome: 'info', dropConnection: true }
}

function errorWord(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof ReplyError) return message.split(' ')[0] ?? message
  if (message.includes('timed out')) return 'timeout'
  if (message.includes("Stream isn't writeable")) return 'not-sent'
  return 'connection'
}

export async function connectClient(port: number, commandTimeoutMs: number): Promise<Redis> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    autoResendUnfulfilledCommands: false,
    enableReadyCheck: false,
    connectTimeout: commandTimeoutMs,
    commandTimeout: commandTimeoutMs,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

/** One client: one connection, one operation at a time. */
class HistoryClient {
  readonly #options: Required<HistoryClientsOptions>
  readonly #counts: ClientCounts
  readonly #index: number
  #historyId: number
  #valueSeq = 0
  #portTurn: number
  #redis: Redis | null = null
  readonly #lastSeen = new Map<string, string | null>()

  constructor(options: Required<HistoryClientsOptions>, counts: ClientCounts, index: number) {
    this.#options = options
    this.#counts = counts
    this.#index = index
    this.#portTurn = index
    this.#historyId = options.log.newClientId()
  }

  async run(running: () => boolean): Promise<void> {
    while (running()) {
      if (this.#redis === null && !(await this.#connect())) {
        await sleep(50)
        continue
      }
      await this.#one()
      const thinkMs = this.#options.rng.int(Math.max(1, this.#options.thinkMsMax))
      if (thinkMs > 0) await sleep(thinkMs)
    }
    this.#drop()
  }

  async #connect(): Promise<boolean> {
    const ports = this.#options.ports()
    const port = ports[this.#portTurn++ % Math.max(1, ports.length)]
    if (port === undefined) return false
    try {
      this.#redis = await connectClient(port, this.#options.commandTimeoutMs)
      return true
    } catch {
      return false
    }
  }

  #drop(): void {
    this.#redis?.disconnect()
    this.#redis = null
  }

  async #one(): Promise<void> {
    const { rng, keys } = this.#options
    const key = keys[rng.int(keys.length)]!
    const roll = rng.int(100)
    if (roll < 40) return this.#get(key)
    const value = `${this.#index}-${++this.#valueSeq}`
    if (roll < 65) return this.#put(key, value)
    if (roll < 80) return this.#append(key, `${value},`)
    if (roll < 90 && this.#options.cas) return this.#cas(key, value)
    if (roll < 90) return this.#put(key, value)
    return this.#del(key)
  }

  /** Runs `command`; on an error counts it, records an unknown write if the outcome is unknown,
   * and returns undefined. */
  async #attempt<T>(
    write: Operation | null,
    command: (redis: Redis) => Promise<T>,
    dropOnError = false,
  ): Promise<T | undefined> {
    try {
      return await command(this.#redis!)
    } catch (error) {
      const { outcome, dropConnection } = classifyError(error)
      const word = errorWord(error)
      this.#counts.errors[word] = (this.#counts.errors[word] ?? 0) + 1
      this.#counts[outcome]++
      if (outcome === 'info' && write !== null) {
        this.#options.log.record({ ...write, unknown: true, note: word })
        this.#historyId = this.#options.log.newClientId()
        this.#drop()
      }
      if (dropConnection || dropOnError) this.#drop()
      return undefined
    }
  }

  #done(operation: Operation): void {
    this.#counts.ok++
    this.#options.log.record({ ...operation, return: nowUs() })
  }

  async #get(key: string): Promise<void> {
    const call = nowUs()
    const out = await this.#attempt(null, (redis) => redis.get(key))
    if (out === undefined) return
    this.#lastSeen.set(key, out)
    this.#done({ client: this.#historyId, op: 'get', key, call, out })
  }

  async #put(key: string, value: string): Promise<void> {
    const operation: Operation = { client: this.#historyId, op: 'put', key, value, call: nowUs() }
    const reply = await this.#attempt(operation, (redis) => redis.set(key, value))
    if (reply === undefined) return
    this.#lastSeen.set(key, value)
    this.#done(operation)
  }

  async #append(key: string, value: string): Promise<void> {
    const operation: Operation = {
      client: this.#historyId,
      op: 'append',
      key,
      value,
      call: nowUs(),
    }
    const length = await this.#attempt(operation, (redis) => redis.append(key, value))
    if (length === undefined) return
    this.#lastSeen.delete(key)
    this.#done({ ...operation, out: length })
  }

  async #del(key: string): Promise<void> {
    const operation: Operation = { client: this.#historyId, op: 'del', key, call: nowUs() }
    const removed = await this.#attempt(operation, (redis) => redis.del(key))
    if (removed === undefined) return
    this.#lastSeen.set(key, null)
    this.#done({ ...operation, out: removed === 1 ? 1 : 0 })
  }

  /** WATCH key, GET key: a different value is a failed cas (linearized at the GET); else
   * MULTI SET EXEC swaps unless the key was modified since the WATCH. */
  async #cas(key: string, value: string): Promise<void> {
    const expected = this.#lastSeen.get(key) ?? null
    const call = nowUs()
    const base = { client: this.#historyId, op: 'cas', key, expected, value, call } as const
    // Dropping the connection on any error clears its WATCH, which must never outlive this cas.
    const current = await this.#attempt(
      null,
      async (redis) => {
        await redis.watch(key)
        return redis.get(key)
      },
      true,
    )
    if (current === undefined) return
    if (current !== expected) {
      this.#done({ ...base, out: false })
      this.#lastSeen.set(key, current)
      const unwatched = await this.#attempt(null, (redis) => redis.unwatch())
      if (unwatched === undefined) this.#drop()
      return
    }
    const replies = await this.#attempt(
      base,
      async (redis) => {
        const result = await redis.multi().set(key, value).exec()
        const failed = result?.find(([error]) => error !== null)?.[0]
        if (failed !== undefined && failed !== null) throw failed
        return result
      },
      true,
    )
    if (replies === undefined) return
    const swapped = replies !== null
    if (swapped) this.#lastSeen.set(key, value)
    else this.#lastSeen.delete(key)
    this.#done({ ...base, out: swapped })
  }
}

/** Starts `options.clients` clients; they run until stop(). */
export function startHistoryClients(options: HistoryClientsOptions): HistoryClients {
  const full: Required<HistoryClientsOptions> = {
    cas: true,
    commandTimeoutMs: 1000,
    thinkMsMax: 5,
    ...options,
  }
  const counts: ClientCounts = { ok: 0, fail: 0, info: 0, errors: {} }
  let running = true
  const runs = Array.from({ length: full.clients }, (_, index) =>
    new HistoryClient(full, counts, index).run(() => running),
  )
  return {
    counts,
    stop: async () => {
      running = false
      await Promise.all(runs)
    },
  }
}
