/* RESP request parser: multibulk and inline commands, resumable at any byte, with Redis 7's exact
 * protocol-error texts (networking.c processMultibulkBuffer/processInlineBuffer). Invariant: no
 * byte before the parse position is ever written again, so every arg handed out stays a valid
 * view; only the unconsumed tail is copied. Why: this is every request's hot path. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { ParsedCommand, ParserLimits } from './types.js'

const CR = 0x0d
const LF = 0x0a
const STAR = 0x2a
const DOLLAR = 0x24
const MINUS = 0x2d
const DIGIT_0 = 0x30
const DIGIT_1 = 0x31
const DIGIT_9 = 0x39

/** Redis PROTO_MBULK_BIG_ARG: a bulk this long that is not all here yet is gathered chunk by
 * chunk and concatenated once it is complete, instead of re-copying a growing tail. */
const bigBulkBytesMin = 32 * 1024
/** Smallest buffer the parser allocates to hold an unconsumed tail plus a new chunk. */
const tailBufferBytesMin = 16 * 1024
/** Redis LONG_STR_SIZE is 21: string2ll rejects texts of 21 bytes or more. */
const integerTextBytesMax = 20
/** Up to 15 digits the running sum stays exact (10^15 < 2^53). */
const maxSafeDigits = 15
const longLongMaxText = '9223372036854775807'
const longLongMinMagnitudeText = '9223372036854775808'

const emptyBuffer = Buffer.alloc(0)

function protocolError(detail: string): CaskadeError {
  return new CaskadeError(ErrorCode.Err, `Protocol error: ${detail}`)
}

/**
 * Redis string2ll over `buf[start, end)`: an optional '-', no '+', no leading zeros, no spaces,
 * within the signed 64-bit range. Returns null where Redis rejects the text. Digits are read from
 * bytes (no string); a value past 2^53 is the nearest double.
 */
export function parseRedisInteger(buf: Buffer, start: number, end: number): number | null {
  const length = end - start
  if (length === 0 || length > integerTextBytesMax) return null
  if (length === 1 && buf[start] === DIGIT_0) return 0
  let index = start
  const negative = buf[index] === MINUS
  if (negative) index++
  const first = buf[index]
  if (first === undefined || first < DIGIT_1 || first > DIGIT_9) return null
  let value = first - DIGIT_0
  for (index++; index < end; index++) {
    const digit = (buf[index] as number) - DIGIT_0
    if (digit < 0 || digit > 9) return null
    value = value * 10 + digit
  }
  const digitCount = negative ? length - 1 : length
  if (digitCount > maxSafeDigits) {
    // Past 2^53 the running sum rounds at every step: reread the digits once, correctly
    // rounded, and check the 64-bit bound as text (a rare path; it allocates).
    const digits = buf.toString('latin1', negative ? start + 1 : start, end)
    const bound = negative ? longLongMinMagnitudeText : longLongMaxText
    if (digits.length > bound.length || (digits.length === bound.length && digits > bound)) {
      return null
    }
    value = Number(digits)
  }
  return negative ? -value : value
}

/** Index of the first `byte` in `buf[from, buf.length)`, or -1. Header lines are a few bytes
 * long, so a plain loop beats a native indexOf call here. */
function indexOfByte(buf: Buffer, byte: number, from: number): number {
  const length = buf.length
  for (let index = from; index < length; index++) {
    if (buf[index] === byte) return index
  }
  return -1
}

/** C isspace in the "C" locale: space, \t, \n, \v, \f, \r. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)
}

/** Bytes that end an unquoted inline token in sdssplitargs (note: not \v or \f). */
function endsUnquotedToken(byte: number): boolean {
  return byte === 0x20 || byte === LF || byte === CR || byte === 0x09 || byte === 0
}

function isHexDigit(byte: number): boolean {
  return (
    (byte >= DIGIT_0 && byte <= DIGIT_9) ||
    (byte >= 0x61 && byte <= 0x66) ||
    (byte >= 0x41 && byte <= 0x46)
  )
}

function hexValue(byte: number): number {
  if (byte <= DIGIT_9) return byte - DIGIT_0
  return (byte | 0x20) - 0x61 + 10
}

/** Escapes inside "double quotes" (sdssplitargs): \n \r \t \b \a, anything else is itself. */
function unescapedByte(byte: number): number {
  switch (byte) {
    case 0x6e:
      return LF
    case 0x72:
      return CR
    case 0x74:
      return 0x09
    case 0x62:
      return 0x08
    case 0x61:
      return 0x07
    default:
      return byte
  }
}

interface InlineToken {
  value: Buffer
  next: number
}

/**
 * One token of an inline line that contains quotes, a port of sdssplitargs' inner loop. The
 * line is `buf[.., end)`; like the C string it reads as NUL past its end. `plainEnd` is where
 * the unquoted prefix (already known to hold no quote) stops. Returns null on unbalanced quotes.
 */
function readQuotedToken(options: {
  buf: Buffer
  tokenStart: number
  plainEnd: number
  end: number
}): InlineToken | null {
  const { buf, tokenStart, plainEnd, end } = options
  const at = (index: number): number => (index < end ? (buf[index] as number) : 0)
  const bytes: number[] = []
  for (let index = tokenStart; index < plainEnd; index++) bytes.push(buf[index] as number)
  let inDouble = false
  let inSingle = false
  let done = false
  let p = plainEnd
  while (!done) {
    const c = at(p)
    if (inDouble) {
      if (c === 0x5c && at(p + 1) === 0x78 && isHexDigit(at(p + 2)) && isHexDigit(at(p + 3))) {
        bytes.push(hexValue(at(p + 2)) * 16 + hexValue(at(p + 3)))
        p += 3
      } else if (c === 0x5c && at(p + 1) !== 0) {
        p++
        bytes.push(unescapedByte(at(p)))
      } else if (c === 0x22) {
        if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return null // closing quote must end the arg
        done = true
      } else if (c === 0) {
        return null
      } else {
        bytes.push(c)
      }
    } else if (inSingle) {
      if (c === 0x5c && at(p + 1) === 0x27) {
        p++
        bytes.push(0x27)
      } else if (c === 0x27) {
        if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return null
        done = true
      } else if (c === 0) {
        return null
      } else {
        bytes.push(c)
      }
    } else if (endsUnquotedToken(c)) {
      done = true
    } else if (c === 0x22) {
      inDouble = true
    } else if (c === 0x27) {
      inSingle = true
    } else {
      bytes.push(c)
    }
    if (at(p) !== 0) p++
  }
  return { value: Buffer.from(bytes), next: p }
}

/**
 * Splits an inline command line `buf[start, end)` the way Redis's sdssplitargs does: blanks
 * separate args, "double quotes" take \xHH and \n-style escapes, 'single quotes' take \', and a
 * NUL byte ends the line (it is a C string there). Unquoted args are views into `buf`. Returns
 * null on unbalanced quotes.
 */
export function splitInlineArgs(buf: Buffer, start: number, end: number): Buffer[] | null {
  const args: Buffer[] = []
  let p = start
  for (;;) {
    while (p < end && isSpace(buf[p] as number)) p++
    if (p >= end || buf[p] === 0) return args
    const tokenStart = p
    let quoted = false
    for (; p < end; p++) {
      const c = buf[p] as number
      if (endsUnquotedToken(c)) break
      if (c === 0x22 || c === 0x27) {
        quoted = true
        break
      }
    }
    if (!quoted) {
      args.push(buf.subarray(tokenStart, p))
      if (p < end && buf[p] !== 0) p++
      continue
    }
    const token = readQuotedToken({ buf, tokenStart, plainEnd: p, end })
    if (token === null) return null
    args.push(token.value)
    p = token.next
  }
}

/**
 * Resumable RESP request parser for one connection. Feed it socket chunks; `next()` returns
 * complete commands in order, or null when it needs more bytes. After it throws a protocol
 * error the connection must be closed: the parser does not resynchronise.
 *
 * Args are views (subarray) into the fed chunks or into a buffer this parser allocated; they are
 * valid until the next `feed()` by contract (in fact no handed-out byte is ever overwritten).
 */
export class RespParser {
  #limits: ParserLimits
  /** Bytes received and not yet consumed start at #pos; #buf holds exactly the valid bytes. */
  #buf: Buffer = emptyBuffer
  #pos = 0
  /** The parser-owned allocation that #buf is a prefix of, or null if #buf is a fed chunk. */
  #store: Buffer | null = null
  /** Bytes after #pos already searched for the current line's terminator without finding it. */
  #lineScanned = 0
  /** Multibulk state: args still to read (0 when between commands), declared length of the
   * bulk being read (-1 while its `$` header is pending), wire bytes consumed so far. */
  #argsLeft = 0
  #bulkLength = -1
  #args: Buffer[] = []
  #commandBytes = 0
  /** A big bulk being gathered: the chunks (first one is the old tail) and their total. */
  #chunks: Buffer[] | null = null
  #chunksBytes = 0

  constructor(limits: ParserLimits) {
    this.#limits = { ...limits }
  }

  setLimits(limits: ParserLimits): void {
    this.#limits = { ...limits }
  }

  /**
   * Bytes this connection holds for commands not yet returned: the unparsed input plus the wire
   * bytes of the args already parsed for the command in progress (they pin their chunks). The
   * server compares this with client-query-buffer-limit.
   */
  bufferedBytes(): number {
    return this.#buf.length - this.#pos + this.#chunksBytes + this.#commandBytes
  }

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return
    if (this.#chunks !== null) {
      this.#gather(chunk)
      return
    }
    const unconsumed = this.#buf.length - this.#pos
    if (unconsumed === 0) {
      // Everything before was consumed: parse straight from the caller's chunk, no copy.
      this.#setBuffer(chunk, null)
      return
    }
    const bulkLength = this.#bulkLength
    if (bulkLength >= bigBulkBytesMin && unconsumed + chunk.length < bulkLength + 2) {
      this.#chunks = [this.#buf.subarray(this.#pos), chunk]
      this.#chunksBytes = unconsumed + chunk.length
      this.#setBuffer(emptyBuffer, null)
      return
    }
    this.#append(chunk, unconsumed)
  }

  next(): ParsedCommand | null {
    if (this.#chunks !== null) return null
    for (;;) {
      if (this.#argsLeft === 0) {
        const buf = this.#buf
        if (this.#pos === buf.length) {
          if (buf.length !== 0) this.#setBuffer(emptyBuffer, null) // let the chunk be collected
          return null
        }
        if (buf[this.#pos] !== STAR) {
          const inlineArgs = this.#readInline()
          if (inlineArgs === null) return null
          if (inlineArgs.length === 0) continue // an empty line is skipped, as in Redis
          return { args: inlineArgs }
        }
        const count = this.#readMultibulkCount()
        if (count === null) return null
        if (count <= 0) continue // `*0` and `*-1` are skipped, as in Redis
        this.#argsLeft = count
      }
      if (!this.#readBulks()) return null
      const args = this.#args
      this.#args = []
      this.#commandBytes = 0
      return { args }
    }
  }

  #setBuffer(buf: Buffer, store: Buffer | null): void {
    this.#buf = buf
    this.#pos = 0
    this.#store = store
  }

  /** Appends `chunk` after the unconsumed tail, into free space of the parser's own buffer if
   * it fits, else into a new buffer twice the needed size (amortised O(1) per byte). */
  #append(chunk: Buffer, unconsumed: number): void {
    const store = this.#store
    const end = this.#buf.length
    if (store !== null && store.length - end >= chunk.length) {
      chunk.copy(store, end)
      this.#buf = store.subarray(0, end + chunk.length)
      return
    }
    const needed = unconsumed + chunk.length
    const fresh = Buffer.allocUnsafe(Math.max(tailBufferBytesMin, needed * 2))
    this.#buf.copy(fresh, 0, this.#pos, end)
    chunk.copy(fresh, unconsumed)
    this.#setBuffer(fresh.subarray(0, needed), fresh)
  }

  /** Collects chunks of a big bulk; concatenates once when the bulk and its CRLF are all here. */
  #gather(chunk: Buffer): void {
    const chunks = this.#chunks
    assert(chunks !== null, 'gathering a big bulk')
    chunks.push(chunk)
    this.#chunksBytes += chunk.length
    if (this.#chunksBytes < this.#bulkLength + 2) return
    const joined = Buffer.concat(chunks, this.#chunksBytes)
    this.#chunks = null
    this.#chunksBytes = 0
    this.#setBuffer(joined, null)
  }

  /**
   * Finds the CR ending a `*`/`$` header line at #pos. Returns -1 if the line, or the byte after
   * its CR, has not arrived (Redis skips that byte unchecked); throws `tooBig` once more than
   * inlineBytesMax bytes wait without a CR, as Redis does.
   */
  #headerLineEnd(tooBig: string): number {
    const buf = this.#buf
    const pos = this.#pos
    const cr = indexOfByte(buf, CR, pos + this.#lineScanned)
    if (cr === -1) {
      const waiting = buf.length - pos
      if (waiting > this.#limits.inlineBytesMax) throw protocolError(tooBig)
      this.#lineScanned = waiting
      return -1
    }
    this.#lineScanned = cr - pos
    return cr + 1 < buf.length ? cr : -1
  }

  /** Reads `*N\r\n`; returns N, or null if the line is incomplete. */
  #readMultibulkCount(): number | null {
    const cr = this.#headerLineEnd('too big mbulk count string')
    if (cr === -1) return null
    const count = parseRedisInteger(this.#buf, this.#pos + 1, cr)
    if (count === null || count > this.#limits.multibulkLengthMax) {
      throw protocolError('invalid multibulk length')
    }
    this.#commandBytes = count > 0 ? cr + 2 - this.#pos : 0
    this.#pos = cr + 2
    this.#lineScanned = 0
    return count
  }

  /** Reads `$len\r\n`; returns false if the line is incomplete. */
  #readBulkHeader(): boolean {
    const cr = this.#headerLineEnd('too big bulk count string')
    if (cr === -1) return false
    const buf = this.#buf
    const pos = this.#pos
    const first = buf[pos] as number
    if (first !== DOLLAR) {
      // Redis's addReplyErrorFormat turns CR and LF into spaces.
      const shown = first === CR || first === LF ? ' ' : String.fromCharCode(first)
      throw protocolError(`expected '$', got '${shown}'`)
    }
    const length = parseRedisInteger(buf, pos + 1, cr)
    if (length === null || length < 0 || length > this.#limits.bulkBytesMax) {
      throw protocolError('invalid bulk length')
    }
    this.#bulkLength = length
    this.#commandBytes += cr + 2 - pos
    this.#pos = cr + 2
    this.#lineScanned = 0
    return true
  }

  /** Reads the args of the multibulk in progress; false if more bytes are needed. */
  #readBulks(): boolean {
    while (this.#argsLeft > 0) {
      if (this.#bulkLength === -1 && !this.#readBulkHeader()) return false
      const buf = this.#buf
      const start = this.#pos
      const length = this.#bulkLength
      // The two bytes after the data are skipped unchecked, as Redis does.
      if (buf.length - start < length + 2) return false
      this.#args.push(buf.subarray(start, start + length))
      this.#commandBytes += length + 2
      this.#pos = start + length + 2
      this.#bulkLength = -1
      this.#argsLeft--
    }
    return true
  }

  /**
   * Reads one inline line (ended by LF, an optional CR before it is dropped). A line longer than
   * inlineBytesMax is refused whether or not its LF has arrived, so the outcome does not depend
   * on how the bytes were chunked (Redis only checks while the LF is missing).
   */
  #readInline(): Buffer[] | null {
    const buf = this.#buf
    const pos = this.#pos
    const max = this.#limits.inlineBytesMax
    const lf = buf.indexOf(LF, pos + this.#lineScanned)
    if (lf === -1) {
      const waiting = buf.length - pos
      const lastIsCr = buf[buf.length - 1] === CR
      if (waiting > max + 1 || (waiting === max + 1 && !lastIsCr)) {
        throw protocolError('too big inline request')
      }
      this.#lineScanned = waiting
      return null
    }
    const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf
    if (lineEnd - pos > max) throw protocolError('too big inline request')
    const args = splitInlineArgs(buf, pos, lineEnd)
    if (args === null) throw protocolError('unbalanced quotes in request')
    this.#pos = lf + 1
    this.#lineScanned = 0
    return args
  }
}
