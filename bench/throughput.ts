/* The throughput phase: every redis-benchmark test at -P 1 and -P 16, caskade then redis in each
 * round, so drift on a shared machine hits both sides alike. Invariant: a failed run is recorded
 * as an error of its cell, and a server that died is restarted before the next run. */
import type { Progress } from './progress.js'
import type { RunningServer } from './procs.js'
import {
  benchmarkCommandLine,
  benchmarkTests,
  runBenchmark,
  type BenchmarkRun,
  type BenchmarkTest,
} from './redis-benchmark.js'
import { emptyCell, type CellSamples, type ThroughputRow } from './report.js'
import { isAlive, launch, relaunch, shutdown, type ServerKind } from './servers.js'

export const pipelines = [1, 16] as const
const clients = 50
const randomKeyspace = 1_000_000
/** -P 16 runs this many times the -P 1 request count, so both last a similar time. */
export const pipelineRequestsFactor = 5
const benchmarkTimeoutMs = 300_000
/** MSET writes 10 keys per request: a fifth of the requests keeps its runs as long as the rest. */
const msetRequestsDivisor = 5

export interface ThroughputOptions {
  tests: readonly BenchmarkTest[]
  requests: number
  rounds: number
}

export function runFor(
  options: ThroughputOptions,
  test: BenchmarkTest,
  pipeline: number,
): BenchmarkRun {
  const perTest = test === 'mset' ? options.requests / msetRequestsDivisor : options.requests
  const requests = Math.ceil(perTest) * (pipeline === 1 ? 1 : pipelineRequestsFactor)
  return { test, pipeline, requests, clients, keyspace: randomKeyspace }
}

export function describeLoad(options: ThroughputOptions): string {
  const example = benchmarkCommandLine('PORT', runFor(options, options.tests[0] ?? 'set', 1))
  return (
    `\`${example}\` for each -t of ${options.tests.join(',')} at -P ${pipelines.join(' and ')}` +
    ` (-n ${options.requests} at -P 1, ${options.requests * pipelineRequestsFactor} at -P 16,` +
    ` a ${msetRequestsDivisor}th of that for mset);` +
    ` caskade and redis in alternation, median of ${options.rounds} round(s)`
  )
}

async function ensureAlive(server: RunningServer, progress: Progress): Promise<RunningServer> {
  if (isAlive(server)) return server
  const { exitCode, signalCode } = server.tracked.child
  progress.note(`${server.spec.name} died (exit ${exitCode ?? signalCode}); restarting it`)
  return relaunch(server)
}

async function measureCell(
  server: RunningServer,
  run: BenchmarkRun,
  cell: CellSamples,
): Promise<void> {
  try {
    const row = await runBenchmark(server.spec.port, run, {
      timeoutMs: benchmarkTimeoutMs,
      serverExited: server.tracked.exited,
    })
    cell.requestsPerSecond.push(row.requestsPerSecond)
    if (row.p50Ms !== null) cell.p50Ms.push(row.p50Ms)
    if (row.p99Ms !== null) cell.p99Ms.push(row.p99Ms)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    cell.errors.push(`${server.spec.name}, ${run.test} -P ${run.pipeline}: ${message}`)
  }
}

export async function runThroughput(
  options: ThroughputOptions,
  kinds: { caskade: ServerKind; redis: ServerKind | null },
  context: { runDir: string; progress: Progress },
): Promise<ThroughputRow[]> {
  const { runDir, progress } = context
  progress.begin('starting servers for the throughput runs')
  let caskade = await launch(kinds.caskade, runDir)
  let redis: RunningServer | null = null
  const rows: ThroughputRow[] = []
  try {
    if (kinds.redis !== null) redis = await launch(kinds.redis, runDir)
    for (const test of options.tests) {
      for (const pipeline of pipelines) {
        const run = runFor(options, test, pipeline)
        const row: ThroughputRow = {
          command: benchmarkTests[test],
          pipeline,
          caskade: emptyCell(),
          redis: redis === null ? null : emptyCell(),
        }
        for (let round = 1; round <= options.rounds; round += 1) {
          const what = `${test} -P ${pipeline}, round ${round}/${options.rounds}`
          progress.begin(`caskade: ${what}`)
          caskade = await ensureAlive(caskade, progress)
          await measureCell(caskade, run, row.caskade)
          progress.advance()
          if (redis === null || row.redis === null) continue
          progress.begin(`redis: ${what}`)
          redis = await ensureAlive(redis, progress)
          await measureCell(redis, run, row.redis)
          progress.advance()
        }
        rows.push(row)
      }
    }
  } finally {
    await shutdown(caskade)
    if (redis !== null) await shutdown(redis)
  }
  return rows
}
