/* The linearizability search for one key: Wing & Gong's backtracking over a doubly linked list
 * of call/return entries, with Lowe's memoization of (linearized set, value), as Porcupine's
 * checkSingle. Invariant: an operation is linearized only while its call precedes every pending
 * return and its client's previous operation is linearized; the search stops at the deadline. */
import { assert } from '../core/assert.js'
import { ExploredMemo, LinearizedSet } from './linearized-set.js'
import { illegal, step, type KeyState } from './model.js'
import type { IndexedOperation, UnknownReason } from './types.js'

/** When a key's search gives up with 'unknown'. */
export interface Deadline {
  now: () => number
  atMs: number
  memoEntriesMax: number
}

export type SearchOutcome =
  | { verdict: 'linearizable' }
  | { verdict: 'unknown'; reason: UnknownReason }
  | {
      verdict: 'not-linearizable'
      longestPrefix: IndexedOperation[]
      stateAfterPrefix: KeyState
      unplaced: IndexedOperation[]
    }

/** How many search steps between two reads of the clock. */
const stepsPerClockRead = 1024

interface KeyEvents {
  /** Entry e (1-based; 0 is the list head): the operation it belongs to. */
  opAt: Int32Array
  /** For a call entry, its return entry; 0 for a return entry. */
  returnOf: Int32Array
}

/** Calls and returns in time order; at equal times calls come first (intervals are closed).
 * An unknown operation never returns: its return sorts after everything. */
function buildEvents(ops: readonly IndexedOperation[]): KeyEvents {
  const order: number[] = []
  for (let i = 0; i < ops.length; i++) order.push(2 * i, 2 * i + 1)
  const timeOf = (event: number): number => {
    const operation = ops[event >>> 1]!.operation
    if ((event & 1) === 0) return operation.call
    return operation.return ?? Number.POSITIVE_INFINITY
  }
  order.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b)
  const opAt = new Int32Array(order.length + 1)
  const returnOf = new Int32Array(order.length + 1)
  const entryOfReturn = new Int32Array(ops.length)
  order.forEach((event, position) => {
    opAt[position + 1] = event >>> 1
    if ((event & 1) === 1) entryOfReturn[event >>> 1] = position + 1
  })
  order.forEach((event, position) => {
    if ((event & 1) === 0) returnOf[position + 1] = entryOfReturn[event >>> 1]!
  })
  return { opAt, returnOf }
}

/** Each operation's previous operation by the same client (on this key), or -1: the search keeps
 * a client's order even when one operation returns at the very time the next is called. */
function clientPredecessors(ops: readonly IndexedOperation[]): Int32Array {
  const previous = new Int32Array(ops.length).fill(-1)
  const lastByClient = new Map<number, number>()
  ops.forEach(({ operation }, i) => {
    previous[i] = lastByClient.get(operation.client) ?? -1
    lastByClient.set(operation.client, i)
  })
  return previous
}

/** Checks one key's operations, sorted by call time (ties by file position); unknown reads must
 * have been dropped. */
export function searchKey(ops: readonly IndexedOperation[], deadline: Deadline): SearchOutcome {
  const search = new KeySearch(ops, deadline)
  return search.run()
}

class KeySearch {
  readonly #ops: readonly IndexedOperation[]
  readonly #deadline: Deadline
  readonly #events: KeyEvents
  readonly #predecessor: Int32Array
  readonly #next: Int32Array
  readonly #prev: Int32Array
  readonly #set: LinearizedSet
  readonly #memo = new ExploredMemo()
  readonly #stateIds = new Map<string, number>()
  readonly #completedCount: number
  // The current branch: the call entries linearized so far and the value before each.
  readonly #stack: Int32Array
  readonly #stackStates: KeyState[] = []
  #depth = 0
  // The longest branch seen; #best[0, #lowWater) still equals the current branch.
  readonly #best: Int32Array
  #bestLength = 0
  #bestState: KeyState = null
  #lowWater = 0

  constructor(ops: readonly IndexedOperation[], deadline: Deadline) {
    this.#ops = ops
    this.#deadline = deadline
    this.#events = buildEvents(ops)
    this.#predecessor = clientPredecessors(ops)
    const entries = 2 * ops.length + 1
    this.#next = new Int32Array(entries)
    this.#prev = new Int32Array(entries)
    for (let e = 0; e < entries; e++) {
      this.#next[e] = e + 1 < entries ? e + 1 : -1
      this.#prev[e] = e - 1
    }
    const unknown = Uint8Array.from(ops, ({ operation }) => (operation.unknown === true ? 1 : 0))
    this.#set = new LinearizedSet(unknown)
    this.#completedCount = ops.filter(({ operation }) => operation.unknown !== true).length
    this.#stack = new Int32Array(ops.length)
    this.#best = new Int32Array(ops.length)
  }

  run(): SearchOutcome {
    let entry = this.#next[0]!
    let state: KeyState = null
    let linearizedCompleted = 0
    for (let steps = 1; ; steps++) {
      // Unknown operations left over never took effect (or did after everything): done.
      if (linearizedCompleted === this.#completedCount) return { verdict: 'linearizable' }
      if (steps % stepsPerClockRead === 0 && this.#deadline.now() >= this.#deadline.atMs) {
        return { verdict: 'unknown', reason: 'time limit' }
      }
      if (this.#memo.size >= this.#deadline.memoEntriesMax) {
        return { verdict: 'unknown', reason: 'memory limit' }
      }
      assert(entry > 0, 'a completed operation is pending, so a return entry is ahead')
      if (this.#events.returnOf[entry]! > 0) {
        const index = this.#events.opAt[entry]!
        const after = this.#tryLinearize(index, state)
        if (after === illegal) {
          entry = this.#next[entry]!
          continue
        }
        this.#stack[this.#depth] = entry
        this.#stackStates[this.#depth] = state
        this.#depth++
        state = after
        if (this.#ops[index]!.operation.unknown !== true) linearizedCompleted++
        this.#lift(entry)
        entry = this.#next[0]!
        continue
      }
      // A pending operation returned before any order could place it: undo the last choice.
      const index = this.#events.opAt[entry]!
      assert(this.#ops[index]!.operation.unknown !== true, 'unknown operations never return')
      this.#recordIfLongest(state)
      if (this.#depth === 0) return this.#violation()
      this.#depth--
      this.#lowWater = Math.min(this.#lowWater, this.#depth)
      entry = this.#stack[this.#depth]!
      state = this.#stackStates[this.#depth]!
      const undone = this.#events.opAt[entry]!
      this.#set.remove(undone)
      if (this.#ops[undone]!.operation.unknown !== true) linearizedCompleted--
      this.#unlift(entry)
      entry = this.#next[entry]!
    }
  }

  /** The value after linearizing operation `index` now, or illegal if it cannot go here or this
   * (set, value) pair was explored before. Leaves the operation in the set on success. */
  #tryLinearize(index: number, state: KeyState): KeyState | typeof illegal {
    const predecessor = this.#predecessor[index]!
    if (predecessor >= 0 && !this.#set.has(predecessor)) return illegal
    const after = step(state, this.#ops[index]!.operation)
    if (after === illegal) return illegal
    this.#set.add(index)
    if (this.#memo.insertIfAbsent(this.#set, this.#stateId(after))) return after
    this.#set.remove(index)
    return illegal
  }

  #stateId(state: KeyState): number {
    if (state === null) return 0
    let id = this.#stateIds.get(state)
    if (id === undefined) {
      id = this.#stateIds.size + 1
      this.#stateIds.set(state, id)
    }
    return id
  }

  /** Removes a call entry and its return entry (dancing links: #unlift restores them). */
  #lift(entry: number): void {
    this.#unlink(entry)
    this.#unlink(this.#events.returnOf[entry]!)
  }

  #unlift(entry: number): void {
    this.#relink(this.#events.returnOf[entry]!)
    this.#relink(entry)
  }

  #unlink(entry: number): void {
    const before = this.#prev[entry]!
    const after = this.#next[entry]!
    this.#next[before] = after
    if (after >= 0) this.#prev[after] = before
  }

  #relink(entry: number): void {
    const after = this.#next[entry]!
    this.#next[this.#prev[entry]!] = entry
    if (after >= 0) this.#prev[after] = entry
  }

  #recordIfLongest(state: KeyState): void {
    if (this.#depth <= this.#bestLength) return
    for (let i = this.#lowWater; i < this.#depth; i++) {
      this.#best[i] = this.#events.opAt[this.#stack[i]!]!
    }
    this.#bestLength = this.#depth
    this.#bestState = state
    this.#lowWater = this.#depth
  }

  /** The longest prefix found, and the completed operations that could have come next after it:
   * those called before the first pending return (that operation included). */
  #violation(): SearchOutcome {
    const prefix = Array.from(this.#best.subarray(0, this.#bestLength))
    const inPrefix = new Set(prefix)
    const unplaced: IndexedOperation[] = []
    for (let entry = 1; entry < this.#events.opAt.length; entry++) {
      const index = this.#events.opAt[entry]!
      const op = this.#ops[index]!
      if (inPrefix.has(index) || op.operation.unknown === true) continue
      if (this.#events.returnOf[entry]! === 0) break
      unplaced.push(op)
    }
    return {
      verdict: 'not-linearizable',
      longestPrefix: prefix.map((index) => this.#ops[index]!),
      stateAfterPrefix: this.#bestState,
      unplaced,
    }
  }
}
