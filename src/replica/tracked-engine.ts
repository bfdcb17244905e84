/* The storage engine as the replicated keyspace's commands see it: every call goes to the real
 * engine, and every write also records (key -> log index of the entry that wrote it) for WATCH,
 * and (expiry, key) for the expiry order. Invariant: a write happens only while an entry is being
 * applied (never during a query), and while applying, random picks depend only on the data (not
 * on the engine's slot layout, which differs between a node restored from a snapshot and one that
 * applied the whole log), so every node picks the same SPOP member. */
import { assert } from '../core/assert.js'
import type { EngineStats, FsyncPolicy, ScanPage, StorageEngine } from '../storage/types.js'
import type { ExpiryQueue } from './expiry-queue.js'

/** WATCH bookkeeping: keys remembered with their last modifying index before the floor rises. */
export const modifiedKeysMax = 100_000

/** Keys modified recently, oldest first; a key evicted (or never seen) counts as modified at the
 * floor. FLUSHALL raises the floor to its own index. */
export class ModifiedKeys {
  readonly #lastIndex = new Map<string, number>()
  #floorIndex = 0

  get floorIndex(): number {
    return this.#floorIndex
  }

  /** The log index of the last entry that modified `name`, or a bound above it (the floor). */
  lastModifiedIndex(name: string): number {
    return this.#lastIndex.get(name) ?? this.#floorIndex
  }

  record(name: string, index: number): void {
    this.#lastIndex.delete(name)
    this.#lastIndex.set(name, index)
    if (this.#lastIndex.size <= modifiedKeysMax) return
    for (const [oldest, oldestIndex] of this.#lastIndex) {
      this.#lastIndex.delete(oldest)
      this.#floorIndex = Math.max(this.#floorIndex, oldestIndex)
      break
    }
  }

  everything(index: number): void {
    this.#lastIndex.clear()
    this.#floorIndex = Math.max(this.#floorIndex, index)
  }

  /** Oldest first, for the snapshot. */
  entries(): IterableIterator<[string, number]> {
    return this.#lastIndex.entries()
  }

  reset(floorIndex: number, entries: Iterable<readonly [string, number]>): void {
    this.#lastIndex.clear()
    this.#floorIndex = floorIndex
    for (const [name, index] of entries) this.#lastIndex.set(name, index)
  }
}

export type EngineMode = 'idle' | 'apply' | 'query'

const nameOf = (key: Buffer): string => key.toString('latin1')

export class TrackedEngine implements StorageEngine {
  readonly #engine: StorageEngine
  readonly #modified: ModifiedKeys
  readonly #expiries: ExpiryQueue
  /** Told of every key an applied entry writes (the node's blocked clients wait on keys). */
  readonly #onWrite: ((key: Buffer) => void) | undefined
  #mode: EngineMode = 'idle'
  #index = 0

  constructor(
    engine: StorageEngine,
    modified: ModifiedKeys,
    expiries: ExpiryQueue,
    onWrite?: (key: Buffer) => void,
  ) {
    this.#engine = engine
    this.#modified = modified
    this.#expiries = expiries
    this.#onWrite = onWrite
  }

  /** 'apply' with the entry's log index, 'query', or 'idle' between them. */
  setMode(mode: EngineMode, index = 0): void {
    this.#mode = mode
    this.#index = index
  }

  #wrote(key: Buffer, expiresAtMs: number): void {
    assert(this.#mode === 'apply', 'only an applied entry writes the replicated keyspace')
    const name = nameOf(key)
    this.#modified.record(name, this.#index)
    if (expiresAtMs !== 0) this.#expiries.push(name, expiresAtMs)
    this.#onWrite?.(key)
  }

  get(key: Buffer): Buffer | null {
    return this.#engine.get(key)
  }
  has(key: Buffer): boolean {
    return this.#engine.has(key)
  }
  expiresAtMs(key: Buffer): number | null {
    return this.#engine.expiresAtMs(key)
  }
  valueLength(key: Buffer): number | null {
    return this.#engine.valueLength(key)
  }
  put(key: Buffer, value: Buffer, expiresAtMs: number): void {
    this.#wrote(key, expiresAtMs)
    this.#engine.put(key, value, expiresAtMs)
  }
  delete(key: Buffer): boolean {
    const deleted = this.#engine.delete(key)
    if (deleted) this.#wrote(key, 0)
    return deleted
  }
  setExpiry(key: Buffer, expiresAtMs: number): boolean {
    const set = this.#engine.setExpiry(key, expiresAtMs)
    if (set) this.#wrote(key, expiresAtMs)
    return set
  }
  clear(): void {
    assert(this.#mode === 'apply', 'only an applied entry writes the replicated keyspace')
    this.#modified.everything(this.#index)
    this.#expiries.clear()
    this.#engine.clear()
  }
  beginGroup(): void {
    this.#engine.beginGroup()
  }
  endGroup(): void {
    this.#engine.endGroup()
  }
  keyCount(): number {
    return this.#engine.keyCount()
  }
  scan(cursor: number, count: number): ScanPage {
    return this.#engine.scan(cursor, count)
  }
  /** While applying: a key drawn from all keys in byte order (O(N log N), RANDOMKEY in EXEC). */
  randomKey(pick: (bound: number) => number): Buffer | null {
    if (this.#mode !== 'apply') return this.#engine.randomKey(pick)
    const keys = allKeys(this.#engine)
    if (keys.length === 0) return null
    keys.sort((a, b) => Buffer.compare(a, b))
    return keys[pick(keys.length)] as Buffer
  }
  forEachExpiring(visit: (key: Buffer, expiresAtMs: number) => void): void {
    this.#engine.forEachExpiring(visit)
  }
  hasUndurableWrites(): boolean {
    return this.#engine.hasUndurableWrites()
  }
  whenDurable(done: (error?: Error) => void): void {
    this.#engine.whenDurable(done)
  }
  setFsyncPolicy(policy: FsyncPolicy): void {
    this.#engine.setFsyncPolicy(policy)
  }
  flushAndSync(): Promise<void> {
    return this.#engine.flushAndSync()
  }
  startMerge(): boolean {
    return this.#engine.startMerge()
  }
  stats(): EngineStats {
    return this.#engine.stats()
  }
  close(): Promise<void> {
    return this.#engine.close()
  }
  kindOf(key: Buffer): number | null {
    return this.#engine.kindOf(key)
  }
  createCollection(key: Buffer, kind: number, expiresAtMs: number): void {
    this.#wrote(key, expiresAtMs)
    this.#engine.createCollection(key, kind, expiresAtMs)
  }
  elementCount(key: Buffer): number {
    return this.#engine.elementCount(key)
  }
  getElement(key: Buffer, field: Buffer): Buffer | null {
    return this.#engine.getElement(key, field)
  }
  hasElement(key: Buffer, field: Buffer): boolean {
    return this.#engine.hasElement(key, field)
  }
  putElement(key: Buffer, field: Buffer, value: Buffer): boolean {
    this.#wrote(key, 0)
    return this.#engine.putElement(key, field, value)
  }
  deleteElement(key: Buffer, field: Buffer): boolean {
    const deleted = this.#engine.deleteElement(key, field)
    if (deleted) this.#wrote(key, 0)
    return deleted
  }
  elementFields(key: Buffer): Buffer[] {
    return this.#engine.elementFields(key)
  }
  scanElements(key: Buffer, cursor: number, count: number): ScanPage {
    return this.#engine.scanElements(key, cursor, count)
  }
  /** While applying: a field drawn by position in insertion order (O(N), SPOP, SRANDMEMBER). */
  randomElement(key: Buffer, pick: (bound: number) => number): Buffer | null {
    if (this.#mode !== 'apply') return this.#engine.randomElement(key, pick)
    const fields = this.#engine.elementFields(key)
    if (fields.length === 0) return null
    return fields[pick(fields.length)] as Buffer
  }
  collectionVersion(key: Buffer): number {
    return this.#engine.collectionVersion(key)
  }
}

/** Every key of `engine` (including expired ones not yet deleted). */
export function allKeys(engine: StorageEngine): Buffer[] {
  const keys: Buffer[] = []
  let cursor = 0
  do {
    const page = engine.scan(cursor, 1024)
    for (const key of page.keys) keys.push(key)
    cursor = page.cursor
  } while (cursor !== 0)
  return keys
}
