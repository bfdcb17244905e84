/* Checking a recorded history: final reads of every key on every node (appended to the history,
 * so the checker proves no acknowledged write was lost), the linearizability verdict, and the
 * history file (CASKADE_HISTORY_DIR=dir keeps every scenario's; a failing one is always written
 * and its path printed). Invariant: a scenario passes only on a 'linearizable' verdict. */
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { checkHistory, describeViolation, type History } from '../../src/check/index.js'
import { connectClient, nowUs, type HistoryLog } from './history-clients.js'

/** Seconds the checker may spend on one history before answering unknown. */
const checkTimeLimitMs = 60_000

export function writeHistoryFile(history: History, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true })
  const lines = history.operations.map((operation) => `    ${JSON.stringify(operation)}`)
  writeFileSync(file, `{\n  "operations": [\n${lines.join(',\n')}\n  ]\n}\n`)
}

/** Where this scenario's history goes: CASKADE_HISTORY_DIR, else (failures only) the temp dir. */
function historyFileFor(name: string, always: boolean): string | null {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '-')
  const dir = process.env.CASKADE_HISTORY_DIR
  if (dir !== undefined && dir !== '') return path.join(dir, `${safe}.json`)
  return always ? path.join(os.tmpdir(), `caskade-history-${safe}-${process.pid}.json`) : null
}

export interface LinearizableReport {
  operations: number
  unknown: number
  file: string | null
}

/** Asserts that `history` is linearizable; the message of a failure has the violation, the
 * file's path and `context` (the seed, the faults). */
export function assertLinearizable(
  history: History,
  name: string,
  context = '',
): LinearizableReport {
  const result = checkHistory(history, {
    timeLimitMs: checkTimeLimitMs,
    now: () => performance.now(),
  })
  const passed = result.verdict === 'linearizable'
  const file = historyFileFor(name, !passed)
  if (file !== null) writeHistoryFile(history, file)
  const unknown = history.operations.filter((operation) => operation.unknown === true).length
  if (!passed) {
    const why =
      result.violation !== null
        ? describeViolation(result.violation)
        : result.keys.map((key) => `${key.key}: ${key.verdict}`).join(', ')
    console.log(`history ${name} is ${result.verdict}: ${file} ${context}`)
    assert.fail(`${name}: history is ${result.verdict} (${context}; history ${file})\n${why}`)
  }
  return { operations: history.operations.length, unknown, file }
}

export interface ReadEverywhereOptions {
  ports: readonly number[]
  keys: readonly string[]
  log: HistoryLog
  /** Send READONLY first (cluster mode: a local, possibly stale read). */
  readonly: boolean
}

/** GETs every key on every node, recording each read as a completed get of a fresh client;
 * returns the values per node (ports order). Call only when every client has stopped. */
export async function readEverywhere(options: ReadEverywhereOptions): Promise<(string | null)[][]> {
  const perNode: (string | null)[][] = []
  for (const port of options.ports) {
    const redis = await connectClient(port, 5000)
    try {
      if (options.readonly) await redis.call('READONLY')
      const client = options.log.newClientId()
      const values: (string | null)[] = []
      for (const key of options.keys) {
        const call = nowUs()
        const out = await redis.get(key)
        options.log.record({ client, op: 'get', key, call, return: nowUs(), out })
        values.push(out)
      }
      perNode.push(values)
    } finally {
      redis.disconnect()
    }
  }
  return perNode
}
