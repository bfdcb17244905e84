/* Encodings of snapshots: the state bytes Raft ships to followers (the session table and the
 * state machine's own snapshot, which together are the replicated state) and the snapshot file
 * (index, term, membership, state bytes) in one CRC frame, so a torn file is never mistaken for
 * a snapshot. */
import { assert } from '../core/assert.js'
import { decodeMembership, encodeMembership, type Snapshot } from '../raft/index.js'
import { ByteReader, ByteWriter } from './bytes.js'
import { frame, unframe } from './log-codec.js'
import { SessionTable } from './sessions.js'

/** 2: sessions keep ackedThrough and several replies per client; 1 (still read): one reply. */
const stateFormatVersion = 2
const legacyStateFormatVersion = 1

export function encodeState(sessions: SessionTable, machine: Uint8Array): Uint8Array {
  const writer = new ByteWriter().u8(stateFormatVersion)
  sessions.encode(writer)
  return writer.bytes(machine).finish()
}

/** Restores `sessions` in place; returns the state machine's snapshot bytes (a view). */
export function decodeState(data: Uint8Array, sessions: SessionTable): Uint8Array {
  const reader = new ByteReader(data)
  const version = reader.u8()
  assert(
    version === stateFormatVersion || version === legacyStateFormatVersion,
    'snapshot state format version',
  )
  sessions.decode(reader, version === legacyStateFormatVersion)
  const machine = reader.bytes()
  assert(reader.done, 'snapshot state has trailing bytes')
  return machine
}

/** The session table's part of the state bytes, taken now (a file capture resolves later). */
export function encodeSessions(sessions: SessionTable): Uint8Array {
  const writer = new ByteWriter()
  sessions.encode(writer)
  return writer.finish()
}

/** encodeState() from sessions encoded earlier by encodeSessions(). */
export function encodeStateParts(sessions: Uint8Array, machine: Uint8Array): Uint8Array {
  const head = new ByteWriter(1).u8(stateFormatVersion).finish()
  return Buffer.concat([head, sessions, new ByteWriter().bytes(machine).finish()])
}

/**
 * The state machine's part of a Raft snapshot's data (for a file snapshot: its descriptor), so
 * the caller can open the machine from the log's snapshot before the host starts.
 */
export function snapshotMachineBytes(data: Uint8Array): Uint8Array {
  return decodeState(data, new SessionTable(Number.MAX_SAFE_INTEGER))
}

export function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const payload = new ByteWriter()
    .num(snapshot.index)
    .num(snapshot.term)
    .bytes(encodeMembership(snapshot.membership))
    .bytes(snapshot.data)
    .finish()
  return frame(payload)
}

/** The snapshot in a file's bytes, or null if the file is torn or corrupt. */
export function decodeSnapshotFile(bytes: Uint8Array): Snapshot | null {
  const framed = unframe(bytes, 0)
  if (framed === null || framed.next !== bytes.byteLength) return null
  const reader = new ByteReader(framed.payload)
  const index = reader.num()
  const term = reader.num()
  const membership = decodeMembership(reader.bytes())
  const data = reader.bytes().slice()
  assert(reader.done, 'snapshot file has trailing bytes')
  return { index, term, membership, data }
}
