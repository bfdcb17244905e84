/* A cluster in a box: N replica hosts (the real src/replica code) on simulated clocks, timers,
 * disks and network, with crash/restart (a new host on the same simulated disk), pauses, new
 * nodes for membership changes, and the client transport. Invariant: every callback into a host
 * runs inside its node's current process, so a crashed node does nothing and a paused one waits. */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import type { MembershipChange, NodeId, RaftMessage } from '../raft/index.js'
import type {
  ReadMode,
  ReplicaHost,
  ReplicaOptions,
  ReplicaResult,
  StateMachine,
  WriteRequest,
} from '../replica/types.js'
import type { ClientTransport } from './client.js'
import { SimDisk } from './disk.js'
import type { InvariantChecker } from './invariants.js'
import { SimNetwork } from './network.js'
import { NodeProcess, SimClock } from './node-ports.js'
import type { Scheduler } from './scheduler.js'
import { SnapshotShelf, type MachineContext } from './snapshot-shelf.js'
import type { Trace } from './trace.js'

export const simGroupId = 1

/** The state machine the simulator runs: it can tell whether two replicas hold the same state. */
export interface DigestStateMachine extends StateMachine {
  digest(): string
}

export interface HostTuning {
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly readMode: ReadMode
  readonly snapshotEveryEntries?: number
  readonly logTailEntries?: number
  readonly unsafeLocalReads?: boolean
}

export interface ClusterOptions {
  readonly scheduler: Scheduler
  readonly rng: Rng
  readonly replicas: number
  readonly createHost: (options: ReplicaOptions) => ReplicaHost
  /** A fresh state machine for a node's new process (file-snapshot ones open their snapshot). */
  readonly createStateMachine: (context: MachineContext) => DigestStateMachine
  readonly tuning: HostTuning
  readonly invariants: InvariantChecker
  readonly trace: Trace
}

export class SimNode {
  readonly id: NodeId
  readonly disk: SimDisk
  readonly clock: SimClock
  process: NodeProcess | null = null
  host: ReplicaHost | null = null
  stateMachine: DigestStateMachine | null = null
  /** Removed from the group and shut down for good. */
  decommissioned = false
  incarnations = 0

  constructor(id: NodeId, clock: SimClock, io: { asyncCalls: number }) {
    this.id = id
    this.clock = clock
    this.disk = new SimDisk(io)
  }

  get running(): boolean {
    return this.process !== null && this.host !== null
  }
}

export class SimCluster implements ClientTransport {
  readonly nodes = new Map<NodeId, SimNode>()
  readonly network: SimNetwork
  /** What happened during the run, by name (crashes, restarts, snapshots...), for reports and
   * for scenario tests to prove their fault really struck. */
  readonly stats = new Map<string, number>()
  /** Async disk calls of all nodes (see SimDisk.io). */
  readonly io = { asyncCalls: 0 }
  /** Every node's file snapshots (used by state machines with `files` only). */
  readonly shelf: SnapshotShelf
  readonly #options: ClusterOptions
  readonly #initialVoters: readonly NodeId[]

  constructor(options: ClusterOptions) {
    this.#options = options
    this.network = new SimNetwork({
      scheduler: options.scheduler,
      rng: options.rng,
      deliver: (message) => this.#deliver(message),
    })
    this.shelf = new SnapshotShelf(
      (from, to) => !this.network.isCut(from, to) && !this.network.isCut(to, from),
    )
    this.#initialVoters = Array.from({ length: options.replicas }, (_, i) => i + 1)
    for (const id of this.#initialVoters) this.#newNode(id)
  }

  startAll(): void {
    for (const id of this.#initialVoters) this.start(id)
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id)
    assert(node !== undefined, `no node ${id}`)
    return node
  }

  #newNode(id: NodeId): SimNode {
    const clock = new SimClock(this.#options.scheduler, this.#options.rng.int(10_000))
    const node = new SimNode(id, clock, this.io)
    this.nodes.set(id, node)
    return node
  }

  /** Starts a process of `id` from its disk (a fresh node bootstraps; a new one joins empty). */
  start(id: NodeId): void {
    const node = this.node(id)
    assert(!node.running && !node.decommissioned, `node ${id} can start`)
    const { scheduler, rng, tuning, trace, invariants } = this.#options
    const process = new NodeProcess(scheduler, node.clock)
    const dir = `/data/n${id}`
    node.disk.mkdirp(dir)
    const stateMachine = this.#options.createStateMachine({
      id,
      dir,
      disk: node.disk,
      timers: process.timers,
      incarnation: node.incarnations + 1,
      alive: () => process.alive,
      shelf: this.shelf,
    })
    const joining = !this.#initialVoters.includes(id)
    const host = this.#options.createHost({
      groupId: simGroupId,
      id,
      dir,
      disk: node.disk,
      clock: node.clock,
      timers: process.timers,
      rng: createRng(rng.int(2 ** 31)),
      voters: joining ? [] : this.#initialVoters,
      stateMachine,
      send: (message) => {
        if (process.alive) this.network.send(message)
      },
      onApplied: (entry) => invariants.onApplied(id, entry),
      onEvent: (event) => {
        this.count(event.kind === 'role' ? `role-${event.role}` : event.kind)
        if (event.kind === 'snapshot-restored') this.count(`snapshot-restored-n${id}`)
        if (event.kind === 'role' && event.role === 'leader') invariants.onLeader(id, event.term)
        if (event.kind === 'snapshot-restored') invariants.onSnapshotRestored(id, event.index)
        if (event.kind === 'snapshot-install-failed') invariants.onCoreRebuilt(id)
        trace.add(scheduler.nowMs, `e${id}${event.kind}`, () => `n${id} ${JSON.stringify(event)}`)
      },
      ...tuning,
    })
    node.process = process
    node.host = host
    node.stateMachine = stateMachine
    node.incarnations++
    invariants.onStart(id)
    this.count(node.incarnations > 1 ? 'restart' : 'start')
    trace.add(scheduler.nowMs, `s${id}`, () => `n${id} starts (incarnation ${node.incarnations})`)
    process.run(() => host.start())
  }

  /** Power loss on `id`: the process dies, unsynced bytes are lost (maybe a torn tail kept). */
  crash(id: NodeId, torn: boolean): void {
    const node = this.node(id)
    if (!node.running) return
    node.process?.kill()
    node.process = null
    node.host = null
    node.stateMachine = null
    this.count('crash')
    const lostBytes = node.disk.unsyncedBytes()
    node.disk.crash(torn ? this.#options.rng : null)
    const { trace, scheduler } = this.#options
    trace.add(
      scheduler.nowMs,
      `c${id}`,
      () => `n${id} crashes (${lostBytes} unsynced bytes, torn=${torn})`,
    )
  }

  /** A clean shutdown: pending requests are answered, then the process exits. */
  stop(id: NodeId): void {
    const node = this.node(id)
    const host = node.host
    if (host === null || node.process === null) return
    if (!node.process.paused) host.stop()
    node.process.kill()
    node.process = null
    node.host = null
    node.stateMachine = null
  }

  pause(id: NodeId, durationMs: number): void {
    const node = this.node(id)
    if (node.process === null) return
    node.process.pause(durationMs)
    this.count('pause')
    const { trace, scheduler } = this.#options
    trace.add(scheduler.nowMs, `p${id}`, () => `n${id} pauses for ${durationMs.toFixed(0)}ms`)
  }

  /** A brand-new node (fresh disk) that joins once a leader adds it as a learner. */
  addNode(): NodeId {
    const id = Math.max(...this.nodes.keys()) + 1
    this.#newNode(id)
    this.start(id)
    return id
  }

  decommission(id: NodeId): void {
    this.stop(id)
    this.node(id).decommissioned = true
    const { trace, scheduler } = this.#options
    trace.add(scheduler.nowMs, `x${id}`, () => `n${id} decommissioned`)
  }

  count(name: string, by = 1): void {
    this.stats.set(name, (this.stats.get(name) ?? 0) + by)
  }

  running(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.running)
  }

  /** The running node that believes it leads at the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null
    let bestTerm = -1
    for (const node of this.running()) {
      const status = node.host?.status()
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = node
        bestTerm = status.term
      }
    }
    return best
  }

  /** The membership as the leader (else any running member) sees it. */
  members(): readonly NodeId[] {
    const source = this.leader() ?? this.running()[0]
    const membership = source?.host?.status().membership
    if (membership === undefined) return this.#initialVoters
    return [...membership.voters, ...membership.learners]
  }

  targets(): readonly NodeId[] {
    const members = this.members().filter((id) => !this.node(id).decommissioned)
    return members.length > 0 ? members : this.#initialVoters
  }

  write(to: NodeId, request: WriteRequest, onReply: (result: ReplicaResult) => void): void {
    const what = `write ${request.clientId}/${request.sequence} ${textOf(request.command)}`
    this.#request(to, what, onReply, (host, done) => host.write(request, done))
  }

  read(to: NodeId, query: Uint8Array, onReply: (result: ReplicaResult) => void): void {
    this.#request(to, `read ${textOf(query)}`, onReply, (host, done) => host.read(query, done))
  }

  changeMembership(to: NodeId, change: MembershipChange, onReply: (result: ReplicaResult) => void) {
    const what = `${change.type} ${change.nodeId}`
    this.#request(to, what, onReply, (host, done) => host.changeMembership(change, done))
  }

  /** A request crosses the network to `to`'s current process and its reply crosses back. */
  #request(
    to: NodeId,
    what: string,
    onReply: (result: ReplicaResult) => void,
    call: (host: ReplicaHost, done: (result: ReplicaResult) => void) => void,
  ): void {
    const { scheduler, trace } = this.#options
    scheduler.after(this.network.delayMs(), () => {
      const node = this.nodes.get(to)
      const process = node?.process
      if (node === undefined || process === undefined || process === null) return
      process.run(() => {
        const host = node.host
        if (host === null || node.process !== process) return
        trace.add(scheduler.nowMs, `q${to}${what}`, () => `client -> n${to}: ${what}`)
        call(host, (result) => {
          trace.add(
            scheduler.nowMs,
            `a${to}${what}`,
            () => `n${to} answers ${what}: ${describeResult(result)}`,
          )
          scheduler.after(this.network.delayMs(), () => onReply(result))
        })
      })
    })
  }

  #deliver(message: RaftMessage): void {
    const node = this.nodes.get(message.to)
    const process = node?.process
    if (node === undefined || process === undefined || process === null) return
    if (message.type === 'snapshot') this.count(`snapshot-chunks-to-n${message.to}`)
    const { trace, scheduler } = this.#options
    trace.add(scheduler.nowMs, `m${message.type}${message.from}${message.to}${message.term}`, () =>
      describeMessage(message),
    )
    process.run(() => {
      if (node.process === process) node.host?.receive(message)
    })
  }
}

function textOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8')
}

function describeResult(result: ReplicaResult): string {
  if (result.ok) return textOf(result.reply)
  return result.error === 'not-leader' ? `not-leader (leader ${result.leaderId})` : result.error
}

function describeMessage(message: RaftMessage): string {
  const head = `${message.from}->${message.to} ${message.type} t${message.term}`
  switch (message.type) {
    case 'append':
      return `${head} prev=${message.prevLogIndex}/${message.prevLogTerm} n=${message.entries.length} commit=${message.commit}`
    case 'append-response':
      return `${head} ${message.reject ? 'reject' : 'ok'} index=${message.index}`
    case 'vote':
    case 'pre-vote':
      return `${head} last=${message.lastLogIndex}/${message.lastLogTerm}`
    case 'vote-response':
    case 'pre-vote-response':
      return `${head} ${message.reject ? 'reject' : 'grant'}`
    case 'snapshot':
      return `${head} snap=${message.snapshotIndex} bytes ${message.offset}+${message.data.length}/${message.totalBytes}`
    case 'heartbeat':
      return `${head} commit=${message.commit}`
    default:
      return head
  }
}
