/* The string commands (GET, SET and its family, counters, ranges) with Redis 7.0's argument rules,
 * reply shapes and error texts. Handlers are synchronous and write exactly one reply; the hot
 * ones (GET SET INCR MGET MSET) allocate no closures and build no strings on their common path. */
import { CaskadeError, ErrorCode, RedisErrors, syntaxError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { Keyspace, SetOptions } from '../keyspace/types.js'
import {
  addLongDouble,
  formatLongDouble,
  isFiniteLongDouble,
  parseLongDouble,
  type LongDouble,
} from '../protocol/format-double.js'
import { argIs } from './args.js'
import { keyWillBeNew, notifyKeyspaceEvent, notifyNewKey, NotifyClass } from './notify.js'
import type { CommandContext, CommandFlag, CommandSpec } from './types.js'

const int64Max = 9223372036854775807n
const int64Min = -9223372036854775808n

/**
 * Parses a signed 64-bit integer exactly as Redis's string2ll: an optional '-', then a lone '0'
 * or digits without a leading zero; no '+', no spaces, no "-0". A number when it is a safe
 * integer, a bigint beyond that, null when it is not an integer in range.
 */
export function parseInt64(arg: Buffer): number | bigint | null {
  const length = arg.length
  if (length === 0 || length > 20) return null
  const negative = arg[0] === 0x2d
  const first = negative ? 1 : 0
  if (first === length) return null
  const lead = arg[first] as number
  if (lead === 0x30) return length === 1 ? 0 : null
  if (lead < 0x31 || lead > 0x39) return null
  let value = 0
  for (let i = first; i < length; i++) {
    const digit = (arg[i] as number) - 0x30
    if (digit < 0 || digit > 9) return null
    value = value * 10 + digit
  }
  if (length - first <= 15) return negative ? -value : value
  const exact = BigInt(arg.toString('latin1'))
  if (exact > int64Max || exact < int64Min) return null
  return Number.isSafeInteger(Number(exact)) ? Number(exact) : exact
}

export function parseInt64OrThrow(arg: Buffer): number | bigint {
  const value = parseInt64(arg)
  if (value === null) throw new CaskadeError(ErrorCode.Err, RedisErrors.notInteger)
  return value
}

/** A 64-bit integer argument clamped to the safe range (for indexes compared with lengths). */
export function parseIndexOrThrow(arg: Buffer): number {
  const value = parseInt64OrThrow(arg)
  if (typeof value === 'number') return value
  return value > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER
}

export const invalidExpireError = (command: string): CaskadeError =>
  new CaskadeError(ErrorCode.Err, RedisErrors.invalidExpire(command))

// Option bits of Redis's parseExtendedStringArgumentsOrReply (t_string.c).
const optNx = 1
const optXx = 2
const optEx = 4
const optPx = 8
const optKeepTtl = 16
const optGet = 32
const optExAt = 64
const optPxAt = 128
const optPersist = 256
const optAnyExpiry = optEx | optPx | optExAt | optPxAt

interface StringOptions {
  flags: number
  /** The EX/PX/EXAT/PXAT argument, or null. */
  expire: Buffer | null
}

/** SET's options (setMode) or GETEX's (!setMode), with Redis's conflict rules. */
function parseStringOptions(
  args: readonly Buffer[],
  start: number,
  setMode: boolean,
): StringOptions {
  let flags = 0
  let expire: Buffer | null = null
  for (let i = start; i < args.length; i++) {
    const arg = args[i]
    const hasNext = i + 1 < args.length
    if (setMode && argIs(arg, 'nx') && (flags & optXx) === 0) {
      flags |= optNx
    } else if (setMode && argIs(arg, 'xx') && (flags & optNx) === 0) {
      flags |= optXx
    } else if (setMode && argIs(arg, 'get')) {
      flags |= optGet
    } else if (setMode && argIs(arg, 'keepttl') && (flags & (optAnyExpiry | optPersist)) === 0) {
      flags |= optKeepTtl
    } else if (!setMode && argIs(arg, 'persist') && (flags & (optAnyExpiry | optKeepTtl)) === 0) {
      flags |= optPersist
    } else {
      const unit = expiryUnitOf(arg)
      const conflicts = optKeepTtl | optPersist | (optAnyExpiry & ~unit)
      if (unit === 0 || (flags & conflicts) !== 0 || !hasNext) throw syntaxError()
      flags |= unit
      expire = args[++i] as Buffer
    }
  }
  return { flags, expire }
}

function expiryUnitOf(arg: Buffer | undefined): number {
  if (argIs(arg, 'ex')) return optEx
  if (argIs(arg, 'px')) return optPx
  if (argIs(arg, 'exat')) return optExAt
  if (argIs(arg, 'pxat')) return optPxAt
  return 0
}

/**
 * The absolute expiry (Unix ms) for an EX/PX/EXAT/PXAT argument, as Redis's
 * getExpireMillisecondsOrReply: positive, no int64 overflow after scaling and adding now.
 */
function expiresAtMsFromArg(
  ctx: CommandContext,
  arg: Buffer,
  flags: number,
  command: string,
): number {
  const value = parseInt64OrThrow(arg)
  const seconds = (flags & (optEx | optExAt)) !== 0
  const relative = (flags & (optEx | optPx)) !== 0
  if (value <= 0) throw invalidExpireError(command)
  if (typeof value === 'number' && value < 1e9) {
    const ms = seconds ? value * 1000 : value
    return relative ? ms + ctx.clock.wallMs() : ms
  }
  let ms = BigInt(value)
  if (seconds && ms > int64Max / 1000n) throw invalidExpireError(command)
  if (seconds) ms *= 1000n
  if (relative) ms += BigInt(Math.floor(ctx.clock.wallMs()))
  if (ms > int64Max) throw invalidExpireError(command)
  return Number(ms)
}

const keepTtl: SetOptions = { keepTtl: true }

function getHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const value = ctx.keyspace.get(args[1] as Buffer)
  if (value === null) ctx.reply.nullBulk()
  else ctx.reply.bulk(value)
}

function setHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length === 3) {
    const key = args[1] as Buffer
    const isNew = keyWillBeNew(ctx, key)
    ctx.keyspace.set(key, args[2] as Buffer)
    notifySet(ctx, key, isNew)
    ctx.reply.simple('OK')
    return
  }
  const options = parseStringOptions(args, 3, true)
  setGeneric(ctx, { ...options, key: args[1] as Buffer, value: args[2] as Buffer, command: 'set' })
}

interface SetRequest extends StringOptions {
  key: Buffer
  value: Buffer
  command: string
}

/** Redis's setGenericCommand: validate the expiry, GET, NX/XX, write, reply. */
function setGeneric(ctx: CommandContext, request: SetRequest): boolean {
  const { flags, key } = request
  const keyspace = ctx.keyspace
  const expiresAtMs =
    request.expire === null ? 0 : expiresAtMsFromArg(ctx, request.expire, flags, request.command)
  const getOld = (flags & optGet) !== 0
  const old = getOld ? keyspace.get(key) : null
  const found = getOld ? old !== null : keyspace.has(key)
  if (((flags & optNx) !== 0 && found) || ((flags & optXx) !== 0 && !found)) {
    if (getOld) replyBulkOrNull(ctx, old)
    else ctx.reply.nullBulk()
    return false
  }
  const isNew = keyWillBeNew(ctx, key)
  if (expiresAtMs !== 0) keyspace.set(key, request.value, { expiresAtMs })
  else if ((flags & optKeepTtl) !== 0) keyspace.set(key, request.value, keepTtl)
  else keyspace.set(key, request.value)
  notifySet(ctx, key, isNew)
  if (expiresAtMs !== 0) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'expire', key)
  if (getOld) replyBulkOrNull(ctx, old)
  else ctx.reply.simple('OK')
  return true
}

/** Redis's order: 'new' (from dbAdd) before the command's 'set'. */
function notifySet(ctx: CommandContext, key: Buffer, isNew: boolean): void {
  notifyNewKey(ctx, key, isNew)
  notifyKeyspaceEvent(ctx, NotifyClass.String, 'set', key)
}

/** Writes a string value with the command's event (APPEND, SETRANGE, INCR...). */
function setAndNotify(
  ctx: CommandContext,
  key: Buffer,
  value: Buffer,
  event: { name: string; options?: SetOptions },
): void {
  const isNew = keyWillBeNew(ctx, key)
  ctx.keyspace.set(key, value, event.options)
  notifyNewKey(ctx, key, isNew)
  notifyKeyspaceEvent(ctx, NotifyClass.String, event.name, key)
}

function replyBulkOrNull(ctx: CommandContext, value: Buffer | null): void {
  if (value === null) ctx.reply.nullBulk()
  else ctx.reply.bulk(value)
}

function setnxHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (ctx.keyspace.has(key)) {
    ctx.reply.integer(0)
    return
  }
  ctx.keyspace.set(key, args[2] as Buffer)
  notifySet(ctx, key, true)
  ctx.reply.integer(1)
}

function setexHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  setWithExpiry(ctx, args, optEx, 'setex')
}

function psetexHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  setWithExpiry(ctx, args, optPx, 'psetex')
}

function setWithExpiry(
  ctx: CommandContext,
  args: readonly Buffer[],
  unit: number,
  command: string,
): void {
  const expiresAtMs = expiresAtMsFromArg(ctx, args[2] as Buffer, unit, command)
  const key = args[1] as Buffer
  const isNew = keyWillBeNew(ctx, key)
  ctx.keyspace.set(key, args[3] as Buffer, { expiresAtMs })
  notifySet(ctx, key, isNew)
  notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'expire', key)
  ctx.reply.simple('OK')
}

function mgetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const reply = ctx.reply
  const keyspace = ctx.keyspace
  reply.arrayHeader(args.length - 1)
  for (let i = 1; i < args.length; i++) {
    const value = mgetValue(keyspace, args[i] as Buffer)
    if (value === null) reply.nullBulk()
    else reply.bulk(value)
  }
}

/**
 * MSET's pairs reach disk as one atomic group: after a crash all of them or none. `allNew`: the
 * caller (MSETNX) already knows no key exists, for the 'new' keyspace event.
 */
function setAllAtomically(ctx: CommandContext, args: readonly Buffer[], allNew: boolean): void {
  const keyspace = ctx.keyspace
  keyspace.engine.beginGroup()
  try {
    for (let i = 1; i < args.length; i += 2) {
      const key = args[i] as Buffer
      const isNew = allNew || keyWillBeNew(ctx, key)
      keyspace.set(key, args[i + 1] as Buffer)
      notifySet(ctx, key, isNew)
    }
  } finally {
    keyspace.engine.endGroup()
  }
}

/** MGET answers nil for a key of another type instead of WRONGTYPE, as Redis does. */
function mgetValue(keyspace: Keyspace, key: Buffer): Buffer | null {
  try {
    return keyspace.get(key)
  } catch (error) {
    if (error instanceof CaskadeError && error.code === ErrorCode.WrongType) return null
    throw error
  }
}

function msetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length % 2 === 0) throw wrongArity('mset')
  setAllAtomically(ctx, args, false)
  ctx.reply.simple('OK')
}

function msetnxHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length % 2 === 0) throw wrongArity('msetnx')
  const keyspace = ctx.keyspace
  for (let i = 1; i < args.length; i += 2) {
    if (keyspace.has(args[i] as Buffer)) {
      ctx.reply.integer(0)
      return
    }
  }
  setAllAtomically(ctx, args, true)
  ctx.reply.integer(1)
}

const wrongArity = (command: string): CaskadeError =>
  new CaskadeError(ErrorCode.Err, RedisErrors.wrongArity(command))

function getsetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const old = ctx.keyspace.get(key)
  ctx.keyspace.set(key, args[2] as Buffer)
  notifySet(ctx, key, old === null)
  replyBulkOrNull(ctx, old)
}

function getdelHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const value = ctx.keyspace.get(key)
  if (value !== null && ctx.keyspace.delete(key)) {
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  }
  replyBulkOrNull(ctx, value)
}

function getexHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const { flags, expire } = parseStringOptions(args, 2, false)
  const key = args[1] as Buffer
  const value = ctx.keyspace.get(key)
  if (value === null) {
    ctx.reply.nullBulk()
    return
  }
  const expiresAtMs = expire === null ? 0 : expiresAtMsFromArg(ctx, expire, flags, 'getex')
  ctx.reply.bulk(value)
  if (expiresAtMs !== 0) {
    // An expiry not after now deletes the key (Redis's checkAlreadyExpired): a 'del' event.
    const deletes = expiresAtMs <= ctx.clock.wallMs()
    ctx.keyspace.expireAt(key, expiresAtMs)
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, deletes ? 'del' : 'expire', key)
  } else if ((flags & optPersist) !== 0 && ctx.keyspace.persist(key)) {
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'persist', key)
  }
}

/** The stored integer, 0 when absent, or the Redis error when the value is not an integer. */
function storedInteger(keyspace: Keyspace, key: Buffer): number | bigint {
  const stored = keyspace.peek(key)
  if (stored === null) return 0
  return parseInt64OrThrow(stored)
}

/** Redis's incrDecrCommand: 64-bit signed arithmetic with an overflow error; keeps the TTL. */
function incrementBy(ctx: CommandContext, key: Buffer, increment: number | bigint): void {
  const current = storedInteger(ctx.keyspace, key)
  if (typeof current === 'number' && typeof increment === 'number') {
    const result = current + increment
    if (Number.isSafeInteger(result)) {
      setAndNotify(ctx, key, Buffer.from(result.toString(), 'latin1'), incrbyEvent)
      ctx.reply.integer(result)
      return
    }
  }
  const result = BigInt(current) + BigInt(increment)
  if (result > int64Max || result < int64Min) {
    throw new CaskadeError(ErrorCode.Err, RedisErrors.overflow)
  }
  setAndNotify(ctx, key, Buffer.from(result.toString(), 'latin1'), incrbyEvent)
  ctx.reply.integer(result)
}

const incrbyEvent = { name: 'incrby', options: keepTtl }

function incrHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  incrementBy(ctx, args[1] as Buffer, 1)
}

function decrHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  incrementBy(ctx, args[1] as Buffer, -1)
}

function incrbyHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  incrementBy(ctx, args[1] as Buffer, parseInt64OrThrow(args[2] as Buffer))
}

function decrbyHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const decrement = parseInt64OrThrow(args[2] as Buffer)
  // Negating LLONG_MIN overflows before any addition (Redis 7 checks this first).
  if (decrement === int64Min) throw new CaskadeError(ErrorCode.Err, 'decrement would overflow')
  incrementBy(ctx, args[1] as Buffer, -decrement)
}

/** Redis's string2ld; a NUL byte anywhere makes the text invalid (strtold stops there). */
function parseFloatValue(text: Buffer): LongDouble | null {
  return text.includes(0) ? null : parseLongDouble(text)
}

/** Redis's incrbyfloatCommand: x87 long double arithmetic, "%.17Lf" output; keeps the TTL. */
function incrbyfloatHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const stored = ctx.keyspace.peek(key)
  const current = stored === null ? longDoubleZero : parseFloatValue(stored)
  const increment = parseFloatValue(args[2] as Buffer)
  if (current === null || increment === null) {
    throw new CaskadeError(ErrorCode.Err, RedisErrors.notFloat)
  }
  const sum = addLongDouble(current, increment)
  if (!isFiniteLongDouble(sum)) {
    throw new CaskadeError(ErrorCode.Err, 'increment would produce NaN or Infinity')
  }
  const text = Buffer.from(formatLongDouble(sum), 'latin1')
  setAndNotify(ctx, key, text, { name: 'incrbyfloat', options: keepTtl })
  ctx.reply.bulk(text)
}

const longDoubleZero = parseLongDouble('0') as LongDouble

const stringTooLong = (): CaskadeError =>
  new CaskadeError(ErrorCode.Err, 'string exceeds maximum allowed size (proto-max-bulk-len)')

function appendHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const suffix = args[2] as Buffer
  const stored = ctx.keyspace.peek(key)
  if (stored === null) {
    setAndNotify(ctx, key, suffix, { name: 'append' })
    ctx.reply.integer(suffix.length)
    return
  }
  const length = stored.length + suffix.length
  if (length > limits.bulkBytesMax) throw stringTooLong()
  setAndNotify(ctx, key, Buffer.concat([stored, suffix], length), appendEvent)
  ctx.reply.integer(length)
}

const appendEvent = { name: 'append', options: keepTtl }

function strlenHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(ctx.keyspace.valueLength(args[1] as Buffer) ?? 0)
}

function getrangeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  let start = parseIndexOrThrow(args[2] as Buffer)
  let end = parseIndexOrThrow(args[3] as Buffer)
  const value = ctx.keyspace.get(args[1] as Buffer)
  if (value === null || (start < 0 && end < 0 && start > end)) {
    ctx.reply.bulk(emptyBuffer)
    return
  }
  const length = value.length
  if (start < 0) start = Math.max(0, length + start)
  if (end < 0) end = Math.max(0, length + end)
  if (end >= length) end = length - 1
  if (start > end || length === 0) ctx.reply.bulk(emptyBuffer)
  else ctx.reply.bulk(value.subarray(start, end + 1))
}

const emptyBuffer = Buffer.alloc(0)

function setrangeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const offset = parseIndexOrThrow(args[2] as Buffer)
  const patch = args[3] as Buffer
  if (offset < 0) throw new CaskadeError(ErrorCode.Err, 'offset is out of range')
  const stored = ctx.keyspace.peek(key)
  if (patch.length === 0) {
    ctx.reply.integer(stored === null ? 0 : stored.length)
    return
  }
  const end = offset + patch.length
  if (end > limits.bulkBytesMax) throw stringTooLong()
  const current = stored ?? emptyBuffer
  const updated = Buffer.alloc(Math.max(current.length, end))
  current.copy(updated, 0)
  patch.copy(updated, offset)
  setAndNotify(ctx, key, updated, { name: 'setrange', options: keepTtl })
  ctx.reply.integer(updated.length)
}

interface SpecFields {
  name: string
  arity: number
  flags: readonly CommandFlag[]
  summary: string
  since: string
  complexity: string
  handler: CommandSpec['handler']
}

/** A single-key string command (key at 1): the shape of every command in this file but two. */
function stringSpec(
  fields: SpecFields,
  keys = { firstKey: 1, lastKey: 1, keyStep: 1 },
): CommandSpec {
  return { ...fields, ...keys, group: 'string' }
}

const rangeComplexity =
  'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.'

export const stringCommands: readonly CommandSpec[] = [
  stringSpec({
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    summary: 'Get the value of a key',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: getHandler,
  }),
  stringSpec({
    name: 'set',
    arity: -3,
    flags: ['write', 'denyoom'],
    summary: 'Set the string value of a key',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: setHandler,
  }),
  stringSpec({
    name: 'setnx',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the value of a key, only if the key does not exist',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: setnxHandler,
  }),
  stringSpec({
    name: 'setex',
    arity: 4,
    flags: ['write', 'denyoom'],
    summary: 'Set the value and expiration of a key',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: setexHandler,
  }),
  stringSpec({
    name: 'psetex',
    arity: 4,
    flags: ['write', 'denyoom'],
    summary: 'Set the value and expiration in milliseconds of a key',
    since: '2.6.0',
    complexity: 'O(1)',
    handler: psetexHandler,
  }),
  stringSpec(
    {
      name: 'mget',
      arity: -2,
      flags: ['readonly', 'fast'],
      summary: 'Get the values of all the given keys',
      since: '1.0.0',
      complexity: 'O(N) where N is the number of keys to retrieve.',
      handler: mgetHandler,
    },
    { firstKey: 1, lastKey: -1, keyStep: 1 },
  ),
  stringSpec(
    {
      name: 'mset',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Set multiple keys to multiple values',
      since: '1.0.1',
      complexity: 'O(N) where N is the number of keys to set.',
      handler: msetHandler,
    },
    { firstKey: 1, lastKey: -1, keyStep: 2 },
  ),
  stringSpec(
    {
      name: 'msetnx',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Set multiple keys to multiple values, only if none of the keys exist',
      since: '1.0.1',
      complexity: 'O(N) where N is the number of keys to set.',
      handler: msetnxHandler,
    },
    { firstKey: 1, lastKey: -1, keyStep: 2 },
  ),
  stringSpec({
    name: 'getset',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the string value of a key and return its old value',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: getsetHandler,
  }),
  stringSpec({
    name: 'getdel',
    arity: 2,
    flags: ['write', 'fast'],
    summary: 'Get the value of a key and delete the key',
    since: '6.2.0',
    complexity: 'O(1)',
    handler: getdelHandler,
  }),
  stringSpec({
    name: 'getex',
    arity: -2,
    flags: ['write', 'fast'],
    summary: 'Get the value of a key and optionally set its expiration',
    since: '6.2.0',
    complexity: 'O(1)',
    handler: getexHandler,
  }),
  stringSpec({
    name: 'incr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the integer value of a key by one',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: incrHandler,
  }),
  stringSpec({
    name: 'decr',
    arity: 2,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Decrement the integer value of a key by one',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: decrHandler,
  }),
  stringSpec({
    name: 'incrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the integer value of a key by the given amount',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: incrbyHandler,
  }),
  stringSpec({
    name: 'decrby',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Decrement the integer value of a key by the given number',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: decrbyHandler,
  }),
  stringSpec({
    name: 'incrbyfloat',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the float value of a key by the given amount',
    since: '2.6.0',
    complexity: 'O(1)',
    handler: incrbyfloatHandler,
  }),
  stringSpec({
    name: 'append',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Append a value to a key',
    since: '2.0.0',
    complexity:
      'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.',
    handler: appendHandler,
  }),
  stringSpec({
    name: 'strlen',
    arity: 2,
    flags: ['readonly', 'fast'],
    summary: 'Get the length of the value stored in a key',
    since: '2.2.0',
    complexity: 'O(1)',
    handler: strlenHandler,
  }),
  stringSpec({
    name: 'getrange',
    arity: 4,
    flags: ['readonly'],
    summary: 'Get a substring of the string stored at a key',
    since: '2.4.0',
    complexity: rangeComplexity,
    handler: getrangeHandler,
  }),
  stringSpec({
    name: 'setrange',
    arity: 4,
    flags: ['write', 'denyoom'],
    summary: 'Overwrite part of a string at key starting at the specified offset',
    since: '2.2.0',
    complexity:
      'O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.',
    handler: setrangeHandler,
  }),
  stringSpec({
    name: 'substr',
    arity: 4,
    flags: ['readonly'],
    summary: 'Get a substring of the string stored at a key',
    since: '1.0.0',
    complexity: rangeComplexity,
    handler: getrangeHandler,
  }),
]
