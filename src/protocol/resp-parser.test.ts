/* Tests for the RESP request parser: Redis's exact protocol errors, inline splitting, resuming at
 * any byte, bounded memory for declared lengths, and fast-check properties over random streams. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CaskadeError } from '../core/errors.js'
import type { ParserLimits } from './types.js'
import { parseRedisInteger, RespParser, splitInlineArgs } from './resp-parser.js'

const redisLimits: ParserLimits = {
  bulkBytesMax: 512 * 1024 * 1024,
  multibulkLengthMax: 2147483647,
  inlineBytesMax: 64 * 1024,
}

function encode(args: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : Buffer.from(arg)
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Feeds `chunks` one by one, draining after each; returns every command's args as text. */
function parseChunks(chunks: readonly Buffer[], limits = redisLimits): string[][] {
  const parser = new RespParser(limits)
  const commands: string[][] = []
  for (const chunk of chunks) {
    parser.feed(chunk)
    for (let command = parser.next(); command !== null; command = parser.next()) {
      commands.push(command.args.map((arg) => arg.toString('latin1')))
    }
  }
  return commands
}

const parseAll = (text: string, limits = redisLimits): string[][] =>
  parseChunks([Buffer.from(text, 'latin1')], limits)

function protocolErrorOf(text: string | Buffer, limits = redisLimits): string {
  const parser = new RespParser(limits)
  parser.feed(typeof text === 'string' ? Buffer.from(text, 'latin1') : text)
  try {
    while (parser.next() !== null);
  } catch (error) {
    assert.ok(error instanceof CaskadeError)
    assert.equal(error.code, 'ERR')
    return error.message
  }
  return 'no error'
}

describe('RespParser: multibulk', () => {
  test('parses one command into views of the fed chunk', () => {
    const chunk = encode(['SET', 'key', 'value'])
    const parser = new RespParser(redisLimits)
    parser.feed(chunk)
    const command = parser.next()
    assert.ok(command !== null)
    assert.deepEqual(
      command.args.map((arg) => arg.toString()),
      ['SET', 'key', 'value'],
    )
    assert.equal(command.args[0]?.buffer, chunk.buffer, 'args are views, not copies')
    assert.equal(parser.next(), null)
    assert.equal(parser.bufferedBytes(), 0)
  })

  test('parses a pipeline of commands from one chunk, in order', () => {
    const chunk = Buffer.concat([encode(['PING']), encode(['GET', 'a']), encode(['ECHO', ''])])
    assert.deepEqual(parseChunks([chunk]), [['PING'], ['GET', 'a'], ['ECHO', '']])
  })

  test('values may hold CR, LF and any byte', () => {
    const value = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x2a, 0x24, 0x0d])
    const parser = new RespParser(redisLimits)
    parser.feed(encode(['SET', 'k', value]))
    assert.deepEqual(parser.next()?.args[2], value)
  })

  test('resumes when a frame is split at every possible byte', () => {
    const stream = Buffer.concat([encode(['SET', 'k', 'a\r\nb']), encode(['GET', 'k'])])
    const expected = [
      ['SET', 'k', 'a\r\nb'],
      ['GET', 'k'],
    ]
    for (let cut = 0; cut <= stream.length; cut++) {
      const chunks = [stream.subarray(0, cut), stream.subarray(cut)]
      assert.deepEqual(parseChunks(chunks), expected, `cut at ${cut}`)
    }
    const bytes = [...stream].map((byte) => Buffer.from([byte]))
    assert.deepEqual(parseChunks(bytes), expected, 'one byte at a time')
  })

  test('*0 and *-1 are skipped, as Redis does', () => {
    assert.deepEqual(parseAll('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n*-5\r\n'), [['PING']])
  })

  test('the byte after a header CR and the two after a bulk are skipped unchecked', () => {
    assert.deepEqual(parseAll('*1\rx$4\rzPINGyy*1\r\n$1\r\na\r\n'), [['PING'], ['a']])
  })

  test('returns args parsed from earlier chunks intact after later feeds', () => {
    const parser = new RespParser(redisLimits)
    const stream = encode(['SET', 'key', 'v'.repeat(100)])
    parser.feed(stream.subarray(0, 20))
    assert.equal(parser.next(), null)
    parser.feed(stream.subarray(20, 40))
    parser.feed(stream.subarray(40))
    const command = parser.next()
    assert.ok(command !== null)
    assert.equal(command.args[2]?.toString(), 'v'.repeat(100))
    const kept = command.args
    parser.feed(encode(['GET', 'other']))
    assert.deepEqual(parser.next()?.args.map(String), ['GET', 'other'])
    assert.deepEqual(kept.map(String), ['SET', 'key', 'v'.repeat(100)])
  })

  test('a big bulk arriving in many chunks is gathered and joined once', () => {
    const value = Buffer.alloc(300 * 1024, 0x61)
    const stream = Buffer.concat([encode(['SET', 'k', value]), encode(['PING'])])
    const parser = new RespParser(redisLimits)
    let fed = 0
    for (let offset = 0; offset < stream.length; offset += 16 * 1024) {
      const chunk = stream.subarray(offset, offset + 16 * 1024)
      parser.feed(chunk)
      fed += chunk.length
      assert.ok(parser.bufferedBytes() <= fed)
    }
    assert.deepEqual(parser.next()?.args[2], value)
    assert.deepEqual(parser.next()?.args.map(String), ['PING'])
    assert.equal(parser.next(), null)
  })

  test('a declared 512 MB bulk costs only the bytes that arrived', () => {
    const parser = new RespParser(redisLimits)
    parser.feed(Buffer.from(`*2\r\n$3\r\nSET\r\n$${512 * 1024 * 1024}\r\n`))
    assert.equal(parser.next(), null)
    parser.feed(Buffer.alloc(40 * 1024, 0x62))
    parser.feed(Buffer.alloc(40 * 1024, 0x62))
    assert.equal(parser.next(), null)
    const headerBytes = `*2\r\n$3\r\nSET\r\n$${512 * 1024 * 1024}\r\n`.length
    assert.equal(parser.bufferedBytes(), headerBytes + 80 * 1024)
  })

  test('bufferedBytes counts the unfinished command and drops to zero once it is returned', () => {
    const stream = encode(['SET', 'key', 'value'])
    const parser = new RespParser(redisLimits)
    parser.feed(stream.subarray(0, stream.length - 3))
    assert.equal(parser.next(), null)
    assert.equal(parser.bufferedBytes(), stream.length - 3)
    parser.feed(stream.subarray(stream.length - 3))
    assert.ok(parser.next() !== null)
    assert.equal(parser.bufferedBytes(), 0)
  })

  test('setLimits applies to the next header', () => {
    const parser = new RespParser(redisLimits)
    parser.setLimits({ ...redisLimits, bulkBytesMax: 10 })
    parser.feed(Buffer.from('*1\r\n$11\r\n'))
    assert.throws(() => parser.next(), { message: 'Protocol error: invalid bulk length' })
  })
})

describe('RespParser: protocol errors with Redis texts', () => {
  const cases: Array<[string, string]> = [
    ['*abc\r\n', 'invalid multibulk length'],
    ['*01\r\n', 'invalid multibulk length'],
    ['*-0\r\n', 'invalid multibulk length'],
    ['*+1\r\n', 'invalid multibulk length'],
    ['* 1\r\n', 'invalid multibulk length'],
    ['*\r\n', 'invalid multibulk length'],
    ['*2147483648\r\n', 'invalid multibulk length'],
    ['*99999999999999999999\r\n', 'invalid multibulk length'],
    ['*-9223372036854775809\r\n', 'invalid multibulk length'],
    ['*1\r\n$-1\r\n', 'invalid bulk length'],
    ['*1\r\n$01\r\n', 'invalid bulk length'],
    ['*1\r\n$x\r\n', 'invalid bulk length'],
    ['*1\r\n$536870913\r\n', 'invalid bulk length'],
    ['*1\r\nX\r\n', "expected '$', got 'X'"],
    ['*1\r\n\r\n', "expected '$', got ' '"],
    ['*1\r\n:1\r\n', "expected '$', got ':'"],
    ['ECHO "a"b\r\n', 'unbalanced quotes in request'],
    ['ECHO "abc\r\n', 'unbalanced quotes in request'],
    ["ECHO 'abc\n", 'unbalanced quotes in request'],
  ]
  for (const [input, detail] of cases) {
    test(`${JSON.stringify(input)} -> ${detail}`, () => {
      assert.equal(protocolErrorOf(input), `Protocol error: ${detail}`)
    })
  }

  test('the largest negative count is still just skipped', () => {
    assert.deepEqual(parseAll('*-9223372036854775808\r\n*1\r\n$1\r\na\r\n'), [['a']])
  })

  test('the multibulk count is capped by multibulkLengthMax', () => {
    const limits = { ...redisLimits, multibulkLengthMax: 3 }
    assert.equal(protocolErrorOf('*4\r\n', limits), 'Protocol error: invalid multibulk length')
    assert.equal(protocolErrorOf('*3\r\n', limits), 'no error')
  })

  test('header lines wait for their CR up to inlineBytesMax bytes, then fail', () => {
    const limits = { ...redisLimits, inlineBytesMax: 16 }
    const parser = new RespParser(limits)
    parser.feed(Buffer.from(`*${'1'.repeat(15)}`))
    assert.equal(parser.next(), null)
    parser.feed(Buffer.from('1'))
    assert.throws(() => parser.next(), { message: 'Protocol error: too big mbulk count string' })
    const bulk = `*1\r\n$${'1'.repeat(20)}`
    assert.equal(protocolErrorOf(bulk, limits), 'Protocol error: too big bulk count string')
    assert.equal(
      protocolErrorOf(`*1\r\n${'X'.repeat(20)}`, limits),
      'Protocol error: too big bulk count string',
    )
  })

  test('an inline line over inlineBytesMax fails with or without its newline', () => {
    const limits = { ...redisLimits, inlineBytesMax: 16 }
    assert.equal(protocolErrorOf('a'.repeat(17), limits), 'Protocol error: too big inline request')
    assert.equal(
      protocolErrorOf(`${'a'.repeat(17)}\n`, limits),
      'Protocol error: too big inline request',
    )
    assert.deepEqual(parseAll(`${'a'.repeat(16)}\r\n`, limits), [['a'.repeat(16)]])
    const parser = new RespParser(limits)
    parser.feed(Buffer.from(`${'a'.repeat(16)}\r`))
    assert.equal(parser.next(), null, 'the CR may still be followed by LF')
    parser.feed(Buffer.from('\n'))
    assert.deepEqual(parser.next()?.args.map(String), ['a'.repeat(16)])
  })
})

describe('RespParser: inline commands', () => {
  test('splits on blanks; CRLF or a bare LF ends the line; empty lines yield nothing', () => {
    assert.deepEqual(parseAll('SET  key\tvalue\r\n\r\n\n   \nPING\n'), [
      ['SET', 'key', 'value'],
      ['PING'],
    ])
  })

  test('an inline line split across chunks waits for its newline', () => {
    assert.deepEqual(parseChunks([Buffer.from('PI'), Buffer.from('NG\r'), Buffer.from('\n')]), [
      ['PING'],
    ])
  })

  test("double quotes take escapes, single quotes take \\'", () => {
    assert.deepEqual(parseAll(`SET "a b" "\\x41\\x4g\\n\\q" 'it\\'s' "" ''\r\n`), [
      ['SET', 'a b', 'Ax4g\nq', "it's", '', ''],
    ])
  })

  test('a quote inside a bare word opens a quoted part of the same arg', () => {
    assert.deepEqual(parseAll('ECHO ab"c d"\r\n'), [['ECHO', 'abc d']])
  })

  test('\\v and \\f separate args before one, but belong to it inside', () => {
    assert.deepEqual(parseAll('\vECHO\fa\vb\r\n'), [['ECHO\fa\vb']])
  })

  test('splitInlineArgs returns views for unquoted args and null for unbalanced quotes', () => {
    const line = Buffer.from('GET key')
    const args = splitInlineArgs(line, 0, line.length)
    assert.ok(args !== null)
    assert.equal(args[1]?.buffer, line.buffer)
    assert.equal(splitInlineArgs(Buffer.from('"a'), 0, 2), null)
    assert.deepEqual(splitInlineArgs(Buffer.from('a\0b c'), 0, 5), [Buffer.from('a')])
  })
})

describe('parseRedisInteger (string2ll)', () => {
  const parse = (text: string): number | null => {
    const buf = Buffer.from(text)
    return parseRedisInteger(buf, 0, buf.length)
  }
  test('accepts what string2ll accepts', () => {
    assert.equal(parse('0'), 0)
    assert.equal(parse('42'), 42)
    assert.equal(parse('-7'), -7)
    assert.equal(parse('9223372036854775807'), 2 ** 63, 'the nearest double')
    assert.equal(parse('-9223372036854775808'), -9223372036854775808)
  })
  test('rejects what string2ll rejects', () => {
    for (const text of ['', '-', '-0', '00', '01', '+1', ' 1', '1 ', '1a', '9223372036854775808']) {
      assert.equal(parse(text), null, text)
    }
    assert.equal(parse('-9223372036854775809'), null)
    assert.equal(parse('123456789012345678901'), null)
  })
})

describe('RespParser: properties', () => {
  const arbArg = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(new Uint8Array(0), Buffer.from('\r\n'), Buffer.from('*1\r\n$')),
    fc.uint8Array({ minLength: 33 * 1024, maxLength: 40 * 1024 }),
  )
  const arbCommand = fc.array(arbArg, { minLength: 1, maxLength: 6 })

  test('commands encoded, concatenated and split at random points parse back exactly', () => {
    fc.assert(
      fc.property(
        fc.array(arbCommand, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (commands, cutSeeds) => {
          const stream = Buffer.concat(commands.map((args) => encode(args)))
          const cuts = [...new Set(cutSeeds.map((seed) => seed % (stream.length + 1)))]
          cuts.sort((a, b) => a - b)
          const chunks: Buffer[] = []
          let previous = 0
          for (const cut of [...cuts, stream.length]) {
            chunks.push(stream.subarray(previous, cut))
            previous = cut
          }
          const parser = new RespParser(redisLimits)
          const parsed: Buffer[][] = []
          for (const chunk of chunks) {
            parser.feed(chunk)
            for (let command = parser.next(); command !== null; command = parser.next()) {
              parsed.push(command.args.map((arg) => Buffer.from(arg)))
            }
          }
          assert.deepEqual(
            parsed,
            commands.map((args) => args.map((arg) => Buffer.from(arg))),
          )
          assert.equal(parser.bufferedBytes(), 0)
        },
      ),
      { numRuns: 150 },
    )
  })

  const smallLimits: ParserLimits = {
    bulkBytesMax: 1000,
    multibulkLengthMax: 50,
    inlineBytesMax: 64,
  }
  const arbToken = fc.oneof(
    fc.constantFrom(
      '*',
      '$',
      '-',
      '0',
      '1',
      '9',
      '\r\n',
      '\r',
      '\n',
      ' ',
      '"',
      "'",
      '\\x4',
      '*0\r\n',
    ),
    fc.constantFrom('*3\r\n', '$3\r\nabc\r\n', '$99999\r\n', '*999999999\r\n', 'PING\r\n'),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.constantFrom('x'.repeat(70), '1'.repeat(70)),
  )

  test('any byte stream yields commands or a Protocol error, in bounded steps and memory', () => {
    const originalAllocUnsafe = Buffer.allocUnsafe.bind(Buffer)
    let largestAllocation = 0
    Buffer.allocUnsafe = (size: number): Buffer<ArrayBuffer> => {
      largestAllocation = Math.max(largestAllocation, size)
      return originalAllocUnsafe(size)
    }
    try {
      fc.assert(
        fc.property(
          fc.array(arbToken, { maxLength: 30 }),
          fc.integer({ min: 1, max: 16 }),
          (tokens, chunkBytes) => {
            const stream = Buffer.from(tokens.join(''), 'latin1')
            const parser = new RespParser(smallLimits)
            largestAllocation = 0
            let fed = 0
            try {
              for (let offset = 0; offset < stream.length; offset += chunkBytes) {
                const chunk = stream.subarray(offset, offset + chunkBytes)
                parser.feed(chunk)
                fed += chunk.length
                let steps = 0
                while (parser.next() !== null) assert.ok(++steps <= fed, 'each command eats bytes')
                assert.ok(parser.bufferedBytes() <= fed)
              }
            } catch (error) {
              if (!(error instanceof CaskadeError)) throw error
              assert.equal(error.code, 'ERR')
              assert.match(error.message, /^Protocol error: /)
            }
            assert.ok(largestAllocation <= Math.max(16 * 1024, 2 * fed))
          },
        ),
        { numRuns: 400 },
      )
    } finally {
      Buffer.allocUnsafe = originalAllocUnsafe
    }
  })

  test('the outcome does not depend on how the stream is chunked', () => {
    const outcome = (stream: Buffer, chunkBytes: number): string => {
      const parser = new RespParser(redisLimits)
      const seen: string[] = []
      try {
        for (let offset = 0; offset < stream.length; offset += chunkBytes) {
          parser.feed(stream.subarray(offset, offset + chunkBytes))
          for (let command = parser.next(); command !== null; command = parser.next()) {
            seen.push(JSON.stringify(command.args.map((arg) => arg.toString('latin1'))))
          }
        }
      } catch (error) {
        seen.push((error as Error).message)
      }
      return seen.join('|')
    }
    fc.assert(
      fc.property(
        fc.array(arbToken, { maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        (tokens, size) => {
          const stream = Buffer.from(tokens.join(''), 'latin1')
          assert.equal(outcome(stream, size), outcome(stream, stream.length + 1))
        },
      ),
      { numRuns: 300 },
    )
  })
})
