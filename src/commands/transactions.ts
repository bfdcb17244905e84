/* Transactions: MULTI EXEC DISCARD WATCH UNWATCH with Redis 7.0's replies and error texts. EXEC
 * runs the queue back to back inside one storage group, so nothing interleaves and its records
 * reach disk all or none. Invariant: a client leaves MULTI (and stops watching) on EXEC, DISCARD,
 * RESET and disconnect, whatever EXEC's outcome; queuing itself is in multi-queue.ts. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Keyspace } from '../keyspace/types.js'
import { activeDispatcher } from './dispatch.js'
import { transactionOf } from './multi-queue.js'
import type { ClientSession, CommandContext, CommandSpec, TransactionState } from './types.js'

const transactionFlags = ['noscript', 'loading', 'stale', 'fast', 'allow_busy'] as const

/** Redis's discardTransaction: out of MULTI, flags cleared, every key unwatched. */
function discardTransaction(keyspace: Keyspace, state: TransactionState): void {
  state.queued = null
  state.queuedBytes = 0
  state.execAbort = false
  state.executing = false
  state.watcher.dirty = false
  keyspace.unwatch(state.watcher)
}

/** RESET: leaves MULTI and forgets watched keys (Redis's clearClientConnectionState). */
export function resetTransaction(ctx: CommandContext): void {
  const state = ctx.client.transaction
  if (state !== undefined) discardTransaction(ctx.keyspace, state)
}

/** A closed connection watches nothing more (its watcher would otherwise stay in the map). */
export function releaseTransaction(keyspace: Keyspace, client: ClientSession): void {
  const state = client.transaction
  if (state !== undefined) discardTransaction(keyspace, state)
}

/** CLIENT LIST: 'x' in MULTI and 'd' when a watched key was touched, plus `multi=` (count). */
export function transactionFlagsOf(client: ClientSession): { multi: boolean; dirty: boolean } {
  const state = client.transaction
  return {
    multi: state !== undefined && state.queued !== null,
    dirty: state !== undefined && state.watcher.dirty,
  }
}

export function queuedCount(client: ClientSession): number {
  return client.transaction?.queued?.length ?? -1
}

function multi(ctx: CommandContext): void {
  const state = transactionOf(ctx.client)
  if (state.queued !== null) {
    throw new CaskadeError(ErrorCode.Err, 'MULTI calls can not be nested')
  }
  state.queued = []
  state.queuedBytes = 0
  state.execAbort = false
  ctx.reply.simple('OK')
}

function discard(ctx: CommandContext): void {
  const state = ctx.client.transaction
  if (state?.queued === null || state === undefined) {
    throw new CaskadeError(ErrorCode.Err, 'DISCARD without MULTI')
  }
  discardTransaction(ctx.keyspace, state)
  ctx.reply.simple('OK')
}

function exec(ctx: CommandContext): void {
  const state = ctx.client.transaction
  if (state?.queued === null || state === undefined) {
    throw new CaskadeError(ErrorCode.Err, 'EXEC without MULTI')
  }
  const keyspace = ctx.keyspace
  if (!state.watcher.dirty && keyspace.watchedKeyExpired(state.watcher)) state.watcher.dirty = true
  if (state.execAbort) {
    discardTransaction(keyspace, state)
    throw new CaskadeError(ErrorCode.ExecAbort, 'Transaction discarded because of previous errors.')
  }
  if (state.watcher.dirty) {
    discardTransaction(keyspace, state)
    ctx.reply.nullArray()
    return
  }
  const dispatcher = activeDispatcher()
  assert(dispatcher !== null, 'EXEC runs under a dispatcher')
  const queued = state.queued
  keyspace.unwatch(state.watcher) // as Redis: unwatch before running, nothing to watch meanwhile
  state.executing = true
  ctx.reply.arrayHeader(queued.length)
  const engine = keyspace.engine
  engine.beginGroup()
  try {
    for (const command of queued) dispatcher.execute(ctx, command.args)
  } finally {
    engine.endGroup()
    discardTransaction(keyspace, state)
    ctx.client.lastCommand = 'exec'
  }
}

function watch(ctx: CommandContext, args: readonly Buffer[]): void {
  const state = transactionOf(ctx.client)
  if (state.queued !== null) {
    throw new CaskadeError(ErrorCode.Err, 'WATCH inside MULTI is not allowed')
  }
  // No point in watching more once a watched key was touched: EXEC will fail anyway.
  if (!state.watcher.dirty) {
    for (let i = 1; i < args.length; i++) ctx.keyspace.watch(state.watcher, args[i] as Buffer)
  }
  ctx.reply.simple('OK')
}

function unwatch(ctx: CommandContext): void {
  const state = ctx.client.transaction
  if (state !== undefined) {
    ctx.keyspace.unwatch(state.watcher)
    state.watcher.dirty = false
  }
  ctx.reply.simple('OK')
}

function transactionSpec(
  fields: Pick<CommandSpec, 'name' | 'arity' | 'flags' | 'summary' | 'since' | 'complexity'> &
    Pick<CommandSpec, 'handler'>,
  keys = { firstKey: 0, lastKey: 0, keyStep: 0 },
): CommandSpec {
  return { ...fields, ...keys, group: 'transactions' }
}

export const transactionCommands: readonly CommandSpec[] = [
  transactionSpec({
    name: 'multi',
    arity: 1,
    flags: transactionFlags,
    summary: 'Mark the start of a transaction block',
    since: '1.2.0',
    complexity: 'O(1)',
    handler: multi,
  }),
  transactionSpec({
    name: 'exec',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'skip_slowlog'],
    summary: 'Execute all commands issued after MULTI',
    since: '1.2.0',
    complexity: 'Depends on commands in the transaction',
    handler: exec,
  }),
  transactionSpec({
    name: 'discard',
    arity: 1,
    flags: transactionFlags,
    summary: 'Discard all commands issued after MULTI',
    since: '2.0.0',
    complexity: 'O(N), when N is the number of queued commands',
    handler: discard,
  }),
  transactionSpec(
    {
      name: 'watch',
      arity: -2,
      flags: transactionFlags,
      summary: 'Watch the given keys to determine execution of the MULTI/EXEC block',
      since: '2.2.0',
      complexity: 'O(1) for every key.',
      handler: watch,
    },
    { firstKey: 1, lastKey: -1, keyStep: 1 },
  ),
  transactionSpec({
    name: 'unwatch',
    arity: 1,
    flags: transactionFlags,
    summary: 'Forget about all watched keys',
    since: '2.2.0',
    complexity: 'O(1)',
    handler: unwatch,
  }),
]
