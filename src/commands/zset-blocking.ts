/* BZPOPMIN and BZPOPMAX (Redis 7.0's blockingGenericZpopCommand): pop the lowest or highest
 * member of the first non-empty sorted set among the keys, or block until a write fills one.
 * Invariant: the reply is [key, member, score] whether it comes at once or when served, and a
 * client that cannot block (inside EXEC) gets the timeout's nil array at once, as Redis. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { canBlock, parseBlockTimeoutOrThrow, type ServeFromKey } from './blocking.js'
import type { CommandContext, CommandSpec } from './types.js'
import { removeMembers, storeOf, zsetSize } from './zset-common.js'

/** Pops one member of the live zset `key` and replies [key, member, score]. */
function popOneAndReply(ctx: CommandContext, key: Buffer, size: number, max: boolean): void {
  const cursor = storeOf(ctx)
    .index(key)
    .cursorAt(max ? size - 1 : 0)
  const member = cursor.member()
  const score = cursor.score
  removeMembers(ctx, key, [member], max ? 'zpopmax' : 'zpopmin')
  ctx.reply.arrayHeader(3)
  ctx.reply.bulk(key)
  ctx.reply.bulk(member)
  ctx.reply.double(score)
}

/** Serving a blocked BZPOP*: only a live sorted set counts (Redis skips other types). */
const serveFrom =
  (max: boolean): ServeFromKey =>
  (ctx, key) => {
    let size: number
    try {
      size = zsetSize(ctx, key, 'write')
    } catch (error) {
      // Another type: the client keeps waiting (Redis serves only clients of the key's type).
      if (error instanceof CaskadeError && error.code === ErrorCode.WrongType) return false
      throw error
    }
    if (size === 0) return false
    popOneAndReply(ctx, key, size, max)
    return true
  }

const serveMin = serveFrom(false)
const serveMax = serveFrom(true)

const bzpopHandler =
  (max: boolean) =>
  (ctx: CommandContext, args: readonly Buffer[]): void => {
    const timeoutMs = parseBlockTimeoutOrThrow(args[args.length - 1] as Buffer)
    const keys = args.slice(1, -1)
    for (const key of keys) {
      const size = zsetSize(ctx, key, 'write')
      if (size > 0) {
        popOneAndReply(ctx, key, size, max)
        return
      }
    }
    if (!canBlock(ctx) || ctx.blocking === undefined) {
      ctx.reply.nullArray()
      return
    }
    ctx.blocking.block(ctx, { keys, timeoutMs, serve: max ? serveMax : serveMin })
  }

const bzpopMeta = {
  arity: -3,
  flags: ['write', 'noscript', 'blocking', 'fast'],
  firstKey: 1,
  lastKey: -2,
  keyStep: 1,
  group: 'sorted-set',
  since: '5.0.0',
  complexity: 'O(log(N)) with N being the number of elements in the sorted set.',
} as const

export const zsetBlockingCommands: readonly CommandSpec[] = [
  {
    name: 'bzpopmin',
    ...bzpopMeta,
    summary:
      'Remove and return the member with the lowest score from one or more sorted sets, ' +
      'or block until one is available',
    handler: bzpopHandler(false),
  },
  {
    name: 'bzpopmax',
    ...bzpopMeta,
    summary:
      'Remove and return the member with the highest score from one or more sorted sets, ' +
      'or block until one is available',
    handler: bzpopHandler(true),
  },
]
