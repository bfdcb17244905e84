/* Server-wide counters for INFO stats/clients, and Redis's instantaneous metrics: a sample every
 * 100 ms of each counter's rate, averaged over the last 16 samples (server.c trackInstantaneous
 * Metric), so INFO shows recent throughput rather than a lifetime average. */

const samplesKept = 16
export const metricSampleIntervalMs = 100

class InstantaneousMetric {
  #samples: number[] = []
  #lastValue = 0
  #lastAtMs = -1

  sample(value: number, nowMs: number): void {
    if (this.#lastAtMs >= 0 && nowMs > this.#lastAtMs) {
      const perSecond = ((value - this.#lastValue) * 1000) / (nowMs - this.#lastAtMs)
      this.#samples.push(perSecond)
      if (this.#samples.length > samplesKept) this.#samples.shift()
    }
    this.#lastValue = value
    this.#lastAtMs = nowMs
  }

  average(): number {
    if (this.#samples.length === 0) return 0
    let sum = 0
    for (const value of this.#samples) sum += value
    return sum / this.#samples.length
  }
}

export class ServerStats {
  connectionsReceived = 0
  rejectedConnections = 0
  netInputBytes = 0
  netOutputBytes = 0
  readsProcessed = 0
  writesProcessed = 0
  /** Clients closed because a limit was exceeded (query buffer, output buffer). */
  limitDisconnects = 0
  recentMaxInputBuffer = 0
  recentMaxOutputBuffer = 0
  readonly #ops = new InstantaneousMetric()
  readonly #input = new InstantaneousMetric()
  readonly #output = new InstantaneousMetric()

  /** CONFIG RESETSTAT: counters restart from zero (the connection count itself stays). */
  reset(): void {
    this.connectionsReceived = 0
    this.rejectedConnections = 0
    this.netInputBytes = 0
    this.netOutputBytes = 0
    this.readsProcessed = 0
    this.writesProcessed = 0
    this.limitDisconnects = 0
    this.recentMaxInputBuffer = 0
    this.recentMaxOutputBuffer = 0
  }

  /** `commandsProcessed` comes from the dispatcher, which counts commands as Redis does. */
  sampleMetrics(nowMs: number, commandsProcessed: number): void {
    this.#ops.sample(commandsProcessed, nowMs)
    this.#input.sample(this.netInputBytes, nowMs)
    this.#output.sample(this.netOutputBytes, nowMs)
  }

  opsPerSecond(): number {
    return Math.round(this.#ops.average())
  }

  inputKbps(): number {
    return this.#input.average() / 1024
  }

  outputKbps(): number {
    return this.#output.average() / 1024
  }
}

/** Redis bytesToHuman: "512B", "965.45K", "6.70M", "1.00G". */
export function bytesToHuman(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P']
  if (bytes < 1024) return `${bytes}B`
  let value = bytes / 1024
  for (const unit of units) {
    if (value < 1024 || unit === 'P') return `${value.toFixed(2)}${unit}`
    value /= 1024
  }
  return `${bytes}B`
}
