/* checkHistory: validates a history, partitions it by key (linearizability is local, so each
 * key is checked alone) and runs the search per key under one shared time limit. Invariant: the
 * verdict is not-linearizable only on a proof (a key with no linearization), unknown when the
 * time or memory bound stopped the search before every key was decided, linearizable otherwise. */
import { validateHistory } from './parse.js'
import { searchKey, type Deadline } from './search.js'
import type { CheckOptions, CheckResult, History, IndexedOperation, KeyResult } from './types.js'

/** The default bound of one key's memo: about 600 MB of heap at worst (measured ~310 bytes per
 * entry with its value strings on 16 concurrent appends). */
export const checkMemoEntriesMax = 2_000_000

/** Operations per key, sorted by call time (ties by file position). Unknown reads are dropped:
 * a read whose reply never came constrains nothing. */
export function partitionByKey(history: History): Map<string, IndexedOperation[]> {
  const byKey = new Map<string, IndexedOperation[]>()
  history.operations.forEach((operation, index) => {
    if (operation.op === 'get' && operation.unknown === true) return
    const list = byKey.get(operation.key)
    if (list === undefined) byKey.set(operation.key, [{ index, operation }])
    else list.push({ index, operation })
  })
  for (const list of byKey.values()) {
    list.sort((a, b) => a.operation.call - b.operation.call || a.index - b.index)
  }
  return byKey
}

function checkKey(key: string, ops: IndexedOperation[], deadline: Deadline): KeyResult {
  const operations = ops.length
  if (deadline.now() >= deadline.atMs) {
    return { key, verdict: 'unknown', operations, reason: 'time limit' }
  }
  const outcome = searchKey(ops, deadline)
  if (outcome.verdict === 'linearizable') return { key, verdict: 'linearizable', operations }
  if (outcome.verdict === 'unknown') {
    return { key, verdict: 'unknown', operations, reason: outcome.reason }
  }
  return {
    key,
    verdict: 'not-linearizable',
    operations,
    longestPrefix: outcome.longestPrefix,
    stateAfterPrefix: outcome.stateAfterPrefix,
    unplaced: outcome.unplaced,
  }
}

/** Checks every key (in key order) within `options.timeLimitMs` of `options.now()`. Throws
 * InvalidHistoryError if `history` breaks the format. */
export function checkHistory(history: History, options: CheckOptions): CheckResult {
  validateHistory(history)
  const deadline: Deadline = {
    now: options.now,
    atMs: options.now() + options.timeLimitMs,
    memoEntriesMax: options.memoEntriesMax ?? checkMemoEntriesMax,
  }
  const byKey = partitionByKey(history)
  const keys = [...byKey.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const results = keys.map((key) => checkKey(key, byKey.get(key)!, deadline))
  const failing = results.find((result) => result.verdict === 'not-linearizable')
  if (failing !== undefined && failing.verdict === 'not-linearizable') {
    const { key, longestPrefix, stateAfterPrefix, unplaced } = failing
    return {
      verdict: 'not-linearizable',
      keys: results,
      violation: { key, longestPrefix, stateAfterPrefix, unplaced },
    }
  }
  const anyUnknown = results.some((result) => result.verdict === 'unknown')
  return { verdict: anyUnknown ? 'unknown' : 'linearizable', keys: results, violation: null }
}
