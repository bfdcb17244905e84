/* One fault scenario end to end, shared by the e2e tests and the soak: start a cluster, run the
 * history clients, inject the scenario's faults, heal (resume paused, restart killed nodes), then
 * prove (1) the history with final local reads on every node is linearizable and (2) every node
 * holds the same values once all applied the same index. Invariant: the cluster is stopped
 * whatever happens; on failure its logs stay on disk and the seed and paths are printed. */
import assert from 'node:assert/strict'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRng } from '../../src/core/rng.js'
import type { Rng } from '../../src/core/ports.js'
import { startCluster, type Cluster } from './cluster-process.js'
import {
  HistoryLog,
  connectClient,
  nowUs,
  startHistoryClients,
  type HistoryClients,
} from './history-clients.js'
import { assertLinearizable, readEverywhere, writeHistoryFile } from './history-check.js'

export interface FaultContext {
  readonly cluster: Cluster
  readonly rng: Rng
  /** A line for the scenario's fault log (printed on failure). */
  readonly note: (message: string) => void
}

export interface ScenarioOptions {
  name: string
  nodes: number
  /** Spare nodes the fault may join (cluster.join). */
  spares?: number
  seed: number
  /** Injects the faults (and may heal them); the clients run all along. */
  fault: (context: FaultContext) => Promise<void>
  clients?: number
  keys?: number
  /** The clients' per-command deadline (default 1000 ms). */
  commandTimeoutMs?: number
  /** Client traffic before the first fault and after the heal. */
  warmupMs?: number
  afterHealMs?: number
  /** More checks on the healed, converged cluster (runFaultScenario only). */
  verify?: (cluster: Cluster) => Promise<void>
}

export interface ScenarioReport {
  operations: number
  unknown: number
  ok: number
  fail: number
  info: number
  okAfterHeal: number
  errors: Record<string, number>
  appliedIndex: number
  faults: string[]
}

/** Whether the cluster runs WATCH + MULTI/EXEC (a compare-and-set); a node that refuses it
 * leaves cas out of the mix. */
export async function supportsCas(port: number): Promise<boolean> {
  const redis = await connectClient(port, 5000)
  try {
    await redis.watch('cas-probe')
    const result = await redis.multi().set('cas-probe', '1').exec()
    return Array.isArray(result) && result.every(([error]) => error === null)
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

/** Resumes every paused node, restarts every killed one, removes every partition. */
export async function healAll(cluster: Cluster): Promise<void> {
  cluster.heal()
  for (const node of cluster.nodes) if (node.paused) cluster.resume(node.name)
  await Promise.all(
    cluster
      .members()
      .filter((node) => node.child === null)
      .map((node) => cluster.restart(node.name)),
  )
}

/** Runs one scenario on a running cluster (healed and whole first); keys are prefixed by the
 * scenario's name, so scenarios can share a cluster. On failure the history and node logs are
 * written to the cluster's dir (see Cluster.stop keepDir) and their path printed. */
export async function runScenarioOn(
  cluster: Cluster,
  options: Omit<ScenarioOptions, 'nodes' | 'spares'>,
): Promise<ScenarioReport> {
  const startMs = performance.now()
  const rng = createRng(options.seed)
  const faults: string[] = []
  const context: FaultContext = {
    cluster,
    rng,
    note: (message) =>
      faults.push(`${((performance.now() - startMs) / 1000).toFixed(2)}s ${message}`),
  }
  const log = new HistoryLog()
  const keys = Array.from({ length: options.keys ?? 4 }, (_, index) => `${options.name}:k${index}`)
  let clients: HistoryClients | null = null
  try {
    await healAll(cluster)
    await cluster.waitMembers(cluster.members().length)
    const cas = await supportsCas(cluster.running()[0]!.port)
    clients = startHistoryClients({
      ports: () => cluster.clientPorts(),
      clients: options.clients ?? 6,
      keys,
      rng,
      log,
      cas,
      ...(options.commandTimeoutMs === undefined
        ? {}
        : { commandTimeoutMs: options.commandTimeoutMs }),
    })
    await sleep(options.warmupMs ?? 1000)
    try {
      await options.fault(context)
      await healAll(cluster)
    } finally {
      context.note('healed')
    }
    const healedUs = nowUs()
    await sleep(options.afterHealMs ?? 1500)
    await clients.stop()
    const counts = clients.counts
    const okAfterHeal = log.operations.filter(
      (op) => op.call >= healedUs && op.unknown !== true,
    ).length
    await cluster.leader()
    const appliedIndex = await cluster.waitConverged()
    const values = await readEverywhere({ ports: cluster.clientPorts(), keys, log, readonly: true })
    const label = `${options.name} seed=${options.seed} faults: ${faults.join('; ')}`
    for (const [index, nodeValues] of values.entries()) {
      assert.deepEqual(nodeValues, values[0], `${label}: node ${index} differs from node 0`)
    }
    const report = assertLinearizable(log.history(), options.name, label)
    return { ...report, ...counts, okAfterHeal, appliedIndex, faults }
  } catch (error) {
    await clients?.stop()
    console.log(`${options.name} FAILED: seed=${options.seed} faults: ${faults.join('; ')}`)
    const file = path.join(cluster.dumpLogs(), `${options.name}-history.json`)
    writeHistoryFile(log.history(), file)
    console.log(`${options.name}: history ${file}; node logs beside it`)
    cluster.failed = true
    throw error
  }
}

/** Runs one scenario on a fresh cluster, stopped afterwards (its dir kept on failure). */
export async function runFaultScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const cluster = await startCluster({ nodes: options.nodes, spares: options.spares ?? 0 })
  try {
    const report = await runScenarioOn(cluster, options)
    await options.verify?.(cluster).catch((error: unknown) => {
      cluster.failed = true
      console.log(
        `${options.name} FAILED its checks: seed=${options.seed}; logs ${cluster.rootDir}`,
      )
      throw error
    })
    return report
  } finally {
    await cluster.stop()
  }
}
