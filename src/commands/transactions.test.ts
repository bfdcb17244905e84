/* MULTI/EXEC/DISCARD/WATCH/UNWATCH scenarios through the real dispatcher and command table, with
 * several clients on one keyspace (memory engine, hand-moved clock). Expected bytes are Redis
 * 7.0.15's; redis-differential.test.ts replays the main ones against a real redis-server. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import { createKeyspace, type EngineKeyspace } from '../keyspace/keyspace.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { ProtocolVersion } from '../protocol/types.js'
import { clientInfoLine } from './client.js'
import { createDispatcher } from './dispatch.js'
import { commandTable } from './registry.js'
import { FakeHost, ManualClock, inertTimers, makeSession } from './test-support.js'
import { releaseTransaction } from './transactions.js'
import type { ClientSession, CommandContext } from './types.js'

interface Client {
  run(line: string): string
  readonly session: ClientSession
  readonly ctx: CommandContext
}

/** Clients sharing one keyspace and dispatcher, as connections of one server. */
function world(options: { groups?: string[] } = {}) {
  const clock = new ManualClock()
  const host = new FakeHost()
  const engine = new MemoryEngine()
  if (options.groups !== undefined) {
    const log = options.groups
    engine.beginGroup = () => log.push('begin')
    engine.endGroup = () => log.push('end')
    const put = engine.put.bind(engine)
    engine.put = (key, value, expiresAtMs) => {
      log.push(`put ${key.toString()}`)
      put(key, value, expiresAtMs)
    }
    const create = engine.createCollection.bind(engine)
    engine.createCollection = (key, kind, expiresAtMs) => {
      log.push(`create ${key.toString()}`)
      create(key, kind, expiresAtMs)
    }
    const putElement = engine.putElement.bind(engine)
    engine.putElement = (key, field, value) => {
      log.push(`put ${key.toString()}.${field.toString()}`)
      return putElement(key, field, value)
    }
    const deleteElement = engine.deleteElement.bind(engine)
    engine.deleteElement = (key, field) => {
      log.push(`delete ${key.toString()}.${field.toString()}`)
      return deleteElement(key, field)
    }
  }
  const keyspace: EngineKeyspace = createKeyspace({ engine, clock, timers: inertTimers })
  const dispatcher = createDispatcher(commandTable)
  let nextId = 1
  const client = (protocol: ProtocolVersion = 2): Client => {
    const session = makeSession(nextId++, { protocol })
    host.sessions.push(session)
    const reply = createReplyWriter(protocol)
    const ctx: CommandContext = { keyspace, clock, rng: createRng(1), reply, client: session, host }
    const run = (line: string): string => {
      dispatcher.execute(
        ctx,
        line.split(' ').map((arg) => Buffer.from(arg)),
      )
      if (reply.protocol !== session.protocol) reply.protocol = session.protocol
      return reply.take()?.toString('latin1') ?? ''
    }
    return { run, session, ctx }
  }
  return { clock, keyspace, dispatcher, client, engine }
}

const ok = '+OK\r\n'
const queued = '+QUEUED\r\n'
const nilArray = '*-1\r\n'
const execAbort = '-EXECABORT Transaction discarded because of previous errors.\r\n'

describe('MULTI, EXEC and DISCARD', () => {
  test('queued commands run back to back at EXEC, each with its own reply', () => {
    const { client } = world()
    const a = client()
    assert.equal(a.run('MULTI'), ok)
    assert.equal(a.run('SET k 1'), queued)
    assert.equal(a.run('INCR k'), queued)
    assert.equal(a.run('INCR nope x'), "-ERR wrong number of arguments for 'incr' command\r\n")
    assert.equal(a.run('DISCARD'), ok)
    assert.equal(a.run('GET k'), '$-1\r\n', 'nothing ran')
    assert.equal(a.run('MULTI'), ok)
    assert.equal(a.run('SET k 1'), queued)
    assert.equal(a.run('INCR k'), queued)
    assert.equal(a.run('NOPE k'), "-ERR unknown command 'NOPE', with args beginning with: 'k' \r\n")
    assert.equal(a.run('EXEC'), execAbort, 'a queuing error discards the transaction')
    assert.equal(a.run('GET k'), '$-1\r\n')
    assert.equal(a.run('MULTI'), ok)
    assert.equal(a.run('SET k abc'), queued)
    assert.equal(a.run('INCR k'), queued, 'a runtime error is not known while queuing')
    assert.equal(a.run('GET k'), queued)
    assert.equal(
      a.run('EXEC'),
      '*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$3\r\nabc\r\n',
    )
    assert.equal(a.run('EXEC'), '-ERR EXEC without MULTI\r\n')
    assert.equal(a.run('DISCARD'), '-ERR DISCARD without MULTI\r\n')
  })

  test('nested MULTI and WATCH inside MULTI are errors that do not abort the transaction', () => {
    const { client } = world()
    const a = client()
    assert.equal(a.run('MULTI'), ok)
    assert.equal(a.run('MULTI'), '-ERR MULTI calls can not be nested\r\n')
    assert.equal(a.run('WATCH k'), '-ERR WATCH inside MULTI is not allowed\r\n')
    assert.equal(a.run('SET k v'), queued)
    assert.equal(a.run('EXEC'), '*1\r\n+OK\r\n')
    assert.equal(a.run('MULTI'), ok)
    assert.equal(a.run('EXEC'), '*0\r\n', 'an empty transaction')
  })

  test('a no-multi command and an unknown subcommand abort the transaction', () => {
    const { client } = world()
    const a = client()
    a.run('MULTI')
    assert.equal(a.run('CLIENT NOPE'), "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n")
    assert.equal(a.run('EXEC'), execAbort)
    a.run('MULTI')
    assert.equal(a.run('SHUTDOWN'), '-ERR Command not allowed inside a transaction\r\n')
    assert.equal(a.run('EXEC'), execAbort)
  })

  test('RESP3: EXEC replies an array, and a nil EXEC is the RESP3 null', () => {
    const { client } = world()
    const a = client(3)
    const b = client(3)
    a.run('WATCH k')
    b.run('SET k 1')
    a.run('MULTI')
    a.run('GET k')
    assert.equal(a.run('EXEC'), '_\r\n')
    a.run('MULTI')
    a.run('GET k')
    a.run('TTL k')
    assert.equal(a.run('EXEC'), '*2\r\n$1\r\n1\r\n:-1\r\n')
  })

  test('QUIT and RESET run at once inside MULTI; RESET leaves MULTI and forgets watches', () => {
    const { client, keyspace } = world()
    const a = client()
    a.run('WATCH k')
    a.run('MULTI')
    a.run('SET k 1')
    assert.equal(a.run('RESET'), '+RESET\r\n')
    assert.equal(a.run('EXEC'), '-ERR EXEC without MULTI\r\n')
    assert.equal(keyspace.watchedKeyCount(), 0)
    a.run('MULTI')
    assert.equal(a.run('QUIT'), ok)
    assert.equal(a.session.closeAfterReply, true)
  })

  test('EXEC writes one storage group; commands counted as run inside EXEC, not when queued', () => {
    const groups: string[] = []
    const { client, dispatcher } = world({ groups })
    const a = client()
    a.run('MULTI')
    a.run('SET a 1')
    a.run('MSET b 2 c 3')
    assert.equal(dispatcher.commandStats().find((s) => s.name === 'set')?.calls, 0)
    a.run('EXEC')
    assert.deepEqual(groups, ['begin', 'put a', 'begin', 'put b', 'put c', 'end', 'end'])
    assert.equal(dispatcher.commandStats().find((s) => s.name === 'set')?.calls, 1)
    assert.equal(dispatcher.commandStats().find((s) => s.name === 'exec')?.calls, 1)
    assert.equal(a.session.lastCommand, 'exec')
  })

  test('RENAME and MSET outside MULTI are atomic groups of their own', () => {
    const groups: string[] = []
    const { client } = world({ groups })
    const a = client()
    a.run('MSET a 1 b 2')
    a.run('RENAME a c')
    assert.deepEqual(groups, ['begin', 'put a', 'put b', 'end', 'begin', 'put c', 'end'])
  })

  test('CLIENT LIST shows x and multi=<queued> in MULTI, d once a watched key was touched', () => {
    const { client } = world()
    const a = client()
    const b = client()
    const line = (): string => clientInfoLine(a.ctx, a.session)
    assert.match(line(), / flags=N .* multi=-1 /)
    a.run('WATCH k')
    b.run('SET k 1')
    assert.match(line(), / flags=d .* multi=-1 /)
    a.run('MULTI')
    a.run('UNWATCH')
    assert.match(line(), / flags=xd .* multi=0 /, 'a doomed transaction keeps no commands')
    a.run('DISCARD')
    a.run('MULTI')
    a.run('GET k')
    a.run('GET k')
    assert.match(line(), / flags=x .* multi=2 /)
  })
})

describe('WATCH', () => {
  test('a write by anyone, even by the watcher itself, makes EXEC reply nil', () => {
    const { client } = world()
    const a = client()
    const b = client()
    for (const write of ['SET k 2', 'DEL k', 'INCR k', 'APPEND k x', 'EXPIRE k 100', 'GETDEL k']) {
      b.run('SET k 1')
      assert.equal(a.run('WATCH k'), ok)
      b.run(write)
      a.run('MULTI')
      a.run('SET k mine')
      assert.equal(a.run('EXEC'), nilArray, write)
      assert.equal(b.run('GET k') === '$4\r\nmine\r\n', false, `${write}: nothing ran`)
    }
    a.run('WATCH k')
    a.run('SET k own')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'own write')
  })

  test('untouched, unwatched or missing keys let EXEC run; EXEC and DISCARD unwatch', () => {
    const { client, keyspace } = world()
    const a = client()
    const b = client()
    a.run('WATCH x y missing')
    b.run('SET other 1')
    b.run('DEL missing')
    b.run('GET x')
    a.run('MULTI')
    a.run('SET x 1')
    assert.equal(a.run('EXEC'), '*1\r\n+OK\r\n')
    assert.equal(keyspace.watchedKeyCount(), 0, 'EXEC unwatched everything')
    a.run('WATCH x')
    b.run('SET x 2')
    assert.equal(a.run('UNWATCH'), ok)
    a.run('MULTI')
    a.run('GET x')
    assert.equal(a.run('EXEC'), '*1\r\n$1\r\n2\r\n', 'UNWATCH forgets the touch')
    a.run('WATCH x')
    a.run('MULTI')
    a.run('DISCARD')
    b.run('SET x 3')
    a.run('MULTI')
    a.run('GET x')
    assert.equal(a.run('EXEC'), '*1\r\n$1\r\n3\r\n', 'DISCARD unwatched')
  })

  test('RENAME touches both keys; FLUSHALL touches the watched keys that existed', () => {
    const { client } = world()
    const a = client()
    const b = client()
    for (const watched of ['src', 'dst']) {
      b.run('SET src 1')
      a.run(`WATCH ${watched}`)
      b.run('RENAME src dst')
      a.run('MULTI')
      a.run('PING')
      assert.equal(a.run('EXEC'), nilArray, `RENAME touches ${watched}`)
    }
    b.run('SET present 1')
    a.run('WATCH absent')
    b.run('FLUSHALL')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), '*1\r\n+PONG\r\n', 'FLUSHALL of a key that did not exist')
    b.run('SET present 1')
    a.run('WATCH present')
    b.run('FLUSHDB')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'FLUSHDB of a watched key')
  })

  test('expiry after WATCH fails EXEC (lazily deleted or not); expired before WATCH does not', () => {
    const { client, clock, keyspace } = world()
    const a = client()
    const b = client()
    b.run('SET k v PX 100')
    a.run('WATCH k')
    clock.nowMs += 200
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'expired since WATCH, not yet deleted')
    b.run('SET k v PX 100')
    a.run('WATCH k')
    clock.nowMs += 200
    assert.equal(b.run('GET k'), '$-1\r\n', 'lazily expired')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'lazy expiry touches')
    b.run('SET k v PX 100')
    a.run('WATCH k')
    clock.nowMs += 200
    keyspace.activeExpireCycle()
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'active expiry touches')
    b.run('SET k v PX 100')
    clock.nowMs += 200
    a.run('WATCH k')
    assert.equal(b.run('EXISTS k'), ':0\r\n', 'deleting a key already expired at WATCH')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), '*1\r\n+PONG\r\n', 'is logically no change')
    b.run('SET k v PX 100')
    clock.nowMs += 200
    a.run('WATCH k')
    b.run('SET k new')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, 'but writing it again is')
  })

  test('watches of a closed connection are released; writes then skip the map', () => {
    const { client, keyspace } = world()
    const a = client()
    a.run('WATCH k1 k2 k1')
    assert.equal(keyspace.watchedKeyCount(), 2)
    releaseTransaction(keyspace, a.session)
    assert.equal(keyspace.watchedKeyCount(), 0)
  })
})

describe('hashes and sets in transactions', () => {
  test('WATCH sees every hash and set write, an emptied collection and its expiry', () => {
    const { client, clock } = world()
    const a = client()
    const b = client()
    const cases: Array<[setup: string[], write: string, aborts: boolean]> = [
      [['HSET h f 1'], 'HSET h f 2', true],
      [['HSET h f 1'], 'HSETNX h f 2', false],
      [['HSET h f 1'], 'HINCRBY h n 1', true],
      [['HSET h f 1'], 'HDEL h missing', false],
      [['HSET h f 1'], 'HDEL h f', true],
      [['DEL h'], 'HSET h f 1', true],
      [['SADD h 1'], 'SADD h 1', false],
      [['SADD h 1'], 'SADD h 2', true],
      [['SADD h 1'], 'SREM h 2', false],
      [['SADD h 1 2'], 'SPOP h', true],
      [['SADD other 1', 'DEL h'], 'SMOVE other h 1', true],
      [['SADD h 1', 'SADD other 2'], 'SMOVE h other 1', true],
      [['SADD h 1', 'SADD other 2'], 'SUNIONSTORE h other', true],
      [['SADD h 1'], 'SINTERSTORE h missing', true],
      [['SADD h 1'], 'SINTERSTORE other missing', false],
    ]
    for (const [setup, write, aborts] of cases) {
      b.run('DEL h other')
      for (const line of setup) b.run(line)
      a.run('WATCH h')
      b.run(write)
      a.run('MULTI')
      a.run('PING')
      const expected = aborts ? nilArray : '*1\r\n+PONG\r\n'
      assert.equal(a.run('EXEC'), expected, `${setup.join(', ')}; ${write}`)
    }
    b.run('HSET h f 1')
    b.run('PEXPIRE h 100')
    a.run('WATCH h')
    clock.nowMs += 200
    assert.equal(b.run('HGET h f'), '$-1\r\n', 'the hash expired lazily')
    a.run('MULTI')
    a.run('PING')
    assert.equal(a.run('EXEC'), nilArray, "a collection's expiry touches")
  })

  test("HSET and SADD queued in MULTI write in EXEC's group; alone, each is a group", () => {
    const groups: string[] = []
    const { client } = world({ groups })
    const a = client()
    a.run('MULTI')
    a.run('HSET h a 1 b 2')
    a.run('SADD s x')
    assert.deepEqual(groups, [], 'nothing written while queued')
    assert.equal(a.run('EXEC'), '*2\r\n:2\r\n:1\r\n')
    assert.deepEqual(groups, [
      'begin',
      ...['begin', 'begin', 'create h', 'put h.a', 'end', 'put h.b', 'end'],
      ...['begin', 'begin', 'create s', 'put s.x', 'end', 'end'],
      'end',
    ])
    groups.length = 0
    a.run('HDEL h a b')
    a.run('SADD s y z')
    a.run('SREM s x y')
    // HDEL of the last fields writes one tombstone for the key (delete), outside any group.
    assert.deepEqual(groups, [
      ...['begin', 'put s.y', 'put s.z', 'end'],
      ...['begin', 'delete s.x', 'delete s.y', 'end'],
    ])
  })
})
