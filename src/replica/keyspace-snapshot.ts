/* The replicated keyspace's snapshot: a versioned logical dump (every key in byte order with its
 * type, expiry and value, or its fields/members with their values/scores in insertion order;
 * the address book; the WATCH bookkeeping; apply time and last applied index). Invariant: equal
 * states give equal bytes, whatever the engine's layout, and loading a dump into an empty engine
 * gives a state that dumps to the same bytes. */
import { assert } from '../core/assert.js'
import type { NodeId } from '../raft/types.js'
import { isCollectionKind } from '../storage/record-codec.js'
import type { StorageEngine } from '../storage/types.js'
import { ByteReader, ByteWriter } from './bytes.js'
import { readAddress, writeAddress, type NodeAddress } from './command-entry.js'
import { allKeys } from './tracked-engine.js'

const snapshotFormatVersion = 1

/** What the snapshot holds besides the keys. */
export interface KeyspaceMeta {
  readonly lastIndex: number
  readonly appliedTimeMs: number
  readonly addressBook: ReadonlyMap<NodeId, NodeAddress>
  readonly modifiedFloorIndex: number
  /** Oldest first. */
  readonly modified: ReadonlyArray<readonly [string, number]>
}

function writeKey(writer: ByteWriter, engine: StorageEngine, key: Buffer): void {
  const kind = engine.kindOf(key)
  const expiresAtMs = engine.expiresAtMs(key)
  assert(kind !== null && expiresAtMs !== null, 'a scanned key is present')
  writer.bytes(key).u8(kind).num(expiresAtMs)
  if (!isCollectionKind(kind)) {
    writer.bytes(engine.get(key) as Buffer)
    return
  }
  const fields = engine.elementFields(key)
  writer.u32(fields.length)
  for (const field of fields) {
    const value = engine.getElement(key, field)
    assert(value !== null, 'a listed field has a value')
    writer.bytes(field).bytes(value)
  }
}

export function encodeKeyspaceSnapshot(engine: StorageEngine, meta: KeyspaceMeta): Uint8Array {
  const writer = new ByteWriter(4096).u8(snapshotFormatVersion)
  writeKeyspaceMeta(writer, meta)
  const keys = allKeys(engine).sort((a, b) => Buffer.compare(a, b))
  writer.u32(keys.length)
  let previous: Buffer | null = null
  for (const key of keys) {
    assert(previous === null || !previous.equals(key), 'a snapshot lists each key once')
    writeKey(writer, engine, key)
    previous = key
  }
  return writer.finish()
}

function readKey(reader: ByteReader, engine: StorageEngine): void {
  const key = Buffer.from(reader.bytes())
  const kind = reader.u8()
  const expiresAtMs = reader.num()
  if (!isCollectionKind(kind)) {
    engine.put(key, Buffer.from(reader.bytes()), expiresAtMs)
    return
  }
  const count = reader.u32()
  assert(count > 0, 'a snapshot collection is not empty')
  engine.createCollection(key, kind, expiresAtMs)
  for (let i = 0; i < count; i++) {
    const field = Buffer.from(reader.bytes())
    engine.putElement(key, field, Buffer.from(reader.bytes()))
  }
}

/** Loads the keys of `data` into `engine` (which must be empty); returns the rest. */
export function decodeKeyspaceSnapshot(data: Uint8Array, engine: StorageEngine): KeyspaceMeta {
  assert(engine.keyCount() === 0, 'a snapshot loads into an empty engine')
  const reader = new ByteReader(data)
  assert(reader.u8() === snapshotFormatVersion, 'keyspace snapshot format version')
  const meta = readKeyspaceMeta(reader)
  for (let i = reader.u32(); i > 0; i--) readKey(reader, engine)
  assert(reader.done, 'keyspace snapshot has trailing bytes')
  return meta
}

/** The meta part of a dump (also a file snapshot's descriptor's). */
export function writeKeyspaceMeta(writer: ByteWriter, meta: KeyspaceMeta): void {
  writer.num(meta.lastIndex).num(meta.appliedTimeMs)
  const ids = [...meta.addressBook.keys()].sort((a, b) => a - b)
  writer.u32(ids.length)
  for (const id of ids) writeAddress(writer.num(id), meta.addressBook.get(id) as NodeAddress)
  writer.num(meta.modifiedFloorIndex).u32(meta.modified.length)
  for (const [name, index] of meta.modified) writer.bytes(Buffer.from(name, 'latin1')).num(index)
}

export function readKeyspaceMeta(reader: ByteReader): KeyspaceMeta {
  const lastIndex = reader.num()
  const appliedTimeMs = reader.num()
  const addressBook = new Map<NodeId, NodeAddress>()
  for (let i = reader.u32(); i > 0; i--) {
    const id = reader.num()
    addressBook.set(id, readAddress(reader))
  }
  const modifiedFloorIndex = reader.num()
  const modified: Array<[string, number]> = []
  for (let i = reader.u32(); i > 0; i--) {
    const view = reader.bytes()
    // A view, not a copy: up to modifiedKeysMax names are read at every restart.
    const name = Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('latin1')
    modified.push([name, reader.num()])
  }
  return { lastIndex, appliedTimeMs, addressBook, modifiedFloorIndex, modified }
}
