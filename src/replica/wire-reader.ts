/* A bounds-checked reader for bytes that came from another process (the peer wire). Same layout
 * as bytes.ts's ByteWriter, read by bytes.ts's ByteReader (big-endian u8/u32, float64 integers,
 * u32-length-prefixed bytes), but every malformed input throws a CaskadeError(CORRUPT), never an
 * assertion: a bad peer frame is an operating error that closes one connection, not a programmer
 * error that stops the process. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { ByteReader } from './bytes.js'

const decoder = new TextDecoder('utf-8', { fatal: true })

export function corruptFrame(what: string): CaskadeError {
  return new CaskadeError(ErrorCode.Corrupt, `peer frame: ${what}`)
}

/** True for the errors decoding throws: the connection that sent the bytes must be dropped. */
export function isCorruptFrame(error: unknown): error is CaskadeError {
  return error instanceof CaskadeError && error.code === ErrorCode.Corrupt
}

const truncated = (): CaskadeError => corruptFrame('truncated')

export class WireReader {
  readonly #reader: ByteReader

  constructor(bytes: Uint8Array, start = 0, end = bytes.byteLength) {
    this.#reader = new ByteReader(bytes, start, end, truncated)
  }

  get done(): boolean {
    return this.#reader.done
  }

  /** Throws unless every byte was consumed (trailing bytes mean a corrupt or foreign frame). */
  finish(): void {
    if (!this.#reader.done) throw corruptFrame('trailing bytes')
  }

  u8(): number {
    return this.#reader.u8()
  }

  u32(): number {
    return this.#reader.u32()
  }

  bool(): boolean {
    const value = this.u8()
    if (value > 1) throw corruptFrame('bad boolean')
    return value === 1
  }

  /** A non-negative safe integer (every id, term, index, offset and port on the wire is one). */
  uint(): number {
    const value = this.#reader.f64()
    if (!Number.isSafeInteger(value) || value < 0) throw corruptFrame('bad integer')
    return value
  }

  /** A COPY of the next length-prefixed bytes: decoded values outlive the receive buffer. */
  bytes(): Uint8Array {
    // new Uint8Array(view) copies; view.slice() would not when the input is a Buffer.
    return new Uint8Array(this.view())
  }

  /** A view of the next length-prefixed bytes, valid only while the receive buffer is. */
  view(): Uint8Array {
    return this.#reader.bytes()
  }

  string(): string {
    try {
      return decoder.decode(this.view())
    } catch (error) {
      if (error instanceof CaskadeError) throw error
      throw corruptFrame('bad UTF-8')
    }
  }

  /** A u32 count of items that each take at least `minItemBytes` (bounds the allocation). */
  count(minItemBytes: number): number {
    const count = this.u32()
    if (count * minItemBytes > this.#reader.remaining) throw corruptFrame('bad count')
    return count
  }
}
