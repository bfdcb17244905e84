/* Requests the host has accepted and not yet answered: writes and membership changes by the
 * (index, term) of their log entry, reads by request id until their ReadState's index is applied.
 * Invariant: every accepted request is answered exactly once (its callback is removed before it
 * runs), with 'unknown' whenever its fate cannot be known any more. */
import type { ReplicaResult } from './types.js'

type Done = (result: ReplicaResult) => void

const unknown: ReplicaResult = { ok: false, error: 'unknown' }

export class PendingProposals {
  readonly #byIndex = new Map<number, { term: number; done: Done }>()

  get size(): number {
    return this.#byIndex.size
  }

  add(index: number, term: number, done: Done): void {
    // A proposal at an index we already wait on replaced it (a new term): the old one is lost.
    this.#byIndex.get(index)?.done(unknown)
    this.#byIndex.set(index, { term, done })
  }

  /** The entry at `index` was applied with `term`: answer its proposer (if it was this one). */
  settle(index: number, term: number, result: () => ReplicaResult): void {
    const pending = this.#byIndex.get(index)
    if (pending === undefined) return
    this.#byIndex.delete(index)
    pending.done(pending.term === term ? result() : unknown)
  }

  /** Answers 'unknown' to every proposal at or below `index` (all when omitted). */
  failUpTo(index = Number.MAX_SAFE_INTEGER): void {
    if (this.#byIndex.size === 0) return
    for (const [at, pending] of [...this.#byIndex]) {
      if (at > index) continue
      this.#byIndex.delete(at)
      pending.done(unknown)
    }
  }
}

interface PendingRead {
  readonly query: Uint8Array
  readonly done: Done
  ageTicks: number
  /** Set once the ReadState arrived: the read may be served when this index is applied. */
  index: number | null
}

export class PendingReads {
  readonly #byId = new Map<number, PendingRead>()
  readonly #timeoutTicks: number

  constructor(timeoutTicks: number) {
    this.#timeoutTicks = timeoutTicks
  }

  get size(): number {
    return this.#byId.size
  }

  add(requestId: number, query: Uint8Array, done: Done): void {
    this.#byId.set(requestId, { query, done, ageTicks: 0, index: null })
  }

  onReadState(requestId: number, index: number): void {
    const read = this.#byId.get(requestId)
    if (read !== undefined && read.index === null) read.index = index
  }

  /** Ages every read by a tick; answers 'unknown' to those not served within the timeout. */
  tick(): void {
    for (const [id, read] of [...this.#byId]) {
      if (++read.ageTicks <= this.#timeoutTicks) continue
      this.#byId.delete(id)
      read.done(unknown)
    }
  }

  /** Serves every confirmed read whose index is applied, in request order. */
  serve(appliedIndex: number, query: (bytes: Uint8Array) => Uint8Array): void {
    for (const [id, read] of [...this.#byId]) {
      if (read.index === null || read.index > appliedIndex) continue
      this.#byId.delete(id)
      read.done({ ok: true, reply: query(read.query) })
    }
  }

  failAll(): void {
    for (const [id, read] of [...this.#byId]) {
      this.#byId.delete(id)
      read.done(unknown)
    }
  }
}
