/* Differential test of the blocking commands: the same multi-connection scripts against a real
 * redis-server (7.0) and a caskade server in process, in RESP2 and RESP3; every connection's bytes
 * must be identical. Covers the outcomes that do not depend on timing races: data already there,
 * argument errors, WRONGTYPE, MULTI, tiny timeouts, and clients served by another connection's
 * push (the script waits until the server reports them blocked). Skipped without redis-server. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  encodeCommand,
  hasRedisServer,
  serverPairAround,
  respValueEnd,
} from '../../test/helpers/differential.js'
import { listBlockingCommands } from '../commands/list-blocking.js'
import { zsetBlockingCommands } from '../commands/zset-blocking.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A raw connection that keeps everything it receives and waits for a suffix. */
class RawConnection {
  readonly #socket: net.Socket
  #received = Buffer.alloc(0)

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1')
    this.#socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
    })
  }

  send(args: readonly string[]): void {
    this.#socket.write(encodeCommand(args))
  }

  drain(): string {
    const text = this.#received.toString('latin1')
    this.#received = Buffer.alloc(0)
    return text
  }

  /** Waits until what was received is exactly one complete RESP value, and takes it. */
  async nextReply(): Promise<string> {
    const deadline = Date.now() + 5000
    while (
      this.#received.length === 0 ||
      respValueEnd(this.#received, 0) !== this.#received.length
    ) {
      if (Date.now() > deadline) throw new Error(`no complete reply in ${this.drain()}`)
      await sleep(2)
    }
    return this.drain()
  }

  call(args: readonly string[]): Promise<string> {
    this.send(args)
    return this.nextReply()
  }

  close(): void {
    this.#socket.destroy()
  }
}

/**
 * A step: [connection, ...command], waiting for its one reply. 'b<n>' sends a command that blocks
 * connection n (the script waits until the server counts it blocked); 'w<n>' waits for blocked
 * connection n's reply (it was served or timed out) and records it.
 */
type Step = readonly [string | number, ...string[]]

interface ScriptState {
  conns: RawConnection[]
  transcripts: string[][]
  /** Connections waiting in a blocking command. */
  blocked: Set<number>
  admin: RawConnection
}

async function blockedCount(admin: RawConnection): Promise<number> {
  const info = await admin.call(['info', 'clients'])
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? '-1')
}

async function runStep(state: ScriptState, step: Step): Promise<void> {
  const [who, ...command] = step
  const text = String(who)
  const index = Number(text.replace(/^[bw]/, ''))
  const conn = state.conns[index] as RawConnection
  const transcript = state.transcripts[index] as string[]
  if (text.startsWith('w')) {
    assert.ok(state.blocked.delete(index), `connection ${index} is blocked`)
    transcript.push(`served => ${await conn.nextReply()}`)
    return
  }
  conn.send(command)
  if (!text.startsWith('b')) {
    transcript.push(`${command.join(' ')} => ${await conn.nextReply()}`)
    return
  }
  state.blocked.add(index)
  const deadline = Date.now() + 5000
  while ((await blockedCount(state.admin)) !== state.blocked.size) {
    if (Date.now() > deadline) throw new Error(`${command.join(' ')} did not block`)
  }
}

async function runScript(port: number, protocol: 2 | 3, script: readonly Step[]) {
  const connections = 1 + Math.max(...script.map((step) => Number(String(step[0]).slice(-1))))
  const state: ScriptState = {
    conns: Array.from({ length: connections }, () => new RawConnection(port)),
    transcripts: Array.from({ length: connections }, () => []),
    blocked: new Set(),
    admin: new RawConnection(port),
  }
  try {
    await state.admin.call(['flushall'])
    for (const conn of state.conns) {
      if (protocol === 3) await conn.call(['hello', '3'])
    }
    for (const step of script) await runStep(state, step)
    assert.equal(state.blocked.size, 0, 'the script leaves no client blocked')
  } finally {
    for (const conn of state.conns) conn.close()
    state.admin.close()
  }
  return state.transcripts
}

const immediateScript: Step[] = [
  [0, 'rpush', 'l', 'a', 'b', 'c', 'd', 'e'],
  [0, 'blpop', 'none', 'l', '0'],
  [0, 'brpop', 'l', 'none', '0'],
  [0, 'blmpop', '0', '2', 'none', 'l', 'left', 'count', '2'],
  [0, 'blmpop', '0.01', '1', 'l', 'right'],
  [0, 'rpush', 'l', 'x', 'y'],
  [0, 'blmove', 'l', 'm', 'left', 'right', '0'],
  [0, 'brpoplpush', 'l', 'm', '0'],
  [0, 'lrange', 'm', '0', '-1'],
  [0, 'zadd', 'z', '1', 'a', '2.5', 'b', '3', 'c'],
  [0, 'bzpopmin', 'none', 'z', '0'],
  [0, 'bzpopmax', 'z', '0'],
  [0, 'bzpopmax', 'z', '0'],
  [0, 'exists', 'z', 'l'],
  [0, 'set', 's', 'str'],
  [0, 'blpop', 's', '0'],
  [0, 'blpop', 'none', 's', '0'],
  [0, 'bzpopmin', 's', '0'],
  [0, 'blmove', 's', 'm', 'left', 'left', '0'],
  [0, 'blmove', 'm', 's', 'left', 'left', '0'],
  [0, 'blmpop', '0', '1', 's', 'left'],
  [0, 'blpop', 'l', 'abc'],
  [0, 'blpop', 'l', '-1'],
  [0, 'blpop', 'l', 'inf'],
  [0, 'blpop', 'l', '1e20'],
  [0, 'bzpopmin', 'z', ''],
  [0, 'blmove', 'l', 'm', 'up', 'left', '0'],
  [0, 'blmove', 'l', 'm', 'left', 'left', 'x'],
  [0, 'blmpop', '0', '0', 'l', 'left'],
  [0, 'blmpop', 'x', '1', 'l', 'left'],
  [0, 'blmpop', '0', '1', 'l', 'middle'],
  [0, 'blmpop', '0', '1', 'l', 'left', 'count', '0'],
  [0, 'blmpop', '0', '1', 'l', 'left', 'count', '1', 'count', '2'],
  [0, 'blmpop', '0', '5', 'l', 'left'],
  [0, 'blpop', 'l'],
  [0, 'client', 'unblock', '999'],
  [0, 'client', 'unblock', 'x'],
  [0, 'client', 'unblock', '1', 'later'],
  [0, 'client', 'unblock', '1', 'timeout', 'x'],
  [0, 'multi'],
  [0, 'blpop', 'l', '0'],
  [0, 'blmpop', '0', '1', 'l', 'left'],
  [0, 'blmove', 'l', 'm', 'left', 'left', '0'],
  [0, 'bzpopmin', 'z', '0'],
  [0, 'exec'],
]

const servedScript: Step[] = [
  ['b0', 'blpop', 'q', '0'],
  ['b1', 'brpop', 'q', 'other', '0'],
  ['b2', 'blpop', 'q', '0'],
  [3, 'rpush', 'q', 'one', 'two'],
  ['w0'],
  ['w1'],
  [3, 'rpush', 'other', 'three'],
  [3, 'rpush', 'q', 'four'],
  ['w2'],
  [3, 'lrange', 'other', '0', '-1'],
  ['b0', 'blmove', 'src', 'dst', 'right', 'left', '0'],
  ['b1', 'blmpop', '0', '2', 'none', 'dst', 'left', 'count', '3'],
  [3, 'rpush', 'src', 'a', 'b'],
  ['w0'],
  ['w1'],
  [3, 'lrange', 'src', '0', '-1'],
  ['b0', 'bzpopmin', 'z1', 'z2', '0'],
  ['b1', 'bzpopmax', 'z2', '0'],
  [3, 'zadd', 'z2', '1', 'lo', '2', 'mid', '3', 'hi'],
  ['w0'],
  ['w1'],
  [3, 'zrange', 'z2', '0', '-1', 'withscores'],
  ['b0', 'blpop', 'wt', '0'],
  [3, 'set', 'wt', 'string'],
  [3, 'del', 'wt'],
  [3, 'lpush', 'wt', 'ok'],
  ['w0'],
  ['b0', 'blpop', 'never', '0.02'],
  ['w0'],
  ['b1', 'blmove', 'never', 'x', 'left', 'left', '0.01'],
  ['w1'],
  ['b2', 'bzpopmin', 'never', '0.01'],
  ['w2'],
  [3, 'multi'],
  [3, 'rpush', 'late', 'v'],
  [3, 'exec'],
  ['b0', 'blpop', 'late2', '0'],
  [3, 'multi'],
  [3, 'rpush', 'late2', 'v1'],
  [3, 'lpop', 'late2'],
  [3, 'exec'],
  [3, 'rpush', 'late2', 'v2'],
  ['w0'],
  ['b0', 'blpop', 'renamed', '0'],
  ['b1', 'bzpopmax', 'copied', '0'],
  [3, 'rpush', 'tmp', 'r1', 'r2'],
  [3, 'rename', 'tmp', 'renamed'],
  ['w0'],
  [3, 'zadd', 'ztmp', '7', 'zz'],
  [3, 'copy', 'ztmp', 'copied'],
  ['w1'],
  [3, 'lrange', 'renamed', '0', '-1'],
  [3, 'zcard', 'ztmp'],
]

describe('blocking commands: caskade vs redis-server', { skip: !hasRedisServer }, () => {
  const servers = serverPairAround('caskade-blocking-diff-')

  for (const protocol of [2, 3] as const) {
    test(`RESP${protocol}: replies at once (data there, errors, MULTI) are identical`, async () => {
      const expected = await runScript(servers.redis.port, protocol, immediateScript)
      const actual = await runScript(servers.caskade.port, protocol, immediateScript)
      assert.deepEqual(actual, expected)
    })

    test(`RESP${protocol}: clients served by pushes and timeouts get identical bytes`, async () => {
      const expected = await runScript(servers.redis.port, protocol, servedScript)
      const actual = await runScript(servers.caskade.port, protocol, servedScript)
      assert.deepEqual(actual, expected)
    })
  }

  test('the specs have the arity, flags and key positions of COMMAND INFO', async () => {
    const conn = new RawConnection(servers.redis.port)
    try {
      for (const spec of [...listBlockingCommands, ...zsetBlockingCommands]) {
        const info = await conn.call(['command', 'info', spec.name])
        const lines = info.split('\r\n')
        const flags: string[] = []
        const flagCount = Number((lines[5] ?? '').slice(1))
        for (let i = 0; i < flagCount; i++) flags.push((lines[6 + i] ?? '').slice(1))
        const keys = lines.slice(6 + flagCount, 9 + flagCount).map((line) => Number(line.slice(1)))
        assert.deepEqual(
          [lines[3], Number((lines[4] ?? '').slice(1)), flags, keys],
          [spec.name, spec.arity, [...spec.flags], [spec.firstKey, spec.lastKey, spec.keyStep]],
          spec.name,
        )
      }
    } finally {
      conn.close()
    }
  })
})
