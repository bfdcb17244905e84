/* The generic key commands (DEL EXISTS TYPE RENAME KEYS SCAN RANDOMKEY, the EXPIRE and TTL
 * families, PERSIST TOUCH COPY) with Redis 7.0's argument rules and error texts. Only database 0
 * exists: COPY ... DB n with n != 0 answers Redis's "DB index is out of range". */
import { CaskadeError, ErrorCode, RedisErrors, syntaxError } from '../core/errors.js'
import { argIs } from './args.js'
import { notifyKeyspaceEvent, notifyNewKey, NotifyClass } from './notify.js'
import { invalidExpireError, parseInt64OrThrow } from './strings.js'
import type { KeyMoveResult } from '../keyspace/types.js'
import type { CommandContext, CommandFlag, CommandSpec } from './types.js'

const int64Max = 9223372036854775807n
const int64Min = -9223372036854775808n
const uint64Max = 18446744073709551615n
const int32Max = 2147483647
const int32Min = -2147483648

function delHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  let deleted = 0
  for (let i = 1; i < args.length; i++) {
    const key = args[i] as Buffer
    if (!ctx.keyspace.delete(key)) continue
    deleted++
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  }
  ctx.reply.integer(deleted)
}

/** EXISTS and TOUCH: how many of the keys exist (a key named twice counts twice). */
function existsHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  let found = 0
  for (let i = 1; i < args.length; i++) if (ctx.keyspace.exists(args[i] as Buffer)) found++
  ctx.reply.integer(found)
}

function typeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.simple(ctx.keyspace.typeOf(args[1] as Buffer))
}

function renameHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const result = renameAndNotify(ctx, args, false)
  if (result === 'no-source') throw new CaskadeError(ErrorCode.Err, RedisErrors.noSuchKey)
  ctx.reply.simple('OK')
}

function renamenxHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const result = renameAndNotify(ctx, args, true)
  if (result === 'no-source') throw new CaskadeError(ErrorCode.Err, RedisErrors.noSuchKey)
  ctx.reply.integer(result === 'done' ? 1 : 0)
}

/** Redis's renameGenericCommand events: 'new' (dbAdd of the target), rename_from, rename_to. */
function renameAndNotify(
  ctx: CommandContext,
  args: readonly Buffer[],
  onlyIfAbsent: boolean,
): KeyMoveResult {
  const from = args[1] as Buffer
  const to = args[2] as Buffer
  const result = ctx.keyspace.rename(from, to, { onlyIfAbsent })
  if (result === 'done' && !from.equals(to)) {
    notifyNewKey(ctx, to, true)
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'rename_from', from)
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'rename_to', to)
  }
  return result
}

function keysHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const keys = ctx.keyspace.keys(args[1] as Buffer)
  ctx.reply.arrayHeader(keys.length)
  for (const key of keys) ctx.reply.bulk(key)
}

/** Redis's parseScanCursorOrReply: strtoul (a '-' wraps, "" is 0), no leading space. */
export function parseScanCursor(arg: Buffer): number {
  const text = arg.toString('latin1')
  const match = /^([+-]?)(\d*)$/.exec(text)
  if (match === null || (match[2] === '' && match[1] !== '')) {
    throw new CaskadeError(ErrorCode.Err, 'invalid cursor')
  }
  let value = match[2] === '' ? 0n : BigInt(match[2] as string)
  if (value > uint64Max) throw new CaskadeError(ErrorCode.Err, 'invalid cursor')
  if (match[1] === '-' && value !== 0n) value = uint64Max + 1n - value
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
}

/** Redis's default SCAN COUNT. */
const scanCountDefault = 10

function scanHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const cursor = parseScanCursor(args[1] as Buffer)
  let count = scanCountDefault
  let match: Buffer | null = null
  let type: string | null = null
  for (let i = 2; i < args.length; i += 2) {
    const arg = args[i]
    const value = args[i + 1]
    if (value === undefined) throw syntaxError()
    if (argIs(arg, 'count')) {
      const parsed = parseInt64OrThrow(value)
      if (parsed < 1) throw syntaxError()
      count = typeof parsed === 'number' ? parsed : Number.MAX_SAFE_INTEGER
    } else if (argIs(arg, 'match')) {
      match = value.length === 1 && value[0] === 0x2a ? null : value
    } else if (argIs(arg, 'type')) {
      type = value.toString('latin1')
    } else {
      throw syntaxError()
    }
  }
  const page = ctx.keyspace.scan(cursor, { match, count, type })
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(String(page.cursor))
  ctx.reply.arrayHeader(page.keys.length)
  for (const key of page.keys) ctx.reply.bulk(key)
}

function randomkeyHandler(ctx: CommandContext): void {
  const key = ctx.keyspace.randomKey()
  if (key === null) ctx.reply.nullBulk()
  else ctx.reply.bulk(key)
}

// EXPIRE's NX/XX/GT/LT option bits.
const expireNx = 1
const expireXx = 2
const expireGt = 4
const expireLt = 8

/** Redis's parseExtendedExpireArgumentsOrReply. */
function parseExpireOptions(args: readonly Buffer[]): number {
  let flags = 0
  for (let i = 3; i < args.length; i++) {
    const arg = args[i] as Buffer
    if (argIs(arg, 'nx')) flags |= expireNx
    else if (argIs(arg, 'xx')) flags |= expireXx
    else if (argIs(arg, 'gt')) flags |= expireGt
    else if (argIs(arg, 'lt')) flags |= expireLt
    else throw new CaskadeError(ErrorCode.Err, `Unsupported option ${arg.toString()}`)
  }
  if ((flags & expireNx) !== 0 && (flags & (expireXx | expireGt | expireLt)) !== 0) {
    throw new CaskadeError(
      ErrorCode.Err,
      'NX and XX, GT or LT options at the same time are not compatible',
    )
  }
  if ((flags & expireGt) !== 0 && (flags & expireLt) !== 0) {
    throw new CaskadeError(ErrorCode.Err, 'GT and LT options at the same time are not compatible')
  }
  return flags
}

interface ExpireVariant {
  command: string
  seconds: boolean
  /** Relative to now (EXPIRE, PEXPIRE) or absolute (EXPIREAT, PEXPIREAT). */
  relative: boolean
}

/** The absolute expiry in Unix ms, with Redis's int64 overflow checks (negative is allowed). */
function expireWhenMs(ctx: CommandContext, arg: Buffer, variant: ExpireVariant): number {
  const value = parseInt64OrThrow(arg)
  const baseMs = variant.relative ? Math.floor(ctx.clock.wallMs()) : 0
  if (typeof value === 'number' && Math.abs(value) < 1e12) {
    return (variant.seconds ? value * 1000 : value) + baseMs
  }
  let when = BigInt(value)
  if (variant.seconds) {
    if (when > int64Max / 1000n || when < int64Min / 1000n) {
      throw invalidExpireError(variant.command)
    }
    when *= 1000n
  }
  if (when > int64Max - BigInt(baseMs)) throw invalidExpireError(variant.command)
  return Number(when + BigInt(baseMs))
}

/** Redis's expireGenericCommand: the NX/XX/GT/LT checks against the current expiry. */
function expireGeneric(ctx: CommandContext, args: readonly Buffer[], variant: ExpireVariant): void {
  const flags = parseExpireOptions(args)
  const whenMs = expireWhenMs(ctx, args[2] as Buffer, variant)
  const key = args[1] as Buffer
  const current = ctx.keyspace.peekExpiresAtMs(key)
  const refused =
    current === -2 ||
    ((flags & expireNx) !== 0 && current !== -1) ||
    ((flags & expireXx) !== 0 && current === -1) ||
    ((flags & expireGt) !== 0 && (current === -1 || whenMs <= current)) ||
    ((flags & expireLt) !== 0 && current !== -1 && whenMs >= current)
  if (refused) {
    ctx.reply.integer(0)
    return
  }
  ctx.keyspace.expireAt(key, whenMs)
  // A time not after now deletes the key (Redis's checkAlreadyExpired): a 'del' event.
  const event = whenMs <= ctx.clock.wallMs() ? 'del' : 'expire'
  notifyKeyspaceEvent(ctx, NotifyClass.Generic, event, key)
  ctx.reply.integer(1)
}

const expireVariant: ExpireVariant = { command: 'expire', seconds: true, relative: true }
const pexpireVariant: ExpireVariant = { command: 'pexpire', seconds: false, relative: true }
const expireatVariant: ExpireVariant = { command: 'expireat', seconds: true, relative: false }
const pexpireatVariant: ExpireVariant = { command: 'pexpireat', seconds: false, relative: false }

function expireHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  expireGeneric(ctx, args, expireVariant)
}
function pexpireHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  expireGeneric(ctx, args, pexpireVariant)
}
function expireatHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  expireGeneric(ctx, args, expireatVariant)
}
function pexpireatHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  expireGeneric(ctx, args, pexpireatVariant)
}

/** Redis's ttlGenericCommand: -2 absent, -1 no expiry, else the (rounded) time left or the time. */
function ttlGeneric(
  ctx: CommandContext,
  args: readonly Buffer[],
  output: { ms: boolean; absolute: boolean },
): void {
  const expiresAtMs = ctx.keyspace.expiresAtMs(args[1] as Buffer)
  if (expiresAtMs < 0) {
    ctx.reply.integer(expiresAtMs)
    return
  }
  let ttl = output.absolute ? expiresAtMs : expiresAtMs - ctx.clock.wallMs()
  if (ttl < 0) ttl = 0
  const value = output.ms ? Math.floor(ttl) : Math.floor((ttl + 500) / 1000)
  // Expiry times past 2^53 ms are stored as doubles: clamp what we print to int64.
  if (Number.isSafeInteger(value)) ctx.reply.integer(value)
  else ctx.reply.integer(BigInt(value) > int64Max ? int64Max : BigInt(value))
}

const ttlOutput = { ms: false, absolute: false }
const pttlOutput = { ms: true, absolute: false }
const expiretimeOutput = { ms: false, absolute: true }
const pexpiretimeOutput = { ms: true, absolute: true }

function ttlHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ttlGeneric(ctx, args, ttlOutput)
}
function pttlHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ttlGeneric(ctx, args, pttlOutput)
}
function expiretimeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ttlGeneric(ctx, args, expiretimeOutput)
}
function pexpiretimeHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ttlGeneric(ctx, args, pexpiretimeOutput)
}

function persistHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const persisted = ctx.keyspace.persist(key)
  if (persisted) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'persist', key)
  ctx.reply.integer(persisted ? 1 : 0)
}

/** COPY source destination [DB n] [REPLACE]; options are checked before the keys, as Redis. */
function copyHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  let replace = false
  for (let i = 3; i < args.length; i++) {
    const arg = args[i]
    if (argIs(arg, 'replace')) {
      replace = true
    } else if (argIs(arg, 'db') && i + 1 < args.length) {
      const db = parseInt64OrThrow(args[++i] as Buffer)
      if (db > int32Max || db < int32Min) {
        throw new CaskadeError(
          ErrorCode.Err,
          'value is out of range, value must between -2147483648 and 2147483647',
        )
      }
      if (db !== 0) throw new CaskadeError(ErrorCode.Err, 'DB index is out of range')
    } else {
      throw syntaxError()
    }
  }
  const source = args[1] as Buffer
  const destination = args[2] as Buffer
  if (source.equals(destination)) {
    throw new CaskadeError(ErrorCode.Err, 'source and destination objects are the same')
  }
  const result = ctx.keyspace.copy(source, destination, { replace })
  if (result === 'done') {
    notifyNewKey(ctx, destination, true)
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'copy_to', destination)
  }
  ctx.reply.integer(result === 'done' ? 1 : 0)
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

const oneKey = { firstKey: 1, lastKey: 1, keyStep: 1 }
const allKeys = { firstKey: 1, lastKey: -1, keyStep: 1 }
const twoKeys = { firstKey: 1, lastKey: 2, keyStep: 1 }
const noKeys = { firstKey: 0, lastKey: 0, keyStep: 0 }

function keySpec(fields: SpecFields, keys: typeof oneKey): CommandSpec {
  return { ...fields, ...keys, group: 'generic' }
}

export const keyCommands: readonly CommandSpec[] = [
  keySpec(
    {
      name: 'del',
      arity: -2,
      flags: ['write'],
      summary: 'Delete a key',
      since: '1.0.0',
      complexity:
        'O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).',
      handler: delHandler,
    },
    allKeys,
  ),
  keySpec(
    {
      name: 'unlink',
      arity: -2,
      flags: ['write', 'fast'],
      summary:
        'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.',
      since: '4.0.0',
      complexity:
        'O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.',
      handler: delHandler,
    },
    allKeys,
  ),
  keySpec(
    {
      name: 'exists',
      arity: -2,
      flags: ['readonly', 'fast'],
      summary: 'Determine if a key exists',
      since: '1.0.0',
      complexity: 'O(N) where N is the number of keys to check.',
      handler: existsHandler,
    },
    allKeys,
  ),
  keySpec(
    {
      name: 'type',
      arity: 2,
      flags: ['readonly', 'fast'],
      summary: 'Determine the type stored at key',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: typeHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'rename',
      arity: 3,
      flags: ['write'],
      summary: 'Rename a key',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: renameHandler,
    },
    twoKeys,
  ),
  keySpec(
    {
      name: 'renamenx',
      arity: 3,
      flags: ['write', 'fast'],
      summary: 'Rename a key, only if the new key does not exist',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: renamenxHandler,
    },
    twoKeys,
  ),
  keySpec(
    {
      name: 'keys',
      arity: 2,
      flags: ['readonly'],
      summary: 'Find all keys matching the given pattern',
      since: '1.0.0',
      complexity:
        'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.',
      handler: keysHandler,
    },
    noKeys,
  ),
  keySpec(
    {
      name: 'scan',
      arity: -2,
      flags: ['readonly'],
      summary: 'Incrementally iterate the keys space',
      since: '2.8.0',
      complexity:
        'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.',
      handler: scanHandler,
    },
    noKeys,
  ),
  keySpec(
    {
      name: 'randomkey',
      arity: 1,
      flags: ['readonly'],
      summary: 'Return a random key from the keyspace',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: randomkeyHandler,
    },
    noKeys,
  ),
  keySpec(
    {
      name: 'expire',
      arity: -3,
      flags: ['write', 'fast'],
      summary: "Set a key's time to live in seconds",
      since: '1.0.0',
      complexity: 'O(1)',
      handler: expireHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'pexpire',
      arity: -3,
      flags: ['write', 'fast'],
      summary: "Set a key's time to live in milliseconds",
      since: '2.6.0',
      complexity: 'O(1)',
      handler: pexpireHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'expireat',
      arity: -3,
      flags: ['write', 'fast'],
      summary: 'Set the expiration for a key as a UNIX timestamp',
      since: '1.2.0',
      complexity: 'O(1)',
      handler: expireatHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'pexpireat',
      arity: -3,
      flags: ['write', 'fast'],
      summary: 'Set the expiration for a key as a UNIX timestamp specified in milliseconds',
      since: '2.6.0',
      complexity: 'O(1)',
      handler: pexpireatHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'ttl',
      arity: 2,
      flags: ['readonly', 'fast'],
      summary: 'Get the time to live for a key in seconds',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: ttlHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'pttl',
      arity: 2,
      flags: ['readonly', 'fast'],
      summary: 'Get the time to live for a key in milliseconds',
      since: '2.6.0',
      complexity: 'O(1)',
      handler: pttlHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'expiretime',
      arity: 2,
      flags: ['readonly', 'fast'],
      summary: 'Get the expiration Unix timestamp for a key',
      since: '7.0.0',
      complexity: 'O(1)',
      handler: expiretimeHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'pexpiretime',
      arity: 2,
      flags: ['readonly', 'fast'],
      summary: 'Get the expiration Unix timestamp for a key in milliseconds',
      since: '7.0.0',
      complexity: 'O(1)',
      handler: pexpiretimeHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'persist',
      arity: 2,
      flags: ['write', 'fast'],
      summary: 'Remove the expiration from a key',
      since: '2.2.0',
      complexity: 'O(1)',
      handler: persistHandler,
    },
    oneKey,
  ),
  keySpec(
    {
      name: 'touch',
      arity: -2,
      flags: ['readonly', 'fast'],
      summary:
        'Alters the last access time of a key(s). Returns the number of existing keys specified.',
      since: '3.2.1',
      complexity: 'O(N) where N is the number of keys that will be touched.',
      handler: existsHandler,
    },
    allKeys,
  ),
  keySpec(
    {
      name: 'copy',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Copy a key',
      since: '6.2.0',
      complexity:
        'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.',
      handler: copyHandler,
    },
    twoKeys,
  ),
]
