/* The real Clock port: performance.now() for monotonic durations and timeouts, Date.now() for
 * absolute Unix times (expiry, TIME). The only place outside tests that reads the system clock,
 * so cores stay deterministic under the simulator's virtual clock. */
import type { Clock } from '../core/ports.js'

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
}
