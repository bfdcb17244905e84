/* `caskade check-history FILE [--time-limit <seconds>]`: checks a recorded history (the format
 * of docs/history-format.md) for linearizability. Exit status is the verdict: 0 linearizable,
 * 1 not linearizable (the key and the operations that cannot be placed are printed), 2 unknown
 * (the time limit ran out), 3 the file is not a valid history (the reason is printed). */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import {
  checkHistory,
  describeViolation,
  InvalidHistoryError,
  parseHistory,
  type CheckResult,
  type History,
} from '../check/index.js'

export const checkHistoryExit = {
  linearizable: 0,
  notLinearizable: 1,
  unknown: 2,
  invalid: 3,
} as const

export const defaultTimeLimitSeconds = 60

/** Parses `--time-limit`: a positive number of seconds; null if it is not one. */
export function parseTimeLimitSeconds(text: string): number | null {
  const seconds = Number(text)
  return text.trim() !== '' && Number.isFinite(seconds) && seconds > 0 ? seconds : null
}

function readHistory(file: string): History | string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    return `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`
  }
  try {
    return parseHistory(text)
  } catch (error) {
    if (error instanceof InvalidHistoryError)
      return `${file} is not a valid history: ${error.message}`
    throw error
  }
}

function summary(result: CheckResult, elapsedMs: number): string {
  const operations = result.keys.reduce((sum, key) => sum + key.operations, 0)
  const plural = (count: number, noun: string): string =>
    `${count} ${noun}${count === 1 ? '' : 's'}`
  return `${plural(operations, 'operation')} on ${plural(result.keys.length, 'key')}, ${elapsedMs.toFixed(0)} ms`
}

function report(result: CheckResult, timeLimitSeconds: number, elapsedMs: number): number {
  const out = (text: string): boolean => process.stdout.write(`${text}\n`)
  if (result.verdict === 'linearizable') {
    out(`linearizable (${summary(result, elapsedMs)})`)
    return checkHistoryExit.linearizable
  }
  if (result.verdict === 'unknown') {
    const open = result.keys.flatMap((key) => (key.verdict === 'unknown' ? [key] : []))
    const memory = open.some((key) => key.reason === 'memory limit')
    const why = memory
      ? 'the search reached its memory bound'
      : `the time limit of ${timeLimitSeconds} s ran out`
    out(`unknown: ${why} (${summary(result, elapsedMs)})`)
    const names = open.map((key) => `${JSON.stringify(key.key)} (${key.reason})`)
    out(`undecided keys (${open.length}): ${names.join(', ')}`)
    return checkHistoryExit.unknown
  }
  const failing = result.keys.filter((key) => key.verdict === 'not-linearizable')
  out(`not linearizable (${summary(result, elapsedMs)})`)
  out(
    `failing keys (${failing.length}): ${failing.map((key) => JSON.stringify(key.key)).join(', ')}`,
  )
  if (result.violation !== null) out(describeViolation(result.violation))
  return checkHistoryExit.notLinearizable
}

/** Checks FILE and prints the verdict; returns the process exit code. */
export function runCheckHistory(file: string, options: { timeLimitSeconds: number }): number {
  const history = readHistory(file)
  if (typeof history === 'string') {
    process.stderr.write(`caskade: ${history}\n`)
    return checkHistoryExit.invalid
  }
  const startMs = performance.now()
  const result = checkHistory(history, {
    timeLimitMs: options.timeLimitSeconds * 1000,
    now: () => performance.now(),
  })
  return report(result, options.timeLimitSeconds, performance.now() - startMs)
}
