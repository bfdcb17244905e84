/* The leader's view of one follower: how much of the log it matches, what to send next, and the
 * bounded window of appends in flight. Invariant: match < next; in 'probe' at most one append is
 * outstanding, in 'replicate' at most inflightMessagesMax messages and inflightBytesMax bytes, in
 * 'snapshot' one InstallSnapshot chunk at a time. */
import { assert } from '../core/assert.js'
import type { Snapshot } from './types.js'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** Appends sent but not yet acknowledged, as (last index, bytes) pairs in send order. */
export class Inflights {
  readonly #messagesMax: number
  readonly #bytesMax: number
  #lastIndexes: number[] = []
  #sizesBytes: number[] = []
  #head = 0
  #bytes = 0

  constructor(options: { messagesMax: number; bytesMax: number }) {
    assert(options.messagesMax > 0 && options.bytesMax > 0, 'in-flight bounds are positive')
    this.#messagesMax = options.messagesMax
    this.#bytesMax = options.bytesMax
  }

  get count(): number {
    return this.#lastIndexes.length - this.#head
  }

  get bytes(): number {
    return this.#bytes
  }

  full(): boolean {
    return this.count >= this.#messagesMax || this.#bytes >= this.#bytesMax
  }

  add(lastIndex: number, sizeBytes: number): void {
    assert(!this.full(), 'adding to a full in-flight window')
    const newest = this.#lastIndexes[this.#lastIndexes.length - 1]
    assert(this.count === 0 || newest === undefined || lastIndex > newest, 'in-flight in order')
    this.#lastIndexes.push(lastIndex)
    this.#sizesBytes.push(sizeBytes)
    this.#bytes += sizeBytes
  }

  /** Frees every append whose last index is <= `index` (the follower acknowledged it). */
  freeLE(index: number): void {
    while (this.#head < this.#lastIndexes.length) {
      const lastIndex = this.#lastIndexes[this.#head]
      const sizeBytes = this.#sizesBytes[this.#head]
      assert(lastIndex !== undefined && sizeBytes !== undefined, 'dense window')
      if (lastIndex > index) break
      this.#bytes -= sizeBytes
      this.#head++
    }
    if (this.#head > 64 && this.#head * 2 > this.#lastIndexes.length) this.#compact()
  }

  /** Frees the oldest append (presumed lost), so one more can probe the follower. */
  freeFirst(): void {
    const first = this.#lastIndexes[this.#head]
    if (first !== undefined) this.freeLE(first)
  }

  reset(): void {
    this.#lastIndexes = []
    this.#sizesBytes = []
    this.#head = 0
    this.#bytes = 0
  }

  #compact(): void {
    this.#lastIndexes = this.#lastIndexes.slice(this.#head)
    this.#sizesBytes = this.#sizesBytes.slice(this.#head)
    this.#head = 0
  }
}

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** Probe (or snapshot): an append (a chunk) is outstanding; wait for its answer or the next
   * heartbeat response. */
  probeSent = false
  /** Snapshot state: the snapshot being sent (kept so every chunk comes from the same one). */
  snapshot: Snapshot | null = null
  /** Snapshot state: the bytes the follower confirmed holding. */
  snapshotOffset = 0
  /** The leader's tick count when this peer last answered (CheckQuorum); 0 at election. */
  lastHeardTick = 0
  /** The newest ReadIndex round this peer has confirmed. */
  readRoundAcked = 0
  readonly inflights: Inflights

  constructor(options: { next: number; inflightMessagesMax: number; inflightBytesMax: number }) {
    this.next = options.next
    this.inflights = new Inflights({
      messagesMax: options.inflightMessagesMax,
      bytesMax: options.inflightBytesMax,
    })
  }

  becomeProbe(): void {
    this.state = 'probe'
    this.next = this.match + 1
    this.probeSent = false
    this.snapshot = null
    this.inflights.reset()
  }

  becomeReplicate(): void {
    this.state = 'replicate'
    this.next = this.match + 1
    this.snapshot = null
    this.inflights.reset()
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot'
    this.snapshot = snapshot
    this.snapshotOffset = 0
    this.probeSent = false
    this.inflights.reset()
  }

  /** An accepted append up to `index`; returns whether match moved. */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match
    if (updated) this.match = index
    if (this.next < index + 1) this.next = index + 1
    this.probeSent = false
    return updated
  }

  /**
   * A rejected append at `rejectedIndex`, with the follower's hint that our entries can match
   * at most at `matchHint`. Returns false for a stale rejection (an older probe's answer).
   */
  maybeDecrTo(rejectedIndex: number, matchHint: number): boolean {
    if (this.state === 'snapshot') return false
    if (this.state === 'replicate') {
      if (rejectedIndex <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejectedIndex) return false
    this.next = Math.max(Math.min(rejectedIndex, matchHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  paused(): boolean {
    return this.state === 'replicate' ? this.inflights.full() : this.probeSent
  }

  /** Records an append carrying entries up to `lastIndex` (`sizeBytes` of them). */
  sentEntries(options: { entryCount: number; lastIndex: number; sizeBytes: number }): void {
    if (this.state === 'replicate') {
      if (options.entryCount > 0) {
        this.next = options.lastIndex + 1
        this.inflights.add(options.lastIndex, options.sizeBytes)
      }
    } else {
      this.probeSent = true
    }
  }
}
