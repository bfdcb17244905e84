/* ListDeque: a Redis list as a deque of chunks (arrays of up to 128 values, like quicklist nodes)
 * held in a slot array with free room at both ends, so pushes and pops at either end are O(1)
 * and LINDEX/LSET/LINSERT/LREM/LRANGE walk chunk lengths (n / 128 steps) from the nearer end.
 * Invariant: no chunk is empty; every element carries a `seq`, strictly increasing from head to
 * tail (gaps allowed): a safe integer, or a multiple of 2^-20 below 2^32 in magnitude.
 * Why seqs: each element will be one storage record keyed by (list key, version, seq), the seq
 * stored as 8 order-preserving bytes (the float64 big-endian with the sign bit flipped, all bits
 * flipped for negatives), so byte order is list order. Like Kvrocks's head and tail counters,
 * LPUSH takes head seq - 1 and RPUSH tail seq + 1, so a push writes one record and a pop one
 * tombstone and no metadata record changes: a restart rebuilds the order, the length and both ends
 * from the live seqs alone (restoreBack). LSET rewrites one record in place. Unlike Kvrocks, which
 * rewrites every element after the pivot, LINSERT takes a seq between its neighbours' (their
 * midpoint, on the 2^-20 grid), so it writes one record; only when ~20 inserts at one spot have
 * used up the grid does it relabel the smallest window around the spot (radius doubling) whose
 * seq range spreads it evenly at least 2^-10 apart (order-maintenance list labeling), and return
 * those records to write and the old seqs no longer used to delete: 10,000 inserts at one spot
 * of a 5,000-element list write ~7 records each on average. Removals return the seqs to
 * delete. Seqs start at 0 in a new list, pushes take integers, and +-2^53 leaves room for 10^15
 * pushes at each end.
 * Measured on 1M values (Node 20, shared 2-core machine): 1M pushes at both ends 0.1 s and 19 MB
 * beside the values; 1000 LINDEX at random places 20-40 ms; 1000 LINSERT at random places 32 ms,
 * one record each; 1M pops 0.3 s. */
import { assert } from '../../core/assert.js'
import { normalizeIndex, normalizeIndexRange } from './range.js'

const chunkCapacityDefault = 128
const chunkCapacityMin = 2
/** Free slots added at the front when the slot array runs out of room there. */
const slotPaddingMin = 8

/** Fractional seqs lie on a grid of 2^-20 and below 2^32 in magnitude: 53 bits hold them
 * exactly, so shifting one by 1 or halving a gap never rounds. */
const seqFractionScale = 2 ** 20
const seqFractionMagnitudeMax = 2 ** 32

function isSeq(seq: number): boolean {
  if (Number.isSafeInteger(seq)) return true
  const onGrid = Number.isInteger(seq * seqFractionScale)
  return onGrid && Math.abs(seq) < 2 * seqFractionMagnitudeMax
}

/** A seq strictly between `before` and `after`, or null when the grid has no room there. */
function midpointSeq(before: number, after: number): number | null {
  const middle = Math.floor(((before + after) / 2) * seqFractionScale) / seqFractionScale
  if (!(before < middle && middle < after)) return null
  if (!Number.isInteger(middle) && Math.abs(middle) >= seqFractionMagnitudeMax) return null
  return middle
}

/** The smallest spacing a relabel leaves between neighbours: 10 more halvings on the grid. */
const relabelSpacingMin = 2 ** -10

/** The largest power of two that spreads `count` seqs strictly between `lower` and `upper`, or
 * null when it would be below relabelSpacingMin (below 1 beyond the fraction range). */
function relabelSpacing(lower: number, upper: number, count: number): number | null {
  const room = (upper - lower) / (count + 1)
  if (!(room > 0)) return null
  let spacing = 2 ** Math.floor(Math.log2(room))
  while (spacing * (count + 1) > upper - lower) spacing /= 2
  const fractions = Math.max(Math.abs(lower), Math.abs(upper)) < seqFractionMagnitudeMax
  return spacing >= (fractions ? relabelSpacingMin : 1) ? spacing : null
}

/** A stored element: its value and its record seq. */
export interface ListEntry {
  seq: number
  value: Buffer
}

/** What an insert changed in storage: records to write, and old seqs left without an element
 * (a shifted run's old seqs that no new seq reuses) to delete. */
export interface ListInsertResult {
  writes: ListEntry[]
  deletes: number[]
}

/** LPOS options as Redis defines them: rank != 0 (negative scans from the tail), count 0 = all
 * matches, maxLength 0 = compare every element. */
export interface ListFindOptions {
  rank: number
  count: number
  maxLength: number
}

interface Chunk {
  values: Buffer[]
  seqs: number[]
}

interface Location {
  slot: number
  offset: number
}

export class ListDeque {
  readonly #chunkCapacity: number
  /** Live chunks are #slots[#begin .. #end); the rest are free room. */
  #slots: (Chunk | undefined)[] = []
  #begin = 0
  #end = 0
  #length = 0

  constructor(options: { chunkCapacity?: number } = {}) {
    this.#chunkCapacity = options.chunkCapacity ?? chunkCapacityDefault
    assert(Number.isInteger(this.#chunkCapacity), 'chunk capacity is an integer')
    assert(this.#chunkCapacity >= chunkCapacityMin, 'chunk capacity is at least chunkCapacityMin')
  }

  get length(): number {
    return this.#length
  }

  /** Seq of the head element; the list must not be empty. */
  get firstSeq(): number {
    assert(this.#length > 0, 'the list is not empty')
    return this.#chunk(this.#begin).seqs[0] as number
  }

  /** Seq of the tail element; the list must not be empty. */
  get lastSeq(): number {
    assert(this.#length > 0, 'the list is not empty')
    const seqs = this.#chunk(this.#end - 1).seqs
    return seqs[seqs.length - 1] as number
  }

  /** LPUSH one value; returns its seq. */
  pushFront(value: Buffer): number {
    const seq = this.#length === 0 ? 0 : Math.floor(this.firstSeq) - 1
    assert(Number.isSafeInteger(seq), 'head seq stays a safe integer')
    let chunk = this.#length === 0 ? undefined : this.#chunk(this.#begin)
    if (chunk === undefined || chunk.values.length >= this.#chunkCapacity) {
      chunk = { values: [], seqs: [] }
      this.#insertChunk(this.#begin, chunk)
    }
    chunk.values.unshift(value)
    chunk.seqs.unshift(seq)
    this.#length++
    return seq
  }

  /** RPUSH one value; returns its seq. */
  pushBack(value: Buffer): number {
    const seq = this.#length === 0 ? 0 : Math.ceil(this.lastSeq) + 1
    assert(Number.isSafeInteger(seq), 'tail seq stays a safe integer')
    this.restoreBack(seq, value)
    return seq
  }

  /** Appends a value under a known seq, greater than the tail's: rebuilds a list from records. */
  restoreBack(seq: number, value: Buffer): void {
    assert(isSeq(seq), 'a seq is a safe integer or an exact fraction')
    assert(this.#length === 0 || seq > this.lastSeq, 'seqs ascend from head to tail')
    let chunk = this.#length === 0 ? undefined : this.#chunk(this.#end - 1)
    if (chunk === undefined || chunk.values.length >= this.#chunkCapacity) {
      chunk = { values: [], seqs: [] }
      this.#insertChunk(this.#end, chunk)
    }
    chunk.values.push(value)
    chunk.seqs.push(seq)
    this.#length++
  }

  /** LPOP one element, or undefined when empty. */
  popFront(): ListEntry | undefined {
    if (this.#length === 0) return undefined
    return this.#dropFront(1)[0]
  }

  /** RPOP one element, or undefined when empty. */
  popBack(): ListEntry | undefined {
    if (this.#length === 0) return undefined
    return this.#dropBack(1)[0]
  }

  /** LINDEX: the value at a Redis index (negative counts from the tail), or undefined. */
  at(index: number): Buffer | undefined {
    return this.entryAt(index)?.value
  }

  /** The value and seq at a Redis index, or undefined when out of range. */
  entryAt(index: number): ListEntry | undefined {
    const offset = normalizeIndex(index, this.#length)
    if (offset < 0) return undefined
    const location = this.#locate(offset)
    const chunk = this.#chunk(location.slot)
    return {
      seq: chunk.seqs[location.offset] as number,
      value: chunk.values[location.offset] as Buffer,
    }
  }

  /** LSET: replaces the value at a Redis index; returns its seq, or null when out of range
   * (Redis's "ERR index out of range"). */
  set(index: number, value: Buffer): number | null {
    const offset = normalizeIndex(index, this.#length)
    if (offset < 0) return null
    const location = this.#locate(offset)
    const chunk = this.#chunk(location.slot)
    chunk.values[location.offset] = value
    return chunk.seqs[location.offset] as number
  }

  /** LRANGE start stop: the values in Redis's inclusive, clamped index range. */
  range(start: number, stop: number): Buffer[] {
    const range = normalizeIndexRange(start, stop, this.#length)
    if (range === null) return []
    const values: Buffer[] = []
    const location = this.#locate(range.first)
    let offset = location.offset
    for (let slot = location.slot; values.length <= range.last - range.first; slot++) {
      const chunk = this.#chunk(slot)
      const take = Math.min(
        chunk.values.length,
        offset + range.last - range.first + 1 - values.length,
      )
      for (; offset < take; offset++) values.push(chunk.values[offset] as Buffer)
      offset = 0
    }
    return values
  }

  /** LTRIM start stop: keeps Redis's range and returns the removed elements' seqs. */
  trim(start: number, stop: number): number[] {
    const range = normalizeIndexRange(start, stop, this.#length)
    if (range === null) return this.#dropFront(this.#length).map((entry) => entry.seq)
    const back = this.#dropBack(this.#length - 1 - range.last)
    const front = this.#dropFront(range.first)
    return front.concat(back).map((entry) => entry.seq)
  }

  /** Index of the first element equal to `value` from the head (LINSERT's pivot), or -1. */
  indexOf(value: Buffer): number {
    let base = 0
    for (let slot = this.#begin; slot < this.#end; slot++) {
      const values = this.#chunk(slot).values
      for (let offset = 0; offset < values.length; offset++) {
        if ((values[offset] as Buffer).equals(value)) return base + offset
      }
      base += values.length
    }
    return -1
  }

  /** LINSERT: inserts before or after the first `pivot`; returns the record changes, or null
   * when the pivot is absent. */
  insertAround(pivot: Buffer, value: Buffer, where: 'before' | 'after'): ListInsertResult | null {
    const index = this.indexOf(pivot)
    if (index < 0) return null
    return this.insertAt(where === 'before' ? index : index + 1, value)
  }

  /** Inserts so that the value ends at `index` (0..length); returns the record changes. */
  insertAt(index: number, value: Buffer): ListInsertResult {
    assert(Number.isInteger(index) && index >= 0, 'insert index is a non-negative integer')
    assert(index <= this.#length, 'insert index is at most the length')
    if (index === 0) return { writes: [{ seq: this.pushFront(value), value }], deletes: [] }
    if (index === this.#length) {
      return { writes: [{ seq: this.pushBack(value), value }], deletes: [] }
    }
    const seq = midpointSeq(this.#seqAt(index - 1), this.#seqAt(index))
    if (seq === null) return this.#relabelInsert(index, value)
    this.#insertWithSeq(index, { seq, value })
    return { writes: [{ seq, value }], deletes: [] }
  }

  /** LREM count value: removes up to |count| matches from the head (count > 0), from the tail
   * (count < 0) or all (count 0); returns the removed seqs. */
  remove(count: number, value: Buffer): number[] {
    const removed: number[] = []
    const budget = count === 0 ? Infinity : Math.abs(count)
    const fromTail = count < 0
    let slot = fromTail ? this.#end - 1 : this.#begin
    while (slot >= this.#begin && slot < this.#end && removed.length < budget) {
      const chunk = this.#chunk(slot)
      const matches = chunkMatches(chunk, value, { fromTail, budget: budget - removed.length })
      for (const offset of matches) removed.push(chunk.seqs[offset] as number)
      for (const offset of matches.sort((x, y) => y - x)) {
        chunk.values.splice(offset, 1)
        chunk.seqs.splice(offset, 1)
      }
      this.#length -= matches.length
      if (chunk.values.length > 0) {
        slot += fromTail ? -1 : 1
        continue
      }
      // Removing the first chunk moves #begin (and may re-pad the slots): re-anchor on it.
      const wasBegin = slot === this.#begin
      this.#removeChunk(slot)
      if (fromTail && wasBegin) break
      if (fromTail) slot--
      else if (wasBegin) slot = this.#begin
    }
    this.#mergeSmallChunks()
    return removed
  }

  /** LPOS: indexes (from the head) of matching elements under Redis's RANK/COUNT/MAXLEN. */
  find(value: Buffer, options: ListFindOptions): number[] {
    assert(options.rank !== 0 && Number.isSafeInteger(options.rank), 'LPOS rank is non-zero')
    const fromTail = options.rank < 0
    let skip = Math.abs(options.rank) - 1
    const wanted = options.count === 0 ? Infinity : options.count
    const limit = options.maxLength === 0 ? Infinity : options.maxLength
    const found: number[] = []
    let compared = 0
    this.#walk(fromTail, (element, index) => {
      if (compared++ >= limit) return false
      if (!element.equals(value)) return true
      if (skip > 0) skip--
      else found.push(index)
      return found.length < wanted
    })
    return found
  }

  /** Every element head to tail (for SORT, LMOVE of whole lists, dumps and tests). */
  entries(): ListEntry[] {
    const entries: ListEntry[] = []
    for (let slot = this.#begin; slot < this.#end; slot++) {
      const chunk = this.#chunk(slot)
      chunk.values.forEach((value, offset) => {
        entries.push({ seq: chunk.seqs[offset] as number, value })
      })
    }
    return entries
  }

  /** Checks every structural invariant in O(n); for tests and debugging. */
  verify(): void {
    let total = 0
    let previousSeq = -Infinity
    for (let slot = 0; slot < this.#slots.length; slot++) {
      const chunk = this.#slots[slot]
      const live = slot >= this.#begin && slot < this.#end
      assert(live === (chunk !== undefined), 'exactly the live slots hold chunks')
      if (chunk === undefined) continue
      assert(chunk.values.length > 0, 'no chunk is empty')
      assert(chunk.values.length <= this.#chunkCapacity, 'no chunk exceeds its capacity')
      assert(chunk.values.length === chunk.seqs.length, 'one seq per value')
      for (const seq of chunk.seqs) {
        assert(isSeq(seq) && seq > previousSeq, 'seqs ascend')
        previousSeq = seq
      }
      total += chunk.values.length
    }
    assert(total === this.#length, 'length equals the sum of chunk sizes')
  }

  #chunk(slot: number): Chunk {
    const chunk = this.#slots[slot]
    assert(chunk !== undefined, 'slot holds a live chunk')
    return chunk
  }

  #seqAt(offset: number): number {
    const location = this.#locate(offset)
    return this.#chunk(location.slot).seqs[location.offset] as number
  }

  /** Finds the chunk and offset of a 0-based index, walking from the nearer end. */
  #locate(index: number): Location {
    assert(index >= 0 && index < this.#length, 'index is inside the list')
    if (index < this.#length / 2) {
      let remaining = index
      for (let slot = this.#begin; ; slot++) {
        const size = this.#chunk(slot).values.length
        if (remaining < size) return { slot, offset: remaining }
        remaining -= size
      }
    }
    let remaining = this.#length - 1 - index
    for (let slot = this.#end - 1; ; slot--) {
      const size = this.#chunk(slot).values.length
      if (remaining < size) return { slot, offset: size - 1 - remaining }
      remaining -= size
    }
  }

  /** Visits elements with their head-relative index from one end until `visit` returns false. */
  #walk(fromTail: boolean, visit: (value: Buffer, index: number) => boolean): void {
    if (!fromTail) {
      let index = 0
      for (let slot = this.#begin; slot < this.#end; slot++) {
        for (const value of this.#chunk(slot).values) if (!visit(value, index++)) return
      }
      return
    }
    let index = this.#length - 1
    for (let slot = this.#end - 1; slot >= this.#begin; slot--) {
      const values = this.#chunk(slot).values
      for (let offset = values.length - 1; offset >= 0; offset--) {
        if (!visit(values[offset] as Buffer, index--)) return
      }
    }
  }

  /**
   * No room between the neighbours of `index`: relabels the smallest window around it (radius
   * doubling) whose seq range spreads its elements and the new one evenly at least
   * relabelSpacingMin apart, as order-maintenance list labeling does. Returns the records of the
   * elements whose seq changed, the new one, and the old seqs left without an element.
   */
  #relabelInsert(index: number, value: Buffer): ListInsertResult {
    for (let radius = 1; ; radius *= 2) {
      const first = Math.max(0, index - radius)
      const last = Math.min(this.#length - 1, index + radius - 1)
      const count = last - first + 2 // the window and the new element
      // At an end of the list the seqs beyond it are free.
      const lower = first > 0 ? this.#seqAt(first - 1) : Math.floor(this.#seqAt(0)) - count - 1
      const upper =
        last < this.#length - 1 ? this.#seqAt(last + 1) : Math.ceil(this.#seqAt(last)) + count + 1
      const spacing = relabelSpacing(lower, upper, count)
      if (spacing === null) continue
      const base = spacing >= 1 ? Math.floor(lower) : lower
      const seqs = Array.from({ length: count }, (_, at) => base + spacing * (at + 1))
      const newSeq = seqs.splice(index - first, 1)[0] as number
      const writes: ListEntry[] = []
      const oldSeqs: number[] = []
      this.#assignSeqs(first, seqs, writes, oldSeqs)
      this.#insertWithSeq(index, { seq: newSeq, value })
      writes.push({ seq: newSeq, value })
      const written = new Set(writes.map((write) => write.seq))
      return { writes, deletes: oldSeqs.filter((old) => !written.has(old)) }
    }
  }

  /** Gives the elements from index `first` on the `seqs` in order, recording what changed. */
  #assignSeqs(first: number, seqs: number[], writes: ListEntry[], oldSeqs: number[]): void {
    const location = this.#locate(first)
    let offset = location.offset
    let at = 0
    for (let slot = location.slot; at < seqs.length; slot++) {
      const chunk = this.#chunk(slot)
      for (; offset < chunk.seqs.length && at < seqs.length; offset++, at++) {
        const seq = seqs[at] as number
        assert(isSeq(seq), 'a relabelled seq is exact')
        if (chunk.seqs[offset] === seq) continue
        oldSeqs.push(chunk.seqs[offset] as number)
        chunk.seqs[offset] = seq
        writes.push({ seq, value: chunk.values[offset] as Buffer })
      }
      offset = 0
    }
  }

  /** Inserts at a 0 < index < length, splitting a full chunk in two. */
  #insertWithSeq(index: number, entry: ListEntry): void {
    const location = this.#locate(index)
    let chunk = this.#chunk(location.slot)
    let offset = location.offset
    if (chunk.values.length >= this.#chunkCapacity) {
      const cut = chunk.values.length >>> 1
      const right: Chunk = { values: chunk.values.splice(cut), seqs: chunk.seqs.splice(cut) }
      this.#insertChunk(location.slot + 1, right)
      if (offset >= cut) {
        chunk = right
        offset -= cut
      }
    }
    chunk.values.splice(offset, 0, entry.value)
    chunk.seqs.splice(offset, 0, entry.seq)
    this.#length++
  }

  /** Removes `count` elements from the head, whole chunks at a time where possible. */
  #dropFront(count: number): ListEntry[] {
    const removed: ListEntry[] = []
    let remaining = count
    while (remaining > 0) {
      const chunk = this.#chunk(this.#begin)
      const take = Math.min(remaining, chunk.values.length)
      const values = chunk.values.splice(0, take)
      const seqs = chunk.seqs.splice(0, take)
      values.forEach((value, at) => removed.push({ seq: seqs[at] as number, value }))
      if (chunk.values.length === 0) this.#removeChunk(this.#begin)
      this.#length -= take
      remaining -= take
    }
    return removed
  }

  /** Removes `count` elements from the tail; returned head to tail. */
  #dropBack(count: number): ListEntry[] {
    const removed: ListEntry[][] = []
    let remaining = count
    while (remaining > 0) {
      const chunk = this.#chunk(this.#end - 1)
      const take = Math.min(remaining, chunk.values.length)
      const values = chunk.values.splice(chunk.values.length - take)
      const seqs = chunk.seqs.splice(chunk.seqs.length - take)
      removed.push(values.map((value, at) => ({ seq: seqs[at] as number, value })))
      if (chunk.values.length === 0) this.#removeChunk(this.#end - 1)
      this.#length -= take
      remaining -= take
    }
    return removed.reverse().flat()
  }

  /** Places a chunk so that it becomes #slots[slot] (begin <= slot <= end). */
  #insertChunk(slot: number, chunk: Chunk): void {
    if (slot === this.#begin && this.#begin > 0) {
      this.#slots[--this.#begin] = chunk
      return
    }
    if (slot === this.#begin && this.#begin < this.#end) {
      this.#repad(Math.max(slotPaddingMin, this.#end - this.#begin))
      this.#slots[--this.#begin] = chunk
      return
    }
    this.#slots.splice(slot, 0, chunk)
    this.#end++
  }

  #removeChunk(slot: number): void {
    if (slot === this.#begin) {
      this.#slots[this.#begin++] = undefined
      // A queue (RPUSH + LPOP) walks forward through the slot array: reclaim the dead front.
      if (this.#begin > slotPaddingMin && this.#begin > 2 * (this.#end - this.#begin)) {
        this.#repad(slotPaddingMin)
      }
    } else if (slot === this.#end - 1) {
      this.#slots.length = --this.#end
    } else {
      this.#slots.splice(slot, 1)
      this.#end--
    }
    if (this.#begin === this.#end) this.#repad(0)
  }

  /** Rebuilds the slot array with `padding` free slots before the live chunks. */
  #repad(padding: number): void {
    const live = this.#slots.slice(this.#begin, this.#end)
    this.#slots = new Array<Chunk | undefined>(padding).fill(undefined).concat(live)
    this.#begin = padding
    this.#end = padding + live.length
  }

  /** After LREM, folds each chunk under a quarter full into its successor when both fit. */
  #mergeSmallChunks(): void {
    for (let slot = this.#begin; slot < this.#end - 1; slot++) {
      const chunk = this.#chunk(slot)
      const next = this.#chunk(slot + 1)
      const small = chunk.values.length < this.#chunkCapacity / 4
      if (!small || chunk.values.length + next.values.length > this.#chunkCapacity) continue
      next.values.unshift(...chunk.values)
      next.seqs.unshift(...chunk.seqs)
      const wasBegin = slot === this.#begin
      this.#removeChunk(slot)
      slot = wasBegin ? this.#begin - 1 : slot - 1
    }
  }
}

/** Offsets in `chunk` of values equal to `value`, at most `budget`, taken from the chosen end. */
function chunkMatches(
  chunk: Chunk,
  value: Buffer,
  scan: { fromTail: boolean; budget: number },
): number[] {
  const matches: number[] = []
  const size = chunk.values.length
  for (let step = 0; step < size && matches.length < scan.budget; step++) {
    const offset = scan.fromTail ? size - 1 - step : step
    if ((chunk.values[offset] as Buffer).equals(value)) matches.push(offset)
  }
  return matches
}
