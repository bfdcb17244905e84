#!/usr/bin/env node
/* `npm run sim -- --seeds 10000 [--seed N] [--replicas 3|5] [--faults a,b,c] [--history FILE]`
 * (`--file-snapshots`: state machines snapshot as files, captured and fetched asynchronously):
 * runs simulation seeds one after another, a progress bar on a TTY (plain lines otherwise), and
 * stops at the first failing seed with the one-line command that replays it and the trace of its
 * last events. Exit codes: 0 every seed passed, 1 a seed failed, 2 usage error. */
import { writeFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import cliProgress from 'cli-progress'
import { caskadeDeps } from './caskade-deps.js'
import { faultKinds, parseFaults } from './faults.js'
import { defaultSimConfig, runSeed, type SimConfig, type SimResult } from './run.js'

interface CliOptions {
  seeds: number
  seed: number
  replicas: number
  faults: string
  history?: string
  unsafeLocalReads: boolean
  readMode: 'read-index' | 'lease'
  faultPhaseMs: number
  snapshotEvery?: number
  fileSnapshots: boolean
  checkTimeLimit: number
  traceLines: number
}

function integer(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0')
  return n
}

function positive(value: string): number {
  const n = integer(value)
  if (n === 0) throw new InvalidArgumentError('expected an integer > 0')
  return n
}

function replicaCount(value: string): number {
  if (value !== '3' && value !== '5') throw new InvalidArgumentError('3 or 5')
  return Number(value)
}

function readMode(value: string): 'read-index' | 'lease' {
  if (value === 'read-index' || value === 'lease') return value
  throw new InvalidArgumentError('read-index or lease')
}

function configFor(options: CliOptions, seed: number): SimConfig {
  const every = options.snapshotEvery
  const snapshot =
    every === undefined ? {} : { snapshotEveryEntries: every, logTailEntries: Math.min(5, every) }
  return {
    ...defaultSimConfig,
    seed,
    replicas: options.replicas,
    clients: options.replicas === 5 ? 6 : 4,
    faults: parseFaults(options.faults),
    faultPhaseMs: options.faultPhaseMs,
    traceLines: options.traceLines,
    tuning: {
      ...defaultSimConfig.tuning,
      readMode: options.readMode,
      ...snapshot,
      ...(options.unsafeLocalReads ? { unsafeLocalReads: true } : {}),
    },
  }
}

function replayCommand(options: CliOptions, seed: number): string {
  const flags = [
    `--seed ${seed}`,
    '--seeds 1',
    `--replicas ${options.replicas}`,
    `--faults ${options.faults}`,
    `--fault-phase-ms ${options.faultPhaseMs}`,
  ]
  if (options.snapshotEvery !== undefined) flags.push(`--snapshot-every ${options.snapshotEvery}`)
  if (options.readMode !== 'read-index') flags.push(`--read-mode ${options.readMode}`)
  if (options.fileSnapshots) flags.push('--file-snapshots')
  if (options.unsafeLocalReads) flags.push('--unsafe-local-reads')
  return `npm run sim -- ${flags.join(' ')}`
}

function reportFailure(options: CliOptions, result: SimResult): void {
  const failure = result.failure
  if (failure === null) return
  const out = process.stdout
  out.write(`\nFAIL seed ${result.seed}: ${failure.kind}: ${failure.message}\n`)
  out.write(`replay: ${replayCommand(options, result.seed)}\n`)
  out.write(`last ${result.traceLines.length} events (virtual time):\n`)
  for (const line of result.traceLines) out.write(`  ${line}\n`)
}

async function sweep(options: CliOptions): Promise<number> {
  const deps = caskadeDeps({
    checkTimeLimitMs: options.checkTimeLimit * 1000,
    fileSnapshots: options.fileSnapshots,
  })
  const tty = process.stderr.isTTY
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: 'sim {bar} {value}/{total} seeds | {ops} ops | {rate} ops/s' },
        cliProgress.Presets.shades_classic,
      )
    : null
  bar?.start(options.seeds, 0, { ops: 0, rate: 0 })
  const startedMs = performance.now()
  let operations = 0
  let unknown = 0
  let last: SimResult | null = null
  let seedsRun = 0
  for (let i = 0; i < options.seeds; i++) {
    const seed = options.seed + i
    last = await runSeed(configFor(options, seed), deps)
    seedsRun++
    operations += last.operations
    if (last.verdict === 'unknown') unknown++
    const rate = Math.round(operations / ((performance.now() - startedMs) / 1000))
    bar?.update(seedsRun, { ops: operations, rate })
    if (!tty && (seedsRun % 100 === 0 || seedsRun === options.seeds)) {
      process.stderr.write(
        `sim: ${seedsRun}/${options.seeds} seeds, ${operations} ops, ${rate} ops/s\n`,
      )
    }
    if (last.failure !== null) break
  }
  bar?.stop()
  const elapsedS = (performance.now() - startedMs) / 1000
  if (options.history !== undefined && last !== null)
    writeFileSync(options.history, last.historyJson)
  if (last?.failure) reportFailure(options, last)
  const rate = Math.round(operations / elapsedS)
  const cpuS = (process.cpuUsage().user + process.cpuUsage().system) / 1e6
  process.stdout.write(
    `seeds run: ${seedsRun} (from ${options.seed}), simulated operations: ${operations}, ` +
      `${rate} ops per wall-clock second, ${elapsedS.toFixed(1)} s (${cpuS.toFixed(1)} s CPU, ` +
      `${Math.round(operations / cpuS)} ops per CPU second), checker unknown: ${unknown}\n`,
  )
  return last?.failure ? 1 : 0
}

const program = new Command()
  .name('sim')
  .description(
    'deterministic cluster simulator: replicas, faults, clients, invariant and linearizability checks',
  )
  .option('--seeds <n>', 'number of seeds to run', positive, 100)
  .option('--seed <n>', 'first seed', integer, 1)
  .option('--replicas <n>', '3 or 5', replicaCount, 3)
  .option('--faults <list>', `comma-separated: ${faultKinds.join(',')} (or all, none)`, 'all')
  .option('--history <file>', 'write the last (or failing) run history as JSON')
  .option(
    '--unsafe-local-reads',
    'TEST ONLY: leaders answer reads from local state (broken)',
    false,
  )
  .option(
    '--fault-phase-ms <ms>',
    'virtual ms of clients under faults',
    integer,
    defaultSimConfig.faultPhaseMs,
  )
  .option(
    '--read-mode <mode>',
    'read-index | lease (assumes bounded drift)',
    readMode,
    'read-index',
  )
  .option('--snapshot-every <n>', 'snapshot every n applied entries (default 25)', positive)
  .option(
    '--file-snapshots',
    'state machines snapshot as files: async capture, followers fetch from the sender',
    false,
  )
  .option(
    '--check-time-limit <seconds>',
    'linearizability checker time limit per seed',
    integer,
    10,
  )
  .option('--trace-lines <n>', 'events shown for a failing seed', positive, 50)
  .action(async (options: CliOptions) => {
    try {
      parseFaults(options.faults)
    } catch (error) {
      program.error((error as Error).message, { exitCode: 2 })
    }
    process.exitCode = await sweep(options)
  })

await program.parseAsync(process.argv)
