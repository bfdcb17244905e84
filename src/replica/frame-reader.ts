/* Incremental splitter of a byte stream into peer frames (`u32 length | body`). Frames wholly
 * inside a received chunk are handed out as views of that chunk (no copy); only a frame that
 * straddles chunks is gathered into one reusable pending buffer, sized once from its header.
 * Invariant: a length outside 1..peerFrameBytesMax throws CaskadeError(CORRUPT) before any
 * allocation, so a hostile peer cannot make this reader reserve more than one bounded frame. */
import { peerFrameBytesMax } from './peer-codec.js'
import { corruptFrame } from './wire-reader.js'

const lengthBytes = 4
/** A pending buffer grown past this (a big snapshot chunk) is released once its frame is out. */
const pendingKeepBytesMax = 1024 * 1024

function frameLength(bytes: Uint8Array, offset: number): number {
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes.subarray(offset, offset + lengthBytes)
  const length = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0
  if (length < 1 || length > peerFrameBytesMax) {
    throw corruptFrame(`frame length ${length} outside 1..${peerFrameBytesMax}`)
  }
  return length
}

export class FrameReader {
  #pending = new Uint8Array(256)
  #pendingBytes = 0

  /** Bytes held of a frame not yet complete. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /**
   * Feeds one chunk; `onFrame` gets each complete frame's body (type byte and payload), a view
   * valid only during the call. A throw from `onFrame` or a bad length stops the reader: the
   * caller must drop the connection.
   */
  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => void): void {
    let offset = this.#pendingBytes > 0 ? this.#completePending(chunk, onFrame) : 0
    while (offset + lengthBytes <= chunk.byteLength) {
      const end = offset + lengthBytes + frameLength(chunk, offset)
      if (end > chunk.byteLength) break
      onFrame(chunk.subarray(offset + lengthBytes, end))
      offset = end
    }
    if (offset < chunk.byteLength) this.#stash(chunk.subarray(offset))
  }

  /** Gathers the straddling frame; returns where the chunk's unread bytes start. */
  #completePending(chunk: Uint8Array, onFrame: (body: Uint8Array) => void): number {
    let offset = 0
    if (this.#pendingBytes < lengthBytes) {
      offset = Math.min(lengthBytes - this.#pendingBytes, chunk.byteLength)
      this.#stash(chunk.subarray(0, offset))
      if (this.#pendingBytes < lengthBytes) return offset
    }
    const total = lengthBytes + frameLength(this.#pending, 0)
    const take = Math.min(total - this.#pendingBytes, chunk.byteLength - offset)
    this.#stash(chunk.subarray(offset, offset + take), total)
    offset += take
    if (this.#pendingBytes < total) return offset
    this.#pendingBytes = 0
    const body = this.#pending.subarray(lengthBytes, total)
    if (this.#pending.byteLength > pendingKeepBytesMax) this.#pending = new Uint8Array(256)
    onFrame(body)
    return offset
  }

  #stash(bytes: Uint8Array, totalBytes = this.#pendingBytes + bytes.byteLength): void {
    const needed = Math.max(totalBytes, this.#pendingBytes + bytes.byteLength)
    if (needed > this.#pending.byteLength) {
      const doubled = Math.min(this.#pending.byteLength * 2, lengthBytes + peerFrameBytesMax)
      const grown = new Uint8Array(Math.max(needed, doubled))
      grown.set(this.#pending.subarray(0, this.#pendingBytes))
      this.#pending = grown
    }
    this.#pending.set(bytes, this.#pendingBytes)
    this.#pendingBytes += bytes.byteLength
  }
}
