/* Reply writer: one connection's RESP2/RESP3 replies accumulated in one growing Buffer with a
 * write offset. Invariant: bytes in [0, offset) are whole frames in call order, and a range
 * handed out by take() is never written again. Why: one Buffer and one socket write per turn,
 * with digits and common replies written without building strings. */
import { assert } from '../core/assert.js'
import { formatDouble } from './format-double.js'
import type { ProtocolVersion, ReplyWriter } from './types.js'

/** First allocation of a writer's buffer; it doubles as replies grow. */
const initialBufferBytes = 16 * 1024
/** take() copies out at most this much and keeps its buffer; a bigger batch is handed over
 * whole and the next reply starts a fresh buffer. Below Node's pool cutoff, so copies are cheap. */
const copyOnTakeBytesMax = 4 * 1024 - 1
/** Room for a type byte, the longest 64-bit integer and CRLF. */
const headerBytesMax = 1 + 20 + 2

const CR = 0x0d
const LF = 0x0a
const MINUS = 0x2d
const DIGIT_0 = 0x30

const constant = (text: string): Buffer => Buffer.from(text, 'latin1')
const replies = {
  ok: constant('+OK\r\n'),
  pong: constant('+PONG\r\n'),
  zero: constant(':0\r\n'),
  one: constant(':1\r\n'),
  nullBulk2: constant('$-1\r\n'),
  nullArray2: constant('*-1\r\n'),
  null3: constant('_\r\n'),
  emptyArray: constant('*0\r\n'),
  true3: constant('#t\r\n'),
  false3: constant('#f\r\n'),
} as const

const lineBreaks = /[\r\n]/g

/** Simple strings and errors are one line: CR and LF in them become spaces (as Redis does for
 * error messages), so a reply can never break the framing. */
function oneLine(text: string): string {
  return text.includes('\r') || text.includes('\n') ? text.replace(lineBreaks, ' ') : text
}

class RespReplyWriter implements ReplyWriter {
  protocol: ProtocolVersion
  #buf: Buffer | null = null
  #offset = 0

  constructor(protocol: ProtocolVersion) {
    this.protocol = protocol
  }

  simple(text: string): void {
    if (text === 'OK') return this.#raw(replies.ok)
    if (text === 'PONG') return this.#raw(replies.pong)
    this.#line(0x2b, oneLine(text))
  }

  error(code: string, message: string): void {
    this.#line(MINUS, oneLine(code.length === 0 ? message : `${code} ${message}`))
  }

  integer(value: number | bigint): void {
    if (value === 0) return this.#raw(replies.zero)
    if (value === 1) return this.#raw(replies.one)
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      return this.#header(0x3a, value)
    }
    if (typeof value === 'number') assert(Number.isInteger(value), 'integer reply is an integer')
    this.#line(0x3a, BigInt(value).toString())
  }

  bulk(value: Buffer | string): void {
    this.#bulk(0x24, value)
  }

  nullBulk(): void {
    this.#raw(this.protocol === 3 ? replies.null3 : replies.nullBulk2)
  }

  nullArray(): void {
    this.#raw(this.protocol === 3 ? replies.null3 : replies.nullArray2)
  }

  arrayHeader(length: number): void {
    if (length === 0) return this.#raw(replies.emptyArray)
    this.#header(0x2a, length)
  }

  mapHeader(pairs: number): void {
    if (this.protocol === 3) this.#header(0x25, pairs)
    else this.arrayHeader(pairs * 2)
  }

  setHeader(length: number): void {
    if (this.protocol === 3) this.#header(0x7e, length)
    else this.arrayHeader(length)
  }

  pushHeader(length: number): void {
    if (this.protocol === 3) this.#header(0x3e, length)
    else this.arrayHeader(length)
  }

  double(value: number): void {
    if (this.protocol === 3) this.#line(0x2c, formatDouble(value))
    else this.bulk(formatDouble(value))
  }

  boolean(value: boolean): void {
    if (this.protocol === 3) this.#raw(value ? replies.true3 : replies.false3)
    else this.#raw(value ? replies.one : replies.zero)
  }

  verbatim(text: string, format = 'txt'): void {
    if (this.protocol !== 3) return this.bulk(text)
    assert(format.length === 3, 'a verbatim string format is three characters')
    this.#bulk(0x3d, `${format}:${text}`)
  }

  pendingBytes(): number {
    return this.#offset
  }

  take(): Buffer | null {
    const buf = this.#buf
    const length = this.#offset
    if (buf === null || length === 0) return null
    this.#offset = 0
    if (length <= copyOnTakeBytesMax) {
      const out = Buffer.allocUnsafe(length)
      buf.copy(out, 0, 0, length)
      return out
    }
    this.#buf = null
    return buf.subarray(0, length)
  }

  /** Makes room for `bytes` more bytes: allocate lazily, grow by doubling. */
  #reserve(bytes: number): Buffer {
    const buf = this.#buf
    const needed = this.#offset + bytes
    if (buf !== null && needed <= buf.length) return buf
    let capacity = buf === null ? initialBufferBytes : buf.length * 2
    while (capacity < needed) capacity *= 2
    const grown = Buffer.allocUnsafe(capacity)
    if (buf !== null) buf.copy(grown, 0, 0, this.#offset)
    this.#buf = grown
    return grown
  }

  #raw(bytes: Buffer): void {
    const buf = this.#reserve(bytes.length)
    buf.set(bytes, this.#offset)
    this.#offset += bytes.length
  }

  #crlf(): void {
    const buf = this.#buf as Buffer
    buf[this.#offset] = CR
    buf[this.#offset + 1] = LF
    this.#offset += 2
  }

  /** `${type}${value}\r\n` with the digits written straight into the buffer, reserving
   * `extraBytes` after it for the caller (a bulk's payload and CRLF). */
  #header(type: number, value: number, extraBytes = 0): void {
    assert(Number.isSafeInteger(value), 'a length or integer reply is a safe integer')
    const buf = this.#reserve(headerBytesMax + extraBytes)
    let offset = this.#offset
    buf[offset++] = type
    let rest = value
    if (rest < 0) {
      buf[offset++] = MINUS
      rest = -rest
    }
    let digits = 1
    for (let scan = rest; scan >= 10; scan = Math.floor(scan / 10)) digits++
    for (let index = offset + digits - 1; index >= offset; index--) {
      buf[index] = DIGIT_0 + (rest % 10)
      rest = Math.floor(rest / 10)
    }
    offset += digits
    buf[offset] = CR
    buf[offset + 1] = LF
    this.#offset = offset + 2
  }

  /** A length-prefixed string: `$` (bulk) or `=` (RESP3 verbatim), then payload and CRLF. */
  #bulk(type: number, value: Buffer | string): void {
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value, 'utf8')
      this.#header(type, length, length + 2)
      const buf = this.#buf as Buffer
      this.#offset += buf.write(value, this.#offset, 'utf8')
    } else {
      this.#header(type, value.length, value.length + 2)
      const buf = this.#buf as Buffer
      buf.set(value, this.#offset)
      this.#offset += value.length
    }
    this.#crlf()
  }

  /** `${type}${text}\r\n`; `text` is UTF-8 and must hold no CR or LF. */
  #line(type: number, text: string): void {
    const length = Buffer.byteLength(text, 'utf8')
    const buf = this.#reserve(length + 3)
    buf[this.#offset++] = type
    this.#offset += buf.write(text, this.#offset, 'utf8')
    this.#crlf()
  }
}

export function createReplyWriter(protocol: ProtocolVersion): ReplyWriter {
  return new RespReplyWriter(protocol)
}
