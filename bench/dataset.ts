/* The dataset phase: fresh servers, RSS idle, load key:0000000.. with fixed-size values, check
 * DBSIZE, RSS and INFO used_memory, then restart each side in alternation and time spawn to first
 * +PONG. Invariant: a restart counts only if DBSIZE afterwards equals the keys loaded. */
import { loadSequentialKeys } from './loader.js'
import type { Progress } from './progress.js'
import { residentBytes, type RunningServer } from './procs.js'
import type { DatasetResult } from './report.js'
import { dbSize, infoFields } from './resp.js'
import { launch, relaunch, shutdown, stop, type ServerKind } from './servers.js'

export interface DatasetOptions {
  keys: number
  valueBytes: number
  restarts: number
}

interface Side {
  kind: ServerKind
  server: RunningServer | null
  result: DatasetResult
}

function newResult(kind: ServerKind, keys: number): DatasetResult {
  return {
    server: kind.label,
    fsyncPolicy: kind.fsyncDescription,
    keysLoaded: keys,
    loadMs: null,
    dbSizeAfterLoad: null,
    rssIdleBytes: null,
    rssLoadedBytes: null,
    usedMemoryBytes: null,
    restartMs: [],
    dbSizeAfterRestart: null,
    error: null,
  }
}

function describeError(side: Side, phase: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return `${side.result.server}, ${phase}: ${message}`
}

async function loadSide(side: Side, options: DatasetOptions, progress: Progress): Promise<void> {
  const server = side.server
  if (server === null) return
  const { result } = side
  progress.begin(`${result.server}: loading ${options.keys} keys`)
  result.rssIdleBytes = residentBytes(server.pid)
  const startedAtMs = performance.now()
  await loadSequentialKeys({
    port: server.spec.port,
    keyCount: options.keys,
    valueBytes: options.valueBytes,
  })
  result.loadMs = performance.now() - startedAtMs
  result.dbSizeAfterLoad = await dbSize(server.spec.port)
  result.rssLoadedBytes = residentBytes(server.pid)
  const usedMemory = (await infoFields(server.spec.port, 'memory')).get('used_memory')
  result.usedMemoryBytes = usedMemory === undefined ? null : Number(usedMemory)
  if (result.dbSizeAfterLoad !== options.keys) {
    throw new Error(`DBSIZE is ${result.dbSizeAfterLoad} after loading ${options.keys} keys`)
  }
  progress.advance()
}

async function restartSide(side: Side, options: DatasetOptions): Promise<void> {
  const server = side.server
  if (server === null) return
  await stop(server)
  side.server = null
  const restarted = await relaunch(server)
  side.server = restarted
  const keys = await dbSize(restarted.spec.port)
  side.result.dbSizeAfterRestart = keys
  if (keys !== options.keys) throw new Error(`DBSIZE is ${keys} after restart, not ${options.keys}`)
  side.result.restartMs.push(restarted.startupMs)
}

/** Loads, measures and restarts each side; failures end up in each result's `error`. */
export async function runDataset(
  options: DatasetOptions,
  kinds: { caskade: ServerKind; redis: ServerKind | null },
  context: { runDir: string; progress: Progress },
): Promise<DatasetResult[]> {
  const { runDir, progress } = context
  const sides: Side[] = (kinds.redis === null ? [kinds.caskade] : [kinds.caskade, kinds.redis]).map(
    (kind) => ({ kind, server: null, result: newResult(kind, options.keys) }),
  )
  try {
    for (const side of sides) {
      progress.begin(`${side.kind.label}: starting a fresh server for the dataset`)
      try {
        side.server = await launch(side.kind, runDir)
        await loadSide(side, options, progress)
      } catch (error) {
        side.result.error = describeError(side, 'load', error)
      }
    }
    for (let round = 1; round <= options.restarts; round += 1) {
      for (const side of sides) {
        if (side.server === null || side.result.error !== null) continue
        progress.begin(`${side.kind.label}: restart ${round}/${options.restarts}`)
        try {
          await restartSide(side, options)
        } catch (error) {
          side.result.error = describeError(side, `restart ${round}`, error)
        }
        progress.advance()
      }
    }
  } finally {
    for (const side of sides) if (side.server !== null) await shutdown(side.server)
  }
  return sides.map((side) => side.result)
}
