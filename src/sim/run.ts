/* One simulation run, a pure function of its config and seed: a fault phase (clients against the
 * cluster while the fault schedule strikes, safety invariants checked every step), then a
 * liveness phase (everything healed: every member must converge to one state and answer a final
 * read of every key), then the clients' history goes through the linearizability checker.
 * Invariant: all randomness flows from one Rng seeded by `seed`, and virtual time only moves
 * when the scheduler takes an event, so a seed replays exactly (same trace hash, same history). */
import type { Rng } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import type { ReplicaHost, ReplicaOptions } from '../replica/types.js'
import { defaultClientTiming, SimClient, type ClientTiming } from './client.js'
import { SimCluster, type DigestStateMachine, type HostTuning } from './cluster.js'
import { FaultSchedule, type FaultKind } from './faults.js'
import { HistoryRecorder, type KvCodec } from './history.js'
import { InvariantChecker } from './invariants.js'
import { findLostWrites } from './lost-writes.js'
import { Scheduler } from './scheduler.js'
import type { MachineContext } from './snapshot-shelf.js'
import { Trace } from './trace.js'

export interface SimConfig {
  readonly seed: number
  readonly replicas: number
  readonly faults: readonly FaultKind[]
  readonly clients: number
  readonly keys: number
  /** Virtual ms of clients under faults. */
  readonly faultPhaseMs: number
  /** Mean virtual ms between fault episodes. */
  readonly faultGapMs: number
  /** Virtual ms the healed cluster gets to converge and answer the final reads. */
  readonly livenessTimeoutMs: number
  readonly tuning: HostTuning
  readonly clientTiming: ClientTiming
  /** Trace lines kept for a failure report. */
  readonly traceLines: number
}

export const defaultSimConfig: SimConfig = {
  seed: 1,
  replicas: 3,
  faults: [],
  clients: 4,
  keys: 3,
  faultPhaseMs: 3000,
  faultGapMs: 400,
  livenessTimeoutMs: 20_000,
  tuning: {
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: 2,
    readMode: 'read-index',
    // Small, so every run snapshots, compacts and sends InstallSnapshot to lagging followers.
    snapshotEveryEntries: 25,
    logTailEntries: 5,
  },
  clientTiming: defaultClientTiming,
  traceLines: 50,
}

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown'

/** What a run needs from the rest of caskade: the replica host, its KV machine, the checker. */
export interface SimDeps {
  readonly createHost: (options: ReplicaOptions) => ReplicaHost
  readonly createStateMachine: (context: MachineContext) => DigestStateMachine
  readonly codec: KvCodec
  readonly checkHistory: (historyJson: string) => { verdict: Verdict; detail: string }
}

export interface SimFailure {
  /** The invariant's name, 'Liveness', 'Lost Write', 'Linearizability', 'Client' or 'Crash'
   * (an exception). */
  readonly kind: string
  readonly message: string
}

/** What a scenario test may drive: it schedules its own faults on the scheduler. */
export interface SimWorld {
  readonly scheduler: Scheduler
  readonly cluster: SimCluster
  readonly rng: Rng
}

export interface SimResult {
  readonly seed: number
  /** Counts of what happened (crash, restart, snapshot-restored, role-leader, fault-..., ...). */
  readonly stats: Readonly<Record<string, number>>
  readonly failure: SimFailure | null
  readonly verdict: Verdict | null
  /** Operations in the history (completed and unknown). */
  readonly operations: number
  readonly events: number
  readonly virtualMs: number
  readonly traceHash: string
  readonly traceLines: readonly string[]
  readonly historyJson: string
}

/** Virtual ms between two rounds of status checks (and of liveness conditions). */
const statusStepMs = 5
/** Virtual ms between two Log Matching / Leader Completeness passes over all logs. */
const logCheckStepMs = 50

class Run {
  readonly scheduler = new Scheduler()
  readonly trace: Trace
  readonly invariants: InvariantChecker
  readonly history = new HistoryRecorder()
  readonly cluster: SimCluster
  readonly faults: FaultSchedule
  readonly clients: SimClient[] = []
  failure: SimFailure | null = null
  #lastStatusMs = -Infinity
  #lastLogCheckMs = -Infinity
  #asyncSeen = 0

  readonly rng: Rng
  readonly config: SimConfig

  constructor(config: SimConfig, deps: SimDeps) {
    const rng = createRng(config.seed)
    this.rng = rng
    this.config = config
    this.trace = new Trace(config.traceLines)
    this.invariants = new InvariantChecker(() => this.scheduler.nowMs)
    const base = { scheduler: this.scheduler, rng, trace: this.trace }
    this.cluster = new SimCluster({
      ...base,
      replicas: config.replicas,
      createHost: deps.createHost,
      createStateMachine: deps.createStateMachine,
      tuning: config.tuning,
      invariants: this.invariants,
    })
    const { faultGapMs: meanGapMs, faults: kinds, replicas } = config
    this.faults = new FaultSchedule({ ...base, cluster: this.cluster, kinds, meanGapMs, replicas })
    const keys = Array.from({ length: config.keys }, (_, i) => `k${i}`)
    for (let i = 0; i < config.clients; i++) this.clients.push(this.newClient(i + 1, keys, deps))
  }

  newClient(sessionId: number, keys: readonly string[], deps: SimDeps): SimClient {
    return new SimClient({
      sessionId,
      keys,
      scheduler: this.scheduler,
      rng: createRng(this.rng.int(2 ** 31)),
      transport: this.cluster,
      codec: deps.codec,
      history: this.history,
      timing: this.config.clientTiming,
      fail: (message) => this.fail('Client', message),
    })
  }

  fail(kind: string, message: string): void {
    this.failure ??= { kind, message }
  }

  /** Runs events until `untilMs`, or until `done()` holds at a status step; true if it held. */
  async runUntil(untilMs: number, done: () => boolean = () => false): Promise<boolean> {
    for (;;) {
      if (this.failure !== null) return false
      const event = this.scheduler.take(untilMs)
      if (event === null) {
        this.scheduler.advanceTo(untilMs)
        return this.#step(true) && done()
      }
      try {
        event.run()
      } catch (error) {
        this.fail('Crash', error instanceof Error ? (error.stack ?? error.message) : String(error))
      }
      if (this.cluster.io.asyncCalls !== this.#asyncSeen) await this.#drain()
      if (this.scheduler.nowMs - this.#lastStatusMs >= statusStepMs) {
        if (this.#step(false) && done()) return true
      }
    }
  }

  /** Lets the promise continuations of async disk calls run at this virtual instant. */
  async #drain(): Promise<void> {
    while (this.cluster.io.asyncCalls !== this.#asyncSeen) {
      this.#asyncSeen = this.cluster.io.asyncCalls
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /** Checks the invariants; false once anything failed. */
  #step(force: boolean): boolean {
    const now = this.scheduler.nowMs
    this.#lastStatusMs = now
    try {
      for (const node of this.cluster.running()) {
        if (node.host !== null) this.invariants.checkStatus(node.host.status())
      }
      if (force || now - this.#lastLogCheckMs >= logCheckStepMs) {
        this.#lastLogCheckMs = now
        const logs = this.cluster
          .running()
          .flatMap((node) => (node.host === null ? [] : [node.host.inspect()]))
        this.invariants.checkLogs(logs)
      }
    } catch (error) {
      this.fail('Crash', error instanceof Error ? (error.stack ?? error.message) : String(error))
    }
    const violation = this.invariants.violation
    if (violation !== null) this.fail(violation.invariant, violation.message)
    return this.failure === null
  }

  /** All members run, agree on the applied index (= commit) and on the state digest. */
  converged(): boolean {
    if (!this.clients.every((client) => client.idle)) return false
    const leader = this.cluster.leader()
    if (leader === null) return false
    const members = this.cluster.members()
    let applied = -1
    let digest: string | null = null
    for (const id of members) {
      const node = this.cluster.node(id)
      if (node.host === null || node.stateMachine === null || node.process?.paused !== false)
        return false
      const status = node.host.status()
      if (status.appliedIndex !== status.commitIndex) return false
      if (applied !== -1 && status.appliedIndex !== applied) return false
      applied = status.appliedIndex
      const nodeDigest = node.stateMachine.digest()
      if (digest !== null && nodeDigest !== digest) return false
      digest = nodeDigest
    }
    return true
  }
}

export async function runSeed(
  config: SimConfig,
  deps: SimDeps,
  scenario?: (world: SimWorld) => void,
): Promise<SimResult> {
  const run = new Run(config, deps)
  const { scheduler, cluster, faults, clients } = run
  cluster.startAll()
  scenario?.({ scheduler, cluster, rng: run.rng })
  faults.start()
  for (const client of clients) client.start()
  await run.runUntil(config.faultPhaseMs)
  faults.healAll()
  for (const client of clients) client.stop()
  const deadlineMs = scheduler.nowMs + config.livenessTimeoutMs
  if (run.failure === null && !(await run.runUntil(deadlineMs, () => run.converged()))) {
    run.fail(
      'Liveness',
      `the healed cluster did not converge within ${config.livenessTimeoutMs}ms (${describeNodes(run)})`,
    )
  }
  if (run.failure === null) await finalReads(run, config, deps, deadlineMs)
  let verdict: Verdict | null = null
  const historyJson = run.history.toJson()
  if (run.failure === null) {
    const checked = deps.checkHistory(historyJson)
    verdict = checked.verdict
    if (verdict === 'not-linearizable') run.fail('Linearizability', checked.detail)
  }
  for (const client of clients) {
    cluster.count('client-completed', client.completed)
    cluster.count('client-gave-up', client.unknown)
    cluster.count('client-retried-writes', client.retriedWrites)
  }
  const shelf = cluster.shelf.stats
  if (shelf.captures > 0) cluster.count('file-captures', shelf.captures)
  if (shelf.installs > 0) cluster.count('file-installs', shelf.installs)
  if (shelf.installFailures > 0) cluster.count('file-install-failures', shelf.installFailures)
  return {
    seed: config.seed,
    stats: Object.fromEntries([...cluster.stats].sort(([a], [b]) => (a < b ? -1 : 1))),
    failure: run.failure,
    verdict,
    operations: run.history.operations.length,
    events: scheduler.eventsRun,
    virtualMs: scheduler.nowMs,
    traceHash: run.trace.hash,
    traceLines: run.failure === null ? [] : run.trace.lines(),
    historyJson,
  }
}

/** Every key read once through a linearizable read on the healed cluster (acknowledged writes
 * must show in them, which the checker then judges). */
async function finalReads(
  run: Run,
  config: SimConfig,
  deps: SimDeps,
  deadlineMs: number,
): Promise<void> {
  const keys = Array.from({ length: config.keys }, (_, i) => `k${i}`)
  let pending = keys.length
  const finalValues = new Map<string, string | null>()
  for (const [i, key] of keys.entries()) {
    const reader = run.newClient(1000 + i, keys, deps)
    reader.readOnce(key, (ok) => {
      pending--
      if (ok) finalValues.set(key, reader.lastRead)
      else run.fail('Liveness', `the final read of ${key} found no answer on the healed cluster`)
    })
  }
  const done = await run.runUntil(deadlineMs, () => pending === 0)
  if (!done && run.failure === null) run.fail('Liveness', 'the final reads did not finish')
  const lost = findLostWrites(run.history.operations, finalValues)
  if (lost.length > 0) run.fail('Lost Write', lost.slice(0, 5).join('; '))
}

function describeNodes(run: Run): string {
  return [...run.cluster.nodes.values()]
    .map((node) => {
      const status = node.host?.status()
      if (status === undefined) return `n${node.id} down`
      return `n${node.id} ${status.role} t${status.term} commit=${status.commitIndex} applied=${status.appliedIndex}`
    })
    .join(', ')
}
