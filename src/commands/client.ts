/* The CLIENT command family (ID SETNAME GETNAME LIST INFO KILL NO-EVICT NO-TOUCH SETINFO REPLY
 * HELP) with Redis's replies and texts. CLIENT LIST lines keep Redis 7's field order (tools split
 * them on spaces and '='), with the host's buffer figures and 7.2's lib-name/lib-ver at the end. */
import { CaskadeError, ErrorCode, syntaxError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import { argIs, parseInteger, parseIntegerOrThrow } from './args.js'
import type { UnblockReason } from './blocking.js'
import { containerSpec, replyHelp, subcommandSpec, subcommandSyntaxError } from './help.js'
import { queuedCount, transactionFlagsOf } from './transactions.js'
import { hasSubscriptions } from './pubsub.js'
import type { ClientKillFilter, ClientSession, CommandContext, CommandSpec } from './types.js'

/** Redis validateClientName / validateClientAttr: printable ASCII without spaces. */
function isPrintableToken(value: Buffer): boolean {
  for (const byte of value) {
    if (byte < 0x21 || byte > 0x7e) return false
  }
  return true
}

/** Redis clientSetName: an empty name clears it. Throws with Redis's text. */
export function setClientName(client: ClientSession, name: Buffer): void {
  if (!isPrintableToken(name)) {
    throw new CaskadeError(
      ErrorCode.Err,
      'Client names cannot contain spaces, newlines or special characters.',
    )
  }
  if (name.length > limits.clientNameBytesMax) {
    throw new CaskadeError(
      ErrorCode.Err,
      `Client names cannot be longer than ${limits.clientNameBytesMax} bytes.`,
    )
  }
  client.name = name.length === 0 ? null : name.toString('latin1')
}

/** Host-owned CLIENT LIST fields with the value shown when the host does not supply one. */
const hostFieldDefaults: ReadonlyArray<[string, string | number]> = [
  ['qbuf', 0],
  ['qbuf-free', 0],
  ['argv-mem', 0],
  ['multi-mem', 0],
  ['rbs', 0],
  ['rbp', 0],
  ['obl', 0],
  ['oll', 0],
  ['omem', 0],
  ['tot-mem', 0],
  ['events', 'r'],
]

function clientFlags(client: ClientSession): string {
  let flags = ''
  const transaction = transactionFlagsOf(client)
  if (hasSubscriptions(client)) flags += 'P'
  if (transaction.multi) flags += 'x'
  if (client.blocked !== undefined) flags += 'b'
  if (transaction.dirty) flags += 'd'
  if (client.closeAfterReply) flags += 'c'
  if (client.noEvict === true) flags += 'e'
  if (client.noTouch === true) flags += 'T'
  return flags === '' ? 'N' : flags
}

/** One CLIENT LIST / CLIENT INFO line, without the trailing newline. */
export function clientInfoLine(ctx: CommandContext, client: ClientSession): string {
  const extras = new Map(ctx.host.clientListExtras(client))
  const take = (name: string, fallback: string | number): string | number => {
    const value = extras.get(name)
    extras.delete(name)
    return value ?? fallback
  }
  const nowMs = ctx.clock.wallMs()
  const ageSeconds = Math.max(0, Math.floor((nowMs - client.createdAtMs) / 1000))
  const idleSeconds = Math.max(0, Math.floor((nowMs - client.lastInteractionMs) / 1000))
  const fields: Array<[string, string | number]> = [
    ['id', client.id],
    ['addr', client.addr],
    ['laddr', client.laddr],
    ['fd', take('fd', -1)],
    ['name', client.name ?? ''],
    ['age', ageSeconds],
    ['idle', idleSeconds],
    ['flags', clientFlags(client)],
    ['db', 0],
    ['sub', client.subscribedChannels ?? 0],
    ['psub', client.subscribedPatterns ?? 0],
    ['ssub', client.subscribedShardChannels ?? 0],
    ['multi', queuedCount(client)],
  ]
  for (const [name, fallback] of hostFieldDefaults) fields.push([name, take(name, fallback)])
  fields.push(
    ['cmd', client.lastCommand === '' ? 'NULL' : client.lastCommand],
    ['user', 'default'],
    ['redir', -1],
    ['resp', client.protocol],
    ['lib-name', client.libName ?? ''],
    ['lib-ver', client.libVersion ?? ''],
  )
  for (const extra of extras) fields.push(extra)
  return fields.map(([name, value]) => `${name}=${value}`).join(' ')
}

type ClientType = 'normal' | 'replica' | 'pubsub' | 'master'

/** Redis getClientTypeByName; null for an unknown name. */
function clientTypeByName(arg: Buffer): ClientType | null {
  if (argIs(arg, 'normal')) return 'normal'
  if (argIs(arg, 'slave') || argIs(arg, 'replica')) return 'replica'
  if (argIs(arg, 'pubsub')) return 'pubsub'
  if (argIs(arg, 'master')) return 'master'
  return null
}

function clientTypeOrThrow(arg: Buffer): ClientType {
  const type = clientTypeByName(arg)
  if (type === null) {
    throw new CaskadeError(ErrorCode.Err, `Unknown client type '${arg.toString('utf8')}'`)
  }
  return type
}

/** Redis's getClientType: a subscribed client is 'pubsub' (no replication yet). */
function clientTypeOf(client: ClientSession): ClientType {
  return hasSubscriptions(client) ? 'pubsub' : 'normal'
}

/** A client id as Redis's getRangeLongFromObjectOrReply(1, LONG_MAX) reads it. */
function clientIdOrThrow(arg: Buffer, message: string): number {
  const id = parseInteger(arg)
  if (id === null || id < 1n) throw new CaskadeError(ErrorCode.Err, message)
  return id > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(id)
}

function clientList(ctx: CommandContext, args: readonly Buffer[]): void {
  let selected: ClientSession[]
  const clients = ctx.host.clients()
  if (args.length === 4 && argIs(args[2], 'type')) {
    const type = clientTypeOrThrow(args[3] as Buffer)
    selected = clients.filter((client) => clientTypeOf(client) === type)
  } else if (args.length > 3 && argIs(args[2], 'id')) {
    // Any 64-bit integer is accepted here (ids below 1 simply match nobody), as in Redis.
    const ids = args.slice(3).map((arg) => {
      const id = parseInteger(arg)
      if (id === null) throw new CaskadeError(ErrorCode.Err, 'Invalid client ID')
      return Number(id)
    })
    selected = []
    for (const id of ids) {
      const client = clients.find((candidate) => candidate.id === id)
      if (client !== undefined) selected.push(client)
    }
  } else if (args.length !== 2) {
    throw syntaxError()
  } else {
    selected = [...clients]
  }
  let text = ''
  for (const client of selected) text += `${clientInfoLine(ctx, client)}\n`
  ctx.reply.verbatim(text)
}

interface KillRequest {
  filter: ClientKillFilter
  /** TYPE named a kind of client caskade never has, so nothing can match. */
  matchesNothing: boolean
}

function applyKillOption(request: KillRequest, option: Buffer, value: Buffer): void {
  const filter = request.filter
  if (argIs(option, 'id')) {
    filter.id = clientIdOrThrow(value, 'client-id should be greater than 0')
  } else if (argIs(option, 'type')) {
    if (clientTypeOrThrow(value) !== 'normal') request.matchesNothing = true
  } else if (argIs(option, 'addr')) {
    filter.addr = value.toString('latin1')
  } else if (argIs(option, 'laddr')) {
    filter.laddr = value.toString('latin1')
  } else if (argIs(option, 'user')) {
    const user = value.toString('utf8')
    if (user !== 'default') throw new CaskadeError(ErrorCode.Err, `No such user '${user}'`)
  } else if (argIs(option, 'skipme')) {
    if (argIs(value, 'yes')) filter.skipMe = true
    else if (argIs(value, 'no')) filter.skipMe = false
    else throw syntaxError()
  } else {
    throw syntaxError()
  }
}

/** CLIENT KILL ip:port (legacy: +OK or "No such client") | CLIENT KILL <option value>... */
function clientKill(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length === 3) {
    const addr = (args[2] as Buffer).toString('latin1')
    const filter: ClientKillFilter = { addr, skipMe: false, legacy: true }
    const killed = ctx.host.killClients(filter, ctx.client)
    if (killed === 0) throw new CaskadeError(ErrorCode.Err, 'No such client')
    ctx.reply.simple('OK')
    return
  }
  const request: KillRequest = { filter: { skipMe: true, legacy: false }, matchesNothing: false }
  for (let i = 2; i < args.length; i += 2) {
    const value = args[i + 1]
    if (value === undefined) throw syntaxError()
    applyKillOption(request, args[i] as Buffer, value)
  }
  const killed = request.matchesNothing ? 0 : ctx.host.killClients(request.filter, ctx.client)
  ctx.reply.integer(killed)
}

function onOffOrThrow(arg: Buffer): boolean {
  if (argIs(arg, 'on')) return true
  if (argIs(arg, 'off')) return false
  throw syntaxError()
}

/** CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2). An empty value clears the attribute. */
function clientSetinfo(ctx: CommandContext, args: readonly Buffer[]): void {
  const attr = args[2] as Buffer
  const value = args[3] as Buffer
  const isName = argIs(attr, 'lib-name')
  if (!isName && !argIs(attr, 'lib-ver')) {
    throw new CaskadeError(ErrorCode.Err, `Unrecognized option '${attr.toString('utf8')}'`)
  }
  if (!isPrintableToken(value) || value.length > limits.clientNameBytesMax) {
    throw new CaskadeError(
      ErrorCode.Err,
      `${attr.toString('utf8')} cannot contain spaces, newlines or special characters.`,
    )
  }
  const text = value.length === 0 ? null : value.toString('latin1')
  if (isName) ctx.client.libName = text
  else ctx.client.libVersion = text
  ctx.reply.simple('OK')
}

/** Only ON: replies cannot be withheld once a handler has written them into the batch. */
function clientReply(ctx: CommandContext, args: readonly Buffer[]): void {
  const mode = args[2] as Buffer
  if (argIs(mode, 'on')) {
    ctx.reply.simple('OK')
    return
  }
  if (argIs(mode, 'off') || argIs(mode, 'skip')) {
    throw new CaskadeError(ErrorCode.Err, 'CLIENT REPLY OFF and SKIP are not supported by caskade')
  }
  throw syntaxError()
}

/** Redis's clientCommand UNBLOCK: 1 when the client was blocked (and now got its reply). */
function clientUnblock(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 4) throw subcommandSyntaxError(args)
  const id = parseIntegerOrThrow(args[2] as Buffer)
  let reason: UnblockReason = 'timeout'
  if (args.length === 4) {
    if (argIs(args[3], 'error')) reason = 'error'
    else if (!argIs(args[3], 'timeout')) {
      throw new CaskadeError(ErrorCode.Err, 'CLIENT UNBLOCK reason should be TIMEOUT or ERROR')
    }
  }
  const unblocked = id >= 0n && id <= BigInt(Number.MAX_SAFE_INTEGER) && ctx.blocking !== undefined
  ctx.reply.integer(unblocked && ctx.blocking.unblock(Number(id), reason) ? 1 : 0)
}

const clientHelpLines: readonly string[] = [
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection (caskade: ON only).',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  '    Will not touch LRU/LFU stats when this mode is on.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
]

const sessionFlags = ['noscript', 'loading', 'stale'] as const
const adminFlags = ['admin', 'noscript', 'loading', 'stale'] as const

const clientSubcommands: readonly CommandSpec[] = [
  subcommandSpec({
    name: 'client|id',
    arity: 2,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Returns the client ID for the current connection',
    since: '5.0.0',
    complexity: 'O(1)',
    handler: (ctx) => ctx.reply.integer(ctx.client.id),
  }),
  subcommandSpec({
    name: 'client|setname',
    arity: 3,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Set the current connection name',
    since: '2.6.9',
    complexity: 'O(1)',
    handler: (ctx, args) => {
      setClientName(ctx.client, args[2] as Buffer)
      ctx.reply.simple('OK')
    },
  }),
  subcommandSpec({
    name: 'client|getname',
    arity: 2,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Get the current connection name',
    since: '2.6.9',
    complexity: 'O(1)',
    handler: (ctx) => {
      const name = ctx.client.name
      if (name === null) ctx.reply.nullBulk()
      else ctx.reply.bulk(Buffer.from(name, 'latin1'))
    },
  }),
  subcommandSpec({
    name: 'client|list',
    arity: -2,
    flags: adminFlags,
    group: 'connection',
    summary: 'Get the list of client connections',
    since: '2.4.0',
    complexity: 'O(N) where N is the number of client connections',
    handler: clientList,
  }),
  subcommandSpec({
    name: 'client|info',
    arity: 2,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Returns information about the current client connection.',
    since: '6.2.0',
    complexity: 'O(1)',
    handler: (ctx) => ctx.reply.verbatim(`${clientInfoLine(ctx, ctx.client)}\n`),
  }),
  subcommandSpec({
    name: 'client|kill',
    arity: -3,
    flags: adminFlags,
    group: 'connection',
    summary: 'Kill the connection of a client',
    since: '2.4.0',
    complexity: 'O(N) where N is the number of client connections',
    handler: clientKill,
  }),
  subcommandSpec({
    name: 'client|no-evict',
    arity: 3,
    flags: adminFlags,
    group: 'connection',
    summary: 'Set client eviction mode for the current connection',
    since: '7.0.0',
    complexity: 'O(1)',
    handler: (ctx, args) => {
      ctx.client.noEvict = onOffOrThrow(args[2] as Buffer)
      ctx.reply.simple('OK')
    },
  }),
  subcommandSpec({
    name: 'client|no-touch',
    arity: 3,
    flags: sessionFlags,
    group: 'connection',
    summary:
      'Controls whether commands sent by the client will alter ' +
      'the LRU/LFU of the keys they access.',
    since: '7.2.0',
    complexity: 'O(1)',
    handler: (ctx, args) => {
      ctx.client.noTouch = onOffOrThrow(args[2] as Buffer)
      ctx.reply.simple('OK')
    },
  }),
  subcommandSpec({
    name: 'client|setinfo',
    arity: 4,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Set client or connection specific info',
    since: '7.2.0',
    complexity: 'O(1)',
    handler: clientSetinfo,
  }),
  subcommandSpec({
    name: 'client|reply',
    arity: 3,
    flags: sessionFlags,
    group: 'connection',
    summary: 'Instruct the server whether to reply to commands',
    since: '3.2.0',
    complexity: 'O(1)',
    handler: clientReply,
  }),
  subcommandSpec({
    name: 'client|unblock',
    arity: -3,
    flags: adminFlags,
    group: 'connection',
    summary: 'Unblock a client blocked in a blocking command from a different connection',
    since: '5.0.0',
    complexity: 'O(log N) where N is the number of client connections',
    handler: clientUnblock,
  }),
  subcommandSpec({
    name: 'client|help',
    arity: 2,
    flags: ['loading', 'stale'],
    group: 'connection',
    summary: 'Show helpful text about the different subcommands',
    since: '5.0.0',
    complexity: 'O(1)',
    handler: (ctx, args) => replyHelp(ctx, args, clientHelpLines),
  }),
]

export const clientCommand: CommandSpec = containerSpec(
  'client',
  'connection',
  { summary: 'A container for client connection commands', since: '2.4.0' },
  clientSubcommands,
)
