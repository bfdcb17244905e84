/* A closed-loop load generator: `inFlight` workers each await one operation at a time for a fixed
 * duration, latencies go to an HDR histogram (microseconds, 3 significant digits). Invariant: only
 * operations that both started and finished inside the measured window are counted, so warm-up
 * and the drain at the end never inflate the rate. */
import { build, type Histogram } from 'hdr-histogram-js'

const histogramMaxUs = 120_000_000
const errorSamplesMax = 5

export interface LoadOptions {
  inFlight: number
  /** Measured window; operations before it (warm-up) are run but not recorded. */
  durationMs: number
  warmupMs: number
  /** `sequence` counts operations across all workers, from 0. */
  operation: (sequence: number) => Promise<unknown>
  /** Injected for tests; defaults to performance.now. */
  nowMs?: () => number
}

export interface LoadResult {
  operations: number
  errors: number
  /** A few distinct error messages, for the report. */
  errorSamples: string[]
  elapsedMs: number
  opsPerSecond: number
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: histogramMaxUs,
    numberOfSignificantValueDigits: 3,
  })
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const nowMs = options.nowMs ?? (() => performance.now())
  const histogram = newHistogram()
  const errorSamples = new Set<string>()
  let sequence = 0
  let operations = 0
  let errors = 0
  const startMs = nowMs()
  const windowStartMs = startMs + options.warmupMs
  const windowEndMs = windowStartMs + options.durationMs
  const worker = async (): Promise<void> => {
    for (;;) {
      const beganMs = nowMs()
      if (beganMs >= windowEndMs) return
      let failure: string | null = null
      try {
        await options.operation(sequence++)
      } catch (error) {
        failure = errorText(error)
      }
      const endedMs = nowMs()
      if (beganMs < windowStartMs || endedMs > windowEndMs) continue
      if (failure === null) {
        operations += 1
        histogram.recordValue(Math.max(1, Math.round((endedMs - beganMs) * 1000)))
      } else {
        errors += 1
        if (errorSamples.size < errorSamplesMax) errorSamples.add(failure)
      }
    }
  }
  await Promise.all(Array.from({ length: options.inFlight }, worker))
  const elapsedMs = options.durationMs
  const recorded = histogram.totalCount > 0
  const result: LoadResult = {
    operations,
    errors,
    errorSamples: [...errorSamples],
    elapsedMs,
    opsPerSecond: elapsedMs > 0 ? (operations * 1000) / elapsedMs : 0,
    p50Ms: recorded ? histogram.getValueAtPercentile(50) / 1000 : null,
    p99Ms: recorded ? histogram.getValueAtPercentile(99) / 1000 : null,
    maxMs: recorded ? histogram.maxValue / 1000 : null,
  }
  histogram.destroy()
  return result
}
