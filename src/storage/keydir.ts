/* Keydir (pure): the in-memory index from key to its newest record (segment, offset, size, expiry,
 * seq). Keys live once, as latin1 strings, in a Map to a slot; per-slot fields live in parallel
 * typed arrays so 1M keys cost tens of bytes each. Invariant: a slot keeps its index for as long
 * as its key is present (arrays grow by doubling, never compact), which is what makes the slot a
 * valid SCAN cursor: a key present for the whole scan is visited. Freed slots are reused. */
import { assert } from '../core/assert.js'

export interface KeydirEntry {
  segmentId: number
  /** Byte offset of the record in its segment (segments are < 4 GiB). */
  offset: number
  /** Whole record size in bytes. */
  size: number
  /** 0 = no expiry, else Unix ms. */
  expiresAtMs: number
  seq: number
}

const slotCapacityInitial = 1024
/** SCAN examines at most this many slots per requested key, so sparse ranges cannot stall it. */
const scanSlotsPerKeyMax = 10
/** randomSlot tries this many uniform draws before probing linearly from one. */
const randomDrawsMax = 32
const flagTombstone = 1

export class Keydir {
  #slots = new Map<string, number>()
  #keys: (string | undefined)[] = []
  #segmentIds = new Uint32Array(slotCapacityInitial)
  #offsets = new Uint32Array(slotCapacityInitial)
  #sizes = new Uint32Array(slotCapacityInitial)
  #expiresAtMs = new Float64Array(slotCapacityInitial)
  #seqs = new Float64Array(slotCapacityInitial)
  #flags = new Uint8Array(slotCapacityInitial)
  #freeSlots: number[] = []
  /** Slots [0, highWater) have been used at least once. */
  #highWater = 0
  #expiringCount = 0

  get size(): number {
    return this.#slots.size
  }

  /** Keys with a non-zero expiry. */
  get expiringCount(): number {
    return this.#expiringCount
  }

  /** One past the highest slot ever used: the SCAN cursor range. */
  get slotHighWater(): number {
    return this.#highWater
  }

  slotOf(key: string): number {
    return this.#slots.get(key) ?? -1
  }

  keyAt(slot: number): string | undefined {
    return this.#keys[slot]
  }

  segmentIdAt(slot: number): number {
    return this.#segmentIds[slot]!
  }

  offsetAt(slot: number): number {
    return this.#offsets[slot]!
  }

  sizeAt(slot: number): number {
    return this.#sizes[slot]!
  }

  expiresAtMsAt(slot: number): number {
    return this.#expiresAtMs[slot]!
  }

  seqAt(slot: number): number {
    return this.#seqs[slot]!
  }

  /** Tombstones live in the keydir only while recovery merges segments in any order. */
  isTombstoneAt(slot: number): boolean {
    return (this.#flags[slot]! & flagTombstone) !== 0
  }

  /** Inserts or overwrites `key`; returns its slot. */
  set(key: string, entry: KeydirEntry, tombstone = false): number {
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      slot = this.#allocateSlot()
      this.#slots.set(key, slot)
      this.#keys[slot] = key
    }
    this.setAt(slot, entry, tombstone)
    return slot
  }

  /**
   * Recovery's upsert: sets `key` unless it already holds a record with a seq >= entry.seq.
   * One map lookup for the common case of a new key.
   */
  setIfNewer(key: string, entry: KeydirEntry, tombstone: boolean): void {
    const slot = this.#slots.get(key)
    if (slot === undefined) {
      const fresh = this.#allocateSlot()
      this.#slots.set(key, fresh)
      this.#keys[fresh] = key
      this.setAt(fresh, entry, tombstone)
    } else if (this.#seqs[slot]! < entry.seq) {
      this.setAt(slot, entry, tombstone)
    }
  }

  /** Overwrites the fields of an occupied slot (its key stays). */
  setAt(slot: number, entry: KeydirEntry, tombstone = false): void {
    assert(this.#keys[slot] !== undefined, 'setAt on an occupied slot')
    assert(entry.offset >= 0 && entry.offset < 0x1_0000_0000, 'offset fits 32 bits')
    assert(entry.size > 0 && entry.size < 0x1_0000_0000, 'record size fits 32 bits')
    const expiringBefore = this.#expiresAtMs[slot] !== 0 && !this.isTombstoneAt(slot)
    const expiringAfter = entry.expiresAtMs !== 0 && !tombstone
    this.#expiringCount += (expiringAfter ? 1 : 0) - (expiringBefore ? 1 : 0)
    this.#segmentIds[slot] = entry.segmentId
    this.#offsets[slot] = entry.offset
    this.#sizes[slot] = entry.size
    this.#expiresAtMs[slot] = entry.expiresAtMs
    this.#seqs[slot] = entry.seq
    this.#flags[slot] = tombstone ? flagTombstone : 0
  }

  /** Moves a record's location (merge); the other fields stay. */
  relocateAt(slot: number, segmentId: number, offset: number): void {
    assert(this.#keys[slot] !== undefined, 'relocate an occupied slot')
    this.#segmentIds[slot] = segmentId
    this.#offsets[slot] = offset
  }

  remove(key: string): boolean {
    const slot = this.#slots.get(key)
    if (slot === undefined) return false
    this.removeAt(slot)
    return true
  }

  removeAt(slot: number): void {
    const key = this.#keys[slot]
    assert(key !== undefined, 'remove an occupied slot')
    if (this.#expiresAtMs[slot] !== 0 && !this.isTombstoneAt(slot)) this.#expiringCount--
    this.#slots.delete(key)
    this.#keys[slot] = undefined
    this.#expiresAtMs[slot] = 0
    this.#flags[slot] = 0
    this.#freeSlots.push(slot)
  }

  /** Drops every key and releases the arrays (FLUSHALL). */
  clear(): void {
    this.#slots = new Map()
    this.#keys = []
    this.#segmentIds = new Uint32Array(slotCapacityInitial)
    this.#offsets = new Uint32Array(slotCapacityInitial)
    this.#sizes = new Uint32Array(slotCapacityInitial)
    this.#expiresAtMs = new Float64Array(slotCapacityInitial)
    this.#seqs = new Float64Array(slotCapacityInitial)
    this.#flags = new Uint8Array(slotCapacityInitial)
    this.#freeSlots = []
    this.#highWater = 0
    this.#expiringCount = 0
  }

  /**
   * Visits occupied slots from `cursor` until `count` were visited or `count * 10` slots were
   * examined; returns the next cursor, 0 when the range is exhausted (Redis SCAN semantics).
   */
  scan(cursor: number, count: number, visit: (slot: number) => void): number {
    assert(Number.isSafeInteger(cursor) && cursor >= 0, 'scan cursor is a non-negative integer')
    const wanted = Math.max(1, count)
    const examineMax = wanted * scanSlotsPerKeyMax
    let slot = cursor
    let visited = 0
    let examined = 0
    while (slot < this.#highWater && visited < wanted && examined < examineMax) {
      if (this.#keys[slot] !== undefined) {
        visit(slot)
        visited++
      }
      slot++
      examined++
    }
    return slot >= this.#highWater ? 0 : slot
  }

  /** An occupied slot chosen with `pick(bound)` in [0, bound), or -1 when empty. */
  randomSlot(pick: (bound: number) => number): number {
    if (this.#slots.size === 0) return -1
    for (let draw = 0; draw < randomDrawsMax; draw++) {
      const slot = pick(this.#highWater)
      if (this.#keys[slot] !== undefined) return slot
    }
    const start = pick(this.#highWater)
    for (let step = 0; step < this.#highWater; step++) {
      const slot = (start + step) % this.#highWater
      if (this.#keys[slot] !== undefined) return slot
    }
    assert(false, 'a non-empty keydir has an occupied slot')
  }

  /** Visits every occupied slot in slot order. */
  forEachSlot(visit: (slot: number) => void): void {
    for (let slot = 0; slot < this.#highWater; slot++) {
      if (this.#keys[slot] !== undefined) visit(slot)
    }
  }

  #allocateSlot(): number {
    const reused = this.#freeSlots.pop()
    if (reused !== undefined) return reused
    if (this.#highWater === this.#segmentIds.length) this.#grow()
    return this.#highWater++
  }

  #grow(): void {
    const capacity = this.#segmentIds.length * 2
    this.#segmentIds = growArray(this.#segmentIds, new Uint32Array(capacity))
    this.#offsets = growArray(this.#offsets, new Uint32Array(capacity))
    this.#sizes = growArray(this.#sizes, new Uint32Array(capacity))
    this.#expiresAtMs = growArray(this.#expiresAtMs, new Float64Array(capacity))
    this.#seqs = growArray(this.#seqs, new Float64Array(capacity))
    this.#flags = growArray(this.#flags, new Uint8Array(capacity))
  }
}

function growArray<T extends Uint32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from)
  return to
}
