/* Blocking commands over the real dispatcher, keyspace and registry, several clients in one world
 * with hand-fired timers: fairness, serving after writes, timeouts, disconnects, MULTI, CLIENT
 * UNBLOCK. Each command is followed by serveReady, as the server's executor does. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Timers } from '../core/ports.js'
import { createKeyspace } from '../keyspace/keyspace.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import type { ProtocolVersion } from '../protocol/types.js'
import { BlockingRegistry, parseBlockTimeoutOrThrow } from './blocking.js'
import { createDispatcher } from './dispatch.js'
import { parseNotifyFlags } from './notify.js'
import { PubSubHub } from './pubsub-hub.js'
import { commandTable } from './registry.js'
import { listBlockingCommands } from './list-blocking.js'
import { FakeHost, ManualClock, addClient, handlerHarness, inertTimers } from './test-support.js'
import { zsetBlockingCommands } from './zset-blocking.js'
import type { CommandContext } from './types.js'

/** Timers fired by hand: `advance` runs the ones due, in due order. */
class ManualTimers implements Timers {
  nowMs = 0
  #pending: Array<{ dueMs: number; onFire: () => void; live: boolean }> = []
  every(): () => void {
    return () => undefined
  }
  after(delayMs: number, onFire: () => void): () => void {
    const timer = { dueMs: this.nowMs + delayMs, onFire, live: true }
    this.#pending.push(timer)
    return () => {
      timer.live = false
    }
  }
  defer(onFire: () => void): void {
    onFire()
  }
  advance(deltaMs: number): void {
    this.nowMs += deltaMs
    const due = this.#pending.filter((timer) => timer.live && timer.dueMs <= this.nowMs)
    this.#pending = this.#pending.filter((timer) => timer.live && timer.dueMs > this.nowMs)
    for (const timer of due.sort((a, b) => a.dueMs - b.dueMs)) timer.onFire()
  }
}

interface Client {
  readonly id: number
  readonly ctx: CommandContext
  /** Runs one command (args split on spaces), serves ready keys; returns this client's bytes. */
  run(line: string): string
  /** Bytes written to this client since the last run/take (a served or timed-out reply). */
  take(): string
}

function world() {
  const timers = new ManualTimers()
  const clock = new ManualClock()
  const registry = new BlockingRegistry(timers)
  const resumed: number[] = []
  registry.onUnblocked = (session) => resumed.push(session.id)
  const pubsub = new PubSubHub()
  const keyspace = createKeyspace({
    engine: new MemoryEngine(),
    clock,
    timers: inertTimers,
    events: pubsub,
    onKeyModified: registry.keyModified,
  })
  const dispatcher = createDispatcher(commandTable)
  const host = new FakeHost()
  let nextId = 1
  const client = (protocol: ProtocolVersion = 2): Client => {
    const { session, reply, ctx } = addClient(
      { keyspace, clock, host, pubsub, blocking: registry },
      nextId++,
      protocol,
    )
    const take = (): string => reply.take()?.toString('latin1') ?? ''
    return {
      id: session.id,
      ctx,
      run: (line) => {
        assert.equal(session.blocked, undefined, 'a blocked client sends no command')
        dispatcher.execute(
          ctx,
          line.split(' ').map((arg) => Buffer.from(arg)),
        )
        if (registry.hasReadyKeys()) registry.serveReady()
        return take()
      },
      take,
    }
  }
  return { timers, registry, resumed, keyspace, pubsub, client }
}

const served = (key: string, member: string, score: string): string =>
  `*3\r\n$${key.length}\r\n${key}\r\n$${member.length}\r\n${member}\r\n$${score.length}\r\n${score}\r\n`

describe('blocking framework with BZPOPMIN/BZPOPMAX', () => {
  test('data already there: BZPOPMIN replies at once with [key, member, score]', () => {
    const w = world()
    const a = w.client()
    a.run('ZADD z2 1 a 2 b')
    assert.equal(a.run('BZPOPMIN z1 z2 0'), served('z2', 'a', '1'))
    assert.equal(a.run('BZPOPMAX z2 0'), served('z2', 'b', '2'))
    assert.equal(a.run('EXISTS z2'), ':0\r\n')
    const resp3 = w.client(3)
    resp3.run('ZADD z 1.5 m')
    assert.equal(resp3.run('BZPOPMIN z 0'), '*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n')
  })

  test('three blocked clients are served first blocked, first served', () => {
    const w = world()
    const [a, b, c, writer] = [w.client(), w.client(), w.client(), w.client()]
    assert.equal(a.run('BZPOPMIN z 0'), '')
    assert.equal(b.run('BZPOPMIN z 0'), '')
    assert.equal(c.run('BZPOPMIN z 0'), '')
    assert.equal(w.registry.blockedCount, 3)
    assert.equal(writer.run('ZADD z 1 x'), ':1\r\n')
    assert.deepEqual([a.take(), b.take(), c.take()], [served('z', 'x', '1'), '', ''])
    writer.run('ZADD z 2 y')
    assert.deepEqual([b.take(), c.take()], [served('z', 'y', '2'), ''])
    writer.run('ZADD z 3 w')
    assert.equal(c.take(), served('z', 'w', '3'))
    assert.deepEqual(w.resumed, [a.id, b.id, c.id])
    assert.equal(w.registry.blockedCount, 0)
    assert.equal(writer.run('EXISTS z'), ':0\r\n')
  })

  test('one write of two members serves two clients; the third keeps waiting', () => {
    const w = world()
    const [a, b, c, writer] = [w.client(), w.client(), w.client(), w.client()]
    a.run('BZPOPMIN z 0')
    b.run('BZPOPMAX z 0')
    c.run('BZPOPMIN z 0')
    writer.run('ZADD z 1 low 9 high')
    assert.equal(a.take(), served('z', 'low', '1'))
    assert.equal(b.take(), served('z', 'high', '9'))
    assert.equal(c.take(), '')
    assert.equal(w.registry.blockedCount, 1)
  })

  test('a client blocked on two keys made ready by one EXEC is served once', () => {
    const w = world()
    const [a, writer] = [w.client(), w.client()]
    a.run('BZPOPMIN z1 z2 0')
    writer.run('MULTI')
    writer.run('ZADD z1 1 one')
    writer.run('ZADD z2 2 two')
    assert.equal(a.take(), '', 'nothing is served while the transaction is queued')
    writer.run('EXEC')
    assert.equal(a.take(), served('z1', 'one', '1'))
    assert.equal(writer.run('ZCARD z2'), ':1\r\n')
    assert.deepEqual(w.resumed, [a.id])
  })

  test('a write of another type does not serve; the key of the right type later does', () => {
    const w = world()
    const [a, writer] = [w.client(), w.client()]
    a.run('BZPOPMIN k 0')
    writer.run('SET k str')
    assert.equal(a.take(), '')
    writer.run('DEL k')
    writer.run('ZADD k 5 m')
    assert.equal(a.take(), served('k', 'm', '5'))
  })

  test('the timeout answers a null array (RESP2 *-1, RESP3 _) when it fires, not before', () => {
    const w = world()
    const [a, b] = [w.client(), w.client(3)]
    a.run('BZPOPMIN z 0.5')
    b.run('BZPOPMAX z 0.0001') // rounded up to 1 ms, as Redis
    w.client().run('BZPOPMIN forever 0')
    assert.deepEqual([w.registry.blockedCount, w.registry.timedCount], [3, 2])
    w.timers.advance(1)
    assert.deepEqual([a.take(), b.take()], ['', '_\r\n'])
    w.timers.advance(498)
    assert.equal(a.take(), '')
    w.timers.advance(1)
    assert.equal(a.take(), '*-1\r\n')
    assert.deepEqual([w.registry.blockedCount, w.registry.timedCount], [1, 0])
    assert.equal(w.client().run('ZADD z 1 m'), ':1\r\n')
    assert.equal(a.take(), '', 'a timed-out client is not served later')
  })

  test('a disconnected client is forgotten: the next client gets the member', () => {
    const w = world()
    const [a, b, writer] = [w.client(), w.client(), w.client()]
    a.run('BZPOPMIN z 1')
    b.run('BZPOPMIN z 0')
    w.registry.remove(a.ctx.client)
    w.timers.advance(2000)
    assert.equal(a.take(), '', 'no timeout reply for a closed client')
    writer.run('ZADD z 1 m')
    assert.equal(b.take(), served('z', 'm', '1'))
    assert.equal(a.take(), '')
  })

  test('inside MULTI the command never blocks: EXEC answers nil for an empty key', () => {
    const w = world()
    const a = w.client()
    a.run('MULTI')
    assert.equal(a.run('BZPOPMIN z 0'), '+QUEUED\r\n')
    assert.equal(a.run('EXEC'), '*1\r\n*-1\r\n')
    assert.equal(w.registry.blockedCount, 0)
  })

  test('CLIENT UNBLOCK answers the blocked client with the nil or the UNBLOCKED error', () => {
    const w = world()
    const [a, b, admin] = [w.client(), w.client(), w.client()]
    a.run('BZPOPMIN z 0')
    b.run('BZPOPMIN z 0')
    assert.match(admin.run('CLIENT LIST'), new RegExp(`id=${a.id} .* flags=b `))
    assert.equal(admin.run(`CLIENT UNBLOCK ${a.id}`), ':1\r\n')
    assert.equal(a.take(), '*-1\r\n')
    assert.equal(admin.run(`CLIENT UNBLOCK ${b.id} ERROR`), ':1\r\n')
    assert.equal(b.take(), '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n')
    assert.equal(admin.run(`CLIENT UNBLOCK ${b.id}`), ':0\r\n')
    assert.equal(
      admin.run(`CLIENT UNBLOCK ${b.id} NOW`),
      '-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n',
    )
    assert.match(admin.run('CLIENT LIST'), new RegExp(`id=${a.id} .* flags=N `))
  })

  test('argument errors come before any lookup, with Redis texts', () => {
    const w = world()
    const a = w.client()
    a.run('SET s x')
    assert.equal(a.run('BZPOPMIN z x'), '-ERR timeout is not a float or out of range\r\n')
    assert.equal(a.run('BZPOPMIN z -1'), '-ERR timeout is negative\r\n')
    assert.equal(a.run('BZPOPMIN z inf'), '-ERR timeout is negative\r\n')
    assert.equal(
      a.run('BZPOPMIN s 0'),
      '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
    )
    assert.equal(a.run('BZPOPMIN z'), "-ERR wrong number of arguments for 'bzpopmin' command\r\n")
  })

  test('timeouts parse as Redis 7.0: seconds as a double, rounded up to whole ms', () => {
    const ms = (text: string): number => parseBlockTimeoutOrThrow(Buffer.from(text))
    assert.equal(ms('0'), 0)
    assert.equal(ms('1.5'), 1500)
    assert.equal(ms('0.0001'), 1)
    assert.equal(ms('-0.0001'), 0, 'rounds up to 0: blocks forever, as Redis')
    assert.equal(ms('0x10'), 16000)
    assert.throws(() => ms('1e20'), /timeout is negative/)
    assert.throws(() => ms(' 1'), /not a float/)
    assert.throws(() => ms('nan'), /not a float/)
  })
})

const bulk = (value: string): string => `$${value.length}\r\n${value}\r\n`

describe('blocking list commands', () => {
  test('data already there: BLPOP, BRPOP, BLMPOP and BLMOVE reply at once', () => {
    const w = world()
    const a = w.client()
    a.run('RPUSH l a b c d')
    assert.equal(a.run('BLPOP none l 0'), `*2\r\n${bulk('l')}${bulk('a')}`)
    assert.equal(a.run('BRPOP l 0'), `*2\r\n${bulk('l')}${bulk('d')}`)
    assert.equal(
      a.run('BLMPOP 0 2 none l LEFT COUNT 5'),
      `*2\r\n${bulk('l')}*2\r\n${bulk('b')}${bulk('c')}`,
    )
    a.run('RPUSH l e')
    assert.equal(a.run('BLMOVE l m RIGHT LEFT 0'), bulk('e'))
    assert.equal(a.run('LRANGE m 0 -1'), `*1\r\n${bulk('e')}`)
  })

  test('one push of two elements serves two BLPOP clients in the order they blocked', () => {
    const w = world()
    const [a, b, c, writer] = [w.client(), w.client(), w.client(), w.client()]
    a.run('BLPOP l 0')
    b.run('BRPOP l 0')
    c.run('BLPOP l 0')
    assert.equal(writer.run('LPUSH l x y'), ':2\r\n')
    assert.equal(a.take(), `*2\r\n${bulk('l')}${bulk('y')}`)
    assert.equal(b.take(), `*2\r\n${bulk('l')}${bulk('x')}`)
    assert.equal(c.take(), '')
    assert.equal(writer.run('EXISTS l'), ':0\r\n')
  })

  test('BLMOVE into a key another client waits on chains, as Redis', () => {
    const w = world()
    const [mover, popper, writer] = [w.client(), w.client(), w.client()]
    mover.run('BLMOVE src dst LEFT RIGHT 0')
    popper.run('BLPOP dst 0')
    writer.run('RPUSH src job')
    assert.equal(mover.take(), bulk('job'))
    assert.equal(popper.take(), `*2\r\n${bulk('dst')}${bulk('job')}`)
    assert.equal(writer.run('EXISTS src dst'), ':0\r\n')
  })

  test('BLMPOP is served up to its count from the ready key: [key, [values]]', () => {
    const w = world()
    const [a, writer] = [w.client(3), w.client()]
    a.run('BLMPOP 0 2 l1 l2 RIGHT COUNT 2')
    writer.run('RPUSH l2 a b c')
    assert.equal(a.take(), `*2\r\n${bulk('l2')}*2\r\n${bulk('c')}${bulk('b')}`)
    assert.equal(writer.run('LLEN l2'), ':1\r\n')
  })

  test('a BLMOVE served while its destination holds another type answers WRONGTYPE', () => {
    const w = world()
    const [a, writer] = [w.client(), w.client()]
    a.run('BLMOVE src dst LEFT LEFT 0')
    writer.run('SET dst str')
    writer.run('RPUSH src v')
    assert.equal(a.take(), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n')
    assert.equal(w.registry.blockedCount, 0)
    assert.equal(writer.run('LLEN src'), ':1\r\n')
  })

  test('inside MULTI: BLPOP and BLMPOP answer a null array, BLMOVE a null bulk', () => {
    const w = world()
    const a = w.client()
    a.run('MULTI')
    a.run('BLPOP l 0')
    a.run('BLMPOP 0 1 l LEFT')
    a.run('BLMOVE l m LEFT LEFT 0')
    a.run('BRPOPLPUSH l m 0')
    assert.equal(a.run('EXEC'), '*4\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n')
  })

  test('a served BLMOVE touches the destination a transaction watches', () => {
    const w = world()
    const [mover, watcher, writer] = [w.client(), w.client(), w.client()]
    mover.run('BLMOVE src dst LEFT LEFT 0')
    watcher.run('WATCH dst')
    writer.run('RPUSH src v')
    assert.equal(mover.take(), bulk('v'))
    watcher.run('MULTI')
    watcher.run('GET x')
    assert.equal(watcher.run('EXEC'), '*-1\r\n', 'the move into dst aborts the transaction')
  })

  test('a BLMOVE timeout answers the null array (Redis 7.0 replyToBlockedClientTimedOut)', () => {
    const w = world()
    const a = w.client()
    a.run('BLMOVE src dst LEFT LEFT 0.01')
    w.timers.advance(10)
    assert.equal(a.take(), '*-1\r\n')
  })

  test('a served pop sends its keyspace events: lpop, then del when the list empties', () => {
    const w = world()
    const [a, writer, subscriber] = [w.client(), w.client(), w.client(3)]
    w.pubsub.notifyFlags = parseNotifyFlags('KEA') ?? 0
    a.run('BLPOP l 0')
    subscriber.run('SUBSCRIBE __keyevent@0__:lpop __keyevent@0__:del')
    writer.run('RPUSH l v')
    assert.equal(a.take(), `*2\r\n${bulk('l')}${bulk('v')}`)
    const pushed = subscriber.take()
    assert.match(pushed, /__keyevent@0__:lpop\r\n\$1\r\nl\r\n/)
    assert.match(pushed, /__keyevent@0__:del\r\n\$1\r\nl\r\n/)
  })
})

describe('without a blocking registry (embedded)', () => {
  test('every blocking command answers its timeout reply at once', () => {
    const h = handlerHarness([...listBlockingCommands, ...zsetBlockingCommands])
    assert.equal(h.run('BLPOP', 'l', '0'), '*-1\r\n')
    assert.equal(h.run('BLMPOP', '0', '1', 'l', 'LEFT'), '*-1\r\n')
    assert.equal(h.run('BLMOVE', 'l', 'm', 'LEFT', 'LEFT', '0'), '*-1\r\n')
    assert.equal(h.run('BZPOPMAX', 'z', '0'), '*-1\r\n')
  })
})
