/* The cluster bench's and the failover runs' tables: rows of measured load, the caskade/etcd
 * ratio per operation, the verdict against issue 5's targets, and failover medians. Pure, so the
 * formatting is unit-tested. Invariant: a failed or missing measurement prints as "failed" or
 * "n/a", never as a number, and never yields a ratio or a "met" verdict. */
import type { LoadResult } from './load.js'
import { markdownTable, median } from './report.js'

export type ClusterOp = 'write' | 'read'

export interface ClusterRow {
  system: 'caskade' | 'etcd'
  /** How the load was sent, e.g. "caskade, SET to the leader". */
  label: string
  op: ClusterOp
  result: LoadResult | null
  /** Why there is no result (the system failed to start, the run threw). */
  error: string | null
}

/** Issue 5: writes/s at least 1.5x etcd's, reads/s at least 1x, p99 no higher. */
export const targetRatios: Readonly<Record<ClusterOp, number>> = { write: 1.5, read: 1 }
export const failoverTargetMs = 1_500

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

function usable(row: ClusterRow | undefined): LoadResult | null {
  if (row === undefined || row.error !== null || row.result === null) return null
  return row.result.operations > 0 ? row.result : null
}

function formatMs(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(2)
}

/** The etcd row of the same operation, the reference of a caskade row's ratio. */
function referenceRow(rows: readonly ClusterRow[], op: ClusterOp): ClusterRow | undefined {
  return rows.find((row) => row.system === 'etcd' && row.op === op)
}

export function formatClusterRatio(row: ClusterRow, rows: readonly ClusterRow[]): string {
  if (row.system !== 'caskade') return ''
  const ours = usable(row)
  const theirs = usable(referenceRow(rows, row.op))
  if (ours === null || theirs === null || theirs.opsPerSecond === 0) return 'n/a'
  return `${(ours.opsPerSecond / theirs.opsPerSecond).toFixed(2)}x`
}

export function clusterTable(rows: readonly ClusterRow[]): string {
  const header = ['system', 'op', 'ops/s', 'p50 ms', 'p99 ms', 'errors', 'ratio caskade/etcd']
  return markdownTable(
    header,
    rows.map((row) => {
      const result = row.error === null ? row.result : null
      if (result === null) return [row.label, row.op, 'failed', 'n/a', 'n/a', 'n/a', 'n/a']
      return [
        row.label,
        row.op,
        integerFormat.format(result.opsPerSecond),
        formatMs(result.p50Ms),
        formatMs(result.p99Ms),
        integerFormat.format(result.errors),
        formatClusterRatio(row, rows),
      ]
    }),
  )
}

/** One line per operation: the first caskade row of it against etcd's, and whether it is met. */
export function verdictLines(rows: readonly ClusterRow[]): string[] {
  const ops: ClusterOp[] = ['write', 'read']
  return ops.flatMap((op) => {
    const row = rows.find((candidate) => candidate.system === 'caskade' && candidate.op === op)
    if (row === undefined) return []
    const ours = usable(row)
    const theirs = usable(referenceRow(rows, op))
    const target = `target >= ${targetRatios[op].toFixed(1)}x at equal or lower p99`
    if (ours === null || theirs === null || theirs.opsPerSecond === 0) {
      return [`- ${op}s (${row.label}): no comparison (${target})`]
    }
    const ratio = ours.opsPerSecond / theirs.opsPerSecond
    const p99Ok = ours.p99Ms !== null && theirs.p99Ms !== null && ours.p99Ms <= theirs.p99Ms
    const met = ratio >= targetRatios[op] && p99Ok
    return [
      `- ${op}s (${row.label}): ${ratio.toFixed(2)}x etcd's ops/s, p99 ` +
        `${formatMs(ours.p99Ms)} vs ${formatMs(theirs.p99Ms)} ms: ` +
        `${met ? 'met' : 'NOT met'} (${target})`,
    ]
  })
}

/** One failover trial: SIGKILL of the leader to the first acknowledged write sent after it. */
export interface FailoverTrial {
  trial: number
  killed: string
  newLeader: string | null
  failoverMs: number | null
  catchUpMs: number | null
  /** Writes sent after the kill that failed before the first acknowledged one, by kind. */
  failures: Record<string, number>
  /** Writes sent after the kill that failed after the first acknowledged one, until the
   * restarted node caught up, by kind. */
  laterFailures: Record<string, number>
  error: string | null
}

export interface FailoverSummary {
  trials: number
  succeeded: number
  medianMs: number | null
  worstMs: number | null
  bestMs: number | null
}

export function summarizeFailover(trials: readonly FailoverTrial[]): FailoverSummary {
  const times = trials.flatMap((trial) =>
    trial.error === null && trial.failoverMs !== null ? [trial.failoverMs] : [],
  )
  return {
    trials: trials.length,
    succeeded: times.length,
    medianMs: median(times),
    worstMs: times.length === 0 ? null : Math.max(...times),
    bestMs: times.length === 0 ? null : Math.min(...times),
  }
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort((left, right) => right[1] - left[1])
  return entries.map(([text, count]) => `${count}x ${text}`).join('; ') || 'none'
}

export function failoverTable(trials: readonly FailoverTrial[]): string {
  const header = [
    'trial',
    'killed',
    'new leader',
    'failover ms',
    'catch-up ms',
    'failed writes until the first ack',
    'failed writes after it',
  ]
  return markdownTable(
    header,
    trials.map((trial) => [
      String(trial.trial),
      trial.killed,
      trial.newLeader ?? 'n/a',
      trial.error !== null ? 'failed' : formatMs(trial.failoverMs),
      formatMs(trial.catchUpMs),
      formatCounts(trial.failures),
      formatCounts(trial.laterFailures),
    ]),
  )
}

export function failoverSummaryLine(summary: FailoverSummary): string {
  const verdict =
    summary.medianMs === null || summary.succeeded < summary.trials
      ? 'NOT met'
      : summary.medianMs < failoverTargetMs
        ? 'met'
        : 'NOT met'
  return (
    `- ${summary.succeeded}/${summary.trials} trials: median ${formatMs(summary.medianMs)} ms, ` +
    `worst ${formatMs(summary.worstMs)} ms, best ${formatMs(summary.bestMs)} ms: ${verdict} ` +
    `(target: median < ${failoverTargetMs} ms)`
  )
}

const errTextMax = 48

/** A short, stable name for a failed write: the RESP error code (a generic ERR keeps its text,
 * numbers as N), the socket error code, or the client's timeout, so failures group in the table
 * instead of listing every port number or sequence. */
export function errorKind(message: string): string {
  const code = /^([A-Z][A-Z_]+)(\s|$)/.exec(message)?.[1]
  if (code === 'ERR') return message.replace(/\d+/g, 'N').slice(0, errTextMax)
  if (code !== undefined) return code
  const socket = /\b(E[A-Z]{3,})\b/.exec(message)?.[1]
  if (socket !== undefined) return socket
  if (/timed? ?out/i.test(message)) return 'timeout'
  if (/closed|offline|writeable|connection|max retries/i.test(message)) return 'connection'
  return message.length === 0 ? 'empty error' : 'other'
}
