/* The list commands (LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM
 * LINSERT LPOS LMOVE RPOPLPUSH LMPOP) as Redis 7.0's t_list.c: the same order of argument checks
 * and lookups (so errors, nil-vs-empty replies and keyspace_hits/misses match), the same keyspace
 * events in the same order, each command's records one atomic group (the keyspace's list API).
 * The blocking forms live elsewhere and reuse popAndNotify/moveAndNotify. */
import { CaskadeError, ErrorCode, RedisErrors, syntaxError } from '../core/errors.js'
import type { ListSide } from '../keyspace/types.js'
import { atomically } from './atomic.js'
import { NotifyClass, keyWillBeNew, notifyKeyspaceEvent, notifyNewKey } from './notify.js'
import { parseIndexOrThrow, parseInt64 } from './strings.js'
import { listSpecMeta } from './list-meta.js'
import { specsFromMeta } from './spec-meta.js'
import type { CommandContext, CommandSpec } from './types.js'

const int64Max = 9223372036854775807n

const listLength = (ctx: CommandContext, key: Buffer, lookup: 'read' | 'write'): number =>
  ctx.keyspace.listLength(key, lookup)

/** Redis's getRangeLongFromObjectOrReply: `message` (when given) replaces both error texts. */
function parseLongInRange(arg: Buffer, min: bigint, max: bigint, message: string | null): number {
  const value = parseInt64(arg)
  if (value === null) throw new CaskadeError(ErrorCode.Err, message ?? RedisErrors.notInteger)
  const big = BigInt(value)
  if (big < min || big > max) {
    const text = message ?? `value is out of range, value must between ${min} and ${max}`
    throw new CaskadeError(ErrorCode.Err, text)
  }
  if (typeof value === 'number') return value
  return value > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER
}

/** Redis's getPositiveLongFromObjectOrReply. */
const parsePositiveLong = (arg: Buffer, message?: string): number =>
  parseLongInRange(arg, 0n, int64Max, message ?? 'value is out of range, must be positive')

/** Redis's getListPositionFromObjectOrReply: LEFT or RIGHT, any case. */
function parseSide(arg: Buffer): ListSide {
  const text = arg.toString('latin1').toLowerCase()
  if (text === 'left') return 'left'
  if (text === 'right') return 'right'
  throw syntaxError()
}

const pushEvent = (side: ListSide): string => (side === 'left' ? 'lpush' : 'rpush')
const popEvent = (side: ListSide): string => (side === 'left' ? 'lpop' : 'rpop')

/** Pushes at `side` of a list the caller has type-checked: 'new' (if created), then the push
 * event, as Redis's dbAdd and pushGenericCommand send them. Returns the new length. */
export function pushAndNotify(
  ctx: CommandContext,
  key: Buffer,
  side: ListSide,
  values: readonly Buffer[],
): number {
  const created = keyWillBeNew(ctx, key)
  const length = ctx.keyspace.listPush(key, side, values)
  notifyNewKey(ctx, key, created)
  notifyKeyspaceEvent(ctx, NotifyClass.List, pushEvent(side), key)
  return length
}

/** Pops up to `count` from a live list; sends the pop event, then 'del' when it emptied
 * (Redis's listElementsRemoved). */
export function popAndNotify(
  ctx: CommandContext,
  key: Buffer,
  side: ListSide,
  count: number,
): Buffer[] {
  const values = ctx.keyspace.listPop(key, side, count)
  notifyKeyspaceEvent(ctx, NotifyClass.List, popEvent(side), key)
  if (!ctx.keyspace.has(key)) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  return values
}

/** LMOVE's move from a live source list to a type-checked destination, with Redis's events:
 * 'new' and the push on the destination, then the pop (and 'del') on the source. */
export function moveAndNotify(
  ctx: CommandContext,
  source: Buffer,
  destination: Buffer,
  sides: { from: ListSide; to: ListSide },
): Buffer {
  const created = keyWillBeNew(ctx, destination)
  const value = ctx.keyspace.listMove(source, destination, sides.from, sides.to)
  notifyNewKey(ctx, destination, created)
  notifyKeyspaceEvent(ctx, NotifyClass.List, pushEvent(sides.to), destination)
  notifyKeyspaceEvent(ctx, NotifyClass.List, popEvent(sides.from), source)
  if (!ctx.keyspace.has(source)) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', source)
  return value
}

function replyValues(ctx: CommandContext, values: readonly Buffer[]): void {
  ctx.reply.arrayHeader(values.length)
  for (const value of values) ctx.reply.bulk(value)
}

/** Redis's pushGenericCommand; `onlyExisting` is the X form (LPUSHX/RPUSHX). */
function pushHandler(side: ListSide, onlyExisting: boolean) {
  return (ctx: CommandContext, args: readonly Buffer[]): void => {
    const key = args[1] as Buffer
    if (listLength(ctx, key, 'write') === 0 && onlyExisting) {
      ctx.reply.integer(0)
      return
    }
    ctx.reply.integer(pushAndNotify(ctx, key, side, args.slice(2)))
  }
}

/** Redis's popGenericCommand: nil (or a nil array with a count) for a missing key. */
function popHandler(side: ListSide) {
  return (ctx: CommandContext, args: readonly Buffer[]): void => {
    if (args.length > 3) {
      const name = (args[0] as Buffer).toString('latin1').toLowerCase()
      throw new CaskadeError(ErrorCode.Err, RedisErrors.wrongArity(name))
    }
    const hasCount = args.length === 3
    const count = hasCount ? parsePositiveLong(args[2] as Buffer) : 1
    const key = args[1] as Buffer
    if (listLength(ctx, key, 'write') === 0) {
      if (hasCount) ctx.reply.nullArray()
      else ctx.reply.nullBulk()
      return
    }
    if (hasCount && count === 0) {
      ctx.reply.arrayHeader(0)
      return
    }
    const values = popAndNotify(ctx, key, side, count)
    if (hasCount) replyValues(ctx, values)
    else ctx.reply.bulk(values[0] as Buffer)
  }
}

function llenHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(listLength(ctx, args[1] as Buffer, 'read'))
}

function lrangeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const start = parseIndexOrThrow(args[2] as Buffer)
  const stop = parseIndexOrThrow(args[3] as Buffer)
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'read') === 0) replyValues(ctx, [])
  else replyValues(ctx, ctx.keyspace.listRange(key, start, stop))
}

function lindexHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'read') === 0) {
    ctx.reply.nullBulk()
    return
  }
  const value = ctx.keyspace.listIndex(key, parseIndexOrThrow(args[2] as Buffer))
  if (value === null) ctx.reply.nullBulk()
  else ctx.reply.bulk(value)
}

function lsetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'write') === 0) {
    throw new CaskadeError(ErrorCode.Err, RedisErrors.noSuchKey)
  }
  const index = parseIndexOrThrow(args[2] as Buffer)
  if (!ctx.keyspace.listSet(key, index, args[3] as Buffer)) {
    throw new CaskadeError(ErrorCode.Err, 'index out of range')
  }
  notifyKeyspaceEvent(ctx, NotifyClass.List, 'lset', key)
  ctx.reply.simple('OK')
}

function lremHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const count = parseIndexOrThrow(args[2] as Buffer)
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'write') === 0) {
    ctx.reply.integer(0)
    return
  }
  const removed = ctx.keyspace.listRemove(key, count, args[3] as Buffer)
  if (removed > 0) notifyKeyspaceEvent(ctx, NotifyClass.List, 'lrem', key)
  if (!ctx.keyspace.has(key)) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  ctx.reply.integer(removed)
}

function ltrimHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const start = parseIndexOrThrow(args[2] as Buffer)
  const stop = parseIndexOrThrow(args[3] as Buffer)
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'write') > 0) {
    ctx.keyspace.listTrim(key, start, stop)
    notifyKeyspaceEvent(ctx, NotifyClass.List, 'ltrim', key)
    if (!ctx.keyspace.has(key)) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  }
  ctx.reply.simple('OK')
}

function linsertHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const where = (args[2] as Buffer).toString('latin1').toLowerCase()
  if (where !== 'before' && where !== 'after') throw syntaxError()
  const key = args[1] as Buffer
  if (listLength(ctx, key, 'write') === 0) {
    ctx.reply.integer(0)
    return
  }
  const length = ctx.keyspace.listInsert(key, where, args[3] as Buffer, args[4] as Buffer)
  if (length > 0) notifyKeyspaceEvent(ctx, NotifyClass.List, 'linsert', key)
  ctx.reply.integer(length)
}

interface LposOptions {
  rank: number
  /** -1: no COUNT given (a single index or nil is replied). */
  count: number
  maxLength: number
}

const rankZeroMessage =
  "RANK can't be zero: use 1 to start from the first match, 2 from the second ... " +
  'or use negative to start from the end of the list'

function parseLposOptions(args: readonly Buffer[]): LposOptions {
  const options: LposOptions = { rank: 1, count: -1, maxLength: 0 }
  for (let i = 3; i < args.length; i++) {
    const option = (args[i] as Buffer).toString('latin1').toLowerCase()
    const value = args[i + 1]
    if (value === undefined) throw syntaxError()
    if (option === 'rank') {
      // Redis 7.0 negates the rank in C: LONG_MIN stays negative, matching from the first.
      const rank = parseInt64(value)
      if (rank === null) throw new CaskadeError(ErrorCode.Err, RedisErrors.notInteger)
      options.rank = rank === -int64Max - 1n ? -1 : parseIndexOrThrow(value)
      if (options.rank === 0) throw new CaskadeError(ErrorCode.Err, rankZeroMessage)
    } else if (option === 'count') {
      options.count = parsePositiveLong(value, "COUNT can't be negative")
    } else if (option === 'maxlen') {
      options.maxLength = parsePositiveLong(value, "MAXLEN can't be negative")
    } else {
      throw syntaxError()
    }
    i++
  }
  return options
}

function lposHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const options = parseLposOptions(args)
  const key = args[1] as Buffer
  const live = listLength(ctx, key, 'read') > 0
  const found = live
    ? ctx.keyspace.listPositions(key, args[2] as Buffer, {
        rank: options.rank,
        count: options.count === -1 ? 1 : options.count,
        maxLength: options.maxLength,
      })
    : []
  if (options.count !== -1) {
    ctx.reply.arrayHeader(found.length)
    for (const index of found) ctx.reply.integer(index)
  } else if (found.length > 0) {
    ctx.reply.integer(found[0] as number)
  } else {
    ctx.reply.nullBulk()
  }
}

/** Redis's lmoveGenericCommand: nil for a missing source, then the destination's type check. */
function moveCommand(ctx: CommandContext, args: readonly Buffer[], from: ListSide, to: ListSide) {
  const source = args[1] as Buffer
  const destination = args[2] as Buffer
  if (listLength(ctx, source, 'write') === 0) {
    ctx.reply.nullBulk()
    return
  }
  listLength(ctx, destination, 'write')
  ctx.reply.bulk(atomically(ctx, () => moveAndNotify(ctx, source, destination, { from, to })))
}

function lmoveHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const from = parseSide(args[3] as Buffer)
  const to = parseSide(args[4] as Buffer)
  moveCommand(ctx, args, from, to)
}

function rpoplpushHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  moveCommand(ctx, args, 'right', 'left')
}

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], parsed as Redis's lmpopGenericCommand
 * (also BLMPOP's after its timeout: `numKeysAt` is where numkeys sits). */
export function parseMpopArgs(
  args: readonly Buffer[],
  numKeysAt: number,
): { keys: Buffer[]; side: ListSide; count: number } {
  const numKeysMessage = 'numkeys should be greater than 0'
  const numKeys = parseLongInRange(args[numKeysAt] as Buffer, 1n, int64Max, numKeysMessage)
  const sideAt = numKeysAt + numKeys + 1
  if (sideAt >= args.length) throw syntaxError()
  const side = parseSide(args[sideAt] as Buffer)
  let count = -1
  for (let i = sideAt + 1; i < args.length; i++) {
    const option = (args[i] as Buffer).toString('latin1').toLowerCase()
    if (count !== -1 || option !== 'count' || i === args.length - 1) throw syntaxError()
    i++
    count = parseLongInRange(args[i] as Buffer, 1n, int64Max, 'count should be greater than 0')
  }
  const keys = args.slice(numKeysAt + 1, sideAt)
  return { keys, side, count: count === -1 ? 1 : count }
}

function lmpopHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const { keys, side, count } = parseMpopArgs(args, 1)
  for (const key of keys) {
    if (listLength(ctx, key, 'write') === 0) continue
    const values = popAndNotify(ctx, key, side, count)
    ctx.reply.arrayHeader(2)
    ctx.reply.bulk(key)
    replyValues(ctx, values)
    return
  }
  ctx.reply.nullArray()
}

const handlers: Record<string, CommandSpec['handler']> = {
  lpush: pushHandler('left', false),
  rpush: pushHandler('right', false),
  lpushx: pushHandler('left', true),
  rpushx: pushHandler('right', true),
  lpop: popHandler('left'),
  rpop: popHandler('right'),
  llen: llenHandler,
  lrange: lrangeHandler,
  lindex: lindexHandler,
  lset: lsetHandler,
  lrem: lremHandler,
  ltrim: ltrimHandler,
  linsert: linsertHandler,
  lpos: lposHandler,
  lmove: lmoveHandler,
  rpoplpush: rpoplpushHandler,
  lmpop: lmpopHandler,
}

export const listCommands: readonly CommandSpec[] = specsFromMeta(listSpecMeta, 'list', handlers)
