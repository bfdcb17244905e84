/* The sorted-set range commands of Redis 7.0 (zrangeGenericCommand and zremrangeGenericCommand):
 * ZRANGE with BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, its older forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT
 * and ZREMRANGEBY*. Every range becomes a rank range of the (score, member) index first, so a
 * range costs O(log n + m). Options and errors are checked in Redis's order, before the lookup. */
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import type {
  RankRange,
  SortedSetEntry,
  SortedSetIndex,
} from '../keyspace/structures/sorted-set-index.js'
import { argIs, parseIntegerOrThrow } from './args.js'
import type { CommandContext, CommandSpec } from './types.js'
import {
  parseLexRange,
  parseScoreRange,
  removeMembers,
  replyEntries,
  storeOf,
  storeResult,
  zsetSize,
} from './zset-common.js'

type RangeType = 'auto' | 'rank' | 'score' | 'lex'
type Direction = 'auto' | 'forward' | 'reverse'

interface RangeRequest {
  type: RangeType
  direction: Direction
  withScores: boolean
  offset: number
  /** -1 = no LIMIT (as in Redis, an explicit LIMIT x -1 is the same thing). */
  limit: number
}

/** A long argument as getLongFromObjectOrReply takes it (clamped to a safe JS number). */
function parseLong(arg: Buffer): number {
  return Number(parseIntegerOrThrow(arg))
}

/** Step 1 of zrangeGenericCommand: the options after <src> <min> <max>. */
function parseRangeOptions(
  args: readonly Buffer[],
  start: number,
  store: boolean,
  request: RangeRequest,
) {
  for (let j = start; j < args.length; j++) {
    const left = args.length - j - 1
    const arg = args[j]
    if (!store && argIs(arg, 'withscores')) {
      request.withScores = true
    } else if (argIs(arg, 'limit') && left >= 2) {
      request.offset = parseLong(args[j + 1] as Buffer)
      request.limit = parseLong(args[j + 2] as Buffer)
      j += 2
    } else if (request.direction === 'auto' && argIs(arg, 'rev')) {
      request.direction = 'reverse'
    } else if (request.type === 'auto' && argIs(arg, 'bylex')) {
      request.type = 'lex'
    } else if (request.type === 'auto' && argIs(arg, 'byscore')) {
      request.type = 'score'
    } else {
      throw syntaxError()
    }
  }
  if (request.direction === 'auto') request.direction = 'forward'
  if (request.type === 'auto') request.type = 'rank'
  if (request.limit !== -1 && request.type === 'rank') {
    throw new CaskadeError(
      ErrorCode.Err,
      'syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
    )
  }
  if (request.withScores && request.type === 'lex') {
    throw new CaskadeError(
      ErrorCode.Err,
      'syntax error, WITHSCORES not supported in combination with BYLEX',
    )
  }
}

/** Rank ranges as Redis sanitizes start/stop (negative from the end, clamped). */
function rankRange(start: number, stop: number, size: number): RankRange {
  let first = start < 0 ? size + start : start
  let last = stop < 0 ? size + stop : stop
  if (first < 0) first = 0
  if (first > last || first >= size) return { first: 0, end: 0 }
  if (last >= size) last = size - 1
  return { first, end: last + 1 }
}

/** The entries of a rank range in the requested direction, after OFFSET and within LIMIT. */
function collect(index: SortedSetIndex, range: RankRange, request: RangeRequest): SortedSetEntry[] {
  const entries: SortedSetEntry[] = []
  const offset = request.offset
  // Redis skips `offset` entries walking the whole zset: a negative one walks off the end.
  if (offset < 0 || (offset > 0 && offset >= index.size)) return entries
  const count = range.end - range.first - offset
  const taken = request.limit < 0 ? count : Math.min(count, request.limit)
  if (taken <= 0) return entries
  const reverse = request.direction === 'reverse'
  const cursor = index.cursorAt(reverse ? range.end - 1 - offset : range.first + offset)
  for (; entries.length < taken; reverse ? cursor.prev() : cursor.next()) {
    entries.push({ member: cursor.member(), score: cursor.score })
  }
  return entries
}

/** zrangeGenericCommand: `srcIndex` is the source key's position; store replaces args[1]. */
function zrangeGeneric(
  ctx: CommandContext,
  args: readonly Buffer[],
  srcIndex: number,
  type: RangeType,
  direction: Direction,
): void {
  const store = srcIndex === 2
  const request: RangeRequest = { type, direction, withScores: false, offset: 0, limit: -1 }
  parseRangeOptions(args, srcIndex + 3, store, request)
  const reverseBounds = request.direction === 'reverse' && request.type !== 'rank'
  const minArg = args[reverseBounds ? srcIndex + 2 : srcIndex + 1] as Buffer
  const maxArg = args[reverseBounds ? srcIndex + 1 : srcIndex + 2] as Buffer
  const resolve = parseBounds(request.type, minArg, maxArg, request.direction === 'reverse')
  const key = args[srcIndex] as Buffer
  const size = zsetSize(ctx, key, 'read')
  let entries: SortedSetEntry[] = []
  if (size > 0) {
    const index = storeOf(ctx).index(key)
    entries = collect(index, resolve(index), request)
  }
  if (store) {
    storeResult(ctx, args[1] as Buffer, entries, 'zrangestore')
  } else {
    replyEntries(ctx.reply, entries, request.withScores)
  }
}

/** Parses min/max now (errors before the lookup); resolves them to ranks against an index. */
function parseBounds(
  type: RangeType,
  minArg: Buffer,
  maxArg: Buffer,
  reverse = false,
): (index: SortedSetIndex) => RankRange {
  if (type === 'score') {
    const range = parseScoreRange(minArg, maxArg)
    return (index) => index.rankRangeByScore(range)
  }
  if (type === 'lex') {
    const range = parseLexRange(minArg, maxArg)
    return (index) => index.rankRangeByLex(range)
  }
  const start = parseLong(minArg)
  const stop = parseLong(maxArg)
  if (!reverse) return (index) => rankRange(start, stop, index.size)
  // Reverse ranks count from the highest score: mirror the sanitized range.
  return (index) => {
    const range = rankRange(start, stop, index.size)
    return range.end > range.first
      ? { first: index.size - range.end, end: index.size - range.first }
      : range
  }
}

const countHandler =
  (type: 'score' | 'lex') =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    const resolve = parseBounds(type, args[2] as Buffer, args[3] as Buffer)
    const key = args[1] as Buffer
    if (zsetSize(ctx, key, 'read') === 0) {
      ctx.reply.integer(0)
      return
    }
    const range = resolve(storeOf(ctx).index(key))
    ctx.reply.integer(range.end - range.first)
  }

const removeRangeHandler =
  (type: 'rank' | 'score' | 'lex') =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    const resolve = parseBounds(type, args[2] as Buffer, args[3] as Buffer)
    const key = args[1] as Buffer
    if (zsetSize(ctx, key, 'write') === 0) {
      ctx.reply.integer(0)
      return
    }
    const store = storeOf(ctx)
    const index = store.index(key)
    const range = resolve(index)
    const members: Buffer[] = []
    for (
      const cursor = index.cursorAt(range.first);
      members.length < range.end - range.first;
      cursor.next()
    ) {
      members.push(cursor.member())
    }
    ctx.reply.integer(removeMembers(ctx, key, members, `zremrangeby${type}`))
  }

type Handler = CommandSpec['handler']

export const zsetRangeHandlers: Record<string, Handler> = {
  zrange: (ctx, args) => zrangeGeneric(ctx, args, 1, 'auto', 'auto'),
  zrangestore: (ctx, args) => zrangeGeneric(ctx, args, 2, 'auto', 'auto'),
  zrevrange: (ctx, args) => zrangeGeneric(ctx, args, 1, 'rank', 'reverse'),
  zrangebyscore: (ctx, args) => zrangeGeneric(ctx, args, 1, 'score', 'forward'),
  zrevrangebyscore: (ctx, args) => zrangeGeneric(ctx, args, 1, 'score', 'reverse'),
  zrangebylex: (ctx, args) => zrangeGeneric(ctx, args, 1, 'lex', 'forward'),
  zrevrangebylex: (ctx, args) => zrangeGeneric(ctx, args, 1, 'lex', 'reverse'),
  zcount: countHandler('score'),
  zlexcount: countHandler('lex'),
  zremrangebyrank: removeRangeHandler('rank'),
  zremrangebyscore: removeRangeHandler('score'),
  zremrangebylex: removeRangeHandler('lex'),
}
