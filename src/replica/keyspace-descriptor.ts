/* The descriptor of a replicated keyspace's file snapshot: the snapshot directory's name, the
 * machine's meta (last applied index, apply time, address book, WATCH bookkeeping) and the frozen
 * files with their sizes. Invariant: a decoded descriptor names only plain file names (checked by
 * snapshot-files.ts's patterns), so it can never point outside the snapshots directory. */
import { assert } from '../core/assert.js'
import { ByteReader, ByteWriter } from './bytes.js'
import { readKeyspaceMeta, writeKeyspaceMeta, type KeyspaceMeta } from './keyspace-snapshot.js'
import { isSnapshotDirName, isSnapshotFileName } from './snapshot-files.js'

/** 2: never 1, a logical dump's first byte (keyspace-snapshot.ts): the two are told apart. */
const descriptorFormatVersion = 2
const dumpFormatVersion = 1

export interface SnapshotFileEntry {
  readonly name: string
  readonly bytes: number
}

export interface KeyspaceDescriptor {
  /** The directory under DIR/cluster/snapshots/ holding the frozen files. */
  readonly dirName: string
  readonly meta: KeyspaceMeta
  readonly files: readonly SnapshotFileEntry[]
}

export function encodeDescriptor(descriptor: KeyspaceDescriptor): Uint8Array {
  const writer = new ByteWriter(1024).u8(descriptorFormatVersion)
  writer.bytes(Buffer.from(descriptor.dirName, 'latin1'))
  writeKeyspaceMeta(writer, descriptor.meta)
  writer.u32(descriptor.files.length)
  for (const file of descriptor.files)
    writer.bytes(Buffer.from(file.name, 'latin1')).num(file.bytes)
  return writer.finish()
}

export function decodeDescriptor(data: Uint8Array): KeyspaceDescriptor {
  const reader = new ByteReader(data)
  assert(reader.u8() === descriptorFormatVersion, 'keyspace descriptor format version')
  const dirName = Buffer.from(reader.bytes()).toString('latin1')
  assert(isSnapshotDirName(dirName), 'a descriptor names a snapshot directory')
  const meta = readKeyspaceMeta(reader)
  const files: SnapshotFileEntry[] = []
  for (let i = reader.u32(); i > 0; i--) {
    const name = Buffer.from(reader.bytes()).toString('latin1')
    assert(isSnapshotFileName(name), 'a descriptor names plain files')
    files.push({ name, bytes: reader.num() })
  }
  assert(reader.done, 'keyspace descriptor has trailing bytes')
  return { dirName, meta, files }
}

/** True for a logical dump (a snapshot made before file snapshots), false for a descriptor. */
export function isKeyspaceDump(machineBytes: Uint8Array): boolean {
  return machineBytes[0] === dumpFormatVersion
}

/** A descriptor's directory and last applied index, read without decoding the rest (the WATCH
 * bookkeeping in the meta may hold 100,000 keys). */
export function peekDescriptor(data: Uint8Array): { dirName: string; lastIndex: number } {
  const reader = new ByteReader(data)
  assert(reader.u8() === descriptorFormatVersion, 'keyspace descriptor format version')
  const dirName = Buffer.from(reader.bytes()).toString('latin1')
  assert(isSnapshotDirName(dirName), 'a descriptor names a snapshot directory')
  return { dirName, lastIndex: reader.num() }
}

/** The last applied index a dump or a descriptor was taken at. */
export function machineSnapshotLastIndex(machineBytes: Uint8Array): number {
  if (!isKeyspaceDump(machineBytes)) return peekDescriptor(machineBytes).lastIndex
  const reader = new ByteReader(machineBytes)
  reader.u8()
  return reader.num()
}
