/* `caskade cluster start`: a local N-node cluster as child processes. n1 bootstraps (or, when the
 * dir holds nodes already, they restart from their identities), the others join (all at once);
 * it waits until every node reports the same leader and N voters, prints how to connect, and on
 * SIGINT/SIGTERM/SIGHUP stops every node (cluster-nodes.ts) and exits 0.
 * Invariant: "ready" is printed only once INFO raft on every node agrees. */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { formatTable, type RaftInfo } from './cluster-table.js'
import { planLocalCluster, type LocalNodePlan } from './cluster-args.js'
import {
  checkNoExtraNodes,
  checkPortsFree,
  describeExit,
  hasMatchingIdentity,
  logTail,
  spawnNode,
  stopNodes,
  type LogTarget,
  type NodeExit,
  type NodeProcess,
} from './cluster-nodes.js'
import { ClusterCliError, fetchRaftInfo } from './cluster-status.js'

const pollIntervalMs = 100
const probeTimeoutMs = 1_000
const stopSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export interface ClusterStartOptions {
  nodes: number
  basePort: number
  dir: string
  /** Address every node listens on (client and cluster ports). */
  bind: string
  logs: LogTarget
  logLevel: string | null
  waitTimeoutMs: number
  graceMs: number
}

/** The address the launcher (and the nodes, to join) dial: a wildcard bind is reached on
 * loopback. */
export function dialHostOf(bind: string): string {
  return bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind
}

export interface ReadyNode {
  plan: LocalNodePlan
  role: string
  pid: number
}

export interface BannerOptions {
  dir: string
  host: string
  logs: LogTarget
  leader: string
  term: number
}

/** What the user sees once the cluster is up: the nodes, how to connect, where the logs go. */
export function formatStartBanner(nodes: readonly ReadyNode[], options: BannerOptions): string {
  const table = formatTable(
    [
      { title: 'name' },
      { title: 'client port', align: 'right' },
      { title: 'cluster port', align: 'right' },
      { title: 'role' },
      { title: 'pid', align: 'right' },
      { title: 'dir' },
    ],
    nodes.map(({ plan, role, pid }) => {
      const cells = [plan.name, String(plan.port), String(plan.clusterPort), role, String(pid)]
      return [...cells, plan.dir]
    }),
  )
  const first = nodes[0]?.plan.port ?? 0
  const hostFlag = options.host === '127.0.0.1' ? '' : ` -h ${options.host}`
  const statusHost = options.host === '127.0.0.1' ? '' : ` --host ${options.host}`
  const logs =
    options.logs === 'files'
      ? `${nodes.map(({ plan }) => `${plan.dir}.log`).join(', ')} (--logs stdout shows them here)`
      : 'below, each line prefixed with [node name]'
  return [
    `cluster ready: ${nodes.length} nodes in ${options.dir}, leader ${options.leader} ` +
      `(term ${options.term})`,
    '',
    table,
    '',
    'Connect any Redis client to any node (a follower forwards writes to the leader):',
    `  redis-cli${hostFlag} -p ${first}`,
    `  new Redis({ host: '${options.host}', port: ${first} })   // ioredis`,
    `Status: caskade cluster status${statusHost} --port ${first}`,
    `Logs:   ${logs}`,
    'Press Ctrl-C to stop every node.',
    '',
  ].join('\n')
}

export function clusterConverged(infos: readonly (RaftInfo | null)[], nodes: number): boolean {
  const leaderName = infos[0]?.leaderName ?? ''
  if (leaderName === '') return false
  let leaders = 0
  for (const info of infos) {
    if (info === null || info.leaderName !== leaderName) return false
    if (info.voters !== nodes || info.learners !== 0) return false
    if (info.role === 'leader') leaders += 1
    else if (info.role !== 'follower') return false
  }
  return leaders === 1
}

function describeSeen(
  plans: readonly LocalNodePlan[],
  infos: readonly (RaftInfo | null)[],
): string {
  return plans
    .map((plan, index) => {
      const info = infos[index] ?? null
      if (info === null) return `${plan.name} not answering INFO raft`
      const leader = info.leaderName === '' ? 'none' : info.leaderName
      return `${plan.name} ${info.role} term ${info.term} leader ${leader} voters ${info.voters}`
    })
    .join('; ')
}

class StartAborted extends Error {}

class Launcher {
  readonly #options: ClusterStartOptions
  readonly #plans: readonly LocalNodePlan[]
  readonly #host: string
  readonly #nodes: NodeProcess[] = []
  readonly #exits = new Map<string, NodeExit>()
  readonly #abort = new AbortController()
  /** Set once the launcher stops the nodes itself: their exits are then expected. */
  #stopping = false
  /** Set once "ready" is printed: from then on a node's exit is news, not a start failure. */
  #ready = false
  #lastSeen = ''
  /** The whole start (spawn, elect, join, converge) must finish by then. */
  #deadlineMs = 0

  constructor(options: ClusterStartOptions, plans: readonly LocalNodePlan[]) {
    this.#options = options
    this.#plans = plans
    this.#host = dialHostOf(options.bind)
  }

  /** Starts, waits for a stop signal (or every node gone), stops; returns the exit code. */
  async run(known: ReadonlySet<string>): Promise<number> {
    const onSignal = (): void => this.#abort.abort()
    for (const signal of stopSignals) process.on(signal, onSignal)
    let code = 0
    try {
      await this.#start(known)
      await this.#untilStopOrAllExited()
      if (!this.#abort.signal.aborted) {
        process.stderr.write('caskade: every node has exited\n')
        code = 1
      }
    } catch (error) {
      if (!(error instanceof StartAborted)) {
        process.stderr.write(`caskade: ${(error as Error).message}\n`)
        code = 1
      }
    }
    code = Math.max(code, await this.#stopAll())
    for (const signal of stopSignals) process.off(signal, onSignal)
    return code
  }

  async #start(known: ReadonlySet<string>): Promise<void> {
    this.#deadlineMs = performance.now() + this.#options.waitTimeoutMs
    const fresh = known.size === 0
    const first = fresh
      ? this.#plans.slice(0, 1)
      : this.#plans.filter((plan) => known.has(plan.name))
    for (const plan of first) this.#spawn(plan, fresh ? ['--bootstrap'] : [])
    await this.#waitFor('a leader', async () => {
      const infos = await Promise.all(first.map(async (plan) => this.#info(plan)))
      this.#lastSeen = describeSeen(first, infos)
      return infos.some((info) => info?.role === 'leader') ? true : null
    })
    const join = first.map((plan) => `${this.#host}:${plan.clusterPort}`).join(',')
    // Together: a process takes a while to boot, and a joiner retries while the leader is busy
    // adding another (Raft changes membership one node at a time).
    const joiners = this.#plans.filter((candidate) => !first.includes(candidate))
    for (const plan of joiners) this.#spawn(plan, ['--join', join])
    const infos = await this.#waitFor(`${this.#plans.length} voters and one leader`, async () => {
      const seen = await Promise.all(this.#plans.map(async (plan) => this.#info(plan)))
      this.#lastSeen = describeSeen(this.#plans, seen)
      return clusterConverged(seen, this.#plans.length) ? seen : null
    })
    this.#printReady(infos)
  }

  #spawn(plan: LocalNodePlan, clusterArgs: readonly string[]): void {
    const node = spawnNode({
      plan,
      clusterArgs,
      bind: this.#options.bind,
      dialHost: this.#host,
      logLevel: this.#options.logLevel,
      logs: this.#options.logs,
      logPathOf: (target) => `${target.dir}.log`,
    })
    this.#nodes.push(node)
    void node.exited.then((exit) => {
      this.#exits.set(plan.name, exit)
      if (this.#stopping || !this.#ready) return
      const where = node.logPath === null ? '' : `; its log: ${node.logPath}`
      process.stderr.write(`caskade: ${plan.name} exited (${describeExit(exit)})${where}\n`)
    })
  }

  async #info(plan: LocalNodePlan): Promise<RaftInfo | null> {
    return fetchRaftInfo({ host: this.#host, port: plan.port }, probeTimeoutMs)
  }

  /** Polls `probe` until it returns non-null; fails when a node exits, on timeout, on abort. */
  async #waitFor<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
    for (;;) {
      if (this.#abort.signal.aborted) throw new StartAborted()
      this.#failIfANodeExited()
      const result = await probe()
      if (result !== null) return result
      if (performance.now() >= this.#deadlineMs) {
        throw new ClusterCliError(
          `still waiting for ${what} after ${this.#options.waitTimeoutMs / 1000} s ` +
            `(${this.#lastSeen}); ` +
            (this.#options.logs === 'files'
              ? `see ${path.join(this.#options.dir, 'n*.log')}`
              : 'see the logs above'),
        )
      }
      await sleep(pollIntervalMs, undefined, { signal: this.#abort.signal }).catch(() => {})
    }
  }

  #failIfANodeExited(): void {
    for (const node of this.#nodes) {
      const exit = this.#exits.get(node.plan.name)
      if (exit === undefined) continue
      const tail = node.logPath === null ? '' : logTail(node.logPath)
      throw new ClusterCliError(
        `${node.plan.name} exited (${describeExit(exit)}) before the cluster formed` +
          (tail === '' ? '' : `; the end of ${node.logPath}:\n${tail}`),
      )
    }
  }

  #printReady(infos: readonly (RaftInfo | null)[]): void {
    const leader = infos.find((info) => info?.role === 'leader')
    const ready = this.#nodes.map((node) => {
      const index = this.#plans.indexOf(node.plan)
      return { plan: node.plan, role: infos[index]?.role ?? '?', pid: node.child.pid ?? 0 }
    })
    ready.sort((a, b) => a.plan.port - b.plan.port)
    const banner = formatStartBanner(ready, {
      dir: this.#options.dir,
      host: this.#host,
      logs: this.#options.logs,
      leader: leader?.nodeName ?? '?',
      term: leader?.term ?? 0,
    })
    process.stdout.write(banner)
    this.#ready = true
  }

  async #untilStopOrAllExited(): Promise<void> {
    const aborted = new Promise<void>((resolve) => {
      this.#abort.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    await Promise.race([aborted, Promise.all(this.#nodes.map(async (node) => node.exited))])
  }

  async #stopAll(): Promise<number> {
    this.#stopping = true
    const running = this.#nodes.filter((node) => node.running())
    if (running.length === 0) return 0
    process.stdout.write(`stopping ${running.map((node) => node.plan.name).join(', ')}...\n`)
    const killed = await stopNodes(running, this.#options.graceMs)
    if (killed.length > 0) {
      process.stderr.write(
        `caskade: ${killed.join(', ')} did not stop within ${this.#options.graceMs} ms: killed\n`,
      )
      return 1
    }
    process.stdout.write('all nodes stopped\n')
    return 0
  }
}

/** Checks the plan (ports free, identities match), then runs the launcher to the end. */
export async function runClusterStart(options: ClusterStartOptions): Promise<number> {
  const plans = planLocalCluster(options)
  mkdirSync(options.dir, { recursive: true })
  checkNoExtraNodes(options.dir, options.nodes)
  const known = new Set(plans.filter(hasMatchingIdentity).map((plan) => plan.name))
  await checkPortsFree(plans, options.bind)
  return new Launcher(options, plans).run(known)
}
