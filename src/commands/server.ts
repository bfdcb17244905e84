/* Server commands: INFO, COMMAND, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, TIME, LASTSAVE, SAVE, BGSAVE,
 * SHUTDOWN and DEBUG, with Redis 7.0's syntax and texts. caskade has one database and persists
 * every write to its log as it happens, so the "save" commands only ask the engine to fsync now
 * (their reply does not wait for it); process-level work goes through the ServerHost. */
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import { argIs } from './args.js'
import { commandCommand } from './command-docs.js'
import { activeDispatcher } from './dispatch.js'
import {
  containerSpec,
  keylessSpec,
  replyHelp,
  subcommandSpec,
  subcommandSyntaxError,
} from './help.js'
import { infoCommand } from './info.js'
import type { CommandContext, CommandSpec } from './types.js'

const serverSpec = keylessSpec.bind(null, 'server')

/** FLUSHDB / FLUSHALL [ASYNC|SYNC]: both empty the one database, at once. */
function flush(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length === 2 && !argIs(args[1], 'sync') && !argIs(args[1], 'async')) {
    throw syntaxError()
  }
  if (args.length > 2) throw syntaxError()
  ctx.keyspace.flush()
  ctx.reply.simple('OK')
}

function time(ctx: CommandContext): void {
  const nowMs = ctx.clock.wallMs()
  const seconds = Math.floor(nowMs / 1000)
  const micros = Math.floor((nowMs - seconds * 1000) * 1000)
  ctx.reply.arrayHeader(2)
  ctx.reply.bulk(String(seconds))
  ctx.reply.bulk(String(micros))
}

/**
 * Starts an fsync of everything written so far. A failure is not lost: the engine records it
 * (lastWriteError, shown by INFO persistence) and reports it through its event hook.
 */
function requestSync(ctx: CommandContext): void {
  ctx.keyspace.engine.flushAndSync().catch(() => undefined)
}

function bgsave(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 2 || (args.length === 2 && !argIs(args[1], 'schedule'))) throw syntaxError()
  requestSync(ctx)
  ctx.reply.simple('Background saving started')
}

function save(ctx: CommandContext): void {
  requestSync(ctx)
  ctx.reply.simple('OK')
}

function lastsave(ctx: CommandContext): void {
  ctx.reply.integer(Math.floor(ctx.keyspace.engine.stats().lastFsyncAtMs / 1000))
}

/** SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. On success there is no reply: Redis closes. */
function shutdown(ctx: CommandContext, args: readonly Buffer[]): void {
  let abort = false
  let saveFlag = false
  let noSave = false
  let other = false
  for (const arg of args.slice(1)) {
    if (argIs(arg, 'nosave')) noSave = true
    else if (argIs(arg, 'save')) saveFlag = true
    else if (argIs(arg, 'now') || argIs(arg, 'force')) other = true
    else if (argIs(arg, 'abort')) abort = true
    else throw syntaxError()
  }
  if ((abort && (saveFlag || noSave || other)) || (saveFlag && noSave)) throw syntaxError()
  // caskade's host always flushes and fsyncs the log on shutdown: NOSAVE cannot lose data.
  ctx.host.shutdown({ abort })
  if (abort) ctx.reply.simple('OK')
}

const debugHelpLines: readonly string[] = [
  'SLEEP <seconds>',
  '    Stop the server for <seconds>. Decimals allowed.',
]

/** C's strtod on a whole argument: the longest numeric prefix, 0 when there is none. */
function strtodPrefix(arg: Buffer): number {
  const value = Number.parseFloat(arg.toString('latin1'))
  return Number.isNaN(value) ? 0 : value
}

const debugNotAllowed =
  'DEBUG command not allowed. If the enable-debug-command option is set to "local", ' +
  'you can run it from a local connection, otherwise you need to set this option in the ' +
  'configuration file, and restart the server.'

/** Redis 7's enable-debug-command gate: DEBUG SLEEP can freeze every client. */
function assertDebugAllowed(ctx: CommandContext): void {
  const policy = ctx.host.config.get(['enable-debug-command'])[0]?.[1] ?? 'local'
  if (policy === 'yes') return
  const host = ctx.client.addr.slice(0, ctx.client.addr.lastIndexOf(':'))
  const local = host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.')
  if (policy === 'local' && local) return
  throw new CaskadeError(ErrorCode.Err, debugNotAllowed)
}

/** DEBUG SLEEP <seconds> | DEBUG HELP; other subcommands get Redis's unknown-subcommand error. */
function debug(ctx: CommandContext, args: readonly Buffer[]): void {
  assertDebugAllowed(ctx)
  if (args.length === 2 && argIs(args[1], 'help')) {
    replyHelp(ctx, args, debugHelpLines)
    return
  }
  if (args.length === 3 && argIs(args[1], 'sleep')) {
    const seconds = strtodPrefix(args[2] as Buffer)
    ctx.host.sleepBlocking(Math.max(0, seconds * 1000))
    ctx.reply.simple('OK')
    return
  }
  throw subcommandSyntaxError(args)
}

function configGet(ctx: CommandContext, args: readonly Buffer[]): void {
  const patterns = args.slice(2).map((arg) => arg.toString('utf8'))
  const pairs = ctx.host.config.get(patterns)
  ctx.reply.mapHeader(pairs.length)
  for (const [name, value] of pairs) {
    ctx.reply.bulk(name)
    ctx.reply.bulk(value)
  }
}

function configSet(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length % 2 !== 0) throw syntaxError()
  const pairs: Array<[string, string]> = []
  for (let i = 2; i < args.length; i += 2) {
    pairs.push([(args[i] as Buffer).toString('utf8'), (args[i + 1] as Buffer).toString('utf8')])
  }
  ctx.host.config.set(pairs)
  ctx.reply.simple('OK')
}

function configResetstat(ctx: CommandContext): void {
  activeDispatcher()?.resetStats()
  ctx.host.resetStats?.()
  ctx.reply.simple('OK')
}

const configHelpLines: readonly string[] = [
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
]

const configAdminFlags = ['admin', 'noscript', 'loading', 'stale'] as const

/** CONFIG GET/SET/RESETSTAT/HELP. REWRITE is absent: caskade never rewrites its config file. */
const configCommand: CommandSpec = containerSpec(
  'config',
  'server',
  {
    summary: 'A container for server configuration commands (caskade: no CONFIG REWRITE)',
    since: '2.0.0',
  },
  [
    subcommandSpec({
      name: 'config|get',
      arity: -3,
      flags: configAdminFlags,
      group: 'server',
      summary: 'Get the values of configuration parameters',
      since: '2.0.0',
      complexity: 'O(N) when N is the number of configuration parameters provided',
      handler: configGet,
    }),
    subcommandSpec({
      name: 'config|set',
      arity: -4,
      flags: configAdminFlags,
      group: 'server',
      summary: 'Set configuration parameters to the given values',
      since: '2.0.0',
      complexity: 'O(N) when N is the number of configuration parameters provided',
      handler: configSet,
    }),
    subcommandSpec({
      name: 'config|resetstat',
      arity: 2,
      flags: configAdminFlags,
      group: 'server',
      summary: 'Reset the stats returned by INFO',
      since: '2.0.0',
      complexity: 'O(1)',
      handler: configResetstat,
    }),
    subcommandSpec({
      name: 'config|help',
      arity: 2,
      flags: ['loading', 'stale'],
      group: 'server',
      summary: 'Show helpful text about the different subcommands',
      since: '5.0.0',
      complexity: 'O(1)',
      handler: (ctx, args) => replyHelp(ctx, args, configHelpLines),
    }),
  ],
)

const adminFlags = ['admin', 'noscript', 'loading', 'stale'] as const
const allKeysComplexity = 'O(N) where N is the total number of keys in all databases'

export const serverCommands: readonly CommandSpec[] = [
  infoCommand,
  commandCommand,
  configCommand,
  serverSpec(
    'dbsize',
    1,
    ['readonly', 'fast'],
    {
      summary: 'Return the number of keys in the selected database',
      since: '1.0.0',
      complexity: 'O(1)',
    },
    (ctx) => ctx.reply.integer(ctx.keyspace.size()),
  ),
  serverSpec(
    'flushdb',
    -1,
    ['write'],
    {
      summary: 'Remove all keys from the current database',
      since: '1.0.0',
      complexity: 'O(N) where N is the number of keys in the selected database',
    },
    flush,
  ),
  serverSpec(
    'flushall',
    -1,
    ['write'],
    {
      summary: 'Remove all keys from all databases',
      since: '1.0.0',
      complexity: 'O(N) where N is the total number of keys in all databases',
    },
    flush,
  ),
  serverSpec(
    'time',
    1,
    ['loading', 'stale', 'fast'],
    { summary: 'Return the current server time', since: '2.6.0', complexity: 'O(1)' },
    time,
  ),
  serverSpec(
    'lastsave',
    1,
    ['loading', 'stale', 'fast'],
    {
      summary: 'Get the UNIX time stamp of the last successful save to disk',
      since: '1.0.0',
      complexity: 'O(1)',
    },
    lastsave,
  ),
  serverSpec(
    'save',
    1,
    ['admin', 'noscript', 'no_async_loading', 'no_multi'],
    {
      summary: 'Synchronously save the dataset to disk',
      since: '1.0.0',
      complexity: allKeysComplexity,
    },
    save,
  ),
  serverSpec(
    'bgsave',
    -1,
    ['admin', 'noscript', 'no_async_loading'],
    { summary: 'Asynchronously save the dataset to disk', since: '1.0.0', complexity: 'O(1)' },
    bgsave,
  ),
  serverSpec(
    'shutdown',
    -1,
    ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'],
    {
      summary: 'Synchronously save the dataset to disk and then shut down the server',
      since: '1.0.0',
      complexity:
        'O(N) when saving, where N is the total number of keys in all databases ' +
        'when saving data, otherwise O(1)',
    },
    shutdown,
  ),
  serverSpec(
    'debug',
    -2,
    adminFlags,
    {
      summary: 'A container for debugging commands',
      since: '1.0.0',
      complexity: 'Depends on subcommand.',
    },
    debug,
  ),
]
