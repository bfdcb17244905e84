/* The set of operations already linearized in one branch of the search, and the memo of
 * (linearized set, key value) pairs already explored (Lowe's improvement to Wing & Gong, as in
 * Porcupine). Invariant: every completed operation below `low` is in the set, so a memo entry
 * stores `low` and the few other members (about the concurrency window), not a bitset. */
import { assert } from '../core/assert.js'

/** A fixed pseudo-random 32-bit word per operation (Zobrist hashing): the set's hash is the XOR
 * of its members' words, updated in O(1) on every add and remove. */
function memberHash(index: number): number {
  let x = (index + 0x9e3779b9) | 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

export class LinearizedSet {
  readonly #words: Uint32Array
  readonly #size: number
  /** 1 for an operation with an unknown outcome: it may stay out of the set to the end (it
   * never took effect), so it must not hold `low` back. */
  readonly #unknown: Uint8Array
  readonly #unknownIndexes: number[] = []
  /** #unknownBelow[i]: how many unknown operations have an index below i. */
  readonly #unknownBelow: Int32Array
  #hash = 0
  #low = 0
  #count = 0

  constructor(unknown: Uint8Array) {
    this.#size = unknown.length
    this.#words = new Uint32Array(Math.ceil(this.#size / 32) + 1)
    this.#unknown = unknown
    this.#unknownBelow = new Int32Array(this.#size + 1)
    for (let index = 0; index < this.#size; index++) {
      if (unknown[index] === 1) this.#unknownIndexes.push(index)
      this.#unknownBelow[index + 1] = this.#unknownIndexes.length
    }
    this.#advanceLow()
  }

  has(index: number): boolean {
    return ((this.#words[index >>> 5]! >>> (index & 31)) & 1) === 1
  }

  add(index: number): void {
    assert(!this.has(index), 'an operation is linearized once per branch')
    this.#words[index >>> 5]! |= 1 << (index & 31)
    this.#hash ^= memberHash(index)
    this.#count++
    if (index === this.#low) this.#advanceLow()
  }

  remove(index: number): void {
    assert(this.has(index), 'only a linearized operation is undone')
    this.#words[index >>> 5]! &= ~(1 << (index & 31))
    this.#hash ^= memberHash(index)
    this.#count--
    if (index < this.#low && this.#unknown[index] === 0) this.#low = index
  }

  #advanceLow(): void {
    while (this.#low < this.#size && (this.#unknown[this.#low] === 1 || this.has(this.#low))) {
      this.#low++
    }
  }

  get hash(): number {
    return this.#hash >>> 0
  }
  /** Every completed operation below `low` is in the set, and `low` itself is not. */
  get low(): number {
    return this.#low
  }
  /** How many members `members()` lists: all but the completed operations below `low`. */
  get extraCount(): number {
    return this.#count - (this.#low - this.#unknownBelow[this.#low]!)
  }

  /** The members that `low` does not imply, in increasing order: the unknown operations below
   * `low` that are in the set, and every member above `low`. */
  members(): number[] {
    const members: number[] = []
    const wanted = this.extraCount
    for (const index of this.#unknownIndexes) {
      if (index >= this.#low) break
      if (this.has(index)) members.push(index)
    }
    for (let index = this.#low + 1; members.length < wanted; index++) {
      if (this.has(index)) members.push(index)
    }
    return members
  }
}

/** Memo entries: [stateId, low, ...members()]. */
export class ExploredMemo {
  // Plain arrays of small integers take half the heap of small Int32Arrays.
  readonly #buckets = new Map<number, number[][]>()
  #size = 0

  get size(): number {
    return this.#size
  }

  /** Records (set, stateId); false when that pair was already explored. */
  insertIfAbsent(set: LinearizedSet, stateId: number): boolean {
    const key = (set.hash ^ Math.imul(stateId + 1, 0x9e3779b1)) >>> 0
    const bucket = this.#buckets.get(key)
    if (bucket !== undefined) {
      for (const entry of bucket) if (ExploredMemo.#matches(entry, set, stateId)) return false
    }
    const entry = [stateId, set.low, ...set.members()]
    if (bucket === undefined) this.#buckets.set(key, [entry])
    else bucket.push(entry)
    this.#size++
    return true
  }

  static #matches(entry: readonly number[], set: LinearizedSet, stateId: number): boolean {
    if (entry[0] !== stateId || entry[1] !== set.low) return false
    if (entry.length - 2 !== set.extraCount) return false
    for (let i = 2; i < entry.length; i++) if (!set.has(entry[i]!)) return false
    return true
  }
}
