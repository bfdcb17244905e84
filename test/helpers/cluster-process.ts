/* Test helper: an N-node cluster of real `caskade server` processes on loopback (n1 --bootstrap,
 * the others --join), with a fault proxy on every directed node pair (wired by --peer-override,
 * so node a reaches b only through proxy(a, b)), and the faults the e2e tests inject: SIGKILL and
 * restart, SIGSTOP/SIGCONT, partitions, one-way links, delays. Invariant: every process this
 * module starts is killed by stop() or, failing that, when the test process exits. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cliPath, makeTempDir, parseLogLine, removeDir } from './server-process.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'
import { connectClient } from './history-clients.js'

const readyMessage = 'Ready to accept connections'
const startTimeoutMs = 20_000
const living = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL')
})

/** A free loopback port, held by a listening socket until release(): nothing else binds it
 * meanwhile (not the proxies, nor a test running beside this one). */
export interface HeldPort {
  readonly port: number
  release(): Promise<void>
}

export async function holdPorts(count: number): Promise<HeldPort[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          // A peer may dial a held port already (a learner not started yet): refuse it, or
          // close() would wait for that connection forever.
          const server = net.createServer((socket) => socket.destroy())
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  return servers.map((server) => ({
    port: (server.address() as net.AddressInfo).port,
    release: () =>
      new Promise<void>((resolve) =>
        server.listening ? server.close(() => resolve()) : resolve(),
      ),
  }))
}

/** Free loopback ports (all held open until every one is chosen, so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const held = await holdPorts(count)
  await Promise.all(held.map((port) => port.release()))
  return held.map((port) => port.port)
}

export interface ClusterNode {
  readonly name: string
  /** Client (RESP) port. */
  readonly port: number
  /** Peer (Raft) port. */
  readonly clusterPort: number
  readonly dir: string
  /** Log lines of every run of this node, in order. */
  readonly lines: string[]
  child: ChildProcess | null
  paused: boolean
  /** Started at least once (a spare is not, until it joins). */
  started: boolean
  /** Removed from the membership: never restarted, never read. */
  removed: boolean
  /** Not part of the starting membership (joined later, if at all). */
  readonly spare: boolean
}

export type RaftInfo = Record<string, string>

export interface StartClusterOptions {
  nodes: number
  /** Extra nodes with ports, dirs and proxies, not started (join them with cluster.join). */
  spares?: number
  /** Extra flags for every node (e.g. a log level). */
  args?: string[]
}

function spawnNode(node: ClusterNode, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [cliPath, 'server', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  living.add(child)
  node.child = child
  node.paused = false
  node.started = true
  node.lines.push(`---- start ${args.join(' ')}`)
  return new Promise<void>((resolve, reject) => {
    let partial = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${node.name} did not start in time:\n${node.lines.join('\n')}`))
    }, startTimeoutMs)
    const onData = (chunk: Buffer): void => {
      partial += chunk.toString('utf8')
      const parts = partial.split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) {
        node.lines.push(line)
        if (parseLogLine(line)?.msg === readyMessage) {
          clearTimeout(timer)
          resolve()
        }
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code, signal) => {
      living.delete(child)
      if (node.child === child) node.child = null
      node.lines.push(`---- exit code=${code} signal=${signal}`)
      clearTimeout(timer)
      reject(
        new Error(
          `${node.name} exited (${code ?? signal}) before ready:\n${node.lines.join('\n')}`,
        ),
      )
    })
  })
}

/** Parses `INFO raft` ("key:value" lines). */
export function parseInfo(text: string): RaftInfo {
  const info: RaftInfo = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) info[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return info
}

export class Cluster {
  readonly nodes: readonly ClusterNode[]
  readonly rootDir: string
  readonly #proxies: ReadonlyMap<string, FaultProxy>
  readonly #extraArgs: readonly string[]
  /** A scenario on this cluster failed: stop() keeps its dir and logs by default. */
  failed = false
  /** While partitioned: the side that can elect a leader (null: no partition). */
  #majority: ReadonlySet<string> | null = null
  /** Each node's ports, held until its first start (a spare's for as long as it waits). */
  readonly #heldPorts: Map<string, HeldPort[]>

  constructor(options: {
    nodes: ClusterNode[]
    rootDir: string
    proxies: Map<string, FaultProxy>
    extraArgs: string[]
    heldPorts?: Map<string, HeldPort[]>
  }) {
    this.nodes = options.nodes
    this.rootDir = options.rootDir
    this.#proxies = options.proxies
    this.#extraArgs = options.extraArgs
    this.#heldPorts = options.heldPorts ?? new Map<string, HeldPort[]>()
  }

  async #releasePorts(name: string): Promise<void> {
    const held = this.#heldPorts.get(name) ?? []
    this.#heldPorts.delete(name)
    await Promise.all(held.map((port) => port.release()))
  }

  /** The members' names: started and not removed. */
  names(): string[] {
    return this.members().map((node) => node.name)
  }

  members(): ClusterNode[] {
    return this.nodes.filter((node) => node.started && !node.removed)
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.name === name)
    if (node === undefined) throw new Error(`no node ${name}`)
    return node
  }

  /** The proxy that carries `from`'s connection to `to` (from's frames forward). */
  proxy(from: string, to: string): FaultProxy {
    const proxy = this.#proxies.get(`${from}>${to}`)
    if (proxy === undefined) throw new Error(`no proxy ${from}>${to}`)
    return proxy
  }

  /** Client ports of the nodes whose process exists (paused ones included). */
  clientPorts(): number[] {
    return this.members()
      .filter((node) => node.child !== null)
      .map((node) => node.port)
  }

  running(): ClusterNode[] {
    return this.members().filter((node) => node.child !== null && !node.paused)
  }

  /** The flags a node runs with; `first` adds --node-id and --bootstrap/--join. */
  argsFor(node: ClusterNode, first: boolean): string[] {
    const overrides = this.nodes
      .filter((peer) => peer !== node)
      .map((peer) => `${peer.name}=127.0.0.1:${this.proxy(node.name, peer.name).port}`)
    const args = [
      ...['--port', String(node.port), '--cluster-port', String(node.clusterPort)],
      ...['--bind', '127.0.0.1', '--dir', node.dir, '--peer-override', overrides.join(',')],
      ...this.#extraArgs,
    ]
    if (!first) return args
    if (node === this.nodes[0]) return ['--node-id', node.name, ...args, '--bootstrap']
    const join = this.members()
      .filter((member) => member !== node)
      .map((member) => `127.0.0.1:${this.proxy(node.name, member.name).port}`)
    return ['--node-id', node.name, ...args, '--join', join.join(',')]
  }

  /** Starts a spare node with --join (it joins as a learner, then is promoted). */
  join(name: string): Promise<void> {
    return this.start(name, true)
  }

  /** RAFT REMOVE `name` (sent to the leader), then stops its process. */
  async remove(name: string): Promise<void> {
    await this.command(await this.leader(), ['RAFT', 'REMOVE', name])
    this.node(name).removed = true
    await this.kill(name, 'SIGTERM')
  }

  /** One command on `name`'s client port, on a connection of its own; a reply error throws. */
  async command(name: string, args: readonly string[], timeoutMs = 5000): Promise<unknown> {
    const [command, ...rest] = args
    if (command === undefined) throw new Error('no command')
    const redis = await connectClient(this.node(name).port, timeoutMs)
    try {
      return await redis.call(command, ...rest)
    } finally {
      redis.disconnect()
    }
  }

  /** The `host:port:clusterPort` argument of RAFT ADD for `name` (a spare, typically). */
  addressSpec(name: string): string {
    const node = this.node(name)
    return `127.0.0.1:${node.port}:${node.clusterPort}`
  }

  /** `RAFT NODES` as `name` sees it: each member's name and kind, in its order. */
  async raftNodes(name: string): Promise<{ name: string; kind: string }[]> {
    const rows = (await this.command(name, ['RAFT', 'NODES'])) as unknown[][]
    return rows.map((row) => ({ name: String(row[0]), kind: String(row[4]) }))
  }

  async start(name: string, first: boolean): Promise<void> {
    const node = this.node(name)
    if (node.child !== null) throw new Error(`${name} is running`)
    await this.#releasePorts(name)
    await spawnNode(node, this.argsFor(node, first))
  }

  /** A restart after a kill or stop: only the data dir, ports and peer overrides. A spare also
   * gets --join again: it may have been killed before its join completed (a member ignores it). */
  restart(name: string): Promise<void> {
    return this.start(name, this.node(name).spare)
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.node(name).child
    if (child === null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    if (this.node(name).paused && signal !== 'SIGKILL') child.kill('SIGCONT')
    child.kill(signal)
    await exited
  }

  pause(name: string): void {
    const node = this.node(name)
    node.child?.kill('SIGSTOP')
    node.paused = true
  }

  resume(name: string): void {
    const node = this.node(name)
    node.child?.kill('SIGCONT')
    node.paused = false
  }

  /** Cuts every link between nodes of different groups, both ways. */
  partition(groups: readonly (readonly string[])[]): void {
    const groupOf = new Map<string, number>()
    groups.forEach((group, index) => group.forEach((name) => groupOf.set(name, index)))
    for (const [key, proxy] of this.#proxies) {
      const [from, to] = key.split('>') as [string, string]
      if (groupOf.get(from) !== groupOf.get(to)) proxy.drop()
      else proxy.pass()
    }
    const quorum = Math.floor(this.members().length / 2) + 1
    const majority = groups.find((group) => group.length >= quorum)
    this.#majority = new Set(majority ?? [])
  }

  isolate(name: string): void {
    this.partition([[name], this.names().filter((other) => other !== name)])
  }

  /** Isolates the current leader; returns its name. */
  async isolateLeader(): Promise<string> {
    const leader = await this.leader()
    this.isolate(leader)
    return leader
  }

  /** Puts the current leader with `minoritySize - 1` others on the minority side; returns the
   * minority's names. */
  async splitLeaderIntoMinority(minoritySize: number): Promise<string[]> {
    const leader = await this.leader()
    const others = this.names().filter((name) => name !== leader)
    const minority = [leader, ...others.slice(0, minoritySize - 1)]
    this.partition([minority, others.slice(minoritySize - 1)])
    return minority
  }

  /** `from`'s bytes never reach `to`; `to`'s reach `from`. */
  oneWay(from: string, to: string): void {
    this.proxy(from, to).block('forward')
    this.proxy(to, from).block('backward')
  }

  /** Cuts the links between `name` and each of `peers`, both ways, leaving every other link as
   * it is: a partial partition (the peers may still reach the rest). The nodes that must agree
   * on a leader are then all but `peers`, so `name` must keep a quorum without them. */
  cut(name: string, peers: readonly string[]): void {
    for (const peer of peers) {
      this.proxy(name, peer).drop()
      this.proxy(peer, name).drop()
    }
    this.#majority = new Set(
      this.nodes.map((node) => node.name).filter((other) => !peers.includes(other)),
    )
  }

  /** Delays every byte between `a` and `b` by `delayMs` each way (both proxies, both ways). */
  delayLink(a: string, b: string, delayMs: number): void {
    this.proxy(a, b).delay(delayMs)
    this.proxy(b, a).delay(delayMs)
  }

  delay(delayMs: number): void {
    for (const proxy of this.#proxies.values()) proxy.delay(delayMs)
  }

  heal(): void {
    for (const proxy of this.#proxies.values()) proxy.pass()
    this.#majority = null
  }

  async info(name: string, timeoutMs = 1000): Promise<RaftInfo> {
    const redis = await connectClient(this.node(name).port, timeoutMs)
    try {
      return parseInfo(await redis.info('raft'))
    } finally {
      redis.disconnect()
    }
  }

  /** Names of the nodes a leader must be agreed on by: running, on the majority side. */
  #voters(): string[] {
    return this.running()
      .map((node) => node.name)
      .filter((name) => this.#majority === null || this.#majority.has(name))
  }

  /** Waits until every node of `among` (default: running, on the majority side) names the same
   * leader, one of them, that says it leads; returns its name. */
  async leader(options: { among?: readonly string[]; timeoutMs?: number } = {}): Promise<string> {
    const deadline = performance.now() + (options.timeoutMs ?? 15_000)
    let last = ''
    while (performance.now() < deadline) {
      const among = options.among ?? this.#voters()
      const infos = await Promise.all(among.map((name) => this.info(name, 500).catch(() => null)))
      const leaders = new Set(infos.map((info) => info?.leader_id ?? ''))
      const [leader] = [...leaders]
      last = JSON.stringify(infos.map((info) => [info?.node_id, info?.role, info?.leader_id]))
      // The leader must be one of `among` (a killed or cut-off leader is still named for a while).
      const mine = infos.find((info) => info !== null && info.node_id === leader)
      if (leaders.size === 1 && mine?.role === 'leader') return leader!
      await sleep(50)
    }
    throw new Error(`no agreed leader among the nodes: ${last}`)
  }

  /** Waits until the leader has `voters` voters and no learners. */
  async waitMembers(voters: number, timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    let last: RaftInfo | null = null
    while (performance.now() < deadline) {
      const leader = await this.leader({ timeoutMs: deadline - performance.now() })
      last = await this.info(leader).catch(() => null)
      if (last?.members === String(voters) && (last.learners ?? '0') === '0') return
      await sleep(100)
    }
    throw new Error(`the cluster did not reach ${voters} voters: ${JSON.stringify(last)}`)
  }

  /** Waits until every running node has applied the same index as the leader committed, twice
   * in a row 100 ms apart (nothing more in flight). */
  async waitConverged(timeoutMs = 20_000): Promise<number> {
    const deadline = performance.now() + timeoutMs
    let previous = -1
    let last = ''
    while (performance.now() < deadline) {
      const infos = await Promise.all(this.running().map((node) => this.info(node.name)))
      const applied = new Set(infos.map((info) => info.applied_index))
      const commits = new Set(infos.map((info) => info.commit_index))
      last = JSON.stringify(
        infos.map((info) => [info.node_id, info.commit_index, info.applied_index]),
      )
      const index = Number([...applied][0])
      if (applied.size === 1 && commits.size === 1 && commits.has(String(index))) {
        if (index === previous) return index
        previous = index
      } else {
        previous = -1
      }
      await sleep(100)
    }
    throw new Error(`the nodes did not converge: ${last}`)
  }

  /** Writes every node's log lines to rootDir/<name>.log; returns the directory. */
  dumpLogs(): string {
    mkdirSync(this.rootDir, { recursive: true })
    for (const node of this.nodes) {
      writeFileSync(path.join(this.rootDir, `${node.name}.log`), node.lines.join('\n') + '\n')
    }
    return this.rootDir
  }

  /** Stops every process (SIGCONT, SIGTERM, SIGKILL after 5 s) and every proxy; removes the
   * data unless `keepDir` (then the logs are written there). */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.child
        if (child === null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }),
    )
    await Promise.all([...this.#proxies.values()].map((proxy) => proxy.close()))
    await Promise.all(this.nodes.map((node) => this.#releasePorts(node.name)))
    if (options.keepDir ?? this.failed) this.dumpLogs()
    else removeDir(this.rootDir)
  }
}

/** Starts n1 with --bootstrap, then the others with --join, and waits for every node to be a
 * voter under one leader. */
export async function startCluster(options: StartClusterOptions): Promise<Cluster> {
  const rootDir = makeTempDir('caskade-cluster-')
  const total = options.nodes + (options.spares ?? 0)
  // Held until each node starts: the proxies below must not land on a node's port.
  const held = await holdPorts(total * 2)
  const ports = held.map((port) => port.port)
  const nodes: ClusterNode[] = Array.from({ length: total }, (_, index) => {
    const name = `n${index + 1}`
    const dir = path.join(rootDir, name)
    mkdirSync(dir)
    const port = ports[2 * index]!
    const clusterPort = ports[2 * index + 1]!
    const spare = index >= options.nodes
    const state = { child: null, paused: false, started: false, removed: false, spare }
    return { name, port, clusterPort, dir, lines: [], ...state }
  })
  const proxies = new Map<string, FaultProxy>()
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue
      proxies.set(`${from.name}>${to.name}`, await startFaultProxy({ targetPort: to.clusterPort }))
    }
  }
  const heldPorts = new Map(
    nodes.map((node, index) => [node.name, held.slice(2 * index, 2 * index + 2)]),
  )
  const cluster = new Cluster({ nodes, rootDir, proxies, extraArgs: options.args ?? [], heldPorts })
  try {
    await cluster.start(nodes[0]!.name, true)
    await cluster.leader()
    const joiners = nodes.slice(1, options.nodes)
    await Promise.all(joiners.map((node) => cluster.start(node.name, true)))
    await cluster.waitMembers(options.nodes)
    return cluster
  } catch (error) {
    await cluster.stop({ keepDir: true })
    throw error
  }
}
