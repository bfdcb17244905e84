/* Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET and the CLIENT family, with Redis
 * 7.0's replies and error texts. They change only the caller's ClientSession (name, protocol,
 * flags); whatever touches other connections (LIST, KILL) goes through the ServerHost. */
import { CaskadeError, ErrorCode, RedisErrors, syntaxError } from '../core/errors.js'
import { argIs, parseInteger } from './args.js'
import { clientCommand, setClientName } from './client.js'
import { keylessSpec } from './help.js'
import { resetTransaction } from './transactions.js'
import type { CommandContext, CommandSpec } from './types.js'

/** The Redis version caskade speaks: clients read it from HELLO and INFO to enable features. */
export const redisCompatibleVersion = '7.0.15'
/** What HELLO reports as `server`. */
export const serverName = 'caskade'

const connectionSpec = keylessSpec.bind(null, 'connection')

const handshakeFlags = ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'] as const

function ping(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 2) throw new CaskadeError(ErrorCode.Err, RedisErrors.wrongArity('ping'))
  if (args.length === 2) ctx.reply.bulk(args[1] as Buffer)
  else ctx.reply.simple('PONG')
}

function echo(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.bulk(args[1] as Buffer)
}

const wrongPass = (): CaskadeError =>
  new CaskadeError(ErrorCode.WrongPass, 'invalid username-password pair or user is disabled.')

/**
 * No password is configured, so the default user is "nopass" exactly as in Redis without
 * requirepass: `AUTH default <anything>` succeeds, any other user is refused, and the one-argument
 * form is an error.
 */
function checkCredentials(username: Buffer): void {
  if (username.toString('latin1') !== 'default') throw wrongPass()
}

function auth(ctx: CommandContext, args: readonly Buffer[]): void {
  if (args.length > 3) throw syntaxError()
  if (args.length === 2) {
    throw new CaskadeError(
      ErrorCode.Err,
      'AUTH <password> called without any password configured for the default user. ' +
        'Are you sure your configuration is correct?',
    )
  }
  checkCredentials(args[1] as Buffer)
  ctx.reply.simple('OK')
}

interface HelloOptions {
  protocol: 2 | 3 | null
  username: Buffer | null
  name: Buffer | null
}

function parseHelloOrThrow(args: readonly Buffer[]): HelloOptions {
  const options: HelloOptions = { protocol: null, username: null, name: null }
  let next = 1
  if (args.length >= 2) {
    const version = parseInteger(args[1] as Buffer)
    if (version === null) {
      throw new CaskadeError(ErrorCode.Err, 'Protocol version is not an integer or out of range')
    }
    if (version !== 2n && version !== 3n) {
      throw new CaskadeError(ErrorCode.NoProto, 'unsupported protocol version')
    }
    options.protocol = version === 2n ? 2 : 3
    next = 2
  }
  for (let i = next; i < args.length; i++) {
    const option = args[i] as Buffer
    const moreArgs = args.length - 1 - i
    if (argIs(option, 'auth') && moreArgs >= 2) {
      options.username = args[i + 1] as Buffer
      i += 2
    } else if (argIs(option, 'setname') && moreArgs >= 1) {
      options.name = args[i + 1] as Buffer
      i += 1
    } else {
      const text = option.toString('utf8')
      throw new CaskadeError(ErrorCode.Err, `Syntax error in HELLO option '${text}'`)
    }
  }
  return options
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]]: replies in the new protocol. */
function hello(ctx: CommandContext, args: readonly Buffer[]): void {
  const options = parseHelloOrThrow(args)
  if (options.username !== null) checkCredentials(options.username)
  const client = ctx.client
  if (options.name !== null) setClientName(client, options.name)
  if (options.protocol !== null) {
    client.protocol = options.protocol
    ctx.reply.protocol = options.protocol
  }
  const reply = ctx.reply
  reply.mapHeader(7)
  reply.bulk('server')
  reply.bulk(serverName)
  reply.bulk('version')
  reply.bulk(redisCompatibleVersion)
  reply.bulk('proto')
  reply.integer(client.protocol)
  reply.bulk('id')
  reply.integer(client.id)
  reply.bulk('mode')
  reply.bulk('standalone')
  reply.bulk('role')
  reply.bulk('master')
  reply.bulk('modules')
  reply.arrayHeader(0)
}

/** caskade has one database: SELECT 0 works, any other index is out of range. */
function select(ctx: CommandContext, args: readonly Buffer[]): void {
  const index = parseInteger(args[1] as Buffer)
  if (index === null) throw new CaskadeError(ErrorCode.Err, RedisErrors.notInteger)
  if (index > 2147483647n || index < -2147483648n) {
    throw new CaskadeError(
      ErrorCode.Err,
      'value is out of range, value must between -2147483648 and 2147483647',
    )
  }
  if (index !== 0n) throw new CaskadeError(ErrorCode.Err, 'DB index is out of range')
  ctx.reply.simple('OK')
}

function quit(ctx: CommandContext): void {
  ctx.client.closeAfterReply = true
  ctx.reply.simple('OK')
}

/** RESET: back to RESP2, no name, flags cleared (lib-name/lib-ver stay, as in Redis 7.2). */
function reset(ctx: CommandContext): void {
  const client = ctx.client
  client.protocol = 2
  ctx.reply.protocol = 2
  client.name = null
  client.noEvict = false
  client.noTouch = false
  resetTransaction(ctx)
  ctx.reply.simple('RESET')
}

export const connectionCommands: readonly CommandSpec[] = [
  connectionSpec(
    'ping',
    -1,
    ['fast'],
    { summary: 'Ping the server', since: '1.0.0', complexity: 'O(1)' },
    ping,
  ),
  connectionSpec(
    'echo',
    2,
    ['loading', 'stale', 'fast'],
    { summary: 'Echo the given string', since: '1.0.0', complexity: 'O(1)' },
    echo,
  ),
  connectionSpec(
    'hello',
    -1,
    handshakeFlags,
    { summary: 'Handshake with Redis', since: '6.0.0', complexity: 'O(1)' },
    hello,
  ),
  connectionSpec(
    'auth',
    -2,
    handshakeFlags,
    {
      summary: 'Authenticate to the server',
      since: '1.0.0',
      complexity: 'O(N) where N is the number of passwords defined for the user',
    },
    auth,
  ),
  connectionSpec(
    'select',
    2,
    ['loading', 'stale', 'fast'],
    {
      summary: 'Change the selected database for the current connection',
      since: '1.0.0',
      complexity: 'O(1)',
    },
    select,
  ),
  connectionSpec(
    'quit',
    -1,
    handshakeFlags,
    { summary: 'Close the connection', since: '1.0.0', complexity: 'O(1)' },
    quit,
  ),
  connectionSpec(
    'reset',
    1,
    handshakeFlags,
    { summary: 'Reset the connection', since: '6.2.0', complexity: 'O(1)' },
    reset,
  ),
  clientCommand,
]
