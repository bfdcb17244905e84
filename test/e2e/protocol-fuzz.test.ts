/* End to end: seeded protocol fuzzing of ONE real server process. Bad connections send random and
 * malformed byte streams at random split points while one well-behaved connection pipelines
 * SET/GET/INCR/ECHO/PING and checks every reply byte. Invariant: a bad client gets exactly the
 * replies its complete commands earn, then either `-ERR Protocol error: ...` and a close or goes
 * on being served; it never crashes the server, desynchronises another client or grows its
 * memory. Why: the parser and connection code face the network. SEED=n reproduces a run. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { CaskadeError } from '../../src/core/errors.js'
import { limits } from '../../src/core/limits.js'
import { commandTable } from '../../src/commands/registry.js'
import { RespParser } from '../../src/protocol/resp-parser.js'
import { removeDir, startServerProcess, type ServerProcess } from '../helpers/server-process.js'

const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 0x7fffffff))
const numRuns = Number(process.env.FUZZ_RUNS ?? 100)
/** The server's RSS may grow by at most this much over the whole fuzz run. */
const rssGrowthBytesMax = 100 * 1024 * 1024
/** While every bad connection of a run is still open (some hold half-sent 500 MB bulks), the
 * server's Buffers may hold at most this much more than before: only bytes it really got. */
const arrayBufferGrowthBytesMax = 64 * 1024 * 1024
/** How long a connection may take to show the expected outcome before the run fails. */
const outcomeTimeoutMs = 8_000
/** After the expected replies arrive, how long an open connection is watched for extras. */
const settleMs = 25
/** Redis's PROTO_MBULK_BIG_ARG: args this long take the parser's gathering path. */
const bigArgBytesMin = 32 * 1024
const bigArgBytesMax = 40 * 1024

const crlf = Buffer.from('\r\n')
const int64Max = 2n ** 63n - 1n
const int64Min = -(2n ** 63n)

// ---------------------------------------------------------------- RESP helpers

function encodeCommand(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, crlf)
  return Buffer.concat(parts)
}

function bulkReply(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, crlf])
}

/** End of the RESP2 reply starting at `offset`, or -1 if it is not all here; throws if the
 * bytes are not a well-formed reply (the server desynchronised or wrote garbage). */
function replyEnd(buf: Buffer, offset: number): number {
  if (offset >= buf.length) return -1
  const lineEnd = buf.indexOf(crlf, offset)
  if (lineEnd === -1) return -1
  const kind = String.fromCharCode(buf[offset] as number)
  const header = buf.toString('latin1', offset + 1, lineEnd)
  const next = lineEnd + 2
  if (kind === '+' || kind === '-') return next
  if (kind === ':') {
    assert.match(header, /^-?\d+$/, `integer reply at ${offset}`)
    return next
  }
  const count = Number(header)
  assert.ok(/^(-1|0|[1-9]\d*)$/.test(header), `length of '${kind}' reply at ${offset}: ${header}`)
  if (kind === '$') {
    if (count === -1) return next
    if (buf.length < next + count + 2) return -1
    assert.ok(buf[next + count] === 0x0d && buf[next + count + 1] === 0x0a, `bulk end at ${next}`)
    return next + count + 2
  }
  assert.equal(kind, '*', `reply type byte at ${offset}: ${JSON.stringify(kind)}`)
  let at = next
  for (let index = 0; index < count; index++) {
    at = replyEnd(buf, at)
    if (at === -1) return -1
  }
  return at
}

/** Splits a received byte stream into whole replies; `rest` counts the bytes of a partial one. */
function splitReplies(buf: Buffer): { replies: Buffer[]; rest: number } {
  const replies: Buffer[] = []
  let offset = 0
  for (;;) {
    const end = replyEnd(buf, offset)
    if (end === -1) return { replies, rest: buf.length - offset }
    replies.push(buf.subarray(offset, end))
    offset = end
  }
}

function show(bytes: Buffer, max = 160): string {
  const text = JSON.stringify(bytes.subarray(0, max).toString('latin1'))
  return bytes.length > max ? `${text}... (${bytes.length} bytes)` : text
}

// ---------------------------------------------------------------- the oracle for bad streams

interface Outcome {
  /** The commands the server must run, in order (copies). */
  commands: Buffer[][]
  /** The protocol error the server must answer with before closing, or null. */
  protocolError: string | null
  /** True when the stream ends between commands, so a PING after it must be answered. */
  atBoundary: boolean
}

/**
 * What the server must do with `stream`, from the parser the server uses, fed in one piece. The
 * server gets the bytes in arbitrary TCP pieces, so this checks that the connection's outcome
 * never depends on how the stream was split. (The generators avoid the one split-dependent case
 * Redis also has: a `*`/`$` header line whose CR arrives after more than 64 KB.)
 */
function predictOutcome(stream: Buffer): Outcome {
  const parser = new RespParser({
    bulkBytesMax: limits.bulkBytesMax,
    multibulkLengthMax: limits.multibulkLengthMax,
    inlineBytesMax: limits.inlineBytesMax,
  })
  parser.feed(stream)
  const commands: Buffer[][] = []
  try {
    for (let command = parser.next(); command !== null; command = parser.next()) {
      commands.push(command.args.map((arg) => Buffer.from(arg)))
    }
  } catch (error) {
    if (!(error instanceof CaskadeError)) throw error
    return { commands, protocolError: error.message, atBoundary: false }
  }
  return { commands, protocolError: null, atBoundary: parser.bufferedBytes() === 0 }
}

/** Known commands a bad stream may run: one reply each, no effect on the connection. */
const harmlessCommands = new Set(['get', 'strlen', 'exists', 'ttl', 'pttl', 'type', 'dbsize'])

type Expectation = { exact: Buffer } | { errorPrefix: string } | { anyReply: true }

/** The reply `args` must get, or null when the command could change the connection (QUIT,
 * HELLO, SUBSCRIBE...) or the data the valid connection checks: such streams are not run. */
function expectedReply(args: readonly Buffer[]): Expectation | null {
  const name = (args[0] as Buffer).toString('latin1').toLowerCase()
  if (!commandTable.has(name)) return { errorPrefix: "-ERR unknown command '" }
  const arityError = {
    exact: Buffer.from(`-ERR wrong number of arguments for '${name}' command\r\n`),
  }
  if (name === 'ping') {
    if (args.length === 1) return { exact: Buffer.from('+PONG\r\n') }
    return args.length === 2 ? { exact: bulkReply(args[1] as Buffer) } : arityError
  }
  if (name === 'echo')
    return args.length === 2 ? { exact: bulkReply(args[1] as Buffer) } : arityError
  return harmlessCommands.has(name) ? { anyReply: true } : null
}

function matchesExpectation(reply: Buffer, expectation: Expectation): boolean {
  if ('exact' in expectation) return reply.equals(expectation.exact)
  if ('errorPrefix' in expectation) {
    return reply.toString('latin1').startsWith(expectation.errorPrefix)
  }
  return true
}

// ---------------------------------------------------------------- generators

/** Deterministic filler for big args (a fast-check array of 40 KB would be slow to draw). */
function filledBytes(length: number, fillSeed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length)
  let state = fillSeed | 1
  for (let index = 0; index < length; index++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    bytes[index] = state & 0xff
  }
  return bytes
}

const binaryArb = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes))
const bigArgArb = fc
  .tuple(fc.integer({ min: bigArgBytesMin, max: bigArgBytesMax }), fc.integer())
  .map(([length, fillSeed]) => filledBytes(length, fillSeed))
const argArb = fc.oneof(
  { weight: 30, arbitrary: binaryArb(48) },
  { weight: 1, arbitrary: bigArgArb },
)
const commandNameArb = fc.oneof(
  fc.constantFrom('ECHO', 'echo', 'eChO', 'PING', 'ping', 'PiNg').map((name) => Buffer.from(name)),
  fc.nat().map((n) => Buffer.from(`xq-${n.toString(36)}`)),
  binaryArb(6),
)
const validFrameArb = fc
  .tuple(commandNameArb, fc.array(argArb, { maxLength: 3 }))
  .map(([name, args]) => encodeCommand([name, ...args]))

const plainTokenArb = fc
  .array(fc.constantFrom(...'abcXYZ0129-_:.$*\\@'.split('')), { minLength: 1, maxLength: 10 })
  .map((chars) => chars.join(''))
const doubleQuotedArb = fc
  .array(fc.constantFrom('a', 'Z', '0', ' ', '\\n', '\\t', '\\x41', '\\xfF', '\\"', '\\\\', "'"), {
    maxLength: 8,
  })
  .map((parts) => `"${parts.join('')}"`)
const singleQuotedArb = fc
  .array(fc.constantFrom('a', '0', ' ', "\\'", '"', '\\n'), { maxLength: 8 })
  .map((parts) => `'${parts.join('')}'`)
const inlineArgArb = fc.tuple(
  fc.constantFrom(' ', '  ', '\t', ' \t '),
  fc.oneof(plainTokenArb, doubleQuotedArb, singleQuotedArb),
)
/** A well-formed inline command line (quotes balanced), as redis-cli or telnet would send. */
const inlineLineArb = fc
  .tuple(
    fc.constantFrom('', ' '),
    fc.constantFrom('ECHO', 'PING', 'ping', 'xq-inline'),
    fc.array(inlineArgArb, { maxLength: 3 }),
    fc.constantFrom('', ' '),
    fc.constantFrom('\r\n', '\n'),
  )
  .map(([lead, name, args, trail, end]) => {
    const text = lead + name + args.map(([blank, arg]) => blank + arg).join('') + trail + end
    return Buffer.from(text, 'latin1')
  })
const skippedArb = fc
  .constantFrom('\r\n', '\n', '*0\r\n', '*-1\r\n', ' \r\n', '\t\n')
  .map((text) => Buffer.from(text))

/** Segments that leave the parser between commands. */
const cleanSegmentArb = fc.oneof(
  { weight: 6, arbitrary: validFrameArb },
  { weight: 3, arbitrary: inlineLineArb },
  { weight: 1, arbitrary: skippedArb },
)

const randomBytesArb = fc.uint8Array({ minLength: 1, maxLength: 1500 }).map((b) => Buffer.from(b))
/** Random text over the bytes the parser branches on. */
const soupArb = fc
  .array(fc.constantFrom(...'*$\r\n0123456789-+ "\'\\x\t\0a'.split('')), {
    minLength: 1,
    maxLength: 300,
  })
  .map((chars) => Buffer.from(chars.join(''), 'latin1'))
const truncatedFrameArb = validFrameArb.chain((frame) =>
  fc.integer({ min: 1, max: frame.length - 1 }).map((cut) => frame.subarray(0, cut)),
)
const editArb = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 2 }))
/** A valid frame with bytes replaced, inserted or deleted. */
const garbledFrameArb = fc
  .tuple(validFrameArb, fc.array(editArb, { minLength: 1, maxLength: 3 }))
  .map(([frame, edits]) => {
    const bytes = [...frame]
    for (const [position, byte, kind] of edits) {
      const at = position % (bytes.length + 1)
      if (kind === 0 && at < bytes.length) bytes[at] = byte
      else if (kind === 1) bytes.splice(at, 0, byte)
      else bytes.splice(at, 1)
    }
    return Buffer.from(bytes)
  })
const weirdNumberArb = fc.constantFrom(
  ...['', '-', '+1', '01', ' 1', '1 ', 'x', '1x', '-0', '-2', '0x10', '1.5', '\t3'],
  ...['99999999999999999999', '9223372036854775807', '9223372036854775808'],
  ...['-9223372036854775808', '2147483648', '1073741825', '1073741824'],
)
/** A `*` or `$` header whose number Redis rejects (or, for `*`, skips), then random bytes. */
const badHeaderArb = fc
  .tuple(fc.boolean(), weirdNumberArb, binaryArb(24))
  .map(([multibulk, weird, tail]) => {
    const head = multibulk ? `*${weird}\r\n` : `*2\r\n$4\r\nECHO\r\n$${weird}\r\n`
    return Buffer.concat([Buffer.from(head, 'latin1'), tail])
  })
/** Declared lengths up to the limits (and one past), of which only a little is ever sent. */
const hugeBulkArb = fc
  .tuple(
    fc.constantFrom(2, 1_000_000, limits.multibulkLengthMax),
    fc.constantFrom(limits.bulkBytesMax, limits.bulkBytesMax + 1, 400_000_000, 100_000_000),
    fc.integer({ min: 0, max: bigArgBytesMax }),
    fc.integer(),
  )
  .map(([count, length, sentBytes, fillSeed]) => {
    const head = Buffer.from(`*${count}\r\n$4\r\nECHO\r\n$${length}\r\n`)
    return Buffer.concat([head, filledBytes(sentBytes, fillSeed)])
  })
/** A huge multibulk count followed by thousands of small args that never complete it. */
const manyArgsArb = fc
  .tuple(fc.constantFrom(1_000_000, 500_000_000), fc.integer({ min: 0, max: 3000 }))
  .map(([count, argCount]) => Buffer.from(`*${count}\r\n` + '$1\r\na\r\n'.repeat(argCount)))
const badInlineArb = fc
  .tuple(
    fc.constantFrom('ECHO', 'SET', 'xq'),
    fc.constantFrom('"abc', "'abc", '"a"b', "'a'b", '"a\\', '"\\x4', 'ok "x', "x 'y", '"a" "b"c'),
    fc.constantFrom('\r\n', '\n'),
  )
  .map(([name, unbalanced, end]) => Buffer.from(`${name} ${unbalanced}${end}`))
/** Lines around the 64 KB inline limit; header lines past it never get their CR (that case is
 * split-dependent in Redis too: see predictOutcome). */
const longLineArb = fc
  .tuple(
    fc.constantFrom('ECHO ', 'xq ', '*', '*1\r\n$'),
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom('', '\r', '\n', '\r\n'),
  )
  .map(([head, delta, end]) => {
    if (head.startsWith('*')) {
      return Buffer.from(head + '1'.repeat(limits.inlineBytesMax + 1 + Math.abs(delta)))
    }
    return Buffer.from(head + 'a'.repeat(limits.inlineBytesMax + delta - head.length) + end)
  })

/** A segment after which the parser may be anywhere: only ever the last of a stream. */
const dirtySegmentArb = fc.oneof(
  { weight: 3, arbitrary: randomBytesArb },
  { weight: 3, arbitrary: soupArb },
  { weight: 3, arbitrary: truncatedFrameArb },
  { weight: 3, arbitrary: garbledFrameArb },
  { weight: 2, arbitrary: badHeaderArb },
  { weight: 1, arbitrary: hugeBulkArb },
  { weight: 1, arbitrary: manyArgsArb },
  { weight: 2, arbitrary: badInlineArb },
  { weight: 1, arbitrary: longLineArb },
)

/** How the client paces its writes: -1 writes on, 0 yields a turn, n > 0 waits n ms. */
const chunkingArb = (maxChunks: number): fc.Arbitrary<{ cuts: number[]; pauses: number[] }> =>
  fc.record({
    cuts: fc.array(fc.nat(), { maxLength: maxChunks, size: 'max' }),
    pauses: fc.array(fc.constantFrom(-1, 0, 0, 1, 2), { maxLength: maxChunks, size: 'max' }),
  })

interface BadScript {
  stream: Buffer
  cuts: number[]
  pauses: number[]
  /** The client drops the connection right after writing, mid-command or not. */
  abort: boolean
  outcome: Outcome
}

const badScriptArb: fc.Arbitrary<BadScript> = fc
  .record({
    clean: fc.array(cleanSegmentArb, { maxLength: 12, size: 'medium' }),
    dirty: fc.option(dirtySegmentArb, { nil: null, freq: 5 }),
    chunking: chunkingArb(24),
    abort: fc.nat({ max: 9 }).map((n) => n === 0),
  })
  .map(({ clean, dirty, chunking, abort }) => {
    const stream = Buffer.concat(dirty === null ? clean : [...clean, dirty])
    return { stream, ...chunking, abort, outcome: predictOutcome(stream) }
  })
  .filter((script) => script.outcome.commands.every((args) => expectedReply(args) !== null))

// ---------------------------------------------------------------- the well-behaved client's model

type ValidOp =
  | { kind: 'set'; key: number; value: Buffer }
  | { kind: 'get'; key: number }
  | { kind: 'incr'; key: number }
  | { kind: 'echo'; value: Buffer }
  | { kind: 'ping' }

const keyArb = fc.integer({ min: 0, max: 5 })
const integerTextArb = fc
  .oneof(
    fc.bigInt({ min: int64Min, max: int64Max }).map(String),
    fc.constantFrom(int64Max, int64Max - 1n, int64Min, int64Min + 1n, -1n, 0n, 41n).map(String),
    fc.constantFrom('007', '+5', ' 5', '5 ', '-0', '9223372036854775808', '1e3', '0x10', ''),
  )
  .map((text) => Buffer.from(text))
const valueArb = fc.oneof(
  { weight: 8, arbitrary: binaryArb(64) },
  { weight: 6, arbitrary: integerTextArb },
  { weight: 1, arbitrary: bigArgArb },
)
const validOpArb: fc.Arbitrary<ValidOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set'), key: keyArb, value: valueArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get'), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('incr'), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('echo'), value: argArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ping') }) },
)

/** Redis string2ll as INCR uses it: canonical decimal text within 64 bits, else null. */
function redisInteger(value: Buffer): bigint | null {
  const text = value.toString('latin1')
  if (text.length > 20 || !/^(0|-?[1-9][0-9]*)$/.test(text)) return null
  const parsed = BigInt(text)
  return parsed > int64Max || parsed < int64Min ? null : parsed
}

/** Applies `op` to the model; returns the request bytes and the exact reply Redis would send. */
function modelStep(model: Map<number, Buffer>, op: ValidOp): { request: Buffer; reply: Buffer } {
  const key = 'key' in op ? Buffer.from(`fuzz:valid:${op.key}`) : Buffer.alloc(0)
  switch (op.kind) {
    case 'set':
      model.set(op.key, op.value)
      return {
        request: encodeCommand([Buffer.from('SET'), key, op.value]),
        reply: Buffer.from('+OK\r\n'),
      }
    case 'get': {
      const value = model.get(op.key)
      const reply = value === undefined ? Buffer.from('$-1\r\n') : bulkReply(value)
      return { request: encodeCommand([Buffer.from('GET'), key]), reply }
    }
    case 'incr': {
      const request = encodeCommand([Buffer.from('INCR'), key])
      const current = model.get(op.key)
      const old = current === undefined ? 0n : redisInteger(current)
      if (old === null) {
        return { request, reply: Buffer.from('-ERR value is not an integer or out of range\r\n') }
      }
      if (old === int64Max) {
        return { request, reply: Buffer.from('-ERR increment or decrement would overflow\r\n') }
      }
      model.set(op.key, Buffer.from(String(old + 1n)))
      return { request, reply: Buffer.from(`:${old + 1n}\r\n`) }
    }
    case 'echo':
      return { request: encodeCommand([Buffer.from('ECHO'), op.value]), reply: bulkReply(op.value) }
    case 'ping':
      return { request: Buffer.from('PING\r\n'), reply: Buffer.from('+PONG\r\n') }
  }
}

// ---------------------------------------------------------------- connections

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function pause(kind: number): Promise<void> {
  if (kind < 0) return Promise.resolve()
  return new Promise((resolve) => (kind === 0 ? setImmediate(resolve) : setTimeout(resolve, kind)))
}

/** Waits until `condition` holds; false if it still does not after outcomeTimeoutMs. */
async function until(condition: () => boolean): Promise<boolean> {
  const deadline = Date.now() + outcomeTimeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(2)
  }
  return true
}

function splitAt(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let start = 0
  for (const point of points) {
    if (point <= start) continue
    chunks.push(stream.subarray(start, point))
    start = point
  }
  if (start < stream.length) chunks.push(stream.subarray(start))
  return chunks
}

/** A raw client socket that collects everything the server sends and notes a server close. */
class Wire {
  readonly socket: net.Socket
  #received = Buffer.alloc(0)
  closedByServer = false

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
    })
    socket.on('end', () => (this.closedByServer = true))
    socket.on('error', () => (this.closedByServer = true))
  }

  static async open(port: number): Promise<Wire> {
    const socket = net.connect({ port, host: '127.0.0.1' })
    const wire = new Wire(socket)
    await once(socket, 'connect')
    return wire
  }

  received(): Buffer {
    return this.#received
  }

  /** Hands over what arrived so far and starts collecting afresh. */
  take(): Buffer {
    const received = this.#received
    this.#received = Buffer.alloc(0)
    return received
  }

  async send(stream: Buffer, chunking: { cuts: number[]; pauses: number[] }): Promise<void> {
    const chunks = splitAt(stream, chunking.cuts)
    for (const [index, chunk] of chunks.entries()) {
      if (this.closedByServer) return
      this.socket.write(chunk)
      await pause(chunking.pauses[index] ?? -1)
    }
  }
}

/** What the fuzzing covered, printed with the seed so a quiet run can be told from a weak one. */
const coverage = {
  connections: 0,
  aborted: 0,
  protocolErrors: new Map<string, number>(),
  stillOpen: 0,
  commands: 0,
  bytes: 0,
  arrayBufferGrowthBytesMax: 0,
}

function tally(script: BadScript): void {
  coverage.connections++
  coverage.bytes += script.stream.length
  coverage.commands += script.outcome.commands.length
  const error = script.outcome.protocolError
  if (script.abort) coverage.aborted++
  else if (error === null) coverage.stillOpen++
  else {
    // One bucket for all "expected '$', got 'x'" texts: the byte shown is noise here.
    const kind = error.replace(/got '.*'$/s, "got '?'")
    coverage.protocolErrors.set(kind, (coverage.protocolErrors.get(kind) ?? 0) + 1)
  }
}

function describeExpectation(expectation: Expectation): string {
  if ('exact' in expectation) return show(expectation.exact)
  return 'errorPrefix' in expectation ? `${expectation.errorPrefix}...` : 'any one reply'
}

/**
 * Runs one bad connection and checks its outcome: one reply per complete command, then either
 * the protocol error and a close, or an open connection that still answers (a PING when the
 * stream ended between commands). Returns a function that closes it.
 */
async function runBadConnection(port: number, script: BadScript): Promise<() => void> {
  tally(script)
  const wire = await Wire.open(port)
  await wire.send(script.stream, script)
  if (script.abort) {
    wire.socket.destroy()
    return () => undefined
  }
  const { commands, protocolError, atBoundary } = script.outcome
  const expectations = commands.map((args) => expectedReply(args) as Expectation)
  if (protocolError !== null) {
    expectations.push({ exact: Buffer.from(`-ERR ${protocolError}\r\n`) })
    await until(() => wire.closedByServer) // on a timeout, the checks below say what is missing
  } else {
    if (atBoundary) {
      wire.socket.write('PING\r\n')
      expectations.push({ exact: Buffer.from('+PONG\r\n') })
    }
    const enough = (): boolean =>
      wire.closedByServer || splitReplies(wire.received()).replies.length >= expectations.length
    if (await until(enough)) await sleep(settleMs)
  }
  const { replies, rest } = splitReplies(wire.received())
  const context = () =>
    `\n  stream ${show(script.stream, 300)}\n  replies ${replies.map((r) => show(r, 60)).join(' ')}`
  assert.equal(rest, 0, `a partial reply${context()}`)
  assert.equal(replies.length, expectations.length, `reply count${context()}`)
  for (const [index, expectation] of expectations.entries()) {
    const reply = replies[index] as Buffer
    const wanted = describeExpectation(expectation)
    assert.ok(matchesExpectation(reply, expectation), `reply ${index} is not ${wanted}${context()}`)
  }
  const closeText = protocolError === null ? 'stays open' : 'is closed'
  assert.equal(
    wire.closedByServer,
    protocolError !== null,
    `the connection ${closeText}${context()}`,
  )
  return () => wire.socket.destroy()
}

/** The one well-behaved connection: a model of its keys and the socket it keeps for the test. */
interface ValidClient {
  wire: Wire
  model: Map<number, Buffer>
}

/** Sends `ops` pipelined at random split points and checks the replies byte for byte. */
async function runValidClient(
  client: ValidClient,
  ops: readonly ValidOp[],
  chunking: { cuts: number[]; pauses: number[] },
): Promise<void> {
  const steps = ops.map((op) => modelStep(client.model, op))
  const expected = Buffer.concat(steps.map((step) => step.reply))
  await client.wire.send(Buffer.concat(steps.map((step) => step.request)), chunking)
  const { wire } = client
  if (await until(() => wire.closedByServer || wire.received().length >= expected.length)) {
    await sleep(settleMs)
  }
  const received = wire.take()
  assert.equal(wire.closedByServer, false, 'the valid connection stays open')
  if (!received.equals(expected)) {
    let at = 0
    while (at < received.length && received[at] === expected[at]) at++
    const from = Math.max(0, at - 40)
    assert.fail(
      `valid connection: replies differ at byte ${at} (got ${received.length} bytes of ` +
        `${expected.length}):\n` +
        `  got      ${show(received.subarray(from), 200)}\n` +
        `  expected ${show(expected.subarray(from), 200)}`,
    )
  }
}

// ---------------------------------------------------------------- the test

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  assert.ok(match !== null, 'VmRSS in /proc/PID/status')
  return Number(match[1]) * 1024
}

async function arrayBufferBytes(control: Redis): Promise<number> {
  const text = await control.info('memory')
  const match = /node_array_buffers:(\d+)/.exec(text)
  assert.ok(match !== null, 'INFO memory has node_array_buffers')
  return Number(match[1])
}

function assertAlive(server: ServerProcess): void {
  const { child } = server
  assert.ok(
    child.exitCode === null && child.signalCode === null,
    `server died (${child.exitCode ?? child.signalCode}); stderr:\n${server.stderr()}`,
  )
}

const fuzzRunArb = fc.record({
  bad: fc.array(badScriptArb, { minLength: 2, maxLength: 12, size: 'medium' }),
  ops: fc.array(validOpArb, { minLength: 1, maxLength: 200, size: 'large' }),
  validChunking: chunkingArb(60),
})

describe('protocol fuzzing against one server process', () => {
  let server: ServerProcess
  let control: Redis

  before(async () => {
    server = await startServerProcess()
    control = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true })
    await control.connect()
  })

  after(async () => {
    control.disconnect()
    await server.stop()
    removeDir(server.dir)
  })

  test('bad clients never crash, bloat or desynchronise the server', async (t) => {
    t.diagnostic(`SEED=${seed} FUZZ_RUNS=${numRuns}`)
    const pid = server.child.pid
    assert.ok(pid !== undefined, 'the server has a pid')
    const valid: ValidClient = { wire: await Wire.open(server.port), model: new Map() }
    await runValidClient(valid, [{ kind: 'ping' }], { cuts: [], pauses: [] })
    const rssBefore = rssBytes(pid)
    const arrayBuffersBefore = await arrayBufferBytes(control)
    const property = fc.asyncProperty(fuzzRunArb, async ({ bad, ops, validChunking }) => {
      assertAlive(server)
      const closers = await Promise.all([
        ...bad.map((script) => runBadConnection(server.port, script)),
        runValidClient(valid, ops, validChunking).then(() => () => undefined),
      ])
      const arrayBuffers = await arrayBufferBytes(control)
      for (const close of closers) close()
      const growth = arrayBuffers - arrayBuffersBefore
      coverage.arrayBufferGrowthBytesMax = Math.max(coverage.arrayBufferGrowthBytesMax, growth)
      assert.ok(
        growth < arrayBufferGrowthBytesMax,
        `server Buffers grew from ${arrayBuffersBefore} to ${arrayBuffers} bytes`,
      )
    })
    const details = await fc.check(property, { seed, numRuns, endOnFailure: true })
    const errors = [...coverage.protocolErrors].map(([text, n]) => `${n}x ${text}`).join('; ')
    t.diagnostic(
      `${coverage.connections} bad connections (${coverage.aborted} aborted, ` +
        `${coverage.stillOpen} left open), ${coverage.bytes} bytes, ${coverage.commands} ` +
        `commands; protocol errors: ${errors}`,
    )
    if (details.failed) {
      assert.fail(
        `protocol fuzz failed: reproduce with SEED=${seed} ` +
          `(run ${details.numRuns} of ${numRuns})\n` +
          String(details.errorInstance),
      )
    }
    assertAlive(server)
    assert.equal(await control.ping(), 'PONG')
    await runValidClient(valid, [{ kind: 'ping' }], { cuts: [], pauses: [] })
    valid.wire.socket.destroy()
    const rssAfter = rssBytes(pid)
    t.diagnostic(
      `server RSS ${rssBefore} -> ${rssAfter} bytes; Buffers grew by at most ` +
        `${coverage.arrayBufferGrowthBytesMax} bytes during a run`,
    )
    assert.ok(
      rssAfter - rssBefore < rssGrowthBytesMax,
      `server RSS grew from ${rssBefore} to ${rssAfter} bytes`,
    )
  })
})
