/* The sorted-set commands of Redis 7.0 that act on members one at a time (ZADD ZINCRBY ZREM
 * ZSCORE ZMSCORE ZCARD ZRANK ZREVRANK ZPOPMIN ZPOPMAX ZRANDMEMBER ZSCAN), and the table of every
 * sorted-set command (ranges in zset-range.ts, set algebra in zset-ops.ts). Invariant: arguments
 * are parsed in Redis's order, before the key is looked up, so errors match byte for byte. */
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import type { SortedSetEntry } from '../keyspace/structures/sorted-set-index.js'
import { formatDouble } from '../protocol/format-double.js'
import { argIs, parseFloatOrThrow } from './args.js'
import { atomically } from './atomic.js'
import { scanPage, startCollectionScanOrReply } from './collection-scan.js'
import { parseRandomCount, pickDistinct } from './hashes.js'
import { NotifyClass, notifyKeyspaceEvent, notifyNewKey } from './notify.js'
import { parseInt64 } from './strings.js'
import type { CommandContext, CommandSpec } from './types.js'
import { removeMembers, replyEntries, storeOf, zsetSize } from './zset-common.js'
import { zsetSpecMeta } from './zset-meta.js'
import { specsFromMeta } from './spec-meta.js'
import { zsetOpHandlers } from './zset-ops.js'
import { zsetRangeHandlers } from './zset-range.js'

interface ZaddFlags {
  nx: boolean
  xx: boolean
  gt: boolean
  lt: boolean
  ch: boolean
  incr: boolean
}

const zaddFlagNames = ['nx', 'xx', 'gt', 'lt', 'ch', 'incr'] as const

/** zaddGenericCommand's option loop and checks; returns the index of the first score. */
function parseZaddFlags(args: readonly Buffer[], flags: ZaddFlags): number {
  let index = 2
  for (; index < args.length; index++) {
    const name = zaddFlagNames.find((flag) => argIs(args[index], flag))
    if (name === undefined) break
    flags[name] = true
  }
  const elements = args.length - index
  if (elements === 0 || elements % 2 !== 0) throw syntaxError()
  if (flags.nx && flags.xx) {
    throw new CaskadeError(ErrorCode.Err, 'XX and NX options at the same time are not compatible')
  }
  if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
    throw new CaskadeError(
      ErrorCode.Err,
      'GT, LT, and/or NX options at the same time are not compatible',
    )
  }
  if (flags.incr && elements > 2) {
    throw new CaskadeError(ErrorCode.Err, 'INCR option supports a single increment-element pair')
  }
  return index
}

/** 'nop' is Redis's ZADD_OUT_NOP (skipped by NX, XX, GT or LT): it makes ZADD INCR reply nil. */
type AddOutcome = 'added' | 'updated' | 'unchanged' | 'nop'

/** Redis's zsetAdd for one member: the outcome and the member's score afterwards. */
function zsetAdd(
  ctx: CommandContext,
  key: Buffer,
  entry: SortedSetEntry,
  flags: ZaddFlags,
): { outcome: AddOutcome; score: number } {
  const store = storeOf(ctx)
  const current = store.index(key).score(entry.member)
  let score = entry.score
  if (current === undefined) {
    if (flags.xx) return { outcome: 'nop', score }
    store.add(key, entry.member, score)
    return { outcome: 'added', score }
  }
  if (flags.nx) return { outcome: 'nop', score }
  if (flags.incr) {
    score += current
    if (Number.isNaN(score)) {
      throw new CaskadeError(ErrorCode.Err, 'resulting score is not a number (NaN)')
    }
  }
  if ((flags.lt && score >= current) || (flags.gt && score <= current)) {
    return { outcome: 'nop', score }
  }
  if (score === current) return { outcome: 'unchanged', score }
  store.add(key, entry.member, score)
  return { outcome: 'updated', score }
}

function zaddGeneric(ctx: CommandContext, args: readonly Buffer[], incr: boolean): void {
  const flags: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr }
  const first = parseZaddFlags(args, flags)
  const entries: SortedSetEntry[] = []
  for (let i = first; i < args.length; i += 2) {
    entries.push({ member: args[i + 1] as Buffer, score: parseFloatOrThrow(args[i] as Buffer) })
  }
  const key = args[1] as Buffer
  const absent = zsetSize(ctx, key, 'write') === 0
  let added = 0
  let changed = 0
  let processed = 0
  let score = 0
  if (!(absent && flags.xx)) {
    // Every member's record in one atomic group; a NaN error (INCR, one member) writes nothing.
    atomically(ctx, () => {
      for (const entry of entries) {
        const result = zsetAdd(ctx, key, entry, flags)
        if (result.outcome === 'added') added++
        if (result.outcome === 'added' || result.outcome === 'updated') changed++
        if (result.outcome !== 'nop') processed++
        score = result.score
      }
    })
  }
  // zaddGenericCommand: dbAdd's 'new' on creation, then zadd/zincr when anything changed.
  if (changed > 0) {
    notifyNewKey(ctx, key, absent)
    notifyKeyspaceEvent(ctx, NotifyClass.Zset, flags.incr ? 'zincr' : 'zadd', key)
  }
  if (flags.incr) {
    if (processed > 0) ctx.reply.double(score)
    else ctx.reply.nullBulk()
  } else {
    ctx.reply.integer(flags.ch ? changed : added)
  }
}

function zremHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (zsetSize(ctx, key, 'write') === 0) {
    ctx.reply.integer(0)
    return
  }
  ctx.reply.integer(removeMembers(ctx, key, args.slice(2), 'zrem'))
}

function zscoreHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const score =
    zsetSize(ctx, key, 'read') > 0
      ? storeOf(ctx)
          .index(key)
          .score(args[2] as Buffer)
      : undefined
  if (score === undefined) ctx.reply.nullBulk()
  else ctx.reply.double(score)
}

function zmscoreHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const live = zsetSize(ctx, key, 'read') > 0
  ctx.reply.arrayHeader(args.length - 2)
  for (let i = 2; i < args.length; i++) {
    const score = live
      ? storeOf(ctx)
          .index(key)
          .score(args[i] as Buffer)
      : undefined
    if (score === undefined) ctx.reply.nullBulk()
    else ctx.reply.double(score)
  }
}

function zcardHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(zsetSize(ctx, args[1] as Buffer, 'read'))
}

const rankHandler =
  (reverse: boolean) =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    const key = args[1] as Buffer
    const size = zsetSize(ctx, key, 'read')
    const rank =
      size > 0
        ? storeOf(ctx)
            .index(key)
            .rank(args[2] as Buffer)
        : -1
    if (rank < 0) ctx.reply.nullBulk()
    else ctx.reply.integer(reverse ? size - 1 - rank : rank)
  }

/** ZPOPMIN/ZPOPMAX [count]: RESP3 nests [member, score] pairs only when a count is given. */
const popHandler =
  (max: boolean) =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    if (args.length > 3) throw syntaxError()
    let count = -1
    if (args.length === 3) {
      const parsed = parseInt64(args[2] as Buffer)
      if (parsed === null || parsed < 0) {
        throw new CaskadeError(ErrorCode.Err, 'value is out of range, must be positive')
      }
      count = Number(parsed)
    }
    const key = args[1] as Buffer
    const size = zsetSize(ctx, key, 'write')
    if (size === 0 || count === 0) {
      ctx.reply.arrayHeader(0)
      return
    }
    const taken = Math.min(count === -1 ? 1 : count, size)
    const index = storeOf(ctx).index(key)
    const range = max ? { first: size - taken, end: size } : { first: 0, end: taken }
    const entries: SortedSetEntry[] = []
    for (const cursor = index.cursorAt(range.first); entries.length < taken; cursor.next()) {
      entries.push({ member: cursor.member(), score: cursor.score })
    }
    if (max) entries.reverse()
    removeMembers(
      ctx,
      key,
      entries.map((entry) => entry.member),
      max ? 'zpopmax' : 'zpopmin',
    )
    const nested = ctx.reply.protocol === 3 && count !== -1
    ctx.reply.arrayHeader(nested ? entries.length : entries.length * 2)
    for (const { member, score } of entries) {
      if (nested) ctx.reply.arrayHeader(2)
      ctx.reply.bulk(member)
      ctx.reply.double(score)
    }
  }

function zrandmemberHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (args.length === 2) {
    if (zsetSize(ctx, key, 'read') === 0) ctx.reply.nullBulk()
    else ctx.reply.bulk(ctx.keyspace.randomField(key))
    return
  }
  const count = parseRandomCount(args[2] as Buffer)
  if (args.length > 4 || (args.length === 4 && !argIs(args[3], 'withscores'))) throw syntaxError()
  const withScores = args.length === 4
  const half = 9223372036854775807n / 2n
  if (withScores && (count < -half || count > half)) {
    throw new CaskadeError(ErrorCode.Err, 'value is out of range')
  }
  const size = zsetSize(ctx, key, 'read')
  if (size === 0 || count === 0) {
    ctx.reply.arrayHeader(0)
    return
  }
  const wanted = Number(count)
  let members: Buffer[]
  if (wanted < 0) {
    members = []
    for (let i = 0; i < -wanted; i++) members.push(ctx.keyspace.randomField(key))
  } else {
    const index = storeOf(ctx).index(key)
    members = []
    for (const cursor = index.cursorAt(0); cursor.valid; cursor.next()) {
      members.push(cursor.member())
    }
    // The whole zset comes out from the highest score down, as Redis 7.0 replies it.
    if (wanted >= size) members.reverse()
    else members = pickDistinct(ctx, members, wanted)
  }
  const index = storeOf(ctx).index(key)
  const entries = members.map((member) => ({ member, score: index.score(member) as number }))
  replyEntries(ctx.reply, entries, withScores)
}

/** Redis keeps a zset of at most 128 members of at most 64 bytes as a listpack, which ZSCAN
 * returns whole (cursor 0) in score order; a larger one is scanned page by page. */
const listpackEntriesMax = 128
const listpackValueBytesMax = 64

function zscanHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const scan = startCollectionScanOrReply(ctx, args, (key) => zsetSize(ctx, key, 'read'))
  if (scan === null) return
  const index = storeOf(ctx).index(scan.key)
  let whole: Buffer[] | null = null
  if (scan.size <= listpackEntriesMax) {
    const members: Buffer[] = []
    for (const at = index.cursorAt(0); at.valid; at.next()) members.push(at.member())
    if (members.every((m) => m.length <= listpackValueBytesMax)) whole = members
  }
  const { items: members, next } = scanPage(ctx, scan, whole)
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(String(next))
  ctx.reply.arrayHeader(members.length * 2)
  for (const member of members) {
    ctx.reply.bulk(member)
    ctx.reply.bulk(formatScanScore(index.score(member) as number))
  }
}

/** ZSCAN replies scores as strings (Redis's d2string, "%.17g" like replies). */
const formatScanScore = (score: number): string => formatDouble(score)

type Handler = CommandSpec['handler']

const handlers: Record<string, Handler> = {
  zadd: (ctx, args) => zaddGeneric(ctx, args, false),
  zincrby: (ctx, args) => zaddGeneric(ctx, args, true),
  zrem: zremHandler,
  zscore: zscoreHandler,
  zmscore: zmscoreHandler,
  zcard: zcardHandler,
  zrank: rankHandler(false),
  zrevrank: rankHandler(true),
  zpopmin: popHandler(false),
  zpopmax: popHandler(true),
  zrandmember: zrandmemberHandler,
  zscan: zscanHandler,
  ...zsetRangeHandlers,
  ...zsetOpHandlers,
}

export const zsetCommands: readonly CommandSpec[] = specsFromMeta(
  zsetSpecMeta,
  'sorted-set',
  handlers,
)
