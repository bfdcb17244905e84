/* Lists over the storage engine: each element is one element record whose field is its ListDeque
 * seq (8 order-preserving bytes) and whose value is the element, under a versioned metadata
 * record of kind list; beside the records an in-memory ListDeque per live list keeps the order.
 * Invariant: a cached deque matches its key's records while the key's collection version is the
 * one it was built for; every list element write goes through this store, which updates both (a
 * throw in the middle drops the cached deque, so the next access rebuilds it from the records).
 * Why a cache keyed by the version: DEL, expiry, RENAME, COPY and FLUSHALL replace a collection
 * without knowing about lists, and a restart starts with no deque at all: both rebuild lazily,
 * sorting the recovered seqs. A push writes one record, a pop one tombstone (the last one instead
 * deletes the key), LSET one record, LINSERT usually one (see list-deque.ts), LREM/LTRIM one
 * tombstone per removed element. */
import { assert } from '../core/assert.js'
import { checkElementSize } from '../storage/collection-key.js'
import { RecordKind } from '../storage/record-codec.js'
import type { StorageEngine } from '../storage/types.js'
import { ListDeque, type ListEntry } from './structures/list-deque.js'
import type { ListPositionOptions, ListSide } from './types.js'

export const listSeqBytes = 8

/** A seq as 8 bytes whose unsigned byte order is the numeric order (float64 big-endian, the
 * sign bit flipped for non-negatives, every bit for negatives): a dump sorted by field is in
 * list order. */
export function encodeListSeq(seq: number): Buffer {
  const field = Buffer.allocUnsafe(listSeqBytes)
  field.writeDoubleBE(seq + 0, 0) // + 0: never a -0
  if ((field[0] as number) & 0x80) {
    for (let at = 0; at < listSeqBytes; at++) field[at] = ~(field[at] as number) & 0xff
  } else {
    field[0] = (field[0] as number) | 0x80
  }
  return field
}

export function decodeListSeq(field: Buffer): number {
  assert(field.length === listSeqBytes, 'a list element field is an 8-byte seq')
  const bytes = Buffer.from(field)
  if ((bytes[0] as number) & 0x80) {
    bytes[0] = (bytes[0] as number) & 0x7f
  } else {
    for (let at = 0; at < listSeqBytes; at++) bytes[at] = ~(bytes[at] as number) & 0xff
  }
  const seq = bytes.readDoubleBE(0)
  assert(Number.isFinite(seq), 'a stored list seq is finite')
  return seq
}

interface CachedDeque {
  version: number
  deque: ListDeque
}

/** Cached deques allowed beyond twice the live ones found by the last sweep. */
const sweepSlack = 64

export class ListStore {
  readonly #engine: StorageEngine
  /** WATCH's signalModifiedKey, owned by the keyspace. */
  readonly #touch: (key: Buffer) => void
  readonly #cache = new Map<string, CachedDeque>()
  #sweepAt = sweepSlack

  constructor(engine: StorageEngine, touch: (key: Buffer) => void) {
    this.#engine = engine
    this.#touch = touch
  }

  push(key: Buffer, side: ListSide, values: readonly Buffer[]): number {
    const engine = this.#engine
    const kind = engine.kindOf(key)
    assert(kind === null || kind === RecordKind.list, 'push onto an absent key or a list')
    if (values.length === 0) return engine.elementCount(key)
    if (kind === null) {
      // Refuse an oversized element before the metadata record exists: never an empty list.
      checkElementSize(key, encodeListSeq(0), values[0] as Buffer)
    }
    const length = this.#mutate(key, () => {
      if (kind === null) engine.createCollection(key, RecordKind.list, 0)
      const deque = this.#entry(key).deque
      for (const value of values) {
        const copy = Buffer.from(value)
        const seq = side === 'left' ? deque.pushFront(copy) : deque.pushBack(copy)
        engine.putElement(key, encodeListSeq(seq), copy)
      }
      return deque.length
    })
    this.#touch(key)
    return length
  }

  pop(key: Buffer, side: ListSide, count: number): Buffer[] {
    assert(Number.isSafeInteger(count) && count >= 0, 'pop count is a non-negative integer')
    const deque = this.#entry(key).deque
    if (deque.length === 0 || count === 0) return []
    if (count >= deque.length) {
      const values = deque.range(0, -1)
      if (side === 'right') values.reverse()
      this.#deleteList(key)
      return values
    }
    const popped = this.#mutate(key, () => this.#popEntries(key, deque, side, count))
    this.#touch(key)
    return popped.map((entry) => entry.value)
  }

  range(key: Buffer, start: number, stop: number): Buffer[] {
    return this.#entry(key).deque.range(start, stop)
  }

  index(key: Buffer, index: number): Buffer | null {
    return this.#entry(key).deque.at(index) ?? null
  }

  set(key: Buffer, index: number, value: Buffer): boolean {
    const copy = Buffer.from(value)
    const done = this.#mutate(key, () => {
      const seq = this.#entry(key).deque.set(index, copy)
      if (seq === null) return false
      this.#engine.putElement(key, encodeListSeq(seq), copy)
      return true
    })
    if (done) this.#touch(key)
    return done
  }

  insert(key: Buffer, where: 'before' | 'after', pivot: Buffer, value: Buffer): number {
    const deque = this.#entry(key).deque
    const length = this.#mutate(key, () => {
      const changes = deque.insertAround(pivot, Buffer.from(value), where)
      if (changes === null) return -1
      for (const write of changes.writes) {
        this.#engine.putElement(key, encodeListSeq(write.seq), write.value)
      }
      for (const seq of changes.deletes) this.#engine.deleteElement(key, encodeListSeq(seq))
      return deque.length
    })
    if (length >= 0) this.#touch(key)
    return length
  }

  remove(key: Buffer, count: number, value: Buffer): number {
    const removed = this.#removeSeqs(key, (deque) => deque.remove(count, value))
    if (removed > 0) this.#touch(key)
    return removed
  }

  trim(key: Buffer, start: number, stop: number): number {
    const removed = this.#removeSeqs(key, (deque) => deque.trim(start, stop))
    this.#touch(key)
    return removed
  }

  positions(key: Buffer, value: Buffer, options: ListPositionOptions): number[] {
    return this.#entry(key).deque.find(value, options)
  }

  move(source: Buffer, destination: Buffer, from: ListSide, to: ListSide): Buffer {
    const deque = this.#entry(source).deque
    assert(deque.length > 0, 'move from a live list')
    if (!source.equals(destination)) {
      // The pop and the push (and a source emptied, or a destination created): one group.
      const value = this.#mutate(source, () => {
        const [popped] = this.pop(source, from, 1)
        assert(popped !== undefined, 'a live list pops an element')
        this.push(destination, to, [popped])
        return popped
      })
      return value
    }
    // A rotation: the element leaves one end and comes back at the other, so the list never
    // empties (even of one element) and the key keeps its version and expiry.
    const value = this.#mutate(source, () => {
      const [entry] = this.#popEntries(source, deque, from, 1)
      assert(entry !== undefined, 'a live list pops an element')
      const seq = to === 'left' ? deque.pushFront(entry.value) : deque.pushBack(entry.value)
      this.#engine.putElement(source, encodeListSeq(seq), entry.value)
      return entry.value
    })
    this.#touch(source)
    return value
  }

  /** Deques held in memory, stale ones included (for tests). */
  cachedDequeCount(): number {
    return this.#cache.size
  }

  /** Removes `count` (< length) entries from one end, one element tombstone each. */
  #popEntries(key: Buffer, deque: ListDeque, side: ListSide, count: number): ListEntry[] {
    const popped: ListEntry[] = []
    for (let i = 0; i < count; i++) {
      const entry = side === 'left' ? deque.popFront() : deque.popBack()
      assert(entry !== undefined, 'pop count is below the length')
      popped.push(entry)
    }
    for (const entry of popped) this.#engine.deleteElement(key, encodeListSeq(entry.seq))
    return popped
  }

  /** Runs `remove` on the deque and deletes the seqs it removed; the last ones take the key. */
  #removeSeqs(key: Buffer, remove: (deque: ListDeque) => number[]): number {
    const deque = this.#entry(key).deque
    const seqs = this.#mutate(key, () => {
      const removed = remove(deque)
      if (deque.length === 0 || removed.length === 0) return removed
      for (const seq of removed) this.#engine.deleteElement(key, encodeListSeq(seq))
      return removed
    })
    if (deque.length === 0 && seqs.length > 0) this.#deleteList(key)
    return seqs.length
  }

  /** The whole list goes: one metadata tombstone, the element records become dead bytes. */
  #deleteList(key: Buffer): void {
    this.#cache.delete(key.toString('latin1'))
    this.#engine.delete(key)
    this.#touch(key)
  }

  /** Runs a list write as one atomic group; a throw drops the (maybe half-changed) deque. */
  #mutate<T>(key: Buffer, write: () => T): T {
    this.#engine.beginGroup()
    try {
      return write()
    } catch (error) {
      this.#cache.delete(key.toString('latin1'))
      throw error
    } finally {
      this.#engine.endGroup()
    }
  }

  #entry(key: Buffer): CachedDeque {
    const name = key.toString('latin1')
    const version = this.#engine.collectionVersion(key)
    let entry = this.#cache.get(name)
    if (entry !== undefined && entry.version === version) return entry
    entry = { version, deque: this.#load(key, version) }
    if (version === -1) return entry // nothing to cache for an absent key
    this.#cache.set(name, entry)
    if (this.#cache.size > this.#sweepAt) this.#sweep()
    return entry
  }

  /** Rebuilds a deque from the list's element records: O(n log n) once per version. */
  #load(key: Buffer, version: number): ListDeque {
    const deque = new ListDeque()
    if (version === -1) return deque
    const engine = this.#engine
    const entries = engine.elementFields(key).map((field) => {
      const value = engine.getElement(key, field)
      assert(value !== null, 'a listed element has a value')
      return { seq: decodeListSeq(field), value }
    })
    entries.sort((a, b) => a.seq - b.seq)
    for (const entry of entries) deque.restoreBack(entry.seq, entry.value)
    return deque
  }

  /** Drops deques of keys deleted or replaced behind the store's back: amortized O(1). */
  #sweep(): void {
    for (const [name, entry] of this.#cache) {
      if (this.#engine.collectionVersion(Buffer.from(name, 'latin1')) !== entry.version) {
        this.#cache.delete(name)
      }
    }
    this.#sweepAt = 2 * this.#cache.size + sweepSlack
  }
}
