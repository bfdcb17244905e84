/* Bitcask record codec (pure): `crc32 | seq u64 | timestampMs u64 | expiresAtMs u64 | flags u8 |
 * kind u8 | klen u32 | vlen u32 | key | value`, little endian, CRC over every byte after the CRC.
 * Invariant: an encoded record decodes to the same fields (checked on encode and on every decode),
 * so a flipped bit anywhere in a record is caught before its bytes are trusted. */
import { assert } from '../core/assert.js'
import { crc32 } from '../core/crc32.js'
import { limits } from '../core/limits.js'

export const recordHeaderBytes = 38
const seqAt = 4
const timestampAt = 12
const expiresAt = 20
const flagsAt = 28
const kindAt = 29
const keyLengthAt = 30
const valueLengthAt = 34
const twoPow32 = 0x1_0000_0000
/** Largest high word that keeps a u64 within Number.MAX_SAFE_INTEGER. */
const safeHighWordMax = 0x1f_ffff

export const RecordFlag = {
  /** The key was deleted at this seq. */
  tombstone: 1,
  /** FLUSHALL: every record with a lower seq is gone. */
  clear: 2,
  /**
   * Atomic group (MULTI/EXEC, MSET): the next record in this segment belongs to the same group.
   * A group is a run of flagged records closed by one unflagged record; recovery applies it
   * whole or, when the file ends inside it (a torn tail), not at all. See storage/types.ts.
   */
  groupContinues: 4,
} as const
const knownFlagsMask = RecordFlag.tombstone | RecordFlag.clear | RecordFlag.groupContinues

/**
 * Record kinds. A string's record, or a collection's metadata record (hash, set, zset, list: its
 * value is the collection's version), lives under the user's key; an element record (one field,
 * member or list element of a collection version, see collection-key.ts) lives in a separate
 * namespace, so no user key can collide with an internal one whatever its bytes.
 */
export const RecordKind = { string: 0, hash: 1, set: 2, element: 3, zset: 4, list: 5 } as const
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind]

/** A metadata record of a collection (its elements are element records). */
export const isCollectionKind = (kind: number): boolean =>
  kind === RecordKind.hash ||
  kind === RecordKind.set ||
  kind === RecordKind.zset ||
  kind === RecordKind.list

export const DecodeStatus = { ok: 0, needMore: 1, badCrc: 2, badHeader: 3 } as const
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus]

export interface RecordFields {
  seq: number
  timestampMs: number
  expiresAtMs: number
  flags: number
  kind: number
  key: Uint8Array
  value: Uint8Array
}

/** A decoded record: offsets into the buffer it was decoded from. Reused to avoid garbage. */
export class RecordView {
  seq = 0
  timestampMs = 0
  expiresAtMs = 0
  flags = 0
  kind = 0
  /** Record start in the decoded buffer. */
  start = 0
  keyStart = 0
  /** Also the value's start. */
  keyEnd = 0
  /** Also the record's end. */
  valueEnd = 0
  /** Whole record size; after `needMore`, the bytes needed from `start` (when known). */
  size = 0
  /** Why decoding failed (badHeader / badCrc). */
  problem = ''
}

export function recordBytes(keyBytes: number, valueBytes: number): number {
  return recordHeaderBytes + keyBytes + valueBytes
}

/** Stores a u32 byte by byte: Buffer#writeUInt32LE re-validates its arguments on every call. */
function writeU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value & 0xff
  target[at + 1] = (value >>> 8) & 0xff
  target[at + 2] = (value >>> 16) & 0xff
  target[at + 3] = value >>> 24
}

function writeU64(target: Uint8Array, at: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, 'u64 field is a safe non-negative integer')
  writeU32(target, at, value % twoPow32)
  writeU32(target, at + 4, Math.floor(value / twoPow32))
}

/** Reads a u64 written by writeU64; -1 when it is beyond the safe integer range. */
function readU64(source: Uint8Array, at: number): number {
  const low = source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16)
  const high = source[at + 4]! | (source[at + 5]! << 8) | (source[at + 6]! << 16)
  const lowTop = source[at + 3]!
  const highTop = source[at + 7]!
  const highWord = high + highTop * 0x100_0000
  if (highWord > safeHighWordMax) return -1
  return highWord * twoPow32 + low + lowTop * 0x100_0000
}

function readU32(source: Uint8Array, at: number): number {
  return (
    (source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16)) + source[at + 3]! * 0x100_0000
  )
}

/** Encodes `fields` into `target` at `at`; returns the end offset. The caller sized `target`. */
export function encodeRecord(target: Buffer, at: number, fields: RecordFields): number {
  const keyBytes = fields.key.length
  const valueBytes = fields.value.length
  assert(keyBytes <= limits.keyBytesMax, 'key length within keyBytesMax')
  assert(valueBytes <= limits.bulkBytesMax, 'value length within bulkBytesMax')
  assert((fields.flags & ~knownFlagsMask) === 0, 'only known record flags')
  assert(fields.kind >= 0 && fields.kind <= 0xff, 'record kind is a byte')
  const end = at + recordHeaderBytes + keyBytes + valueBytes
  assert(end <= target.length, 'record fits the target buffer')
  writeU64(target, at + seqAt, fields.seq)
  writeU64(target, at + timestampAt, fields.timestampMs)
  writeU64(target, at + expiresAt, fields.expiresAtMs)
  target[at + flagsAt] = fields.flags
  target[at + kindAt] = fields.kind
  writeU32(target, at + keyLengthAt, keyBytes)
  writeU32(target, at + valueLengthAt, valueBytes)
  target.set(fields.key, at + recordHeaderBytes)
  target.set(fields.value, at + recordHeaderBytes + keyBytes)
  const crc = crc32(target, at + seqAt, end)
  writeU32(target, at, crc)
  // Paired assertion: the bytes now in the buffer must pass the same check a reader applies.
  assert(crc32(target, at + seqAt, end) === readU32(target, at), 'encoded record CRC verifies')
  return end
}

/**
 * Clears `flag` in the encoded record at `target[start..end)` and rewrites its CRC (closing an
 * atomic group; merge dropping the group flag from a copy). The record must verify before.
 */
export function clearRecordFlag(target: Buffer, start: number, end: number, flag: number): void {
  const flags = target[start + flagsAt]!
  if ((flags & flag) === 0) return
  assert(crc32(target, start + seqAt, end) === readU32(target, start), 'rewritten record verifies')
  target[start + flagsAt] = flags & ~flag
  writeU32(target, start, crc32(target, start + seqAt, end))
}

/**
 * Decodes the record at `source[start..]`, looking no further than `end`. On `ok` the view holds
 * its fields; on `needMore` `view.size` is the bytes needed from `start` (a header's worth when
 * the header itself is cut). The CRC is verified before `ok` is returned.
 */
export function decodeRecord(
  view: RecordView,
  source: Uint8Array,
  start: number,
  end: number,
): DecodeStatus {
  view.start = start
  if (end - start < recordHeaderBytes) {
    view.size = recordHeaderBytes
    return DecodeStatus.needMore
  }
  const keyBytes = readU32(source, start + keyLengthAt)
  const valueBytes = readU32(source, start + valueLengthAt)
  const flags = source[start + flagsAt]!
  if (keyBytes > limits.keyBytesMax || valueBytes > limits.bulkBytesMax) {
    view.problem = `record lengths out of range (key ${keyBytes}, value ${valueBytes})`
    return DecodeStatus.badHeader
  }
  const size = recordHeaderBytes + keyBytes + valueBytes
  view.size = size
  if (end - start < size) return DecodeStatus.needMore
  const stored = readU32(source, start)
  if (crc32(source, start + seqAt, start + size) !== stored) {
    view.problem = 'record CRC mismatch'
    return DecodeStatus.badCrc
  }
  // The CRC passed, so these fields are what the writer wrote; check what the writer asserted.
  const seq = readU64(source, start + seqAt)
  const timestampMs = readU64(source, start + timestampAt)
  const expiresAtMs = readU64(source, start + expiresAt)
  if ((flags & ~knownFlagsMask) !== 0 || seq < 0 || timestampMs < 0 || expiresAtMs < 0) {
    view.problem = 'record header fields out of range'
    return DecodeStatus.badHeader
  }
  view.seq = seq
  view.timestampMs = timestampMs
  view.expiresAtMs = expiresAtMs
  view.flags = flags
  view.kind = source[start + kindAt]!
  view.keyStart = start + recordHeaderBytes
  view.keyEnd = view.keyStart + keyBytes
  view.valueEnd = start + size
  return DecodeStatus.ok
}
