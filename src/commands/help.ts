/* Shared pieces of container commands (CLIENT, CONFIG, COMMAND) and of commands with their own
 * subcommand syntax (DEBUG): the HELP reply and the subcommand error texts, exactly as Redis's
 * addReplyHelp / addReplySubcommandSyntaxError print them (clients and tests match on them). */
import { CaskadeError, ErrorCode, RedisErrors } from '../core/errors.js'
import type { CommandContext, CommandSpec } from './types.js'

/** HELP: a header line, the given lines, then HELP itself; all simple strings. */
export function replyHelp(
  ctx: CommandContext,
  args: readonly Buffer[],
  lines: readonly string[],
): void {
  const command = (args[0] as Buffer).toString('latin1').toUpperCase()
  const reply = ctx.reply
  reply.arrayHeader(lines.length + 3)
  reply.simple(`${command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`)
  for (const line of lines) reply.simple(line)
  reply.simple('HELP')
  reply.simple('    Prints this help.')
}

/** "unknown subcommand or wrong number of arguments for 'x'. Try DEBUG HELP." */
export function subcommandSyntaxError(args: readonly Buffer[]): CaskadeError {
  const command = (args[0] as Buffer).toString('latin1').toUpperCase()
  const sub = args[1]?.subarray(0, 128).toString('utf8') ?? ''
  return new CaskadeError(
    ErrorCode.Err,
    `unknown subcommand or wrong number of arguments for '${sub}'. Try ${command} HELP.`,
  )
}

/**
 * A container whose every use names a subcommand (arity -2): dispatch always resolves the
 * subcommand, so the container's own handler only answers a bare call made outside dispatch.
 */
export function containerSpec(
  name: string,
  group: string,
  docs: { summary: string; since: string },
  subcommands: readonly CommandSpec[],
): CommandSpec {
  return {
    name,
    arity: -2,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    group,
    summary: docs.summary,
    since: docs.since,
    complexity: 'Depends on subcommand.',
    subcommands,
    handler: () => {
      throw new CaskadeError(ErrorCode.Err, RedisErrors.wrongArity(name))
    },
  }
}

/** A subcommand without keys, named 'container|sub'. */
export function subcommandSpec(
  fields: Omit<CommandSpec, 'firstKey' | 'lastKey' | 'keyStep' | 'subcommands'>,
): CommandSpec {
  return { ...fields, firstKey: 0, lastKey: 0, keyStep: 0 }
}

/** A command without keys in `group` (connection and server commands). */
export function keylessSpec(
  group: string,
  name: string,
  arity: number,
  flags: CommandSpec['flags'],
  docs: { summary: string; since: string; complexity: string },
  handler: CommandSpec['handler'],
): CommandSpec {
  return { name, arity, flags, firstKey: 0, lastKey: 0, keyStep: 0, group, ...docs, handler }
}
