/* Runs `redis-benchmark --csv` for one test on one server and parses its rows (Redis 7 adds
 * avg/min/p50/p95/p99/max latency in ms). Invariant: a run that exits non-zero (Redis 7's client
 * exits on any error reply), times out or has no row for its test fails, never yields a number. */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Phase } from './phases.js'
import { shellQuote, spawnTracked } from './procs.js'

export interface BenchmarkRow {
  test: string
  requestsPerSecond: number
  /** Latencies in ms; null when this redis-benchmark does not print them (before Redis 7). */
  avgMs: number | null
  minMs: number | null
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

/** Splits one CSV line of quoted or bare fields (redis-benchmark never embeds quotes). */
function csvFields(line: string): string[] {
  return line.split(',').map((field) => field.trim().replace(/^"(.*)"$/, '$1'))
}

/** Parses redis-benchmark --csv output; the header names the columns. */
export function parseBenchmarkCsv(text: string): BenchmarkRow[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('"'))
  const header = lines[0] === undefined ? [] : csvFields(lines[0])
  if (header[0] !== 'test' || header[1] !== 'rps') return []
  const column = (name: string): number => header.indexOf(name)
  const rows: BenchmarkRow[] = []
  for (const line of lines.slice(1)) {
    const fields = csvFields(line)
    const numberAt = (name: string): number | null => {
      const index = column(name)
      const value = index === -1 ? undefined : fields[index]
      return value === undefined || value === '' || Number.isNaN(Number(value))
        ? null
        : Number(value)
    }
    const requestsPerSecond = numberAt('rps')
    if (fields[0] === undefined || requestsPerSecond === null) continue
    rows.push({
      test: fields[0],
      requestsPerSecond,
      avgMs: numberAt('avg_latency_ms'),
      minMs: numberAt('min_latency_ms'),
      p50Ms: numberAt('p50_latency_ms'),
      p95Ms: numberAt('p95_latency_ms'),
      p99Ms: numberAt('p99_latency_ms'),
      maxMs: numberAt('max_latency_ms'),
    })
  }
  return rows
}

export interface BenchmarkRun {
  phase: Phase
  pipeline: number
  requests: number
  clients: number
  keyspace: number
}

export function benchmarkArgs(port: number | string, run: BenchmarkRun): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-c',
    String(run.clients),
    '-n',
    String(run.requests),
    '-r',
    String(run.keyspace),
    ...(run.phase.benchmarkTest === null ? [] : ['-t', run.phase.benchmarkTest]),
    '-P',
    String(run.pipeline),
    '--csv',
    // A custom command goes last: redis-benchmark reads its remaining arguments as the command.
    ...run.phase.customCommand,
  ]
}

export function benchmarkCommandLine(port: number | string, run: BenchmarkRun): string {
  return ['redis-benchmark', ...benchmarkArgs(port, run)].map(shellQuote).join(' ')
}

/** Runs one test; resolves with its row or rejects with what went wrong. redis-benchmark spins
 * on a refused connection, so it is killed as soon as `serverExited` settles. */
export async function runBenchmark(
  port: number,
  run: BenchmarkRun,
  limits: { timeoutMs: number; serverExited: Promise<unknown> },
): Promise<BenchmarkRow> {
  const tracked = spawnTracked('redis-benchmark', benchmarkArgs(port, run), { stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  tracked.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  tracked.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = new AbortController()
  const outcome = await Promise.race([
    tracked.exited,
    sleep(limits.timeoutMs, 'timed out', { signal: timer.signal }).catch(() => 'cancelled'),
    limits.serverExited.then(() => 'server exited'),
  ])
  timer.abort()
  if (typeof outcome === 'string') {
    tracked.child.kill('SIGKILL')
    await tracked.exited
    const reason =
      outcome === 'server exited' ? 'the server exited' : `no result in ${limits.timeoutMs} ms`
    throw new Error(`redis-benchmark ${run.phase.name} -P ${run.pipeline}: ${reason}`)
  }
  const { code, signal } = outcome
  const label = run.phase.rowLabel
  const row = parseBenchmarkCsv(stdout).find((candidate) => candidate.test === label)
  if (code !== 0 || row === undefined) {
    const detail = (stderr + stdout).trim().split('\n').slice(-5).join('\n')
    throw new Error(
      `redis-benchmark ${run.phase.name} failed (code ${code}, signal ${signal}): ${detail}`,
    )
  }
  return row
}
