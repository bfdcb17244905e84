/* The COMMAND family (bare, COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, HELP): describes
 * the table the running dispatcher serves, in Redis 7.0's exact reply shapes (sets and maps that
 * RESP2 flattens). Metadata a CommandSpec lacks comes from command-meta.ts, or is derived from the
 * spec's flags, group and key positions when a command has no entry there. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import { globMatch } from '../core/glob.js'
import type { ReplyWriter } from '../protocol/types.js'
import { argIs } from './args.js'
import { commandMeta, type ArgumentDoc, type KeySpec } from './command-meta.js'
import { activeDispatcher, type Dispatcher } from './dispatch.js'
import { replyHelp, subcommandSpec } from './help.js'
import type { CommandContext, CommandFlag, CommandSpec } from './types.js'

/** Redis's addReplyFlagsForCommand order. */
const flagOrder: readonly CommandFlag[] = [
  'write',
  'readonly',
  'denyoom',
  'admin',
  'pubsub',
  'noscript',
  'blocking',
  'loading',
  'stale',
  'skip_slowlog',
  'fast',
  'no_auth',
  'no_async_loading',
  'no_multi',
  'allow_busy',
]

/** ACL categories in Redis's bit order (that is the order COMMAND INFO prints them in). */
const aclOrder: readonly string[] = [
  'keyspace',
  'read',
  'write',
  'set',
  'sortedset',
  'list',
  'hash',
  'string',
  'bitmap',
  'hyperloglog',
  'geo',
  'stream',
  'pubsub',
  'admin',
  'fast',
  'slow',
  'blocking',
  'dangerous',
  'connection',
  'transaction',
  'scripting',
]

const groupCategories: Readonly<Record<string, string>> = {
  generic: 'keyspace',
  string: 'string',
  hash: 'hash',
  list: 'list',
  set: 'set',
  'sorted-set': 'sortedset',
  bitmap: 'bitmap',
  hyperloglog: 'hyperloglog',
  geo: 'geo',
  stream: 'stream',
  pubsub: 'pubsub',
  connection: 'connection',
  transactions: 'transaction',
  scripting: 'scripting',
}

/** Categories for a command without metadata: implied by its flags and group, as in Redis. */
export function derivedAclCategories(spec: CommandSpec): string[] {
  const categories = new Set<string>()
  const flags = spec.flags
  const groupCategory = groupCategories[spec.group]
  if (groupCategory !== undefined) categories.add(groupCategory)
  if (flags.includes('write')) categories.add('write')
  if (flags.includes('readonly')) categories.add('read')
  if (flags.includes('admin')) categories.add('admin').add('dangerous')
  if (flags.includes('pubsub')) categories.add('pubsub')
  if (flags.includes('blocking')) categories.add('blocking')
  categories.add(flags.includes('fast') ? 'fast' : 'slow')
  return aclOrder.filter((category) => categories.has(category))
}

export function aclCategoriesOf(spec: CommandSpec): readonly string[] {
  return commandMeta.get(spec.name)?.acl ?? derivedAclCategories(spec)
}

/** Key specs: from the metadata, or one range spec built from the legacy key positions. */
export function keySpecsOf(spec: CommandSpec): readonly KeySpec[] {
  const meta = commandMeta.get(spec.name)
  if (meta !== undefined) return meta.keySpecs ?? []
  if (spec.firstKey === 0) return []
  const flags = spec.flags.includes('write') ? ['RW', 'update'] : ['RO', 'access']
  const lastKey = spec.lastKey >= 0 ? spec.lastKey - spec.firstKey : spec.lastKey
  return [{ flags, index: spec.firstKey, lastKey, keyStep: spec.keyStep, limit: 0 }]
}

function replySimpleSet(reply: ReplyWriter, items: readonly string[]): void {
  reply.setHeader(items.length)
  for (const item of items) reply.simple(item)
}

function replyKeySpec(reply: ReplyWriter, keySpec: KeySpec): void {
  reply.mapHeader(keySpec.notes === undefined ? 3 : 4)
  if (keySpec.notes !== undefined) {
    reply.bulk('notes')
    reply.bulk(keySpec.notes)
  }
  reply.bulk('flags')
  replySimpleSet(reply, keySpec.flags)
  reply.bulk('begin_search')
  reply.mapHeader(2)
  reply.bulk('type')
  reply.bulk('index')
  reply.bulk('spec')
  reply.mapHeader(1)
  reply.bulk('index')
  reply.integer(keySpec.index)
  reply.bulk('find_keys')
  reply.mapHeader(2)
  reply.bulk('type')
  reply.bulk('range')
  reply.bulk('spec')
  reply.mapHeader(3)
  reply.bulk('lastkey')
  reply.integer(keySpec.lastKey)
  reply.bulk('keystep')
  reply.integer(keySpec.keyStep)
  reply.bulk('limit')
  reply.integer(keySpec.limit)
}

/** One COMMAND INFO entry: the 10-element array of Redis 7.0. */
export function replyCommandInfo(reply: ReplyWriter, spec: CommandSpec): void {
  reply.arrayHeader(10)
  reply.bulk(spec.name)
  reply.integer(spec.arity)
  replySimpleSet(
    reply,
    flagOrder.filter((flag) => spec.flags.includes(flag)),
  )
  reply.integer(spec.firstKey)
  reply.integer(spec.lastKey)
  reply.integer(spec.keyStep)
  replySimpleSet(
    reply,
    aclCategoriesOf(spec).map((category) => `@${category}`),
  )
  const tips = commandMeta.get(spec.name)?.tips ?? []
  reply.setHeader(tips.length)
  for (const tip of tips) reply.bulk(tip)
  const keySpecs = keySpecsOf(spec)
  reply.setHeader(keySpecs.length)
  for (const keySpec of keySpecs) replyKeySpec(reply, keySpec)
  if (spec.subcommands === undefined) {
    reply.setHeader(0)
    return
  }
  reply.arrayHeader(spec.subcommands.length)
  for (const sub of spec.subcommands) replyCommandInfo(reply, sub)
}

function replyArgumentDocs(reply: ReplyWriter, args: readonly ArgumentDoc[]): void {
  reply.arrayHeader(args.length)
  for (const arg of args) {
    const optional = [
      arg.keySpecIndex,
      arg.token,
      arg.summary,
      arg.since,
      arg.deprecatedSince,
      arg.flags,
      arg.arguments,
    ]
    reply.mapHeader(2 + optional.filter((field) => field !== undefined).length)
    reply.bulk('name')
    reply.bulk(arg.name)
    reply.bulk('type')
    reply.bulk(arg.type)
    if (arg.keySpecIndex !== undefined) {
      reply.bulk('key_spec_index')
      reply.integer(arg.keySpecIndex)
    }
    const texts: Array<[string, string | undefined]> = [
      ['token', arg.token],
      ['summary', arg.summary],
      ['since', arg.since],
      ['deprecated_since', arg.deprecatedSince],
    ]
    for (const [field, text] of texts) {
      if (text === undefined) continue
      reply.bulk(field)
      reply.bulk(text)
    }
    if (arg.flags !== undefined) {
      reply.bulk('flags')
      replySimpleSet(reply, arg.flags)
    }
    if (arg.arguments !== undefined) {
      reply.bulk('arguments')
      replyArgumentDocs(reply, arg.arguments)
    }
  }
}

/** One COMMAND DOCS value: the documentation map of a command (name not included). */
export function replyCommandDocs(reply: ReplyWriter, spec: CommandSpec): void {
  const meta = commandMeta.get(spec.name)
  const optional = [
    meta?.docFlags,
    meta?.deprecatedSince,
    meta?.replacedBy,
    meta?.history,
    meta?.arguments,
    spec.subcommands,
  ]
  reply.mapHeader(4 + optional.filter((field) => field !== undefined).length)
  const texts: ReadonlyArray<[string, string]> = [
    ['summary', spec.summary],
    ['since', spec.since],
    ['group', spec.group],
    ['complexity', spec.complexity],
  ]
  for (const [field, text] of texts) {
    reply.bulk(field)
    reply.bulk(text)
  }
  if (meta?.docFlags !== undefined) {
    reply.bulk('doc_flags')
    replySimpleSet(reply, meta.docFlags)
  }
  replyDocsTail(reply, spec)
}

function replyDocsTail(reply: ReplyWriter, spec: CommandSpec): void {
  const meta = commandMeta.get(spec.name)
  if (meta?.deprecatedSince !== undefined) {
    reply.bulk('deprecated_since')
    reply.bulk(meta.deprecatedSince)
  }
  if (meta?.replacedBy !== undefined) {
    reply.bulk('replaced_by')
    reply.bulk(meta.replacedBy)
  }
  if (meta?.history !== undefined) {
    reply.bulk('history')
    reply.setHeader(meta.history.length)
    for (const [version, change] of meta.history) {
      reply.arrayHeader(2)
      reply.bulk(version)
      reply.bulk(change)
    }
  }
  if (meta?.arguments !== undefined) {
    reply.bulk('arguments')
    replyArgumentDocs(reply, meta.arguments)
  }
  if (spec.subcommands !== undefined) {
    reply.bulk('subcommands')
    reply.mapHeader(spec.subcommands.length)
    for (const sub of spec.subcommands) {
      reply.bulk(sub.name)
      replyCommandDocs(reply, sub)
    }
  }
}

function dispatcherOf(): Dispatcher {
  const dispatcher = activeDispatcher()
  assert(dispatcher !== null, 'COMMAND runs under a dispatcher')
  return dispatcher
}

/** A command by full name, 'get' or 'client|list' (any case), as lookupCommandBySds finds it. */
export function findByFullName(
  table: ReadonlyMap<string, CommandSpec>,
  fullName: string,
): CommandSpec | null {
  const [name = '', sub, ...rest] = fullName.toLowerCase().split('|')
  const spec = table.get(name)
  if (spec === undefined || rest.length > 0) return null
  if (sub === undefined) return spec
  return spec.subcommands?.find((candidate) => candidate.name === `${name}|${sub}`) ?? null
}

function allSpecs(table: ReadonlyMap<string, CommandSpec>): CommandSpec[] {
  const specs: CommandSpec[] = []
  for (const spec of table.values()) {
    specs.push(spec)
    if (spec.subcommands !== undefined) specs.push(...spec.subcommands)
  }
  return specs
}

function commandInfo(ctx: CommandContext, args: readonly Buffer[]): void {
  const table = dispatcherOf().table
  const reply = ctx.reply
  if (args.length <= 2) {
    reply.arrayHeader(table.size)
    for (const spec of table.values()) replyCommandInfo(reply, spec)
    return
  }
  reply.arrayHeader(args.length - 2)
  for (const arg of args.slice(2)) {
    const spec = findByFullName(table, arg.toString('latin1'))
    if (spec === null) reply.nullBulk()
    else replyCommandInfo(reply, spec)
  }
}

function commandDocs(ctx: CommandContext, args: readonly Buffer[]): void {
  const table = dispatcherOf().table
  let specs: CommandSpec[]
  if (args.length <= 2) {
    specs = [...table.values()]
  } else {
    specs = []
    for (const arg of args.slice(2)) {
      const spec = findByFullName(table, arg.toString('latin1'))
      if (spec !== null) specs.push(spec)
    }
  }
  ctx.reply.mapHeader(specs.length)
  for (const spec of specs) {
    ctx.reply.bulk(spec.name)
    replyCommandDocs(ctx.reply, spec)
  }
}

type ListFilter = (spec: CommandSpec) => boolean

function listFilterOrThrow(args: readonly Buffer[]): ListFilter {
  if (args.length === 2) return () => true
  if (args.length !== 5 || !argIs(args[2], 'filterby')) throw syntaxError()
  const kind = args[3] as Buffer
  const value = args[4] as Buffer
  if (argIs(kind, 'module')) return () => false
  if (argIs(kind, 'aclcat')) {
    const category = value.toString('latin1').toLowerCase()
    return (spec) => aclCategoriesOf(spec).includes(category)
  }
  if (argIs(kind, 'pattern')) {
    return (spec) => globMatch(value, Buffer.from(spec.name, 'latin1'), true)
  }
  throw syntaxError()
}

function commandList(ctx: CommandContext, args: readonly Buffer[]): void {
  const filter = listFilterOrThrow(args)
  const names = allSpecs(dispatcherOf().table)
    .filter(filter)
    .map((spec) => spec.name)
  ctx.reply.arrayHeader(names.length)
  for (const name of names) ctx.reply.bulk(name)
}

interface FoundKey {
  position: number
  flags: readonly string[]
}

/**
 * Key specs flagged variable_flags have their real flags decided by the arguments (Redis's
 * per-command getkeys_proc). SET: with GET the key is read too (RW access update), else OW update.
 */
const variableKeyFlags: Readonly<Record<string, (argv: readonly Buffer[]) => readonly string[]>> = {
  set: (argv) =>
    argv.slice(3).some((arg) => argIs(arg, 'get')) ? ['RW', 'access', 'update'] : ['OW', 'update'],
}

/** Redis getKeysUsingKeySpecs for index/range specs; null when a spec is out of bounds. */
export function keysOf(spec: CommandSpec, argv: readonly Buffer[]): FoundKey[] | null {
  const found: FoundKey[] = []
  const resolveFlags = variableKeyFlags[spec.name]
  for (const keySpec of keySpecsOf(spec)) {
    const first = keySpec.index
    let last: number
    if (keySpec.lastKey >= 0) last = first + keySpec.lastKey
    else if (keySpec.limit === 0) last = argv.length + keySpec.lastKey
    else last = first + (Math.floor((argv.length - first) / keySpec.limit) + keySpec.lastKey)
    if (last >= argv.length || last < first || first >= argv.length) return null
    const flags =
      resolveFlags !== undefined && keySpec.flags.includes('variable_flags')
        ? resolveFlags(argv)
        : keySpec.flags
    for (let i = first; i <= last; i += keySpec.keyStep) found.push({ position: i, flags })
  }
  return found
}

function commandGetKeys(ctx: CommandContext, args: readonly Buffer[], withFlags: boolean): void {
  const argv = args.slice(2)
  const spec = dispatcherOf().lookup(argv)
  if (spec === null) throw new CaskadeError(ErrorCode.Err, 'Invalid command specified')
  if (keySpecsOf(spec).length === 0) {
    throw new CaskadeError(ErrorCode.Err, 'The command has no key arguments')
  }
  if ((spec.arity > 0 && spec.arity !== argv.length) || argv.length < -spec.arity) {
    throw new CaskadeError(ErrorCode.Err, 'Invalid number of arguments specified for command')
  }
  const keys = keysOf(spec, argv)
  if (keys === null || keys.length === 0) {
    throw new CaskadeError(ErrorCode.Err, 'Invalid arguments specified for command')
  }
  const reply = ctx.reply
  reply.arrayHeader(keys.length)
  for (const key of keys) {
    if (withFlags) reply.arrayHeader(2)
    reply.bulk(argv[key.position] as Buffer)
    if (withFlags) replySimpleSet(reply, key.flags)
  }
}

const commandHelpLines: readonly string[] = [
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
]

const introspectionFlags = ['loading', 'stale'] as const

function commandSub(
  name: string,
  arity: number,
  docs: { summary: string; since: string; complexity: string },
  handler: CommandSpec['handler'],
): CommandSpec {
  return subcommandSpec({
    name: `command|${name}`,
    arity,
    flags: introspectionFlags,
    group: 'server',
    ...docs,
    handler,
  })
}

const commandSubcommands: readonly CommandSpec[] = [
  commandSub(
    'count',
    2,
    { summary: 'Get total number of Redis commands', since: '2.8.13', complexity: 'O(1)' },
    (ctx) => ctx.reply.integer(dispatcherOf().table.size),
  ),
  commandSub(
    'list',
    -2,
    {
      summary: 'Get an array of Redis command names',
      since: '7.0.0',
      complexity: 'O(N) where N is the total number of Redis commands',
    },
    commandList,
  ),
  commandSub(
    'info',
    -2,
    {
      summary: 'Get array of specific Redis command details, or all when no argument is given.',
      since: '2.8.13',
      complexity: 'O(N) where N is the number of commands to look up',
    },
    commandInfo,
  ),
  commandSub(
    'docs',
    -2,
    {
      summary: 'Get array of specific Redis command documentation',
      since: '7.0.0',
      complexity: 'O(N) where N is the number of commands to look up',
    },
    commandDocs,
  ),
  commandSub(
    'getkeys',
    -4,
    {
      summary: 'Extract keys given a full Redis command',
      since: '2.8.13',
      complexity: 'O(N) where N is the number of arguments to the command',
    },
    (ctx, args) => commandGetKeys(ctx, args, false),
  ),
  commandSub(
    'getkeysandflags',
    -4,
    {
      summary: 'Extract keys and access flags given a full Redis command',
      since: '7.0.0',
      complexity: 'O(N) where N is the number of arguments to the command',
    },
    (ctx, args) => commandGetKeys(ctx, args, true),
  ),
  commandSub(
    'help',
    2,
    {
      summary: 'Show helpful text about the different subcommands',
      since: '5.0.0',
      complexity: 'O(1)',
    },
    (ctx, args) => replyHelp(ctx, args, commandHelpLines),
  ),
]

/** COMMAND alone lists every command's info; with a subcommand it dispatches to it. */
export const commandCommand: CommandSpec = {
  name: 'command',
  arity: -1,
  flags: introspectionFlags,
  firstKey: 0,
  lastKey: 0,
  keyStep: 0,
  group: 'server',
  summary: 'Get array of Redis command details',
  since: '2.8.13',
  complexity: 'O(N) where N is the total number of Redis commands',
  subcommands: commandSubcommands,
  handler: (ctx, args) => commandInfo(ctx, args),
}
