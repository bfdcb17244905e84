/* `npm run bench -- cluster`: a 3-node caskade cluster, then (when installed) a 3-node etcd, each
 * driven by the same closed-loop load generator (load.ts): writes (SET to the leader and through
 * a follower; etcd3 put), then linearizable reads (GET via ReadIndex; etcd3 get). Prints the table
 * with caskade/etcd ratios and writes bench/results/cluster-latest.json. One system runs at a time
 * on the shared machine, and every child and temp dir dies with the run. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { CommanderError } from 'commander'
import { Etcd3 } from 'etcd3'
import { Redis } from 'ioredis'
import {
  describeCaskadeNode,
  startCaskadeCluster,
  statusOf,
  stopCaskadeCluster,
  waitForLeader,
  type CaskadeCluster,
} from './caskade-cluster.js'
import { parseClusterBenchOptions, type ClusterBenchOptions } from './cluster-options.js'
import { clusterTable, verdictLines, type ClusterOp, type ClusterRow } from './cluster-report.js'
import { describeEtcdCommand, etcdVersion, startEtcdCluster, stopEtcdCluster } from './etcd.js'
import { runClosedLoop } from './load.js'
import { installCleanupHandlers, makeTempDir, removeTempDir, shellQuote } from './procs.js'
import { describeMachine, machineLines } from './report.js'
import { caskadeMain, repoRoot } from './servers.js'

const resultsPath = join(repoRoot, 'bench', 'results', 'cluster-latest.json')
const clusterSize = 3
const startTimeoutMs = 60_000

interface Phase {
  label: string
  op: ClusterOp
  /** Runs one operation on key number `keyIndex`. */
  operation: (keyIndex: number) => Promise<unknown>
}

function note(text: string): void {
  process.stderr.write(`[bench cluster] ${text}\n`)
}

function keyName(index: number): string {
  return `bench:key:${String(index).padStart(6, '0')}`
}

async function measure(
  system: ClusterRow['system'],
  phase: Phase,
  options: ClusterBenchOptions,
): Promise<ClusterRow> {
  note(`${phase.label}: ${options.warmupSeconds} s warm-up + ${options.seconds} s`)
  try {
    const result = await runClosedLoop({
      inFlight: options.inFlight,
      durationMs: options.seconds * 1000,
      warmupMs: options.warmupSeconds * 1000,
      operation: (sequence) => phase.operation(sequence % options.keys),
    })
    note(`${phase.label}: ${result.opsPerSecond.toFixed(0)} ops/s, ${result.errors} errors`)
    for (const sample of result.errorSamples) note(`  error: ${sample}`)
    return { system, label: phase.label, op: phase.op, result, error: null }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { system, label: phase.label, op: phase.op, result: null, error: message }
  }
}

function failedRows(system: ClusterRow['system'], labels: string[], error: unknown): ClusterRow[] {
  const message = error instanceof Error ? error.message : String(error)
  note(`${system} failed: ${message}`)
  return labels.map((label, index) => ({
    system,
    label,
    op: index < labels.length / 2 ? 'write' : 'read',
    result: null,
    error: message,
  }))
}

function redisClient(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true })
}

const caskadeLabels = [
  'caskade, SET to the leader',
  'caskade, SET through a follower',
  'caskade, GET on the leader (ReadIndex)',
  'caskade, GET on a follower (ReadIndex)',
]

/** Every node's Raft term, e.g. "n1=2 n2=2 n3=2": a change across a row means an election. */
async function termsOf(cluster: CaskadeCluster): Promise<string> {
  const statuses = await Promise.all(cluster.nodes.map(statusOf))
  return cluster.nodes
    .map((node, index) => `${node.name}=${statuses[index]?.term ?? '?'}`)
    .join(' ')
}

async function caskadeRows(
  options: ClusterBenchOptions,
  runDir: string,
  remarks: string[],
): Promise<ClusterRow[]> {
  const nodeFlags =
    options.cpuProfDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`]
  let cluster
  try {
    cluster = await startCaskadeCluster({
      size: clusterSize,
      runDir,
      timeoutMs: startTimeoutMs,
      nodeFlags,
    })
  } catch (error) {
    return failedRows('caskade', caskadeLabels, error)
  }
  const leader = await waitForLeader(cluster, startTimeoutMs)
  const follower = cluster.nodes.find((node) => node !== leader) ?? leader
  note(`caskade leader ${leader.name}, follower ${follower.name}`)
  const toLeader = redisClient(leader.port)
  const toFollower = redisClient(follower.port)
  const value = Buffer.alloc(options.valueBytes, 'v')
  const [setLeader, setFollower, getLeader, getFollower] = caskadeLabels as [
    string,
    string,
    string,
    string,
  ]
  const phases: Phase[] = [
    { label: setLeader, op: 'write', operation: (k) => toLeader.set(keyName(k), value) },
    { label: setFollower, op: 'write', operation: (k) => toFollower.set(keyName(k), value) },
    { label: getLeader, op: 'read', operation: (k) => toLeader.getBuffer(keyName(k)) },
    { label: getFollower, op: 'read', operation: (k) => toFollower.getBuffer(keyName(k)) },
  ]
  const rows: ClusterRow[] = []
  try {
    await Promise.all([toLeader.connect(), toFollower.connect()])
    for (const phase of phases) {
      const before = await termsOf(cluster)
      rows.push(await measure('caskade', phase, options))
      const after = await termsOf(cluster)
      if (after !== before)
        remarks.push(`${phase.label}: an election ran (terms ${before} -> ${after})`)
    }
  } finally {
    toLeader.disconnect()
    toFollower.disconnect()
    await stopCaskadeCluster(cluster)
  }
  return rows
}

const etcdLabels = ['etcd, put (any member)', 'etcd, get (linearizable, any member)']

async function etcdRows(options: ClusterBenchOptions, runDir: string): Promise<ClusterRow[]> {
  let cluster
  try {
    cluster = await startEtcdCluster({ size: clusterSize, runDir, timeoutMs: startTimeoutMs })
  } catch (error) {
    return failedRows('etcd', etcdLabels, error)
  }
  const client = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) })
  const value = Buffer.alloc(options.valueBytes, 'v')
  const [put, get] = etcdLabels as [string, string]
  const phases: Phase[] = [
    { label: put, op: 'write', operation: (k) => client.put(keyName(k)).value(value).exec() },
    { label: get, op: 'read', operation: (k) => client.get(keyName(k)).buffer() },
  ]
  const rows: ClusterRow[] = []
  try {
    for (const phase of phases) rows.push(await measure('etcd', phase, options))
  } finally {
    client.close()
    await stopEtcdCluster(cluster)
  }
  return rows
}

interface ClusterReport {
  startedAt: string
  command: string
  options: ClusterBenchOptions
  caskadeNode: string
  etcd: { version: string | null; skipped: string | null }
  machine: ReturnType<typeof describeMachine>
  rows: ClusterRow[]
  /** Elections seen during a caskade row (its figures include a failover then). */
  remarks: string[]
}

function renderMarkdown(report: ClusterReport): string {
  const { options } = report
  return [
    `# caskade cluster bench, ${report.startedAt}`,
    '',
    ...machineLines(report.machine).slice(0, 1),
    `- node ${report.machine.node}; ${report.etcd.version ?? 'etcd not run'}`,
    `- command: \`${report.command}\``,
    `- caskade: ${clusterSize} nodes, \`${report.caskadeNode}\` (n2, n3: --join n1's peer port)`,
    `- etcd: ${report.etcd.skipped ?? `${clusterSize} members, \`${describeEtcdCommand(clusterSize)}\``}`,
    `- load: one Node.js process, ${options.inFlight} requests in flight, ` +
      `${options.valueBytes} B values over ${options.keys} keys, ` +
      `${options.warmupSeconds} s warm-up + ${options.seconds} s per row; ` +
      'ioredis (one connection) for caskade, etcd3 (all members) for etcd',
    '',
    clusterTable(report.rows),
    '',
    ...verdictLines(report.rows),
    ...report.remarks.map((remark) => `- ${remark}`),
    '',
  ].join('\n')
}

function etcdSkipReason(options: ClusterBenchOptions): string | null {
  if (!options.etcd) return 'skipped (--no-etcd)'
  if (etcdVersion() === null) return 'skipped: etcd is not installed (apt-get install etcd-server)'
  return null
}

/** The `cluster` subcommand of bench/run.ts; resolves to the process exit code. */
export async function runClusterBench(argv: readonly string[]): Promise<number> {
  let options: ClusterBenchOptions
  try {
    options = parseClusterBenchOptions(argv)
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
    throw error
  }
  if (!existsSync(caskadeMain)) {
    process.stderr.write(`bench: ${caskadeMain} not found: build first (npx tsc -p .)\n`)
    return 2
  }
  if (options.cpuProfDir !== null) {
    options.cpuProfDir = resolve(options.cpuProfDir)
    mkdirSync(options.cpuProfDir, { recursive: true })
  }
  installCleanupHandlers(() => undefined)
  const startedAt = new Date().toISOString()
  const runDir = makeTempDir('caskade-cluster-bench-')
  const skipped = etcdSkipReason(options)
  if (skipped !== null) note(`etcd side ${skipped}`)
  const remarks: string[] = []
  const rows = await caskadeRows(options, runDir, remarks)
  if (skipped === null) rows.push(...(await etcdRows(options, runDir)))
  removeTempDir(runDir)
  const report: ClusterReport = {
    startedAt,
    command: ['npm run bench -- cluster', ...argv.map(shellQuote)].join(' '),
    options,
    caskadeNode: describeCaskadeNode(),
    etcd: { version: skipped === null ? etcdVersion() : null, skipped },
    machine: describeMachine({ redisServer: 'not run', redisBenchmark: 'not run' }),
    rows,
    remarks,
  }
  process.stdout.write(renderMarkdown(report))
  mkdirSync(dirname(resultsPath), { recursive: true })
  writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`)
  note(`wrote ${resultsPath}`)
  return rows.some((row) => row.error !== null) ? 1 : 0
}
