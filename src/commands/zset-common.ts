/* Shared pieces of the sorted-set commands: the type-checked lookup, the writes that remove or
 * store several members (one atomic group each, with t_zset.c's keyspace events), Redis's score
 * and lex range parsing (zslParseRange, zslParseLexRange) with their exact error texts, and the
 * reply shape of a member list with scores (flat in RESP2, [member, score] pairs in RESP3). */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { LexRange, ScoreRange } from '../keyspace/structures/sorted-set-index.js'
import { parseLexBound } from '../keyspace/structures/sorted-set-index.js'
import type { SortedSetEntry } from '../keyspace/structures/sorted-set-index.js'
import { zsetStoreOf, type ZsetStore } from '../keyspace/zset-store.js'
import type { ReplyWriter } from '../protocol/types.js'
import { parseFloatArg } from './args.js'
import { atomically } from './atomic.js'
import { NotifyClass, notifyKeyspaceEvent, notifyNewKey } from './notify.js'
import type { CommandContext } from './types.js'

export const zsetSize = (ctx: CommandContext, key: Buffer, lookup: 'read' | 'write'): number =>
  ctx.keyspace.collectionSize(key, 'zset', lookup)

export const storeOf = (ctx: CommandContext): ZsetStore => zsetStoreOf(ctx.keyspace)

/** Removes members in one atomic group; sends `event` (class Zset), then a generic 'del' when
 * the last member took the key with it, as zremCommand and its kin do. */
export function removeMembers(
  ctx: CommandContext,
  key: Buffer,
  members: readonly Buffer[],
  event: string,
): number {
  const removed = atomically(ctx, () => storeOf(ctx).remove(key, members))
  if (removed === 0) return 0
  notifyKeyspaceEvent(ctx, NotifyClass.Zset, event, key)
  if (ctx.keyspace.engine.collectionVersion(key) === -1) {
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  }
  return removed
}

/** The end of the STORE forms (Redis's setKey, or dbDelete for an empty result): the old
 * destination leaves and the result arrives in one atomic group; replies the result's size. */
export function storeResult(
  ctx: CommandContext,
  target: Buffer,
  entries: readonly SortedSetEntry[],
  event: string,
): void {
  const targetExisted = ctx.keyspace.has(target)
  atomically(ctx, () => storeOf(ctx).replace(target, entries))
  if (entries.length > 0) {
    notifyNewKey(ctx, target, !targetExisted)
    notifyKeyspaceEvent(ctx, NotifyClass.Zset, event, target)
  } else if (targetExisted) {
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', target)
  }
  ctx.reply.integer(entries.length)
}

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
