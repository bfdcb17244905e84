/* Sorted sets over the keyspace: each member is one element record whose value is its score (an
 * 8-byte big-endian double, small enough to stay inline in the keydir), and beside the records an
 * in-memory SortedSetIndex per live zset orders them by (score, member). Invariant: a cached
 * index matches its key's records while the key's collection version is the one it was built for;
 * every zset element write goes through this store, which updates both. Why a cache keyed by the
 * version: DEL, expiry, RENAME, COPY and FLUSHALL replace a collection (a new version) without
 * knowing about sorted sets, and a restart starts from no index at all: both rebuild lazily. */
import { assert } from '../core/assert.js'
import type { Keyspace } from './types.js'
import { SortedSetIndex, type SortedSetEntry } from './structures/sorted-set-index.js'

export const scoreBytes = 8

export function encodeScore(score: number): Buffer {
  const value = Buffer.allocUnsafe(scoreBytes)
  value.writeDoubleBE(score + 0, 0)
  return value
}

export function decodeScore(value: Buffer): number {
  assert(value.length === scoreBytes, 'a zset element value is an 8-byte score')
  const score = value.readDoubleBE(0)
  assert(!Number.isNaN(score), 'a stored score is not NaN')
  return score
}

interface CachedIndex {
  version: number
  index: SortedSetIndex
}

/** Cached indexes allowed beyond twice the live ones found by the last sweep. */
const sweepSlack = 64

export class ZsetStore {
  readonly #keyspace: Keyspace
  readonly #cache = new Map<string, CachedIndex>()
  #sweepAt = sweepSlack

  constructor(keyspace: Keyspace) {
    this.#keyspace = keyspace
  }

  /** The order index of `key` (empty when the key holds no zset). The caller has checked the
   * type with collectionSize (which also expires the key lazily). */
  index(key: Buffer): SortedSetIndex {
    return this.#entry(key).index
  }

  /** Sets a member's score; writes one element record unless the score is unchanged. */
  add(key: Buffer, member: Buffer, score: number): 'added' | 'updated' | 'unchanged' {
    const entry = this.#entry(key)
    if (entry.index.score(member) === score + 0) return 'unchanged'
    this.#keyspace.setField(key, 'zset', member, encodeScore(score))
    if (entry.version === -1) entry.version = this.#keyspace.engine.collectionVersion(key)
    return entry.index.set(member, score)
  }

  /** Removes the given members (duplicates count once); the last one takes the key with it. */
  remove(key: Buffer, members: readonly Buffer[]): number {
    const entry = this.#entry(key)
    const removed = this.#keyspace.deleteFields(key, members)
    if (this.#keyspace.engine.collectionVersion(key) === -1) {
      this.#cache.delete(key.toString('latin1'))
      return removed
    }
    for (const member of members) entry.index.delete(member)
    return removed
  }

  /** Replaces whatever `key` holds by a zset of `entries` (the *STORE commands); none deletes. */
  replace(key: Buffer, entries: readonly SortedSetEntry[]): void {
    this.#keyspace.delete(key)
    this.#cache.delete(key.toString('latin1'))
    for (const { member, score } of entries) this.add(key, member, score)
  }

  /** Indexes held in memory, stale ones included (for tests). */
  cachedIndexCount(): number {
    return this.#cache.size
  }

  #entry(key: Buffer): CachedIndex {
    const name = key.toString('latin1')
    const version = this.#keyspace.engine.collectionVersion(key)
    let entry = this.#cache.get(name)
    if (entry !== undefined && entry.version === version) return entry
    entry = { version, index: this.#load(key, version) }
    this.#cache.set(name, entry)
    if (this.#cache.size > this.#sweepAt) this.#sweep()
    return entry
  }

  #load(key: Buffer, version: number): SortedSetIndex {
    const index = new SortedSetIndex()
    if (version === -1) return index
    const engine = this.#keyspace.engine
    const entries: SortedSetEntry[] = []
    for (const member of engine.elementFields(key)) {
      const value = engine.getElement(key, member)
      assert(value !== null, 'a listed member has a score')
      entries.push({ member, score: decodeScore(value) })
    }
    index.load(entries)
    return index
  }

  /** Drops indexes of keys deleted or replaced behind the store's back: amortized O(1). */
  #sweep(): void {
    const engine = this.#keyspace.engine
    for (const [name, entry] of this.#cache) {
      if (engine.collectionVersion(Buffer.from(name, 'latin1')) !== entry.version) {
        this.#cache.delete(name)
      }
    }
    this.#sweepAt = 2 * this.#cache.size + sweepSlack
  }
}

const stores = new WeakMap<Keyspace, ZsetStore>()

/** The store of a keyspace (one per keyspace, created on first use). */
export function zsetStoreOf(keyspace: Keyspace): ZsetStore {
  let store = stores.get(keyspace)
  if (store === undefined) {
    store = new ZsetStore(keyspace)
    stores.set(keyspace, store)
  }
  return store
}
