/* Sequential record reader over one segment file (pure: reads through the BlockFile port in
 * chunks). Used by recovery, merge and inspect. Invariant: `next()` yields records in file
 * order and stops at the first bad or cut record, reporting its offset; it never skips bytes. */
import { assert } from '../core/assert.js'
import type { BlockFile } from '../core/ports.js'
import { DecodeStatus, RecordView, decodeRecord } from './record-codec.js'

export const ScanStatus = { ...DecodeStatus, end: 4 } as const
export type ScanStatus = (typeof ScanStatus)[keyof typeof ScanStatus]

const chunkBytesDefault = 1024 * 1024

export class SegmentScanner {
  /** The last record decoded (or the one that failed); offsets index `buffer`. */
  readonly view = new RecordView()
  /** File offset of the record in `view`. */
  recordOffset = 0
  #buffer: Buffer
  /** File offset of buffer[0]. */
  #bufferFileOffset = 0
  #bufferLength = 0
  #position = 0
  readonly #file: BlockFile
  readonly #fileBytes: number

  /** Scans `file` from `startOffset` up to `fileBytes` (the size to trust). */
  constructor(file: BlockFile, fileBytes: number, startOffset = 0, chunkBytes = chunkBytesDefault) {
    this.#file = file
    this.#fileBytes = fileBytes
    this.#buffer = Buffer.allocUnsafe(chunkBytes)
    this.#bufferFileOffset = startOffset
  }

  get buffer(): Buffer {
    return this.#buffer
  }

  /** File offset of the next record to read (the end of the last good record). */
  get offset(): number {
    return this.#bufferFileOffset + this.#position
  }

  get fileBytes(): number {
    return this.#fileBytes
  }

  /**
   * Decodes the next record. `ok`: `view` holds it. `end`: clean end of file. `needMore`: the
   * record is cut by the end of the file. `badCrc` / `badHeader`: corrupt at `recordOffset`.
   */
  next(): ScanStatus {
    this.recordOffset = this.offset
    if (this.recordOffset >= this.#fileBytes) return ScanStatus.end
    for (;;) {
      const status = decodeRecord(this.view, this.#buffer, this.#position, this.#bufferLength)
      if (status === DecodeStatus.ok) {
        this.#position = this.view.valueEnd
        return status
      }
      if (status !== DecodeStatus.needMore) return status
      if (this.recordOffset + this.view.size > this.#fileBytes) return status
      this.#refill(this.view.size)
    }
  }

  /** Keeps the unread bytes, makes room for `recordBytes` and reads the next chunk. */
  #refill(recordBytes: number): void {
    const unread = this.#bufferLength - this.#position
    if (recordBytes > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(recordBytes)
      this.#buffer.copy(grown, 0, this.#position, this.#bufferLength)
      this.#buffer = grown
    } else {
      this.#buffer.copy(this.#buffer, 0, this.#position, this.#bufferLength)
    }
    this.#bufferFileOffset += this.#position
    this.#position = 0
    this.#bufferLength = unread
    const readFrom = this.#bufferFileOffset + unread
    const wanted = Math.min(this.#buffer.length - unread, this.#fileBytes - readFrom)
    assert(wanted > 0, 'a refill reads at least one byte')
    const into = this.#buffer.subarray(unread)
    const read = this.#file.readSync(readFrom, wanted, into)
    assert(read === wanted, `read ${wanted} bytes at offset ${readFrom} of ${this.#file.path}`)
    this.#bufferLength += read
  }
}
