/* Binary encoding of PeerRequest and PeerResponse (the RPCs nodes send besides Raft messages),
 * written into a frame's ByteWriter and read from its WireReader. Invariant: every variant of
 * both unions round-trips; anything else read throws CaskadeError(CORRUPT). */
import type { NodeId } from '../raft/types.js'
import { ByteWriter } from './bytes.js'
import type {
  AdminOp,
  NodeAddress,
  PeerJson,
  PeerMember,
  PeerRequest,
  PeerResponse,
} from './peer-types.js'
import type { ReplicaResult } from './types.js'
import { WireReader, corruptFrame } from './wire-reader.js'

const encoder = new TextEncoder()
const requestCodes = {
  'forward-write': 1,
  join: 2,
  status: 3,
  admin: 4,
  'snapshot-read': 5,
} as const
const responseCodes = { result: 1, joined: 2, status: 3, 'snapshot-chunk': 4 } as const
const adminOps: readonly AdminOp[] = ['remove', 'transfer', 'add-learner', 'promote']
const failureCodes = {
  'not-leader': 1,
  unknown: 2,
  busy: 3,
  refused: 4,
  stale: 5,
  disk: 6,
} as const

function writeString(writer: ByteWriter, value: string): void {
  writer.bytes(encoder.encode(value))
}

export function writeAddress(writer: ByteWriter, address: NodeAddress): void {
  writeString(writer, address.name)
  writeString(writer, address.host)
  writer.num(address.port).num(address.clusterPort)
}

export function readAddress(reader: WireReader): NodeAddress {
  const name = reader.string()
  const host = reader.string()
  const port = reader.uint()
  return { name, host, port, clusterPort: reader.uint() }
}

export function encodeRequest(writer: ByteWriter, request: PeerRequest): void {
  writer.u8(requestCodes[request.type])
  switch (request.type) {
    case 'forward-write':
      writer.num(request.clientId).num(request.sequence).num(request.ackedThrough)
      writer.bytes(request.entry)
      return
    case 'join':
      writeString(writer, request.name)
      writer.num(request.id)
      writeAddress(writer, request.address)
      return
    case 'status':
      return
    case 'admin':
      writer.u8(adminOps.indexOf(request.op)).num(request.id)
      return
    case 'snapshot-read':
      writeString(writer, request.dirName)
      writeString(writer, request.file)
      writer.num(request.offset).num(request.length)
  }
}

export function decodeRequest(reader: WireReader): PeerRequest {
  const code = reader.u8()
  switch (code) {
    case requestCodes['forward-write']: {
      const clientId = reader.uint()
      const sequence = reader.uint()
      const ackedThrough = reader.uint()
      return { type: 'forward-write', clientId, sequence, ackedThrough, entry: reader.bytes() }
    }
    case requestCodes.join: {
      const name = reader.string()
      const id = reader.uint()
      return { type: 'join', name, id, address: readAddress(reader) }
    }
    case requestCodes.status:
      return { type: 'status' }
    case requestCodes.admin: {
      const op = adminOps[reader.u8()]
      if (op === undefined) throw corruptFrame('unknown admin op')
      return { type: 'admin', op, id: reader.uint() }
    }
    case requestCodes['snapshot-read']: {
      const dirName = reader.string()
      const file = reader.string()
      const offset = reader.uint()
      return { type: 'snapshot-read', dirName, file, offset, length: reader.uint() }
    }
    default:
      throw corruptFrame(`unknown request type ${code}`)
  }
}

export function encodeResponse(writer: ByteWriter, response: PeerResponse): void {
  writer.u8(responseCodes[response.type])
  switch (response.type) {
    case 'result':
      writeResult(writer, response.result)
      return
    case 'joined':
      writer.num(response.leaderId).u32(response.members.length)
      for (const member of response.members) {
        writer.num(member.id).u8(member.voter ? 1 : 0)
        writeAddress(writer, member.address)
      }
      return
    case 'status':
      writeString(writer, JSON.stringify(response.status))
      return
    case 'snapshot-chunk':
      writer.bytes(response.data)
  }
}

export function decodeResponse(reader: WireReader): PeerResponse {
  const code = reader.u8()
  switch (code) {
    case responseCodes.result:
      return { type: 'result', result: readResult(reader) }
    case responseCodes.joined: {
      const leaderId = reader.uint()
      const count = reader.count(8 + 1 + 4 + 4 + 8 + 8)
      const members: PeerMember[] = []
      for (let i = 0; i < count; i++) {
        const id: NodeId = reader.uint()
        const voter = reader.bool()
        members.push({ id, voter, address: readAddress(reader) })
      }
      return { type: 'joined', leaderId, members }
    }
    case responseCodes.status:
      return { type: 'status', status: parseJson(reader.string()) }
    case responseCodes['snapshot-chunk']:
      return { type: 'snapshot-chunk', data: reader.bytes() }
    default:
      throw corruptFrame(`unknown response type ${code}`)
  }
}

function parseJson(text: string): PeerJson {
  try {
    return JSON.parse(text) as PeerJson
  } catch {
    throw corruptFrame('bad JSON')
  }
}

function writeResult(writer: ByteWriter, result: ReplicaResult): void {
  if (result.ok) {
    writer.u8(0).bytes(result.reply)
    return
  }
  writer.u8(failureCodes[result.error])
  if (result.error === 'not-leader') writer.num(result.leaderId)
  if (result.error === 'refused' || result.error === 'disk') writeString(writer, result.reason)
}

function readResult(reader: WireReader): ReplicaResult {
  const code = reader.u8()
  switch (code) {
    case 0:
      return { ok: true, reply: reader.bytes() }
    case failureCodes['not-leader']:
      return { ok: false, error: 'not-leader', leaderId: reader.uint() }
    case failureCodes.unknown:
      return { ok: false, error: 'unknown' }
    case failureCodes.busy:
      return { ok: false, error: 'busy' }
    case failureCodes.refused:
      return { ok: false, error: 'refused', reason: reader.string() }
    case failureCodes.stale:
      return { ok: false, error: 'stale' }
    case failureCodes.disk:
      return { ok: false, error: 'disk', reason: reader.string() }
    default:
      throw corruptFrame(`unknown result code ${code}`)
  }
}
