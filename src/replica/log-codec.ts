/* The records of the replica's Raft log file, each framed as u32 length | u32 CRC-32 | payload.
 * A scan stops at the first frame that is short or fails its CRC: that is a torn or corrupt tail
 * (a crash mid-append), and everything before it is intact. Entry records may repeat an index:
 * the later one replaces that entry and every entry after it (a conflicting suffix truncated). */
import { assert } from '../core/assert.js'
import { crc32 } from '../core/crc32.js'
import { decodeMembership, encodeMembership } from '../raft/index.js'
import type { Entry, EntryKind, HardState, Membership } from '../raft/index.js'
import { ByteReader, ByteWriter } from './bytes.js'

export type LogRecord =
  /** The compaction point the file's log starts after, and the membership to boot with. */
  | {
      readonly type: 'base'
      readonly index: number
      readonly term: number
      readonly membership: Membership
    }
  /** The file's rewritten prefix is complete: from here on the file is the authoritative log. */
  | { readonly type: 'sealed' }
  | { readonly type: 'hard'; readonly hardState: HardState }
  | { readonly type: 'entry'; readonly entry: Entry }

const typeCodes = { base: 1, sealed: 2, hard: 3, entry: 4 } as const
const kindCodes: Readonly<Record<EntryKind, number>> = { command: 1, noop: 2, config: 3 }
const kindsByCode: readonly (EntryKind | undefined)[] = [undefined, 'command', 'noop', 'config']
const frameHeaderBytes = 8

export function encodeRecord(record: LogRecord): Uint8Array {
  const sizeBytes = record.type === 'entry' ? 22 + record.entry.data.byteLength : 64
  // Room for the frame header first, filled in once the payload is known (no second copy).
  const writer = new ByteWriter(frameHeaderBytes + sizeBytes).u32(0).u32(0)
  writer.u8(typeCodes[record.type])
  switch (record.type) {
    case 'base':
      writer.num(record.index).num(record.term).bytes(encodeMembership(record.membership))
      break
    case 'sealed':
      break
    case 'hard':
      writer.num(record.hardState.term).num(record.hardState.vote).num(record.hardState.commit)
      break
    case 'entry': {
      const { term, index, kind, data } = record.entry
      writer.num(term).num(index).u8(kindCodes[kind]).bytes(data)
      break
    }
  }
  const framed = writer.finish()
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength)
  view.setUint32(0, framed.byteLength - frameHeaderBytes)
  view.setUint32(4, crc32(framed, frameHeaderBytes))
  return framed
}

/** length | crc | payload. */
export function frame(payload: Uint8Array): Uint8Array {
  const framed = new Uint8Array(frameHeaderBytes + payload.byteLength)
  const view = new DataView(framed.buffer)
  view.setUint32(0, payload.byteLength)
  view.setUint32(4, crc32(payload))
  framed.set(payload, frameHeaderBytes)
  return framed
}

/** The payload of the frame at `offset` and where the next one starts; null if torn or corrupt. */
export function unframe(
  bytes: Uint8Array,
  offset: number,
): { payload: Uint8Array; next: number } | null {
  if (offset + frameHeaderBytes > bytes.byteLength) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const length = view.getUint32(offset)
  const start = offset + frameHeaderBytes
  if (start + length > bytes.byteLength) return null
  const payload = bytes.subarray(start, start + length)
  if (crc32(payload) !== view.getUint32(offset + 4)) return null
  return { payload, next: start + length }
}

function decodePayload(payload: Uint8Array): LogRecord {
  const reader = new ByteReader(payload)
  const code = reader.u8()
  let record: LogRecord
  if (code === typeCodes.base) {
    const index = reader.num()
    const term = reader.num()
    record = { type: 'base', index, term, membership: decodeMembership(reader.bytes()) }
  } else if (code === typeCodes.sealed) {
    record = { type: 'sealed' }
  } else if (code === typeCodes.hard) {
    record = {
      type: 'hard',
      hardState: { term: reader.num(), vote: reader.num(), commit: reader.num() },
    }
  } else {
    assert(code === typeCodes.entry, `unknown log record type ${code}`)
    const term = reader.num()
    const index = reader.num()
    const kind = kindsByCode[reader.u8()]
    assert(kind !== undefined, 'unknown entry kind')
    // Copy: the entry outlives the file buffer it was read from.
    record = { type: 'entry', entry: { term, index, kind, data: reader.bytes().slice() } }
  }
  assert(reader.done, 'log record has trailing bytes')
  return record
}

/** Every intact record from the start, and the byte length they span (the rest is torn). */
export function scanRecords(bytes: Uint8Array): { records: LogRecord[]; validBytes: number } {
  const records: LogRecord[] = []
  let offset = 0
  for (;;) {
    const framed = unframe(bytes, offset)
    if (framed === null) break
    records.push(decodePayload(framed.payload))
    offset = framed.next
  }
  return { records, validBytes: offset }
}
