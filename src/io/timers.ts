/* The real Timers port over Node's timers. Interval and delay timers are unref'd: background
 * work (fsync every second, active expiry, merge pacing) must never keep an embedding process
 * alive on its own. `defer` is setImmediate: it runs after this turn's I/O and keeps the loop
 * alive only until it has run, so a pending flush of written data always completes. */
import type { Timers } from '../core/ports.js'

/** Node turns a setTimeout delay above 2^31-1 ms (~24.8 days) into 1 ms: longer are chained. */
export const timeoutDelayMaxMs = 0x7fff_ffff

/** One unref'd timeout of any length (a BLPOP may block for years); returns its cancel. */
function longTimeout(delayMs: number, onFire: () => void): () => void {
  let handle: NodeJS.Timeout
  const arm = (remainingMs: number): void => {
    const stepMs = Math.min(remainingMs, timeoutDelayMaxMs)
    handle = setTimeout(() => {
      if (remainingMs > stepMs) arm(remainingMs - stepMs)
      else onFire()
    }, stepMs)
    handle.unref()
  }
  arm(delayMs)
  return () => clearTimeout(handle)
}

export const nodeTimers: Timers = {
  every(intervalMs, onFire) {
    const handle = setInterval(onFire, intervalMs)
    handle.unref()
    return () => clearInterval(handle)
  },
  after(delayMs, onFire) {
    return longTimeout(delayMs, onFire)
  },
  defer(onFire) {
    setImmediate(onFire)
  },
}
