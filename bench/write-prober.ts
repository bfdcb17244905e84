/* Steady writes to every node of a cluster for the failover runs: every `intervalMs` each node
 * gets a new SET (unless it already has `inFlightMax` unanswered), so a stalled node never delays
 * the probes of another and the first acknowledged write after a kill is seen within one interval.
 * Invariant: each write is recorded with the time it was sent, so "acknowledged after the kill"
 * only counts writes that were sent after it. */
import type { Redis } from 'ioredis'
import { errorKind } from './cluster-report.js'

export interface ProbeTarget {
  name: string
  client: Redis
}

interface Outcome {
  sentAtMs: number
  settledAtMs: number
  error: string | null
}

export class WriteProber {
  readonly #targets: readonly ProbeTarget[]
  readonly #intervalMs: number
  readonly #inFlightMax: number
  readonly #value: Buffer
  readonly #inFlight = new Map<string, number>()
  readonly #outcomes: Outcome[] = []
  #timer: NodeJS.Timeout | null = null
  #sequence = 0

  constructor(options: {
    targets: readonly ProbeTarget[]
    intervalMs: number
    inFlightMax: number
    valueBytes: number
  }) {
    this.#targets = options.targets
    this.#intervalMs = options.intervalMs
    this.#inFlightMax = options.inFlightMax
    this.#value = Buffer.alloc(options.valueBytes, 'f')
  }

  start(): void {
    if (this.#timer !== null) return
    this.#timer = setInterval(() => this.#probeAll(), this.#intervalMs)
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** Forgets every outcome (between trials). */
  reset(): void {
    this.#outcomes.length = 0
  }

  #probeAll(): void {
    for (const target of this.#targets) {
      const inFlight = this.#inFlight.get(target.name) ?? 0
      if (inFlight >= this.#inFlightMax) continue
      this.#inFlight.set(target.name, inFlight + 1)
      const sentAtMs = performance.now()
      const key = `failover:key:${this.#sequence++ % 1000}`
      const settle = (error: string | null): void => {
        this.#inFlight.set(target.name, (this.#inFlight.get(target.name) ?? 1) - 1)
        this.#outcomes.push({ sentAtMs, settledAtMs: performance.now(), error })
      }
      target.client.set(key, this.#value).then(
        () => settle(null),
        (error: unknown) => settle(error instanceof Error ? error.message : String(error)),
      )
    }
  }

  /** Acknowledged writes sent at or after `sinceMs`. */
  acknowledgedSince(sinceMs: number): number {
    return this.#outcomes.filter((o) => o.error === null && o.sentAtMs >= sinceMs).length
  }

  /** When the first write sent at or after `sinceMs` was acknowledged; null if none yet. */
  firstAcknowledgedAfter(sinceMs: number): number | null {
    let first: number | null = null
    for (const outcome of this.#outcomes) {
      if (outcome.error !== null || outcome.sentAtMs < sinceMs) continue
      if (first === null || outcome.settledAtMs < first) first = outcome.settledAtMs
    }
    return first
  }

  /** Failed writes sent at or after `sentSinceMs` that settled in (`afterMs`, `untilMs`]. */
  failuresSettled(sentSinceMs: number, afterMs: number, untilMs: number): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const outcome of this.#outcomes) {
      if (outcome.error === null || outcome.sentAtMs < sentSinceMs) continue
      if (outcome.settledAtMs <= afterMs || outcome.settledAtMs > untilMs) continue
      const kind = errorKind(outcome.error)
      counts[kind] = (counts[kind] ?? 0) + 1
    }
    return counts
  }
}
