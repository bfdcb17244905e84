/* The set commands (SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
 * SUNION SDIFF and their STORE forms, SINTERCARD, SSCAN) with Redis 7.0's argument order, reply
 * shapes (RESP3 sets) and error texts. Member lists of a set Redis would hold as an intset (only
 * integers, at most 512) come out in numeric order, as Redis's do; others in insertion order. */
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import type { Keyspace } from '../keyspace/types.js'
import { atomically } from './atomic.js'
import { scanPage, startCollectionScanOrReply } from './collection-scan.js'
import { parseRandomCount, pickDistinct } from './hashes.js'
import { NotifyClass, notifyKeyspaceEvent, notifyNewKey } from './notify.js'
import { parseInt64 } from './strings.js'
import type { CommandContext, CommandFlag, CommandSpec } from './types.js'

/** Redis's set-max-intset-entries default. */
const intsetEntriesMax = 512
const noValue = Buffer.alloc(0)
const int64Max = 9223372036854775807n

const setSize = (ctx: CommandContext, key: Buffer, lookup: 'read' | 'write'): number =>
  ctx.keyspace.collectionSize(key, 'set', lookup)

/** Members in Redis's reply order: numeric for an intset-sized set of integers. */
export function orderMembers(members: Buffer[]): Buffer[] {
  if (members.length > intsetEntriesMax) return members
  const numbers: Array<[bigint, Buffer]> = []
  for (const member of members) {
    const value = parseInt64(member)
    if (value === null) return members
    numbers.push([BigInt(value), member])
  }
  numbers.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return numbers.map(([, member]) => member)
}

function membersOf(ctx: CommandContext, key: Buffer): Buffer[] {
  return orderMembers(ctx.keyspace.fieldNames(key))
}

function replySet(ctx: CommandContext, members: readonly Buffer[]): void {
  ctx.reply.setHeader(members.length)
  for (const member of members) ctx.reply.bulk(member)
}

/** Adds members (one atomic group); sends 'new' when `wasAbsent` then 'sadd' if any was new. */
function addMembers(
  ctx: CommandContext,
  key: Buffer,
  members: readonly Buffer[],
  wasAbsent: boolean,
): number {
  const added = atomically(ctx, () => {
    let count = 0
    for (const member of members) if (ctx.keyspace.setField(key, 'set', member, noValue)) count++
    return count
  })
  if (added === 0) return 0
  notifyNewKey(ctx, key, wasAbsent)
  notifyKeyspaceEvent(ctx, NotifyClass.Set, 'sadd', key)
  return added
}

/** Removes members; sends `event` (class Set), then a generic 'del' when the set is gone. */
function removeMembers(
  ctx: CommandContext,
  key: Buffer,
  members: readonly Buffer[],
  event: string,
): number {
  const size = setSize(ctx, key, 'write')
  const removed = size === 0 ? 0 : ctx.keyspace.deleteFields(key, members)
  if (removed === 0) return 0
  notifyKeyspaceEvent(ctx, NotifyClass.Set, event, key)
  if (removed === size) notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', key)
  return removed
}

function saddHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const wasAbsent = setSize(ctx, key, 'write') === 0
  ctx.reply.integer(addMembers(ctx, key, args.slice(2), wasAbsent))
}

function sremHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(removeMembers(ctx, args[1] as Buffer, args.slice(2), 'srem'))
}

function smembersHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  replySet(ctx, setSize(ctx, key, 'read') > 0 ? membersOf(ctx, key) : [])
}

function sismemberHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const found = setSize(ctx, key, 'read') > 0 && ctx.keyspace.hasField(key, args[2] as Buffer)
  ctx.reply.integer(found ? 1 : 0)
}

function smismemberHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const key = args[1] as Buffer
  const live = setSize(ctx, key, 'read') > 0
  ctx.reply.arrayHeader(args.length - 2)
  for (let i = 2; i < args.length; i++) {
    ctx.reply.integer(live && ctx.keyspace.hasField(key, args[i] as Buffer) ? 1 : 0)
  }
}

function scardHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(setSize(ctx, args[1] as Buffer, 'read'))
}

/** Redis's spopCommand: one random member, or spopWithCountCommand's set of them. */
function spopHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 3) throw syntaxError()
  const key = args[1] as Buffer
  if (args.length === 3) {
    // getPositiveLongFromObjectOrReply: one text for a non-integer and a negative count.
    const count = parseInt64(args[2] as Buffer)
    if (count === null || count < 0) {
      throw new CaskadeError(ErrorCode.Err, 'value is out of range, must be positive')
    }
    const size = setSize(ctx, key, 'write')
    if (size === 0 || count === 0) {
      replySet(ctx, [])
      return
    }
    // The whole set is replied by Redis's SUNION code, whose read lookup counts a keyspace hit.
    if (count >= size) setSize(ctx, key, 'read')
    const members = membersOf(ctx, key)
    const popped = count >= size ? members : pickDistinct(ctx, members, Number(count))
    removeMembers(ctx, key, popped, 'spop')
    replySet(ctx, popped)
    return
  }
  if (setSize(ctx, key, 'write') === 0) {
    ctx.reply.nullBulk()
    return
  }
  const member = ctx.keyspace.randomField(key)
  removeMembers(ctx, key, [member], 'spop')
  ctx.reply.bulk(member)
}

function srandmemberHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 3) throw syntaxError()
  const key = args[1] as Buffer
  if (args.length === 3) {
    const count = Number(parseRandomCount(args[2] as Buffer))
    const size = setSize(ctx, key, 'read')
    let members: Buffer[] = []
    if (size > 0 && (count < 0 || count === 1)) {
      for (let i = 0; i < Math.abs(count); i++) members.push(ctx.keyspace.randomField(key))
    } else if (size > 0 && count > 0) {
      members = membersOf(ctx, key)
      if (count < size) members = pickDistinct(ctx, members, count)
    }
    ctx.reply.arrayHeader(members.length)
    for (const member of members) ctx.reply.bulk(member)
    return
  }
  if (setSize(ctx, key, 'read') === 0) ctx.reply.nullBulk()
  else ctx.reply.bulk(ctx.keyspace.randomField(key))
}

/** Redis's smoveCommand: a missing source answers 0 before any type check. */
function smoveHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const source = args[1] as Buffer
  const target = args[2] as Buffer
  const member = args[3] as Buffer
  const keyspace = ctx.keyspace
  if (!keyspace.has(source)) {
    keyspace.has(target) // Redis looks the destination up too (expiring it lazily)
    ctx.reply.integer(0)
    return
  }
  setSize(ctx, source, 'write')
  const targetAbsent = setSize(ctx, target, 'write') === 0
  if (source.equals(target)) {
    ctx.reply.integer(keyspace.hasField(source, member) ? 1 : 0)
    return
  }
  // Removal from the source and addition to the destination: one atomic group on disk.
  const moved = atomically(ctx, () => {
    if (removeMembers(ctx, source, [member], 'srem') === 0) return false
    addMembers(ctx, target, [member], targetAbsent)
    return true
  })
  ctx.reply.integer(moved ? 1 : 0)
}

/** The live sets named by `keys` (null for a missing one); WRONGTYPE on any other type. */
function lookupSets(ctx: CommandContext, keys: readonly Buffer[], store: boolean): boolean[] {
  return keys.map((key) => setSize(ctx, key, store ? 'write' : 'read') > 0)
}

type SetOperation = 'inter' | 'union' | 'diff'

/** The result of an operation over the named sets, as latin1 member names in result order. */
function combine(keyspace: Keyspace, keys: readonly Buffer[], live: boolean[], op: SetOperation) {
  if (op === 'inter') {
    if (live.some((present) => !present)) return []
    const sizes = keys.map((key) => keyspace.collectionSize(key, 'set', 'write'))
    const order = keys.map((_, index) => index).sort((a, b) => (sizes[a] ?? 0) - (sizes[b] ?? 0))
    const smallest = keys[order[0] as number] as Buffer
    const others = order.slice(1).map((index) => keys[index] as Buffer)
    return orderMembers(keyspace.fieldNames(smallest)).filter((member) =>
      others.every((key) => keyspace.hasField(key, member)),
    )
  }
  const result = new Map<string, Buffer>()
  keys.forEach((key, index) => {
    if (!live[index]) return
    for (const member of keyspace.fieldNames(key)) {
      const name = member.toString('latin1')
      if (op === 'union' || index === 0) result.set(name, member)
      else result.delete(name)
    }
  })
  return orderMembers([...result.values()])
}

function setOperation(ctx: CommandContext, keys: readonly Buffer[], op: SetOperation): void {
  const live = lookupSets(ctx, keys, false)
  replySet(ctx, combine(ctx.keyspace, keys, live, op))
}

/** The STORE forms: the destination is replaced (whatever it held) or deleted when empty. */
function storeOperation(ctx: CommandContext, args: readonly Buffer[], op: SetOperation): void {
  const target = args[1] as Buffer
  const keys = args.slice(2)
  const live = lookupSets(ctx, keys, false) // Redis 7.0 reads the sources with lookupKeyRead
  const members = combine(ctx.keyspace, keys, live, op)
  const targetExisted = ctx.keyspace.has(target)
  // The old destination leaves and the result arrives in one atomic group.
  atomically(ctx, () => {
    if (targetExisted) ctx.keyspace.delete(target)
    for (const member of members) ctx.keyspace.setField(target, 'set', member, noValue)
  })
  if (members.length > 0) {
    notifyNewKey(ctx, target, !targetExisted)
    notifyKeyspaceEvent(ctx, NotifyClass.Set, `s${op}store`, target)
  } else if (targetExisted) {
    notifyKeyspaceEvent(ctx, NotifyClass.Generic, 'del', target)
  }
  ctx.reply.integer(members.length)
}

function sintercardHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const numKeys = parseInt64(args[1] as Buffer)
  if (numKeys === null || numKeys < 1) {
    throw new CaskadeError(ErrorCode.Err, 'numkeys should be greater than 0')
  }
  if (numKeys > args.length - 2) {
    throw new CaskadeError(ErrorCode.Err, "Number of keys can't be greater than number of args")
  }
  let limit = 0
  for (let i = 2 + Number(numKeys); i < args.length; i++) {
    if (!argIsLimit(args[i]) || i === args.length - 1) throw syntaxError()
    i++
    const parsed = parseInt64(args[i] as Buffer)
    if (parsed === null || parsed < 0) {
      throw new CaskadeError(ErrorCode.Err, "LIMIT can't be negative")
    }
    limit = BigInt(parsed) > int64Max ? Number.MAX_SAFE_INTEGER : Number(parsed)
  }
  const keys = args.slice(2, 2 + Number(numKeys))
  const members = combine(ctx.keyspace, keys, lookupSets(ctx, keys, false), 'inter')
  ctx.reply.integer(limit > 0 ? Math.min(limit, members.length) : members.length)
}

const argIsLimit = (arg: Buffer | undefined): boolean =>
  arg !== undefined && arg.toString('latin1').toLowerCase() === 'limit'

function sscanHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const scan = startCollectionScanOrReply(ctx, args, (key) => setSize(ctx, key, 'read'))
  if (scan === null) return
  const all = ctx.keyspace.fieldNames(scan.key)
  const ordered = orderMembers(all)
  // An intset: Redis returns it whole, cursor 0.
  const { items: members, next } = scanPage(ctx, scan, ordered !== all ? ordered : null)
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(String(next))
  ctx.reply.arrayHeader(members.length)
  for (const member of members) ctx.reply.bulk(member)
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

function setSpec(fields: SpecFields, keys = { firstKey: 1, lastKey: 1, keyStep: 1 }): CommandSpec {
  return { ...fields, ...keys, group: 'set' }
}

const allKeys = { firstKey: 1, lastKey: -1, keyStep: 1 }
const interComplexity =
  'O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.'
const unionComplexity = 'O(N) where N is the total number of elements in all given sets.'
const diffComplexity = unionComplexity

const operationHandler =
  (op: SetOperation) =>
  (ctx: CommandContext, args: readonly Buffer[]): void =>
    setOperation(ctx, args.slice(1), op)
const storeHandler =
  (op: SetOperation) =>
  (ctx: CommandContext, args: readonly Buffer[]): void =>
    storeOperation(ctx, args, op)

export const setCommands: readonly CommandSpec[] = [
  setSpec({
    name: 'sadd',
    arity: -3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Add one or more members to a set',
    since: '1.0.0',
    complexity:
      'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.',
    handler: saddHandler,
  }),
  setSpec({
    name: 'srem',
    arity: -3,
    flags: ['write', 'fast'],
    summary: 'Remove one or more members from a set',
    since: '1.0.0',
    complexity: 'O(N) where N is the number of members to be removed.',
    handler: sremHandler,
  }),
  setSpec({
    name: 'smembers',
    arity: 2,
    flags: ['readonly'],
    summary: 'Get all the members in a set',
    since: '1.0.0',
    complexity: 'O(N) where N is the set cardinality.',
    handler: smembersHandler,
  }),
  setSpec({
    name: 'sismember',
    arity: 3,
    flags: ['readonly', 'fast'],
    summary: 'Determine if a given value is a member of a set',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: sismemberHandler,
  }),
  setSpec({
    name: 'smismember',
    arity: -3,
    flags: ['readonly', 'fast'],
    summary: 'Returns the membership associated with the given elements for a set',
    since: '6.2.0',
    complexity: 'O(N) where N is the number of elements being checked for membership',
    handler: smismemberHandler,
  }),
  setSpec({
    name: 'scard',
    arity: 2,
    flags: ['readonly', 'fast'],
    summary: 'Get the number of members in a set',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: scardHandler,
  }),
  setSpec({
    name: 'spop',
    arity: -2,
    flags: ['write', 'fast'],
    summary: 'Remove and return one or multiple random members from a set',
    since: '1.0.0',
    complexity:
      'Without the count argument O(1), otherwise O(N) where N is the value of the passed count.',
    handler: spopHandler,
  }),
  setSpec({
    name: 'srandmember',
    arity: -2,
    flags: ['readonly'],
    summary: 'Get one or multiple random members from a set',
    since: '1.0.0',
    complexity:
      'Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.',
    handler: srandmemberHandler,
  }),
  setSpec(
    {
      name: 'smove',
      arity: 4,
      flags: ['write', 'fast'],
      summary: 'Move a member from one set to another',
      since: '1.0.0',
      complexity: 'O(1)',
      handler: smoveHandler,
    },
    { firstKey: 1, lastKey: 2, keyStep: 1 },
  ),
  setSpec(
    {
      name: 'sinter',
      arity: -2,
      flags: ['readonly'],
      summary: 'Intersect multiple sets',
      since: '1.0.0',
      complexity: interComplexity,
      handler: operationHandler('inter'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sinterstore',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Intersect multiple sets and store the resulting set in a key',
      since: '1.0.0',
      complexity: interComplexity,
      handler: storeHandler('inter'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sunion',
      arity: -2,
      flags: ['readonly'],
      summary: 'Add multiple sets',
      since: '1.0.0',
      complexity: unionComplexity,
      handler: operationHandler('union'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sunionstore',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Add multiple sets and store the resulting set in a key',
      since: '1.0.0',
      complexity: unionComplexity,
      handler: storeHandler('union'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sdiff',
      arity: -2,
      flags: ['readonly'],
      summary: 'Subtract multiple sets',
      since: '1.0.0',
      complexity: diffComplexity,
      handler: operationHandler('diff'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sdiffstore',
      arity: -3,
      flags: ['write', 'denyoom'],
      summary: 'Subtract multiple sets and store the resulting set in a key',
      since: '1.0.0',
      complexity: diffComplexity,
      handler: storeHandler('diff'),
    },
    allKeys,
  ),
  setSpec(
    {
      name: 'sintercard',
      arity: -3,
      flags: ['readonly', 'movablekeys'],
      summary: 'Intersect multiple sets and return the cardinality of the result',
      since: '7.0.0',
      complexity: interComplexity,
      handler: sintercardHandler,
    },
    { firstKey: 0, lastKey: 0, keyStep: 0 },
  ),
  setSpec({
    name: 'sscan',
    arity: -3,
    flags: ['readonly'],
    summary: 'Incrementally iterate Set elements',
    since: '2.8.0',
    complexity:
      'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..',
    handler: sscanHandler,
  }),
]
