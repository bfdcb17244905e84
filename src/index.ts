/* The embedded API: `open(dir)` gives a Store over the same Bitcask engine and keyspace the server
 * uses, with no sockets. Invariant: a write's promise resolves only once the write is as durable
 * as the fsync policy promises; the default policy here is 'always' (unlike the server's
 * everysec), because a library caller who awaits a write expects it to survive a crash. */
import { randomBytes } from 'node:crypto'
import { CaskadeError, ErrorCode, RedisErrors } from './core/errors.js'
import { limits } from './core/limits.js'
import type { Clock, Disk, Timers } from './core/ports.js'
import { nodeDisk } from './io/disk.js'
import { systemClock } from './io/clock.js'
import { nodeTimers } from './io/timers.js'
import { createKeyspace } from './keyspace/keyspace.js'
import type { Keyspace } from './keyspace/types.js'
import { openEngine } from './storage/engine.js'
import type { FsyncPolicy, StorageEngine, StorageEvent } from './storage/types.js'

export { CaskadeError, ErrorCode } from './core/errors.js'
export type { FsyncPolicy, StorageEvent, EngineStats } from './storage/types.js'
export { startServer, type RunningServer, type ServerDeps } from './server/server.js'
export { defaultServerConfig, type ServerConfig } from './server/config.js'
export { createLogger, type Logger } from './obs/logger.js'

export interface OpenOptions {
  /** Default 'always': every awaited write is fdatasync'ed (group-committed per turn). */
  fsync?: FsyncPolicy
  segmentBytes?: number
  mergeDeadRatio?: number
  mergeDeadBytesMin?: number
  onEvent?: (event: StorageEvent) => void
  /** Ports, for tests that simulate time or the disk. */
  disk?: Disk
  clock?: Clock
  timers?: Timers
}

export interface StoreSetOptions {
  /** Relative expiry in milliseconds (> 0). */
  ttlMs?: number
  /** Absolute expiry as Unix milliseconds. */
  expiresAtMs?: number
  /** Only set if the key does not exist. */
  nx?: boolean
  /** Only set if the key exists. */
  xx?: boolean
}

export interface StoreScanOptions {
  /** Redis glob pattern (`user:*`). */
  match?: string
  /** Keys examined per step (a hint, as in Redis SCAN). */
  count?: number
}

export type Key = string | Buffer

export interface Store {
  get(key: Key): Promise<Buffer | null>
  getString(key: Key): Promise<string | null>
  /** Resolves true if the value was written (false when NX/XX prevented it). */
  set(key: Key, value: string | Buffer, options?: StoreSetOptions): Promise<boolean>
  /** Resolves with how many of the keys existed. */
  del(...keys: Key[]): Promise<number>
  /** Sets a relative expiry; false if the key does not exist. */
  expire(key: Key, ttlMs: number): Promise<boolean>
  /** Remaining milliseconds; -1 if the key has no expiry, -2 if it does not exist (PTTL). */
  ttl(key: Key): Promise<number>
  exists(key: Key): Promise<boolean>
  /** Every key present for the whole scan is yielded at least once (Redis SCAN guarantee). */
  scan(options?: StoreScanOptions): AsyncIterableIterator<Buffer>
  size(): Promise<number>
  /** Flushes, fsyncs and closes; the Store is unusable afterwards. */
  close(): Promise<void>
}

const defaultMergeDeadRatio = 0.5
const defaultMergeDeadBytesMin = 64 * 1024 * 1024
const defaultScanCount = 100

function toKey(key: Key): Buffer {
  return typeof key === 'string' ? Buffer.from(key) : key
}

function toValue(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value
}

/** A secret keydir hash key per process, so callers' keys cannot be made to collide. */
function randomHashSeed(): number[] {
  const bytes = randomBytes(8)
  return [bytes.readUInt32LE(0), bytes.readUInt32LE(4)]
}

export async function open(dir: string, options: OpenOptions = {}): Promise<Store> {
  const disk = options.disk ?? nodeDisk
  const clock = options.clock ?? systemClock
  const timers = options.timers ?? nodeTimers
  disk.mkdirp(dir)
  const engine = await openEngine({
    dir,
    disk,
    clock,
    timers,
    fsync: options.fsync ?? 'always',
    segmentBytesMax: options.segmentBytes ?? limits.segmentBytesDefault,
    mergeDeadRatioMin: options.mergeDeadRatio ?? defaultMergeDeadRatio,
    mergeDeadBytesMin: options.mergeDeadBytesMin ?? defaultMergeDeadBytesMin,
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    hashSeed: randomHashSeed(),
  })
  const keyspace = createKeyspace({ engine, clock, timers })
  return new EmbeddedStore(engine, keyspace, clock)
}

function whenDurable(engine: StorageEngine): Promise<void> {
  if (!engine.hasUndurableWrites()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    engine.whenDurable((error) => (error === undefined ? resolve() : reject(error)))
  })
}

class EmbeddedStore implements Store {
  readonly #engine: StorageEngine
  readonly #keyspace: Keyspace
  readonly #clock: Clock
  #closed = false

  constructor(engine: StorageEngine, keyspace: Keyspace, clock: Clock) {
    this.#engine = engine
    this.#keyspace = keyspace
    this.#clock = clock
  }

  #check(): void {
    if (this.#closed) throw new CaskadeError(ErrorCode.Err, 'the store is closed')
  }

  /** Runs a synchronous read as a promise, so misuse (a closed store) rejects, never throws. */
  #read<T>(read: () => T): Promise<T> {
    try {
      this.#check()
      return Promise.resolve(read())
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  get(key: Key): Promise<Buffer | null> {
    return this.#read(() => this.#keyspace.get(toKey(key)))
  }

  async getString(key: Key): Promise<string | null> {
    const value = await this.get(key)
    return value === null ? null : value.toString('utf8')
  }

  async set(key: Key, value: string | Buffer, options: StoreSetOptions = {}): Promise<boolean> {
    this.#check()
    const expiresAtMs = this.#expiryOf(options)
    const keyBuffer = toKey(key)
    if (options.nx === true || options.xx === true) {
      if (options.nx === true && options.xx === true) {
        throw new CaskadeError(ErrorCode.Err, RedisErrors.syntax)
      }
      const exists = this.#keyspace.exists(keyBuffer)
      if ((options.nx === true && exists) || (options.xx === true && !exists)) return false
    }
    this.#keyspace.set(keyBuffer, toValue(value), { expiresAtMs })
    await whenDurable(this.#engine)
    return true
  }

  #expiryOf(options: StoreSetOptions): number {
    if (options.ttlMs !== undefined && options.expiresAtMs !== undefined) {
      throw new CaskadeError(ErrorCode.Err, RedisErrors.syntax)
    }
    if (options.ttlMs !== undefined) {
      if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
        throw new CaskadeError(ErrorCode.Err, RedisErrors.invalidExpire('set'))
      }
      return this.#clock.wallMs() + options.ttlMs
    }
    if (options.expiresAtMs !== undefined) {
      if (!Number.isSafeInteger(options.expiresAtMs) || options.expiresAtMs <= 0) {
        throw new CaskadeError(ErrorCode.Err, RedisErrors.invalidExpire('set'))
      }
      return options.expiresAtMs
    }
    return 0
  }

  async del(...keys: Key[]): Promise<number> {
    this.#check()
    let deleted = 0
    for (const key of keys) if (this.#keyspace.delete(toKey(key))) deleted++
    await whenDurable(this.#engine)
    return deleted
  }

  async expire(key: Key, ttlMs: number): Promise<boolean> {
    this.#check()
    if (!Number.isSafeInteger(ttlMs)) {
      throw new CaskadeError(ErrorCode.Err, RedisErrors.invalidExpire('expire'))
    }
    const done = this.#keyspace.expireAt(toKey(key), this.#clock.wallMs() + ttlMs)
    await whenDurable(this.#engine)
    return done
  }

  ttl(key: Key): Promise<number> {
    return this.#read(() => {
      const expiresAtMs = this.#keyspace.expiresAtMs(toKey(key))
      return expiresAtMs < 0 ? expiresAtMs : Math.max(0, expiresAtMs - this.#clock.wallMs())
    })
  }

  exists(key: Key): Promise<boolean> {
    return this.#read(() => this.#keyspace.exists(toKey(key)))
  }

  async *scan(options: StoreScanOptions = {}): AsyncIterableIterator<Buffer> {
    this.#check()
    const match = options.match === undefined ? null : Buffer.from(options.match)
    const count = options.count ?? defaultScanCount
    let cursor = 0
    do {
      this.#check()
      const page = this.#keyspace.scan(cursor, { match, count, type: null })
      for (const key of page.keys) yield key
      cursor = page.cursor
      // Let other work run between pages: a scan of millions of keys must not hog the loop.
      await Promise.resolve()
    } while (cursor !== 0)
  }

  size(): Promise<number> {
    return this.#read(() => this.#keyspace.size())
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#engine.flushAndSync()
    this.#keyspace.close()
    await this.#engine.close()
  }
}
