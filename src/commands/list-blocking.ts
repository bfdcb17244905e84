/* BLPOP BRPOP BLMOVE BLMPOP, as Redis 7.0's blockingPopGenericCommand and blmoveGenericCommand:
 * pop from the first non-empty list among the keys, or block until a push fills one (served by
 * blocking.ts from the key that became ready). Invariant: the reply shape is the same whether it
 * comes at once or when served; a client that cannot block (inside EXEC) gets the timeout's nil. */
import { CaskadeError, ErrorCode, syntaxError, wrongTypeError } from '../core/errors.js'
import type { ListSide } from '../keyspace/types.js'
import { atomically } from './atomic.js'
import { canBlock, parseBlockTimeoutOrThrow, type ServeFromKey } from './blocking.js'
import { listBlockingSpecMeta } from './list-blocking-meta.js'
import { specsFromMeta } from './spec-meta.js'
import { moveAndNotify, parseMpopArgs, popAndNotify } from './lists.js'
import type { CommandContext, CommandSpec } from './types.js'

/** BLPOP/BRPOP pop one value and reply [key, value]; BLMPOP pops up to `count`: [key, [values]]. */
interface PopShape {
  side: ListSide
  /** null: BLPOP/BRPOP's single value. */
  count: number | null
}

function popAndReply(ctx: CommandContext, key: Buffer, shape: PopShape): void {
  const values = atomically(ctx, () => popAndNotify(ctx, key, shape.side, shape.count ?? 1))
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(key)
  if (shape.count !== null) ctx.reply.arrayHeader(values.length)
  for (const value of values) ctx.reply.bulk(value)
}

/** The live list length of `key` for serving, or 0 when absent or of another type (Redis serves
 * only clients of the key's type; the others keep waiting). */
function servableLength(ctx: CommandContext, key: Buffer): number {
  try {
    return ctx.keyspace.listLength(key, 'write')
  } catch (error) {
    if (error instanceof CaskadeError && error.code === ErrorCode.WrongType) return 0
    throw error
  }
}

const servePop =
  (shape: PopShape): ServeFromKey =>
  (ctx, key) => {
    if (servableLength(ctx, key) === 0) return false
    popAndReply(ctx, key, shape)
    return true
  }

/** Redis's blockingPopGenericCommand after its caller parsed the keys. */
function blockingPop(
  ctx: CommandContext,
  keys: readonly Buffer[],
  shape: PopShape,
  timeoutArg: Buffer,
): void {
  const timeoutMs = parseBlockTimeoutOrThrow(timeoutArg)
  for (const key of keys) {
    if (ctx.keyspace.listLength(key, 'write') === 0) continue
    popAndReply(ctx, key, shape)
    return
  }
  if (!canBlock(ctx) || ctx.blocking === undefined) {
    ctx.reply.nullArray()
    return
  }
  ctx.blocking.block(ctx, { keys, timeoutMs, serve: servePop(shape) })
}

const bpopHandler =
  (side: ListSide) =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    blockingPop(ctx, args.slice(1, -1), { side, count: null }, args[args.length - 1] as Buffer)
  }

/** BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the timeout is parsed last. */
function blmpopHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const { keys, side, count } = parseMpopArgs(args, 2)
  blockingPop(ctx, keys, { side, count }, args[1] as Buffer)
}

function parseSide(arg: Buffer): ListSide {
  const text = arg.toString('latin1').toLowerCase()
  if (text === 'left') return 'left'
  if (text === 'right') return 'right'
  throw syntaxError()
}

interface MoveSides {
  from: ListSide
  to: ListSide
}

/** LMOVE's work on a live source: WRONGTYPE when the destination holds another type. */
function moveAndReply(ctx: CommandContext, source: Buffer, destination: Buffer, sides: MoveSides) {
  ctx.keyspace.listLength(destination, 'write')
  ctx.reply.bulk(atomically(ctx, () => moveAndNotify(ctx, source, destination, sides)))
}

/** Serving BLMOVE (serveClientBlockedOnList): a destination of another type answers WRONGTYPE
 * and still unblocks the client, as Redis does. */
const serveMove =
  (destination: Buffer, sides: MoveSides): ServeFromKey =>
  (ctx, key) => {
    if (servableLength(ctx, key) === 0) return false
    try {
      ctx.keyspace.listLength(destination, 'write')
    } catch (error) {
      if (!(error instanceof CaskadeError && error.code === ErrorCode.WrongType)) throw error
      ctx.reply.error(ErrorCode.WrongType, wrongTypeError().message)
      return true
    }
    moveAndReply(ctx, key, destination, sides)
    return true
  }

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout (Redis's blmoveCommand). */
function blmoveHandler(ctx: CommandContext, args: readonly Buffer[]): void {
  const sides = { from: parseSide(args[3] as Buffer), to: parseSide(args[4] as Buffer) }
  blmoveGeneric(ctx, args, sides, args[5] as Buffer)
}

/** Redis's blmoveGenericCommand (BRPOPLPUSH is BLMOVE RIGHT LEFT). */
function blmoveGeneric(
  ctx: CommandContext,
  args: readonly Buffer[],
  sides: MoveSides,
  timeoutArg: Buffer,
): void {
  const timeoutMs = parseBlockTimeoutOrThrow(timeoutArg)
  const source = args[1] as Buffer
  const destination = Buffer.from(args[2] as Buffer) // outlives the read buffer while blocked
  if (ctx.keyspace.listLength(source, 'write') > 0) {
    moveAndReply(ctx, source, destination, sides)
    return
  }
  if (ctx.blocking === undefined) {
    ctx.reply.nullArray() // no other client can push: the timeout's reply, at once
    return
  }
  if (!canBlock(ctx)) {
    ctx.reply.nullBulk() // inside EXEC: Redis's addReplyNull, unlike the timeout's null array
    return
  }
  ctx.blocking.block(ctx, { keys: [source], timeoutMs, serve: serveMove(destination, sides) })
}

const handlers: Record<string, CommandSpec['handler']> = {
  blpop: bpopHandler('left'),
  brpop: bpopHandler('right'),
  blmove: blmoveHandler,
  brpoplpush: (ctx, args) =>
    blmoveGeneric(ctx, args, { from: 'right', to: 'left' }, args[3] as Buffer),
  blmpop: blmpopHandler,
}

export const listBlockingCommands: readonly CommandSpec[] = specsFromMeta(
  listBlockingSpecMeta,
  'list',
  handlers,
)
