/* `npm run failover -- --trials 20`: issue 5's failover time on a 3-node caskade cluster. Per
 * trial: steady writes to every node, SIGKILL of the leader, the time until the first write sent
 * after the kill is acknowledged (clients try every node), then the killed node is restarted and
 * must catch up before the next trial. Prints per-trial rows, median and worst, and writes
 * bench/results/failover-latest.json. Every child and temp dir dies with the run. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CommanderError } from 'commander'
import { Redis } from 'ioredis'
import {
  describeCaskadeNode,
  killNode,
  restartNode,
  startCaskadeCluster,
  stopCaskadeCluster,
  waitCaughtUp,
  waitForLeader,
  type CaskadeCluster,
} from './caskade-cluster.js'
import { parseFailoverOptions, type FailoverOptions } from './cluster-options.js'
import {
  failoverSummaryLine,
  failoverTable,
  summarizeFailover,
  type FailoverTrial,
} from './cluster-report.js'
import { installCleanupHandlers, makeTempDir, removeTempDir, shellQuote } from './procs.js'
import { describeMachine, machineLines } from './report.js'
import { caskadeMain, repoRoot } from './servers.js'
import { WriteProber } from './write-prober.js'

const resultsPath = join(repoRoot, 'bench', 'results', 'failover-latest.json')
const startTimeoutMs = 60_000
const catchUpTimeoutMs = 60_000
const probeIntervalMs = 5
// Enough for a whole client timeout of probes: a node that holds writes never starves probing.
const probeInFlightMax = 400
const probeValueBytes = 100
const commandTimeoutMs = 2_000
const reconnectDelayMs = 20
const pollMs = 5

function note(text: string): void {
  process.stderr.write(`[failover] ${text}\n`)
}

/** A client that fails at once while its node is down and reconnects every 20 ms; its
 * connection errors are expected (the node was killed), so they are not logged. */
function probeClient(port: number): Redis {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 500,
    retryStrategy: () => reconnectDelayMs,
  })
  client.on('error', () => undefined)
  return client
}

async function waitFirstAck(
  prober: WriteProber,
  killedAtMs: number,
  timeoutMs: number,
): Promise<number | null> {
  for (;;) {
    const ackAtMs = prober.firstAcknowledgedAfter(killedAtMs)
    if (ackAtMs !== null) return ackAtMs
    if (performance.now() - killedAtMs > timeoutMs) return null
    await sleep(pollMs)
  }
}

async function runTrial(
  trial: number,
  cluster: CaskadeCluster,
  prober: WriteProber,
  options: FailoverOptions,
): Promise<FailoverTrial> {
  const leader = await waitForLeader(cluster, startTimeoutMs)
  const result: FailoverTrial = { ...failedTrial(trial), killed: leader.name }
  prober.reset()
  const steadyFromMs = performance.now()
  await sleep(options.steadyMs)
  if (prober.acknowledgedSince(steadyFromMs) === 0) {
    return { ...result, error: 'no write was acknowledged before the kill' }
  }
  const killedAtMs = performance.now()
  await killNode(leader)
  const ackAtMs = await waitFirstAck(prober, killedAtMs, options.trialTimeoutMs)
  if (ackAtMs === null) {
    result.error = `no write acknowledged within ${options.trialTimeoutMs} ms of the kill`
  } else {
    result.failoverMs = ackAtMs - killedAtMs
    result.failures = prober.failuresSettled(killedAtMs, killedAtMs, ackAtMs)
  }
  result.newLeader = (await waitForLeader(cluster, startTimeoutMs)).name
  await restartNode(cluster, leader)
  result.catchUpMs = await waitCaughtUp(cluster, leader, catchUpTimeoutMs)
  const firstAckMs = ackAtMs ?? killedAtMs
  result.laterFailures = prober.failuresSettled(killedAtMs, firstAckMs, performance.now())
  const shown = result.failoverMs === null ? 'failed' : `${result.failoverMs.toFixed(0)} ms`
  note(`trial ${trial}: killed ${leader.name}, new leader ${result.newLeader}, failover ${shown}`)
  return result
}

function failedTrial(trial: number): FailoverTrial {
  return {
    trial,
    killed: 'n/a',
    newLeader: null,
    failoverMs: null,
    catchUpMs: null,
    failures: {},
    laterFailures: {},
    error: null,
  }
}

async function runTrials(
  cluster: CaskadeCluster,
  options: FailoverOptions,
): Promise<FailoverTrial[]> {
  const clients = cluster.nodes.map((node) => ({ name: node.name, client: probeClient(node.port) }))
  const prober = new WriteProber({
    targets: clients,
    intervalMs: probeIntervalMs,
    inFlightMax: probeInFlightMax,
    valueBytes: probeValueBytes,
  })
  const trials: FailoverTrial[] = []
  try {
    await Promise.all(clients.map((target) => target.client.connect()))
    prober.start()
    for (let trial = 1; trial <= options.trials; trial += 1) {
      try {
        trials.push(await runTrial(trial, cluster, prober, options))
      } catch (error) {
        // The cluster may be short of a node now: later trials would measure nothing useful.
        const message = error instanceof Error ? error.message : String(error)
        note(`trial ${trial} failed, stopping: ${message}`)
        trials.push({ ...failedTrial(trial), error: message })
        break
      }
    }
  } finally {
    prober.stop()
    for (const target of clients) target.client.disconnect()
  }
  return trials
}

function render(
  options: FailoverOptions,
  argv: readonly string[],
  trials: FailoverTrial[],
): string {
  const machine = describeMachine({ redisServer: 'not run', redisBenchmark: 'not run' })
  return [
    `# caskade failover, ${new Date().toISOString()}`,
    '',
    ...machineLines(machine).slice(0, 1),
    `- node ${machine.node}`,
    `- command: \`${['npm run failover --', ...argv.map(shellQuote)].join(' ')}\``,
    `- cluster: ${options.nodes} nodes, \`${describeCaskadeNode()}\`, default Raft timeouts`,
    `- probes: a SET to every node every ${probeIntervalMs} ms (at most ${probeInFlightMax} ` +
      `unanswered per node, ${commandTimeoutMs} ms client timeout); failover = SIGKILL of the ` +
      'leader to the first acknowledged SET sent after it; the killed node is then restarted ' +
      'and must catch up before the next trial',
    '',
    failoverTable(trials),
    '',
    failoverSummaryLine(summarizeFailover(trials)),
    '',
  ].join('\n')
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  let options: FailoverOptions
  try {
    options = parseFailoverOptions(argv)
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    throw error
  }
  if (!existsSync(caskadeMain)) {
    process.stderr.write(`failover: ${caskadeMain} not found: build first (npx tsc -p .)\n`)
    return 2
  }
  installCleanupHandlers(() => undefined)
  const runDir = makeTempDir('caskade-failover-')
  const cluster = await startCaskadeCluster({
    size: options.nodes,
    runDir,
    timeoutMs: startTimeoutMs,
  })
  let trials: FailoverTrial[]
  try {
    trials = await runTrials(cluster, options)
  } finally {
    await stopCaskadeCluster(cluster)
    removeTempDir(runDir)
  }
  process.stdout.write(render(options, argv, trials))
  const summary = summarizeFailover(trials)
  mkdirSync(dirname(resultsPath), { recursive: true })
  writeFileSync(resultsPath, `${JSON.stringify({ options, argv, summary, trials }, null, 2)}\n`)
  note(`wrote ${resultsPath}`)
  return summary.succeeded === summary.trials ? 0 : 1
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
    process.stderr.write(`failover: ${text}\n`)
    process.exit(1)
  },
)
