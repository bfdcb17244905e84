/* The payloads of the replicated keyspace's Raft log entries (one Redis command, a MULTI/EXEC,
 * an expiry tick, an address-book entry) and of its read queries, as bytes. Invariant:
 * decode(encode(e)) equals e, and bytes that are not an encoding fail an assertion (a committed
 * log entry is never garbage). Pure: the leader encodes, every node decodes the same bytes. */
import { assert } from '../core/assert.js'
import type { ProtocolVersion } from '../protocol/types.js'
import type { NodeId } from '../raft/types.js'
import { ByteReader, ByteWriter } from './bytes.js'

/** How clients and peers reach a node (kept in the replicated address book). */
export interface NodeAddress {
  /** The node's name (`--node-id`). */
  readonly name: string
  /** Host of both ports. */
  readonly host: string
  /** The client (RESP) port. */
  readonly port: number
  /** The peer (Raft) port. */
  readonly clusterPort: number
}

/** One Redis command; `timeMs` is the proposer's wall clock (apply time never goes back). */
export interface SingleCommandEntry {
  readonly kind: 'command'
  readonly timeMs: number
  readonly protocol: ProtocolVersion
  readonly argv: readonly Buffer[]
}

/**
 * A MULTI/EXEC. Aborts at apply (nil array) if a watched key was modified by an entry with a
 * log index above `watchIndex` (the applied index the WATCHes were taken at).
 */
export interface ExecEntry {
  readonly kind: 'exec'
  readonly timeMs: number
  readonly protocol: ProtocolVersion
  readonly watchIndex: number
  readonly watched: readonly Buffer[]
  readonly commands: ReadonlyArray<readonly Buffer[]>
}

/** Advances the apply time and runs the active expiry cycle at it. */
export interface TickEntry {
  readonly kind: 'tick'
  readonly timeMs: number
}

/** Adds or replaces one node's address in the address book. */
export interface AddressEntry {
  readonly kind: 'address'
  readonly id: NodeId
  readonly address: NodeAddress
}

export type CommandEntry = SingleCommandEntry | ExecEntry | TickEntry | AddressEntry

/** A read-only command, answered from local state (never changes what later applies see). */
export interface KeyspaceQuery {
  readonly protocol: ProtocolVersion
  readonly argv: readonly Buffer[]
}

const entryFormatVersion = 1
const kindTags = { command: 1, exec: 2, tick: 3, address: 4 } as const
const queryTag = 0x51 // 'Q': a query is never mistaken for an entry

function writeArgv(writer: ByteWriter, argv: readonly Uint8Array[]): void {
  writer.u32(argv.length)
  for (const arg of argv) writer.bytes(arg)
}

/** Copies: a decoded entry outlives the log buffer it was read from. */
function readArgv(reader: ByteReader): Buffer[] {
  const count = reader.u32()
  const argv: Buffer[] = []
  for (let i = 0; i < count; i++) argv.push(Buffer.from(reader.bytes()))
  return argv
}

function readProtocol(reader: ByteReader): ProtocolVersion {
  const protocol = reader.u8()
  assert(protocol === 2 || protocol === 3, 'entry protocol is 2 or 3')
  return protocol
}

function writeString(writer: ByteWriter, text: string): void {
  writer.bytes(Buffer.from(text, 'utf8'))
}

function readString(reader: ByteReader): string {
  return Buffer.from(reader.bytes()).toString('utf8')
}

function writeTime(writer: ByteWriter, timeMs: number): void {
  assert(timeMs >= 0, 'entry time is not negative')
  writer.num(timeMs)
}

export function encodeEntry(entry: CommandEntry): Uint8Array {
  const writer = new ByteWriter(64).u8(entryFormatVersion).u8(kindTags[entry.kind])
  switch (entry.kind) {
    case 'command':
      writeTime(writer, entry.timeMs)
      writer.u8(entry.protocol)
      writeArgv(writer, entry.argv)
      break
    case 'exec':
      writeTime(writer, entry.timeMs)
      writer.u8(entry.protocol).num(entry.watchIndex)
      writeArgv(writer, entry.watched)
      writer.u32(entry.commands.length)
      for (const argv of entry.commands) writeArgv(writer, argv)
      break
    case 'tick':
      writeTime(writer, entry.timeMs)
      break
    case 'address':
      writer.num(entry.id)
      writeAddress(writer, entry.address)
      break
  }
  return writer.finish()
}

export function writeAddress(writer: ByteWriter, address: NodeAddress): void {
  writeString(writer, address.name)
  writeString(writer, address.host)
  writer.u32(address.port).u32(address.clusterPort)
}

export function readAddress(reader: ByteReader): NodeAddress {
  const name = readString(reader)
  const host = readString(reader)
  const port = reader.u32()
  return { name, host, port, clusterPort: reader.u32() }
}

function readEntryBody(reader: ByteReader, tag: number): CommandEntry {
  switch (tag) {
    case kindTags.command: {
      const timeMs = reader.num()
      const protocol = readProtocol(reader)
      return { kind: 'command', timeMs, protocol, argv: readArgv(reader) }
    }
    case kindTags.exec: {
      const timeMs = reader.num()
      const protocol = readProtocol(reader)
      const watchIndex = reader.num()
      const watched = readArgv(reader)
      const count = reader.u32()
      const commands: Buffer[][] = []
      for (let i = 0; i < count; i++) commands.push(readArgv(reader))
      return { kind: 'exec', timeMs, protocol, watchIndex, watched, commands }
    }
    case kindTags.tick:
      return { kind: 'tick', timeMs: reader.num() }
    case kindTags.address: {
      const id = reader.num()
      return { kind: 'address', id, address: readAddress(reader) }
    }
    default:
      assert(false, `unknown log entry kind ${tag}`)
  }
}

/** The entry in `bytes`; asserts on anything that is not an encoding from encodeEntry. */
export function decodeEntry(bytes: Uint8Array): CommandEntry {
  const reader = new ByteReader(bytes)
  assert(reader.u8() === entryFormatVersion, 'log entry format version')
  const entry = readEntryBody(reader, reader.u8())
  assert(reader.done, 'log entry has trailing bytes')
  return entry
}

export function encodeQuery(query: KeyspaceQuery): Uint8Array {
  const writer = new ByteWriter(32).u8(queryTag).u8(query.protocol)
  writeArgv(writer, query.argv)
  return writer.finish()
}

export function decodeQuery(bytes: Uint8Array): KeyspaceQuery {
  const reader = new ByteReader(bytes)
  assert(reader.u8() === queryTag, 'query tag')
  const protocol = readProtocol(reader)
  const argv = readArgv(reader)
  assert(reader.done, 'query has trailing bytes')
  return { protocol, argv }
}
