/* The scaffolding the cluster fault test files share: the run's seed (printed, SEED=n repeats
 * it), one cluster per describe, and a scenario runner that logs its report and asserts the
 * clients made progress after the heal. Invariant: a describe's cluster is stopped after its
 * tests whatever they did (its dir and logs kept when a scenario failed). */
import { after, before } from 'node:test'
import assert from 'node:assert/strict'
import { startCluster, type Cluster } from './cluster-process.js'
import { runScenarioOn, type FaultContext, type ScenarioReport } from './fault-scenario.js'

/** Longer than the election timeout (500 ms .. 1 s) with room for the election itself. */
export const pastElectionMs = 2000

/** The run's seed: SEED, else a random one; printed with how to repeat it. */
export function faultSeed(label: string): number {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
  console.log(`${label}: seed=${seed} (rerun with SEED=${seed})`)
  return seed
}

/** The scenarios of one describe share a cluster (a process start costs seconds); each scenario
 * starts from a healed, whole cluster and uses its own keys. */
export function sharedCluster(nodes: number, spares = 0): () => Cluster {
  let cluster: Cluster | null = null
  before(async () => {
    cluster = await startCluster({ nodes, spares })
  })
  after(async () => {
    await cluster?.stop()
  })
  return () => cluster!
}

export interface LoggedScenario {
  cluster: Cluster
  name: string
  seed: number
  fault: (context: FaultContext) => Promise<void>
  commandTimeoutMs?: number
}

/** Runs one scenario (see runScenarioOn), prints its report and asserts progress after the heal. */
export async function runLoggedScenario(options: LoggedScenario): Promise<ScenarioReport> {
  const { cluster, name, seed, fault } = options
  const timeout =
    options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }
  const report = await runScenarioOn(cluster, { name, seed, fault, ...timeout })
  console.log(
    `${name}: ${report.operations} ops (${report.unknown} unknown, ${report.fail} failed, ` +
      `${report.okAfterHeal} ok after heal), applied ${report.appliedIndex}, ` +
      `errors ${JSON.stringify(report.errors)}; ${report.faults.join('; ')}`,
  )
  assert.ok(report.okAfterHeal > 0, `${name}: the clients made progress after the heal`)
  return report
}

export type ScenarioFault = (context: FaultContext) => Promise<void>

/** One test file's scenario runners, its seed (see faultSeed, printed once) bound in: `report`
 * resolves with the report, `run` with nothing (what node:test wants from a test function). */
export interface SeededScenarios {
  readonly report: (
    cluster: Cluster,
    name: string,
    fault: ScenarioFault,
    options?: { commandTimeoutMs?: number },
  ) => Promise<ScenarioReport>
  readonly run: (cluster: Cluster, name: string, fault: ScenarioFault) => Promise<void>
}

export function seededScenarios(label: string): SeededScenarios {
  const seed = faultSeed(label)
  const report: SeededScenarios['report'] = (cluster, name, fault, options = {}) =>
    runLoggedScenario({ cluster, name, seed, fault, ...options })
  return { report, run: async (cluster, name, fault) => void (await report(cluster, name, fault)) }
}

/** A member other than `leader`, chosen by the scenario's rng. */
export function followerOf(context: FaultContext, leader: string): string {
  const others = context.cluster.names().filter((name) => name !== leader)
  return others[context.rng.int(others.length)]!
}
