/* The fault soak (`npm run faults -- --minutes N [--seed S] [--nodes 3|5] [--history DIR]`):
 * back-to-back scenarios of random fault sequences on a fresh real cluster each (kills, pauses,
 * partitions, one-way links, delays, RAFT TRANSFER, a spare joined by RAFT ADD, RAFT REMOVE),
 * with the e2e tests' checks (linearizable history with final reads on every node, equal values,
 * the same members on every node). Invariant: the run stops at the first failure and prints its
 * seed, faults and history/log paths; the same seed replays the same fault choices (timing still
 * varies: processes are real). */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Rng } from '../../src/core/ports.js'
import type { Cluster } from '../helpers/cluster-process.js'
import { healAll, runFaultScenario, type FaultContext } from '../helpers/fault-scenario.js'
import { assertMembershipAgreed } from '../helpers/membership-check.js'

/** One run's membership bookkeeping: its starting size (RAFT REMOVE never goes below it) and
 * the removals whose reply was an error (maybe applied, maybe not: settled after the heal). */
interface RunState {
  readonly voters: number
  readonly unsettled: Set<string>
}

type Fault = (context: FaultContext, holdMs: number, run: RunState) => Promise<void>

/** Spare nodes per run, for the join fault. */
const sparesPerRun = 1

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!

/** `count` member names, the leader among them half the time (when one is agreed on: an earlier
 * fault may have left no quorum). */
async function someNodes(cluster: Cluster, rng: Rng, count: number): Promise<string[]> {
  const leader = await cluster.leader({ timeoutMs: 3000 }).catch(() => null)
  const others = cluster.names().filter((name) => name !== leader)
  const chosen = leader !== null && rng.int(2) === 0 ? [leader] : []
  while (chosen.length < count) {
    const name = pick(rng, others)
    if (!chosen.includes(name)) chosen.push(name)
  }
  return chosen
}

const minority = (cluster: Cluster): number => Math.floor((cluster.names().length - 1) / 2)

/** A command's reply, or its error's message (a fault's outcome may be either). */
const outcomeOf = (reply: Promise<unknown>): Promise<string> =>
  reply.then(String, (error: unknown) => (error instanceof Error ? error.message : String(error)))

const faults: Record<string, Fault> = {
  kill: async ({ cluster, rng, note }, holdMs) => {
    const victims = await someNodes(cluster, rng, 1 + rng.int(minority(cluster)))
    await Promise.all(victims.map((name) => cluster.kill(name)))
    note(`SIGKILL ${victims.join(',')}`)
    await sleep(holdMs)
  },
  killMajority: async ({ cluster, rng, note }, holdMs) => {
    const victims = await someNodes(cluster, rng, minority(cluster) + 1)
    await Promise.all(victims.map((name) => cluster.kill(name)))
    note(`SIGKILL majority ${victims.join(',')}`)
    await sleep(holdMs)
  },
  pause: async ({ cluster, rng, note }, holdMs) => {
    const [victim] = await someNodes(cluster, rng, 1)
    cluster.pause(victim!)
    note(`SIGSTOP ${victim}`)
    await sleep(holdMs)
  },
  partition: async ({ cluster, rng, note }, holdMs) => {
    const side = await someNodes(cluster, rng, 1 + rng.int(minority(cluster)))
    cluster.partition([side, cluster.names().filter((name) => !side.includes(name))])
    note(`partition ${side.join(',')} | rest`)
    await sleep(holdMs)
  },
  oneWay: async ({ cluster, rng, note }, holdMs) => {
    const [from, to] = await someNodes(cluster, rng, 2)
    cluster.oneWay(from!, to!)
    note(`one-way ${from} -> ${to} blocked`)
    await sleep(holdMs)
  },
  delay: async ({ cluster, rng, note }, holdMs) => {
    const delayMs = 20 + rng.int(180)
    cluster.delay(delayMs)
    note(`delay ${delayMs} ms`)
    await sleep(holdMs)
  },
  /** RAFT TRANSFER to any member (the leader itself, a dead or cut-off one too), via any node. */
  transfer: async ({ cluster, rng, note }, holdMs) => {
    const running = cluster.running()
    if (running.length > 0) {
      const via = pick(rng, running).name
      const target = pick(rng, cluster.names())
      const outcome = await outcomeOf(cluster.command(via, ['RAFT', 'TRANSFER', target]))
      note(`RAFT TRANSFER ${target} via ${via}: ${outcome}`)
    }
    await sleep(holdMs)
  },
  /** RAFT ADD of the spare via any node, then its start with --join (which adds it itself if
   * the RAFT ADD failed), whatever the faults in force; half the time a RAFT REMOVE right after
   * (a member replaced, the removal racing the join). */
  join: async (context, holdMs, run) => {
    const { cluster, rng, note } = context
    const spare = cluster.nodes.find((node) => !node.started)
    const running = cluster.running()
    if (spare !== undefined && running.length > 0) {
      const via = pick(rng, running).name
      const add = ['RAFT', 'ADD', spare.name, cluster.addressSpec(spare.name)]
      const outcome = await outcomeOf(cluster.command(via, add))
      await cluster.join(spare.name)
      note(`RAFT ADD ${spare.name} via ${via}: ${outcome}; started it with --join`)
      if (rng.int(2) === 0) await removeFollower(context, run)
    }
    await sleep(holdMs)
  },
  remove: async (context, holdMs, run) => {
    await removeFollower(context, run)
    await sleep(holdMs)
  },
}

/** RAFT REMOVE of a follower, once a join made the cluster bigger than it started. */
async function removeFollower({ cluster, rng, note }: FaultContext, run: RunState): Promise<void> {
  const leader = await cluster.leader({ timeoutMs: 3000 }).catch(() => null)
  const others = cluster.names().filter((name) => name !== leader && !run.unsettled.has(name))
  if (leader === null || others.length + 1 <= run.voters) return
  const victim = pick(rng, others)
  try {
    await cluster.remove(victim)
    note(`RAFT REMOVE ${victim}`)
  } catch (error) {
    run.unsettled.add(victim)
    note(`RAFT REMOVE ${victim}: ${(error as Error).message} (settled after the heal)`)
  }
}

/** After the heal: a removal of unknown outcome either took effect (the node is stopped) or is
 * sent again until it does. */
async function settleRemovals(context: FaultContext, run: RunState): Promise<void> {
  const { cluster, note } = context
  if (run.unsettled.size === 0) return
  await healAll(cluster)
  for (const name of run.unsettled) {
    const deadline = performance.now() + 20_000
    for (;;) {
      const rows = await cluster.raftNodes(await cluster.leader())
      if (!rows.some((row) => row.name === name)) {
        cluster.node(name).removed = true
        await cluster.kill(name, 'SIGTERM')
        note(`${name} was removed`)
        break
      }
      const outcome = await outcomeOf(cluster.remove(name))
      note(`RAFT REMOVE ${name} again: ${outcome}`)
      if (cluster.node(name).removed) break
      if (performance.now() > deadline) throw new Error(`${name} could not be removed`)
      await sleep(200)
    }
  }
  run.unsettled.clear()
}

async function randomFaults(context: FaultContext): Promise<void> {
  const { rng, cluster, note } = context
  const run: RunState = { voters: cluster.names().length, unsettled: new Set() }
  const count = 2 + rng.int(4)
  for (let index = 0; index < count; index++) {
    const name = pick(rng, Object.keys(faults))
    await faults[name]!(context, 300 + rng.int(2500), run)
    if (rng.int(2) === 0) {
      await healAll(cluster)
      note('healed')
      await sleep(rng.int(1000))
    }
  }
  await settleRemovals(context, run)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '5' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      /** Keep every run's history in this directory (failures are always kept). */
      history: { type: 'string' },
    },
  })
  if (values.history !== undefined) process.env.CASKADE_HISTORY_DIR = values.history
  const deadlineMs = performance.now() + Number(values.minutes) * 60_000
  const baseSeed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31))
  console.log(`fault soak: seed=${baseSeed} for ${values.minutes} min`)
  for (let run = 0; performance.now() < deadlineMs; run++) {
    const seed = baseSeed + run
    const nodes = Number(values.nodes ?? (run % 3 === 2 ? 5 : 3))
    try {
      const report = await runFaultScenario({
        name: `soak-${seed}`,
        nodes,
        spares: sparesPerRun,
        seed,
        fault: randomFaults,
        verify: (cluster) => assertMembershipAgreed(cluster),
      })
      console.log(
        `run ${run} seed=${seed} nodes=${nodes}: ${report.operations} ops, ${report.unknown} ` +
          `unknown, applied ${report.appliedIndex}; ${report.faults.join('; ')}`,
      )
    } catch (error) {
      console.log(
        `fault soak FAILED at run ${run}: seed=${seed} nodes=${nodes} ` +
          `(rerun: npm run faults -- --seed ${seed} --nodes ${nodes} --minutes 1)`,
      )
      console.log(error instanceof Error ? error.message : error)
      process.exitCode = 1
      return
    }
  }
  console.log('fault soak: every run linearizable')
}

await main()
