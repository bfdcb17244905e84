/* Hint file codec (pure): for one immutable segment, the records that matter at restart (live
 * values, tombstones, clear markers) as `header | entries | crc32`, so recovery reads a few bytes
 * per key instead of every value. Invariant: a hint is trusted only whole: magic, version, entry
 * count, the segment's data size and the trailing CRC over everything must all check out. */
import { assert } from '../core/assert.js'
import { crc32 } from '../core/crc32.js'
import { limits } from '../core/limits.js'

const hintMagic = 0x484b5343 // 'CSKH' little endian
/** Version 2 added each entry's record kind (collections); a version-1 hint is not trusted, so
 * its segment is scanned once and re-hinted. */
const hintVersion = 2
const headerBytes = 40
const entryFixedBytes = 30
const crcBytes = 4
const twoPow32 = 0x1_0000_0000
const bufferBytesInitial = 64 * 1024

export interface HintEntry {
  seq: number
  offset: number
  size: number
  expiresAtMs: number
  /** Record flags (tombstone, clear) as in record-codec. */
  flags: number
  /** RecordKind (string when absent). */
  kind?: number
}

/** A decoded entry; `keyStart..keyEnd` index the hint buffer. Reused across entries. */
export class HintEntryView implements HintEntry {
  seq = 0
  offset = 0
  size = 0
  expiresAtMs = 0
  flags = 0
  kind = 0
  keyStart = 0
  keyEnd = 0
}

/** Who wrote the segment: the write path (sealed at rotation or close) or a merge. */
export const HintOrigin = { writer: 0, merge: 1 } as const
export type HintOrigin = (typeof HintOrigin)[keyof typeof HintOrigin]

export interface HintHeader {
  segmentId: number
  origin: HintOrigin
  /** Size of the data file this hint describes. */
  dataBytes: number
  entryCount: number
  /** Lowest / highest seq of ANY record in the data file (not only the hinted ones). */
  seqMin: number
  seqMax: number
}

/** seqMin of a segment with no records. */
export const hintSeqNone = Number.MAX_SAFE_INTEGER

/** Accumulates entries, then `finish()` returns the complete hint file bytes. */
export class HintWriter {
  #buffer = Buffer.allocUnsafe(bufferBytesInitial)
  #length = headerBytes
  #count = 0
  readonly #segmentId: number
  readonly #origin: HintOrigin

  constructor(segmentId: number, origin: HintOrigin) {
    this.#segmentId = segmentId
    this.#origin = origin
  }

  /** `key` is the keydir's latin1 string (each char one byte). */
  add(key: string, entry: HintEntry): void {
    assert(key.length <= limits.keyBytesMax, 'hint key within keyBytesMax')
    this.#reserve(entryFixedBytes + key.length)
    const b = this.#buffer
    let at = this.#length
    writeU64(b, at, entry.seq)
    b.writeUInt32LE(entry.offset, at + 8)
    b.writeUInt32LE(entry.size, at + 12)
    writeU64(b, at + 16, entry.expiresAtMs)
    b[at + 24] = entry.flags
    b[at + 25] = entry.kind ?? 0
    b.writeUInt32LE(key.length, at + 26)
    at += entryFixedBytes
    at += b.write(key, at, 'latin1')
    this.#length = at
    this.#count++
  }

  /** `seqMin`/`seqMax` cover every record of the segment; an empty one passes hintSeqNone/0. */
  finish(dataBytes: number, seqMin: number, seqMax: number): Buffer {
    this.#reserve(crcBytes)
    const b = this.#buffer
    b.writeUInt32LE(hintMagic, 0)
    b.writeUInt16LE(hintVersion, 4)
    b.writeUInt16LE(this.#origin, 6)
    b.writeUInt32LE(this.#segmentId, 8)
    writeU64(b, 12, dataBytes)
    b.writeUInt32LE(this.#count, 20)
    writeU64(b, 24, seqMin)
    writeU64(b, 32, seqMax)
    b.writeUInt32LE(crc32(b, 0, this.#length), this.#length)
    return b.subarray(0, this.#length + crcBytes)
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return
    let capacity = this.#buffer.length * 2
    while (capacity < this.#length + bytes) capacity *= 2
    const grown = Buffer.allocUnsafe(capacity)
    this.#buffer.copy(grown, 0, 0, this.#length)
    this.#buffer = grown
  }
}

function writeU64(target: Buffer, at: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, 'u64 field is a safe non-negative integer')
  target.writeUInt32LE(value % twoPow32, at)
  target.writeUInt32LE(Math.floor(value / twoPow32), at + 4)
}

function readU64(source: Buffer, at: number): number {
  return source.readUInt32LE(at + 4) * twoPow32 + source.readUInt32LE(at)
}

/** Validates the whole hint; returns its header, or a string saying what is wrong. */
export function checkHint(hint: Buffer): HintHeader | string {
  if (hint.length < headerBytes + crcBytes) return 'hint file too short'
  if (hint.readUInt32LE(0) !== hintMagic) return 'bad hint magic'
  if (hint.readUInt16LE(4) !== hintVersion) return `unknown hint version ${hint.readUInt16LE(4)}`
  const bodyEnd = hint.length - crcBytes
  if (crc32(hint, 0, bodyEnd) !== hint.readUInt32LE(bodyEnd)) return 'hint CRC mismatch'
  const origin = hint.readUInt16LE(6)
  if (origin !== HintOrigin.writer && origin !== HintOrigin.merge)
    return `bad hint origin ${origin}`
  return {
    segmentId: hint.readUInt32LE(8),
    origin,
    dataBytes: readU64(hint, 12),
    entryCount: hint.readUInt32LE(20),
    seqMin: readU64(hint, 24),
    seqMax: readU64(hint, 32),
  }
}

/**
 * Visits the entries of a hint whose `header` came from checkHint. Returns null, or what is wrong
 * when the entries do not add up (which a CRC-valid hint written by HintWriter never does).
 */
export function forEachHintEntry(
  hint: Buffer,
  header: HintHeader,
  visit: (entry: HintEntryView, hint: Buffer) => void,
): string | null {
  const bodyEnd = hint.length - crcBytes
  const view = new HintEntryView()
  let at = headerBytes
  for (let index = 0; index < header.entryCount; index++) {
    if (at + entryFixedBytes > bodyEnd) return `hint entry ${index} cut at offset ${at}`
    view.seq = readU64(hint, at)
    view.offset = hint.readUInt32LE(at + 8)
    view.size = hint.readUInt32LE(at + 12)
    view.expiresAtMs = readU64(hint, at + 16)
    view.flags = hint[at + 24]!
    view.kind = hint[at + 25]!
    const keyBytes = hint.readUInt32LE(at + 26)
    view.keyStart = at + entryFixedBytes
    view.keyEnd = view.keyStart + keyBytes
    if (view.keyEnd > bodyEnd) return `hint entry ${index} key overruns at offset ${at}`
    if (view.offset + view.size > header.dataBytes) {
      return `hint entry ${index} points past the data file at offset ${at}`
    }
    visit(view, hint)
    at = view.keyEnd
  }
  return at === bodyEnd ? null : `hint has ${bodyEnd - at} trailing bytes`
}
