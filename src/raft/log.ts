/* The Raft log as the core sees it: the stable prefix in RaftStorage plus the unstable suffix not
 * yet persisted, and the commit and applied indexes. Invariants (asserted): commit never moves
 * back, a committed entry is never truncated (so neither is an applied one), applied <= commit. */
import { assert } from '../core/assert.js'
import { limitBytes, type RaftStorage } from './storage.js'
import type { Entry, Snapshot } from './types.js'

export interface LogPosition {
  readonly index: number
  readonly term: number
}

export class RaftLog {
  readonly #storage: RaftStorage
  /** Entries from index #unstableOffset on that the host has not yet persisted. */
  #unstable: Entry[] = []
  #unstableOffset: number
  /** A snapshot from the leader that replaces the log, not yet persisted by the host. */
  #pendingSnapshot: Snapshot | null = null
  committed: number
  applied: number

  constructor(options: { storage: RaftStorage; committed: number; applied: number }) {
    this.#storage = options.storage
    this.#unstableOffset = options.storage.lastIndex() + 1
    this.committed = options.committed
    this.applied = options.applied
    assert(this.committed <= options.storage.lastIndex(), 'persisted commit within the log')
    assert(this.applied <= this.committed, 'applied <= committed at start')
    assert(this.applied >= options.storage.firstIndex() - 1, 'applied not behind the log start')
  }

  firstIndex(): number {
    if (this.#pendingSnapshot !== null) return this.#pendingSnapshot.index + 1
    return this.#storage.firstIndex()
  }

  lastIndex(): number {
    if (this.#unstable.length > 0) return this.#unstableOffset + this.#unstable.length - 1
    if (this.#pendingSnapshot !== null) return this.#pendingSnapshot.index
    return this.#storage.lastIndex()
  }

  /** The newest snapshot in stable storage (what a leader sends a follower it cannot append to). */
  storedSnapshot(): Snapshot {
    return this.#storage.snapshot()
  }

  get pendingSnapshot(): Snapshot | null {
    return this.#pendingSnapshot
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex())
    assert(term !== null, 'the last entry has a term')
    return term
  }

  /** The last index that is both persisted and not about to be replaced. */
  stableLastIndex(): number {
    if (this.#pendingSnapshot !== null) return this.#pendingSnapshot.index - 1
    return Math.min(this.#storage.lastIndex(), this.#unstableOffset - 1)
  }

  /** Term at `index`, or null if it is compacted or beyond the end. */
  term(index: number): number | null {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return null
    if (this.#pendingSnapshot?.index === index) return this.#pendingSnapshot.term
    if (index >= this.#unstableOffset) {
      const entry = this.#unstable[index - this.#unstableOffset]
      assert(entry !== undefined, 'dense unstable log')
      return entry.term
    }
    return this.#storage.term(index)
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** Raft's "at least as up-to-date" comparison of a candidate's last entry with ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /**
   * The follower side of AppendEntries: if our log has (prevIndex, prevTerm), appends what is new
   * (replacing a conflicting suffix), advances commit, and returns the last index now matching.
   */
  maybeAppend(options: {
    prevIndex: number
    prevTerm: number
    commit: number
    entries: readonly Entry[]
  }): number | null {
    const { prevIndex, prevTerm, commit, entries } = options
    if (!this.matchTerm(prevIndex, prevTerm)) return null
    const lastNewIndex = prevIndex + entries.length
    const conflictIndex = this.#findConflict(entries)
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.committed, 'a committed entry is never overwritten')
      this.append(entries.slice(conflictIndex - prevIndex - 1))
    }
    this.commitTo(Math.min(commit, lastNewIndex))
    return lastNewIndex
  }

  /** First index where `entries` disagree with our log or run past it; 0 if all match. */
  #findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index
    }
    return 0
  }

  /**
   * The largest position at or before `index` whose term is <= `term` (fast backtracking: a
   * leader skips a whole divergent term per round trip instead of one entry).
   */
  findConflictByTerm(index: number, term: number): LogPosition {
    for (let at = index; at >= this.firstIndex() - 1; at--) {
      const atTerm = this.term(at)
      if (atTerm === null) return { index: at, term: 0 }
      if (atTerm <= term) return { index: at, term: atTerm }
    }
    return { index: this.firstIndex() - 1, term: 0 }
  }

  /** Appends after a (possibly shorter) prefix; the caller checked the entries are newer. */
  append(entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    assert(first.index > this.committed, 'truncating a committed entry')
    assert(first.index <= this.lastIndex() + 1, 'append leaves no gap')
    if (first.index === this.#unstableOffset + this.#unstable.length) {
      for (const entry of entries) this.#unstable.push(entry)
    } else if (first.index <= this.#unstableOffset) {
      this.#unstableOffset = first.index
      this.#unstable = [...entries]
    } else {
      this.#unstable.length = first.index - this.#unstableOffset
      for (const entry of entries) this.#unstable.push(entry)
    }
  }

  /** Entries in [low, high) from storage and the unstable suffix, cut after `bytesMax`. */
  slice(low: number, high: number, bytesMax: number): Entry[] {
    assert(low >= this.firstIndex() && high <= this.lastIndex() + 1, 'slice within the log')
    if (low >= high) return []
    const result: Entry[] = []
    if (low < this.#unstableOffset) {
      const stableHigh = Math.min(high, this.#unstableOffset)
      result.push(...this.#storage.entries(low, stableHigh, bytesMax))
      if (result.length < stableHigh - low) return result
    }
    if (high > this.#unstableOffset) {
      const from = Math.max(low, this.#unstableOffset) - this.#unstableOffset
      result.push(...this.#unstable.slice(from, high - this.#unstableOffset))
    }
    return limitBytes(result, bytesMax)
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    assert(index <= this.lastIndex(), `commit ${index} beyond the last index`)
    this.committed = index
  }

  /** Commits `index` only if it is from `term`: Raft never counts replicas of older terms. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index)
      return true
    }
    return false
  }

  unstableEntries(): readonly Entry[] {
    return this.#unstable
  }

  /** The host persisted entries up to (index, term); a no-op if they were since replaced. */
  stableTo(index: number, term: number): void {
    if (index < this.#unstableOffset) return
    const entry = this.#unstable[index - this.#unstableOffset]
    if (entry?.term !== term) return
    this.#unstable = this.#unstable.slice(index + 1 - this.#unstableOffset)
    this.#unstableOffset = index + 1
  }

  /** Committed entries that are stable and not yet applied, up to `bytesMax`. */
  nextCommitted(bytesMax: number): Entry[] {
    if (this.#pendingSnapshot !== null) return []
    const high = Math.min(this.committed, this.stableLastIndex()) + 1
    if (this.applied + 1 >= high) return []
    return this.slice(this.applied + 1, high, bytesMax)
  }

  /** Replaces the whole log with a snapshot the leader sent (the caller checked it is newer). */
  restore(snapshot: Snapshot): void {
    assert(snapshot.index > this.committed, 'a restored snapshot is ahead of commit')
    assert(this.applied <= this.committed, 'nothing applied is replaced')
    this.committed = snapshot.index
    this.#unstable = []
    this.#unstableOffset = snapshot.index + 1
    this.#pendingSnapshot = snapshot
  }

  /** The host persisted the snapshot and restored its state machine from it. */
  snapshotStable(snapshot: Snapshot): void {
    if (this.#pendingSnapshot !== snapshot) return
    this.#pendingSnapshot = null
    assert(this.#storage.firstIndex() === snapshot.index + 1, 'storage holds the snapshot')
    assert(snapshot.index >= this.applied, 'applied never moves back (snapshot)')
    assert(snapshot.index <= this.committed, 'a restored snapshot is committed')
    this.applied = snapshot.index
  }

  appliedTo(index: number): void {
    assert(index >= this.applied, 'applied never moves back')
    assert(index <= this.committed, 'only committed entries are applied')
    this.applied = index
  }
}
