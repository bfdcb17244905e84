/* ZUNION ZINTER ZDIFF and their STORE forms (zunionInterDiffGenericCommand of Redis 7.0):
 * sources may be sorted sets or plain sets (members scored 1), WEIGHTS multiply scores (a NaN
 * product counts as 0), AGGREGATE SUM|MIN|MAX combines them. The result is ordered by (score,
 * member) as Redis's result zset is; the STORE forms replace the destination or delete it. */
import { CaskadeError, ErrorCode, syntaxError, wrongTypeError } from '../core/errors.js'
import type { SortedSetEntry } from '../keyspace/structures/sorted-set-index.js'
import { SortedSetIndex } from '../keyspace/structures/sorted-set-index.js'
import { RecordKind } from '../storage/record-codec.js'
import { argIs, parseFloatOrThrow, parseIntegerOrThrow } from './args.js'
import type { CommandContext, CommandSpec } from './types.js'
import { replyEntries, storeOf, storeResult } from './zset-common.js'

type Operation = 'union' | 'inter' | 'diff'
type Aggregate = 'sum' | 'min' | 'max'

/** One input: its members and scores (latin1 member -> score), and its weight. */
interface Source {
  scores: Map<string, number>
  weight: number
}

/** Looks each source up as Redis does (a read lookup, type checked before the next one). */
function readSources(ctx: CommandContext, keys: readonly Buffer[]): Source[] {
  const keyspace = ctx.keyspace
  return keys.map((key) => {
    const scores = new Map<string, number>()
    if (!keyspace.exists(key)) return { scores, weight: 1 }
    const kind = keyspace.engine.kindOf(key)
    if (kind === RecordKind.zset) {
      const index = storeOf(ctx).index(key)
      for (const cursor = index.cursorAt(0); cursor.valid; cursor.next()) {
        scores.set(cursor.memberLatin1, cursor.score)
      }
    } else if (kind === RecordKind.set) {
      for (const member of keyspace.fieldNames(key)) scores.set(member.toString('latin1'), 1)
    } else {
      throw wrongTypeError()
    }
    return { scores, weight: 1 }
  })
}

interface OpOptions {
  aggregate: Aggregate
  withScores: boolean
}

function parseOpOptions(
  args: readonly Buffer[],
  start: number,
  sources: Source[],
  context: { op: Operation; store: boolean },
): OpOptions {
  const options: OpOptions = { aggregate: 'sum', withScores: false }
  let j = start
  while (j < args.length) {
    const remaining = args.length - j
    const algebra = context.op !== 'diff'
    if (algebra && remaining >= sources.length + 1 && argIs(args[j], 'weights')) {
      j++
      for (const source of sources) {
        source.weight = parseFloatOrThrow(args[j++] as Buffer, 'weight value is not a float')
      }
    } else if (algebra && remaining >= 2 && argIs(args[j], 'aggregate')) {
      const name = args[j + 1] as Buffer
      const aggregate = (['sum', 'min', 'max'] as const).find((word) => argIs(name, word))
      if (aggregate === undefined) throw syntaxError()
      options.aggregate = aggregate
      j += 2
    } else if (!context.store && argIs(args[j], 'withscores')) {
      options.withScores = true
      j++
    } else {
      throw syntaxError()
    }
  }
  return options
}

function aggregateScores(target: number, value: number, aggregate: Aggregate): number {
  if (aggregate === 'min') return value < target ? value : target
  if (aggregate === 'max') return value > target ? value : target
  const sum = target + value
  return Number.isNaN(sum) ? 0 : sum
}

const weighted = (score: number, weight: number): number => {
  const product = score * weight
  return Number.isNaN(product) ? 0 : product
}

/** The result as (latin1 member -> score). Inputs go smallest first, as Redis sorts them. */
function compute(sources: Source[], op: Operation, aggregate: Aggregate): Map<string, number> {
  const result = new Map<string, number>()
  if (op === 'diff') {
    const [first, ...others] = sources as [Source, ...Source[]]
    for (const [member, score] of first.scores) {
      if (!others.some((other) => other.scores.has(member))) result.set(member, score)
    }
    return result
  }
  const ordered = [...sources].sort((a, b) => a.scores.size - b.scores.size)
  if (op === 'inter') {
    const [first, ...others] = ordered as [Source, ...Source[]]
    outer: for (const [member, score] of first.scores) {
      let total = weighted(score, first.weight)
      for (const other of others) {
        const value = other.scores.get(member)
        if (value === undefined) continue outer
        total = aggregateScores(total, weighted(value, other.weight), aggregate)
      }
      result.set(member, total)
    }
    return result
  }
  for (const source of ordered) {
    for (const [member, score] of source.scores) {
      const value = weighted(score, source.weight)
      const previous = result.get(member)
      result.set(
        member,
        previous === undefined ? value : aggregateScores(previous, value, aggregate),
      )
    }
  }
  return result
}

/** The result in (score, member) order, as Redis's result zset holds it. */
function ordered(result: Map<string, number>): SortedSetEntry[] {
  const index = new SortedSetIndex()
  index.load(
    [...result].map(([member, score]) => ({ member: Buffer.from(member, 'latin1'), score })),
  )
  const entries: SortedSetEntry[] = []
  for (const cursor = index.cursorAt(0); cursor.valid; cursor.next()) {
    entries.push({ member: cursor.member(), score: cursor.score })
  }
  return entries
}

function zsetOperation(
  ctx: CommandContext,
  args: readonly Buffer[],
  op: Operation,
  store: boolean,
) {
  const numKeysIndex = store ? 2 : 1
  const numKeys = parseIntegerOrThrow(args[numKeysIndex] as Buffer)
  const name = (args[0] as Buffer).toString('latin1').toLowerCase()
  if (numKeys < 1n) {
    throw new CaskadeError(ErrorCode.Err, `at least 1 input key is needed for '${name}' command`)
  }
  if (numKeys > BigInt(args.length - numKeysIndex - 1)) throw syntaxError()
  const first = numKeysIndex + 1
  const keys = args.slice(first, first + Number(numKeys))
  const sources = readSources(ctx, keys)
  const options = parseOpOptions(args, first + keys.length, sources, { op, store })
  const entries = ordered(compute(sources, op, options.aggregate))
  if (store) {
    storeResult(ctx, args[1] as Buffer, entries, `z${op}store`)
  } else {
    replyEntries(ctx.reply, entries, options.withScores)
  }
}

type Handler = CommandSpec['handler']

export const zsetOpHandlers: Record<string, Handler> = {
  zunion: (ctx, args) => zsetOperation(ctx, args, 'union', false),
  zinter: (ctx, args) => zsetOperation(ctx, args, 'inter', false),
  zdiff: (ctx, args) => zsetOperation(ctx, args, 'diff', false),
  zunionstore: (ctx, args) => zsetOperation(ctx, args, 'union', true),
  zinterstore: (ctx, args) => zsetOperation(ctx, args, 'inter', true),
  zdiffstore: (ctx, args) => zsetOperation(ctx, args, 'diff', true),
}
