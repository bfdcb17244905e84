/* The contract between a connection and a command router (cluster mode only: the single-node
 * server passes none and runs every command in the dispatcher as before). Invariant: a routed
 * command answers through `done` exactly once with its whole reply, and the connection keeps
 * replies in command order whatever order the answers arrive in. */
import type { ClientSession, CommandContext } from '../commands/types.js'

/**
 * How a command runs. 'local': in the dispatcher, now (per-node commands, MULTI queueing).
 * 'write' / 'read': asynchronously; consecutive commands of the same kind may be in flight
 * together. 'exclusive': asynchronously and alone (EXEC, WATCH, RAFT ...).
 */
export type RouteKind = 'local' | 'write' | 'read' | 'exclusive'

export interface RouterSession {
  /** Pure: the same command in the same connection state gets the same kind. */
  classify(ctx: CommandContext, args: readonly Buffer[]): RouteKind
  /** Called just before a 'local' command runs (transaction bookkeeping). */
  beforeLocal(ctx: CommandContext, args: readonly Buffer[]): void
  /**
   * Starts a routed command; `args` are only valid during this call (copy what outlives it).
   * `done` may run synchronously.
   */
  start(
    kind: Exclude<RouteKind, 'local'>,
    ctx: CommandContext,
    args: readonly Buffer[],
    done: (reply: Buffer) => void,
  ): void
}

export interface CommandRouter {
  /** One session per connection (its client id, sequence numbers, READONLY, WATCH state). */
  open(client: ClientSession): RouterSession
}
