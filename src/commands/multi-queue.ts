/* The dispatcher's side of MULTI (Redis's processCommand): while a client is in MULTI, commands
 * other than EXEC DISCARD MULTI WATCH QUIT RESET are queued (+QUEUED) instead of run, and a
 * command refused before it could be queued marks the transaction so EXEC answers EXECABORT.
 * Kept apart from transactions.ts (the handlers) so dispatch.ts imports no handler module. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { limits } from '../core/limits.js'
import { Watcher } from '../keyspace/watch.js'
import type { ClientSession, CommandContext, CommandSpec, TransactionState } from './types.js'

/** Commands that run at once inside MULTI (Redis's list in processCommand). */
const runInsideMulti: ReadonlySet<string> = new Set([
  'exec',
  'discard',
  'multi',
  'watch',
  'quit',
  'reset',
])

/** The client's transaction state, created on first use. */
export function transactionOf(client: ClientSession): TransactionState {
  let state = client.transaction
  if (state === undefined) {
    state = {
      queued: null,
      queuedBytes: 0,
      execAbort: false,
      executing: false,
      watcher: new Watcher(),
    }
    client.transaction = state
  }
  return state
}

/** Queuing: in MULTI and not running EXEC's queue. */
export function isQueuing(client: ClientSession): boolean {
  const state = client.transaction
  return state !== undefined && state.queued !== null && !state.executing
}

/** Redis's flagTransaction: a command refused while queuing dooms the transaction. */
export function flagTransaction(client: ClientSession): void {
  if (isQueuing(client)) (client.transaction as TransactionState).execAbort = true
}

/**
 * Called by the dispatcher for a found command whose arity it accepted. Outside MULTI, or for a
 * command that runs inside it: 'run'. Otherwise the command is queued and +QUEUED replied
 * ('queued'), or it is refused: the transaction is flagged and the error returned for the
 * dispatcher to reply (Redis's rejectCommand, counted as a rejected call).
 */
export function queueIfInMulti(
  ctx: CommandContext,
  spec: CommandSpec,
  args: readonly Buffer[],
): 'run' | 'queued' | CaskadeError {
  if (!isQueuing(ctx.client) || runInsideMulti.has(spec.name)) return 'run'
  const state = ctx.client.transaction as TransactionState
  if (spec.flags.includes('no_multi')) {
    state.execAbort = true
    return new CaskadeError(ErrorCode.Err, 'Command not allowed inside a transaction')
  }
  let bytes = 0
  for (const arg of args) bytes += arg.length
  if (state.queuedBytes + bytes > limits.transactionQueuedBytesMax) {
    state.execAbort = true
    const max = limits.transactionQueuedBytesMax
    return new CaskadeError(ErrorCode.Err, `transaction queue exceeds ${max} bytes`)
  }
  // Redis does not keep commands of a transaction already doomed; it still answers QUEUED.
  if (!state.execAbort && !state.watcher.dirty) {
    // The arguments are views into the connection's read buffer: copy what the queue keeps.
    ;(state.queued as QueuedList).push({ spec, args: args.map((arg) => Buffer.from(arg)) })
    state.queuedBytes += bytes
  }
  ctx.reply.simple('QUEUED')
  return 'queued'
}

type QueuedList = NonNullable<TransactionState['queued']>
