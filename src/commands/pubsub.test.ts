/* Pub/sub through the real dispatcher: several clients sharing one hub and keyspace, each with its
 * own reply writer, so a test reads exactly the bytes each connection would receive. Covers the
 * hub's bookkeeping, subscribe mode, RESP3 pushes, CLIENT LIST fields and keyspace events. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeyspace } from '../keyspace/keyspace.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import type { ProtocolVersion } from '../protocol/types.js'
import { createDispatcher } from './dispatch.js'
import { formatNotifyFlags, parseNotifyFlags, NotifyClass } from './notify.js'
import { PubSubHub } from './pubsub-hub.js'
import { commandTable } from './registry.js'
import { FakeHost, addClient, inertTimers, ManualClock } from './test-support.js'
import type { CommandContext } from './types.js'

/** Clients on one hub; `run` returns what that client's connection receives, pushes included. */
function createWorld() {
  const clock = new ManualClock()
  const host = new FakeHost()
  const pubsub = new PubSubHub()
  const delivered: number[] = []
  pubsub.onDeliver = (id) => delivered.push(id)
  const engine = new MemoryEngine()
  const keyspace = createKeyspace({ engine, clock, timers: inertTimers, events: pubsub })
  const dispatcher = createDispatcher(commandTable)
  const contexts: CommandContext[] = []
  const client = (protocol: ProtocolVersion = 2) => {
    const { session, reply, ctx } = addClient(
      { keyspace, clock, host, pubsub },
      contexts.length + 1,
      protocol,
    )
    contexts.push(ctx)
    return {
      session,
      run(...args: Array<string | Buffer>): string {
        dispatcher.execute(
          ctx,
          args.map((arg) => (typeof arg === 'string' ? Buffer.from(arg) : arg)),
        )
        if (reply.protocol !== session.protocol) reply.protocol = session.protocol
        return reply.take()?.toString('latin1') ?? ''
      },
      /** Messages delivered since the last read. */
      inbox(): string {
        return reply.take()?.toString('latin1') ?? ''
      },
    }
  }
  return { clock, pubsub, keyspace, dispatcher, delivered, client }
}

const bulk = (text: string): string => `$${Buffer.byteLength(text)}\r\n${text}\r\n`
const message = (channel: string, text: string): string =>
  `*3\r\n${bulk('message')}${bulk(channel)}${bulk(text)}`
const pmessage = (pattern: string, channel: string, text: string): string =>
  `*4\r\n${bulk('pmessage')}${bulk(pattern)}${bulk(channel)}${bulk(text)}`

describe('pub/sub hub and commands', () => {
  test('a subscriber receives what is published; PUBLISH counts receivers', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    assert.equal(
      alice.run('subscribe', 'news', 'sport'),
      `*3\r\n${bulk('subscribe')}${bulk('news')}:1\r\n*3\r\n${bulk('subscribe')}${bulk('sport')}:2\r\n`,
    )
    assert.equal(bob.run('publish', 'news', 'hello'), ':1\r\n')
    assert.equal(alice.inbox(), message('news', 'hello'))
    assert.deepEqual(world.delivered, [alice.session.id])
    assert.equal(bob.run('publish', 'weather', 'rain'), ':0\r\n')
    assert.equal(alice.inbox(), '')
  })

  test('a client matching by channel and by pattern receives (and counts) twice', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    alice.run('subscribe', 'news.tech')
    alice.run('psubscribe', 'news.*')
    assert.equal(bob.run('publish', 'news.tech', 'x'), ':2\r\n')
    assert.equal(alice.inbox(), message('news.tech', 'x') + pmessage('news.*', 'news.tech', 'x'))
    assert.equal(bob.run('publish', 'news.art', 'y'), ':1\r\n')
    assert.equal(alice.inbox(), pmessage('news.*', 'news.art', 'y'))
  })

  test('the registry forgets a channel with no subscriber left; counts stay on the session', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    alice.run('subscribe', 'a', 'b')
    bob.run('subscribe', 'a')
    alice.run('psubscribe', 'p*', 'p*')
    assert.equal(world.pubsub.channelCount(), 2)
    assert.equal(world.pubsub.patternCount(), 1)
    assert.equal(alice.session.subscribedChannels, 2)
    assert.equal(alice.session.subscribedPatterns, 1)
    const observer = world.client()
    assert.equal(
      observer.run('pubsub', 'numsub', 'a', 'b', 'c'),
      `*6\r\n${bulk('a')}:2\r\n${bulk('b')}:1\r\n${bulk('c')}:0\r\n`,
    )
    alice.run('unsubscribe')
    assert.deepEqual(
      world.pubsub.activeChannels(null).map((channel) => channel.toString()),
      ['a'],
    )
    alice.run('punsubscribe')
    assert.equal(world.pubsub.patternCount(), 0)
    assert.equal(alice.session.subscribedChannels, 0)
    bob.run('reset')
    assert.equal(world.pubsub.channelCount(), 0)
  })

  test('binary channel names and messages round-trip', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    const channel = Buffer.from([0xff, 0x00, 0x80])
    alice.run('subscribe', channel)
    assert.equal(bob.run('publish', channel, Buffer.from([1, 0xfe])), ':1\r\n')
    const latin1 = (bytes: number[]): string => Buffer.from(bytes).toString('latin1')
    assert.equal(
      alice.inbox(),
      `*3\r\n${bulk('message')}$3\r\n${latin1([0xff, 0, 0x80])}\r\n$2\r\n${latin1([1, 0xfe])}\r\n`,
    )
  })

  test('RESP2 subscribe mode allows only (P)(UN)SUBSCRIBE, PING, QUIT, RESET', () => {
    const world = createWorld()
    const alice = world.client()
    alice.run('subscribe', 'c')
    assert.equal(
      alice.run('get', 'k'),
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / " +
        'RESET are allowed in this context\r\n',
    )
    assert.match(alice.run('client', 'list'), /^-ERR Can't execute 'client\|list'/)
    assert.equal(alice.run('get'), "-ERR wrong number of arguments for 'get' command\r\n")
    assert.equal(alice.run('ping'), `*2\r\n${bulk('pong')}${bulk('')}`)
    assert.equal(alice.run('ping', 'hi'), `*2\r\n${bulk('pong')}${bulk('hi')}`)
    const getStats = world.dispatcher.commandStats().find((stats) => stats.name === 'get')
    assert.equal(getStats?.rejectedCalls, 2)
    assert.equal(getStats?.calls, 0)
    alice.run('unsubscribe')
    assert.equal(alice.run('get', 'k'), '$-1\r\n')
    assert.equal(alice.run('ping'), '+PONG\r\n')
  })

  test('RESP3 clients get pushes and keep running any command while subscribed', () => {
    const world = createWorld()
    const alice = world.client(3)
    assert.equal(alice.run('subscribe', 'c'), `>3\r\n${bulk('subscribe')}${bulk('c')}:1\r\n`)
    assert.equal(alice.run('set', 'k', 'v'), '+OK\r\n')
    assert.equal(alice.run('ping'), '+PONG\r\n')
    // Publishing to yourself: the push comes before PUBLISH's own reply, as in Redis.
    assert.equal(
      alice.run('publish', 'c', 'me'),
      `>3\r\n${bulk('message')}${bulk('c')}${bulk('me')}:1\r\n`,
    )
    assert.equal(alice.run('unsubscribe'), `>3\r\n${bulk('unsubscribe')}${bulk('c')}:0\r\n`)
    assert.equal(alice.run('unsubscribe'), `>3\r\n${bulk('unsubscribe')}_\r\n:0\r\n`)
  })

  test('CLIENT LIST shows sub, psub and flag P; TYPE pubsub selects subscribers', () => {
    const world = createWorld()
    const alice = world.client(3)
    const bob = world.client()
    alice.run('subscribe', 'a', 'b')
    alice.run('psubscribe', 'x*')
    const line = bob.run('client', 'list')
    assert.match(line, /id=1 .*flags=P db=0 sub=2 psub=1 ssub=0 /)
    assert.match(line, /id=2 .*flags=N db=0 sub=0 psub=0 /)
    const pubsubOnly = bob.run('client', 'list', 'type', 'pubsub')
    assert.match(pubsubOnly, /id=1 /)
    assert.doesNotMatch(pubsubOnly, /id=2 /)
  })

  test('shard channels have their own namespace, counts and smessage', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    assert.equal(
      alice.run('ssubscribe', 'orders'),
      `*3\r\n${bulk('ssubscribe')}${bulk('orders')}:1\r\n`,
    )
    assert.equal(
      alice.run('subscribe', 'orders'),
      `*3\r\n${bulk('subscribe')}${bulk('orders')}:1\r\n`,
    )
    assert.equal(bob.run('spublish', 'orders', 'x'), ':1\r\n')
    assert.equal(alice.inbox(), `*3\r\n${bulk('smessage')}${bulk('orders')}${bulk('x')}`)
    assert.equal(bob.run('pubsub', 'shardnumsub', 'orders'), `*2\r\n${bulk('orders')}:1\r\n`)
    alice.run('unsubscribe')
    assert.match(alice.run('get', 'k'), /^-ERR Can't execute 'get'/) // still a shard subscriber
    assert.equal(alice.run('sunsubscribe'), `*3\r\n${bulk('sunsubscribe')}${bulk('orders')}:0\r\n`)
    assert.equal(alice.run('get', 'k'), '$-1\r\n')
    assert.equal(world.pubsub.channelCount('shard'), 0)
  })

  test('PUBSUB CHANNELS filters by glob; wrong forms answer Redis errors', () => {
    const world = createWorld()
    const alice = world.client()
    const bob = world.client()
    alice.run('subscribe', 'news.a', 'sport')
    assert.equal(bob.run('pubsub', 'channels', 'news.*'), `*1\r\n${bulk('news.a')}`)
    assert.equal(
      bob.run('pubsub', 'channels', 'a', 'b'),
      "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n",
    )
    assert.equal(bob.run('pubsub', 'nope'), "-ERR unknown subcommand 'nope'. Try PUBSUB HELP.\r\n")
    assert.match(bob.run('pubsub', 'help'), /^\*14\r\n\+PUBSUB <subcommand>/)
  })
})

describe('keyspace notifications', () => {
  const watch = (flags: string) => {
    const world = createWorld()
    world.pubsub.notifyFlags = parseNotifyFlags(flags) ?? 0
    const watcher = world.client()
    watcher.run('psubscribe', '__key*__:*')
    const writer = world.client()
    const events = (): string[] => {
      const text = watcher.inbox()
      const found: string[] = []
      const pattern = /\$\d+\r\n(__key(?:space|event)@0__:[^\r]*)\r\n\$\d+\r\n([^\r]*)\r\n/g
      for (const match of text.matchAll(pattern)) found.push(`${match[1]} ${match[2]}`)
      return found
    }
    return { world, writer, events }
  }

  test('SET, DEL and EXPIRE publish keyspace then keyevent messages', () => {
    const { writer, events } = watch('KEA')
    writer.run('set', 'k', 'v', 'ex', '10')
    assert.deepEqual(events(), [
      '__keyspace@0__:k set',
      '__keyevent@0__:set k',
      '__keyspace@0__:k expire',
      '__keyevent@0__:expire k',
    ])
    writer.run('del', 'k', 'missing')
    assert.deepEqual(events(), ['__keyspace@0__:k del', '__keyevent@0__:del k'])
    writer.run('set', 'k', 'v')
    events()
    writer.run('expire', 'k', '-1')
    assert.deepEqual(events(), ['__keyspace@0__:k del', '__keyevent@0__:del k'])
  })

  test("'expired' comes from lazy expiry and from active expiry", () => {
    const { world, writer, events } = watch('Ex')
    writer.run('set', 'lazy', 'v', 'px', '100')
    writer.run('set', 'active', 'v', 'px', '100')
    assert.deepEqual(events(), [])
    world.clock.nowMs += 200
    assert.equal(writer.run('get', 'lazy'), '$-1\r\n')
    assert.deepEqual(events(), ['__keyevent@0__:expired lazy'])
    const keyspace = world.keyspace
    keyspace.activeExpireCycle()
    assert.deepEqual(events(), ['__keyevent@0__:expired active'])
  })

  test('classes filter events; new and keymiss are opt-in', () => {
    const { world, writer, events } = watch('K$')
    writer.run('set', 'k', 'v')
    writer.run('del', 'k')
    assert.deepEqual(events(), ['__keyspace@0__:k set'])
    world.pubsub.notifyFlags = parseNotifyFlags('KEnm') ?? 0
    writer.run('set', 'fresh', 'v')
    writer.run('get', 'nothing')
    assert.deepEqual(events(), [
      '__keyspace@0__:fresh new',
      '__keyevent@0__:new fresh',
      '__keyspace@0__:nothing keymiss',
      '__keyevent@0__:keymiss nothing',
    ])
  })

  test('a RESP3 client watching itself sees its own push before an error reply', () => {
    const world = createWorld()
    world.pubsub.notifyFlags = parseNotifyFlags('Ex') ?? 0
    const alice = world.client(3)
    alice.run('subscribe', '__keyevent@0__:expired')
    alice.run('set', 'k', 'v', 'px', '10')
    world.clock.nowMs += 50
    assert.equal(
      alice.run('rename', 'k', 'k2'),
      `>3\r\n${bulk('message')}${bulk('__keyevent@0__:expired')}${bulk('k')}-ERR no such key\r\n`,
    )
  })

  test('notify-keyspace-events letters parse and print as Redis 7.0 does', () => {
    assert.equal(formatNotifyFlags(parseNotifyFlags('dtexzhsl$nmE') ?? -1), '$lshzxetdnEm')
    assert.equal(formatNotifyFlags(parseNotifyFlags('AKEmn') ?? -1), 'AKEm')
    assert.equal(formatNotifyFlags(parseNotifyFlags('g$lshzxetd') ?? -1), 'A')
    assert.equal(formatNotifyFlags(parseNotifyFlags('') ?? -1), '')
    assert.equal(parseNotifyFlags('Kq'), null)
    assert.equal((parseNotifyFlags('A') ?? 0) & NotifyClass.New, 0)
  })
})
