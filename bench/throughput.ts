/* The throughput runs: every phase at its pipelines, caskade then redis in each round, so drift on
 * a shared machine hits both sides alike. Invariant: a failed run is recorded as an error of its
 * cell, a server that died is restarted before the next run, and a phase a server lacks is skipped
 * with the reason COMMAND INFO gave. */
import { missingCommands, type Phase } from './phases.js'
import type { Progress } from './progress.js'
import type { RunningServer } from './procs.js'
import { benchmarkCommandLine, runBenchmark, type BenchmarkRun } from './redis-benchmark.js'
import { emptyCell, type CellSamples, type SkippedPhase, type ThroughputRow } from './report.js'
import { isAlive, launch, relaunch, shutdown, type ServerKind } from './servers.js'

const clients = 50
const randomKeyspace = 1_000_000
/** -P 16 runs this many times the -P 1 request count, so both last a similar time. */
export const pipelineRequestsFactor = 5
const benchmarkTimeoutMs = 300_000

export interface ThroughputOptions {
  phases: readonly Phase[]
  requests: number
  rounds: number
}

export interface ThroughputResult {
  rows: ThroughputRow[]
  skipped: SkippedPhase[]
}

export function runFor(options: ThroughputOptions, phase: Phase, pipeline: number): BenchmarkRun {
  const perPhase = Math.ceil(options.requests / phase.requestsDivisor)
  const requests = perPhase * (pipeline === 1 ? 1 : pipelineRequestsFactor)
  return { phase, pipeline, requests, clients, keyspace: randomKeyspace }
}

/** Runs of one round over every phase, for the progress bar. */
export function stepsPerRound(phases: readonly Phase[]): number {
  return phases.reduce((sum, phase) => sum + phase.pipelines.length, 0)
}

function phaseList(phases: readonly Phase[]): string {
  const groups = new Map<string, string[]>()
  for (const phase of phases) {
    const key = phase.pipelines.join(' and ')
    const what = phase.benchmarkTest ?? `\`${phase.customCommand.join(' ')}\``
    groups.set(key, [...(groups.get(key) ?? []), what])
  }
  return [...groups].map(([pipes, names]) => `${names.join(',')} at -P ${pipes}`).join('; ')
}

export function describeLoad(options: ThroughputOptions): string {
  const first = options.phases[0]
  const example = first === undefined ? '' : benchmarkCommandLine('PORT', runFor(options, first, 1))
  return (
    `\`${example}\` for each phase: ${phaseList(options.phases)}` +
    ` (-n ${options.requests} at -P 1, ${options.requests * pipelineRequestsFactor} at -P 16,` +
    ` a 5th of that for mset; a custom command replaces -t);` +
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
    await run.phase.prepare?.(server.spec.port, run.requests)
    const row = await runBenchmark(server.spec.port, run, {
      timeoutMs: benchmarkTimeoutMs,
      serverExited: server.tracked.exited,
    })
    cell.requestsPerSecond.push(row.requestsPerSecond)
    if (row.p50Ms !== null) cell.p50Ms.push(row.p50Ms)
    if (row.p99Ms !== null) cell.p99Ms.push(row.p99Ms)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    cell.errors.push(`${server.spec.name}, ${run.phase.name} -P ${run.pipeline}: ${message}`)
  }
}

/** Why `phase` cannot run on these servers, or null when every server knows its commands. */
async function skipReason(phase: Phase, servers: readonly RunningServer[]): Promise<string | null> {
  const reasons: string[] = []
  for (const server of servers) {
    const missing = await missingCommands(server.spec.port, phase.commands)
    if (missing.length > 0) {
      reasons.push(`${server.spec.name} does not know ${missing.join(', ')} (COMMAND INFO)`)
    }
  }
  return reasons.length === 0 ? null : reasons.join('; ')
}

interface Sides {
  caskade: RunningServer
  redis: RunningServer | null
}

async function measurePhase(
  phase: Phase,
  sides: Sides,
  options: ThroughputOptions,
  progress: Progress,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = []
  for (const pipeline of phase.pipelines) {
    const run = runFor(options, phase, pipeline)
    const row: ThroughputRow = {
      command: phase.rowLabel,
      pipeline,
      caskade: emptyCell(),
      redis: sides.redis === null ? null : emptyCell(),
    }
    for (let round = 1; round <= options.rounds; round += 1) {
      const what = `${phase.name} -P ${pipeline}, round ${round}/${options.rounds}`
      progress.begin(`caskade: ${what}`)
      sides.caskade = await ensureAlive(sides.caskade, progress)
      await measureCell(sides.caskade, run, row.caskade)
      progress.advance()
      if (sides.redis === null || row.redis === null) continue
      progress.begin(`redis: ${what}`)
      sides.redis = await ensureAlive(sides.redis, progress)
      await measureCell(sides.redis, run, row.redis)
      progress.advance()
    }
    rows.push(row)
  }
  return rows
}

export async function runThroughput(
  options: ThroughputOptions,
  kinds: { caskade: ServerKind; redis: ServerKind | null },
  context: { runDir: string; progress: Progress },
): Promise<ThroughputResult> {
  const { runDir, progress } = context
  progress.begin('starting servers for the throughput runs')
  const sides: Sides = { caskade: await launch(kinds.caskade, runDir), redis: null }
  const result: ThroughputResult = { rows: [], skipped: [] }
  try {
    if (kinds.redis !== null) sides.redis = await launch(kinds.redis, runDir)
    for (const phase of options.phases) {
      sides.caskade = await ensureAlive(sides.caskade, progress)
      if (sides.redis !== null) sides.redis = await ensureAlive(sides.redis, progress)
      const servers = sides.redis === null ? [sides.caskade] : [sides.caskade, sides.redis]
      const reason = await skipReason(phase, servers)
      if (reason !== null) {
        progress.note(`skipping ${phase.name}: ${reason}`)
        result.skipped.push({ command: phase.rowLabel, reason })
        const steps = phase.pipelines.length * options.rounds * servers.length
        for (let step = 0; step < steps; step += 1) progress.advance()
        continue
      }
      result.rows.push(...(await measurePhase(phase, sides, options, progress)))
    }
  } finally {
    await shutdown(sides.caskade)
    if (sides.redis !== null) await shutdown(sides.redis)
  }
  return result
}
