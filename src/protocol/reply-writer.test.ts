/* Tests for the reply writer: exact RESP2/RESP3 bytes per method, buffer ownership after take(),
 * and a property that random reply sequences decode back with a small RESP decoder. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { ProtocolVersion, ReplyWriter } from './types.js'
import { createReplyWriter } from './reply-writer.js'
import { formatDouble } from './format-double.js'

function written(protocol: ProtocolVersion, write: (writer: ReplyWriter) => void): string {
  const writer = createReplyWriter(protocol)
  write(writer)
  return writer.take()?.toString('latin1') ?? ''
}

/** A decoded reply frame: type byte plus either text, an integer, or children. */
type Frame =
  | { type: string; text: string }
  | { type: string; items: Frame[] }
  | { type: '$' | '*' | '_'; nil: true }

/** A tiny RESP2/RESP3 reply decoder for the tests. Returns the frames and checks it used every
 * byte. */
function decodeReplies(bytes: Buffer): Frame[] {
  let pos = 0
  const line = (): string => {
    const end = bytes.indexOf('\r\n', pos)
    assert.ok(end >= 0, 'a line ends in CRLF')
    const text = bytes.toString('latin1', pos, end)
    pos = end + 2
    return text
  }
  const frame = (): Frame => {
    const header = line()
    const type = header[0] ?? ''
    const rest = header.slice(1)
    if (type === '_') return { type: '_', nil: true }
    if ('+-:,#'.includes(type)) return { type, text: rest }
    const length = Number(rest)
    if (type === '$' || type === '=') {
      if (length === -1) return { type: '$', nil: true }
      const text = bytes.toString('latin1', pos, pos + length)
      assert.equal(bytes.toString('latin1', pos + length, pos + length + 2), '\r\n')
      pos += length + 2
      return { type, text }
    }
    assert.ok('*%~>'.includes(type), `known aggregate type ${type}`)
    if (length === -1) return { type: '*', nil: true }
    const count = type === '%' ? length * 2 : length
    const items: Frame[] = []
    for (let index = 0; index < count; index++) items.push(frame())
    return { type, items }
  }
  const frames: Frame[] = []
  while (pos < bytes.length) frames.push(frame())
  assert.equal(pos, bytes.length)
  return frames
}

describe('createReplyWriter: exact bytes', () => {
  test('simple strings, errors and integers', () => {
    assert.equal(
      written(2, (w) => {
        w.simple('OK')
        w.simple('PONG')
        w.simple('QUEUED')
        w.error('ERR', 'unknown command')
        w.error('WRONGTYPE', 'Operation against a key')
      }),
      '+OK\r\n+PONG\r\n+QUEUED\r\n-ERR unknown command\r\n-WRONGTYPE Operation against a key\r\n',
    )
    assert.equal(
      written(2, (w) => {
        for (const value of [0, 1, -1, 10, 1234567890, -9007199254740991, -0]) w.integer(value)
        w.integer(9223372036854775807n)
        w.integer(-9223372036854775808n)
        w.integer(2 ** 60)
      }),
      ':0\r\n:1\r\n:-1\r\n:10\r\n:1234567890\r\n:-9007199254740991\r\n:0\r\n' +
        ':9223372036854775807\r\n:-9223372036854775808\r\n:1152921504606846976\r\n',
    )
  })

  test('CR and LF inside a one-line reply become spaces', () => {
    assert.equal(
      written(2, (w) => {
        w.error('ERR', "Protocol error: expected '$', got '\n'")
        w.simple('a\r\nb')
      }),
      "-ERR Protocol error: expected '$', got ' '\r\n+a  b\r\n",
    )
  })

  test('an integer reply must be an integer', () => {
    const writer = createReplyWriter(2)
    assert.throws(() => writer.integer(1.5), { name: 'AssertionError' })
  })

  test('bulk strings: Buffers as bytes, JS strings as UTF-8', () => {
    assert.equal(
      written(2, (w) => {
        w.bulk('hello')
        w.bulk('')
        w.bulk(Buffer.from([0x00, 0x0d, 0x0a, 0xff]))
      }),
      '$5\r\nhello\r\n$0\r\n\r\n$4\r\n\x00\r\n\xff\r\n',
    )
    const utf8 = createReplyWriter(2)
    utf8.bulk('héllo €')
    assert.deepEqual(utf8.take(), Buffer.from('$10\r\nhéllo €\r\n', 'utf8'))
  })

  test('RESP2 degrades the RESP3 shapes the way Redis does', () => {
    assert.equal(
      written(2, (w) => {
        w.nullBulk()
        w.nullArray()
        w.arrayHeader(0)
        w.arrayHeader(3)
        w.mapHeader(2)
        w.setHeader(5)
        w.pushHeader(3)
        w.double(1.5)
        w.double(0.1)
        w.double(Infinity)
        w.boolean(true)
        w.boolean(false)
        w.verbatim('some text')
      }),
      '$-1\r\n*-1\r\n*0\r\n*3\r\n*4\r\n*5\r\n*3\r\n$3\r\n1.5\r\n$19\r\n0.10000000000000001\r\n' +
        '$3\r\ninf\r\n:1\r\n:0\r\n$9\r\nsome text\r\n',
    )
  })

  test('RESP3 shapes', () => {
    assert.equal(
      written(3, (w) => {
        w.nullBulk()
        w.nullArray()
        w.mapHeader(2)
        w.setHeader(5)
        w.pushHeader(3)
        w.double(1.5)
        w.double(-Infinity)
        w.double(1e20)
        w.boolean(true)
        w.boolean(false)
        w.verbatim('some text')
        w.verbatim('# Server', 'mkd')
      }),
      '_\r\n_\r\n%2\r\n~5\r\n>3\r\n,1.5\r\n,-inf\r\n,1e+20\r\n#t\r\n#f\r\n' +
        '=13\r\ntxt:some text\r\n=12\r\nmkd:# Server\r\n',
    )
  })

  test('the protocol can be switched between replies (HELLO 3)', () => {
    const writer = createReplyWriter(2)
    writer.nullBulk()
    writer.protocol = 3
    writer.nullBulk()
    assert.equal(writer.take()?.toString(), '$-1\r\n_\r\n')
  })
})

describe('createReplyWriter: buffer handling', () => {
  test('take() returns null when nothing is pending, and pendingBytes() counts', () => {
    const writer = createReplyWriter(2)
    assert.equal(writer.take(), null)
    assert.equal(writer.pendingBytes(), 0)
    writer.simple('OK')
    assert.equal(writer.pendingBytes(), 5)
    assert.equal(writer.take()?.toString(), '+OK\r\n')
    assert.equal(writer.pendingBytes(), 0)
    assert.equal(writer.take(), null)
  })

  test('a taken Buffer is never written again, small or large', () => {
    const writer = createReplyWriter(2)
    writer.simple('OK')
    const small = writer.take()
    writer.simple('PONG')
    assert.equal(small?.toString(), '+OK\r\n')
    assert.equal(writer.take()?.toString(), '+PONG\r\n')
    const big = 'x'.repeat(100 * 1024)
    writer.bulk(big)
    const large = writer.take()
    writer.bulk('y'.repeat(100 * 1024))
    writer.take()
    assert.ok(large?.equals(Buffer.from(`$${big.length}\r\n${big}\r\n`)), 'large reply intact')
  })

  test('grows past its first allocation for large and many replies', () => {
    const writer = createReplyWriter(2)
    const value = Buffer.alloc(1024 * 1024, 0x61)
    writer.bulk(value)
    for (let index = 0; index < 10000; index++) writer.integer(index)
    const bytes = writer.take()
    assert.ok(bytes !== null)
    const frames = decodeReplies(bytes)
    assert.equal(frames.length, 10001)
    assert.deepEqual(frames[0], { type: '$', text: value.toString('latin1') })
    assert.deepEqual(frames[10000], { type: ':', text: '9999' })
  })
})

describe('createReplyWriter: property', () => {
  type Reply =
    | { kind: 'simple'; text: string }
    | { kind: 'error'; message: string }
    | { kind: 'integer'; value: number | bigint }
    | { kind: 'bulk'; value: Uint8Array | string }
    | { kind: 'nullBulk' }
    | { kind: 'nullArray' }
    | { kind: 'array'; items: Reply[] }
    | { kind: 'map'; items: Reply[] }
    | { kind: 'set'; items: Reply[] }
    | { kind: 'push'; items: Reply[] }
    | { kind: 'double'; value: number }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'verbatim'; text: string }

  const oneLineText = fc.string({ maxLength: 20 }).map((text) => text.replace(/[\r\n]/g, ''))
  const { reply } = fc.letrec<{ reply: Reply }>((tie) => ({
    reply: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      oneLineText.map((text): Reply => ({ kind: 'simple', text })),
      oneLineText.map((message): Reply => ({ kind: 'error', message })),
      fc
        .oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))
        .map((value): Reply => ({ kind: 'integer', value })),
      fc
        .oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 20 }))
        .map((value): Reply => ({ kind: 'bulk', value })),
      fc.constant<Reply>({ kind: 'nullBulk' }),
      fc.constant<Reply>({ kind: 'nullArray' }),
      fc.double().map((value): Reply => ({ kind: 'double', value })),
      fc.boolean().map((value): Reply => ({ kind: 'boolean', value })),
      fc.string({ maxLength: 20 }).map((text): Reply => ({ kind: 'verbatim', text })),
      fc
        .record({
          kind: fc.constantFrom('array', 'set', 'push'),
          items: fc.array(tie('reply'), { maxLength: 4 }),
        })
        .map((value) => value as Reply),
      fc
        .array(tie('reply'), { maxLength: 3 })
        .map((pairs): Reply => ({ kind: 'map', items: pairs.flatMap((item) => [item, item]) })),
    ),
  }))

  function write(writer: ReplyWriter, value: Reply): void {
    switch (value.kind) {
      case 'simple':
        return writer.simple(value.text)
      case 'error':
        return writer.error('ERR', value.message)
      case 'integer':
        return writer.integer(value.value)
      case 'bulk':
        return writer.bulk(typeof value.value === 'string' ? value.value : Buffer.from(value.value))
      case 'nullBulk':
        return writer.nullBulk()
      case 'nullArray':
        return writer.nullArray()
      case 'double':
        return writer.double(value.value)
      case 'boolean':
        return writer.boolean(value.value)
      case 'verbatim':
        return writer.verbatim(value.text)
      case 'array':
      case 'set':
      case 'push':
      case 'map': {
        if (value.kind === 'array') writer.arrayHeader(value.items.length)
        if (value.kind === 'set') writer.setHeader(value.items.length)
        if (value.kind === 'push') writer.pushHeader(value.items.length)
        if (value.kind === 'map') writer.mapHeader(value.items.length / 2)
        for (const item of value.items) write(writer, item)
      }
    }
  }

  const utf8AsLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1')

  /** What the decoder must see for `value` under `protocol`. */
  function expected(value: Reply, protocol: ProtocolVersion): Frame {
    const resp3 = protocol === 3
    switch (value.kind) {
      case 'simple':
        return { type: '+', text: utf8AsLatin1(value.text) }
      case 'error':
        return { type: '-', text: utf8AsLatin1(`ERR ${value.message}`) }
      case 'integer':
        return { type: ':', text: String(value.value) }
      case 'bulk': {
        const bytes = typeof value.value === 'string' ? Buffer.from(value.value) : value.value
        return { type: '$', text: Buffer.from(bytes).toString('latin1') }
      }
      case 'nullBulk':
        return resp3 ? { type: '_', nil: true } : { type: '$', nil: true }
      case 'nullArray':
        return resp3 ? { type: '_', nil: true } : { type: '*', nil: true }
      case 'double':
        return { type: resp3 ? ',' : '$', text: formatDouble(value.value) }
      case 'boolean':
        if (resp3) return { type: '#', text: value.value ? 't' : 'f' }
        return { type: ':', text: value.value ? '1' : '0' }
      case 'verbatim':
        if (resp3) return { type: '=', text: utf8AsLatin1(`txt:${value.text}`) }
        return { type: '$', text: utf8AsLatin1(value.text) }
      default: {
        const types = { array: '*', set: resp3 ? '~' : '*', push: resp3 ? '>' : '*', map: '%' }
        let type = types[value.kind]
        if (value.kind === 'map' && !resp3) type = '*'
        return { type, items: value.items.map((item) => expected(item, protocol)) }
      }
    }
  }

  test('any sequence of replies decodes back to what was written, in RESP2 and RESP3', () => {
    fc.assert(
      fc.property(
        fc.array(reply, { maxLength: 12 }),
        fc.constantFrom<ProtocolVersion>(2, 3),
        (replies, protocol) => {
          const writer = createReplyWriter(protocol)
          for (const value of replies) write(writer, value)
          const bytes = writer.take() ?? Buffer.alloc(0)
          assert.equal(writer.pendingBytes(), 0)
          const decoded = decodeReplies(bytes)
          assert.deepEqual(
            decoded,
            replies.map((value) => expected(value, protocol)),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})
