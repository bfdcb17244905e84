/* The command table: every command family's specs merged into one map keyed by lowercase name.
 * Invariant (checked once at module load): names are unique and lowercase, arity is never 0 and
 * key positions fit the arity, so dispatch and COMMAND INFO can trust every entry they read. */
import { assert } from '../core/assert.js'
import { connectionCommands } from './connection.js'
import { hashCommands } from './hashes.js'
import { keyCommands } from './keys.js'
import { listBlockingCommands } from './list-blocking.js'
import { listCommands } from './lists.js'
import { pubsubCommands } from './pubsub.js'
import { serverCommands } from './server.js'
import { setCommands } from './sets.js'
import { stringCommands } from './strings.js'
import { transactionCommands } from './transactions.js'
import type { CommandSpec } from './types.js'
import { zsetBlockingCommands } from './zset-blocking.js'
import { zsetCommands } from './zsets.js'

/** Checks the key positions of one spec against its arity (Redis's COMMAND INFO rules). */
function checkKeyPositions(spec: CommandSpec): void {
  const { name, firstKey, lastKey, keyStep, arity } = spec
  assert(Number.isInteger(firstKey) && firstKey >= 0, `${name}: firstKey is a position`)
  if (firstKey === 0) {
    assert(lastKey === 0 && keyStep === 0, `${name}: no first key means no keys at all`)
    return
  }
  assert(Number.isInteger(keyStep) && keyStep >= 1, `${name}: keyStep >= 1 when it has keys`)
  assert(Number.isInteger(lastKey) && lastKey !== 0, `${name}: lastKey is set when it has keys`)
  const argsMin = Math.abs(arity)
  // A variadic key range may be empty (SUNSUBSCRIBE with no shard channel names none).
  const keysOptional = lastKey < 0 && arity < 0
  assert(firstKey < argsMin || keysOptional, `${name}: the first key is within the minimum arity`)
  if (lastKey > 0) {
    assert(lastKey >= firstKey, `${name}: lastKey is not before firstKey`)
    if (arity > 0) assert(lastKey < arity, `${name}: lastKey is within the exact arity`)
  } else {
    assert(arity < 0, `${name}: a lastKey counted from the end needs a variadic arity`)
  }
}

function checkSpec(spec: CommandSpec, container: CommandSpec | null): void {
  const name = spec.name
  assert(name.length > 0 && name === name.toLowerCase(), `${name}: names are lowercase`)
  assert(!/\s/.test(name), `${name}: names have no whitespace`)
  assert(Number.isInteger(spec.arity) && spec.arity !== 0, `${name}: arity is a non-zero integer`)
  checkKeyPositions(spec)
  if (container !== null) {
    assert(name.startsWith(`${container.name}|`), `${name}: subcommand is named container|sub`)
    assert(name.length > container.name.length + 1, `${name}: subcommand has a name`)
    assert(Math.abs(spec.arity) >= 2, `${name}: a subcommand counts its container in arity`)
    assert(spec.subcommands === undefined, `${name}: subcommands do not nest`)
    return
  }
  assert(!name.includes('|'), `${name}: only subcommands contain '|'`)
  if (spec.subcommands !== undefined) {
    assert(spec.subcommands.length > 0, `${name}: a container has subcommands`)
    // -2: a subcommand is required (CLIENT); -1: the bare name is a command too (COMMAND).
    assert(spec.arity === -2 || spec.arity === -1, `${name}: a container's arity is -1 or -2`)
    const seen = new Set<string>()
    for (const sub of spec.subcommands) {
      checkSpec(sub, spec)
      assert(!seen.has(sub.name), `${sub.name}: duplicate subcommand`)
      seen.add(sub.name)
    }
  }
}

/** Merges command families into one table, asserting the table's invariants. */
export function buildCommandTable(
  families: ReadonlyArray<readonly CommandSpec[]>,
): ReadonlyMap<string, CommandSpec> {
  const table = new Map<string, CommandSpec>()
  for (const family of families) {
    for (const spec of family) {
      checkSpec(spec, null)
      assert(!table.has(spec.name), `${spec.name}: duplicate command name`)
      table.set(spec.name, spec)
    }
  }
  return table
}

/** Every command caskade serves. A new family adds one line here. */
export const commandTable: ReadonlyMap<string, CommandSpec> = buildCommandTable([
  stringCommands,
  keyCommands,
  connectionCommands,
  serverCommands,
  transactionCommands,
  pubsubCommands,
  hashCommands,
  setCommands,
  zsetCommands,
  zsetBlockingCommands,
  listCommands,
  listBlockingCommands,
])
