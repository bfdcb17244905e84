/* The hash commands (HSET HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HKEYS HVALS HINCRBY
 * HINCRBYFLOAT HSETNX HSTRLEN HRANDFIELD HSCAN) with Redis 7.0's argument order, reply shapes in
 * RESP2/RESP3 and error texts. Fields are kept in insertion order, which is the order Redis's
 * listpack encoding replies in, so small hashes answer byte for byte as Redis does. */
import { CaskadeError, ErrorCode, RedisErrors, syntaxError } from '../core/errors.js'
import type { Keyspace } from '../keyspace/types.js'
import {
  addLongDouble,
  formatLongDouble,
  isFiniteLongDouble,
  parseLongDouble,
  type LongDouble,
} from '../protocol/format-double.js'
import type { ReplyWriter } from '../protocol/types.js'
import { argIs } from './args.js'
import { atomically } from './atomic.js'
import { scanPage, startCollectionScanOrReply } from './collection-scan.js'
import { NotifyClass, notifyKeyspaceEvent, notifyNewKey } from './notify.js'
import { parseInt64, parseInt64OrThrow } from './strings.js'
import type { CommandContext, CommandFlag, CommandSpec } from './types.js'

const int64Max = 9223372036854775807n
const int64Min = -9223372036854775808n
/** Redis's hash-max-listpack-entries / -value defaults: below both, HSCAN returns everything. */
const listpackEntriesMax = 128
const listpackValueBytesMax = 64
/** Redis's default SCAN COUNT. */
const emptyBuffer = Buffer.alloc(0)

const hashSize = (ctx: CommandContext, key: Buffer, lookup: 'read' | 'write'): number =>
  ctx.keyspace.collectionSize(key, 'hash', lookup)

function hsetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(setPairs(ctx, args, 'hset'))
}

function hmsetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  setPairs(ctx, args, 'hmset')
  ctx.reply.simple('OK')
}

/**
 * A hash write's events, as Redis's: 'new' (dbAdd) when the key was absent, then the command's
 * own event (class Hash). `wasAbsent` is from the command's own lookup: no extra one here.
 */
function notifyHashWrite(ctx: CommandContext, event: string, key: Buffer, wasAbsent: boolean) {
  notifyNewKey(ctx, key, wasAbsent)
  notifyKeyspaceEvent(ctx, NotifyClass.Hash, event, key)
}

/** HSET/HMSET: arity first, then the type; returns how many fields were new. One atomic group. */
function setPairs(ctx: CommandContext, args: readonly Buffer[], name: string): number {
  if (args.length % 2 === 1) throw new CaskadeError(ErrorCode.Err, RedisErrors.wrongArity(name))
  const key = args[1] as Buffer
  const wasAbsent = hashSize(ctx, key, 'write') === 0
  const created = atomically(ctx, () => {
    let added = 0
    for (let i = 2; i < args.length; i += 2) {
      if (ctx.keyspace.setField(key, 'hash', args[i] as Buffer, args[i + 1] as Buffer)) added++
    }
    return added
  })
  notifyHashWrite(ctx, 'hset', key, wasAbsent) // HMSET sends 'hset' too, as Redis does
  return created
}

function hsetnxHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const field = args[2] as Buffer
  const wasAbsent = hashSize(ctx, key, 'write') === 0
  if (!wasAbsent && ctx.keyspace.hasField(key, field)) {
    ctx.reply.integer(0)
    return
  }
  ctx.keyspace.setField(key, 'hash', field, args[3] as Buffer)
  notifyHashWrite(ctx, 'hset', key, wasAbsent)
  ctx.reply.integer(1)
}

function hgetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const value =
    hashSize(ctx, key, 'read') > 0 ? ctx.keyspace.getField(key, args[2] as Buffer) : null
  if (value === null) ctx.reply.nullBulk()
  else ctx.reply.bulk(value)
}

function hmgetHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const live = hashSize(ctx, key, 'read') > 0
  ctx.reply.arrayHeader(args.length - 2)
  for (let i = 2; i < args.length; i++) {
    const value = live ? ctx.keyspace.getField(key, args[i] as Buffer) : null
    if (value === null) ctx.reply.nullBulk()
    else ctx.reply.bulk(value)
  }
}

function hdelHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const size = hashSize(ctx, key, 'write')
  const removed = size === 0 ? 0 : ctx.keyspace.deleteFields(key, args.slice(2))
  if (removed > 0) {
    notifyKeyspaceEvent(ctx, NotifyClass.Hash, 'hdel', key)
    // The last fields took the key with them (Redis's hdelCommand sends a generic 'del').
    if (removed === size) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  }
  ctx.reply.integer(removed)
}

function hlenHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(hashSize(ctx, args[1] as Buffer, 'read'))
}

function hstrlenHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const value =
    hashSize(ctx, key, 'read') > 0 ? ctx.keyspace.getField(key, args[2] as Buffer) : null
  ctx.reply.integer(value === null ? 0 : value.length)
}

function hexistsHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const found = hashSize(ctx, key, 'read') > 0 && ctx.keyspace.hasField(key, args[2] as Buffer)
  ctx.reply.integer(found ? 1 : 0)
}

function hkeysHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const fields = hashSize(ctx, key, 'read') > 0 ? ctx.keyspace.fieldNames(key) : []
  ctx.reply.arrayHeader(fields.length)
  for (const field of fields) ctx.reply.bulk(field)
}

function hvalsHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const fields = hashSize(ctx, key, 'read') > 0 ? ctx.keyspace.fieldNames(key) : []
  ctx.reply.arrayHeader(fields.length)
  for (const field of fields) ctx.reply.bulk(fieldValue(ctx.keyspace, key, field))
}

/** HGETALL: a map in RESP3 (an empty one for a missing key), pairs in an array in RESP2. */
function hgetallHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const fields = hashSize(ctx, key, 'read') > 0 ? ctx.keyspace.fieldNames(key) : []
  ctx.reply.mapHeader(fields.length)
  for (const field of fields) {
    ctx.reply.bulk(field)
    ctx.reply.bulk(fieldValue(ctx.keyspace, key, field))
  }
}

function fieldValue(keyspace: Keyspace, key: Buffer, field: Buffer): Buffer {
  const value = keyspace.getField(key, field)
  if (value === null) throw new CaskadeError(ErrorCode.Err, 'hash field vanished while read')
  return value
}

/** Redis's hincrbyCommand: the increment is parsed before the key is looked up. */
function hincrbyHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const field = args[2] as Buffer
  const increment = parseInt64OrThrow(args[3] as Buffer)
  const wasAbsent = hashSize(ctx, key, 'write') === 0
  const stored = wasAbsent ? null : ctx.keyspace.getField(key, field)
  let current: number | bigint = 0
  if (stored !== null) {
    const parsed = parseInt64(stored)
    if (parsed === null) throw new CaskadeError(ErrorCode.Err, 'hash value is not an integer')
    current = parsed
  }
  const sum = BigInt(current) + BigInt(increment)
  if (sum > int64Max || sum < int64Min) {
    throw new CaskadeError(ErrorCode.Err, RedisErrors.overflow)
  }
  ctx.keyspace.setField(key, 'hash', field, Buffer.from(sum.toString(), 'latin1'))
  notifyHashWrite(ctx, 'hincrby', key, wasAbsent)
  ctx.reply.integer(Number.isSafeInteger(Number(sum)) ? Number(sum) : sum)
}

/** Redis's string2ld; a NUL byte anywhere makes the text invalid (strtold stops there). */
function parseFloatValue(text: Buffer): LongDouble | null {
  return text.includes(0) ? null : parseLongDouble(text)
}

/** Redis's hincrbyfloatCommand: long double arithmetic, printed as INCRBYFLOAT prints. */
function hincrbyfloatHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const field = args[2] as Buffer
  const increment = parseFloatValue(args[3] as Buffer)
  if (increment === null) throw new CaskadeError(ErrorCode.Err, RedisErrors.notFloat)
  if (!isFiniteLongDouble(increment)) {
    throw new CaskadeError(ErrorCode.Err, 'value is NaN or Infinity')
  }
  const wasAbsent = hashSize(ctx, key, 'write') === 0
  const stored = wasAbsent ? null : ctx.keyspace.getField(key, field)
  let current = longDoubleZero
  if (stored !== null) {
    const parsed = parseFloatValue(stored)
    if (parsed === null) throw new CaskadeError(ErrorCode.Err, 'hash value is not a float')
    current = parsed
  }
  const sum = addLongDouble(current, increment)
  if (!isFiniteLongDouble(sum)) {
    throw new CaskadeError(ErrorCode.Err, 'increment would produce NaN or Infinity')
  }
  const text = Buffer.from(formatLongDouble(sum), 'latin1')
  ctx.keyspace.setField(key, 'hash', field, text)
  notifyHashWrite(ctx, 'hincrbyfloat', key, wasAbsent)
  ctx.reply.bulk(text)
}

const longDoubleZero = parseLongDouble('0') as LongDouble

/** The count argument of HRANDFIELD: a long in [-LONG_MAX, LONG_MAX], as getRangeLong says. */
export function parseRandomCount(arg: Buffer): number | bigint {
  const value = parseInt64OrThrow(arg)
  if (value === int64Min) {
    throw new CaskadeError(
      ErrorCode.Err,
      'value is out of range, value must between -9223372036854775807 and 9223372036854775807',
    )
  }
  return value
}

function hrandfieldHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  if (args.length >= 3) {
    const count = parseRandomCount(args[2] as Buffer)
    if (args.length > 4 || (args.length === 4 && !argIs(args[3], 'withvalues'))) {
      throw syntaxError()
    }
    const withValues = args.length === 4
    if (withValues && (count < -(int64Max / 2n) || count > int64Max / 2n)) {
      throw new CaskadeError(ErrorCode.Err, 'value is out of range')
    }
    randomFieldsWithCount(ctx, key, Number(count), withValues)
    return
  }
  if (hashSize(ctx, key, 'read') === 0) {
    ctx.reply.nullBulk()
    return
  }
  ctx.reply.bulk(ctx.keyspace.randomField(key))
}

/** Redis's hrandfieldWithCountCommand: negative counts may repeat fields, positive ones not. */
function randomFieldsWithCount(
  ctx: CommandContext,
  key: Buffer,
  count: number,
  withValues: boolean,
): void {
  const size = hashSize(ctx, key, 'read')
  if (size === 0 || count === 0) {
    ctx.reply.arrayHeader(0)
    return
  }
  let fields: Buffer[]
  if (count < 0 || count === 1) {
    fields = []
    for (let i = 0; i < Math.abs(count); i++) fields.push(ctx.keyspace.randomField(key))
  } else {
    fields = ctx.keyspace.fieldNames(key)
    // The whole hash in its own order when asked for at least all of it, as Redis does.
    if (count < size) fields = pickDistinct(ctx, fields, count)
  }
  replyFieldList(ctx.reply, ctx.keyspace, key, fields, withValues)
}

/** `count` distinct fields in random order (a partial Fisher-Yates shuffle). */
export function pickDistinct(ctx: CommandContext, fields: Buffer[], count: number): Buffer[] {
  for (let i = 0; i < count; i++) {
    const j = i + ctx.rng.int(fields.length - i)
    const chosen = fields[j] as Buffer
    fields[j] = fields[i] as Buffer
    fields[i] = chosen
  }
  return fields.slice(0, count)
}

/** RESP2: a flat array; RESP3 with values: an array of [field, value] pairs. */
function replyFieldList(
  reply: ReplyWriter,
  keyspace: Keyspace,
  key: Buffer,
  fields: readonly Buffer[],
  withValues: boolean,
): void {
  const pairs = withValues && reply.protocol === 3
  reply.arrayHeader(withValues && !pairs ? fields.length * 2 : fields.length)
  for (const field of fields) {
    if (pairs) reply.arrayHeader(2)
    reply.bulk(field)
    if (withValues) reply.bulk(fieldValue(keyspace, key, field))
  }
}

function hscanHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const scan = startCollectionScanOrReply(ctx, args, (key) => hashSize(ctx, key, 'read'))
  if (scan === null) return
  const key = scan.key
  // Redis returns a small hash whole, cursor 0
  const whole = isListpackSized(ctx.keyspace, key, scan.size) ? ctx.keyspace.fieldNames(key) : null
  const { items: fields, next } = scanPage(ctx, scan, whole)
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(String(next))
  ctx.reply.arrayHeader(fields.length * 2)
  for (const field of fields) {
    ctx.reply.bulk(field)
    ctx.reply.bulk(fieldValue(ctx.keyspace, key, field))
  }
}

/** Whether Redis would hold this hash as a listpack (its default limits, checked now). */
function isListpackSized(keyspace: Keyspace, key: Buffer, size: number): boolean {
  if (size > listpackEntriesMax) return false
  for (const field of keyspace.fieldNames(key)) {
    if (field.length > listpackValueBytesMax) return false
    const value = keyspace.getField(key, field) ?? emptyBuffer
    if (value.length > listpackValueBytesMax) return false
  }
  return true
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

function hashSpec(fields: SpecFields): CommandSpec {
  return { ...fields, firstKey: 1, lastKey: 1, keyStep: 1, group: 'hash' }
}

const perField =
  'O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.'
const wholeHash = 'O(N) where N is the size of the hash.'

export const hashCommands: readonly CommandSpec[] = [
  hashSpec({
    name: 'hset',
    arity: -4,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the string value of a hash field',
    since: '2.0.0',
    complexity: perField,
    handler: hsetHandler,
  }),
  hashSpec({
    name: 'hmset',
    arity: -4,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set multiple hash fields to multiple values',
    since: '2.0.0',
    complexity: 'O(N) where N is the number of fields being set.',
    handler: hmsetHandler,
  }),
  hashSpec({
    name: 'hsetnx',
    arity: 4,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the value of a hash field, only if the field does not exist',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: hsetnxHandler,
  }),
  hashSpec({
    name: 'hget',
    arity: 3,
    flags: ['readonly', 'fast'],
    summary: 'Get the value of a hash field',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: hgetHandler,
  }),
  hashSpec({
    name: 'hmget',
    arity: -3,
    flags: ['readonly', 'fast'],
    summary: 'Get the values of all the given hash fields',
    since: '2.0.0',
    complexity: 'O(N) where N is the number of fields being requested.',
    handler: hmgetHandler,
  }),
  hashSpec({
    name: 'hdel',
    arity: -3,
    flags: ['write', 'fast'],
    summary: 'Delete one or more hash fields',
    since: '2.0.0',
    complexity: 'O(N) where N is the number of fields to be removed.',
    handler: hdelHandler,
  }),
  hashSpec({
    name: 'hlen',
    arity: 2,
    flags: ['readonly', 'fast'],
    summary: 'Get the number of fields in a hash',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: hlenHandler,
  }),
  hashSpec({
    name: 'hstrlen',
    arity: 3,
    flags: ['readonly', 'fast'],
    summary: 'Get the length of the value of a hash field',
    since: '3.2.0',
    complexity: 'O(1)',
    handler: hstrlenHandler,
  }),
  hashSpec({
    name: 'hexists',
    arity: 3,
    flags: ['readonly', 'fast'],
    summary: 'Determine if a hash field exists',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: hexistsHandler,
  }),
  hashSpec({
    name: 'hkeys',
    arity: 2,
    flags: ['readonly'],
    summary: 'Get all the fields in a hash',
    since: '2.0.0',
    complexity: wholeHash,
    handler: hkeysHandler,
  }),
  hashSpec({
    name: 'hvals',
    arity: 2,
    flags: ['readonly'],
    summary: 'Get all the values in a hash',
    since: '2.0.0',
    complexity: wholeHash,
    handler: hvalsHandler,
  }),
  hashSpec({
    name: 'hgetall',
    arity: 2,
    flags: ['readonly'],
    summary: 'Get all the fields and values in a hash',
    since: '2.0.0',
    complexity: wholeHash,
    handler: hgetallHandler,
  }),
  hashSpec({
    name: 'hincrby',
    arity: 4,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the integer value of a hash field by the given number',
    since: '2.0.0',
    complexity: 'O(1)',
    handler: hincrbyHandler,
  }),
  hashSpec({
    name: 'hincrbyfloat',
    arity: 4,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the float value of a hash field by the given amount',
    since: '2.6.0',
    complexity: 'O(1)',
    handler: hincrbyfloatHandler,
  }),
  hashSpec({
    name: 'hrandfield',
    arity: -2,
    flags: ['readonly'],
    summary: 'Get one or multiple random fields from a hash',
    since: '6.2.0',
    complexity: 'O(N) where N is the number of fields returned',
    handler: hrandfieldHandler,
  }),
  hashSpec({
    name: 'hscan',
    arity: -3,
    flags: ['readonly'],
    summary: 'Incrementally iterate hash fields and associated values',
    since: '2.8.0',
    complexity:
      'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..',
    handler: hscanHandler,
  }),
]
