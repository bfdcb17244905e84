/* The client side of a session: hands out sequences and computes ackedThrough (the lowest
 * sequence without a delivered reply, minus one). Invariant: at most sessionRepliesMax
 * sequences above ackedThrough are ever handed out, so the replicated session can keep the
 * reply of every write in flight, whatever order their retries apply in. */
import { assert } from '../core/assert.js'
import { sessionRepliesMax } from './sessions.js'

export class SessionClient {
  readonly clientId: number
  readonly #windowMax: number
  #lastSequence = 0
  #ackedThrough = 0
  /** Handed-out sequences above ackedThrough whose reply was delivered. */
  readonly #answered = new Set<number>()

  constructor(clientId: number, windowMax = sessionRepliesMax) {
    assert(windowMax > 0 && windowMax <= sessionRepliesMax, 'a window the sessions can keep')
    this.clientId = clientId
    this.#windowMax = windowMax
  }

  get ackedThrough(): number {
    return this.#ackedThrough
  }

  /** Sequences handed out and not answered yet. */
  get inFlight(): number {
    return this.#lastSequence - this.#ackedThrough - this.#answered.size
  }

  /** True when next() would hand out a sequence. */
  get canStart(): boolean {
    return this.#lastSequence + 1 - this.#ackedThrough <= this.#windowMax
  }

  /** A new sequence; the caller must check canStart first. */
  next(): number {
    assert(this.canStart, 'a sequence within the window')
    return ++this.#lastSequence
  }

  /** The reply of `sequence` was delivered: it is never sent again. */
  answered(sequence: number): void {
    assert(sequence > this.#ackedThrough && sequence <= this.#lastSequence, 'an open sequence')
    this.#answered.add(sequence)
    while (this.#answered.delete(this.#ackedThrough + 1)) this.#ackedThrough++
  }
}
