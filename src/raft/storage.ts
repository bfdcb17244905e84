/* The stable-storage port of the Raft core: what the host has durably persisted (hard state and
 * entries), read synchronously by the core; and MemoryStorage, a pure in-memory implementation.
 * Invariant: indexes are contiguous from firstIndex() to lastIndex(); the core only reads. */
import { assert } from '../core/assert.js'
import type { Entry, HardState, Membership, Snapshot } from './types.js'

export interface RaftStorage {
  /** The hard state recovered at start (term 0, no vote, commit 0 for a fresh node). */
  initialHardState(): HardState
  /** Index of the first entry still held; entries before it are compacted. */
  firstIndex(): number
  lastIndex(): number
  /** Term of the entry at `index`, for index in [firstIndex() - 1, lastIndex()]. */
  term(index: number): number
  /** Entries in [low, high), cut after `bytesMax` bytes of data but always at least one. */
  entries(low: number, high: number, bytesMax: number): Entry[]
  /** The newest snapshot; its index is >= firstIndex() - 1 (index 0: none yet). */
  snapshot(): Snapshot
}

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 }
export const emptySnapshot: Snapshot = {
  index: 0,
  term: 0,
  membership: { voters: [], learners: [] },
  data: new Uint8Array(0),
}

/** The bytes an entry counts for in message and in-flight budgets. */
export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes
}
/** Term, index and kind on the wire, roughly; keeps empty entries from being free. */
const entryOverheadBytes = 16

/** Takes entries from the front until `bytesMax` is exceeded (always at least one). */
export function limitBytes(entries: Entry[], bytesMax: number): Entry[] {
  let bytes = 0
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]
    assert(entry !== undefined, 'dense entries')
    bytes += entryBytes(entry)
    if (i > 0 && bytes > bytesMax) return entries.slice(0, i)
  }
  return entries
}

/** Keeps everything in memory; used by tests and as the host's read cache of its log. */
export class MemoryStorage implements RaftStorage {
  #hardState: HardState = emptyHardState
  #snapshot: Snapshot = emptySnapshot
  /** #log[0] is a sentinel carrying the compaction point's index and term. */
  #log: Entry[] = [{ term: 0, index: 0, kind: 'noop', data: new Uint8Array(0) }]

  initialHardState(): HardState {
    return this.#hardState
  }

  setHardState(hardState: HardState): void {
    assert(hardState.term >= this.#hardState.term, 'persisted term never decreases')
    this.#hardState = hardState
  }

  firstIndex(): number {
    return this.#sentinel().index + 1
  }

  lastIndex(): number {
    return this.#sentinel().index + this.#log.length - 1
  }

  term(index: number): number {
    const offset = this.#sentinel().index
    assert(index >= offset && index <= this.lastIndex(), `term(${index}) out of range`)
    const entry = this.#log[index - offset]
    assert(entry !== undefined, 'dense log')
    return entry.term
  }

  entries(low: number, high: number, bytesMax: number): Entry[] {
    const offset = this.#sentinel().index
    assert(low > offset && high <= this.lastIndex() + 1 && low <= high, 'entries range')
    return limitBytes(this.#log.slice(low - offset, high - offset), bytesMax)
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  /** Records the state machine and membership as of `index` (the applied index; by the host). */
  createSnapshot(index: number, data: Uint8Array, membership: Membership): Snapshot {
    assert(index >= this.#snapshot.index, 'snapshots only move forward')
    this.#snapshot = { index, term: this.term(index), membership, data }
    return this.#snapshot
  }

  /** Drops the entries before `index` (index itself stays as the compaction point). */
  compact(index: number): void {
    const offset = this.#sentinel().index
    if (index <= offset) return
    assert(index <= this.#snapshot.index, 'compact only what a snapshot covers')
    this.#log = this.#log.slice(index - offset)
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.index > this.#snapshot.index, 'an installed snapshot is newer')
    this.#snapshot = snapshot
    this.#log = [
      { term: snapshot.term, index: snapshot.index, kind: 'noop', data: new Uint8Array(0) },
    ]
  }

  /** Appends `entries`, replacing any suffix from the first entry's index on. */
  append(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    const offset = this.#sentinel().index
    assert(first.index > offset, 'append behind the compaction point')
    assert(first.index <= this.lastIndex() + 1, 'append leaves no gap')
    this.#log.length = first.index - offset
    for (const entry of entries) this.#log.push(entry)
  }

  #sentinel(): Entry {
    const sentinel = this.#log[0]
    assert(sentinel !== undefined, 'the sentinel is never removed')
    return sentinel
  }
}
