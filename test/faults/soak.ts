/* The fault soak (`npm run faults -- --minutes N [--seed S] [--nodes 3|5] [--history DIR]`):
 * back-to-back scenarios of random fault sequences on a fresh real cluster each, with the e2e
 * tests' checks (linearizable history with final reads on every node, equal values). Invariant:
 * the run stops at the first failure and prints its seed, faults and history/log paths; the same
 * seed replays the same fault choices (timing still varies: processes are real). */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Rng } from '../../src/core/ports.js'
import type { Cluster } from '../helpers/cluster-process.js'
import { healAll, runFaultScenario, type FaultContext } from '../helpers/fault-scenario.js'

type Fault = (context: FaultContext, holdMs: number) => Promise<void>

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

const minority = (cluster: Cluster): number => Math.floor((cluster.nodes.length - 1) / 2)

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
}

async function randomFaults(context: FaultContext): Promise<void> {
  const { rng, cluster, note } = context
  const count = 2 + rng.int(4)
  for (let index = 0; index < count; index++) {
    const name = pick(rng, Object.keys(faults))
    await faults[name]!(context, 300 + rng.int(2500))
    if (rng.int(2) === 0) {
      await healAll(cluster)
      note('healed')
      await sleep(rng.int(1000))
    }
  }
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
        seed,
        fault: randomFaults,
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
