/* The leader's ReadIndex bookkeeping: reads waiting for the first commit of its term, and reads
 * waiting for a heartbeat round that a quorum confirms. Invariant: pending reads are in round
 * order, so a confirmed round releases a prefix; both queues are bounded (pendingReadsMax). */
import { assert } from '../core/assert.js'
import type { NodeId } from './types.js'

export interface ReadRequest {
  readonly origin: NodeId
  readonly requestId: number
}

export interface PendingRead extends ReadRequest {
  /** The commit index when the read arrived: serve it once applied reaches this. */
  readonly index: number
  /** The heartbeat round whose quorum confirmation proves we were still leader after arrival. */
  readonly round: number
}

export class ReadTracker {
  readonly #pendingMax: number
  /** The newest heartbeat round started; monotonic across leaderships. */
  #round = 0
  #roundPending = false
  #pending: PendingRead[] = []
  #waiting: ReadRequest[] = []

  constructor(pendingMax: number) {
    this.#pendingMax = pendingMax
  }

  get round(): number {
    return this.#round
  }

  get pendingCount(): number {
    return this.#pending.length + this.#waiting.length
  }

  /** Queues a read until the leader commits in its term; drops it when full. */
  wait(request: ReadRequest): void {
    if (this.pendingCount < this.#pendingMax) this.#waiting.push(request)
  }

  takeWaiting(): ReadRequest[] {
    const waiting = this.#waiting
    this.#waiting = []
    return waiting
  }

  /** Queues a read for the next heartbeat round; drops it when full. */
  add(read: { origin: NodeId; requestId: number; index: number }): void {
    if (this.pendingCount >= this.#pendingMax) return
    this.#pending.push({ ...read, round: this.#round + 1 })
    this.#roundPending = true
  }

  /** Starts a round if reads are waiting for one (all reads since the last round share it). */
  startRoundIfPending(): number {
    if (!this.#roundPending) return 0
    this.#roundPending = false
    this.#round++
    return this.#round
  }

  /** Starts a round now (lease mode: every heartbeat), which also serves the reads waiting. */
  startRound(): number {
    this.#roundPending = false
    this.#round++
    return this.#round
  }

  /** Removes and returns the reads whose round `confirmed` says a quorum acknowledged. */
  release(confirmed: (round: number) => boolean): PendingRead[] {
    let count = 0
    while (count < this.#pending.length) {
      const read = this.#pending[count]
      assert(read !== undefined, 'dense queue')
      if (read.round > this.#round || !confirmed(read.round)) break
      count++
    }
    return this.#pending.splice(0, count)
  }

  reset(): void {
    this.#pending = []
    this.#waiting = []
    this.#roundPending = false
  }
}
