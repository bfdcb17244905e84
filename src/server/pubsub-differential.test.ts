/* Differential pub/sub test: the same multi-connection scripts against a real redis-server (7.0)
 * and a caskade server in process; every connection's received bytes (replies, messages, pushes)
 * must be identical. After each step every connection is synchronized with a unique PING, so
 * messages land at the same place in both transcripts. Skipped without redis-server. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { encodeCommand, hasRedisServer, serverPairAround } from '../../test/helpers/differential.js'

/** A raw connection that keeps everything it receives and waits for a suffix. */
class RawConnection {
  readonly #socket: net.Socket
  #received = Buffer.alloc(0)
  #waiter: (() => void) | null = null

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1')
    this.#socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
      this.#waiter?.()
    })
  }

  send(args: readonly string[]): void {
    this.#socket.write(encodeCommand(args))
  }

  /** Everything received so far, then forgets it. */
  drain(): string {
    const text = this.#received.toString('latin1')
    this.#received = Buffer.alloc(0)
    return text
  }

  async waitForSuffix(suffix: string): Promise<void> {
    const deadline = Date.now() + 5000
    while (!this.#received.toString('latin1').endsWith(suffix)) {
      if (Date.now() > deadline) {
        throw new Error(`no ${JSON.stringify(suffix)} in ${JSON.stringify(this.drain())}`)
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve
        setTimeout(resolve, 50)
      })
      this.#waiter = null
    }
  }

  close(): void {
    this.#socket.destroy()
  }
}

/** A step: [connection, ...command]; '-' before the connection leaves its replies unchecked
 * (HELLO's reply names the server); ['sleep', ms] waits without synchronizing. */
type Step = readonly [string | number, ...string[]]

async function runScript(port: number, connections: number, script: readonly Step[]) {
  const conns = Array.from({ length: connections }, () => new RawConnection(port))
  const transcripts = conns.map(() => [] as string[])
  let marker = 0
  const sync = async (conn: RawConnection): Promise<void> => {
    const token = `sync-${marker++}`
    conn.send(['ping', token])
    await conn.waitForSuffix(`${token}\r\n`)
  }
  try {
    for (const step of script) {
      const [who, ...command] = step
      if (who === 'sleep') {
        await new Promise((resolve) => setTimeout(resolve, Number(command[0])))
        continue
      }
      const unchecked = typeof who === 'string' && who.startsWith('-')
      const index = Number(unchecked ? who.slice(1) : who)
      const sender = conns[index] as RawConnection
      sender.send(command)
      await sync(sender) // the step has run; its messages are in the others' sockets
      for (const conn of conns) if (conn !== sender) await sync(conn)
      conns.forEach((conn, i) => {
        const text = conn.drain()
        const entry = unchecked && i === index ? '<unchecked>' : text
        ;(transcripts[i] as string[]).push(`${step.join(' ')} => ${entry}`)
      })
    }
  } finally {
    for (const conn of conns) conn.close()
  }
  return transcripts
}

const basicScript: Step[] = [
  [0, 'subscribe', 'news', 'sport'],
  [1, 'publish', 'news', 'hello'],
  [1, 'publish', 'nobody', 'x'],
  [0, 'get', 'x'],
  [0, 'client', 'list'],
  [0, 'ping'],
  [0, 'ping', 'hi'],
  [0, 'subscribe'],
  [0, 'psubscribe', 'sp*'],
  [1, 'publish', 'sport', 'goal'],
  [1, 'pubsub', 'numsub', 'news', 'sport', 'none'],
  [1, 'pubsub', 'numpat'],
  [1, 'pubsub', 'channels', 'n*'],
  [1, 'pubsub', 'channels', 'a', 'b'],
  [1, 'pubsub', 'help'],
  [1, 'pubsub', 'foo'],
  [0, 'unsubscribe', 'sport', 'never'],
  [0, 'punsubscribe'],
  [0, 'punsubscribe'],
  [0, 'unsubscribe'],
  [0, 'unsubscribe'],
  [0, 'get', 'x'],
  [1, 'publish', 'news', 'gone'],
  [0, 'psubscribe', 'a*'],
  [0, 'reset'],
  [1, 'publish', 'abc', 'after reset'],
  [0, 'get', 'x'],
]

const resp3Script: Step[] = [
  ['-0', 'hello', '3'],
  [0, 'subscribe', 'c1'],
  [0, 'get', 'x'],
  [0, 'ping'],
  [0, 'publish', 'c1', 'to myself'],
  [1, 'publish', 'c1', 'from 1'],
  [0, 'psubscribe', 'c*'],
  [1, 'publish', 'c1', 'twice'],
  [0, 'unsubscribe'],
  [0, 'punsubscribe', 'c*'],
  [0, 'unsubscribe'],
]

const shardScript: Step[] = [
  [0, 'ssubscribe', 's1'],
  [0, 'ssubscribe', 's1'],
  [0, 'subscribe', 'c'],
  [1, 'spublish', 's1', 'sharded'],
  [1, 'publish', 's1', 'not to shard subscribers'],
  [1, 'pubsub', 'shardnumsub', 's1', 'x'],
  [1, 'pubsub', 'shardchannels'],
  [1, 'pubsub', 'shardchannels', 'z*'],
  [1, 'pubsub', 'channels'],
  [0, 'get', 'x'],
  [0, 'sunsubscribe'],
  [0, 'sunsubscribe'],
  [0, 'get', 'x'],
  [0, 'unsubscribe'],
  [0, 'get', 'x'],
  [0, 'ssubscribe', 'only-shard'],
  [0, 'get', 'x'],
  [0, 'reset'],
  [1, 'spublish', 'only-shard', 'after reset'],
]

const pubsubCommandNames = [
  'subscribe',
  'unsubscribe',
  'psubscribe',
  'punsubscribe',
  'publish',
  'ssubscribe',
  'sunsubscribe',
  'spublish',
  'pubsub|channels',
  'pubsub|numsub',
  'pubsub|numpat',
  'pubsub|shardchannels',
  'pubsub|shardnumsub',
  'pubsub|help',
]
const commandDocsScript: Step[] = pubsubCommandNames.flatMap((name): Step[] => [
  [0, 'command', 'info', name],
  [0, 'command', 'docs', name],
])

/** Every string and key command that emits an event, watched by one pattern subscriber. */
const keyspaceScript = (flags: string): Step[] => [
  [0, 'config', 'set', 'notify-keyspace-events', flags],
  [0, 'config', 'get', 'notify-keyspace-events'],
  [1, 'psubscribe', '__key*__:*'],
  [0, 'set', 'k', 'v'],
  [0, 'set', 'k', 'v2', 'ex', '100'],
  [0, 'set', 'k', 'v3', 'keepttl', 'get'],
  [0, 'setnx', 'k', 'x'],
  [0, 'setnx', 'k2', 'x'],
  [0, 'setex', 'k3', '100', 'x'],
  [0, 'psetex', 'k4', '100000', 'x'],
  [0, 'mset', 'm1', 'a', 'm2', 'b'],
  [0, 'msetnx', 'm3', 'a', 'm4', 'b'],
  [0, 'getset', 'm1', 'c'],
  [0, 'getdel', 'm2'],
  [0, 'getdel', 'm2'],
  [0, 'getex', 'm1', 'ex', '50'],
  [0, 'getex', 'm1', 'persist'],
  [0, 'getex', 'm1', 'pxat', '1'],
  [0, 'incr', 'n'],
  [0, 'incrby', 'n', '5'],
  [0, 'decr', 'n'],
  [0, 'decrby', 'n', '2'],
  [0, 'incrbyfloat', 'f', '1.5'],
  [0, 'append', 'a', 'x'],
  [0, 'append', 'a', 'y'],
  [0, 'setrange', 'r', '2', 'zz'],
  [0, 'setrange', 'r', '0', ''],
  [0, 'expire', 'a', '100'],
  [0, 'expire', 'a', '100', 'nx'],
  [0, 'pexpire', 'a', '100000'],
  [0, 'persist', 'a'],
  [0, 'persist', 'a'],
  [0, 'rename', 'a', 'b'],
  [0, 'renamenx', 'b', 'k'],
  [0, 'rename', 'b', 'b'],
  [0, 'copy', 'b', 'c'],
  [0, 'copy', 'b', 'c', 'replace'],
  [0, 'del', 'b', 'c', 'missing'],
  [0, 'unlink', 'k2'],
  [0, 'expire', 'k3', '-1'],
  [0, 'get', 'missing'],
  [0, 'exists', 'missing'],
  [0, 'ttl', 'missing'],
  [0, 'set', 'short', 'v', 'px', '300'],
  ['sleep', '450'],
  [0, 'get', 'short'],
  [0, 'flushall'],
  [0, 'config', 'set', 'notify-keyspace-events', 'Kx?'],
  [0, 'config', 'set', 'notify-keyspace-events', ''],
  [0, 'set', 'quiet', 'v'],
]

/** Every hash and set command that emits an event (and the misses of their reads). */
const collectionScript = (flags: string): Step[] => [
  [0, 'config', 'set', 'notify-keyspace-events', flags],
  [1, 'psubscribe', '__key*__:*'],
  [0, 'hset', 'h', 'a', '1', 'b', '2'],
  [0, 'hset', 'h', 'a', '3'],
  [0, 'hmset', 'h', 'c', '4'],
  [0, 'hsetnx', 'h', 'a', 'x'],
  [0, 'hsetnx', 'h', 'd', 'x'],
  [0, 'hsetnx', 'h2', 'a', '1'],
  [0, 'hincrby', 'h', 'n', '5'],
  [0, 'hincrby', 'h3', 'n', '5'],
  [0, 'hincrbyfloat', 'h', 'f', '1.5'],
  [0, 'hincrbyfloat', 'h4', 'f', '1.5'],
  [0, 'hdel', 'h', 'missing'],
  [0, 'hdel', 'h', 'a', 'b'],
  [0, 'hdel', 'h', 'c', 'd', 'n', 'f'],
  [0, 'hdel', 'h', 'a'],
  [0, 'hget', 'h', 'a'],
  [0, 'hlen', 'h'],
  [0, 'hgetall', 'h'],
  [0, 'set', 'str', 'v'],
  [0, 'hset', 'str', 'f', 'v'],
  [0, 'sadd', 'str', 'm'],
  [0, 'sadd', 's', '1', '2', '3'],
  [0, 'sadd', 's', '1'],
  [0, 'srem', 's', '9'],
  [0, 'srem', 's', '1'],
  [0, 'smove', 's', 't', '2'],
  [0, 'smove', 's', 't', '3'],
  [0, 'smove', 'nosuch', 't', '3'],
  [0, 'sadd', 'u', '3'],
  [0, 'smove', 't', 'u', '3'],
  [0, 'sadd', 'one', '7'],
  [0, 'spop', 'one'],
  [0, 'spop', 'one'],
  [0, 'sadd', 'p', '1', '2', '3'],
  [0, 'spop', 'p', '0'],
  [0, 'spop', 'p', '3'],
  [0, 'sadd', 'a1', '1', '2'],
  [0, 'sadd', 'a2', '2', '3'],
  [0, 'sinterstore', 'd', 'a1', 'a2'],
  [0, 'sunionstore', 'd', 'a1', 'a2'],
  [0, 'sdiffstore', 'd2', 'a1', 'a2'],
  [0, 'sdiffstore', 'd', 'a1', 'a1'],
  [0, 'sdiffstore', 'd', 'a1', 'a1'],
  [0, 'sinterstore', 'str', 'a1', 'missing'],
  [0, 'scard', 'missing'],
  [0, 'smembers', 'missing'],
  [0, 'sismember', 'missing', 'x'],
  [0, 'rename', 'a1', 'a3'],
  [0, 'copy', 'a3', 'a4'],
  [0, 'del', 'a3', 'a4'],
  [0, 'hset', 'eh', 'f', 'v'],
  [0, 'pexpire', 'eh', '300'],
  ['sleep', '450'],
  [0, 'hget', 'eh', 'f'],
  [0, 'flushall'],
]

/** Every sorted-set command that emits an event, and the ones that do not (nothing changed). */
const zsetScript = (flags: string): Step[] => [
  [0, 'config', 'set', 'notify-keyspace-events', flags],
  [1, 'psubscribe', '__key*__:*'],
  [0, 'zadd', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
  [0, 'zadd', 'z', '1', 'a'],
  [0, 'zadd', 'z', 'xx', '9', 'nosuch'],
  [0, 'zadd', 'nokey', 'xx', '1', 'a'],
  [0, 'zadd', 'z', 'ch', '7', 'a'],
  [0, 'zadd', 'z', 'incr', '1', 'a'],
  [0, 'zincrby', 'z', '1', 'b'],
  [0, 'zincrby', 'z', '0', 'b'],
  [0, 'zincrby', 'zi', '2', 'm'],
  [0, 'zrem', 'z', 'missing'],
  [0, 'zrem', 'z', 'a'],
  [0, 'zpopmin', 'z'],
  [0, 'zpopmax', 'z', '2'],
  [0, 'zpopmin', 'nokey'],
  [0, 'zadd', 'r', '1', 'a', '2', 'b', '3', 'c', '4', 'd'],
  [0, 'zremrangebyrank', 'r', '0', '0'],
  [0, 'zremrangebyscore', 'r', '2', '2'],
  [0, 'zremrangebyscore', 'r', '100', '200'],
  [0, 'zremrangebylex', 'r', '-', '+'],
  [0, 'zadd', 'x', '1', 'a', '2', 'b'],
  [0, 'zadd', 'y', '2', 'b', '3', 'c'],
  [0, 'zunionstore', 'u', '2', 'x', 'y'],
  [0, 'zinterstore', 'u', '2', 'x', 'y'],
  [0, 'zdiffstore', 'd', '2', 'x', 'y'],
  [0, 'zdiffstore', 'u', '2', 'x', 'x'],
  [0, 'zinterstore', 'u', '2', 'x', 'nokey'],
  [0, 'zrangestore', 'rs', 'x', '0', '-1'],
  [0, 'zrangestore', 'rs', 'x', '5', '9'],
  [0, 'set', 'str', 'v'],
  [0, 'zrangestore', 'str', 'x', '0', '0'],
  [0, 'zadd', 'str', '1', 'm'],
  [0, 'zadd', 'one', '1', 'm'],
  [0, 'zpopmax', 'one', '5'],
  [0, 'zscore', 'nokey', 'm'],
  [0, 'zcard', 'nokey'],
  [0, 'zrange', 'nokey', '0', '-1'],
  [0, 'flushall'],
]

describe('differential: pub/sub against redis-server', { skip: !hasRedisServer }, () => {
  const servers = serverPairAround('caskade-pubsub-')

  const scripts: Array<[string, number, Step[]]> = [
    ['RESP2 subscribe mode, patterns, PUBSUB introspection, RESET', 2, basicScript],
    ['RESP3 pushes, publishing to yourself, unsubscribe from all', 2, resp3Script],
    ['shard channels: SSUBSCRIBE SPUBLISH SUNSUBSCRIBE, their own counts', 2, shardScript],
    ['COMMAND INFO and COMMAND DOCS of every pub/sub command', 1, commandDocsScript],
    ['keyspace notifications (KEA) for string and key commands', 2, keyspaceScript('KEA')],
    ['keyspace notifications with new-key and key-miss events', 2, keyspaceScript('AKEnm')],
    ['keyspace notifications, keyevent only, generic and expired', 2, keyspaceScript('Egx')],
    ['keyspace notifications (KEA) for hash and set commands', 2, collectionScript('KEA')],
    ['hash and set events with new-key and key-miss', 2, collectionScript('AKEnm')],
    ['hash and set events, keyevent only, hash set and generic', 2, collectionScript('Ehsg')],
    ['keyspace notifications (KEA) for sorted-set commands', 2, zsetScript('KEA')],
    ['sorted-set events with new-key and key-miss', 2, zsetScript('AKEnm')],
    ['sorted-set events, keyevent only, zset and generic', 2, zsetScript('Ezg')],
  ]
  for (const [name, connections, script] of scripts) {
    test(name, async () => {
      const expected = await runScript(servers.redis.port, connections, script)
      const actual = await runScript(servers.caskade.port, connections, script)
      const redactClientList = (text: string): string =>
        text.startsWith('client list') ? text.replace(/id=.*$/s, '<client line>') : text
      for (let i = 0; i < connections; i++) {
        assert.deepEqual(
          (actual[i] as string[]).map(redactClientList),
          (expected[i] as string[]).map(redactClientList),
          `connection ${i}`,
        )
      }
    })
  }
})
