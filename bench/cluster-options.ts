/* Command-line options of `npm run bench -- cluster` and `npm run failover`, parsed by commander
 * into plain objects. Invariant: every count and duration is a positive integer (seconds and
 * counts accept 1_000 separators), so the runs never start with a nonsense setting. */
import { Command, InvalidArgumentError } from 'commander'

export interface ClusterBenchOptions {
  /** Measured seconds per phase (writes, then reads), per system and row. */
  seconds: number
  warmupSeconds: number
  inFlight: number
  valueBytes: number
  /** Distinct keys written and then read. */
  keys: number
  etcd: boolean
  /** Directory for a --cpu-prof profile of every caskade node; null: no profiling. */
  cpuProfDir: string | null
}

export interface FailoverOptions {
  trials: number
  nodes: number
  /** Steady writes before each kill, in milliseconds. */
  steadyMs: number
  /** Give up on a trial when no write is acknowledged this long after the kill. */
  trialTimeoutMs: number
}

export function positiveInteger(text: string): number {
  const value = Number(text.replace(/_/g, ''))
  if (!/^[\d_]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('expected a positive integer')
  }
  return value
}

/** Where commander writes usage errors; tests pass a sink to keep their output clean. */
export interface OptionsOutput {
  writeErr(text: string): void
}

const stderrOutput: OptionsOutput = { writeErr: (text) => process.stderr.write(text) }

/** A bench subcommand's parser: usage errors go to `output` and throw instead of exiting. */
function benchCommand(name: string, description: string, output: OptionsOutput): Command {
  return new Command().configureOutput(output).name(name).description(description).exitOverride()
}

export function parseClusterBenchOptions(
  argv: readonly string[],
  output: OptionsOutput = stderrOutput,
): ClusterBenchOptions {
  const program = benchCommand(
    'bench cluster',
    'a 3-node caskade cluster against a 3-node etcd: writes/s, linearizable reads/s',
    output,
  )
    .option('--seconds <n>', 'measured seconds per phase', positiveInteger, 20)
    .option('--warmup <n>', 'unmeasured seconds before each phase', positiveInteger, 2)
    .option('--in-flight <n>', 'requests in flight', positiveInteger, 50)
    .option('--value-bytes <n>', 'bytes per value', positiveInteger, 100)
    .option('--keys <n>', 'distinct keys', positiveInteger, 10_000)
    .option('--no-etcd', 'measure caskade alone even if etcd is installed')
    .option('--cpu-prof <dir>', 'write a V8 CPU profile of every caskade node into <dir>')
    .parse(argv, { from: 'user' })
  const raw = program.opts<{
    seconds: number
    warmup: number
    inFlight: number
    valueBytes: number
    keys: number
    etcd: boolean
    cpuProf?: string
  }>()
  return {
    seconds: raw.seconds,
    warmupSeconds: raw.warmup,
    inFlight: raw.inFlight,
    valueBytes: raw.valueBytes,
    keys: raw.keys,
    etcd: raw.etcd,
    cpuProfDir: raw.cpuProf ?? null,
  }
}

export function parseFailoverOptions(
  argv: readonly string[],
  output: OptionsOutput = stderrOutput,
): FailoverOptions {
  const program = benchCommand(
    'failover',
    'SIGKILL the leader of a caskade cluster: time to the next acknowledged write',
    output,
  )
    .option('--trials <n>', 'kills of the leader', positiveInteger, 20)
    .option('--nodes <n>', 'cluster size (odd, >= 3)', positiveInteger, 3)
    .option('--steady-ms <n>', 'steady writes before each kill', positiveInteger, 1_000)
    .option('--trial-timeout-ms <n>', 'give up a trial after this long', positiveInteger, 30_000)
    .parse(argv, { from: 'user' })
  const raw = program.opts<{
    trials: number
    nodes: number
    steadyMs: number
    trialTimeoutMs: number
  }>()
  if (raw.nodes < 3 || raw.nodes % 2 === 0) {
    program.error('error: --nodes must be odd and at least 3', { exitCode: 2 })
  }
  return {
    trials: raw.trials,
    nodes: raw.nodes,
    steadyMs: raw.steadyMs,
    trialTimeoutMs: raw.trialTimeoutMs,
  }
}
