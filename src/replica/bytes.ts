/* Little byte writer and reader for the replica's on-disk and in-snapshot encodings. Numbers are
 * float64 (every Raft index, term and client id is a safe integer), lengths u32, big-endian.
 * Invariant: a reader never reads past its end; a short or malformed input throws an assertion,
 * or the caller's error (wire-reader.ts reads peer bytes with this reader and throws CORRUPT). */
import { AssertionError, assert } from '../core/assert.js'

export class ByteWriter {
  #bytes: Uint8Array
  #view: DataView
  #length = 0

  /** `capacityBytes`: the expected size, so a known-size encoding allocates once. */
  constructor(capacityBytes = 64) {
    this.#bytes = new Uint8Array(Math.max(capacityBytes, 8))
    this.#view = new DataView(this.#bytes.buffer)
  }

  #reserve(count: number): void {
    if (this.#length + count <= this.#bytes.length) return
    let size = this.#bytes.length * 2
    while (size < this.#length + count) size *= 2
    const grown = new Uint8Array(size)
    grown.set(this.#bytes.subarray(0, this.#length))
    this.#bytes = grown
    this.#view = new DataView(grown.buffer)
  }

  u8(value: number): this {
    this.#reserve(1)
    this.#view.setUint8(this.#length, value)
    this.#length += 1
    return this
  }

  u32(value: number): this {
    this.#reserve(4)
    this.#view.setUint32(this.#length, value)
    this.#length += 4
    return this
  }

  num(value: number): this {
    assert(Number.isSafeInteger(value), 'encoded numbers are safe integers')
    this.#reserve(8)
    this.#view.setFloat64(this.#length, value)
    this.#length += 8
    return this
  }

  /** A u32 length, then the bytes. */
  bytes(data: Uint8Array): this {
    this.u32(data.byteLength)
    this.#reserve(data.byteLength)
    this.#bytes.set(data, this.#length)
    this.#length += data.byteLength
    return this
  }

  /** What was written (the writer's own buffer when it is exactly full: do not reuse it). */
  finish(): Uint8Array {
    if (this.#length === this.#bytes.length) return this.#bytes
    return this.#bytes.slice(0, this.#length)
  }
}

/** Builds what a reader throws when its input ends too soon. */
export type ShortInputError = () => Error

const pastTheEnd: ShortInputError = () => new AssertionError('decoding past the end of the input')

export class ByteReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #offset: number
  readonly #end: number
  readonly #shortInput: ShortInputError

  /** `shortInput`: the error for a truncated input (an assertion unless the caller says). */
  constructor(
    bytes: Uint8Array,
    start = 0,
    end = bytes.byteLength,
    shortInput: ShortInputError = pastTheEnd,
  ) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#offset = start
    this.#end = end
    this.#shortInput = shortInput
  }

  get done(): boolean {
    return this.#offset === this.#end
  }

  /** How many bytes are left before the end. */
  get remaining(): number {
    return this.#end - this.#offset
  }

  #take(count: number): number {
    if (count > this.#end - this.#offset) throw this.#shortInput()
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

  /** The next float64 as it is, unchecked (num() and wire-reader.ts check it their own way). */
  f64(): number {
    return this.#view.getFloat64(this.#take(8))
  }

  num(): number {
    const value = this.f64()
    assert(Number.isSafeInteger(value), 'decoded numbers are safe integers')
    return value
  }

  /** A view (not a copy) of the next length-prefixed bytes. */
  bytes(): Uint8Array {
    const length = this.u32()
    const at = this.#take(length)
    return this.#bytes.subarray(at, at + length)
  }
}
