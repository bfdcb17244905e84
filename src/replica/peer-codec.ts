/* The peer wire: frames `u32 length | u8 frameType | payload` (length counts the type byte and the
 * payload, at most peerFrameBytesMax) carrying a hello, a Raft message, a request or a response.
 * Invariant: decode(encode(x)) deep-equals x for every value, and decoding any bytes either
 * returns a value or throws CaskadeError(CORRUPT); decoded byte fields are copies (they outlive
 * the receive buffer: the Raft log keeps entries). */
import type { Entry, EntryKind, NodeId, RaftMessage } from '../raft/types.js'
import { ByteWriter } from './bytes.js'
import type { NodeAddress, PeerRequest, PeerResponse } from './peer-types.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readAddress,
  writeAddress,
} from './peer-rpc-codec.js'
import { WireReader, corruptFrame } from './wire-reader.js'

/** A frame's length bound: a snapshot chunk or an append batch never needs more. */
export const peerFrameBytesMax = 64 * 1024 * 1024
/** u32 length + u8 frame type. */
export const peerFrameHeaderBytes = 5
/** 'CSKD': a hello from anything else is refused at once. */
const helloMagic = 0x43534b44
/**
 * 2: forward-write carries ackedThrough, results may be 'stale'. 3: the hello carries the
 * sender's advertised address (a node nobody told about its cluster can answer whoever dials
 * it), results may be 'disk'. A version 2 hello is still accepted (no address).
 */
const wireVersion = 3
const wireVersionsAccepted: ReadonlySet<number> = new Set([2, 3])

export const frameTypes = { hello: 1, raft: 2, request: 3, response: 4 } as const

export type PeerFrame =
  | { readonly type: 'hello'; readonly id: NodeId; readonly address: NodeAddress | null }
  | { readonly type: 'raft'; readonly message: RaftMessage }
  | { readonly type: 'request'; readonly requestId: number; readonly request: PeerRequest }
  | { readonly type: 'response'; readonly requestId: number; readonly response: PeerResponse }

const messageCodes: Readonly<Record<RaftMessage['type'], number>> = {
  append: 1,
  'append-response': 2,
  vote: 3,
  'pre-vote': 4,
  'vote-response': 5,
  'pre-vote-response': 6,
  heartbeat: 7,
  'heartbeat-response': 8,
  snapshot: 9,
  'snapshot-response': 10,
  'timeout-now': 11,
  'read-index': 12,
  'read-index-response': 13,
}
const messageTypesByCode = new Map(
  Object.entries(messageCodes).map(([type, code]) => [code, type as RaftMessage['type']]),
)
const kindCodes: Readonly<Record<EntryKind, number>> = { command: 1, noop: 2, config: 3 }
const kindsByCode: readonly (EntryKind | undefined)[] = [undefined, 'command', 'noop', 'config']
/** Bytes of an entry besides its data: kind, term, index, data length. */
const entryOverheadBytes = 1 + 8 + 8 + 4

/** Header with a zero length, patched by finishFrame once the payload is written. */
function startFrame(frameType: number, capacityBytes: number): ByteWriter {
  return new ByteWriter(peerFrameHeaderBytes + capacityBytes).u32(0).u8(frameType)
}

function finishFrame(writer: ByteWriter): Uint8Array {
  const framed = writer.finish()
  const length = framed.byteLength - 4
  if (length > peerFrameBytesMax) throw corruptFrame(`frame of ${length} bytes over the bound`)
  new DataView(framed.buffer, framed.byteOffset, framed.byteLength).setUint32(0, length)
  return framed
}

/** `address`: where the sender is reached (its advertised one); null: it has none to give. */
export function encodeHello(id: NodeId, address: NodeAddress | null = null): Uint8Array {
  const writer = startFrame(frameTypes.hello, 96).u32(helloMagic).u8(wireVersion).num(id)
  writer.u8(address === null ? 0 : 1)
  if (address !== null) writeAddress(writer, address)
  return finishFrame(writer)
}

export function encodeRaftFrame(message: RaftMessage): Uint8Array {
  const writer = startFrame(frameTypes.raft, estimateMessageBytes(message))
  writeMessage(writer, message)
  return finishFrame(writer)
}

export function encodeRequestFrame(requestId: number, request: PeerRequest): Uint8Array {
  const entryBytes = request.type === 'forward-write' ? request.entry.byteLength : 0
  const writer = startFrame(frameTypes.request, 64 + entryBytes).num(requestId)
  encodeRequest(writer, request)
  return finishFrame(writer)
}

export function encodeResponseFrame(requestId: number, response: PeerResponse): Uint8Array {
  const replyBytes =
    response.type === 'result' && response.result.ok ? response.result.reply.byteLength : 0
  const writer = startFrame(frameTypes.response, 64 + replyBytes).num(requestId)
  encodeResponse(writer, response)
  return finishFrame(writer)
}

/** Decodes one frame's body (the bytes after its length: type byte and payload). */
export function decodeFrameBody(body: Uint8Array): PeerFrame {
  const reader = new WireReader(body)
  const frameType = reader.u8()
  const frame = decodeFramePayload(frameType, reader)
  reader.finish()
  return frame
}

function decodeFramePayload(frameType: number, reader: WireReader): PeerFrame {
  switch (frameType) {
    case frameTypes.hello: {
      if (reader.u32() !== helloMagic) throw corruptFrame('not a caskade peer')
      const version = reader.u8()
      if (!wireVersionsAccepted.has(version)) throw corruptFrame('unknown wire version')
      const id = reader.uint()
      const address = version >= 3 && reader.bool() ? readAddress(reader) : null
      return { type: 'hello', id, address }
    }
    case frameTypes.raft:
      return { type: 'raft', message: readMessage(reader) }
    case frameTypes.request:
      return { type: 'request', requestId: reader.uint(), request: decodeRequest(reader) }
    case frameTypes.response:
      return { type: 'response', requestId: reader.uint(), response: decodeResponse(reader) }
    default:
      throw corruptFrame(`unknown frame type ${frameType}`)
  }
}

function estimateMessageBytes(message: RaftMessage): number {
  if (message.type === 'snapshot') return 128 + 8 * message.voters.length + message.data.byteLength
  if (message.type !== 'append') return 64
  let bytes = 64
  for (const entry of message.entries) bytes += entryOverheadBytes + entry.data.byteLength
  return bytes
}

/** Encodes a Raft message alone (no frame), for tests and other carriers. */
export function encodeRaftMessage(message: RaftMessage): Uint8Array {
  const writer = new ByteWriter(estimateMessageBytes(message))
  writeMessage(writer, message)
  return writer.finish()
}

export function decodeRaftMessage(bytes: Uint8Array): RaftMessage {
  const reader = new WireReader(bytes)
  const message = readMessage(reader)
  reader.finish()
  return message
}

function writeMessage(writer: ByteWriter, message: RaftMessage): void {
  writer.u8(messageCodes[message.type])
  writer.num(message.groupId).num(message.from).num(message.to).num(message.term)
  switch (message.type) {
    case 'append':
      writer.num(message.prevLogIndex).num(message.prevLogTerm).num(message.commit)
      writer.u32(message.entries.length)
      for (const entry of message.entries) writeEntry(writer, entry)
      return
    case 'append-response':
      writer.u8(message.reject ? 1 : 0).num(message.index)
      writer.num(message.hintIndex).num(message.hintTerm)
      return
    case 'vote':
    case 'pre-vote':
      writer
        .num(message.lastLogIndex)
        .num(message.lastLogTerm)
        .u8(message.transfer ? 1 : 0)
      return
    case 'vote-response':
    case 'pre-vote-response':
      writer.u8(message.reject ? 1 : 0)
      return
    case 'heartbeat':
      writer.num(message.commit).num(message.readRound)
      return
    case 'heartbeat-response':
      writer.num(message.readRound)
      return
    case 'snapshot':
      writeSnapshotChunk(writer, message)
      return
    case 'snapshot-response':
      writer.num(message.snapshotIndex).num(message.offset)
      return
    case 'timeout-now':
      return
    case 'read-index':
      writer.num(message.requestId)
      return
    case 'read-index-response':
      writer.num(message.requestId).num(message.index)
  }
}

function writeEntry(writer: ByteWriter, entry: Entry): void {
  writer.u8(kindCodes[entry.kind]).num(entry.term).num(entry.index).bytes(entry.data)
}

function writeIds(writer: ByteWriter, ids: readonly NodeId[]): void {
  writer.u32(ids.length)
  for (const id of ids) writer.num(id)
}

function writeSnapshotChunk(
  writer: ByteWriter,
  message: Extract<RaftMessage, { type: 'snapshot' }>,
): void {
  writer.num(message.snapshotIndex).num(message.snapshotTerm)
  writeIds(writer, message.voters)
  writeIds(writer, message.learners)
  writer.num(message.totalBytes).num(message.offset).bytes(message.data)
}

function readIds(reader: WireReader): NodeId[] {
  const count = reader.count(8)
  const ids: NodeId[] = []
  for (let i = 0; i < count; i++) ids.push(reader.uint())
  return ids
}

function readEntry(reader: WireReader): Entry {
  const kind = kindsByCode[reader.u8()]
  if (kind === undefined) throw corruptFrame('unknown entry kind')
  const term = reader.uint()
  const index = reader.uint()
  return { term, index, kind, data: reader.bytes() }
}

function readMessage(reader: WireReader): RaftMessage {
  const type = messageTypesByCode.get(reader.u8())
  if (type === undefined) throw corruptFrame('unknown Raft message type')
  const base = {
    groupId: reader.uint(),
    from: reader.uint(),
    to: reader.uint(),
    term: reader.uint(),
  }
  switch (type) {
    case 'append': {
      const head = {
        prevLogIndex: reader.uint(),
        prevLogTerm: reader.uint(),
        commit: reader.uint(),
      }
      const count = reader.count(entryOverheadBytes)
      const entries: Entry[] = []
      for (let i = 0; i < count; i++) entries.push(readEntry(reader))
      return { type, ...base, ...head, entries }
    }
    case 'append-response': {
      const reject = reader.bool()
      const index = reader.uint()
      return { type, ...base, reject, index, hintIndex: reader.uint(), hintTerm: reader.uint() }
    }
    case 'vote':
    case 'pre-vote': {
      const lastLogIndex = reader.uint()
      const lastLogTerm = reader.uint()
      return { type, ...base, lastLogIndex, lastLogTerm, transfer: reader.bool() }
    }
    case 'vote-response':
    case 'pre-vote-response':
      return { type, ...base, reject: reader.bool() }
    default:
      return readSmallMessage(type, base, reader)
  }
}

type MessageBase = Pick<RaftMessage, 'groupId' | 'from' | 'to' | 'term'>

function readSmallMessage(
  type: RaftMessage['type'],
  base: MessageBase,
  reader: WireReader,
): RaftMessage {
  switch (type) {
    case 'heartbeat': {
      const commit = reader.uint()
      return { type, ...base, commit, readRound: reader.uint() }
    }
    case 'heartbeat-response':
      return { type, ...base, readRound: reader.uint() }
    case 'snapshot': {
      const snapshotIndex = reader.uint()
      const snapshotTerm = reader.uint()
      const voters = readIds(reader)
      const learners = readIds(reader)
      const totalBytes = reader.uint()
      const offset = reader.uint()
      const chunk = { snapshotIndex, snapshotTerm, voters, learners, totalBytes, offset }
      return { type, ...base, ...chunk, data: reader.bytes() }
    }
    case 'snapshot-response': {
      const snapshotIndex = reader.uint()
      return { type, ...base, snapshotIndex, offset: reader.uint() }
    }
    case 'timeout-now':
      return { type, ...base }
    case 'read-index':
      return { type, ...base, requestId: reader.uint() }
    case 'read-index-response': {
      const requestId = reader.uint()
      return { type, ...base, requestId, index: reader.uint() }
    }
    default:
      throw corruptFrame(`unexpected Raft message type ${type}`)
  }
}
