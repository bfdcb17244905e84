/* Shared pieces of the sorted-set commands: the type-checked lookup, Redis's score and lex range
 * parsing (zslParseRange, zslParseLexRange) with their exact error texts, and the reply shape of
 * a member list with scores (flat in RESP2, [member, score] pairs in RESP3, scores as doubles). */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { LexRange, ScoreRange } from '../keyspace/structures/sorted-set-index.js'
import { parseLexBound } from '../keyspace/structures/sorted-set-index.js'
import type { SortedSetEntry } from '../keyspace/structures/sorted-set-index.js'
import { zsetStoreOf, type ZsetStore } from '../keyspace/zset-store.js'
import type { ReplyWriter } from '../protocol/types.js'
import { parseFloatArg } from './args.js'
import type { CommandContext } from './types.js'

export const zsetSize = (ctx: CommandContext, key: Buffer, lookup: 'read' | 'write'): number =>
  ctx.keyspace.collectionSize(key, 'zset', lookup)

export const storeOf = (ctx: CommandContext): ZsetStore => zsetStoreOf(ctx.keyspace)

const notFloatRange = (): CaskadeError =>
  new CaskadeError(ErrorCode.Err, 'min or max is not a float')

/** strtod as zslParseRange uses it: an empty text is 0 (nothing left unparsed), NaN fails. */
function parseRangeEnd(arg: Buffer): { value: number; exclusive: boolean } {
  const exclusive = arg.length > 0 && arg[0] === 0x28
  const text = exclusive ? arg.subarray(1) : arg
  const value = text.length === 0 ? 0 : parseFloatArg(text)
  if (value === null) throw notFloatRange()
  return { value, exclusive }
}

export function parseScoreRange(minArg: Buffer, maxArg: Buffer): ScoreRange {
  const min = parseRangeEnd(minArg)
  const max = parseRangeEnd(maxArg)
  return {
    min: min.value,
    minExclusive: min.exclusive,
    max: max.value,
    maxExclusive: max.exclusive,
  }
}

export function parseLexRange(minArg: Buffer, maxArg: Buffer): LexRange {
  const min = parseLexBound(minArg)
  const max = parseLexBound(maxArg)
  if (min === null || max === null) {
    throw new CaskadeError(ErrorCode.Err, 'min or max not valid string range item')
  }
  return { min, max }
}

/** Redis's zrange result emission: [member, score] pairs in RESP3, a flat list in RESP2. */
export function replyEntries(
  reply: ReplyWriter,
  entries: readonly SortedSetEntry[],
  withScores: boolean,
): void {
  const pairs = withScores && reply.protocol === 3
  reply.arrayHeader(withScores && !pairs ? entries.length * 2 : entries.length)
  for (const { member, score } of entries) {
    if (pairs) reply.arrayHeader(2)
    reply.bulk(member)
    if (withScores) reply.double(score)
  }
}
