/* Retrying a routed request through elections and lost leaders, within a time window. Invariant:
 * only outcomes that left nothing applied ('not-leader', 'busy') or that a retry of the same
 * (clientId, sequence) settles ('unknown', when allowed) are retried; once any attempt ended
 * 'unknown' the outcome stays marked uncertain, so the client is never told "not applied" for
 * a write that may have been. */
import type { Clock, Timers } from '../core/ports.js'
import type { ReplicaResult } from '../replica/types.js'

export interface RetryOutcome {
  readonly result: ReplicaResult
  /** Some attempt's fate was unknown: the write may have been applied. */
  readonly uncertain: boolean
}

export interface RetryParts {
  readonly clock: Clock
  readonly timers: Timers
  readonly windowMs: number
  /** Retry after 'unknown' (safe for reads, and for writes that repeat their sequence). */
  readonly retryUnknown: boolean
}

const retryDelayMinMs = 10
const retryDelayMaxMs = 250

export function retrying(
  parts: RetryParts,
  attempt: (done: (result: ReplicaResult) => void) => void,
  finish: (outcome: RetryOutcome) => void,
): void {
  const deadlineMs = parts.clock.monotonicMs() + parts.windowMs
  let uncertain = false
  let delayMs = retryDelayMinMs
  const run = (): void =>
    attempt((result) => {
      // 'disk': this node's log is latched until a restart, so a retry here cannot succeed.
      if (result.ok || ['refused', 'stale', 'disk'].includes(result.error)) {
        return finish({ result, uncertain })
      }
      if (result.error === 'unknown') {
        uncertain = true
        if (!parts.retryUnknown) return finish({ result, uncertain })
      }
      if (parts.clock.monotonicMs() + delayMs > deadlineMs) return finish({ result, uncertain })
      parts.timers.after(delayMs, run)
      delayMs = Math.min(delayMs * 2, retryDelayMaxMs)
    })
  run()
}
