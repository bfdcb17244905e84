/* The bench phases: one redis-benchmark workload each (a built-in `-t` test or a custom command),
 * the pipelines it runs at, the commands a server needs for it and how its data is prepared.
 * Invariant: a phase runs on a server only if COMMAND INFO knows all its commands there. */
import { RespConnection, commandOnce, type Reply } from './resp.js'

export interface Phase {
  /** The `--only` name. */
  name: string
  /** redis-benchmark's built-in test (`-t name`), or null for `customCommand`. */
  benchmarkTest: string | null
  /** A command line redis-benchmark sends as is, when `benchmarkTest` is null. */
  customCommand: readonly string[]
  /** The row redis-benchmark's CSV prints for it; also the report's command column. */
  rowLabel: string
  pipelines: readonly number[]
  /** The phase's -n is the run's request count divided by this (MSET writes 10 keys each). */
  requestsDivisor: number
  /** Commands the phase and its preparation send, checked with COMMAND INFO before it runs. */
  commands: readonly string[]
  /** Puts the data the workload reads in place before each run; null when none is needed. */
  prepare: ((port: number, requests: number) => Promise<void>) | null
}

/** redis-benchmark's LPOP pops `mylist`; its element is 3 bytes, as its LPUSH writes. */
const benchmarkListKey = 'mylist'
const listElement = 'xxx'
export const sortedSetKey = 'bench:zset'
export const sortedSetMembers = 10_000
const zrangeStart = 5_000
const zrangeCount = 100
const batchArgs = 1_000

function expectInteger(reply: Reply, what: string): number {
  if (reply.kind !== 'integer') throw new Error(`${what} answered ${JSON.stringify(reply)}`)
  return reply.value
}

/** Sends the batches pipelined on one connection, then checks the key's size with `sizeCommand`. */
async function fill(
  port: number,
  batches: readonly string[][],
  check: { sizeCommand: string[]; expected: number },
): Promise<void> {
  const connection = await RespConnection.connect(port)
  try {
    const replies = await Promise.all(batches.map((batch) => connection.command(batch)))
    for (const reply of replies) expectInteger(reply, batches[0]?.[0] ?? 'fill')
    const size = expectInteger(await connection.command(check.sizeCommand), 'size')
    if (size !== check.expected) {
      throw new Error(`${check.sizeCommand.join(' ')} is ${size}, expected ${check.expected}`)
    }
  } finally {
    connection.close()
  }
}

/** LPOP pops `requests` times: the list holds that many elements when the run starts. */
async function prepareList(port: number, requests: number): Promise<void> {
  await commandOnce(port, ['DEL', benchmarkListKey])
  const batches: string[][] = []
  for (let done = 0; done < requests; done += batchArgs) {
    const count = Math.min(batchArgs, requests - done)
    batches.push(['RPUSH', benchmarkListKey, ...Array<string>(count).fill(listElement)])
  }
  await fill(port, batches, { sizeCommand: ['LLEN', benchmarkListKey], expected: requests })
}

export function sortedSetMember(index: number): string {
  return `member:${String(index).padStart(5, '0')}`
}

/** ZRANGE reads `sortedSetKey`: members 0..9999 with their index as score. */
async function prepareSortedSet(port: number): Promise<void> {
  await commandOnce(port, ['DEL', sortedSetKey])
  const batches: string[][] = []
  for (let start = 0; start < sortedSetMembers; start += batchArgs / 2) {
    const batch = ['ZADD', sortedSetKey]
    const end = Math.min(sortedSetMembers, start + batchArgs / 2)
    for (let index = start; index < end; index += 1)
      batch.push(String(index), sortedSetMember(index))
    batches.push(batch)
  }
  await fill(port, batches, { sizeCommand: ['ZCARD', sortedSetKey], expected: sortedSetMembers })
}

function builtIn(name: string, rowLabel: string, pipelines: readonly number[]): Phase {
  return {
    name,
    benchmarkTest: name,
    customCommand: [],
    rowLabel,
    pipelines,
    requestsDivisor: name === 'mset' ? 5 : 1,
    commands: [name.toUpperCase()],
    prepare: null,
  }
}

const zrangeCommand = [
  'ZRANGE',
  sortedSetKey,
  String(zrangeStart),
  String(zrangeStart + zrangeCount - 1),
  'WITHSCORES',
]

/** Strings at -P 1 and 16; collections at -P 1, where the issue sets its target (>= 0.5x). */
export const phases: readonly Phase[] = [
  builtIn('set', 'SET', [1, 16]),
  builtIn('get', 'GET', [1, 16]),
  builtIn('incr', 'INCR', [1, 16]),
  builtIn('mset', 'MSET (10 keys)', [1, 16]),
  builtIn('hset', 'HSET', [1]),
  builtIn('sadd', 'SADD', [1]),
  builtIn('lpush', 'LPUSH', [1]),
  { ...builtIn('lpop', 'LPOP', [1]), commands: ['LPOP', 'RPUSH', 'LLEN'], prepare: prepareList },
  builtIn('zadd', 'ZADD', [1]),
  {
    name: 'zrange',
    benchmarkTest: null,
    customCommand: zrangeCommand,
    rowLabel: zrangeCommand.join(' '),
    pipelines: [1],
    requestsDivisor: 1,
    commands: ['ZRANGE', 'ZADD', 'ZCARD'],
    prepare: async (port) => prepareSortedSet(port),
  },
]

export const phaseNames: readonly string[] = phases.map((phase) => phase.name)

export function phaseNamed(name: string): Phase | undefined {
  return phases.find((phase) => phase.name === name)
}

/** The commands of `names` that the server on `port` does not know, by COMMAND INFO, which
 * answers nil for an unknown name. A server without COMMAND INFO lacks them all. */
export async function missingCommands(port: number, names: readonly string[]): Promise<string[]> {
  const reply = await commandOnce(port, ['COMMAND', 'INFO', ...names])
  if (reply.kind !== 'array' || reply.items === null || reply.items.length !== names.length) {
    return [...names]
  }
  const entries = reply.items
  return names.filter((_name, index) => {
    const entry = entries[index]
    return entry?.kind !== 'array' || entry.items === null
  })
}
