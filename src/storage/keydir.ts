/* Keydir (pure): the in-memory index from key to its newest record (segment, offset, size, expiry,
 * seq). Keys live once, as bytes in one arena Buffer, found through an open-addressing table of
 * typed arrays; per-slot fields live in parallel typed arrays. Why: no per-key JS object or string,
 * so 1M keys cost tens of bytes each off the GC heap, and a lookup hashes the request's bytes
 * without building a string. Invariant: a slot keeps its index for as long as its key is present
 * (arrays grow by doubling, never compact), which is what makes the slot a valid SCAN cursor: a
 * key present for the whole scan is visited. Freed slots are reused. The table hashes with keyed
 * HalfSipHash-1-3 (a per-process secret seed), not FNV: clients choose keys, and with an unkeyed
 * hash they could make every probe run O(n) (hash flooding; Redis uses seeded SipHash too).
 * Values of at most inlineValueBytesMax bytes that put() hands in are cached in the arena right
 * after their key, so GET skips the pread; only a cache: any record change without a value drops
 * it (recovery, tombstones), and a slot's arena bytes are its key plus its inline value. */
import { assert } from '../core/assert.js'
import { halfSipHash13, hashSeedWords, type HashSeed } from './half-siphash.js'

export interface KeydirEntry {
  segmentId: number
  /** Byte offset of the record in its segment (segments are < 4 GiB). */
  offset: number
  /** Whole record size in bytes. */
  size: number
  /** 0 = no expiry, else Unix ms. */
  expiresAtMs: number
  seq: number
  /** RecordKind of the record (string when absent). */
  kind?: number
}

const slotCapacityInitial = 1024
/** Table cells per slot of capacity: the table stays at most half full, so probes stay short. */
const tableCellsPerSlot = 2
const arenaBytesInitial = 16 * 1024
/** Compact the key arena once dead key bytes exceed both this and the live key bytes. */
const arenaDeadBytesMin = 64 * 1024
/** SCAN examines at most this many slots per requested key, so sparse ranges cannot stall it. */
const scanSlotsPerKeyMax = 10
/** randomSlot tries this many uniform draws before probing linearly from one. */
const randomDrawsMax = 32
/** Values up to this size are kept in the arena after the key (counters, flags, short ids). */
export const inlineValueBytesMax = 16
/** In #inlineLengths: the slot's value is not cached in memory. */
const inlineNone = -1
const flagTombstone = 1
const flagOccupied = 2
/** The hash key when the caller gives none (tests, tools): hosts pass a random one. */
const hashSeedDefault: HashSeed = [0x736f6d65, 0x646f7261]

export class Keydir {
  /** HalfSipHash key words: fixed for the keydir's life, since the table stores hashes. */
  readonly #hashK0: number
  readonly #hashK1: number
  /** Cells of [slot + 1, hash] (0 = empty cell), linear probing, power-of-two cell count. */
  #table = new Int32Array(2 * slotCapacityInitial * tableCellsPerSlot)
  #tableMask = slotCapacityInitial * tableCellsPerSlot - 1
  #size = 0
  #arena = Buffer.allocUnsafe(arenaBytesInitial)
  #arenaUsed = 0
  #arenaDead = 0
  /** Latin1 keys of the string API are encoded here before a lookup. */
  #scratch = Buffer.allocUnsafe(256)
  #keyStarts = new Float64Array(slotCapacityInitial)
  #keyLengths = new Uint32Array(slotCapacityInitial)
  #segmentIds = new Uint32Array(slotCapacityInitial)
  #offsets = new Uint32Array(slotCapacityInitial)
  #sizes = new Uint32Array(slotCapacityInitial)
  #expiresAtMs = new Float64Array(slotCapacityInitial)
  #seqs = new Float64Array(slotCapacityInitial)
  #flags = new Uint8Array(slotCapacityInitial)
  #kinds = new Uint8Array(slotCapacityInitial)
  /** Length of the value cached after the key in the arena, or inlineNone. */
  #inlineLengths = new Int8Array(slotCapacityInitial).fill(inlineNone)
  #freeSlots: number[] = []
  /** Slots [0, highWater) have been used at least once. */
  #highWater = 0
  #expiringCount = 0

  /** `hashSeed`: the secret hash key (two 32-bit words), drawn at random by the host. */
  constructor(hashSeed: HashSeed = hashSeedDefault) {
    const [k0, k1] = hashSeedWords(hashSeed)
    this.#hashK0 = k0
    this.#hashK1 = k1
  }

  get size(): number {
    return this.#size
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
    return this.slotOfBytes(this.#encode(key))
  }

  /** The slot of the key with these bytes, or -1; no string is built. */
  slotOfBytes(key: Uint8Array): number {
    const cell = this.#findCell(key, this.#hash(key, 0, key.length))
    return cell < 0 ? -1 : this.#table[cell]! - 1
  }

  /** The table cell holding `key`, or -1 (diagnostics and tests: where the hash put it). */
  tableCellOf(key: string): number {
    const bytes = this.#encode(key)
    const cell = this.#findCell(bytes, this.#hash(bytes, 0, bytes.length))
    return cell < 0 ? -1 : cell / 2
  }

  /** Cells a lookup of `key` examines, the hit included (diagnostics: probe-run length). */
  probeCountOf(key: string): number {
    const bytes = this.#encode(key)
    const hash = this.#hash(bytes, 0, bytes.length)
    const cell = this.#findCell(bytes, hash)
    const end = cell < 0 ? -cell - 1 : cell
    return (((end / 2 - (hash & this.#tableMask)) & this.#tableMask) + 1) | 0
  }

  /** The key as a latin1 string (built on each call), or undefined for a free slot. */
  keyAt(slot: number): string | undefined {
    if (!this.#occupied(slot)) return undefined
    const start = this.#keyStarts[slot]!
    return this.#arena.toString('latin1', start, start + this.#keyLengths[slot]!)
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
  kindAt(slot: number): number {
    return this.#kinds[slot]!
  }

  isTombstoneAt(slot: number): boolean {
    return (this.#flags[slot]! & flagTombstone) !== 0
  }

  /** Inserts or overwrites `key`; returns its slot. `value`: see setAt. */
  set(key: string, entry: KeydirEntry, tombstone = false, value: Uint8Array | null = null): number {
    return this.setBytes(this.#encode(key), entry, tombstone, value)
  }

  /** `set` by the key's bytes (copied into the arena when the key is new). */
  setBytes(
    key: Uint8Array,
    entry: KeydirEntry,
    tombstone = false,
    value: Uint8Array | null = null,
  ): number {
    const hash = this.#hash(key, 0, key.length)
    const cell = this.#findCell(key, hash)
    let slot: number
    if (cell >= 0) {
      slot = this.#table[cell]! - 1
    } else {
      // A new key reserves room for its inline value now, so setAt writes it in place.
      const room = !tombstone && value !== null ? inlineRoomFor(value.length) : inlineNone
      slot = this.#insert(key, hash, -cell - 1, room)
    }
    this.setAt(slot, entry, tombstone, value)
    return slot
  }

  /**
   * Recovery's upsert: sets `key` unless it already holds a record with a seq >= entry.seq.
   * One lookup for the common case of a new key.
   */
  setIfNewer(key: string, entry: KeydirEntry, tombstone: boolean): void {
    const bytes = this.#encode(key)
    const hash = this.#hash(bytes, 0, bytes.length)
    const cell = this.#findCell(bytes, hash)
    if (cell < 0) {
      this.setAt(this.#insert(bytes, hash, -cell - 1, inlineNone), entry, tombstone)
      return
    }
    const slot = this.#table[cell]! - 1
    if (this.#seqs[slot]! < entry.seq) this.setAt(slot, entry, tombstone)
  }

  /**
   * Overwrites the fields of an occupied slot (its key stays). `value`: the record's value when
   * the caller has it (put); one of at most inlineValueBytesMax bytes is cached, else the cached
   * copy is dropped, since it belongs to the record being replaced.
   */
  setAt(
    slot: number,
    entry: KeydirEntry,
    tombstone = false,
    value: Uint8Array | null = null,
  ): void {
    assert(this.#occupied(slot), 'setAt on an occupied slot')
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
    this.#flags[slot] = tombstone ? flagOccupied | flagTombstone : flagOccupied
    this.#kinds[slot] = entry.kind ?? 0
    if (!tombstone && value !== null && value.length <= inlineValueBytesMax) {
      this.#storeInline(slot, value)
    } else {
      this.#dropInline(slot)
    }
  }

  /** Length of the value cached in memory for `slot`, or -1 when it must be read from disk. */
  inlineValueLengthAt(slot: number): number {
    return this.#inlineLengths[slot]!
  }

  /** A fresh copy of the value cached for `slot` (the caller owns it), or null. */
  inlineValueAt(slot: number): Buffer | null {
    const length = this.#inlineLengths[slot]!
    if (length < 0) return null
    const start = this.#keyStarts[slot]! + this.#keyLengths[slot]!
    const value = Buffer.allocUnsafe(length)
    this.#arena.copy(value, 0, start, start + length)
    return value
  }

  /** Moves a record's location (merge); the other fields, and the inline value, stay. */
  relocateAt(slot: number, segmentId: number, offset: number): void {
    assert(this.#occupied(slot), 'relocate an occupied slot')
    this.#segmentIds[slot] = segmentId
    this.#offsets[slot] = offset
  }

  remove(key: string): boolean {
    const slot = this.slotOf(key)
    if (slot < 0) return false
    this.removeAt(slot)
    return true
  }

  removeAt(slot: number): void {
    assert(this.#occupied(slot), 'remove an occupied slot')
    if (this.#expiresAtMs[slot] !== 0 && !this.isTombstoneAt(slot)) this.#expiringCount--
    const start = this.#keyStarts[slot]!
    const key = this.#arena.subarray(start, start + this.#keyLengths[slot]!)
    const cell = this.#findCell(key, this.#hash(key, 0, key.length))
    assert(cell >= 0 && this.#table[cell] === slot + 1, 'an occupied slot is in the table')
    this.#deleteCell(cell)
    this.#size--
    this.#arenaDead += key.length + Math.max(0, this.#inlineLengths[slot]!)
    this.#inlineLengths[slot] = inlineNone
    this.#expiresAtMs[slot] = 0
    this.#flags[slot] = 0
    this.#freeSlots.push(slot)
    const live = this.#arenaUsed - this.#arenaDead
    if (this.#arenaDead > arenaDeadBytesMin && this.#arenaDead > live) this.#compactArena(live * 2)
  }

  /** Drops every key and releases the arrays (FLUSHALL). */
  clear(): void {
    this.#table = new Int32Array(2 * slotCapacityInitial * tableCellsPerSlot)
    this.#tableMask = slotCapacityInitial * tableCellsPerSlot - 1
    this.#size = 0
    this.#arena = Buffer.allocUnsafe(arenaBytesInitial)
    this.#arenaUsed = 0
    this.#arenaDead = 0
    this.#keyStarts = new Float64Array(slotCapacityInitial)
    this.#keyLengths = new Uint32Array(slotCapacityInitial)
    this.#segmentIds = new Uint32Array(slotCapacityInitial)
    this.#offsets = new Uint32Array(slotCapacityInitial)
    this.#sizes = new Uint32Array(slotCapacityInitial)
    this.#expiresAtMs = new Float64Array(slotCapacityInitial)
    this.#seqs = new Float64Array(slotCapacityInitial)
    this.#flags = new Uint8Array(slotCapacityInitial)
    this.#kinds = new Uint8Array(slotCapacityInitial)
    this.#inlineLengths = new Int8Array(slotCapacityInitial).fill(inlineNone)
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
      if (this.#occupied(slot)) {
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
    if (this.#size === 0) return -1
    for (let draw = 0; draw < randomDrawsMax; draw++) {
      const slot = pick(this.#highWater)
      if (this.#occupied(slot)) return slot
    }
    const start = pick(this.#highWater)
    for (let step = 0; step < this.#highWater; step++) {
      const slot = (start + step) % this.#highWater
      if (this.#occupied(slot)) return slot
    }
    assert(false, 'a non-empty keydir has an occupied slot')
  }

  /** Visits every occupied slot in slot order. */
  forEachSlot(visit: (slot: number) => void): void {
    for (let slot = 0; slot < this.#highWater; slot++) {
      if (this.#occupied(slot)) visit(slot)
    }
  }

  #hash(bytes: Uint8Array, start: number, end: number): number {
    return halfSipHash13(bytes, start, end, this.#hashK0, this.#hashK1)
  }

  #occupied(slot: number): boolean {
    return (this.#flags[slot]! & flagOccupied) !== 0
  }

  /** `key`'s latin1 bytes in the scratch buffer (valid until the next call). */
  #encode(key: string): Buffer {
    if (key.length > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(key.length * 2)
    const written = this.#scratch.write(key, 0, 'latin1')
    return this.#scratch.subarray(0, written)
  }

  /** The table index of `key`'s cell, or -(free cell index + 1) where it would go. */
  #findCell(key: Uint8Array, hash: number): number {
    const table = this.#table
    const mask = this.#tableMask
    const hashSigned = hash | 0
    for (let cell = hash & mask; ; cell = (cell + 1) & mask) {
      const index = cell * 2
      const entry = table[index]!
      if (entry === 0) return -index - 1
      if (table[index + 1] === hashSigned && this.#keyEquals(entry - 1, key)) return index
    }
  }

  #keyEquals(slot: number, key: Uint8Array): boolean {
    const length = key.length
    if (this.#keyLengths[slot] !== length) return false
    const arena = this.#arena
    const start = this.#keyStarts[slot]!
    for (let index = 0; index < length; index++) {
      if (arena[start + index] !== key[index]) return false
    }
    return true
  }

  /**
   * Adds a new key at free table index `index`, with arena room for an inline value of `room`
   * bytes after it (inlineNone: none); returns its slot.
   */
  #insert(key: Uint8Array, hash: number, index: number, room: number): number {
    const slot = this.#allocateSlot()
    const start = this.#arenaReserve(key.length + Math.max(0, room))
    this.#arena.set(key, start)
    this.#keyStarts[slot] = start
    this.#keyLengths[slot] = key.length
    this.#inlineLengths[slot] = room
    this.#flags[slot] = flagOccupied
    this.#size++
    if (this.#size * tableCellsPerSlot > this.#tableMask + 1) {
      this.#rebuildTable((this.#tableMask + 1) * 2)
    } else {
      this.#table[index] = slot + 1
      this.#table[index + 1] = hash | 0
    }
    return slot
  }

  /** Backward-shift deletion: later cells of the probe run move up, so no tombstones exist. */
  #deleteCell(index: number): void {
    const table = this.#table
    const mask = this.#tableMask
    let hole = index / 2
    for (let cell = (hole + 1) & mask; table[cell * 2] !== 0; cell = (cell + 1) & mask) {
      const home = table[cell * 2 + 1]! & mask
      // The entry may fill the hole unless its home lies cyclically in (hole, cell].
      const homeAfterHole = hole <= cell ? home > hole && home <= cell : home > hole || home <= cell
      if (homeAfterHole) continue
      table[hole * 2] = table[cell * 2]!
      table[hole * 2 + 1] = table[cell * 2 + 1]!
      hole = cell
    }
    table[hole * 2] = 0
    table[hole * 2 + 1] = 0
  }

  #rebuildTable(cells: number): void {
    const table = new Int32Array(cells * 2)
    const mask = cells - 1
    for (let slot = 0; slot < this.#highWater; slot++) {
      if (!this.#occupied(slot)) continue
      const start = this.#keyStarts[slot]!
      const hash = this.#hash(this.#arena, start, start + this.#keyLengths[slot]!)
      let cell = hash & mask
      while (table[cell * 2] !== 0) cell = (cell + 1) & mask
      table[cell * 2] = slot + 1
      table[cell * 2 + 1] = hash | 0
    }
    this.#table = table
    this.#tableMask = mask
  }

  /** Writes `value` after the slot's key, moving key and value to the arena's end if longer. */
  #storeInline(slot: number, value: Uint8Array): void {
    const before = this.#inlineLengths[slot]!
    const keyLength = this.#keyLengths[slot]!
    if (before < value.length) {
      const start = this.#arenaReserve(keyLength + value.length) // may compact: read after it
      const from = this.#keyStarts[slot]!
      this.#arena.copyWithin(start, from, from + keyLength)
      this.#keyStarts[slot] = start
      this.#arenaDead += keyLength + Math.max(0, before)
    } else {
      this.#arenaDead += before - value.length
    }
    this.#arena.set(value, this.#keyStarts[slot]! + keyLength)
    this.#inlineLengths[slot] = value.length
  }

  #dropInline(slot: number): void {
    const before = this.#inlineLengths[slot]!
    if (before < 0) return
    this.#arenaDead += before
    this.#inlineLengths[slot] = inlineNone
  }

  /** Room for `bytes` more key bytes at the arena's end; returns where they go. */
  #arenaReserve(bytes: number): number {
    const needed = this.#arenaUsed + bytes
    if (needed > this.#arena.length) {
      const live = this.#arenaUsed - this.#arenaDead
      let capacity = this.#arena.length
      while (capacity < (live + bytes) * 2) capacity *= 2
      this.#compactArena(capacity)
    }
    const start = this.#arenaUsed
    this.#arenaUsed += bytes
    return start
  }

  /** Copies live keys and their inline values, in slot order, into a fresh arena. */
  #compactArena(capacity: number): void {
    const from = this.#arena
    const to = Buffer.allocUnsafe(Math.max(arenaBytesInitial, capacity))
    let used = 0
    for (let slot = 0; slot < this.#highWater; slot++) {
      if (!this.#occupied(slot)) continue
      const start = this.#keyStarts[slot]!
      const length = this.#keyLengths[slot]! + Math.max(0, this.#inlineLengths[slot]!)
      from.copy(to, used, start, start + length)
      this.#keyStarts[slot] = used
      used += length
    }
    this.#arena = to
    this.#arenaUsed = used
    this.#arenaDead = 0
  }

  #allocateSlot(): number {
    const reused = this.#freeSlots.pop()
    if (reused !== undefined) return reused
    if (this.#highWater === this.#segmentIds.length) this.#grow()
    return this.#highWater++
  }

  #grow(): void {
    const capacity = this.#segmentIds.length * 2
    this.#keyStarts = growArray(this.#keyStarts, new Float64Array(capacity))
    this.#keyLengths = growArray(this.#keyLengths, new Uint32Array(capacity))
    this.#segmentIds = growArray(this.#segmentIds, new Uint32Array(capacity))
    this.#offsets = growArray(this.#offsets, new Uint32Array(capacity))
    this.#sizes = growArray(this.#sizes, new Uint32Array(capacity))
    this.#expiresAtMs = growArray(this.#expiresAtMs, new Float64Array(capacity))
    this.#seqs = growArray(this.#seqs, new Float64Array(capacity))
    this.#flags = growArray(this.#flags, new Uint8Array(capacity))
    this.#kinds = growArray(this.#kinds, new Uint8Array(capacity))
    const inline = new Int8Array(capacity).fill(inlineNone)
    this.#inlineLengths = growArray(this.#inlineLengths, inline)
  }
}

/** Arena room a new key reserves for a value of `length` bytes: inlineNone when not cached. */
function inlineRoomFor(length: number): number {
  return length <= inlineValueBytesMax ? length : inlineNone
}

function growArray<T extends Uint32Array | Float64Array | Uint8Array | Int8Array>(
  from: T,
  to: T,
): T {
  to.set(from)
  return to
}
