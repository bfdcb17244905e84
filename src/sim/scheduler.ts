/* The simulator's virtual time: a min-heap of events ordered by (time, insertion sequence), so two
 * events at one instant run in the order they were scheduled. Invariant: time only moves forward
 * and only when an event is taken; nothing here reads a real clock, so a run is a pure function
 * of its seed and the events the world schedules. */
import { assert } from '../core/assert.js'

export interface SimEvent {
  readonly atMs: number
  readonly seq: number
  readonly run: () => void
  cancelled: boolean
}

export class Scheduler {
  #nowMs = 0
  #seq = 0
  readonly #heap: SimEvent[] = []
  /** Events taken so far (for throughput figures and livelock guards). */
  eventsRun = 0

  get nowMs(): number {
    return this.#nowMs
  }

  get pending(): number {
    return this.#heap.length
  }

  /** Schedules `run` at absolute virtual time `atMs` (never in the past). */
  at(atMs: number, run: () => void): SimEvent {
    assert(Number.isFinite(atMs), 'event time is finite')
    const event: SimEvent = {
      atMs: Math.max(atMs, this.#nowMs),
      seq: this.#seq++,
      run,
      cancelled: false,
    }
    this.#push(event)
    return event
  }

  after(delayMs: number, run: () => void): SimEvent {
    assert(delayMs >= 0, 'delays are not negative')
    return this.at(this.#nowMs + delayMs, run)
  }

  /** Takes the next live event due at or before `untilMs` and moves time to it; null if none. */
  take(untilMs: number): SimEvent | null {
    for (;;) {
      const top = this.#heap[0]
      if (top === undefined || top.atMs > untilMs) return null
      this.#pop()
      if (top.cancelled) continue
      this.#nowMs = top.atMs
      this.eventsRun++
      return top
    }
  }

  /** Moves time to `atMs` when no event is due before it (an idle stretch). */
  advanceTo(atMs: number): void {
    const top = this.#heap[0]
    assert(top === undefined || top.atMs >= atMs, 'no event is skipped over')
    if (atMs > this.#nowMs) this.#nowMs = atMs
  }

  #push(event: SimEvent): void {
    const heap = this.#heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const up = heap[parent]
      if (up === undefined || !before(event, up)) break
      heap[i] = up
      heap[parent] = event
      i = parent
    }
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      const leftEvent = heap[left]
      const rightEvent = heap[right]
      if (leftEvent !== undefined && before(leftEvent, heap[smallest] ?? last)) smallest = left
      if (rightEvent !== undefined && before(rightEvent, heap[smallest] ?? last)) smallest = right
      if (smallest === i) return
      const swap = heap[smallest]
      assert(swap !== undefined, 'heap child exists')
      heap[smallest] = last
      heap[i] = swap
      i = smallest
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}
