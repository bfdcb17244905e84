/* Randomized safety runs: many seeds of a small cluster under message loss, delay, duplication,
 * partitions, crash-restarts and log compaction (snapshot catch-up), checking Raft's invariants
 * after every Ready (Election Safety, Log Matching, Leader Completeness, State Machine Safety,
 * monotonic commit and applied, and that a ReadIndex answer covers every write committed before
 * the read began). A third of the seeds use lease reads, with node clocks drifting within the
 * documented bound (leaseDriftTicks); a read answered from a lease is checked the same way, so a
 * stale lease read (below an index a newer leader committed) fails the run. A failing run names its
 * seed; SEED=n reruns just that one. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import type { Rng } from '../core/ports.js'
import { decodeStateMachine, TestNetwork } from './test-support.js'
import type { Entry, NodeId, Ready } from './types.js'

interface Faults {
  dropProbability: number
  delayProbability: number
  duplicateProbability: number
  partitionProbability: number
  healProbability: number
  restartProbability: number
}

const defaultFaults: Faults = {
  dropProbability: 0.05,
  delayProbability: 0.1,
  duplicateProbability: 0.02,
  partitionProbability: 0.01,
  healProbability: 0.02,
  restartProbability: 0.002,
}

/** Global knowledge the checks compare every node against. */
class SafetyChecker {
  readonly leaderOfTerm = new Map<number, NodeId>()
  /** "index/term" -> the entry seen there first, and the term before it (Log Matching). */
  readonly entryAt = new Map<string, { entry: Entry; prevTerm: number }>()
  /** index -> the entry applied there (State Machine Safety). */
  readonly appliedAt = new Map<number, Entry>()
  readonly commitOf = new Map<NodeId, number>()
  readonly appliedOf = new Map<NodeId, number>()
  /** requestId -> highest commit index anywhere when the read was issued. */
  readonly readFloor = new Map<number, number>()
  reads = 0
  /** Reads answered in the step they were issued: no round trip, so from a lease. */
  readsAtOnce = 0
  step = 0
  snapshots = 0
  /** Config entries committed (counted once, when first applied anywhere). */
  membershipChanges = 0
  transfers = 0
  maxCommit = 0

  readonly network: TestNetwork
  readonly seed: number

  constructor(network: TestNetwork, seed: number) {
    this.network = network
    this.seed = seed
  }

  fail(message: string): never {
    assert.fail(`seed ${this.seed}: ${message}`)
  }

  onReady(id: NodeId, ready: Ready): void {
    const node = this.network.node(id)
    for (const entry of ready.entries) {
      const key = `${entry.index}/${entry.term}`
      const prevTerm = node.storage.term(entry.index - 1)
      const seen = this.entryAt.get(key)
      if (seen === undefined) this.entryAt.set(key, { entry, prevTerm })
      else if (seen.prevTerm !== prevTerm || !sameEntry(seen.entry, entry)) {
        this.fail(`log matching: two different entries at ${key}`)
      }
    }
    if (ready.snapshot !== null) this.#checkSnapshot(id, ready.snapshot.data, ready.snapshot.index)
    for (const entry of ready.committed) this.#checkApplied(id, entry)
    for (const read of ready.readStates) {
      const floor = this.readFloor.get(read.requestId)
      if (floor === undefined) this.fail(`read ${read.requestId} was never issued`)
      if (read.index < floor) this.fail(`read ${read.requestId} at ${read.index} < ${floor}`)
      this.reads++
      if (read.requestId === this.step) this.readsAtOnce++
    }
    if (ready.softState?.role === 'leader') this.#checkLeaderCompleteness(id)
    this.#checkStatus(id)
  }

  #checkApplied(id: NodeId, entry: Entry): void {
    const previous = this.appliedOf.get(id) ?? 0
    if (entry.index !== previous + 1) this.fail(`${id} applied ${entry.index} after ${previous}`)
    this.appliedOf.set(id, entry.index)
    const other = this.appliedAt.get(entry.index)
    if (other === undefined) {
      this.appliedAt.set(entry.index, entry)
      if (entry.kind === 'config') this.membershipChanges++
    } else if (!sameEntry(other, entry)) this.fail(`state machine safety at ${entry.index}`)
  }

  /** An installed snapshot is exactly the prefix every state machine applied. */
  #checkSnapshot(id: NodeId, data: Uint8Array, index: number): void {
    const entries = decodeStateMachine(data)
    if (entries.length !== index) this.fail(`${id} snapshot at ${index} has ${entries.length}`)
    for (const entry of entries) {
      const other = this.appliedAt.get(entry.index)
      if (other === undefined) this.appliedAt.set(entry.index, entry)
      else if (!sameEntry(other, entry)) this.fail(`snapshot differs at ${entry.index}`)
    }
    if (index < (this.appliedOf.get(id) ?? 0)) this.fail(`${id} snapshot behind its state`)
    this.appliedOf.set(id, index)
    this.snapshots++
  }

  #checkLeaderCompleteness(id: NodeId): void {
    const raft = this.network.node(id).raft
    const log = raft.entries()
    const firstIndex = log[0]?.index ?? raft.status().lastIndex + 1
    for (const [index, entry] of this.appliedAt) {
      if (index < firstIndex) continue // compacted: covered by the snapshot the leader applied
      const ours = log[index - firstIndex]
      if (ours === undefined || !sameEntry(ours, entry)) {
        this.fail(`leader completeness: ${id} (term ${raft.status().term}) lacks ${index}`)
      }
    }
  }

  #checkStatus(id: NodeId): void {
    const status = this.network.node(id).raft.status()
    if (status.role === 'leader') {
      const leader = this.leaderOfTerm.get(status.term)
      if (leader === undefined) this.leaderOfTerm.set(status.term, id)
      else if (leader !== id) this.fail(`election safety: ${leader} and ${id} lead ${status.term}`)
    }
    const commit = this.commitOf.get(id) ?? 0
    if (status.commit < commit) this.fail(`${id} commit moved back ${commit} -> ${status.commit}`)
    this.commitOf.set(id, status.commit)
    this.maxCommit = Math.max(this.maxCommit, status.commit)
  }

  /** A crash may lose a commit index that was never persisted; the new process starts over. */
  onRestart(id: NodeId): void {
    this.commitOf.set(id, this.network.node(id).raft.status().commit)
  }
}

function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.index === b.index &&
    a.term === b.term &&
    a.kind === b.kind &&
    Buffer.from(a.data).equals(Buffer.from(b.data))
  )
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.int(items.length)]
  assert.ok(item !== undefined)
  return item
}

function randomFaults(network: TestNetwork, checker: SafetyChecker, rng: Rng, faults: Faults) {
  if (rng.float() < faults.partitionProbability) {
    const ids = [...network.ids].sort(() => rng.float() - 0.5)
    const cut = 1 + rng.int(Math.floor(ids.length / 2))
    network.heal()
    network.partition([ids.slice(0, cut), ids.slice(cut)])
  }
  if (rng.float() < faults.partitionProbability) {
    network.cutLink(pick(rng, network.ids), pick(rng, network.ids))
  }
  if (rng.float() < faults.healProbability) network.heal()
  if (rng.float() < faults.restartProbability) {
    const id = pick(rng, network.ids)
    network.restart(id)
    checker.onRestart(id)
  }
}

function deliverSome(network: TestNetwork, rng: Rng, faults: Faults): void {
  const messages = network.queue
  network.queue = []
  for (const message of messages) {
    const roll = rng.float()
    if (roll < faults.dropProbability) continue
    if (roll < faults.dropProbability + faults.delayProbability) {
      network.queue.push(message)
      continue
    }
    network.deliver(message)
    if (rng.float() < faults.duplicateProbability) network.queue.push(message)
  }
}

function clientStep(network: TestNetwork, checker: SafetyChecker, rng: Rng, step: number) {
  const id = pick(rng, network.ids)
  const raft = network.node(id).raft
  if (rng.float() < 0.3) raft.propose(Buffer.from(`s${checker.seed}-${step}`))
  if (rng.float() < 0.1) {
    checker.readFloor.set(step, checker.maxCommit)
    raft.readIndex(step)
  }
}

/** Membership churn: the leader adds, promotes or removes a random node now and then. */
function membershipStep(network: TestNetwork, rng: Rng): void {
  const [leader] = network.leaders()
  if (leader === undefined) return
  const types = ['add-learner', 'promote', 'remove'] as const
  const change = { type: pick(rng, types), nodeId: pick(rng, network.ids) }
  network.node(leader).raft.proposeMembershipChange(change)
}

/** Leadership transfer under load: the leader hands over to a random node now and then. */
function transferStep(network: TestNetwork, checker: SafetyChecker, rng: Rng): void {
  const [leader] = network.leaders()
  if (leader === undefined) return
  if (network.node(leader).raft.transferLeadership(pick(rng, network.ids))) checker.transfers++
}

/**
 * Per-node clocks for lease seeds: node i ticks at `rate` ticks per step (<= 1), its skipped steps
 * spread evenly, so over w steps it ticks w * rate times, give or take one.
 */
class DriftingClocks {
  readonly #rate = new Map<NodeId, number>()
  readonly #phase = new Map<NodeId, number>()

  constructor(seed: number, ids: readonly NodeId[], clockRate: (rng: Rng) => number) {
    const rng = createRng(seed * 7919 + 13) // its own stream: other seeds' runs stay as they were
    for (const id of ids) {
      this.#rate.set(id, rng.float() < 0.25 ? 1 : clockRate(rng))
      this.#phase.set(id, rng.int(1000))
    }
  }

  ticks(id: NodeId, step: number): boolean {
    const rate = this.#rate.get(id) ?? 1
    const at = step + (this.#phase.get(id) ?? 0)
    return Math.floor((at + 1) * rate) > Math.floor(at * rate)
  }
}

/**
 * Within the assumption for leaseDriftTicks = 2 (no node ticks more than once beyond another per
 * election timeout): a slow clock skips one tick every 20 to 29 steps.
 */
const boundedDrift = (rng: Rng): number => 1 - 1 / (2 * electionTicks + rng.int(electionTicks))

interface RunOptions {
  nodes: number
  ticks: number
  faults: Faults
  /** Lease reads on a third of the seeds, with each node's clock at clockRate ticks per step. */
  lease?: { clockRate: (rng: Rng) => number; leaseDriftTicks: number }
}

function runSeed(seed: number, options: RunOptions) {
  const rng = createRng(seed)
  // Vary the configuration by seed: without CheckQuorum a cut-off leader lingers (ReadIndex must
  // still be safe), and tiny messages split old entries from a new leader's empty entry.
  const leaseBased = options.lease !== undefined && seed % 3 === 1
  const node = {
    checkQuorum: seed % 3 !== 0,
    messageBytesMax: seed % 5 === 0 ? 40 : 4096,
    electionTicks,
    ...(leaseBased
      ? { readOnly: 'lease-based' as const, leaseDriftTicks: options.lease?.leaseDriftTicks ?? 2 }
      : {}),
  }
  // Half the seeds compact their logs often, so lagging followers catch up by snapshot.
  const compaction = { every: 16, tail: seed % 4 }
  const network = new TestNetwork({
    count: options.nodes,
    seed,
    node: { ...node, snapshotChunkBytes: 1024 },
    ...(seed % 2 === 1 ? { compaction } : {}),
  })
  // A quarter of the seeds start with 3 voters and 2 spare nodes and change membership as they go.
  const churn = seed % 4 === 3
  if (churn) for (const id of [4, 5]) network.addNode(id)
  const checker = new SafetyChecker(network, seed)
  network.onReady = (id, ready) => checker.onReady(id, ready)
  const handleAll = (): void => {
    for (const id of network.ids) network.handleReady(id)
  }
  const clocks =
    leaseBased && options.lease !== undefined
      ? new DriftingClocks(seed, network.ids, options.lease.clockRate)
      : null
  const tickAll = (step: number): void => {
    for (const id of network.ids) {
      if (clocks?.ticks(id, step) ?? true) network.node(id).raft.tick()
    }
  }
  for (let step = 0; step < options.ticks; step++) {
    checker.step = step
    randomFaults(network, checker, rng, options.faults)
    tickAll(step)
    clientStep(network, checker, rng, step)
    if (churn && rng.float() < membershipChangeProbability) membershipStep(network, rng)
    if (rng.float() < transferProbability) transferStep(network, checker, rng)
    handleAll()
    deliverSome(network, rng, options.faults)
    handleAll()
  }
  // Liveness: with every fault healed, the cluster elects a leader and converges.
  network.heal()
  const calm: Faults = { ...options.faults, ...noFaults }
  for (let step = 0; step < livenessTicks; step++) {
    checker.step = -1
    tickAll(options.ticks + step)
    handleAll()
    deliverSome(network, rng, calm)
    handleAll()
  }
  return { network, checker }
}

const noFaults = {
  dropProbability: 0,
  delayProbability: 0,
  duplicateProbability: 0,
  partitionProbability: 0,
  healProbability: 0,
  restartProbability: 0,
}
const livenessTicks = 200
const electionTicks = 10
const membershipChangeProbability = 0.01
const transferProbability = 0.003

/** After healing there is one leader, and every current member applied the same entries. */
function assertConverged(network: TestNetwork, seed: number): void {
  const leaders = network.leaders()
  assert.equal(leaders.length, 1, `seed ${seed}: one leader after healing`)
  const { voters, learners } = network.node(leaders[0] ?? 0).raft.membership()
  const lengths = [...voters, ...learners].map((id) => network.node(id).applied.length)
  assert.ok(
    lengths.every((length) => length === lengths[0]),
    `seed ${seed}: all nodes applied the same prefix (${lengths.join(',')})`,
  )
}

describe('raft safety under random faults', () => {
  const only = process.env.SEED === undefined ? null : Number(process.env.SEED)
  const seeds = only === null ? Array.from({ length: 200 }, (_, i) => i + 1) : [only]

  test('200 seeds x 3000 ticks, 3-5 nodes, churn, lease reads on a third: invariants hold', () => {
    let applied = 0
    let reads = 0
    let snapshots = 0
    let changes = 0
    let transfers = 0
    let readsAtOnce = 0
    const lease = { clockRate: boundedDrift, leaseDriftTicks: 2 }
    for (const seed of seeds) {
      const nodes = seed % 2 === 0 ? 5 : 3
      const run = { nodes, ticks: 3000, faults: defaultFaults, lease }
      const { network, checker } = runSeed(seed, run)
      assertConverged(network, seed)
      changes += checker.membershipChanges
      transfers += checker.transfers
      applied += checker.appliedAt.size
      reads += checker.reads
      snapshots += checker.snapshots
      readsAtOnce += checker.readsAtOnce
    }
    if (process.env.RAFT_STATS === '1') {
      const stats = { applied, reads, readsAtOnce, snapshots, changes, transfers }
      console.log({ seeds: seeds.length, ...stats })
    }
    assert.ok(applied > seeds.length * 10, `entries were committed (${applied})`)
    assert.ok(reads > seeds.length, `linearizable reads were answered (${reads})`)
    if (only !== null) return // one seed replayed: the coverage totals below need them all
    assert.ok(snapshots > 10, `followers caught up by snapshot (${snapshots})`)
    assert.ok(changes > 10, `membership changed under faults (${changes})`)
    assert.ok(transfers > 10, `leadership transfers started under load (${transfers})`)
    assert.ok(readsAtOnce > 100, `lease reads were served (${readsAtOnce})`)
  })

  test('the checker catches stale lease reads when clocks drift beyond the assumption', () => {
    // Half the clocks run at a third of the speed: a slow leader's lease outlives its followers'
    // promise by far.
    const lease = { clockRate: (rng: Rng) => (rng.float() < 0.5 ? 1 / 3 : 1), leaseDriftTicks: 1 }
    const caught: number[] = []
    for (let seed = 1; seed <= 600 && caught.length === 0; seed += 3) {
      try {
        runSeed(seed, { nodes: 3, ticks: 3000, faults: defaultFaults, lease })
      } catch (error) {
        assert.match(String(error), /read \d+ at \d+ < \d+/)
        caught.push(seed)
      }
    }
    assert.ok(caught.length > 0, 'a stale lease read was caught')
  })

  test('the checker catches two leaders in one term', () => {
    const network = new TestNetwork({ count: 3, seed: 1, node: {} })
    const checker = new SafetyChecker(network, 1)
    checker.leaderOfTerm.set(1, 2)
    network.node(1).raft.campaign()
    network.onReady = (id, ready) => checker.onReady(id, ready)
    assert.throws(() => network.stabilize(), /election safety/)
  })
})
