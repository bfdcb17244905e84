/* The bench report: medians over rounds and the markdown tables (throughput, memory, restart,
 * machine). Pure functions of the measurements, so the formatting is unit-tested.
 * Invariant: a failed measurement prints as "failed", never as a number. */
import { cpus, release, totalmem, type } from 'node:os'

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((left, right) => left - right)
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] ?? 0
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? 0) + upper) / 2
}

/** What one server did in one (test, pipeline) cell over its rounds. */
export interface CellSamples {
  requestsPerSecond: number[]
  p50Ms: number[]
  p99Ms: number[]
  errors: string[]
}

export function emptyCell(): CellSamples {
  return { requestsPerSecond: [], p50Ms: [], p99Ms: [], errors: [] }
}

export interface ThroughputRow {
  command: string
  pipeline: number
  caskade: CellSamples
  /** null when redis-server is not installed. */
  redis: CellSamples | null
}

/** A phase left out because a server lacks one of its commands. */
export interface SkippedPhase {
  command: string
  reason: string
}

/** The report's lines for skipped phases: none when every phase ran. */
export function skippedLines(skipped: readonly SkippedPhase[]): string[] {
  if (skipped.length === 0) return []
  return [
    '',
    'Skipped, because a server does not know a command the phase sends:',
    '',
    ...skipped.map((entry) => `- ${entry.command}: ${entry.reason}`),
  ]
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatOps(cell: CellSamples | null): string {
  if (cell === null) return 'n/a'
  if (cell.errors.length > 0) return 'failed'
  const value = median(cell.requestsPerSecond)
  return value === null ? 'n/a' : integerFormat.format(value)
}

function formatMs(value: number | null): string {
  return value === null ? '?' : value.toFixed(3)
}

export function formatLatency(cell: CellSamples | null): string {
  if (cell === null) return 'n/a'
  if (cell.errors.length > 0) return 'failed'
  return `${formatMs(median(cell.p50Ms))} / ${formatMs(median(cell.p99Ms))}`
}

export function formatRatio(caskade: CellSamples, redis: CellSamples | null): string {
  if (redis === null || caskade.errors.length > 0 || redis.errors.length > 0) return 'n/a'
  const ours = median(caskade.requestsPerSecond)
  const theirs = median(redis.requestsPerSecond)
  if (ours === null || theirs === null || theirs === 0) return 'n/a'
  return `${(ours / theirs).toFixed(2)}x`
}

export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  const rule = header.map((_cell, index) => (index < 2 ? '---' : '---:'))
  return [line(header), line(rule), ...rows.map(line)].join('\n')
}

export function throughputTable(rows: readonly ThroughputRow[]): string {
  const header = [
    'command',
    'pipeline',
    'caskade ops/s',
    'redis ops/s',
    'ratio',
    'caskade p50 / p99 ms',
    'redis p50 / p99 ms',
  ]
  return markdownTable(
    header,
    rows.map((row) => [
      row.command,
      String(row.pipeline),
      formatOps(row.caskade),
      formatOps(row.redis),
      formatRatio(row.caskade, row.redis),
      formatLatency(row.caskade),
      formatLatency(row.redis),
    ]),
  )
}

export function formatMiB(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** Memory and restart figures of one server, from a fresh data dir loaded with the dataset. */
export interface DatasetResult {
  server: string
  fsyncPolicy: string
  keysLoaded: number
  loadMs: number | null
  dbSizeAfterLoad: number | null
  rssIdleBytes: number | null
  rssLoadedBytes: number | null
  usedMemoryBytes: number | null
  restartMs: number[]
  dbSizeAfterRestart: number | null
  error: string | null
}

export function datasetTable(results: readonly DatasetResult[]): string {
  const header = [
    'server',
    'fsync',
    'keys loaded',
    'load s',
    'DBSIZE',
    'RSS idle',
    'RSS loaded',
    'INFO used_memory',
    'restart to PING ms (median)',
    'restarts',
    'DBSIZE after restart',
  ]
  const rows = results.map((result) => [
    result.server,
    result.fsyncPolicy,
    integerFormat.format(result.keysLoaded),
    result.loadMs === null ? 'failed' : (result.loadMs / 1000).toFixed(1),
    result.dbSizeAfterLoad === null ? 'n/a' : integerFormat.format(result.dbSizeAfterLoad),
    formatMiB(result.rssIdleBytes),
    formatMiB(result.rssLoadedBytes),
    formatMiB(result.usedMemoryBytes),
    formatMedianMs(result.restartMs),
    result.restartMs.map((value) => value.toFixed(0)).join(', ') || 'none',
    result.dbSizeAfterRestart === null ? 'n/a' : integerFormat.format(result.dbSizeAfterRestart),
  ])
  return markdownTable(header, rows)
}

function formatMedianMs(values: readonly number[]): string {
  const value = median(values)
  return value === null ? 'n/a' : value.toFixed(1)
}

export interface MachineInfo {
  cores: number
  cpuModel: string
  memoryBytes: number
  os: string
  node: string
  redisServer: string
  redisBenchmark: string
}

export function describeMachine(versions: {
  redisServer: string
  redisBenchmark: string
}): MachineInfo {
  const processors = cpus()
  return {
    cores: processors.length,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    ...versions,
  }
}

export function machineLines(machine: MachineInfo): string[] {
  return [
    `- machine: ${machine.cores} cores (${machine.cpuModel}), ` +
      `${formatMiB(machine.memoryBytes)} RAM, ${machine.os}`,
    `- node ${machine.node}; ${machine.redisServer}; ${machine.redisBenchmark}`,
  ]
}
