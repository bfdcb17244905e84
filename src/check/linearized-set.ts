/* The set of operations already linearized in one branch of the search, and the memo of
 * (linearized set, key value) pairs already explored (Lowe's improvement to Wing & Gong, as in
 * Porcupine). Invariant: every operation below `low` is in the set, so a memo entry stores only
 * `low` and the few members above it (the concurrency window), not a bitset per entry. */
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
  #hash = 0
  #low = 0
  #count = 0

  constructor(size: number) {
    this.#words = new Uint32Array(Math.ceil(size / 32) + 1)
  }

  has(index: number): boolean {
    return ((this.#words[index >>> 5]! >>> (index & 31)) & 1) === 1
  }

  add(index: number): void {
    assert(!this.has(index), 'an operation is linearized once per branch')
    this.#words[index >>> 5]! |= 1 << (index & 31)
    this.#hash ^= memberHash(index)
    this.#count++
    while (this.has(this.#low)) this.#low++
  }

  remove(index: number): void {
    assert(this.has(index), 'only a linearized operation is undone')
    this.#words[index >>> 5]! &= ~(1 << (index & 31))
    this.#hash ^= memberHash(index)
    this.#count--
    if (index < this.#low) this.#low = index
  }

  get hash(): number {
    return this.#hash >>> 0
  }
  get low(): number {
    return this.#low
  }
  get count(): number {
    return this.#count
  }

  /** The members above `low`, in increasing order. */
  membersAboveLow(): number[] {
    const members: number[] = []
    for (let index = this.#low + 1; members.length < this.#count - this.#low; index++) {
      if (this.has(index)) members.push(index)
    }
    return members
  }
}

/** Memo entries: [stateId, low, ...members above low]. */
export class ExploredMemo {
  readonly #buckets = new Map<number, Int32Array[]>()
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
    const members = set.membersAboveLow()
    const entry = new Int32Array(members.length + 2)
    entry[0] = stateId
    entry[1] = set.low
    entry.set(members, 2)
    if (bucket === undefined) this.#buckets.set(key, [entry])
    else bucket.push(entry)
    this.#size++
    return true
  }

  static #matches(entry: Int32Array, set: LinearizedSet, stateId: number): boolean {
    if (entry[0] !== stateId || entry[1] !== set.low) return false
    if (entry.length - 2 !== set.count - set.low) return false
    for (let i = 2; i < entry.length; i++) if (!set.has(entry[i]!)) return false
    return true
  }
}
