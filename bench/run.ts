/* `npm run bench [-- --quick] [-- --only set,hset]`: caskade against redis-server (AOF, everysec)
 * with redis-benchmark in alternation over the phases of phases.ts (a phase a server lacks is
 * skipped with its reason), then memory and restart time on a loaded dataset; prints markdown and
 * writes bench/results/latest.md. Every child and temp dir dies with the run.
 * `npm run bench -- cluster [options]` runs the cluster bench of cluster.ts instead. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { runDataset } from './dataset.js'
import { installCleanupHandlers, makeTempDir, removeTempDir, shellQuote } from './procs.js'
import { Progress } from './progress.js'
import { phaseNamed, phaseNames, phases, type Phase } from './phases.js'
import {
  datasetTable,
  describeMachine,
  machineLines,
  skippedLines,
  throughputTable,
  type DatasetResult,
} from './report.js'
import {
  caskadeKind,
  caskadeMain,
  describeKind,
  installedVersion,
  redisKind,
  repoRoot,
  type ServerKind,
} from './servers.js'
import { describeLoad, runThroughput, stepsPerRound, type ThroughputResult } from './throughput.js'
import { runClusterBench } from './cluster.js'

const resultsPath = join(repoRoot, 'bench', 'results', 'latest.md')
const valueBytes = 100

export interface BenchOptions {
  quick: boolean
  phases: Phase[]
  requests: number
  rounds: number
  keys: number
  restarts: number
  standIn: boolean
  redis: boolean
}

function positiveInteger(text: string): number {
  const value = Number(text.replace(/_/g, ''))
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('expected a positive integer')
  }
  return value
}

function phaseList(text: string): Phase[] {
  const names = text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0)
  return names.map((name) => {
    const phase = phaseNamed(name)
    if (phase === undefined) {
      throw new InvalidArgumentError(`unknown phase ${name} (known: ${phaseNames.join(',')})`)
    }
    return phase
  })
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const program = new Command()
    .name('bench')
    .description('caskade vs redis-server: throughput, latency, memory, restart time')
    .option('--quick', 'few requests and 100k keys: checks the harness in well under a minute')
    .option('--only <phases>', `comma-separated phases (${phaseNames.join(',')})`, phaseList)
    .option('--requests <n>', 'requests per run at -P 1 (x5 at -P 16)', positiveInteger)
    .option('--rounds <n>', 'alternating rounds per test; the median is reported', positiveInteger)
    .option('--keys <n>', 'dataset size for the memory and restart figures', positiveInteger)
    .option('--restarts <n>', 'restarts per server; the median is reported', positiveInteger)
    .option('--stand-in', 'run a second redis-server as the "caskade" side (harness check)')
    .option('--no-redis', 'measure caskade alone even if redis-server is installed')
    .parse(argv, { from: 'user' })
  const raw = program.opts<{
    quick?: boolean
    only?: Phase[]
    requests?: number
    rounds?: number
    keys?: number
    restarts?: number
    standIn?: boolean
    redis: boolean
  }>()
  const quick = raw.quick === true
  return {
    quick,
    phases: raw.only ?? [...phases],
    requests: raw.requests ?? (quick ? 10_000 : 100_000),
    rounds: raw.rounds ?? (quick ? 1 : 3),
    keys: raw.keys ?? (quick ? 100_000 : 1_000_000),
    restarts: raw.restarts ?? (quick ? 1 : 3),
    standIn: raw.standIn === true,
    redis: raw.redis,
  }
}

interface ReportInput {
  options: BenchOptions
  argv: readonly string[]
  kinds: { caskade: ServerKind; redis: ServerKind | null }
  versions: { redisServer: string; redisBenchmark: string }
  throughput: ThroughputResult
  datasets: DatasetResult[]
  startedAt: Date
  elapsedMs: number
}

function commandLines(input: ReportInput): string[] {
  const { kinds } = input
  const lines = [
    `- command: \`${['node dist/bench/run.js', ...input.argv.map(shellQuote)].join(' ')}\``,
    `- caskade side: \`${describeKind(kinds.caskade)}\` (fsync: ${kinds.caskade.fsyncDescription})`,
  ]
  if (kinds.redis !== null) {
    lines.push(
      `- redis side: \`${describeKind(kinds.redis)}\` (fsync: ${kinds.redis.fsyncDescription})`,
    )
  }
  lines.push(`- load: ${describeLoad(input.options)}`)
  return lines
}

function renderReport(input: ReportInput): string {
  const { options } = input
  const errors = [
    ...input.throughput.rows.flatMap((row) => [
      ...row.caskade.errors,
      ...(row.redis?.errors ?? []),
    ]),
    ...input.datasets.flatMap((result) => (result.error === null ? [] : [result.error])),
  ]
  const lastKey = String(options.keys - 1).padStart(7, '0')
  return [
    `# caskade bench, ${input.startedAt.toISOString()}${options.quick ? ' (--quick)' : ''}`,
    '',
    ...machineLines(describeMachine(input.versions)),
    ...commandLines(input),
    `- wall time: ${(input.elapsedMs / 1000).toFixed(0)} s`,
    '',
    '## Throughput and latency (redis-benchmark, 50 clients, -r 1000000)',
    '',
    throughputTable(input.throughput.rows),
    ...skippedLines(input.throughput.skipped),
    '',
    `## Dataset: ${options.keys.toLocaleString('en-US')} keys ` +
      `(key:0000000..key:${lastKey}), ${valueBytes}-byte values`,
    '',
    'Loaded by a pipelined SET loader; RSS is VmRSS from /proc; restart is the time from',
    `process start to the first +PONG on the same data dir (median of ${options.restarts}).`,
    '',
    datasetTable(input.datasets),
    ...(errors.length === 0 ? [] : ['', '## Failures', '', ...errors.map((e) => `- ${e}`)]),
    '',
  ].join('\n')
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  if (argv[0] === 'cluster') return runClusterBench(argv.slice(1))
  const options = parseOptions(argv)
  const redisBenchmark = installedVersion('redis-benchmark')
  if (redisBenchmark === null) {
    process.stderr.write('bench: redis-benchmark not found (apt-get install -y redis-tools)\n')
    return 2
  }
  const redisServer = installedVersion('redis-server')
  if (options.standIn && redisServer === null) {
    process.stderr.write('bench: --stand-in needs redis-server (apt-get install redis-server)\n')
    return 2
  }
  if (!options.standIn && !existsSync(caskadeMain)) {
    process.stderr.write(`bench: ${caskadeMain} not found: build first (npx tsc -p .)\n`)
    return 2
  }
  const kinds = {
    caskade: options.standIn ? redisKind('caskade (stand-in: redis-server)') : caskadeKind(),
    redis: options.redis && redisServer !== null ? redisKind('redis') : null,
  }
  const sides = kinds.redis === null ? 1 : 2
  const throughputSteps = stepsPerRound(options.phases) * options.rounds * sides
  const progress = new Progress(throughputSteps + sides * (1 + options.restarts))
  installCleanupHandlers(() => progress.stop())
  const startedAt = new Date()
  const startedAtMs = performance.now()
  const runDir = makeTempDir('caskade-bench-')
  const throughput = await runThroughput(options, kinds, { runDir, progress })
  const datasets = await runDataset(
    { keys: options.keys, valueBytes, restarts: options.restarts },
    kinds,
    { runDir, progress },
  )
  progress.stop()
  removeTempDir(runDir)
  const report = renderReport({
    options,
    argv,
    kinds,
    versions: { redisServer: redisServer ?? 'redis-server not installed', redisBenchmark },
    throughput,
    datasets,
    startedAt,
    elapsedMs: performance.now() - startedAtMs,
  })
  process.stdout.write(report)
  mkdirSync(dirname(resultsPath), { recursive: true })
  writeFileSync(resultsPath, report)
  process.stderr.write(`[bench] wrote ${resultsPath}\n`)
  const failed = report.includes('\n## Failures\n')
  return failed ? 1 : 0
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
    process.stderr.write(`bench: ${text}\n`)
    process.exit(1)
  },
)
