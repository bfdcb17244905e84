/* A caskade Raft cluster of child processes on loopback for the cluster bench and the failover
 * runs: n1 bootstraps, the others --join its peer port; nodes can be SIGKILLed and restarted on
 * their data dir (no --bootstrap/--join: the node finds its identity there). Invariant: every
 * process is tracked by procs.ts (dies with the run), and a stopped cluster leaves no temp dir. */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  freePort,
  makeTempDir,
  removeTempDir,
  shellQuote,
  startServer,
  stopServerProcess,
  type RunningServer,
  type ServerSpec,
} from './procs.js'
import { caughtUp, raftStatusOf, type RaftStatus } from './raft-info.js'
import { infoFields } from './resp.js'
import { caskadeMain } from './servers.js'

const statusPollIntervalMs = 50

export interface CaskadeNode {
  name: string
  port: number
  clusterPort: number
  dir: string
  /** null while the node is down (killed and not yet restarted). */
  running: RunningServer | null
}

export interface CaskadeCluster {
  nodes: CaskadeNode[]
  /** Node.js flags for every node process (e.g. --cpu-prof); empty normally. */
  nodeFlags: readonly string[]
  startTimeoutMs: number
}

/** `mode`: --bootstrap or --join at first start (with --node-id); empty on a restart, where
 * the node reads its name from the identity file in its dir. */
function nodeArgs(node: CaskadeNode, mode: string[]): string[] {
  const identity = mode.length === 0 ? [] : ['--node-id', node.name]
  return [caskadeMain, 'server', ...identity, '--port', String(node.port)].concat(
    ['--bind', '127.0.0.1', '--cluster-port', String(node.clusterPort), '--dir', node.dir],
    ['--log-level', 'warning'],
    mode,
  )
}

/** The command line of node n1 with ports and dir as placeholders, for the report. */
export function describeCaskadeNode(): string {
  const placeholder = { name: 'n1', port: 0, clusterPort: 0, dir: 'DIR', running: null }
  const args = nodeArgs(placeholder, ['--bootstrap']).slice(1)
  return ['node dist/src/cli/main.js', ...args.map(shellQuote)]
    .join(' ')
    .replace('--port 0', '--port PORT')
    .replace('--cluster-port 0', '--cluster-port PEER_PORT')
}

async function launchNode(
  cluster: CaskadeCluster,
  node: CaskadeNode,
  mode: string[],
): Promise<void> {
  const spec: ServerSpec = {
    name: `caskade ${node.name}`,
    command: process.execPath,
    args: [...cluster.nodeFlags, ...nodeArgs(node, mode)],
    port: node.port,
    dir: node.dir,
    logPath: `${node.dir}.log`,
    fsyncPolicy: 'raft log: fdatasync per batch',
  }
  node.running = await startServer(spec, cluster.startTimeoutMs)
}

export async function startCaskadeCluster(options: {
  size: number
  runDir: string
  timeoutMs: number
  nodeFlags?: readonly string[]
}): Promise<CaskadeCluster> {
  const nodes: CaskadeNode[] = []
  for (let index = 1; index <= options.size; index += 1) {
    const name = `n${index}`
    const dir = makeTempDir(`caskade-${name}-`, options.runDir)
    nodes.push({ name, port: await freePort(), clusterPort: await freePort(), dir, running: null })
  }
  const cluster: CaskadeCluster = {
    nodes,
    nodeFlags: options.nodeFlags ?? [],
    startTimeoutMs: options.timeoutMs,
  }
  const [first, ...rest] = nodes
  if (first === undefined) throw new Error('a cluster needs at least one node')
  try {
    await launchNode(cluster, first, ['--bootstrap'])
    await waitForLeader(cluster, options.timeoutMs)
    const join = ['--join', `127.0.0.1:${first.clusterPort}`]
    await Promise.all(rest.map((node) => launchNode(cluster, node, join)))
    await waitForMembers(cluster, options.size, options.timeoutMs)
  } catch (error) {
    await stopCaskadeCluster(cluster)
    throw error
  }
  return cluster
}

/** This node's INFO raft, or null when it is down or does not answer. */
export async function statusOf(node: CaskadeNode): Promise<RaftStatus | null> {
  if (node.running === null) return null
  try {
    const fields = await infoFields(node.port, 'raft')
    return fields.size === 0 ? null : raftStatusOf(fields)
  } catch {
    return null
  }
}

/** The running node that says it leads and that every other running node names as leader. */
export async function currentLeader(cluster: CaskadeCluster): Promise<CaskadeNode | null> {
  const live = cluster.nodes.filter((node) => node.running !== null)
  const statuses = await Promise.all(live.map(statusOf))
  const leaderIndex = statuses.findIndex((status) => status?.role === 'leader')
  const leader = live[leaderIndex]
  if (leader === undefined) return null
  const agreed = statuses.every((status) => status?.leaderId === leader.name)
  return agreed ? leader : null
}

export async function waitForLeader(
  cluster: CaskadeCluster,
  timeoutMs: number,
): Promise<CaskadeNode> {
  const deadlineMs = performance.now() + timeoutMs
  for (;;) {
    const leader = await currentLeader(cluster)
    if (leader !== null) return leader
    if (performance.now() > deadlineMs) throw new Error(`no leader within ${timeoutMs} ms`)
    await sleep(statusPollIntervalMs)
  }
}

async function waitForMembers(
  cluster: CaskadeCluster,
  voters: number,
  timeoutMs: number,
): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs
  for (;;) {
    const leader = await currentLeader(cluster)
    const status = leader === null ? null : await statusOf(leader)
    if (status?.members === voters) return
    if (performance.now() > deadlineMs) {
      throw new Error(`the cluster did not reach ${voters} voters within ${timeoutMs} ms`)
    }
    await sleep(statusPollIntervalMs)
  }
}

/** Waits until `node` has applied what the leader has committed; returns the time it took. */
export async function waitCaughtUp(
  cluster: CaskadeCluster,
  node: CaskadeNode,
  timeoutMs: number,
): Promise<number> {
  const startMs = performance.now()
  for (;;) {
    const leader = await currentLeader(cluster)
    const leaderStatus = leader === null ? null : await statusOf(leader)
    const nodeStatus = await statusOf(node)
    if (leaderStatus !== null && nodeStatus !== null && caughtUp(nodeStatus, leaderStatus)) {
      return performance.now() - startMs
    }
    if (performance.now() - startMs > timeoutMs) {
      throw new Error(`${node.name} did not catch up within ${timeoutMs} ms`)
    }
    await sleep(statusPollIntervalMs)
  }
}

export async function killNode(node: CaskadeNode): Promise<void> {
  const running = node.running
  if (running === null) return
  node.running = null
  running.tracked.child.kill('SIGKILL')
  await running.tracked.exited
}

/** Restarts a killed node on its data dir and ports; resolves at its first +PONG. */
export async function restartNode(cluster: CaskadeCluster, node: CaskadeNode): Promise<void> {
  if (node.running !== null) throw new Error(`${node.name} is running`)
  await launchNode(cluster, node, [])
}

/** SIGTERM every node (a --cpu-prof profile is written on that clean exit), remove the dirs. */
export async function stopCaskadeCluster(cluster: CaskadeCluster): Promise<void> {
  await Promise.all(
    cluster.nodes.map(async (node) => {
      if (node.running !== null) await stopServerProcess(node.running.tracked)
      node.running = null
    }),
  )
  for (const node of cluster.nodes) removeTempDir(node.dir)
}
