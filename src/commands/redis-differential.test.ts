/* Differential test: the same commands against the local redis-server (7.0.x) and against our
 * handlers over the memory engine; the RESP bytes must be identical, in RESP2 and RESP3, and so
 * must keyspace_hits/misses afterwards. Transactions run several clients through the real
 * dispatcher. Skipped when redis-server is not installed. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import net from 'node:net'
import { CaskadeError, RedisErrors } from '../core/errors.js'
import type { Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { createKeyspace } from '../keyspace/keyspace.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import type { Keyspace } from '../keyspace/types.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { ProtocolVersion } from '../protocol/types.js'
import { createDispatcher } from './dispatch.js'
import { hashCommands } from './hashes.js'
import { keyCommands } from './keys.js'
import { listCommands } from './lists.js'
import { commandTable } from './registry.js'
import { setCommands } from './sets.js'
import { zsetCommands } from './zsets.js'
import { stringCommands } from './strings.js'
import { FakeHost, makeSession } from './test-support.js'
import { transactionCommands } from './transactions.js'
import type { ClientSession, CommandContext, CommandSpec, ServerHost } from './types.js'
import {
  encodeCommand,
  hasRedisServer,
  respValueEnd,
  startRedisServer,
  type TestServer,
} from '../../test/helpers/differential.js'

type RespValue = string | number | null | RespValue[]

/** Decodes one RESP2 value (errors become 'ERR ...' strings): enough for COMMAND INFO/DOCS. */
function decodeResp(buf: Buffer, offset = 0): [RespValue, number] {
  const lineEnd = buf.indexOf('\r\n', offset)
  const type = String.fromCharCode(buf[offset] as number)
  const header = buf.toString('latin1', offset + 1, lineEnd)
  if (type === '+' || type === '-') return [header, lineEnd + 2]
  if (type === ':') return [Number(header), lineEnd + 2]
  if (type === '$') {
    const length = Number(header)
    if (length < 0) return [null, lineEnd + 2]
    return [buf.toString('utf8', lineEnd + 2, lineEnd + 2 + length), lineEnd + 4 + length]
  }
  const items: RespValue[] = []
  let next = lineEnd + 2
  for (let i = 0; i < Number(header); i++) {
    const [item, after] = decodeResp(buf, next)
    items.push(item)
    next = after
  }
  return [items, next]
}

/** One raw connection that sends a command and resolves with exactly its reply's bytes. */
class RawClient {
  #socket: net.Socket
  #buffer = Buffer.alloc(0)
  #waiting: ((reply: Buffer) => void) | null = null

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1')
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#deliver()
    })
  }

  call(args: readonly Buffer[]): Promise<Buffer> {
    return new Promise((resolve) => {
      this.#waiting = resolve
      this.#socket.write(encodeCommand(args))
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #deliver(): void {
    const end = respValueEnd(this.#buffer, 0)
    if (end === -1 || this.#waiting === null) return
    const reply = this.#buffer.subarray(0, end)
    this.#buffer = this.#buffer.subarray(end)
    const resolve = this.#waiting
    this.#waiting = null
    resolve(reply)
  }
}

const table = new Map<string, CommandSpec>(
  [
    ...stringCommands,
    ...keyCommands,
    ...hashCommands,
    ...setCommands,
    ...zsetCommands,
    ...listCommands,
  ].map((spec) => [spec.name, spec]),
)

const listCommandNames = new Set(listCommands.map((spec) => spec.name))

const noTimers: Timers = {
  every: () => () => undefined,
  after: () => () => undefined,
  defer: () => undefined,
}

/** Our side: handlers over a memory engine on the real clock, with a tiny dispatcher. */
class LocalServer {
  readonly keyspace: Keyspace
  readonly #clock = { monotonicMs: () => performance.now(), wallMs: () => Date.now() }

  constructor() {
    this.keyspace = createKeyspace({
      engine: new MemoryEngine(),
      clock: this.#clock,
      timers: noTimers,
      rng: createRng(3),
    })
  }

  call(args: readonly Buffer[], protocol: ProtocolVersion): Buffer {
    const reply = createReplyWriter(protocol)
    const ctx: CommandContext = {
      keyspace: this.keyspace,
      clock: this.#clock,
      rng: createRng(5),
      reply,
      client: {} as ClientSession,
      host: {} as ServerHost,
    }
    const name = (args[0] as Buffer).toString().toLowerCase()
    const spec = table.get(name)
    assert.ok(spec !== undefined, `no spec for ${name}`)
    const arityOk = spec.arity > 0 ? args.length === spec.arity : args.length >= -spec.arity
    try {
      if (!arityOk) throw new CaskadeError('ERR', RedisErrors.wrongArity(name))
      spec.handler(ctx, args)
    } catch (error) {
      if (!(error instanceof CaskadeError)) throw error
      reply.error(error.code, error.message)
    }
    const bytes = reply.take()
    assert.ok(bytes !== null, `${name} wrote a reply`)
    return bytes
  }
}

type Step = readonly (string | Buffer)[]

const binaryKey = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x41])
const binaryValue = Buffer.from([0x0d, 0x0a, 0x00, 0xfe, 0x24, 0x2a])

const bigValue = 'x'.repeat(65)

/**
 * Hashes: every command, its errors, WRONGTYPE both ways, empty hashes disappearing, and the
 * generic key commands on a hash. A '~' before the name compares the reply's shape only (types
 * and lengths): Redis randomizes those replies.
 */
const hashScript: Step[] = [
  ['flushall-both'],
  ['hset', 'h', 'f1', 'v1', 'f2', 'v2'],
  ['hset', 'h', 'f1', 'v1b', 'f3', 'v3'],
  ['hset', 'h'],
  ['hset', 'h', 'f1'],
  ['hset', 'h', 'f1', 'v', 'f2'],
  ['hmset', 'h', 'f4', 'v4'],
  ['hmset', 'h', 'f4'],
  ['hget', 'h', 'f1'],
  ['hget', 'h', 'nofield'],
  ['hget', 'nokey', 'f1'],
  ['hmget', 'h', 'f1', 'nofield', 'f2', 'f1'],
  ['hmget', 'nokey', 'a', 'b'],
  ['hgetall', 'h'],
  ['hgetall', 'nokey'],
  ['hkeys', 'h'],
  ['hvals', 'h'],
  ['hkeys', 'nokey'],
  ['hvals', 'nokey'],
  ['hlen', 'h'],
  ['hlen', 'nokey'],
  ['hexists', 'h', 'f2'],
  ['hexists', 'h', 'nofield'],
  ['hexists', 'nokey', 'f2'],
  ['hstrlen', 'h', 'f1'],
  ['hstrlen', 'h', 'nofield'],
  ['hstrlen', 'nokey', 'f1'],
  ['hsetnx', 'h', 'f1', 'other'],
  ['hsetnx', 'h', 'f5', 'v5'],
  ['hsetnx', 'fresh', 'f', 'v'],
  ['hgetall', 'fresh'],
  ['hdel', 'h', 'f2', 'f2', 'nofield'],
  ['hdel', 'nokey', 'f'],
  ['hgetall', 'h'],
  ['hset', 'h', 'f2', 'again'],
  ['hkeys', 'h'],
  ['hdel', 'fresh', 'f'],
  ['exists', 'fresh'],
  ['type', 'fresh'],
  ['hset', 'bin', binaryKey, binaryValue, binaryValue, binaryKey],
  ['hgetall', 'bin'],
  ['hget', 'bin', binaryValue],
  ['hincrby', 'counters', 'a', '5'],
  ['hincrby', 'counters', 'a', '-12'],
  ['hincrby', 'counters', 'a', 'x'],
  ['hincrby', 'counters', 'a', '1.5'],
  ['hincrby', 'counters', 'a', '9223372036854775807'],
  ['hset', 'counters', 'big', '9223372036854775807', 'text', 'abc', 'lead', '007'],
  ['hincrby', 'counters', 'big', '1'],
  ['hincrby', 'counters', 'big', '0'],
  ['hincrby', 'counters', 'text', '1'],
  ['hincrby', 'counters', 'lead', '1'],
  ['hincrby', 'counters', 'neg', '-9223372036854775808'],
  ['hincrby', 'counters', 'neg', '-1'],
  ['hincrbyfloat', 'counters', 'fl', '10.5'],
  ['hincrbyfloat', 'counters', 'fl', '0.1'],
  ['hincrbyfloat', 'counters', 'fl', '-5.0e3'],
  ['hincrbyfloat', 'huge', 'fl', '1e400'],
  ['hincrbyfloat', 'counters', 'fl', 'inf'],
  ['hincrbyfloat', 'counters', 'fl', 'nan'],
  ['hincrbyfloat', 'counters', 'fl', 'abc'],
  ['hincrbyfloat', 'counters', 'fl', ''],
  ['hincrbyfloat', 'counters', 'text', '1'],
  ['hincrbyfloat', 'counters', 'a', '1'],
  ['hincrbyfloat', 'counters', 'new', '3'],
  ['hincrbyfloat', 'counters', 'new', '1.23456789012345678'],
  ['hgetall', 'counters'],
  ['set', 'str', 'v'],
  ['hset', 'str', 'f', 'v'],
  ['hget', 'str', 'f'],
  ['hmget', 'str', 'f'],
  ['hgetall', 'str'],
  ['hdel', 'str', 'f'],
  ['hlen', 'str'],
  ['hincrby', 'str', 'f', '1'],
  ['hincrby', 'str', 'f', 'x'],
  ['hincrbyfloat', 'str', 'f', '1'],
  ['hsetnx', 'str', 'f', 'v'],
  ['hstrlen', 'str', 'f'],
  ['hexists', 'str', 'f'],
  ['hkeys', 'str'],
  ['hvals', 'str'],
  ['hrandfield', 'str'],
  ['hrandfield', 'str', '0'],
  ['hscan', 'str', '0'],
  ['get', 'h'],
  ['mget', 'h', 'str'],
  ['set', 'h', 'x', 'get'],
  ['incr', 'h'],
  ['append', 'h', 'x'],
  ['strlen', 'h'],
  ['getrange', 'h', '0', '1'],
  ['setrange', 'h', '0', 'x'],
  ['getdel', 'h'],
  ['getex', 'h'],
  ['setnx', 'h', 'x'],
  ['type', 'h'],
  ['exists', 'h', 'counters', 'nokey'],
  ['keys', 'h'],
  ['expire', 'h', '100'],
  ['ttl', 'h'],
  ['persist', 'h'],
  ['ttl', 'h'],
  ['pexpire', 'counters', '1'],
  ['!sleep', '20'],
  ['hgetall', 'counters'],
  ['exists', 'counters'],
  ['rename', 'h', 'h2'],
  ['hgetall', 'h2'],
  ['exists', 'h'],
  ['copy', 'h2', 'h3'],
  ['hset', 'h3', 'f1', 'changed'],
  ['hget', 'h2', 'f1'],
  ['hget', 'h3', 'f1'],
  ['copy', 'h2', 'str', 'replace'],
  ['type', 'str'],
  ['hgetall', 'str'],
  ['set', 'h3', 'now a string'],
  ['type', 'h3'],
  ['get', 'h3'],
  ['hset', 'h2', 'f1', 'a'],
  ['renamenx', 'h2', 'h3'],
  ['del', 'h2', 'h3'],
  ['hgetall', 'h2'],
  ['hset', 'small', 'a', '1', 'b', '2', 'c', '3'],
  ['hscan', 'small', '0'],
  ['hscan', 'small', '0', 'match', '[ab]'],
  ['hscan', 'small', '0', 'count', '1'],
  ['hscan', 'small', '7', 'count', '1', 'match', '*'],
  ['hscan', 'small', '0', 'count', '0'],
  ['hscan', 'small', '0', 'count', 'x'],
  ['hscan', 'small', '0', 'type', 'string'],
  ['hscan', 'small', '0', 'match'],
  ['hscan', 'small', 'abc'],
  ['hscan', 'small', '-1'],
  ['hscan', 'nokey', '0', 'bad', 'options'],
  ['hrandfield', 'small', '3'],
  ['hrandfield', 'small', '10'],
  ['hrandfield', 'small', '10', 'withvalues'],
  ['hrandfield', 'small', '0'],
  ['hrandfield', 'small', '0', 'withvalues'],
  ['hrandfield', 'small', '1', 'foo'],
  ['hrandfield', 'small', '1', 'withvalues', 'x'],
  ['hrandfield', 'small', 'x'],
  ['hrandfield', 'small', '-9223372036854775808'],
  ['hrandfield', 'small', '9223372036854775807', 'withvalues'],
  ['hrandfield', 'small', '-4611686018427387904', 'withvalues'],
  ['hrandfield', 'nokey'],
  ['hrandfield', 'nokey', '5'],
  ['hrandfield', 'nokey', '-5', 'withvalues'],
  ['~hrandfield', 'small'],
  ['~hrandfield', 'small', '2'],
  ['~hrandfield', 'small', '-7'],
  ['~hrandfield', 'small', '-7', 'withvalues'],
  ['~hrandfield', 'small', '2', 'withvalues'],
  ['~hrandfield', 'small', '1', 'withvalues'],
  ['hset', 'wide', 'long', bigValue],
  ['hscan', 'wide', '0'],
  ['hdel', 'wide', 'long'],
  ['exists', 'wide'],
  ['flushall-both'],
  ['hset', 'onehash', 'f', 'v'],
  ['set', 'onestring', 'v'],
  ['scan', '0', 'type', 'hash'],
  ['scan', '0', 'type', 'string'],
  ['scan', '0', 'type', 'set'],
  ['del', 'onestring'],
  ['randomkey'],
]

/**
 * Sets: integer sets (Redis's intsets reply in numeric order, so byte comparisons hold), the
 * operations and their STORE forms, errors, WRONGTYPE, and shape-only random replies ('~').
 */
const setScript: Step[] = [
  ['flushall-both'],
  ['sadd', 'i', '5', '3', '10', '-1', '3'],
  ['sadd', 'i', '7'],
  ['sadd', 'j', '3', '7', '100'],
  ['sadd', 'k', '1000'],
  ['smembers', 'i'],
  ['smembers', 'nokey'],
  ['scard', 'i'],
  ['scard', 'nokey'],
  ['sismember', 'i', '3'],
  ['sismember', 'i', '4'],
  ['sismember', 'nokey', '4'],
  ['smismember', 'i', '3', '4', '10'],
  ['smismember', 'nokey', '3'],
  ['srem', 'i', '3', '3', '99'],
  ['srem', 'nokey', '1'],
  ['smembers', 'i'],
  ['sinter', 'i', 'j'],
  ['sinter', 'i', 'nokey'],
  ['sinter', 'nokey'],
  ['sunion', 'i', 'j', 'nokey'],
  ['sdiff', 'i', 'j'],
  ['sdiff', 'nokey', 'i'],
  ['sdiff', 'i', 'i'],
  ['sinterstore', 'dst', 'i', 'j'],
  ['smembers', 'dst'],
  ['sunionstore', 'dst', 'i', 'j', 'k'],
  ['smembers', 'dst'],
  ['sdiffstore', 'dst', 'i', 'j'],
  ['smembers', 'dst'],
  ['sinterstore', 'dst', 'i', 'k'],
  ['exists', 'dst'],
  ['set', 'str', 'v'],
  ['sunionstore', 'str', 'i'],
  ['type', 'str'],
  ['set', 'str', 'v'],
  ['sadd', 'str', '1'],
  ['srem', 'str', '1'],
  ['smembers', 'str'],
  ['sismember', 'str', '1'],
  ['smismember', 'str', '1'],
  ['scard', 'str'],
  ['sinter', 'i', 'str'],
  ['sinter', 'nokey', 'str'],
  ['sunion', 'str', 'i'],
  ['sdiff', 'i', 'str'],
  ['sinterstore', 'dst', 'i', 'str'],
  ['sintercard', '2', 'i', 'str'],
  ['spop', 'str'],
  ['srandmember', 'str'],
  ['sscan', 'str', '0'],
  ['smove', 'str', 'i', '1'],
  ['smove', 'i', 'str', '5'],
  ['smove', 'nokey', 'str', '5'],
  ['get', 'i'],
  ['hget', 'i', 'f'],
  ['hset', 'i', 'f', 'v'],
  ['sadd', 'h', 'x'],
  ['hset', 'hh', 'f', 'v'],
  ['sadd', 'hh', 'x'],
  ['type', 'i'],
  ['smove', 'i', 'j', '5'],
  ['smove', 'i', 'j', '5'],
  ['smove', 'i', 'i', '7'],
  ['smove', 'i', 'i', '8'],
  ['smove', 'i', 'newset', '10'],
  ['smembers', 'newset'],
  ['smembers', 'i'],
  ['smembers', 'j'],
  ['sintercard', '2', 'i', 'j'],
  ['sintercard', '2', 'i', 'j', 'limit', '1'],
  ['sintercard', '2', 'i', 'j', 'LIMIT', '0'],
  ['sintercard', '1', 'nokey'],
  ['sintercard', '0', 'i'],
  ['sintercard', 'x', 'i'],
  ['sintercard', '3', 'i', 'j'],
  ['sintercard', '2', 'i', 'j', 'limit'],
  ['sintercard', '2', 'i', 'j', 'limit', '-1'],
  ['sintercard', '2', 'i', 'j', 'limit', 'x'],
  ['sintercard', '2', 'i', 'j', 'foo', '1'],
  ['sscan', 'j', '0'],
  ['sscan', 'j', '0', 'match', '1*'],
  ['sscan', 'j', '0', 'count', '0'],
  ['sscan', 'j', 'x'],
  ['sscan', 'nokey', '0'],
  ['srandmember', 'j', '10'],
  ['srandmember', 'j', '0'],
  ['srandmember', 'j', '1', 'x'],
  ['srandmember', 'j', 'x'],
  ['srandmember', 'j', '-9223372036854775808'],
  ['srandmember', 'nokey'],
  ['srandmember', 'nokey', '3'],
  ['~srandmember', 'j'],
  ['~srandmember', 'j', '2'],
  ['~srandmember', 'j', '-5'],
  ['spop', 'nokey'],
  ['spop', 'nokey', '2'],
  ['spop', 'j', '0'],
  ['spop', 'j', '-1'],
  ['spop', 'j', 'x'],
  ['spop', 'j', '1', '2'],
  ['~spop', 'j'],
  ['~spop', 'j', '2'],
  ['scard', 'j'],
  ['sadd', 'p', '1', '2', '3'],
  ['spop', 'p', '10'],
  ['exists', 'p'],
  ['sadd', 'p', '1'],
  ['~spop', 'p'],
  ['exists', 'p'],
  ['sadd', 'words', 'x'],
  ['smembers', 'words'],
  ['sadd', 'e', '1'],
  ['expire', 'e', '100'],
  ['rename', 'e', 'e2'],
  ['ttl', 'e2'],
  ['copy', 'e2', 'e3'],
  ['smembers', 'e3'],
  ['sunionstore', 'e2', 'e2'],
  ['ttl', 'e2'],
  ['type', 'e3'],
  ['del', 'e2'],
  ['scan', '0', 'type', 'set', 'match', 'e*', 'count', '1000'],
]

/**
 * Sorted sets: every command, its options and errors, float formatting, RESP3 pairs and doubles,
 * sets as ZUNION/ZINTER sources, WRONGTYPE, and shape-only random replies ('~').
 */
const zsetScript: Step[] = [
  ['flushall-both'],
  ['zadd', 'z', '1', 'a', '2', 'b', '3', 'c', '0.1', 'd', '-inf', 'm', '+inf', 'p'],
  ['zadd', 'z', '1e300', 'e', '1.5e-7', 'f', '-0', 'g', '3', 'cc', '3', 'ca'],
  ['zrange', 'z', '0', '-1', 'withscores'],
  ['zadd', 'z', 'nx', '10', 'a', '11', 'new'],
  ['zadd', 'z', 'xx', '10', 'a', '11', 'new2'],
  ['zadd', 'z', 'xx', 'ch', '10', 'a', '11', 'b'],
  ['zadd', 'z', 'gt', 'ch', '5', 'a', '50', 'b'],
  ['zadd', 'z', 'lt', 'ch', '5', 'a', '50', 'b', '7', 'lt1'],
  ['zadd', 'z', 'nx', 'xx', '1', 'a'],
  ['zadd', 'z', 'gt', 'lt', '1', 'a'],
  ['zadd', 'z', 'gt', 'nx', '1', 'a'],
  ['zadd', 'z', 'incr', '1', 'a', '2', 'b'],
  ['zadd', 'z', 'incr', '2.5', 'a'],
  ['zadd', 'z', 'incr', 'nx', '2.5', 'a'],
  ['zadd', 'z', 'incr', 'xx', '2.5', 'nobody'],
  ['zadd', 'z', 'incr', 'gt', '-1', 'a'],
  ['zadd', 'z', 'incr', '0', 'a'],
  ['zadd', 'z', 'incr', '-inf', 'p'],
  ['zadd', 'z', '1'],
  ['zadd', 'z', 'x', 'a'],
  ['zadd', 'z', 'nan', 'a'],
  ['zadd', 'z', 'ch'],
  ['zadd', 'z', '1', 'a', '2'],
  ['zadd', 'absent', 'xx', '1', 'a'],
  ['zadd', 'absent', 'xx', 'incr', '1', 'a'],
  ['exists', 'absent'],
  ['zincrby', 'z', '0.1', 'd'],
  ['zincrby', 'z', '0.2', 'd'],
  ['zincrby', 'z', 'abc', 'd'],
  ['zincrby', 'z', '1', 'brand-new'],
  ['zincrby', 'zi', '5', 'x'],
  ['zscore', 'z', 'd'],
  ['zscore', 'z', 'e'],
  ['zscore', 'z', 'f'],
  ['zscore', 'z', 'g'],
  ['zscore', 'z', 'm'],
  ['zscore', 'z', 'nobody'],
  ['zscore', 'nokey', 'a'],
  ['zmscore', 'z', 'a', 'nobody', 'p'],
  ['zmscore', 'nokey', 'a', 'b'],
  ['zcard', 'z'],
  ['zcard', 'nokey'],
  ['zcount', 'z', '-inf', '+inf'],
  ['zcount', 'z', '(1', '3'],
  ['zcount', 'z', '1', '(3'],
  ['zcount', 'z', '(3', '(3'],
  ['zcount', 'z', '5', '1'],
  ['zcount', 'z', 'x', '1'],
  ['zcount', 'z', '(', '1'],
  ['zcount', 'z', '', '1'],
  ['zcount', 'nokey', '0', '1'],
  ['zrange', 'z', '0', '2'],
  ['zrange', 'z', '-3', '-1', 'withscores'],
  ['zrange', 'z', '5', '2'],
  ['zrange', 'z', '-100', '100'],
  ['zrange', 'z', '0', 'x'],
  ['zrange', 'z', '0', '-1', 'rev', 'withscores'],
  ['zrange', 'z', '0', '-1', 'limit', '0', '1'],
  ['zrange', 'z', '0', '-1', 'limit', '0', '-1'],
  ['zrange', 'z', '(1', '3', 'byscore', 'withscores'],
  ['zrange', 'z', '3', '(1', 'byscore', 'rev', 'withscores'],
  ['zrange', 'z', '-inf', '+inf', 'byscore', 'limit', '1', '2'],
  ['zrange', 'z', '+inf', '-inf', 'byscore', 'rev', 'limit', '1', '2', 'withscores'],
  ['zrange', 'z', '-inf', '+inf', 'byscore', 'limit', '-1', '2'],
  ['zrange', 'z', '-inf', '+inf', 'byscore', 'limit', '100', '2'],
  ['zrange', 'z', '-inf', '+inf', 'byscore', 'limit', '2', '-5'],
  ['zrange', 'z', '-inf', '+inf', 'byscore', 'limit', '2'],
  ['zrange', 'z', '-', '+', 'bylex'],
  ['zrange', 'z', '-', '+', 'bylex', 'withscores'],
  ['zrange', 'z', 'a', 'b', 'bylex'],
  ['zrange', 'z', '0', '1', 'byscore', 'bylex'],
  ['zrange', 'z', '0', '1', 'rev', 'rev'],
  ['zrange', 'nokey', '0', '-1'],
  ['zrangebyscore', 'z', '-inf', '3', 'withscores', 'limit', '1', '3'],
  ['zrangebyscore', 'z', '0', '3', 'rev'],
  ['zrangebyscore', 'z', '0', '3', 'byscore'],
  ['zrevrangebyscore', 'z', '3', '0', 'withscores'],
  ['zrevrangebyscore', 'z', '(3', '(0', 'limit', '0', '2'],
  ['zrevrange', 'z', '0', '3', 'withscores'],
  ['zrevrange', 'z', '0', '3', 'limit', '0', '1'],
  ['zrank', 'z', 'a'],
  ['zrank', 'z', 'nobody'],
  ['zrank', 'nokey', 'a'],
  ['zrevrank', 'z', 'a'],
  ['zrevrank', 'z', 'm'],
  ['zadd', 'lex', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'ab', '0', ''],
  ['zrangebylex', 'lex', '-', '+'],
  ['zrangebylex', 'lex', '[a', '(c'],
  ['zrangebylex', 'lex', '(a', '[c', 'limit', '1', '1'],
  ['zrangebylex', 'lex', '[', '[b'],
  ['zrangebylex', 'lex', '+', '-'],
  ['zrangebylex', 'lex', 'a', '+'],
  ['zrevrangebylex', 'lex', '+', '-'],
  ['zrevrangebylex', 'lex', '[d', '(a', 'limit', '0', '2'],
  ['zrange', 'lex', '[d', '(a', 'bylex', 'rev'],
  ['zlexcount', 'lex', '-', '+'],
  ['zlexcount', 'lex', '[b', '(e'],
  ['zlexcount', 'lex', 'b', '(e'],
  ['zlexcount', 'nokey', '-', '+'],
  ['zremrangebylex', 'lex', '[b', '[c'],
  ['zrange', 'lex', '0', '-1'],
  ['zremrangebylex', 'lex', '-', '+'],
  ['exists', 'lex'],
  ['zrangestore', 'dst', 'z', '0', '2'],
  ['zrange', 'dst', '0', '-1', 'withscores'],
  ['zrangestore', 'dst', 'z', '(1', '+inf', 'byscore', 'limit', '0', '3'],
  ['zrange', 'dst', '0', '-1', 'withscores'],
  ['zrangestore', 'dst', 'z', '0', '1', 'withscores'],
  ['zrangestore', 'dst', 'nokey', '0', '-1'],
  ['exists', 'dst'],
  ['set', 'str', 'x'],
  ['zrangestore', 'str', 'z', '0', '0'],
  ['type', 'str'],
  ['zadd', 'pop', '1', 'a', '2', 'b', '3', 'c', '4', 'd'],
  ['zpopmin', 'pop'],
  ['zpopmax', 'pop'],
  ['zpopmin', 'pop', '0'],
  ['zpopmin', 'pop', '-1'],
  ['zpopmin', 'pop', 'x'],
  ['zpopmin', 'pop', '1', '2'],
  ['zpopmax', 'pop', '10'],
  ['exists', 'pop'],
  ['zpopmin', 'pop'],
  ['zpopmin', 'pop', '3'],
  ['zadd', 'pop', '1', 'a', '2', 'b', '3', 'c'],
  ['zpopmin', 'pop', '2'],
  ['zadd', 'rr', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
  ['zremrangebyrank', 'rr', '0', '1'],
  ['zremrangebyrank', 'rr', '5', '10'],
  ['zremrangebyrank', 'rr', '-1', '-1'],
  ['zremrangebyrank', 'rr', 'x', '1'],
  ['zremrangebyscore', 'rr', '(3', '+inf'],
  ['zremrangebyscore', 'rr', 'x', '1'],
  ['zrange', 'rr', '0', '-1', 'withscores'],
  ['zremrangebyscore', 'rr', '-inf', '+inf'],
  ['exists', 'rr'],
  ['zremrangebyrank', 'nokey', '0', '-1'],
  ['zrem', 'z', 'a', 'a', 'nobody', 'b'],
  ['zrem', 'nokey', 'a'],
  ['zadd', 'u1', '1', 'a', '2', 'b', '3', 'c'],
  ['zadd', 'u2', '10', 'b', '20', 'c', '30', 'd'],
  ['sadd', 's1', 'a', 'd', 'x'],
  ['zunion', '2', 'u1', 'u2', 'withscores'],
  ['zunion', '3', 'u1', 'u2', 's1', 'withscores'],
  ['zunion', '2', 'u1', 'u2', 'weights', '2', '-1', 'withscores'],
  ['zunion', '2', 'u1', 'u2', 'aggregate', 'max', 'withscores'],
  ['zunion', '2', 'u1', 'u2', 'aggregate', 'min', 'withscores'],
  ['zunion', '2', 'u1', 'u2', 'aggregate', 'avg'],
  ['zunion', '2', 'u1', 'u2', 'weights', '1'],
  ['zunion', '2', 'u1', 'u2', 'weights', '1', 'x'],
  ['zunion', '0', 'u1'],
  ['zunion', '3', 'u1', 'u2'],
  ['zunion', 'x', 'u1'],
  ['zunion', '2', 'u1', 'nokey', 'withscores'],
  ['zunion', '2', 'u1', 'str'],
  ['zinter', '2', 'u1', 'u2', 'withscores'],
  ['zinter', '3', 'u1', 'u2', 's1', 'withscores'],
  ['zinter', '2', 'u1', 's1', 'withscores'],
  ['zinter', '2', 'u1', 'u2', 'weights', 'inf', '0', 'withscores'],
  ['zinter', '2', 'u1', 'nokey'],
  ['zdiff', '2', 'u1', 'u2', 'withscores'],
  ['zdiff', '2', 'u1', 's1'],
  ['zdiff', '2', 'u1', 'u2', 'weights', '1', '1'],
  ['zdiff', '1', 'nokey'],
  ['zunionstore', 'out', '2', 'u1', 'u2', 'weights', '1', '0.5'],
  ['zrange', 'out', '0', '-1', 'withscores'],
  ['zunionstore', 'out', '2', 'u1', 'u2', 'withscores'],
  ['zinterstore', 'out', '2', 'u1', 'u2', 'aggregate', 'max'],
  ['zrange', 'out', '0', '-1', 'withscores'],
  ['zinterstore', 'out', '2', 'u1', 'nokey'],
  ['exists', 'out'],
  ['zdiffstore', 'out', '2', 'u1', 'u2'],
  ['zrange', 'out', '0', '-1', 'withscores'],
  ['zdiffstore', 'out', '0', 'u1'],
  ['zunionstore', 'str', '1', 'u1'],
  ['type', 'str'],
  ['~zrandmember', 'u1'],
  ['~zrandmember', 'u1', '2'],
  ['~zrandmember', 'u1', '-5'],
  ['zrandmember', 'u1', '10', 'withscores'],
  ['zrandmember', 'u1', '0'],
  ['zrandmember', 'u1', '1', 'withscore'],
  ['zrandmember', 'u1', '9223372036854775807', 'withscores'],
  ['zrandmember', 'nokey'],
  ['zrandmember', 'nokey', '3'],
  ['zscan', 'u1', '0'],
  ['zscan', 'u1', '0', 'match', 'b*'],
  ['zscan', 'u1', '0', 'count', '0'],
  ['zscan', 'u1', 'x'],
  ['zscan', 'nokey', '0'],
  ['set', 'str', 'x'],
  ['zadd', 'str', '1', 'a'],
  ['zscore', 'str', 'a'],
  ['zrange', 'str', '0', '-1'],
  ['zcard', 'str'],
  ['zpopmin', 'str'],
  ['zremrangebyrank', 'str', '0', '1'],
  ['sadd', 'zsetlike', 'x'],
  ['zadd', 'u1', '1', 'a'],
  ['type', 'u1'],
  ['expire', 'u1', '100'],
  ['rename', 'u1', 'u9'],
  ['zrange', 'u9', '0', '-1', 'withscores'],
  ['ttl', 'u9'],
  ['copy', 'u9', 'u10'],
  ['zadd', 'u10', '7', 'a'],
  ['zrange', 'u9', '0', '-1', 'withscores'],
  ['zrange', 'u10', '0', '-1', 'withscores'],
  ['del', 'u9'],
  ['zcard', 'u9'],
  ['zadd', 'u9', '1', 'fresh'],
  ['zrange', 'u9', '0', '-1', 'withscores'],
  ['scan', '0', 'type', 'zset', 'match', 'zi*', 'count', '1000'],
]

/**
 * Lists: every command, its options and errors, nil vs empty replies (RESP2 and RESP3), the
 * order of argument checks against lookups, WRONGTYPE, emptied lists disappearing, and lists
 * under TYPE/SCAN TYPE/RENAME/COPY/EXPIRE.
 */
const listScript: Step[] = [
  ['flushall-both'],
  ['lpush', 'l', 'a', 'b', 'c'],
  ['rpush', 'l', 'd', 'e'],
  ['lrange', 'l', '0', '-1'],
  ['lpushx', 'l', 'x', 'y'],
  ['rpushx', 'l', 'z'],
  ['lpushx', 'nolist', 'x'],
  ['rpushx', 'nolist', 'x'],
  ['exists', 'nolist'],
  ['llen', 'l'],
  ['llen', 'nolist'],
  ['lrange', 'l', '0', '2'],
  ['lrange', 'l', '-3', '-1'],
  ['lrange', 'l', '-100', '100'],
  ['lrange', 'l', '5', '2'],
  ['lrange', 'l', '20', '30'],
  ['lrange', 'l', '0', '9223372036854775807'],
  ['lrange', 'l', '-9223372036854775808', '0'],
  ['lrange', 'l', 'x', '1'],
  ['lrange', 'l', '0', '1.5'],
  ['lrange', 'nolist', '0', '-1'],
  ['lrange', 'nolist', 'x', '-1'],
  ['lindex', 'l', '0'],
  ['lindex', 'l', '-1'],
  ['lindex', 'l', '100'],
  ['lindex', 'l', '-100'],
  ['lindex', 'l', 'x'],
  ['lindex', 'nolist', '0'],
  ['lindex', 'nolist', 'x'],
  ['lset', 'l', '0', 'first'],
  ['lset', 'l', '-1', 'last'],
  ['lset', 'l', '100', 'v'],
  ['lset', 'l', 'x', 'v'],
  ['lset', 'nolist', '0', 'v'],
  ['lset', 'nolist', 'x', 'v'],
  ['lrange', 'l', '0', '-1'],
  ['lpop', 'l'],
  ['rpop', 'l'],
  ['lpop', 'l', '2'],
  ['rpop', 'l', '2'],
  ['lpop', 'l', '0'],
  ['lpop', 'l', '-1'],
  ['lpop', 'l', 'x'],
  ['lpop', 'l', '1', '2'],
  ['lpop', 'nolist'],
  ['rpop', 'nolist'],
  ['lpop', 'nolist', '2'],
  ['rpop', 'nolist', '0'],
  ['lpop', 'nolist', 'x'],
  ['rpop', 'l', '100'],
  ['exists', 'l'],
  ['rpush', 'p', '1', '2', '3'],
  ['lpop', 'p', '9223372036854775807'],
  ['exists', 'p'],
  ['rpush', 'r', 'a', 'b', 'a', 'c', 'a', 'b', 'a'],
  ['lrem', 'r', '2', 'a'],
  ['lrange', 'r', '0', '-1'],
  ['lrem', 'r', '-1', 'a'],
  ['lrange', 'r', '0', '-1'],
  ['lrem', 'r', '0', 'b'],
  ['lrem', 'r', '0', 'nothing'],
  ['lrem', 'r', 'x', 'a'],
  ['lrem', 'nolist', '0', 'a'],
  ['lrem', 'nolist', 'x', 'a'],
  ['lrange', 'r', '0', '-1'],
  ['lrem', 'r', '0', 'a'],
  ['lrem', 'r', '0', 'c'],
  ['exists', 'r'],
  ['rpush', 't', '1', '2', '3', '4', '5', '6'],
  ['ltrim', 't', '1', '-2'],
  ['lrange', 't', '0', '-1'],
  ['ltrim', 't', '-2', '100'],
  ['lrange', 't', '0', '-1'],
  ['ltrim', 't', 'x', '1'],
  ['ltrim', 'nolist', '0', '1'],
  ['ltrim', 'nolist', 'x', '1'],
  ['ltrim', 't', '5', '1'],
  ['exists', 't'],
  ['rpush', 'i', 'a', 'b', 'c'],
  ['linsert', 'i', 'before', 'b', 'x'],
  ['linsert', 'i', 'AFTER', 'c', 'y'],
  ['linsert', 'i', 'after', 'nothing', 'y'],
  ['linsert', 'i', 'middle', 'b', 'y'],
  ['linsert', 'nolist', 'before', 'b', 'y'],
  ['linsert', 'nolist', 'middle', 'b', 'y'],
  ['lrange', 'i', '0', '-1'],
  ['rpush', 'pos', 'a', 'b', 'c', '1', '2', '3', 'c', 'c'],
  ['lpos', 'pos', 'c'],
  ['lpos', 'pos', 'c', 'rank', '2'],
  ['lpos', 'pos', 'c', 'rank', '-1'],
  ['lpos', 'pos', 'c', 'rank', '-2', 'count', '0'],
  ['lpos', 'pos', 'c', 'count', '0'],
  ['lpos', 'pos', 'c', 'count', '2'],
  ['lpos', 'pos', 'c', 'count', '2', 'maxlen', '3'],
  ['lpos', 'pos', 'c', 'maxlen', '2'],
  ['lpos', 'pos', 'c', 'rank', '9'],
  ['lpos', 'pos', 'c', 'rank', '9', 'count', '1'],
  ['lpos', 'pos', 'nothing'],
  ['lpos', 'pos', 'nothing', 'count', '5'],
  ['lpos', 'pos', 'c', 'rank', '0'],
  ['lpos', 'pos', 'c', 'rank', 'x'],
  ['lpos', 'pos', 'c', 'rank', '-9223372036854775808'],
  ['lpos', 'pos', 'c', 'rank', '-9223372036854775807'],
  ['lpos', 'pos', 'c', 'rank', '9223372036854775807'],
  ['lpos', 'pos', 'c', 'count', '-1'],
  ['lpos', 'pos', 'c', 'count', 'x'],
  ['lpos', 'pos', 'c', 'maxlen', '-1'],
  ['lpos', 'pos', 'c', 'maxlen'],
  ['lpos', 'pos', 'c', 'foo', '1'],
  ['lpos', 'nolist', 'c'],
  ['lpos', 'nolist', 'c', 'count', '1'],
  ['lpos', 'nolist', 'c', 'rank', '0'],
  ['rpush', 'src', 'a', 'b', 'c'],
  ['lmove', 'src', 'dst', 'left', 'right'],
  ['lmove', 'src', 'dst', 'RIGHT', 'LEFT'],
  ['lrange', 'dst', '0', '-1'],
  ['lmove', 'src', 'src', 'left', 'right'],
  ['lmove', 'src', 'src', 'right', 'right'],
  ['lrange', 'src', '0', '-1'],
  ['lmove', 'src', 'dst', 'up', 'left'],
  ['lmove', 'src', 'dst', 'left', 'down'],
  ['lmove', 'nolist', 'dst', 'left', 'left'],
  ['lmove', 'nolist', 'dst', 'up', 'left'],
  ['lmove', 'src', 'dst', 'left', 'left'],
  ['exists', 'src'],
  ['rpoplpush', 'dst', 'src'],
  ['rpoplpush', 'nolist', 'src'],
  ['lrange', 'src', '0', '-1'],
  ['lrange', 'dst', '0', '-1'],
  ['rpush', 'm1', 'a', 'b', 'c'],
  ['rpush', 'm2', 'x'],
  ['lmpop', '2', 'nolist', 'm1', 'left'],
  ['lmpop', '2', 'nolist', 'm1', 'right', 'count', '5'],
  ['lmpop', '2', 'm1', 'm2', 'left', 'count', '1'],
  ['lmpop', '1', 'nolist', 'left'],
  ['lmpop', '0', 'm2', 'left'],
  ['lmpop', '-1', 'm2', 'left'],
  ['lmpop', 'x', 'm2', 'left'],
  ['lmpop', '3', 'm2', 'left'],
  ['lmpop', '1', 'm2', 'middle'],
  ['lmpop', '1', 'm2', 'left', 'count'],
  ['lmpop', '1', 'm2', 'left', 'count', '0'],
  ['lmpop', '1', 'm2', 'left', 'count', 'x'],
  ['lmpop', '1', 'm2', 'left', 'count', '1', 'count', '1'],
  ['lmpop', '1', 'm2', 'left', 'foo'],
  ['set', 'str', 'v'],
  ['lpush', 'str', 'a'],
  ['rpushx', 'str', 'a'],
  ['lpop', 'str'],
  ['rpop', 'str', '2'],
  ['llen', 'str'],
  ['lrange', 'str', '0', '-1'],
  ['lindex', 'str', '0'],
  ['lset', 'str', '0', 'v'],
  ['lrem', 'str', '0', 'v'],
  ['ltrim', 'str', '0', '1'],
  ['linsert', 'str', 'before', 'a', 'b'],
  ['lpos', 'str', 'a'],
  ['lmove', 'str', 'dst', 'left', 'left'],
  ['lmove', 'dst', 'str', 'left', 'left'],
  ['rpoplpush', 'dst', 'str'],
  ['lmpop', '2', 'nolist', 'str', 'left'],
  ['lmpop', '2', 'dst', 'str', 'left'],
  ['get', 'dst'],
  ['sadd', 'dst', 'x'],
  ['hset', 'dst', 'f', 'v'],
  ['zadd', 'dst', '1', 'm'],
  ['rpush', 'e', 'a', 'b'],
  ['type', 'e'],
  ['expire', 'e', '100'],
  ['rename', 'e', 'e2'],
  ['ttl', 'e2'],
  ['copy', 'e2', 'e3'],
  ['rpush', 'e3', 'c'],
  ['lrange', 'e2', '0', '-1'],
  ['lrange', 'e3', '0', '-1'],
  ['lpop', 'e2', '2'],
  ['ttl', 'e2'],
  ['lpush', 'e2', 'fresh'],
  ['ttl', 'e2'],
  ['del', 'e3'],
  ['exists', 'e3'],
  ['rpush', 'lex', 'a'],
  ['scan', '0', 'type', 'list', 'match', 'e*', 'count', '1000'],
  ['lpush', 'bin', Buffer.from([0, 255, 13, 10]), ''],
  ['lrange', 'bin', '0', '-1'],
  ['lpos', 'bin', ''],
]

/** Every command and edge case; '!sleep ms' waits on both sides. */
const script: Step[] = [
  ['get', 'missing'],
  ['set', 'k', 'v'],
  ['get', 'k'],
  ['set', binaryKey, binaryValue],
  ['get', binaryKey],
  ['set', 'k', 'v', 'ex', '10', 'ex', '20'],
  ['ttl', 'k'],
  ['set', 'k', 'v', 'nx', 'nx'],
  ['set', 'k', 'v', 'nx', 'xx'],
  ['set', 'k', 'v2', 'get', 'get'],
  ['set', 'k', 'v', 'keepttl', 'ex', '10'],
  ['set', 'k', 'v', 'ex', '10', 'keepttl'],
  ['set', 'k', 'v', 'ex', '0'],
  ['set', 'k', 'v', 'ex', '-1'],
  ['set', 'k', 'v', 'px', '0'],
  ['set', 'k', 'v', 'exat', '0'],
  ['set', 'k', 'v', 'pxat', '-5'],
  ['set', 'k', 'v', 'ex', 'abc'],
  ['set', 'k', 'v', 'ex', '-0'],
  ['set', 'k', 'v', 'ex'],
  ['set', 'k', 'v', 'foo'],
  ['set', 'k', 'v', 'persist'],
  ['set', 'k', 'v', 'ex', '9223372036854775807'],
  ['set', 'k', 'v', 'ex', '9223372036854775'],
  ['set', 'k', 'v', 'px', '9223372036854775807'],
  ['set', 'k', 'v', 'ex', '100', 'KEEPTTL'],
  ['set', 'k', 'v', 'KEEPTTL'],
  ['ttl', 'k'],
  ['set', 'k', 'v', 'XX', 'GET'],
  ['set', 'new', 'v', 'XX', 'GET'],
  ['set', 'new', 'v', 'XX'],
  ['set', 'new', 'v', 'NX', 'GET'],
  ['set', 'new', 'w', 'NX', 'GET'],
  ['set', 'new', 'w', 'NX'],
  ['set', 'k', 'v', 'PX', '100000'],
  ['ttl', 'k'],
  ['set', 'k', 'v', 'EXAT', '99999999999'],
  ['expiretime', 'k'],
  ['set', 'k', 'v', 'PXAT', '99999999999999'],
  ['pexpiretime', 'k'],
  ['set', 'past', 'v', 'pxat', '1'],
  ['exists', 'past'],
  ['setnx', 'k', 'x'],
  ['setnx', 'nx1', 'x'],
  ['get', 'nx1'],
  ['setex', 'se', '100', 'v'],
  ['ttl', 'se'],
  ['setex', 'se', '0', 'v'],
  ['setex', 'se', 'abc', 'v'],
  ['psetex', 'pse', '100000', 'v'],
  ['ttl', 'pse'],
  ['psetex', 'pse', '-5', 'v'],
  ['mget', 'k', 'missing', 'nx1', binaryKey],
  ['mset', 'a', '1', 'b', '2'],
  ['mset', 'a', '1', 'b'],
  ['mget', 'a', 'b'],
  ['msetnx', 'a', '1', 'c', '3'],
  ['msetnx', 'c', '3', 'd', '4'],
  ['msetnx', 'c', '3', 'd'],
  ['getset', 'a', '10'],
  ['getset', 'gs', '1'],
  ['getdel', 'a'],
  ['getdel', 'a'],
  ['getex', 'b'],
  ['getex', 'b', 'ex', '100'],
  ['ttl', 'b'],
  ['getex', 'b', 'persist'],
  ['ttl', 'b'],
  ['getex', 'b', 'ex', '0'],
  ['getex', 'nokey', 'ex', '0'],
  ['getex', 'b', 'nx'],
  ['getex', 'b', 'persist', 'ex', '10'],
  ['getex', 'b', 'ex', '10', 'persist'],
  ['getex', 'b', 'ex'],
  ['getex', 'b', 'keepttl'],
  ['getex', 'b', 'pxat', '99999999999999'],
  ['pexpiretime', 'b'],
  ['getex', 'b', 'exat', '1'],
  ['exists', 'b'],
  ['incr', 'n'],
  ['incr', 'n'],
  ['decr', 'n'],
  ['incrby', 'n', '100'],
  ['decrby', 'n', '7'],
  ['incrby', 'n', '-0'],
  ['incrby', 'n', ' 1'],
  ['incrby', 'n', '+1'],
  ['incrby', 'n', '1.5'],
  ['incr', 'k'],
  ['set', 'n', '-0'],
  ['incr', 'n'],
  ['set', 'n', '007'],
  ['incr', 'n'],
  ['set', 'n', '9223372036854775806'],
  ['incr', 'n'],
  ['incr', 'n'],
  ['decrby', 'n', '-9223372036854775808'],
  ['set', 'n', '9007199254740990'],
  ['incrby', 'n', '5'],
  ['decrby', 'n', '9007199254740999'],
  ['set', 'n', '-9223372036854775807'],
  ['decr', 'n'],
  ['decr', 'n'],
  ['incrby', 'n', '9223372036854775807'],
  ['incrby', 'n', '9223372036854775808'],
  ['set', 'ttlkeep', '1', 'ex', '100'],
  ['incr', 'ttlkeep'],
  ['ttl', 'ttlkeep'],
  ['incrbyfloat', 'f', '0.1'],
  ['incrbyfloat', 'f', '0.2'],
  ['set', 'f', '10.5'],
  ['incrbyfloat', 'f', '0.1'],
  ['incrbyfloat', 'f', 'abc'],
  ['incrbyfloat', 'f', 'inf'],
  ['incrbyfloat', 'f', '1e308'],
  ['incrbyfloat', 'f', '1e308'],
  ['incrbyfloat', 'f', ' 1'],
  ['incrbyfloat', 'f', '0x10'],
  ['set', 'f', '5e3'],
  ['incrbyfloat', 'f', '2e2'],
  ['set', 'f', '-1'],
  ['incrbyfloat', 'f', '0.999999999999999999'],
  ['set', 'f', '3'],
  ['incrbyfloat', 'f', '-1.25e-3'],
  ['set', 'f', Buffer.from('1\u00002')],
  ['incrbyfloat', 'f', '1'],
  ['incrbyfloat', 'k', '1'],
  ['append', 'ap', 'hello'],
  ['append', 'ap', ' world'],
  ['append', 'ap', ''],
  ['get', 'ap'],
  ['strlen', 'ap'],
  ['strlen', 'missing'],
  ['getrange', 'ap', '0', '4'],
  ['getrange', 'ap', '-5', '-1'],
  ['getrange', 'ap', '6', '100'],
  ['getrange', 'ap', '-100', '-50'],
  ['getrange', 'ap', '-1', '-5'],
  ['getrange', 'ap', '5', '1'],
  ['getrange', 'ap', '0', '9223372036854775807'],
  ['getrange', 'ap', '0', '9223372036854775808'],
  ['getrange', 'missing', '0', '1'],
  ['getrange', 'ap', 'a', '1'],
  ['substr', 'ap', '0', '1'],
  ['setrange', 'ap', '6', 'WORLD'],
  ['get', 'ap'],
  ['setrange', 'ap', '-1', 'x'],
  ['setrange', 'ap', '536870912', 'x'],
  ['setrange', 'sr', '5', ''],
  ['exists', 'sr'],
  ['setrange', 'ap', '2', ''],
  ['setrange', 'sr', '3', 'ab'],
  ['get', 'sr'],
  ['setrange', 'sr', 'abc', 'x'],
  ['del', 'a', 'b', 'c', 'd', 'missing', 'c'],
  ['unlink', 'nx1', 'gs'],
  ['exists', 'k', 'k', 'missing', 'ap'],
  ['touch', 'k', 'missing', 'ap'],
  ['type', 'k'],
  ['type', 'missing'],
  ['rename', 'missing', 'x'],
  ['rename', 'ap', 'ap'],
  ['renamenx', 'ap', 'ap'],
  ['rename', 'ap', 'ap2'],
  ['renamenx', 'ap2', 'k'],
  ['renamenx', 'ap2', 'ap3'],
  ['get', 'ap3'],
  ['set', 'x', '1', 'px', '100000'],
  ['rename', 'x', 'y'],
  ['ttl', 'y'],
  ['copy', 'y', 'y'],
  ['copy', 'y', 'z'],
  ['ttl', 'z'],
  ['copy', 'y', 'z'],
  ['copy', 'y', 'z', 'replace', 'replace'],
  ['copy', 'y', 'z', 'db', '0'],
  ['copy', 'y', 'z', 'db', '16'],
  ['copy', 'y', 'z', 'db', '-1'],
  ['copy', 'y', 'z', 'db', 'abc'],
  ['copy', 'y', 'z', 'db', '9999999999'],
  ['copy', 'y', 'z', 'db'],
  ['copy', 'y', 'z', 'foo'],
  ['copy', 'missing', 'z2'],
  ['copy', 'missing', 'missing'],
  ['expire', 'k', '100', 'nx', 'xx'],
  ['expire', 'k', '100', 'gt', 'lt'],
  ['expire', 'k', '100', 'nx', 'gt'],
  ['expire', 'k', '100', 'foo'],
  ['expire', 'k', 'abc', 'foo'],
  ['expire', 'k', 'abc'],
  ['persist', 'k'],
  ['persist', 'k'],
  ['expire', 'k', '100', 'gt'],
  ['expire', 'k', '100', 'xx'],
  ['expire', 'k', '100', 'lt'],
  ['ttl', 'k'],
  ['expire', 'k', '50', 'gt'],
  ['expire', 'k', '200', 'gt'],
  ['expire', 'k', '300', 'lt'],
  ['expire', 'k', '100', 'nx'],
  ['expire', 'k', '100', 'xx', 'gt'],
  ['ttl', 'k'],
  ['expire', 'missing', '10'],
  ['expire', 'k', '9223372036854775807'],
  ['expire', 'k', '9223372036854775'],
  ['expire', 'k', '-9223372036854776'],
  ['pexpire', 'k', '9223372036854775807'],
  ['expireat', 'k', '9223372036854775807'],
  ['pexpireat', 'k', '99999999999999'],
  ['pexpiretime', 'k'],
  ['expiretime', 'k'],
  ['pexpire', 'k', '100000'],
  ['ttl', 'k'],
  ['expireat', 'k', '99999999999'],
  ['expiretime', 'k'],
  ['expire', 'k', '-1'],
  ['exists', 'k'],
  ['set', 'k', 'v'],
  ['expire', 'k', '0', 'xx'],
  ['exists', 'k'],
  ['expire', 'k', '-5', 'nx'],
  ['exists', 'k'],
  ['ttl', 'missing'],
  ['pttl', 'missing'],
  ['expiretime', 'missing'],
  ['pexpiretime', 'missing'],
  ['set', 'noexp', 'v'],
  ['ttl', 'noexp'],
  ['pttl', 'noexp'],
  ['expiretime', 'noexp'],
  ['set', 'short', 'v', 'px', '5'],
  ['set', 'short2', 'v', 'px', '5'],
  ['set', 'short3', 'v', 'px', '5'],
  ['!sleep', '30'],
  ['get', 'short'],
  ['set', 'short2', 'w'],
  ['del', 'short3'],
  ['scan', 'abc'],
  ['scan', '+'],
  ['scan', '5x'],
  ['scan', ' 1'],
  ['scan', '18446744073709551616'],
  ['scan', '0', 'count', '0'],
  ['scan', '0', 'count', '-1'],
  ['scan', '0', 'count', 'abc'],
  ['scan', '0', 'count', '9999999999999999999'],
  ['scan', '0', 'match'],
  ['scan', '0', 'foo', 'bar'],
  ['flushall-both'],
  ['set', 'only', 'v'],
  ['scan', '0', 'type', 'hash'],
  ['scan', '0'],
  ['scan', '', 'match', 'o*', 'count', '100', 'type', 'STRING'],
  ['keys', '*'],
  ['keys', 'o?ly'],
  ['keys', 'x*'],
  ['randomkey'],
  ['del', 'only'],
  ['randomkey'],
  ['keys', '*'],
  ['scan', '0'],
  ...hashScript,
  ...setScript,
  ...zsetScript,
  ...listScript,
]

/** A reply's types and lengths, with every string's bytes left out (for randomized replies). */
function respShape(buf: Buffer, offset = 0): [string, number] {
  const lineEnd = buf.indexOf('\r\n', offset)
  const type = String.fromCharCode(buf[offset] as number)
  const header = buf.toString('latin1', offset + 1, lineEnd)
  if ('$=!'.includes(type)) return [type, respValueEnd(buf, offset)]
  if (!'*%~|>'.includes(type)) return [`${type}${header}`, lineEnd + 2]
  let children = Number(header)
  if (type === '%' || type === '|') children *= 2
  const parts: string[] = []
  let next = lineEnd + 2
  for (let i = 0; i < children; i++) {
    const [part, after] = respShape(buf, next)
    parts.push(part)
    next = after
  }
  return [`${type}[${parts.join(',')}]`, next]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Random command sequences over a few keys and fields: hashes, strings and key commands. */
function commandArbitrary(): fc.Arbitrary<string[]> {
  const key = fc.constantFrom('k1', 'k2', 'k3')
  const field = fc.constantFrom('a', 'b', 'c', 'd')
  const value = fc.oneof(fc.constantFrom('1', '-7', '2.5', 'x', ''), fc.integer().map(String))
  const increment = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map(String), fc.constant('z'))
  const pairs = fc
    .array(fc.tuple(field, value), { minLength: 1, maxLength: 3 })
    .map((list) => list.flat())
  const fields = fc.array(field, { minLength: 1, maxLength: 3 })
  // Integer members only: Redis then keeps intsets, whose replies come in a defined order.
  const members = fc.array(fc.integer({ min: -3, max: 6 }).map(String), {
    minLength: 1,
    maxLength: 4,
  })
  const keys = fc.array(key, { minLength: 1, maxLength: 3 })
  const setCommands = fc.oneof(
    fc.tuple(key, members).map(([k, m]) => ['sadd', k, ...m]),
    fc.tuple(key, members).map(([k, m]) => ['srem', k, ...m]),
    fc.tuple(key, members).map(([k, m]) => ['smismember', k, ...m]),
    fc.tuple(fc.constantFrom('smembers', 'scard'), key),
    fc.tuple(fc.constantFrom('sinter', 'sunion', 'sdiff'), keys).map(([c, k]) => [c, ...k]),
    fc
      .tuple(fc.constantFrom('sinterstore', 'sunionstore', 'sdiffstore'), key, keys)
      .map(([c, d, k]) => [c, d, ...k]),
    fc.tuple(key, key, members).map(([a, b, m]) => ['smove', a, b, m[0] as string]),
    keys.map((k) => ['sintercard', String(k.length), ...k]),
    key.map((k) => ['sscan', k, '0']),
    key.map((k) => ['spop', k, '100']),
    key.map((k) => ['srandmember', k, '100']),
  )
  return fc.oneof(
    { arbitrary: setCommands, weight: 10 },
    { arbitrary: zsetCommandArbitrary(key, members), weight: 12 },
    { arbitrary: listCommandArbitrary(key, members), weight: 14 },
    fc.tuple(key, pairs).map(([k, p]) => ['hset', k, ...p]),
    fc.tuple(key, pairs).map(([k, p]) => ['hmset', k, ...p]),
    fc.tuple(key, field, value).map(([k, f, v]) => ['hsetnx', k, f, v]),
    fc.tuple(key, fields).map(([k, f]) => ['hdel', k, ...f]),
    fc.tuple(key, field, increment).map(([k, f, i]) => ['hincrby', k, f, i]),
    fc.tuple(key, field, increment).map(([k, f, i]) => ['hincrbyfloat', k, f, i]),
    fc.tuple(key, field).map(([k, f]) => ['hget', k, f]),
    fc.tuple(key, fields).map(([k, f]) => ['hmget', k, ...f]),
    fc.tuple(key, field).map(([k, f]) => ['hexists', k, f]),
    fc.tuple(key, field).map(([k, f]) => ['hstrlen', k, f]),
    fc.tuple(fc.constantFrom('hgetall', 'hkeys', 'hvals', 'hlen', 'type', 'exists', 'get'), key),
    key.map((k) => ['hrandfield', k, '10', 'withvalues']),
    key.map((k) => ['hscan', k, '0']),
    fc.tuple(key, value).map(([k, v]) => ['set', k, v]),
    key.map((k) => ['del', k]),
    fc.tuple(key, fc.constantFrom('1000', '0', '-1')).map(([k, s]) => ['expire', k, s]),
    key.map((k) => ['persist', k]),
    fc.tuple(key, key).map(([a, b]) => ['rename', a, b]),
    fc.tuple(key, key).map(([a, b]) => ['copy', a, b, 'replace']),
  )
}

/** List commands over the same keys: the same small values as the set members (so LREM, LPOS
 * and LINSERT find duplicates), indexes around the lists' lengths, both ends. */
function listCommandArbitrary(
  key: fc.Arbitrary<string>,
  members: fc.Arbitrary<string[]>,
): fc.Arbitrary<string[]> {
  const element = fc.integer({ min: -3, max: 6 }).map(String)
  const index = fc.integer({ min: -6, max: 6 }).map(String)
  const count = fc.constantFrom('0', '1', '2', '5', '-1', '-2')
  const side = fc.constantFrom('left', 'right')
  const lposOptions = fc.subarray(['rank', 'count', 'maxlen'], { maxLength: 3 })
  const lpos = fc
    .tuple(key, element, lposOptions, fc.constantFrom('1', '2', '-1', '-2', '0'))
    .map(([k, e, o, n]) => ['lpos', k, e, ...o.flatMap((name) => [name, n])])
  return fc.oneof(
    fc
      .tuple(fc.constantFrom('lpush', 'rpush', 'lpushx', 'rpushx'), key, members)
      .map(([c, k, m]) => [c, k, ...m]),
    fc.tuple(fc.constantFrom('lpop', 'rpop', 'llen'), key),
    fc.tuple(fc.constantFrom('lpop', 'rpop'), key, count).map(([c, k, n]) => [c, k, n]),
    fc.tuple(key, index, index).map(([k, a, z]) => ['lrange', k, a, z]),
    fc.tuple(key, index).map(([k, i]) => ['lindex', k, i]),
    fc.tuple(key, index, element).map(([k, i, e]) => ['lset', k, i, e]),
    fc.tuple(key, count, element).map(([k, n, e]) => ['lrem', k, n, e]),
    fc.tuple(key, index, index).map(([k, a, z]) => ['ltrim', k, a, z]),
    fc
      .tuple(key, fc.constantFrom('before', 'after'), element, element)
      .map(([k, w, p, e]) => ['linsert', k, w, p, e]),
    lpos,
    fc.tuple(key, key, side, side).map(([a, b, f, t]) => ['lmove', a, b, f, t]),
    fc.tuple(key, key).map(([a, b]) => ['rpoplpush', a, b]),
    fc
      .tuple(fc.array(key, { minLength: 1, maxLength: 3 }), side, fc.constantFrom('1', '2', '9'))
      .map(([ks, s, n]) => ['lmpop', String(ks.length), ...ks, s, 'count', n]),
  )
}

/** Sorted-set commands over the same keys: small integer and half scores, the same members as
 * the sets (so ZUNION/ZINTER meet set sources and WRONGTYPE meets both ways). */
function zsetCommandArbitrary(
  key: fc.Arbitrary<string>,
  members: fc.Arbitrary<string[]>,
): fc.Arbitrary<string[]> {
  const score = fc.oneof(
    fc.integer({ min: -5, max: 5 }).map(String),
    fc.constantFrom('1.5', '-0.5', '+inf', '-inf', 'x'),
  )
  const flags = fc.subarray(['nx', 'xx', 'gt', 'lt', 'ch'], { maxLength: 2 })
  const pairs = fc
    .array(fc.tuple(score, fc.integer({ min: -3, max: 6 }).map(String)), {
      minLength: 1,
      maxLength: 3,
    })
    .map((list) => list.flat())
  const bound = fc.constantFrom('-inf', '+inf', '0', '(1', '2', '(-2', '5')
  const rank = fc.integer({ min: -4, max: 4 }).map(String)
  const lex = fc.constantFrom('-', '+', '[1', '(2', '[5')
  const keys = fc.array(key, { minLength: 1, maxLength: 3 })
  const options = fc.subarray(['withscores', 'aggregate', 'weights'], { maxLength: 2 })
  const algebra = (name: string, ks: string[], opts: string[]): string[] => {
    const out = [name, String(ks.length), ...ks]
    if (opts.includes('weights')) out.push('weights', ...ks.map((_, i) => String(i - 1)))
    if (opts.includes('aggregate')) out.push('aggregate', 'max')
    if (opts.includes('withscores') && !name.endsWith('store')) out.push('withscores')
    return out
  }
  return fc.oneof(
    fc.tuple(key, flags, pairs).map(([k, f, p]) => ['zadd', k, ...f, ...p]),
    fc.tuple(key, score, members).map(([k, s, m]) => ['zincrby', k, s, m[0] as string]),
    fc.tuple(key, members).map(([k, m]) => ['zrem', k, ...m]),
    fc.tuple(key, members).map(([k, m]) => ['zmscore', k, ...m]),
    fc.tuple(key, members).map(([k, m]) => ['zscore', k, m[0] as string]),
    fc
      .tuple(fc.constantFrom('zrank', 'zrevrank'), key, members)
      .map(([c, k, m]) => [c, k, m[0] as string]),
    fc.tuple(fc.constantFrom('zcard', 'zpopmin', 'zpopmax'), key),
    fc.tuple(fc.constantFrom('zpopmin', 'zpopmax'), key, fc.constantFrom('0', '2', '9')),
    fc
      .tuple(key, rank, rank, fc.boolean())
      .map(([k, a, z, w]) => ['zrange', k, a, z, ...(w ? ['withscores'] : [])]),
    fc.tuple(key, rank, rank).map(([k, a, z]) => ['zrevrange', k, a, z, 'withscores']),
    fc.tuple(key, bound, bound).map(([k, a, z]) => ['zrangebyscore', k, a, z, 'withscores']),
    fc
      .tuple(key, bound, bound)
      .map(([k, a, z]) => ['zrevrangebyscore', k, a, z, 'limit', '1', '2']),
    fc.tuple(key, bound, bound).map(([k, a, z]) => ['zcount', k, a, z]),
    fc.tuple(key, lex, lex).map(([k, a, z]) => ['zrangebylex', k, a, z]),
    fc.tuple(key, lex, lex).map(([k, a, z]) => ['zlexcount', k, a, z]),
    fc.tuple(key, key, bound, bound).map(([d, k, a, z]) => ['zrangestore', d, k, a, z, 'byscore']),
    fc.tuple(key, rank, rank).map(([k, a, z]) => ['zremrangebyrank', k, a, z]),
    fc.tuple(key, bound, bound).map(([k, a, z]) => ['zremrangebyscore', k, a, z]),
    fc
      .tuple(fc.constantFrom('zunion', 'zinter', 'zdiff'), keys, options)
      .map(([c, k, o]) => algebra(c, k, c === 'zdiff' ? o.filter((x) => x === 'withscores') : o)),
    fc
      .tuple(fc.constantFrom('zunionstore', 'zinterstore', 'zdiffstore'), key, keys, options)
      .map(([c, d, k, o]) => [c, d, ...algebra(c, k, c === 'zdiffstore' ? [] : o).slice(1)]),
    key.map((k) => ['zscan', k, '0']),
  )
}

describe(
  'differential: our string and key commands against redis-server',
  { skip: !hasRedisServer },
  () => {
    let redis: TestServer
    let port = 0

    before(async () => {
      redis = await startRedisServer()
      port = redis.port
    })

    after(() => redis.stop())

    test('every spec has the arity, flags, key positions and docs of COMMAND INFO/DOCS', async () => {
      const client = new RawClient(port)
      try {
        for (const spec of [
          ...stringCommands,
          ...keyCommands,
          ...hashCommands,
          ...setCommands,
          ...zsetCommands,
          ...listCommands,
        ]) {
          const infoReply = await client.call([
            Buffer.from('command'),
            Buffer.from('info'),
            Buffer.from(spec.name),
          ])
          const info = (decodeResp(infoReply)[0] as RespValue[])[0] as RespValue[]
          assert.deepEqual(
            [spec.name, spec.arity, spec.flags, spec.firstKey, spec.lastKey, spec.keyStep],
            info.slice(0, 6),
            spec.name,
          )
          const docsReply = await client.call([
            Buffer.from('command'),
            Buffer.from('docs'),
            Buffer.from(spec.name),
          ])
          const docs = (decodeResp(docsReply)[0] as RespValue[])[1] as RespValue[]
          const field = (name: string): RespValue => docs[docs.indexOf(name) + 1] as RespValue
          assert.deepEqual(
            [spec.summary, spec.since, spec.group, spec.complexity],
            [field('summary'), field('since'), field('group'), field('complexity')],
            spec.name,
          )
        }
      } finally {
        client.close()
      }
    })

    test('fast-check: random hash/set/key command sequences give the same bytes', async () => {
      const client = new RawClient(port)
      const seed = Number(process.env.SEED ?? 20261205)
      let compared = 0
      let comparedZset = 0
      let comparedList = 0
      try {
        for (const protocol of [2, 3] as const) {
          await client.call([Buffer.from('hello'), Buffer.from(String(protocol))])
          const property = fc.asyncProperty(
            fc.array(commandArbitrary(), { minLength: 5, maxLength: 60 }),
            async (commands) => {
              await client.call([Buffer.from('flushall')])
              const local = new LocalServer()
              for (const command of commands) {
                const args = command.map((arg) => Buffer.from(arg))
                const expected = (await client.call(args)).toString('latin1')
                const actual = local.call(args, protocol).toString('latin1')
                compared++
                if (command[0]?.startsWith('z') === true) comparedZset++
                if (listCommandNames.has(command[0] ?? '')) comparedList++
                assert.equal(actual, expected, `RESP${protocol}: ${command.join(' ')}`)
              }
            },
          )
          await fc.assert(property, { numRuns: 150, seed: seed + protocol })
        }
      } finally {
        client.close()
      }
      console.log(
        `fast-check differential: ${compared} commands compared, ${comparedZset} of them ` +
          `sorted-set commands, ${comparedList} list commands (seed ${seed})`,
      )
    })

    for (const protocol of [2, 3] as const) {
      test(`the same bytes for every step in RESP${protocol}`, async () => {
        const client = new RawClient(port)
        const local = new LocalServer()
        const command = (...args: string[]): Promise<Buffer> =>
          client.call(args.map((arg) => Buffer.from(arg)))
        try {
          await command('hello', String(protocol))
          await command('flushall')
          await command('config', 'resetstat')
          const mismatches: string[] = []
          for (const step of script) {
            const name = String(step[0])
            if (name === '!sleep') {
              await sleep(Number(step[1]))
              continue
            }
            if (name === 'flushall-both') {
              await command('flushall')
              local.keyspace.flush()
              continue
            }
            const shapeOnly = name.startsWith('~')
            const args = step.map((arg) => (typeof arg === 'string' ? Buffer.from(arg) : arg))
            if (shapeOnly) args[0] = Buffer.from(name.slice(1))
            const expected = await client.call(args)
            const actual = local.call(args, protocol)
            const same = shapeOnly
              ? respShape(actual)[0] === respShape(expected)[0]
              : actual.equals(expected)
            if (!same) {
              mismatches.push(
                `${step.map(String).join(' ')}\n  redis: ${JSON.stringify(expected.toString('latin1'))}` +
                  `\n  ours:  ${JSON.stringify(actual.toString('latin1'))}`,
              )
            }
          }
          assert.deepEqual(mismatches, [])
          const info = (await command('info', 'stats')).toString()
          const stat = (name: string): number =>
            Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1])
          const stats = local.keyspace.stats()
          assert.equal(stats.keyspaceHits, stat('keyspace_hits'), 'keyspace_hits')
          assert.equal(stats.keyspaceMisses, stat('keyspace_misses'), 'keyspace_misses')
          assert.equal(stats.expiredKeys, stat('expired_keys'), 'expired_keys')
        } finally {
          client.close()
        }
      })
    }
  },
)

// Transactions: several clients (the step's first element picks one) against one redis-server
// and one keyspace behind the real dispatcher and command table; '!sleep ms' waits on both sides,
// '!flags n' compares client n's flags= and multi= fields in CLIENT LIST ID (asked by the other
// client: client n's own CLIENT INFO would be queued while it is in MULTI).

type TxStep = readonly [client: number | '!sleep' | '!flags', ...args: Array<string | number>]

const txScript: TxStep[] = [
  [0, 'multi'],
  [0, 'set', 'k', '1'],
  [0, 'incr', 'k'],
  [0, 'get', 'k'],
  ['!flags', 0],
  [0, 'exec'],
  [0, 'exec'],
  [0, 'discard'],
  [0, 'multi'],
  [0, 'multi'],
  [0, 'watch', 'k'],
  [0, 'set', 'k', 'v'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'set', 'k'],
  [0, 'get', 'k'],
  [0, 'exec'],
  [0, 'get', 'k'],
  [0, 'multi'],
  [0, 'nope', 'x'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'client', 'nope'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'watch'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'shutdown'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'set', 'k', 'abc'],
  [0, 'incr', 'k'],
  [0, 'mset', 'a', '1', 'b'],
  [0, 'get', 'k'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'discard'],
  [0, 'discard'],
  [0, 'watch', 'k'],
  [1, 'set', 'k', '2'],
  ['!flags', 0],
  [0, 'watch', 'k'],
  [0, 'multi'],
  [0, 'get', 'k'],
  ['!flags', 0],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [0, 'set', 'k', '3'],
  [0, 'multi'],
  [0, 'get', 'k'],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [1, 'get', 'k'],
  [1, 'set', 'other', '1'],
  [0, 'multi'],
  [0, 'get', 'k'],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [1, 'set', 'k', '4'],
  [0, 'unwatch'],
  [0, 'multi'],
  [0, 'get', 'k'],
  [0, 'exec'],
  [0, 'watch', 'k', 'x'],
  [1, 'del', 'x'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [1, 'expire', 'k', '100'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [1, 'persist', 'k'],
  [0, 'multi'],
  [0, 'ttl', 'k'],
  [0, 'exec'],
  [0, 'watch', 'k'],
  [1, 'persist', 'k'],
  [0, 'multi'],
  [0, 'ttl', 'k'],
  [0, 'exec'],
  [1, 'set', 'src', '1'],
  [0, 'watch', 'dst'],
  [1, 'rename', 'src', 'dst'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'dst'],
  [1, 'copy', 'dst', 'c2'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'c2'],
  [1, 'copy', 'dst', 'c2', 'replace'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'absent'],
  [1, 'flushall'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [1, 'set', 'p', '1'],
  [0, 'watch', 'p'],
  [1, 'flushdb'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [1, 'set', 'e', 'v', 'px', '50'],
  [0, 'watch', 'e'],
  ['!sleep', '100'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [1, 'set', 'e', 'v', 'px', '50'],
  [0, 'watch', 'e'],
  ['!sleep', '100'],
  [1, 'get', 'e'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [1, 'set', 'e', 'v', 'px', '50'],
  ['!sleep', '100'],
  [0, 'watch', 'e'],
  [1, 'get', 'e'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [1, 'set', 'e', 'v', 'px', '50'],
  ['!sleep', '100'],
  [0, 'watch', 'e'],
  [1, 'set', 'e', 'x'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  [0, 'watch', 'w'],
  [0, 'multi'],
  [0, 'set', 'w', '1'],
  [0, 'reset'],
  [0, 'exec'],
  [1, 'set', 'w', '2'],
  [0, 'multi'],
  [0, 'get', 'w'],
  [0, 'exec'],
  // Hashes and sets under WATCH: a field written by another client aborts EXEC...
  [0, 'hset', 'h', 'f', '1'],
  [0, 'watch', 'h'],
  [1, 'hset', 'h', 'f', '2'],
  [0, 'multi'],
  [0, 'hget', 'h', 'f'],
  [0, 'exec'],
  // ...a removal of nothing does not, a hash emptied (and so removed) does.
  [0, 'watch', 'h'],
  [1, 'hdel', 'h', 'missing'],
  [0, 'multi'],
  [0, 'hget', 'h', 'f'],
  [0, 'exec'],
  [0, 'watch', 'h'],
  [1, 'hdel', 'h', 'f'],
  [0, 'multi'],
  [0, 'hlen', 'h'],
  [0, 'exec'],
  [0, 'watch', 's'],
  [1, 'sadd', 's', '1', '2'],
  [0, 'multi'],
  [0, 'scard', 's'],
  [0, 'exec'],
  // SADD of a member already there and SREM of an absent one modify nothing.
  [0, 'watch', 's'],
  [1, 'sadd', 's', '1'],
  [1, 'srem', 's', '9'],
  [0, 'multi'],
  [0, 'scard', 's'],
  [0, 'exec'],
  [0, 'watch', 'd'],
  [1, 'smove', 's', 'd', '1'],
  [0, 'multi'],
  [0, 'smembers', 'd'],
  [0, 'exec'],
  [0, 'watch', 'st'],
  [1, 'sunionstore', 'st', 's', 'd'],
  [0, 'multi'],
  [0, 'scard', 'st'],
  [0, 'exec'],
  [1, 'hset', 'eh', 'f', 'v'],
  [1, 'pexpire', 'eh', '50'],
  [0, 'watch', 'eh'],
  ['!sleep', '100'],
  [0, 'multi'],
  [0, 'ping'],
  [0, 'exec'],
  // HSET and SADD queued in a transaction; a WRONGTYPE inside EXEC does not stop the rest.
  [0, 'multi'],
  [0, 'hset', 'm', 'a', '1', 'b', '2'],
  [0, 'sadd', 'ms', '3', '1', '2', '1'],
  [0, 'hgetall', 'm'],
  [0, 'smembers', 'ms'],
  [0, 'exec'],
  [0, 'multi'],
  [0, 'set', 'str', 'v'],
  [0, 'hset', 'str', 'f', 'v'],
  [0, 'sadd', 'ms', '0'],
  [0, 'hincrby', 'm', 'a', '5'],
  [0, 'exec'],
  [0, 'smembers', 'ms'],
  [0, 'hgetall', 'm'],
  // Sorted sets under WATCH: a score changed by another client aborts EXEC...
  [0, 'zadd', 'z', '1', 'a', '2', 'b', '3', 'c'],
  [0, 'watch', 'z'],
  [1, 'zadd', 'z', '5', 'a'],
  [0, 'multi'],
  [0, 'zscore', 'z', 'a'],
  [0, 'exec'],
  // ...the same score, a NX on a member there and a ZREM of nothing modify nothing...
  [0, 'watch', 'z'],
  [1, 'zadd', 'z', '5', 'a'],
  [1, 'zadd', 'z', 'nx', '9', 'b'],
  [1, 'zrem', 'z', 'missing'],
  [1, 'zincrby', 'z', '0', 'c'],
  [0, 'multi'],
  [0, 'zrange', 'z', '0', '-1', 'withscores'],
  [0, 'exec'],
  // ...ZINCRBY, a pop, a range removal, a store and a zset emptied do.
  [0, 'watch', 'z'],
  [1, 'zincrby', 'z', '1', 'c'],
  [0, 'multi'],
  [0, 'zcard', 'z'],
  [0, 'exec'],
  [0, 'watch', 'z'],
  [1, 'zpopmin', 'z'],
  [0, 'multi'],
  [0, 'zcard', 'z'],
  [0, 'exec'],
  [0, 'watch', 'z'],
  [1, 'zremrangebyscore', 'z', '-inf', '(4'],
  [0, 'multi'],
  [0, 'zcard', 'z'],
  [0, 'exec'],
  [0, 'watch', 'zs'],
  [1, 'zunionstore', 'zs', '1', 'z'],
  [0, 'multi'],
  [0, 'zrange', 'zs', '0', '-1'],
  [0, 'exec'],
  [0, 'watch', 'zr'],
  [1, 'zrangestore', 'zr', 'z', '0', '-1'],
  [0, 'multi'],
  [0, 'zcard', 'zr'],
  [0, 'exec'],
  [0, 'watch', 'z'],
  [1, 'zrem', 'z', 'a', 'c', 'missing'],
  [0, 'multi'],
  [0, 'exists', 'z'],
  [0, 'exec'],
  // ZADD and ZINCRBY queued in a transaction; a WRONGTYPE inside EXEC does not stop the rest.
  [0, 'multi'],
  [0, 'zadd', 'mz', '3', 'c', '1', 'a', '2', 'b'],
  [0, 'zincrby', 'mz', '10', 'a'],
  [0, 'zadd', 'str', '1', 'x'],
  [0, 'zpopmax', 'mz', '2'],
  [0, 'zrange', 'mz', '0', '-1', 'withscores'],
  [0, 'exec'],
  [0, 'zrange', 'mz', '0', '-1', 'withscores'],
]

/** The CLIENT INFO fields a transaction changes. */
function txFields(clientInfo: Buffer): string {
  const text = clientInfo.toString('latin1')
  return [/ flags=\S+/, / multi=\S+/].map((field) => field.exec(text)?.[0] ?? '').join('')
}

/** Our side: clients of one keyspace (memory engine, real clock) behind the real dispatcher. */
class LocalClients {
  readonly #clock = { monotonicMs: () => performance.now(), wallMs: () => Date.now() }
  readonly #keyspace = createKeyspace({
    engine: new MemoryEngine(),
    clock: this.#clock,
    timers: noTimers,
    rng: createRng(3),
  })
  readonly #dispatcher = createDispatcher(commandTable)
  readonly #host = new FakeHost()
  readonly #contexts: CommandContext[] = []

  constructor(count: number, protocol: ProtocolVersion) {
    for (let id = 1; id <= count; id++) {
      const client = makeSession(id, { protocol })
      this.#host.sessions.push(client)
      this.#contexts.push({
        keyspace: this.#keyspace,
        clock: this.#clock,
        rng: createRng(5),
        reply: createReplyWriter(protocol),
        client,
        host: this.#host,
      })
    }
  }

  call(index: number, args: readonly Buffer[]): Buffer {
    const ctx = this.#contexts[index]
    assert.ok(ctx !== undefined)
    this.#dispatcher.execute(ctx, args)
    const bytes = ctx.reply.take()
    assert.ok(bytes !== null, `${args.join(' ')} wrote a reply`)
    return bytes
  }
}

describe('differential: transactions against redis-server', { skip: !hasRedisServer }, () => {
  let redis: TestServer
  let port = 0

  before(async () => {
    redis = await startRedisServer()
    port = redis.port
  })

  after(() => redis.stop())

  test('MULTI EXEC DISCARD WATCH UNWATCH have the arity, flags, keys and docs of COMMAND', async () => {
    const client = new RawClient(port)
    try {
      for (const spec of transactionCommands) {
        const info = await client.call(
          ['command', 'info', spec.name].map((arg) => Buffer.from(arg)),
        )
        const row = (decodeResp(info)[0] as RespValue[])[0] as RespValue[]
        const ours = new LocalClients(1, 2).call(
          0,
          ['command', 'info', spec.name].map((arg) => Buffer.from(arg)),
        )
        assert.deepEqual(decodeResp(ours)[0], decodeResp(info)[0], spec.name)
        assert.equal(row[0], spec.name)
        const docs = await client.call(
          ['command', 'docs', spec.name].map((arg) => Buffer.from(arg)),
        )
        const ourDocs = new LocalClients(1, 2).call(
          0,
          ['command', 'docs', spec.name].map((arg) => Buffer.from(arg)),
        )
        assert.deepEqual(decodeResp(ourDocs)[0], decodeResp(docs)[0], spec.name)
      }
    } finally {
      client.close()
    }
  })

  for (const protocol of [2, 3] as const) {
    test(`the same bytes for every transaction step in RESP${protocol}`, async () => {
      const clients = [new RawClient(port), new RawClient(port)]
      const local = new LocalClients(clients.length, protocol)
      try {
        for (const client of clients)
          await client.call([Buffer.from('hello'), Buffer.from(String(protocol))])
        await clients[0]?.call([Buffer.from('flushall')])
        const mismatches: string[] = []
        let compared = 0
        const redisIds: string[] = []
        for (const client of clients) {
          redisIds.push(
            decodeResp(await client.call([Buffer.from('client'), Buffer.from('id')]))[0] as never,
          )
        }
        for (const [who, ...rest] of txScript) {
          if (who === '!sleep') {
            await sleep(Number(rest[0]))
            continue
          }
          const target = Number(rest[0])
          const index = who === '!flags' ? 1 - target : who
          const args = rest.map((arg) => Buffer.from(String(arg)))
          const redisClient = clients[index]
          assert.ok(redisClient !== undefined)
          let expected: Buffer
          let actual: Buffer
          if (who === '!flags') {
            const list = (id: string | number): Buffer[] =>
              ['client', 'list', 'id', String(id)].map((arg) => Buffer.from(arg))
            expected = Buffer.from(txFields(await redisClient.call(list(String(redisIds[target])))))
            actual = Buffer.from(txFields(local.call(index, list(target + 1))))
            assert.match(expected.toString(), /^ flags=\S+ multi=-?\d+$/)
          } else {
            expected = await redisClient.call(args)
            actual = local.call(index, args)
          }
          compared++
          if (!actual.equals(expected)) {
            mismatches.push(
              `${String(who)}: ${rest.join(' ')}\n  redis: ${JSON.stringify(expected.toString('latin1'))}` +
                `\n  ours:  ${JSON.stringify(actual.toString('latin1'))}`,
            )
          }
        }
        assert.deepEqual(mismatches, [])
        assert.ok(compared > 100, `compared ${compared} replies`)
      } finally {
        for (const client of clients) client.close()
      }
    })
  }
})
