/* The child processes of `caskade cluster start`: spawn one `caskade server` per node with its
 * logs in DIR/nX.log or forwarded to stdout prefixed by its name, check ports and identities
 * before, stop them all after. Invariant: a node this module started is reaped before the
 * launcher exits (SIGTERM, then SIGKILL after the grace period; SIGKILL on any other exit).
 * Why: a launcher that leaves orphan servers holding ports breaks the next start. */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { localNodesMax, type LocalNodePlan } from './cluster-args.js'
import { ClusterCliError } from './cluster-status.js'

/** dist/src/cli/cluster-nodes.js -> dist/src/cli/main.js: children run the same build. */
const mainPath = fileURLToPath(new URL('./main.js', import.meta.url))
const logTailBytes = 4096
const logTailLines = 12

export type LogTarget = 'files' | 'stdout'

export interface NodeExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface NodeProcess {
  readonly plan: LocalNodePlan
  readonly child: ChildProcess
  /** DIR/nX.log, or null when the logs go to stdout. */
  readonly logPath: string | null
  readonly exited: Promise<NodeExit>
  running(): boolean
}

const living = new Set<ChildProcess>()
// Last resort (an exception in the launcher): never leave a server behind.
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL')
})

export interface SpawnOptions {
  plan: LocalNodePlan
  /** Extra server flags: --bootstrap, --join ..., or none for a restart. */
  clusterArgs: readonly string[]
  bind: string
  /** Where the other nodes and the launcher reach this one (loopback for a wildcard bind). */
  dialHost: string
  logLevel: string | null
  logs: LogTarget
  logPathOf: (plan: LocalNodePlan) => string
}

function forwardLines(stream: NodeJS.ReadableStream | null, prefix: string): void {
  if (stream === null) return
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line: string) => {
    process.stdout.write(`${prefix} ${line}\n`)
  })
}

export function spawnNode(options: SpawnOptions): NodeProcess {
  const { plan } = options
  const args = [mainPath, 'server', '--node-id', plan.name, '--port', String(plan.port)]
  args.push('--cluster-port', String(plan.clusterPort), '--dir', plan.dir, '--bind', options.bind)
  // The peer port binds to, and the node advertises, an address the other nodes can dial.
  args.push('--cluster-host', options.dialHost)
  if (options.logLevel !== null) args.push('--log-level', options.logLevel)
  args.push(...options.clusterArgs)
  const logPath = options.logs === 'files' ? options.logPathOf(plan) : null
  const logFd = logPath === null ? null : openSync(logPath, 'a')
  // detached: Ctrl-C in the terminal reaches only the launcher, which stops the nodes in order.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
  })
  if (logFd !== null) closeSync(logFd)
  living.add(child)
  forwardLines(child.stdout, `[${plan.name}]`)
  forwardLines(child.stderr, `[${plan.name}]`)
  const exited = new Promise<NodeExit>((resolve) => {
    child.once('exit', (code, signal) => {
      living.delete(child)
      resolve({ code, signal })
    })
  })
  return { plan, child, logPath, exited, running: () => living.has(child) }
}

/** SIGTERM to every running node, SIGKILL to those still running after `graceMs`. Returns the
 * names that had to be killed. */
export async function stopNodes(nodes: readonly NodeProcess[], graceMs: number): Promise<string[]> {
  const running = nodes.filter((node) => node.running())
  for (const node of running) node.child.kill('SIGTERM')
  const all = Promise.all(running.map(async (node) => node.exited))
  const timeout = new AbortController()
  await Promise.race([all, sleep(graceMs, undefined, { signal: timeout.signal }).catch(() => {})])
  timeout.abort()
  const stragglers = running.filter((node) => node.running())
  for (const node of stragglers) node.child.kill('SIGKILL')
  await all
  return stragglers.map((node) => node.plan.name)
}

export function describeExit(exit: NodeExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`
}

/** The last lines of a node's log file (for "n2 exited before the cluster formed"). */
export function logTail(logPath: string): string {
  let fd: number
  try {
    fd = openSync(logPath, 'r')
  } catch {
    return ''
  }
  try {
    const size = fstatSync(fd).size
    const length = Math.min(size, logTailBytes)
    const buffer = Buffer.alloc(length)
    readSync(fd, buffer, 0, length, size - length)
    return buffer.toString('utf8').split('\n').filter(Boolean).slice(-logTailLines).join('\n')
  } finally {
    closeSync(fd)
  }
}

async function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(true))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(false)))
  })
}

/** Refuses (ClusterCliError) when any client or cluster port of the plan is taken. */
export async function checkPortsFree(plans: readonly LocalNodePlan[], host: string): Promise<void> {
  const taken: string[] = []
  for (const plan of plans) {
    if (await portInUse(host, plan.port)) taken.push(`${plan.port} (${plan.name}'s client port)`)
    if (await portInUse(host, plan.clusterPort)) {
      taken.push(`${plan.clusterPort} (${plan.name}'s cluster port)`)
    }
  }
  if (taken.length > 0) {
    throw new ClusterCliError(
      `port ${taken.join(', ')} already in use on ${host}: is a cluster already running there? ` +
        'Stop it, or choose another --base-port',
    )
  }
}

function identityPathOf(nodeDir: string): string {
  return path.join(nodeDir, 'cluster', 'identity.json')
}

/** True when the node's dir holds an identity (it restarts without --bootstrap/--join); throws
 * when that identity was made with other ports or another name than the plan's. */
export function hasMatchingIdentity(plan: LocalNodePlan): boolean {
  const identityPath = identityPathOf(plan.dir)
  if (!existsSync(identityPath)) return false
  let identity: { name?: unknown; port?: unknown; clusterPort?: unknown }
  try {
    identity = JSON.parse(readFileSync(identityPath, 'utf8')) as typeof identity
  } catch (error) {
    throw new ClusterCliError(`cannot read ${identityPath}: ${(error as Error).message}`)
  }
  const { name, port, clusterPort } = identity
  if (name !== plan.name || port !== plan.port || clusterPort !== plan.clusterPort) {
    throw new ClusterCliError(
      `${identityPath} belongs to node ${String(name)} with client port ${String(port)} and ` +
        `cluster port ${String(clusterPort)}, but this start would make it ${plan.name} on ` +
        `${plan.port}/${plan.clusterPort}: start with the --base-port it was created with, ` +
        'or use another --dir',
    )
  }
  return true
}

/** Refuses to start fewer nodes than the dir holds: the missing members would block the wait
 * for N voters, and a majority might be missing. */
export function checkNoExtraNodes(dir: string, nodes: number): void {
  let highest = 0
  for (let index = nodes + 1; index <= localNodesMax; index += 1) {
    if (existsSync(identityPathOf(path.join(dir, `n${index}`)))) highest = index
  }
  if (highest > 0) {
    throw new ClusterCliError(
      `${dir} holds nodes up to n${highest} from an earlier start: use --nodes ${highest}, ` +
        'or another --dir',
    )
  }
}
