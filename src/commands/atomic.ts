/* One command's writes as one atomic group on disk (storage beginGroup/endGroup): after a crash
 * all of its records are there or none. Groups nest, so inside EXEC (itself one group) this only
 * joins the transaction's group. */
import type { CommandContext } from './types.js'

/** Runs `write` inside an atomic group, closed also when `write` throws. */
export function atomically<T>(ctx: CommandContext, write: () => T): T {
  const engine = ctx.keyspace.engine
  engine.beginGroup()
  try {
    return write()
  } finally {
    engine.endGroup()
  }
}
