/* Connection unit tests over a fake socket and an engine whose durability the test releases by
 * hand: reply batching, durable-FIFO ordering, QUIT, protocol errors, backpressure and limits. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { ClientSession, CommandContext } from '../commands/types.js'
import type { Clock } from '../core/ports.js'
import { createSilentLogger } from '../obs/logger.js'
import { defaultServerConfig } from './config.js'
import { Connection, type CommandExecutor, type ConnectionOwner } from './connection.js'
import { ServerStats } from './stats.js'
import type { CommandRouter, RouteKind } from './command-router.js'

/** A socket double: records writes, lets the test decide when the kernel buffer is "full". */
class FakeSocket extends EventEmitter {
  written: Buffer[] = []
  ended = false
  destroyed = false
  paused = false
  writableLength = 0
  acceptWrites = true
  setNoDelay(): this {
    return this
  }
  write(bytes: Buffer): boolean {
    this.written.push(bytes)
    if (!this.acceptWrites) this.writableLength += bytes.length
    return this.acceptWrites
  }
  end(): void {
    this.ended = true
  }
  destroy(): void {
    this.destroyed = true
    this.emit('close')
  }
  pause(): void {
    this.paused = true
  }
  resume(): void {
    this.paused = false
  }
  text(): string {
    return Buffer.concat(this.written).toString('latin1')
  }
}

/** An engine double whose durability the test releases by hand (group commit done). */
class FakeEngine {
  values = new Map<string, Buffer>()
  undurable = false
  waiting: Array<(error?: Error) => void> = []
  hasUndurableWrites(): boolean {
    return this.undurable
  }
  whenDurable(done: (error?: Error) => void): void {
    this.waiting.push(done)
  }
  makeDurable(error?: Error): void {
    this.undurable = false
    const waiting = this.waiting
    this.waiting = []
    for (const done of waiting) done(error)
  }
}

/** SET k v / GET k / QUIT / BIG n (a reply of n bytes), enough to drive a connection. */
function fakeExecutor(engine: FakeEngine): CommandExecutor {
  return {
    execute(ctx: CommandContext, args: readonly Buffer[]): void {
      const name = (args[0] as Buffer).toString('latin1').toLowerCase()
      if (name === 'set') {
        engine.values.set((args[1] as Buffer).toString(), Buffer.from(args[2] as Buffer))
        engine.undurable = true
        ctx.reply.simple('OK')
      } else if (name === 'get') {
        const value = engine.values.get((args[1] as Buffer).toString())
        if (value === undefined) ctx.reply.nullBulk()
        else ctx.reply.bulk(value)
      } else if (name === 'quit') {
        ctx.client.closeAfterReply = true
        ctx.reply.simple('OK')
      } else if (name === 'big') {
        ctx.reply.bulk(Buffer.alloc(Number((args[1] as Buffer).toString()), 0x78))
      } else {
        ctx.reply.error('ERR', 'unknown')
      }
    },
  }
}

function setup(
  configure?: (owner: ConnectionOwner) => void,
  router?: CommandRouter,
): {
  socket: FakeSocket
  engine: FakeEngine
  owner: ConnectionOwner
  closed: Connection[]
} {
  const socket = new FakeSocket()
  const engine = new FakeEngine()
  const closed: Connection[] = []
  const clock: Clock = { monotonicMs: () => 0, wallMs: () => 0 }
  const owner: ConnectionOwner = {
    settings: defaultServerConfig(),
    engine,
    executor: fakeExecutor(engine),
    stats: new ServerStats(),
    logger: createSilentLogger(),
    clock,
    isShuttingDown: () => false,
    onConnectionClosed: (connection) => closed.push(connection),
  }
  configure?.(owner)
  const session: ClientSession = {
    id: 1,
    addr: '127.0.0.1:1',
    laddr: '127.0.0.1:2',
    createdAtMs: 0,
    name: null,
    libName: null,
    libVersion: null,
    protocol: 2,
    closeAfterReply: false,
    lastCommand: '',
    lastInteractionMs: 0,
  }
  new Connection({
    socket: socket as unknown as Socket,
    owner,
    session,
    makeContext: (reply, client) => ({ reply, client }) as unknown as CommandContext,
    ...(router === undefined ? {} : { router }),
  })
  return { socket, engine, owner, closed }
}

describe('connection', () => {
  test('replies of one chunk leave in one write', () => {
    const { socket } = setup()
    socket.emit('data', Buffer.from('GET a\r\nGET b\r\nGET c\r\n'))
    assert.equal(socket.written.length, 1)
    assert.equal(socket.text(), '$-1\r\n$-1\r\n$-1\r\n')
  })

  test('a write is acknowledged only once durable', () => {
    const { socket, engine } = setup()
    socket.emit('data', Buffer.from('SET k v\r\n'))
    assert.equal(socket.text(), '')
    engine.makeDurable()
    assert.equal(socket.text(), '+OK\r\n')
  })

  test('a later chunk never overtakes an earlier one waiting for durability', () => {
    const { socket, engine } = setup()
    socket.emit('data', Buffer.from('SET k 1\r\n'))
    engine.undurable = false // pretend the next chunk has nothing new to sync...
    socket.emit('data', Buffer.from('GET k\r\n'))
    assert.equal(socket.text(), '', 'the GET waits behind the SET')
    engine.makeDurable()
    assert.equal(socket.text(), '+OK\r\n$1\r\n1\r\n')
  })

  test('a failed sync closes the client without acknowledging', () => {
    const { socket, engine } = setup()
    socket.emit('data', Buffer.from('SET k v\r\n'))
    engine.makeDurable(new Error('EIO'))
    assert.equal(socket.text(), '')
    assert.equal(socket.destroyed, true)
  })

  test('QUIT: +OK, then the socket ends and later commands are ignored', () => {
    const { socket } = setup()
    socket.emit('data', Buffer.from('QUIT\r\nGET a\r\n'))
    assert.equal(socket.text(), '+OK\r\n')
    assert.equal(socket.ended, true)
  })

  test('a protocol error is answered with Redis text, then the connection closes', () => {
    const { socket } = setup()
    socket.emit('data', Buffer.from('GET a\r\n*1\r\n$x\r\n'))
    assert.equal(socket.text(), '$-1\r\n-ERR Protocol error: invalid bulk length\r\n')
    assert.equal(socket.ended, true)
  })

  test('a socket that does not drain pauses reading until drain', () => {
    const { socket } = setup()
    socket.acceptWrites = false
    socket.emit('data', Buffer.from('GET a\r\n'))
    assert.equal(socket.paused, true)
    socket.writableLength = 0
    socket.acceptWrites = true
    socket.emit('drain')
    assert.equal(socket.paused, false)
  })

  test('the output buffer limit disconnects a client whose replies pile up', () => {
    const { socket, owner } = setup((o) => {
      o.settings.clientOutputBufferLimit.normal.hardBytes = 100_000
    })
    socket.acceptWrites = false
    socket.emit('data', Buffer.from('BIG 60000\r\n'))
    assert.equal(socket.destroyed, false)
    socket.emit('data', Buffer.from('BIG 60000\r\n'))
    assert.equal(socket.destroyed, true)
    assert.equal(owner.stats.limitDisconnects, 1)
  })

  test('the query buffer limit disconnects a client sending an endless command', () => {
    const { socket, owner } = setup((o) => {
      o.settings.clientQueryBufferLimit = 1000
    })
    socket.emit('data', Buffer.from('*2\r\n$3\r\nGET\r\n$5000\r\n'))
    assert.equal(socket.destroyed, false)
    socket.emit('data', Buffer.alloc(1500, 0x61))
    assert.equal(socket.destroyed, true)
    assert.equal(socket.text(), '')
    assert.equal(owner.stats.limitDisconnects, 1)
  })
})

/** A router double: WRITE/READ/EXCL are routed (answered by the test), the rest run locally. */
class FakeRouter implements CommandRouter {
  started: Array<{ kind: RouteKind; arg: string; done: (reply: Buffer) => void }> = []
  open(): ReturnType<CommandRouter['open']> {
    const kinds: Record<string, RouteKind> = { write: 'write', read: 'read', excl: 'exclusive' }
    return {
      classify: (_ctx, args) => kinds[(args[0] as Buffer).toString().toLowerCase()] ?? 'local',
      beforeLocal: () => undefined,
      start: (kind, _ctx, args, done) => {
        this.started.push({ kind, arg: (args[1] as Buffer).toString(), done })
      },
    }
  }
  answer(arg: string): void {
    const index = this.started.findIndex((s) => s.arg === arg)
    const [started] = this.started.splice(index, 1)
    started?.done(Buffer.from(`+${arg}\r\n`))
  }
}

describe('connection with a command router (cluster mode)', () => {
  test('routed replies leave in command order whatever order they are answered in', () => {
    const router = new FakeRouter()
    const { socket } = setup(undefined, router)
    socket.emit('data', Buffer.from('WRITE a\r\nWRITE b\r\nWRITE c\r\n'))
    assert.deepEqual(
      router.started.map((s) => s.arg),
      ['a', 'b', 'c'],
      'consecutive writes are in flight together',
    )
    router.answer('c')
    router.answer('b')
    assert.equal(socket.text(), '')
    router.answer('a')
    assert.equal(socket.text(), '+a\r\n+b\r\n+c\r\n')
  })

  test('a switch of kind or a local command waits for the commands in flight', () => {
    const router = new FakeRouter()
    const { socket } = setup(undefined, router)
    socket.emit('data', Buffer.from('WRITE a\r\nREAD b\r\nGET k\r\nREAD c\r\n'))
    assert.deepEqual(
      router.started.map((s) => s.arg),
      ['a'],
    )
    assert.equal(socket.paused, true, 'reading pauses while a command is held')
    router.answer('a')
    assert.deepEqual(
      router.started.map((s) => s.arg),
      ['b'],
    )
    router.answer('b')
    // GET ran locally once READ b answered; READ c is in flight.
    assert.deepEqual(
      router.started.map((s) => s.arg),
      ['c'],
    )
    assert.equal(socket.text(), '+a\r\n+b\r\n$-1\r\n')
    router.answer('c')
    assert.equal(socket.text(), '+a\r\n+b\r\n$-1\r\n+c\r\n')
    assert.equal(socket.paused, false)
  })

  test('an exclusive command runs alone', () => {
    const router = new FakeRouter()
    const { socket } = setup(undefined, router)
    socket.emit('data', Buffer.from('EXCL x\r\nEXCL y\r\n'))
    assert.deepEqual(
      router.started.map((s) => s.arg),
      ['x'],
    )
    router.answer('x')
    router.answer('y')
    assert.equal(socket.text(), '+x\r\n+y\r\n')
  })
})
