/* The peer wire codec: every Raft message type, request and response round-trips through a frame
 * (fast-check), the frame reader reassembles frames split at any byte, and random or mutated
 * bytes never make the decoder throw anything but CaskadeError(CORRUPT). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Entry, RaftMessage } from '../raft/types.js'
import { FrameReader } from './frame-reader.js'
import {
  decodeFrameBody,
  decodeRaftMessage,
  encodeHello,
  encodeRaftFrame,
  encodeRaftMessage,
  encodeRequestFrame,
  encodeResponseFrame,
  peerFrameBytesMax,
  type PeerFrame,
} from './peer-codec.js'
import type { NodeAddress, PeerJson, PeerRequest, PeerResponse } from './peer-types.js'
import type { ReplicaResult } from './types.js'

const uint = fc.maxSafeInteger().map((n) => Math.abs(n))
const small = fc.nat({ max: 1_000_000 })
const bytes = fc.uint8Array({ maxLength: 64 })
const ids = fc.array(uint, { maxLength: 5 })
const base = fc.record({ groupId: small, from: uint, to: uint, term: uint })

const entry: fc.Arbitrary<Entry> = fc.record({
  term: uint,
  index: uint,
  kind: fc.constantFrom('command' as const, 'noop' as const, 'config' as const),
  data: bytes,
})

function message<T extends RaftMessage['type']>(
  types: readonly T[],
  fields: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<RaftMessage> {
  return fc
    .tuple(base, fc.constantFrom(...types), fc.record(fields))
    .map(([head, type, rest]) => ({ ...head, type, ...rest }) as unknown as RaftMessage)
}

export const raftMessage: fc.Arbitrary<RaftMessage> = fc.oneof(
  message(['append'], {
    prevLogIndex: uint,
    prevLogTerm: uint,
    commit: uint,
    entries: fc.array(entry, { maxLength: 4 }),
  }),
  message(['append-response'], {
    reject: fc.boolean(),
    index: uint,
    hintIndex: uint,
    hintTerm: uint,
  }),
  message(['vote', 'pre-vote'], { lastLogIndex: uint, lastLogTerm: uint, transfer: fc.boolean() }),
  message(['vote-response', 'pre-vote-response'], { reject: fc.boolean() }),
  message(['heartbeat'], { commit: uint, readRound: uint }),
  message(['heartbeat-response'], { readRound: uint }),
  message(['snapshot'], {
    snapshotIndex: uint,
    snapshotTerm: uint,
    voters: ids,
    learners: ids,
    totalBytes: uint,
    offset: uint,
    data: bytes,
  }),
  message(['snapshot-response'], { snapshotIndex: uint, offset: uint }),
  message(['timeout-now'], {}),
  message(['read-index'], { requestId: uint }),
  message(['read-index-response'], { requestId: uint, index: uint }),
)

const text = fc.string({ maxLength: 20, unit: 'grapheme' })
const address: fc.Arbitrary<NodeAddress> = fc.record({
  name: text,
  host: text,
  port: small,
  clusterPort: small,
})
const adminOp = fc.constantFrom(
  'remove' as const,
  'transfer' as const,
  'add-learner' as const,
  'promote' as const,
)

const request: fc.Arbitrary<PeerRequest> = fc.oneof(
  fc.record({
    type: fc.constant('forward-write' as const),
    clientId: uint,
    sequence: uint,
    ackedThrough: uint,
    entry: bytes,
  }),
  fc.record({ type: fc.constant('join' as const), name: text, id: uint, address }),
  fc.constant({ type: 'status' as const }),
  fc.record({ type: fc.constant('admin' as const), op: adminOp, id: uint }),
  fc.record({
    type: fc.constant('snapshot-read' as const),
    dirName: text,
    file: text,
    offset: uint,
    length: uint,
  }),
)

const result: fc.Arbitrary<ReplicaResult> = fc.oneof(
  fc.record({ ok: fc.constant(true as const), reply: bytes }),
  fc.record({
    ok: fc.constant(false as const),
    error: fc.constant('not-leader' as const),
    leaderId: uint,
  }),
  fc.constant({ ok: false as const, error: 'unknown' as const }),
  fc.constant({ ok: false as const, error: 'busy' as const }),
  fc.constant({ ok: false as const, error: 'stale' as const }),
  fc.record({
    ok: fc.constant(false as const),
    error: fc.constant('refused' as const),
    reason: text,
  }),
  fc.record({ ok: fc.constant(false as const), error: fc.constant('disk' as const), reason: text }),
)

// JSON round trips lose -0 (it prints as 0): status values come from JSON-able node status.
const json: fc.Arbitrary<PeerJson> = fc
  .jsonValue({ noUnicodeString: false })
  .map((value) => JSON.parse(JSON.stringify(value)) as PeerJson)

const response: fc.Arbitrary<PeerResponse> = fc.oneof(
  fc.record({ type: fc.constant('result' as const), result }),
  fc.record({
    type: fc.constant('joined' as const),
    leaderId: uint,
    members: fc.array(fc.record({ id: uint, address, voter: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('status' as const), status: json }),
  fc.record({ type: fc.constant('snapshot-chunk' as const), data: bytes }),
)

interface Framed {
  readonly encoded: Uint8Array
  readonly frame: PeerFrame
}

const frame: fc.Arbitrary<Framed> = fc.oneof(
  fc.tuple(uint, fc.option(address, { nil: null })).map(([id, from]): Framed => ({
    encoded: encodeHello(id, from),
    frame: { type: 'hello', id, address: from },
  })),
  raftMessage.map((m): Framed => ({
    encoded: encodeRaftFrame(m),
    frame: { type: 'raft', message: m },
  })),
  fc.tuple(uint, request).map(([requestId, r]): Framed => ({
    encoded: encodeRequestFrame(requestId, r),
    frame: { type: 'request', requestId, request: r },
  })),
  fc.tuple(uint, response).map(([requestId, r]): Framed => ({
    encoded: encodeResponseFrame(requestId, r),
    frame: { type: 'response', requestId, response: r },
  })),
)

/** Splits `bytes` into chunks at the given cut points (sorted, deduplicated). */
function cut(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const point of sorted) {
    chunks.push(bytes.subarray(start, point))
    start = point
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/** fast-check's records have a null prototype; decoded values are plain objects. */
const plain = <T>(value: T): T => structuredClone(value)

function assertCorruptOnly(run: () => void): void {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof CaskadeError, `threw ${String(error)}`)
    assert.equal(error.code, ErrorCode.Corrupt)
  }
}

test('every Raft message type round-trips through its encoding', () => {
  fc.assert(
    fc.property(raftMessage, (m) => {
      assert.deepEqual(decodeRaftMessage(encodeRaftMessage(m)), plain(m))
    }),
    { numRuns: 2000 },
  )
})

test('hello, Raft, request and response frames round-trip; the length header counts the body', () => {
  fc.assert(
    fc.property(frame, ({ encoded, frame: expected }) => {
      const length = new DataView(encoded.buffer, encoded.byteOffset).getUint32(0)
      assert.equal(length, encoded.byteLength - 4)
      assert.deepEqual(decodeFrameBody(encoded.subarray(4)), plain(expected))
    }),
    { numRuns: 2000 },
  )
})

test('a version 2 hello (no address) is still accepted; its address is null', () => {
  // u32 length | u8 type 1 | u32 'CSKD' | u8 version 2 | f64 id
  const body = Buffer.alloc(1 + 4 + 1 + 8)
  body.writeUInt8(1, 0)
  body.writeUInt32BE(0x43534b44, 1)
  body.writeUInt8(2, 5)
  body.writeDoubleBE(42, 6)
  assert.deepEqual(decodeFrameBody(body), { type: 'hello', id: 42, address: null })
  body.writeUInt8(9, 5)
  assert.throws(() => decodeFrameBody(body), /unknown wire version/)
})

test('decoded byte fields are copies: reusing the receive buffer does not change them', () => {
  const m: RaftMessage = {
    type: 'append',
    groupId: 1,
    from: 1,
    to: 2,
    term: 3,
    prevLogIndex: 0,
    prevLogTerm: 0,
    commit: 0,
    entries: [{ term: 3, index: 1, kind: 'command', data: new Uint8Array([7, 7, 7]) }],
  }
  // A socket hands out Buffers, whose slice() is a view: the decoder must still copy.
  const encoded = Buffer.from(encodeRaftFrame(m))
  const decoded = decodeFrameBody(encoded.subarray(4))
  encoded.fill(0)
  assert.deepEqual(decoded, { type: 'raft', message: m })
})

test('the frame reader yields the same frames however the stream is cut into chunks', () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (frames, points) => {
        const reader = new FrameReader()
        const seen: PeerFrame[] = []
        for (const chunk of cut(concat(frames.map((f) => f.encoded)), points)) {
          reader.push(chunk, (body) => seen.push(decodeFrameBody(body)))
        }
        assert.deepEqual(
          seen,
          frames.map((f) => plain(f.frame)),
        )
        assert.equal(reader.pendingBytes, 0)
      },
    ),
    { numRuns: 500 },
  )
})

test('a frame length of 0 or over 64 MiB is refused from its header, before buffering', () => {
  for (const length of [0, peerFrameBytesMax + 1, 0xffffffff]) {
    const header = new Uint8Array(5)
    new DataView(header.buffer).setUint32(0, length)
    const reader = new FrameReader()
    reader.push(header.subarray(0, 2), () => assert.fail('no frame yet'))
    assert.throws(
      () => reader.push(header.subarray(2), () => assert.fail('no frame')),
      (error) => error instanceof CaskadeError && error.code === ErrorCode.Corrupt,
    )
  }
})

test('fuzz: random bytes never crash the frame reader or decoder (CORRUPT only)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (chunks) => {
      const reader = new FrameReader()
      assertCorruptOnly(() => {
        for (const chunk of chunks) reader.push(chunk, (body) => decodeFrameBody(body))
      })
      for (const chunk of chunks) assertCorruptOnly(() => decodeFrameBody(chunk))
    }),
    { numRuns: 1000 },
  )
})

test('fuzz: valid frames with bytes flipped or cut short decode or fail with CORRUPT only', () => {
  fc.assert(
    fc.property(
      frame,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      fc.nat(),
      (f, flips, end) => {
        const body = f.encoded.slice(4)
        for (const [at, value] of flips) if (body.length > 0) body[at % body.length] = value
        assertCorruptOnly(() => decodeFrameBody(body))
        assertCorruptOnly(() => decodeFrameBody(body.subarray(0, end % (body.length + 1))))
      },
    ),
    { numRuns: 3000 },
  )
})
