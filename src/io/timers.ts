/* The real Timers port over Node's timers. Interval and delay timers are unref'd: background
 * work (fsync every second, active expiry, merge pacing) must never keep an embedding process
 * alive on its own. `defer` is setImmediate: it runs after this turn's I/O and keeps the loop
 * alive only until it has run, so a pending flush of written data always completes. */
import type { Timers } from '../core/ports.js'

export const nodeTimers: Timers = {
  every(intervalMs, onFire) {
    const handle = setInterval(onFire, intervalMs)
    handle.unref()
    return () => clearInterval(handle)
  },
  after(delayMs, onFire) {
    const handle = setTimeout(onFire, delayMs)
    handle.unref()
    return () => clearTimeout(handle)
  },
  defer(onFire) {
    setImmediate(onFire)
  },
}
