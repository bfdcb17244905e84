/* An availability probe for the fault tests: one client writing a counter to one key on one node,
 * one write at a time, that measures the longest stretch without an acknowledged write. Invariant:
 * the report names every value whose write may have applied after the last acknowledged one, so
 * a final read is checked against exactly the values a correct cluster may hold. */
import type { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectClient } from './history-clients.js'

export interface WriteProbeReport {
  acked: number
  /** Writes with an error or no reply (their value may still have applied). */
  failed: number
  /** The longest time from the probe's start or one acknowledged write to the next. */
  longestGapMs: number
  lastAcked: string | null
  /** Values written after lastAcked without an acknowledgement. */
  maybeAfter: string[]
}

export interface WriteProbe {
  stop(): Promise<WriteProbeReport>
}

export function startWriteProbe(options: {
  port: number
  key: string
  commandTimeoutMs?: number
}): WriteProbe {
  const report: WriteProbeReport = {
    acked: 0,
    failed: 0,
    longestGapMs: 0,
    lastAcked: null,
    maybeAfter: [],
  }
  let running = true
  let lastAckMs = performance.now()
  const loop = async (): Promise<void> => {
    let redis: Redis | null = null
    for (let sequence = 1; running; sequence++) {
      const value = `probe-${sequence}`
      try {
        redis ??= await connectClient(options.port, options.commandTimeoutMs ?? 3000)
        await redis.set(options.key, value)
        const nowMs = performance.now()
        report.longestGapMs = Math.max(report.longestGapMs, nowMs - lastAckMs)
        lastAckMs = nowMs
        report.acked++
        report.lastAcked = value
        report.maybeAfter = []
      } catch {
        report.failed++
        report.maybeAfter.push(value)
        redis?.disconnect()
        redis = null
      }
      await sleep(10)
    }
    redis?.disconnect()
  }
  const done = loop()
  return {
    stop: async () => {
      running = false
      await done
      report.longestGapMs = Math.max(report.longestGapMs, performance.now() - lastAckMs)
      return report
    },
  }
}
