/* The COMMAND INFO/DOCS row copied from redis-server (list-meta.ts, zset-meta.ts, ...) and the one
 * way a table of rows becomes CommandSpecs. Invariant: every row has a handler, or the module
 * fails to load, so a metadata row can never reach COMMAND without a command behind it. */
import { assert } from '../core/assert.js'
import type { CommandSpec } from './types.js'

/** A CommandSpec as Redis's metadata describes it: everything but the group and the handler. */
export type SpecMeta = Omit<CommandSpec, 'group' | 'handler' | 'subcommands'>

/** Builds the CommandSpecs of one group from its metadata rows and a handler per name. */
export function specsFromMeta(
  rows: readonly SpecMeta[],
  group: string,
  handlers: Readonly<Record<string, CommandSpec['handler']>>,
): CommandSpec[] {
  return rows.map((meta) => {
    const handler = handlers[meta.name]
    assert(handler !== undefined, `a handler for ${meta.name}`)
    return { ...meta, group, handler }
  })
}
