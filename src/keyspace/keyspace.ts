/* The keyspace over a StorageEngine: string values, expiry and the keyspace statistics. Invariant:
 * no key whose expiry has passed (now > expiresAtMs, Redis's rule) is ever returned: every access
 * expires lazily (a tombstone), and a budgeted timing wheel expires the keys nobody reads; every
 * key with an expiry E has a wheel entry at or before E (an entry that fires early for a key whose
 * TTL was extended moves itself to the new time, so refreshing a TTL adds no entry). Lookups
 * count keyspace_hits/misses exactly where Redis's lookupKeyRead does, and nowhere else. Every
 * modification of a key (expiry included) touches its watchers (WATCH), as Redis's
 * signalModifiedKey does: a new mutation must call #touch(key). */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode, wrongTypeError } from '../core/errors.js'
import { globMatch } from '../core/glob.js'
import type { Clock, Rng, Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { checkElementSize } from '../storage/collection-key.js'
import { RecordKind, isCollectionKind } from '../storage/record-codec.js'
import type { StorageEngine } from '../storage/types.js'
import { ListStore } from './list-store.js'
import { TimingWheel } from './timing-wheel.js'
import { WatchRegistry, type Watcher } from './watch.js'
import type {
  CollectionType,
  FieldScanPage,
  KeyMoveResult,
  Keyspace,
  KeyspaceScanOptions,
  KeyspaceStats,
  ListPositionOptions,
  ListSide,
  SetOptions,
} from './types.js'

/** How long active expiry waits before retrying a key whose deletion the disk refused. */
const refusedExpiryRetryMs = 1000

export const keyspaceDefaults = {
  /** Redis runs its active expire cycle at hz=10. */
  activeExpiryIntervalMs: 100,
  /** Keys expired per cycle at most: 100k keys/s at the default interval. */
  activeExpiryBudget: 10_000,
  wheelResolutionMs: 10,
  /** Rebuild the wheel once it holds more than this many entries per live expiring key... */
  wheelEntriesPerExpiringKeyMax: 2,
  /** ...and more than this many entries (lazy cancel leaves stale entries behind). */
  wheelRebuildEntriesMin: 4096,
  /** Keys fetched per engine scan call while KEYS walks the whole keyspace. */
  keysScanBatch: 1024,
} as const

export interface KeyspaceOptions {
  engine: StorageEngine
  clock: Clock
  timers: Timers
  activeExpiryIntervalMs?: number
  activeExpiryBudget?: number
  wheelResolutionMs?: number
  /** RANDOMKEY's randomness; seeded from the clock when absent. */
  rng?: Rng
  /** Told about expirations and read misses (keyspace notifications 'expired', 'keymiss'). */
  events?: KeyspaceEventListener
  /**
   * Called after every write that modifies `key` (not expiry): the blocking commands' "key may be
   * ready" signal (Redis's signalKeyAsReady). Must be cheap: it runs on every write.
   */
  onKeyModified?: (key: Buffer) => void
}

/** Events only the keyspace sees: Redis sends them from its db layer, not from a command. */
export interface KeyspaceEventListener {
  /** `key` was deleted because its time passed (lazily on access or by active expiry). */
  expired(key: Buffer): void
  /** A read lookup of `key` missed (exactly where keyspace_misses counts). */
  missed(key: Buffer): void
}

export function createKeyspace(options: KeyspaceOptions): EngineKeyspace {
  return new EngineKeyspace(options)
}

/** Wheel items are keys as latin1 strings: lean, and what the keydir uses too. */
type WheelKey = string

export class EngineKeyspace implements Keyspace {
  readonly engine: StorageEngine
  readonly #clock: Clock
  readonly #rng: Rng
  readonly #budget: number
  readonly #resolutionMs: number
  readonly #events: KeyspaceEventListener | null
  readonly #onKeyModified: ((key: Buffer) => void) | null
  #wheel: TimingWheel<WheelKey>
  #cancelTimer: (() => void) | null
  #expiredKeys = 0
  #hits = 0
  #misses = 0
  /** The time the running active-expiry cycle started at. */
  #cycleNowMs = 0
  /** Entries fired before their key expired (TTL extended, or the wall clock stepped back):
   * re-inserted at the key's current expiry once the cycle is over. */
  #notYetDue: Array<[WheelKey, number]> = []
  readonly #watches = new WatchRegistry()
  readonly #lists: ListStore

  constructor(options: KeyspaceOptions) {
    const intervalMs = options.activeExpiryIntervalMs ?? keyspaceDefaults.activeExpiryIntervalMs
    this.#budget = options.activeExpiryBudget ?? keyspaceDefaults.activeExpiryBudget
    this.#resolutionMs = options.wheelResolutionMs ?? keyspaceDefaults.wheelResolutionMs
    assert(intervalMs > 0, 'activeExpiryIntervalMs is positive')
    assert(this.#budget > 0, 'activeExpiryBudget is positive')
    this.engine = options.engine
    this.#events = options.events ?? null
    this.#onKeyModified = options.onKeyModified ?? null
    this.#clock = options.clock
    this.#rng = options.rng ?? createRng(options.clock.wallMs())
    this.#wheel = this.#filledWheel()
    this.#lists = new ListStore(this.engine, (key) => this.#touch(key))
    this.#cancelTimer = options.timers.every(intervalMs, this.#activeExpiryCycle)
  }

  get(key: Buffer): Buffer | null {
    if (this.#liveExpiry(key) === null) {
      this.#missed(key)
      return null
    }
    this.#hits++ // Redis counts the lookup as a hit before its type check
    this.#assertString(key)
    return this.engine.get(key)
  }

  peek(key: Buffer): Buffer | null {
    if (this.#liveExpiry(key) === null) return null
    this.#assertString(key)
    return this.engine.get(key)
  }

  set(key: Buffer, value: Buffer, options?: SetOptions): void {
    let previous = this.engine.expiresAtMs(key)
    if (previous !== null && previous !== 0 && previous < this.#clock.wallMs()) {
      // Redis's SET looks the key up first, which counts an expired key as expired.
      this.#expiredKeys++
      this.#events?.expired(key)
      previous = null
      this.#touchExpired(key)
    }
    const expiresAtMs = options?.keepTtl === true ? (previous ?? 0) : (options?.expiresAtMs ?? 0)
    this.engine.put(key, value, expiresAtMs)
    this.#touch(key)
    if (expiresAtMs !== 0) this.#schedule(key, expiresAtMs, previous)
  }

  delete(key: Buffer): boolean {
    if (this.#liveExpiry(key) === null) return false
    const deleted = this.engine.delete(key)
    if (deleted) this.#touch(key)
    return deleted
  }

  exists(key: Buffer): boolean {
    const found = this.has(key)
    if (found) this.#hits++
    else this.#missed(key)
    return found
  }

  has(key: Buffer): boolean {
    return this.#liveExpiry(key) !== null
  }

  typeOf(key: Buffer): string {
    if (!this.exists(key)) return 'none'
    return typeNameOf(this.engine.kindOf(key) ?? RecordKind.string)
  }

  valueLength(key: Buffer): number | null {
    if (this.#liveExpiry(key) === null) {
      this.#missed(key)
      return null
    }
    this.#hits++
    this.#assertString(key)
    return this.engine.valueLength(key)
  }

  expireAt(key: Buffer, expiresAtMs: number): boolean {
    assert(Number.isFinite(expiresAtMs), 'expiresAtMs is finite')
    const current = this.#liveExpiry(key)
    if (current === null) return false
    // Redis's checkAlreadyExpired: a time not after now deletes the key (not counted as expired).
    if (expiresAtMs <= this.#clock.wallMs()) return this.delete(key)
    this.engine.setExpiry(key, expiresAtMs)
    this.#schedule(key, expiresAtMs, current)
    this.#touch(key)
    return true
  }

  persist(key: Buffer): boolean {
    const expiresAtMs = this.#liveExpiry(key)
    if (expiresAtMs === null || expiresAtMs === 0) return false
    const persisted = this.engine.setExpiry(key, 0)
    if (persisted) this.#touch(key)
    return persisted
  }

  expiresAtMs(key: Buffer): number {
    const expiresAtMs = this.peekExpiresAtMs(key)
    if (expiresAtMs === -2) this.#missed(key)
    else this.#hits++
    return expiresAtMs
  }

  peekExpiresAtMs(key: Buffer): number {
    const expiresAtMs = this.#liveExpiry(key)
    if (expiresAtMs === null) return -2
    return expiresAtMs === 0 ? -1 : expiresAtMs
  }

  rename(from: Buffer, to: Buffer, options: { onlyIfAbsent: boolean }): KeyMoveResult {
    const expiresAtMs = this.#liveExpiry(from)
    if (expiresAtMs === null) return 'no-source'
    if (from.equals(to)) return options.onlyIfAbsent ? 'target-exists' : 'done'
    const target = this.#liveExpiry(to)
    if (target !== null && options.onlyIfAbsent) return 'target-exists'
    // Several records (a collection copies every element), one atomic group: a crash never
    // leaves both keys (or neither).
    this.engine.beginGroup()
    try {
      this.#copyValue(from, to, expiresAtMs)
      this.engine.delete(from)
    } finally {
      this.engine.endGroup()
    }
    if (expiresAtMs !== 0) this.#schedule(to, expiresAtMs, target)
    this.#touch(from)
    this.#touch(to)
    return 'done'
  }

  copy(from: Buffer, to: Buffer, options: { replace: boolean }): KeyMoveResult {
    assert(!from.equals(to), 'COPY checks for the same key first')
    if (!this.exists(from)) return 'no-source'
    const expiresAtMs = this.engine.expiresAtMs(from) ?? 0
    const target = this.#liveExpiry(to)
    if (target !== null && !options.replace) return 'target-exists'
    this.#copyValue(from, to, expiresAtMs)
    if (expiresAtMs !== 0) this.#schedule(to, expiresAtMs, target)
    this.#touch(to)
    return 'done'
  }

  scan(cursor: number, options: KeyspaceScanOptions): { cursor: number; keys: Buffer[] } {
    const page = this.engine.scan(cursor, options.count)
    const type = options.type === null ? null : options.type.toLowerCase()
    const keys: Buffer[] = []
    // Filter order as Redis 7.0's scanGenericCommand: pattern, then type, then expiry.
    for (const key of page.keys) {
      if (options.match !== null && !globMatch(options.match, key)) continue
      if (type !== null && this.typeOf(key) !== type) continue
      if (this.#liveExpiry(key) === null) continue
      keys.push(key)
    }
    return { cursor: page.cursor, keys }
  }

  keys(pattern: Buffer): Buffer[] {
    const matchAll = pattern.length === 1 && pattern[0] === 0x2a
    const nowMs = this.#clock.wallMs()
    const keys: Buffer[] = []
    let cursor = 0
    do {
      const page = this.engine.scan(cursor, keyspaceDefaults.keysScanBatch)
      for (const key of page.keys) {
        if (!matchAll && !globMatch(pattern, key)) continue
        const expiresAtMs = this.engine.expiresAtMs(key)
        if (expiresAtMs === null || (expiresAtMs !== 0 && expiresAtMs < nowMs)) continue
        keys.push(key)
      }
      cursor = page.cursor
    } while (cursor !== 0)
    return keys
  }

  randomKey(): Buffer | null {
    // Each expired draw deletes a key, so this ends (Redis's dbRandomKey on a primary).
    for (;;) {
      const key = this.engine.randomKey(this.#pick)
      if (key === null || this.#liveExpiry(key) !== null) return key
    }
  }

  size(): number {
    return this.engine.keyCount()
  }

  flush(): void {
    if (!this.#watches.isEmpty) {
      this.#watches.touchAll((name) => this.engine.has(Buffer.from(name, 'latin1')))
    }
    this.engine.clear()
    this.#wheel.clear()
  }

  stats(): KeyspaceStats {
    return {
      keys: this.engine.keyCount(),
      keysWithExpiry: this.engine.stats().keysWithExpiry,
      expiredKeys: this.#expiredKeys,
      keyspaceHits: this.#hits,
      keyspaceMisses: this.#misses,
    }
  }

  resetStats(): void {
    this.#expiredKeys = 0
    this.#hits = 0
    this.#misses = 0
  }

  close(): void {
    this.#cancelTimer?.()
    this.#cancelTimer = null
  }

  watch(watcher: Watcher, key: Buffer): void {
    // Redis's keyIsExpired: looks without deleting, so the expired key stays until touched.
    const expiresAtMs = this.engine.expiresAtMs(key)
    const expired = expiresAtMs !== null && expiresAtMs !== 0 && expiresAtMs < this.#clock.wallMs()
    this.#watches.watch(watcher, key.toString('latin1'), expired)
  }

  unwatch(watcher: Watcher): void {
    this.#watches.unwatchAll(watcher)
  }

  watchedKeyExpired(watcher: Watcher): boolean {
    const nowMs = this.#clock.wallMs()
    return this.#watches.anyExpiredSinceWatch(watcher, (name) => {
      const expiresAtMs = this.engine.expiresAtMs(Buffer.from(name, 'latin1'))
      return expiresAtMs !== null && expiresAtMs !== 0 && expiresAtMs < nowMs
    })
  }

  watchedKeyCount(): number {
    return this.#watches.keyCount
  }

  /** Runs one active-expiry cycle now (the timer calls this); returns the entries it visited. */
  activeExpireCycle(): number {
    this.#rebuildWheelIfStale()
    this.#cycleNowMs = this.#clock.wallMs()
    const visited = this.#wheel.advance(this.#cycleNowMs, this.#expireVisit, this.#budget)
    for (const [name, expiresAtMs] of this.#notYetDue) this.#wheel.insert(name, expiresAtMs)
    this.#notYetDue = []
    return visited
  }

  /** Entries in the timing wheel, stale ones included (for tests and INFO). */
  wheelSize(): number {
    return this.#wheel.size()
  }

  collectionSize(key: Buffer, type: CollectionType, lookup: 'read' | 'write'): number {
    const live = this.#liveExpiry(key) !== null
    if (lookup === 'read') {
      if (live) this.#hits++
      else this.#missed(key)
    }
    if (!live) return 0
    if (this.engine.kindOf(key) !== kindOfType[type]) throw wrongTypeError()
    const size = this.engine.elementCount(key)
    assert(size > 0, 'a live collection is not empty')
    return size
  }

  getField(key: Buffer, field: Buffer): Buffer | null {
    return this.engine.getElement(key, field)
  }

  hasField(key: Buffer, field: Buffer): boolean {
    return this.engine.hasElement(key, field)
  }

  setField(key: Buffer, type: CollectionType, field: Buffer, value: Buffer): boolean {
    if (this.engine.kindOf(key) === kindOfType[type]) {
      // A set member already there changes nothing: no record, and WATCH is not touched (Redis's
      // SADD signals only when it added). A hash field is rewritten, as HSET always modifies.
      if (type === 'set' && this.engine.hasElement(key, field)) return false
      const added = this.engine.putElement(key, field, value)
      this.#touch(key)
      return added
    }
    // Absent (collectionSize already expired it lazily): a new collection, no expiry. Its
    // metadata and first element form one atomic group: a crash never leaves an empty one.
    assert(!this.engine.has(key), 'setField creates only absent keys')
    // Refuse an oversized element before the metadata record exists: never an empty collection.
    checkElementSize(key, field, value)
    this.engine.beginGroup()
    try {
      this.engine.createCollection(key, kindOfType[type], 0)
      this.engine.putElement(key, field, value)
    } finally {
      this.engine.endGroup()
    }
    this.#touch(key)
    return true
  }

  deleteFields(key: Buffer, fields: readonly Buffer[]): number {
    const present = new Set<string>()
    for (const field of fields) {
      if (this.engine.hasElement(key, field)) present.add(field.toString('latin1'))
    }
    if (present.size === 0) return 0
    // The last fields go with the key: one metadata tombstone instead of one record per field.
    if (present.size === this.engine.elementCount(key)) {
      this.engine.delete(key)
    } else {
      // One record per field, one atomic group: a crash never removes only some of them.
      this.engine.beginGroup()
      try {
        for (const name of present) this.engine.deleteElement(key, Buffer.from(name, 'latin1'))
      } finally {
        this.engine.endGroup()
      }
    }
    this.#touch(key)
    return present.size
  }

  fieldNames(key: Buffer): Buffer[] {
    return this.engine.elementFields(key)
  }

  scanFields(key: Buffer, cursor: number, count: number): FieldScanPage {
    const page = this.engine.scanElements(key, cursor, count)
    return { cursor: page.cursor, fields: page.keys }
  }

  randomField(key: Buffer): Buffer {
    const field = this.engine.randomElement(key, this.#pick)
    assert(field !== null, 'a live collection has a random field')
    return field
  }

  listLength(key: Buffer, lookup: 'read' | 'write'): number {
    return this.collectionSize(key, 'list', lookup)
  }

  listPush(key: Buffer, side: ListSide, values: readonly Buffer[]): number {
    return this.#lists.push(key, side, values)
  }

  listPop(key: Buffer, side: ListSide, count: number): Buffer[] {
    return this.#lists.pop(key, side, count)
  }

  listRange(key: Buffer, start: number, stop: number): Buffer[] {
    return this.#lists.range(key, start, stop)
  }

  listIndex(key: Buffer, index: number): Buffer | null {
    return this.#lists.index(key, index)
  }

  listSet(key: Buffer, index: number, value: Buffer): boolean {
    return this.#lists.set(key, index, value)
  }

  listInsert(key: Buffer, where: 'before' | 'after', pivot: Buffer, value: Buffer): number {
    return this.#lists.insert(key, where, pivot, value)
  }

  listRemove(key: Buffer, count: number, value: Buffer): number {
    return this.#lists.remove(key, count, value)
  }

  listTrim(key: Buffer, start: number, stop: number): number {
    return this.#lists.trim(key, start, stop)
  }

  listPositions(key: Buffer, value: Buffer, options: ListPositionOptions): number[] {
    return this.#lists.positions(key, value, options)
  }

  listMove(source: Buffer, destination: Buffer, from: ListSide, to: ListSide): Buffer {
    return this.#lists.move(source, destination, from, to)
  }

  /** Writes `from`'s value (a string, or a collection field by field) to `to`. */
  #copyValue(from: Buffer, to: Buffer, expiresAtMs: number): void {
    const kind = this.engine.kindOf(from)
    assert(kind !== null, 'copy from a live key')
    if (!isCollectionKind(kind)) {
      const value = this.engine.get(from)
      assert(value !== null, 'a live key has a value')
      this.engine.put(to, value, expiresAtMs)
      return
    }
    const fields = this.engine.elementFields(from)
    const values = fields.map((field) => this.engine.getElement(from, field) as Buffer)
    // The copy appears whole or not at all after a crash (RENAME's outer group nests this one).
    this.engine.beginGroup()
    try {
      this.engine.createCollection(to, kind, expiresAtMs)
      fields.forEach((field, index) => this.engine.putElement(to, field, values[index] as Buffer))
    } finally {
      this.engine.endGroup()
    }
  }

  #assertString(key: Buffer): void {
    if (this.engine.kindOf(key) !== RecordKind.string) throw wrongTypeError()
  }

  /** The key's expiry (0 = none) when it is live; null when absent or expired (then deleted). */
  #liveExpiry(key: Buffer): number | null {
    const expiresAtMs = this.engine.expiresAtMs(key)
    if (expiresAtMs === null || expiresAtMs === 0) return expiresAtMs
    if (expiresAtMs >= this.#clock.wallMs()) return expiresAtMs
    // While the disk refuses writes the key reads as absent but stays (as on a Redis replica).
    if (this.#tryDelete(key)) this.#expired(key)
    return null
  }

  #expired(key: Buffer): void {
    this.#expiredKeys++
    this.#events?.expired(key)
    this.#touchExpired(key)
  }

  #missed(key: Buffer): void {
    this.#misses++
    this.#events?.missed(key)
  }

  /** Deletes an expired key; false when the engine refuses writes (MISCONF after a disk error). */
  #tryDelete(key: Buffer): boolean {
    try {
      this.engine.delete(key)
      return true
    } catch (error) {
      if (error instanceof CaskadeError && error.code === ErrorCode.MisConf) return false
      throw error
    }
  }

  readonly #activeExpiryCycle = (): void => {
    this.activeExpireCycle()
  }

  /**
   * Makes sure a wheel entry at or before `expiresAtMs` exists. A key that already had a live
   * expiry has an entry at or before it, so pushing the time out (refreshing a TTL, INCR with
   * KEEPTTL semantics) needs none: that entry moves itself when it fires.
   */
  #schedule(key: Buffer, expiresAtMs: number, previousLiveExpiresAtMs: number | null): void {
    const covered =
      previousLiveExpiresAtMs !== null &&
      previousLiveExpiresAtMs !== 0 &&
      previousLiveExpiresAtMs <= expiresAtMs
    if (!covered) this.#wheel.insert(key.toString('latin1'), expiresAtMs)
  }

  readonly #expireVisit = (name: WheelKey): void => {
    const key = Buffer.from(name, 'latin1')
    const current = this.engine.expiresAtMs(key)
    // Lazy cancel: the key was deleted or persisted since; this entry has nothing left to do.
    if (current === null || current === 0) return
    if (current >= this.#cycleNowMs) {
      this.#notYetDue.push([name, current])
      return
    }
    if (this.#tryDelete(key)) this.#expired(key)
    // Refused by a failed disk: look again later, in case writes are accepted again (ENOSPC).
    else this.#notYetDue.push([name, this.#cycleNowMs + refusedExpiryRetryMs])
  }

  readonly #pick = (bound: number): number => this.#rng.int(bound)

  /** Redis's signalModifiedKey for WATCH: one map lookup when anything is watched at all. */
  #touch(key: Buffer): void {
    this.#onKeyModified?.(key)
    if (this.#watches.isEmpty) return
    this.#watches.touch(key.toString('latin1'), () => this.engine.has(key))
  }

  /** Expiry deleted `key` (Redis's deleteExpiredKeyAndPropagate signals it too). */
  #touchExpired(key: Buffer): void {
    if (this.#watches.isEmpty) return
    this.#watches.touchExpired(key.toString('latin1'))
  }

  #filledWheel(): TimingWheel<WheelKey> {
    const wheel = new TimingWheel<WheelKey>({
      resolutionMs: this.#resolutionMs,
      startMs: Math.max(0, this.#clock.wallMs()),
    })
    this.engine.forEachExpiring((key, expiresAtMs) => {
      wheel.insert(key.toString('latin1'), expiresAtMs)
    })
    return wheel
  }

  /** Lazy cancel leaves stale entries; rebuild from the engine once they dominate. */
  #rebuildWheelIfStale(): void {
    const entries = this.#wheel.size()
    if (entries < keyspaceDefaults.wheelRebuildEntriesMin) return
    const live = this.engine.stats().keysWithExpiry
    if (entries <= live * keyspaceDefaults.wheelEntriesPerExpiringKeyMax) return
    this.#wheel = this.#filledWheel()
  }
}

const kindOfType: Record<CollectionType, number> = {
  hash: RecordKind.hash,
  set: RecordKind.set,
  zset: RecordKind.zset,
  list: RecordKind.list,
}

/** TYPE's reply for a record kind. */
function typeNameOf(kind: number): string {
  if (kind === RecordKind.hash) return 'hash'
  if (kind === RecordKind.set) return 'set'
  if (kind === RecordKind.zset) return 'zset'
  if (kind === RecordKind.list) return 'list'
  return 'string'
}
