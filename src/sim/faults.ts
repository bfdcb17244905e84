/* The fault schedule: named fault kinds, each drawn from the seed at random moments of the fault
 * phase (network conditions, partitions of every shape, crashes with torn writes, pauses, clock
 * drift, membership changes, leadership transfers). Invariant: every fault either undoes itself
 * (partitions heal, crashed nodes restart, pauses end) or is undone by healAll(), so the liveness
 * phase starts from a whole, connected cluster. */
import type { Rng } from '../core/ports.js'
import type { MembershipChange, NodeId } from '../raft/index.js'
import type { SimCluster } from './cluster.js'
import type { Scheduler } from './scheduler.js'
import type { Trace } from './trace.js'

export const faultKinds = [
  'drop',
  'delay',
  'duplicate',
  'reorder',
  'isolate',
  'isolate-leader',
  'majority',
  'bridge',
  'one-way',
  'flap',
  'crash',
  'crash-all',
  'pause',
  'drift',
  'membership',
  'transfer',
] as const
export type FaultKind = (typeof faultKinds)[number]

export function parseFaults(list: string): FaultKind[] {
  if (list === 'all') return [...faultKinds]
  if (list === 'none' || list === '') return []
  const kinds = list.split(',').map((name) => name.trim())
  for (const kind of kinds) {
    if (!(faultKinds as readonly string[]).includes(kind)) {
      throw new Error(`unknown fault kind '${kind}' (kinds: ${faultKinds.join(', ')})`)
    }
  }
  return kinds as FaultKind[]
}

type Link = readonly [NodeId, NodeId]

export interface FaultScheduleOptions {
  readonly scheduler: Scheduler
  readonly rng: Rng
  readonly cluster: SimCluster
  readonly trace: Trace
  readonly kinds: readonly FaultKind[]
  /** The initial voter count, which membership churn keeps as a floor. */
  readonly replicas: number
  /** Mean virtual ms between two fault episodes. */
  readonly meanGapMs: number
}

/** Network condition kinds apply for the whole fault phase; the others come as episodes. */
const conditionKinds: readonly FaultKind[] = ['drop', 'delay', 'duplicate', 'reorder']

export class FaultSchedule {
  readonly #options: FaultScheduleOptions
  readonly #episodes: FaultKind[]
  #active = false
  /** Cut link sets currently applied, so healAll() can restore them. */
  readonly #cuts = new Set<readonly Link[]>()
  readonly #crashed = new Set<NodeId>()
  readonly #membership: MembershipDriver
  injected = 0

  constructor(options: FaultScheduleOptions) {
    this.#options = options
    this.#episodes = options.kinds.filter((kind) => !conditionKinds.includes(kind))
    this.#membership = new MembershipDriver(options)
  }

  start(): void {
    this.#active = true
    const { cluster, rng, kinds } = this.#options
    const conditions = cluster.network.conditions
    if (kinds.includes('drop')) conditions.dropRate = 0.02 + rng.float() * 0.08
    if (kinds.includes('delay')) conditions.delayMsMax = 5 + rng.float() * 40
    if (kinds.includes('duplicate')) conditions.duplicateRate = 0.02 + rng.float() * 0.08
    if (kinds.includes('reorder')) {
      conditions.reorderRate = 0.01 + rng.float() * 0.05
      conditions.reorderDelayMsMax = 100 + rng.float() * 400
    }
    if (kinds.includes('drift')) {
      for (const node of cluster.nodes.values()) node.clock.setRate(0.97 + rng.float() * 0.06)
    }
    this.#scheduleNext()
  }

  /** Ends the fault phase: heals the network, restarts crashed nodes, stops membership churn. */
  healAll(): void {
    this.#active = false
    const { cluster } = this.#options
    for (const links of this.#cuts) cluster.network.restore(links)
    this.#cuts.clear()
    cluster.network.healAll()
    for (const id of this.#crashed) this.#restart(id)
    this.#membership.stop()
    this.#note('heal', () => 'fault phase over: network healed, crashed nodes restarted')
  }

  #scheduleNext(): void {
    if (!this.#active || this.#episodes.length === 0) return
    const { scheduler, rng, meanGapMs } = this.#options
    scheduler.after(rng.float() * 2 * meanGapMs, () => {
      if (!this.#active) return
      const kind = this.#episodes[rng.int(this.#episodes.length)]
      if (kind !== undefined) this.#inject(kind)
      this.#scheduleNext()
    })
  }

  #inject(kind: FaultKind): void {
    this.injected++
    this.#options.cluster.count(`fault-${kind}`)
    const { rng, cluster } = this.#options
    const ids = this.#liveIds()
    const pick = (): NodeId => ids[rng.int(ids.length)] ?? 1
    switch (kind) {
      case 'isolate':
        return this.#partition(kind, isolate(pick(), ids))
      case 'isolate-leader':
        return this.#partition(kind, isolate(cluster.leader()?.id ?? pick(), ids))
      case 'majority':
        return this.#partition(kind, split(shuffle(ids, rng), Math.floor(ids.length / 2)))
      case 'bridge':
        return this.#partition(kind, bridge(shuffle(ids, rng)))
      case 'one-way':
        return this.#partition(kind, oneWay(pick(), ids, rng.int(2) === 0))
      case 'flap':
        return this.#flap(isolate(pick(), ids), 3 + rng.int(6))
      case 'crash':
        return this.#crash([pick()])
      case 'crash-all':
        return this.#crash(ids)
      case 'pause':
        return cluster.pause(pick(), 50 + rng.float() * 600)
      case 'drift':
        return cluster.node(pick()).clock.setRate(0.95 + rng.float() * 0.1)
      case 'membership':
        return this.#membership.next()
      case 'transfer':
        return this.#transfer(pick())
      default:
        return
    }
  }

  #liveIds(): NodeId[] {
    return [...this.#options.cluster.nodes.values()]
      .filter((n) => !n.decommissioned)
      .map((n) => n.id)
  }

  #partition(kind: string, links: readonly Link[]): void {
    const { rng } = this.#options
    this.#cut(kind, links)
    this.#options.scheduler.after(100 + rng.float() * 900, () => this.#heal(links))
  }

  #cut(kind: string, links: readonly Link[]): void {
    if (!this.#active) return
    this.#options.cluster.network.cut(links)
    this.#cuts.add(links)
    this.#note(
      `cut${links.length}`,
      () => `${kind}: cut ${links.map(([a, b]) => `${a}>${b}`).join(' ')}`,
    )
  }

  #heal(links: readonly Link[]): void {
    if (!this.#cuts.delete(links)) return
    this.#options.cluster.network.restore(links)
    this.#note(`heal${links.length}`, () => `healed ${links.length} links`)
  }

  #flap(links: readonly Link[], times: number): void {
    if (times <= 0 || !this.#active) return
    const { scheduler, rng } = this.#options
    this.#cut('flap', links)
    scheduler.after(30 + rng.float() * 120, () => {
      this.#heal(links)
      scheduler.after(30 + rng.float() * 120, () => this.#flap(links, times - 1))
    })
  }

  #crash(ids: readonly NodeId[]): void {
    const { cluster, rng, scheduler } = this.#options
    const torn = rng.int(2) === 0
    for (const id of ids) {
      if (!cluster.node(id).running) continue
      cluster.crash(id, torn)
      this.#crashed.add(id)
      scheduler.after(50 + rng.float() * 500, () => {
        if (this.#crashed.has(id)) this.#restart(id)
      })
    }
  }

  #restart(id: NodeId): void {
    this.#crashed.delete(id)
    const node = this.#options.cluster.node(id)
    if (!node.running && !node.decommissioned) this.#options.cluster.start(id)
  }

  #transfer(target: NodeId): void {
    const leader = this.#options.cluster.leader()
    if (leader === null || leader.process === null) return
    const host = leader.host
    leader.process.run(() => {
      const accepted = host?.transferLeadership(target) ?? false
      this.#note(`t${target}`, () => `transfer leadership ${leader.id} -> ${target}: ${accepted}`)
    })
  }

  #note(hashKey: string, line: () => string): void {
    this.#options.trace.add(this.#options.scheduler.nowMs, hashKey, line)
  }
}

/** Membership churn that keeps at least the initial number of voters: add a learner, promote
 * it, remove a random voter (sometimes the leader); one change at a time, retried when refused. */
class MembershipDriver {
  readonly #options: FaultScheduleOptions
  #active = true
  /** Steps left in the current cycle (add a learner, promote it, remove a voter); 0: idle. */
  #stepsLeft = 0
  #attemptsLeft = 0
  /** Bumped per proposal: a late reply or a stale timeout of an older one is ignored. */
  #token = 0
  /** A node started to join as a learner (fresh disk), until it is a member. */
  #spare: NodeId | null = null

  constructor(options: FaultScheduleOptions) {
    this.#options = options
  }

  stop(): void {
    this.#active = false
  }

  /** Starts a cycle of changes (one at a time, retried while refused), unless one is running. */
  next(): void {
    if (this.#stepsLeft > 0) return
    this.#stepsLeft = 3
    this.#attemptsLeft = 12
    this.#step()
  }

  #step(): void {
    const { cluster, rng, replicas, scheduler } = this.#options
    if (!this.#active || this.#stepsLeft <= 0 || this.#attemptsLeft-- <= 0) {
      this.#stepsLeft = 0
      return
    }
    const leader = cluster.leader()
    if (leader === null || leader.host === null)
      return void scheduler.after(100, () => this.#step())
    const { voters, learners } = leader.host.status().membership
    const learner = learners[0]
    if (learner !== undefined) return this.#propose(leader.id, { type: 'promote', nodeId: learner })
    if (voters.length <= replicas) {
      // A node added earlier whose add-learner did not go through is offered again.
      let spare = this.#spare
      if (spare === null || voters.includes(spare) || cluster.node(spare).decommissioned) {
        spare = cluster.addNode()
        this.#spare = spare
      }
      return this.#propose(leader.id, { type: 'add-learner', nodeId: spare })
    }
    const victim = rng.int(3) === 0 ? leader.id : (voters[rng.int(voters.length)] ?? leader.id)
    this.#propose(leader.id, { type: 'remove', nodeId: victim })
  }

  #propose(to: NodeId, change: MembershipChange): void {
    const { cluster, trace, scheduler, rng } = this.#options
    const token = ++this.#token
    const what = `${change.type} ${change.nodeId}`
    trace.add(scheduler.nowMs, `mc${what}`, () => `membership change via ${to}: ${what}`)
    const settle = (ok: boolean): void => {
      if (token !== this.#token) return
      this.#token++
      if (ok) this.#stepsLeft--
      scheduler.after(50 + rng.float() * 150, () => this.#step())
    }
    cluster.changeMembership(to, change, (result) => {
      if (token !== this.#token) return
      cluster.count(`membership-${change.type}-${result.ok ? 'done' : result.error}`)
      const outcome = result.ok ? 'done' : result.error
      trace.add(scheduler.nowMs, `mr${what}${outcome}`, () => `membership ${what}: ${outcome}`)
      if (result.ok && change.type === 'remove') {
        // The operator shuts the removed node down once the change is in (it would idle anyway).
        cluster.decommission(change.nodeId)
      }
      settle(result.ok)
    })
    // A reply lost with a crashed or cut-off leader must not wedge the cycle.
    scheduler.after(1000, () => settle(false))
  }
}

function isolate(id: NodeId, ids: readonly NodeId[]): Link[] {
  return ids
    .filter((other) => other !== id)
    .flatMap((other) => [[id, other] as const, [other, id] as const])
}

/** Cuts every link between the first `count` nodes and the rest. */
function split(ids: readonly NodeId[], count: number): Link[] {
  const minority = ids.slice(0, count)
  const majority = ids.slice(count)
  return minority.flatMap((a) => majority.flatMap((b) => [[a, b] as const, [b, a] as const]))
}

/** Two halves that only one node (ids[0]) still connects. */
function bridge(ids: readonly NodeId[]): Link[] {
  const rest = ids.slice(1)
  const half = Math.floor(rest.length / 2)
  return split(rest, half).filter(([a, b]) => a !== ids[0] && b !== ids[0])
}

/** `id` can send but not receive (or the reverse). */
function oneWay(id: NodeId, ids: readonly NodeId[], inbound: boolean): Link[] {
  return ids
    .filter((other) => other !== id)
    .map((other) => (inbound ? ([other, id] as const) : ([id, other] as const)))
}

function shuffle(ids: readonly NodeId[], rng: Rng): NodeId[] {
  const copy = [...ids]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const a = copy[i]
    const b = copy[j]
    if (a === undefined || b === undefined) continue
    copy[i] = b
    copy[j] = a
  }
  return copy
}
