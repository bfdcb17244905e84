/* A bounds-checked reader for bytes that came from another process (the peer wire). Same layout
 * as bytes.ts's ByteWriter (big-endian u8/u32, float64 integers, u32-length-prefixed bytes), but
 * every malformed input throws a CaskadeError(CORRUPT), never an assertion: a bad peer frame is an
 * operating error that closes one connection, not a programmer error that stops the process. */
import { CaskadeError, ErrorCode } from '../core/errors.js'

const decoder = new TextDecoder('utf-8', { fatal: true })

export function corruptFrame(what: string): CaskadeError {
  return new CaskadeError(ErrorCode.Corrupt, `peer frame: ${what}`)
}

/** True for the errors decoding throws: the connection that sent the bytes must be dropped. */
export function isCorruptFrame(error: unknown): error is CaskadeError {
  return error instanceof CaskadeError && error.code === ErrorCode.Corrupt
}

export class WireReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #offset: number
  readonly #end: number

  constructor(bytes: Uint8Array, start = 0, end = bytes.byteLength) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#offset = start
    this.#end = end
  }

  get done(): boolean {
    return this.#offset === this.#end
  }

  /** Throws unless every byte was consumed (trailing bytes mean a corrupt or foreign frame). */
  finish(): void {
    if (this.#offset !== this.#end) throw corruptFrame('trailing bytes')
  }

  #take(count: number): number {
    if (count > this.#end - this.#offset) throw corruptFrame('truncated')
    const at = this.#offset
    this.#offset += count
    return at
  }

  u8(): number {
    return this.#view.getUint8(this.#take(1))
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4))
  }

  bool(): boolean {
    const value = this.u8()
    if (value > 1) throw corruptFrame('bad boolean')
    return value === 1
  }

  /** A non-negative safe integer (every id, term, index, offset and port on the wire is one). */
  uint(): number {
    const value = this.#view.getFloat64(this.#take(8))
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
    const length = this.u32()
    const at = this.#take(length)
    return this.#bytes.subarray(at, at + length)
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
    if (count * minItemBytes > this.#end - this.#offset) throw corruptFrame('bad count')
    return count
  }
}
