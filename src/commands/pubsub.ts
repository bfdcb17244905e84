/* The pub/sub commands (SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB) with Redis
 * 7.0's reply shapes, and the RESP2 subscribe-mode rule dispatch applies. Invariant: every
 * (un)subscribe confirmation carries the client's total count after that one change, and a RESP2
 * client with a subscription runs only the commands Redis allows in that context. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { containerSpec, keylessSpec, replyHelp, subcommandSpec } from './help.js'
import type { ChannelKind, PubSubHub } from './pubsub-hub.js'
import type { ClientSession, CommandContext, CommandSpec } from './types.js'

/** Commands a RESP2 client may run while subscribed (Redis's processCommand list). */
const subscribeModeCommands: ReadonlySet<string> = new Set([
  'ping',
  'subscribe',
  'ssubscribe',
  'unsubscribe',
  'sunsubscribe',
  'psubscribe',
  'punsubscribe',
  'quit',
  'reset',
])

/** Channels plus patterns: what (P)(UN)SUBSCRIBE confirmations carry (Redis 7.0 counts shard
 * channels separately, in SSUBSCRIBE's confirmations). */
export function subscriptionCount(client: ClientSession): number {
  return (client.subscribedChannels ?? 0) + (client.subscribedPatterns ?? 0)
}

/** Any subscription at all: Redis's CLIENT_PUBSUB flag ('P', client type pubsub, limits). */
export function hasSubscriptions(client: ClientSession): boolean {
  return subscriptionCount(client) + (client.subscribedShardChannels ?? 0) > 0
}

/** In RESP2 a subscribed client speaks the subscribe-mode protocol (Redis's CLIENT_PUBSUB). */
export function inSubscribeMode(client: ClientSession): boolean {
  return client.protocol === 2 && hasSubscriptions(client)
}

/** Redis's error text when a RESP2 subscribed client runs another command; null if allowed. */
export function subscribeModeRejection(client: ClientSession, spec: CommandSpec): string | null {
  if (!inSubscribeMode(client)) return null
  if (subscribeModeCommands.has(spec.name)) return null
  return (
    `Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / ` +
    'RESET are allowed in this context'
  )
}

function hubOf(ctx: CommandContext): PubSubHub {
  const hub = ctx.pubsub
  assert(hub !== undefined, 'the host serving pub/sub commands provides a hub')
  return hub
}

/** One confirmation: [kind, channel-or-null, count], a push in RESP3. */
function replyConfirmation(ctx: CommandContext, kind: string, channel: Buffer | null): void {
  const reply = ctx.reply
  reply.pushHeader(3)
  reply.bulk(kind)
  if (channel === null) reply.nullBulk()
  else reply.bulk(channel)
  const shard = kind === 'ssubscribe' || kind === 'sunsubscribe'
  reply.integer(shard ? (ctx.client.subscribedShardChannels ?? 0) : subscriptionCount(ctx.client))
}

function subscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  const hub = hubOf(ctx)
  const client = { session: ctx.client, writer: ctx.reply }
  for (let i = 1; i < args.length; i++) {
    const channel = args[i] as Buffer
    hub.subscribe(client, channel)
    replyConfirmation(ctx, 'subscribe', channel)
  }
}

function ssubscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  const hub = hubOf(ctx)
  const client = { session: ctx.client, writer: ctx.reply }
  for (let i = 1; i < args.length; i++) {
    const channel = args[i] as Buffer
    hub.subscribe(client, channel, 'shard')
    replyConfirmation(ctx, 'ssubscribe', channel)
  }
}

function psubscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  const hub = hubOf(ctx)
  const client = { session: ctx.client, writer: ctx.reply }
  for (let i = 1; i < args.length; i++) {
    const pattern = args[i] as Buffer
    hub.psubscribe(client, pattern)
    replyConfirmation(ctx, 'psubscribe', pattern)
  }
}

/** (P|S)UNSUBSCRIBE: the named ones, or all (one null confirmation when none). */
function unsubscribeGeneric(
  ctx: CommandContext,
  args: readonly Buffer[],
  kind: 'unsubscribe' | 'punsubscribe' | 'sunsubscribe',
): void {
  const hub = hubOf(ctx)
  const session = ctx.client
  const remove = (name: Buffer): void => {
    if (kind === 'unsubscribe') hub.unsubscribe(session, name)
    else if (kind === 'sunsubscribe') hub.unsubscribe(session, name, 'shard')
    else hub.punsubscribe(session, name)
  }
  let names = args.slice(1)
  if (names.length === 0) {
    if (kind === 'punsubscribe') names = hub.patternsOf(session)
    else names = hub.channelsOf(session, kind === 'unsubscribe' ? 'channel' : 'shard')
    if (names.length === 0) {
      replyConfirmation(ctx, kind, null)
      return
    }
  }
  for (const name of names) {
    remove(name)
    replyConfirmation(ctx, kind, name)
  }
}

function unsubscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  unsubscribeGeneric(ctx, args, 'unsubscribe')
}

function punsubscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  unsubscribeGeneric(ctx, args, 'punsubscribe')
}

function sunsubscribe(ctx: CommandContext, args: readonly Buffer[]): void {
  unsubscribeGeneric(ctx, args, 'sunsubscribe')
}

function publish(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(hubOf(ctx).publish(args[1] as Buffer, args[2] as Buffer))
}

function spublish(ctx: CommandContext, args: readonly Buffer[]): void {
  ctx.reply.integer(hubOf(ctx).publishShard(args[1] as Buffer, args[2] as Buffer))
}

/** "unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP." */
function pubsubSyntaxError(args: readonly Buffer[]): CaskadeError {
  const sub = (args[1] as Buffer).subarray(0, 128).toString('utf8')
  return new CaskadeError(
    ErrorCode.Err,
    `unknown subcommand or wrong number of arguments for '${sub}'. Try PUBSUB HELP.`,
  )
}

function channelsGeneric(ctx: CommandContext, args: readonly Buffer[], kind: ChannelKind): void {
  if (args.length > 3) throw pubsubSyntaxError(args)
  const channels = hubOf(ctx).activeChannels(args[2] ?? null, kind)
  ctx.reply.arrayHeader(channels.length)
  for (const channel of channels) ctx.reply.bulk(channel)
}

function numsubGeneric(ctx: CommandContext, args: readonly Buffer[], kind: ChannelKind): void {
  const hub = hubOf(ctx)
  ctx.reply.arrayHeader((args.length - 2) * 2)
  for (let i = 2; i < args.length; i++) {
    const channel = args[i] as Buffer
    ctx.reply.bulk(channel)
    ctx.reply.integer(hub.subscriberCount(channel, kind))
  }
}

function pubsubChannels(ctx: CommandContext, args: readonly Buffer[]): void {
  channelsGeneric(ctx, args, 'channel')
}

function pubsubNumsub(ctx: CommandContext, args: readonly Buffer[]): void {
  numsubGeneric(ctx, args, 'channel')
}

function pubsubShardchannels(ctx: CommandContext, args: readonly Buffer[]): void {
  channelsGeneric(ctx, args, 'shard')
}

function pubsubShardnumsub(ctx: CommandContext, args: readonly Buffer[]): void {
  numsubGeneric(ctx, args, 'shard')
}

function pubsubNumpat(ctx: CommandContext): void {
  ctx.reply.integer(hubOf(ctx).patternCount())
}

const pubsubHelpLines = [
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
]

function pubsubHelp(ctx: CommandContext, args: readonly Buffer[]): void {
  replyHelp(ctx, args, pubsubHelpLines)
}

const pubsubSpec = keylessSpec.bind(null, 'pubsub')
const allArgumentsAreKeys = { firstKey: 1, lastKey: -1, keyStep: 1 }
const subscribeFlags = ['pubsub', 'noscript', 'loading', 'stale'] as const
const introspectionFlags = ['pubsub', 'loading', 'stale'] as const

const pubsubContainer = containerSpec(
  'pubsub',
  'pubsub',
  { summary: 'A container for Pub/Sub commands', since: '2.8.0' },
  [
    subcommandSpec({
      name: 'pubsub|channels',
      arity: -2,
      flags: introspectionFlags,
      group: 'pubsub',
      summary: 'List active channels',
      since: '2.8.0',
      complexity:
        'O(N) where N is the number of active channels, and assuming constant time pattern ' +
        'matching (relatively short channels and patterns)',
      handler: pubsubChannels,
    }),
    subcommandSpec({
      name: 'pubsub|numsub',
      arity: -2,
      flags: introspectionFlags,
      group: 'pubsub',
      summary: 'Get the count of subscribers for channels',
      since: '2.8.0',
      complexity: 'O(N) for the NUMSUB subcommand, where N is the number of requested channels',
      handler: pubsubNumsub,
    }),
    subcommandSpec({
      name: 'pubsub|numpat',
      arity: 2,
      flags: introspectionFlags,
      group: 'pubsub',
      summary: 'Get the count of unique patterns pattern subscriptions',
      since: '2.8.0',
      complexity: 'O(1)',
      handler: pubsubNumpat,
    }),
    subcommandSpec({
      name: 'pubsub|shardchannels',
      arity: -2,
      flags: introspectionFlags,
      group: 'pubsub',
      summary: 'List active shard channels',
      since: '7.0.0',
      complexity:
        'O(N) where N is the number of active shard channels, and assuming constant time ' +
        'pattern matching (relatively short shard channels).',
      handler: pubsubShardchannels,
    }),
    subcommandSpec({
      name: 'pubsub|shardnumsub',
      arity: -2,
      flags: introspectionFlags,
      group: 'pubsub',
      summary: 'Get the count of subscribers for shard channels',
      since: '7.0.0',
      complexity:
        'O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels',
      handler: pubsubShardnumsub,
    }),
    subcommandSpec({
      name: 'pubsub|help',
      arity: 2,
      flags: ['loading', 'stale'],
      group: 'pubsub',
      summary: 'Show helpful text about the different subcommands',
      since: '6.2.0',
      complexity: 'O(1)',
      handler: pubsubHelp,
    }),
  ],
)

export const pubsubCommands: readonly CommandSpec[] = [
  pubsubSpec(
    'subscribe',
    -2,
    subscribeFlags,
    {
      summary: 'Listen for messages published to the given channels',
      since: '2.0.0',
      complexity: 'O(N) where N is the number of channels to subscribe to.',
    },
    subscribe,
  ),
  pubsubSpec(
    'unsubscribe',
    -1,
    subscribeFlags,
    {
      summary: 'Stop listening for messages posted to the given channels',
      since: '2.0.0',
      complexity: 'O(N) where N is the number of clients already subscribed to a channel.',
    },
    unsubscribe,
  ),
  pubsubSpec(
    'psubscribe',
    -2,
    subscribeFlags,
    {
      summary: 'Listen for messages published to channels matching the given patterns',
      since: '2.0.0',
      complexity: 'O(N) where N is the number of patterns the client is already subscribed to.',
    },
    psubscribe,
  ),
  pubsubSpec(
    'punsubscribe',
    -1,
    subscribeFlags,
    {
      summary: 'Stop listening for messages posted to channels matching the given patterns',
      since: '2.0.0',
      complexity:
        'O(N+M) where N is the number of patterns the client is already subscribed and M is ' +
        'the number of total patterns subscribed in the system (by any client).',
    },
    punsubscribe,
  ),
  pubsubSpec(
    'publish',
    3,
    ['pubsub', 'loading', 'stale', 'fast'],
    {
      summary: 'Post a message to a channel',
      since: '2.0.0',
      complexity:
        'O(N+M) where N is the number of clients subscribed to the receiving channel and M is ' +
        'the total number of subscribed patterns (by any client).',
    },
    publish,
  ),
  // Shard channels are the command's "keys" (not_key key specs), as in Redis 7.0.
  {
    ...pubsubSpec(
      'ssubscribe',
      -2,
      subscribeFlags,
      {
        summary: 'Listen for messages published to the given shard channels',
        since: '7.0.0',
        complexity: 'O(N) where N is the number of shard channels to subscribe to.',
      },
      ssubscribe,
    ),
    ...allArgumentsAreKeys,
  },
  {
    ...pubsubSpec(
      'sunsubscribe',
      -1,
      subscribeFlags,
      {
        summary: 'Stop listening for messages posted to the given shard channels',
        since: '7.0.0',
        complexity: 'O(N) where N is the number of clients already subscribed to a shard channel.',
      },
      sunsubscribe,
    ),
    ...allArgumentsAreKeys,
  },
  {
    ...pubsubSpec(
      'spublish',
      3,
      ['pubsub', 'loading', 'stale', 'fast'],
      {
        summary: 'Post a message to a shard channel',
        since: '7.0.0',
        complexity:
          'O(N) where N is the number of clients subscribed to the receiving shard channel.',
      },
      spublish,
    ),
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
  },
  pubsubContainer,
]

/** RESET and disconnects: every subscription dropped, no confirmations (Redis's RESET). */
export function dropSubscriptions(ctx: CommandContext): void {
  ctx.pubsub?.removeClient(ctx.client)
}
