/* Contract of the keyspace: the data model over the storage engine. It enforces expiry (lazy on
 * access, active through a timing wheel) and types. Until collections land every value is a
 * string; the type checks go through here so WRONGTYPE arrives in one place later. */
import type { StorageEngine } from '../storage/types.js'
import type { Watcher } from './watch.js'

export interface KeyspaceStats {
  keys: number
  keysWithExpiry: number
  expiredKeys: number
  keyspaceHits: number
  keyspaceMisses: number
}

export interface SetOptions {
  /** Absolute Unix ms; 0 or absent = no expiry (unless keepTtl). */
  expiresAtMs?: number
  keepTtl?: boolean
}

export interface KeyspaceScanOptions {
  /** Glob pattern as in Redis MATCH; null = everything. */
  match: Buffer | null
  count: number
  /** Type name filter ('string', ...); null = all. */
  type: string | null
}

export interface Keyspace extends CollectionKeyspace, ListKeyspace {
  readonly engine: StorageEngine
  /** String value, or null when absent or expired. Throws WRONGTYPE for other types. */
  get(key: Buffer): Buffer | null
  set(key: Buffer, value: Buffer, options?: SetOptions): void
  delete(key: Buffer): boolean
  exists(key: Buffer): boolean
  /** 'none' when absent. */
  typeOf(key: Buffer): string
  /** Sets an absolute expiry (Unix ms); an expiry in the past deletes the key. False if absent. */
  expireAt(key: Buffer, expiresAtMs: number): boolean
  persist(key: Buffer): boolean
  /** -2 absent, -1 no expiry, else the absolute Unix ms. */
  expiresAtMs(key: Buffer): number
  scan(cursor: number, options: KeyspaceScanOptions): { cursor: number; keys: Buffer[] }
  randomKey(): Buffer | null
  size(): number
  flush(): void
  stats(): KeyspaceStats
  /** Stops the active-expiry timer. The engine is closed by its owner. */
  close(): void

  // Additive: the lookups Redis makes without touching keyspace_hits/misses (lookupKeyWrite),
  // and the type-agnostic key operations, so collections later change one place.
  /** Like get, but a write lookup: expires lazily, counts no hit or miss. */
  peek(key: Buffer): Buffer | null
  /** Like exists, but counts no hit or miss. */
  has(key: Buffer): boolean
  /** Like expiresAtMs, but counts no hit or miss. */
  peekExpiresAtMs(key: Buffer): number
  /** Length of the string value (STRLEN), or null when absent; counts a hit or a miss. */
  valueLength(key: Buffer): number | null
  /** RENAME / RENAMENX: moves the value with its expiry (a write lookup of both keys). */
  rename(from: Buffer, to: Buffer, options: { onlyIfAbsent: boolean }): KeyMoveResult
  /** COPY: copies the value with its expiry (the source lookup counts a hit or a miss). */
  copy(from: Buffer, to: Buffer, options: { replace: boolean }): KeyMoveResult
  /** KEYS: every live key matching the glob pattern, expired ones skipped (not deleted). */
  keys(pattern: Buffer): Buffer[]
  /** CONFIG RESETSTAT: zeroes expiredKeys, keyspaceHits and keyspaceMisses. */
  resetStats(): void

  // Additive (transactions): WATCH, as Redis 7.0's multi.c. Every write, expiry (lazy or active)
  // and FLUSHALL dirties the watchers of the keys it touches (see watch.ts).
  /** WATCH key: remembers whether the key was already expired (and not yet deleted). */
  watch(watcher: Watcher, key: Buffer): void
  /** UNWATCH, EXEC, DISCARD, a closed connection: stops watching every key of `watcher`. */
  unwatch(watcher: Watcher): void
  /** EXEC: a watched key not expired at WATCH has expired since (Redis's isWatchedKeyExpired). */
  watchedKeyExpired(watcher: Watcher): boolean
  /** Keys watched by at least one client. */
  watchedKeyCount(): number
}

export type KeyMoveResult = 'done' | 'no-source' | 'target-exists'

// Additive (collections engineer): hashes and sets, one storage record per field or member.
export type CollectionType = 'hash' | 'set' | 'zset' | 'list'

/** A page of a collection scan: field names, and the cursor to continue from (0 = done). */
export interface FieldScanPage {
  cursor: number
  fields: Buffer[]
}

/**
 * Collections through the keyspace. A command first calls collectionSize, which expires the key
 * lazily and throws WRONGTYPE when the key holds another type; the field methods then act on a
 * live collection (size > 0). A collection never stays empty: the last field removed deletes the
 * key. Strings meet the same check: get/peek/valueLength throw WRONGTYPE on a collection.
 */
export interface CollectionKeyspace {
  /** Element count (0 = absent). `lookup` 'read' counts a keyspace hit or miss as Redis does. */
  collectionSize(key: Buffer, type: CollectionType, lookup: 'read' | 'write'): number
  getField(key: Buffer, field: Buffer): Buffer | null
  hasField(key: Buffer, field: Buffer): boolean
  /** Sets one field (a set member's value is empty), creating the key when absent; true if new. */
  setField(key: Buffer, type: CollectionType, field: Buffer, value: Buffer): boolean
  /** Removes the given fields (duplicates count once); returns how many were present. */
  deleteFields(key: Buffer, fields: readonly Buffer[]): number
  /** Field names in insertion order (Redis's order while a hash is small). */
  fieldNames(key: Buffer): Buffer[]
  scanFields(key: Buffer, cursor: number, count: number): FieldScanPage
  /** A uniformly-ish random field of a live collection (the keyspace's Rng). */
  randomField(key: Buffer): Buffer
}

// Additive (lists engineer): lists, one element record per element (list-store.ts).
/** The end of a list: 'left' is the head (LPUSH, LPOP), 'right' the tail. */
export type ListSide = 'left' | 'right'

/** LPOS options as Redis defines them: rank != 0 (negative scans from the tail), count 0 = all
 * matches, maxLength 0 = compare every element. */
export interface ListPositionOptions {
  rank: number
  count: number
  maxLength: number
}

/**
 * Lists through the keyspace. As for the other collections, a command first calls listLength,
 * which expires the key lazily and throws WRONGTYPE when the key holds another type; the other
 * methods then act on a live list (length > 0), except listPush and listMove's destination, which
 * create an absent list. Each mutation writes records proportional to what changed, as one
 * atomic group, and touches WATCH; a list never stays empty (the last element takes the key with
 * it, one metadata tombstone). Indexes are Redis's (negative counts from the tail). Keyspace
 * notifications are the caller's (the command layer's).
 */
export interface ListKeyspace {
  /** Element count (0 = absent). `lookup` 'read' counts a keyspace hit or miss as Redis does. */
  listLength(key: Buffer, lookup: 'read' | 'write'): number
  /** LPUSH/RPUSH: pushes `values` one after the other at `side` (LPUSH a b leaves b first),
   * creating the list when absent; returns the new length. Values are copied. */
  listPush(key: Buffer, side: ListSide, values: readonly Buffer[]): number
  /** LPOP/RPOP: removes up to `count` elements from `side`, in the order popped. */
  listPop(key: Buffer, side: ListSide, count: number): Buffer[]
  /** LRANGE: Redis's inclusive, clamped range. */
  listRange(key: Buffer, start: number, stop: number): Buffer[]
  /** LINDEX: null when out of range. */
  listIndex(key: Buffer, index: number): Buffer | null
  /** LSET: false when the index is out of range (nothing written). */
  listSet(key: Buffer, index: number, value: Buffer): boolean
  /** LINSERT: the new length, or -1 when `pivot` is absent (nothing written). */
  listInsert(key: Buffer, where: 'before' | 'after', pivot: Buffer, value: Buffer): number
  /** LREM: removes up to |count| matches from the head (count > 0), the tail (< 0) or all (0). */
  listRemove(key: Buffer, count: number, value: Buffer): number
  /** LTRIM: keeps Redis's range; returns how many elements were removed (touches WATCH always,
   * as Redis's LTRIM signals the key even when nothing goes). */
  listTrim(key: Buffer, start: number, stop: number): number
  /** LPOS: head-relative indexes of matching elements. */
  listPositions(key: Buffer, value: Buffer, options: ListPositionOptions): number[]
  /** LMOVE/RPOPLPUSH: pops one element from `source`'s `from` end and pushes it at
   * `destination`'s `to` end, one atomic group (the source may be the destination: a rotation).
   * The caller has checked both keys' types and that the source is live. */
  listMove(source: Buffer, destination: Buffer, from: ListSide, to: ListSide): Buffer
}
