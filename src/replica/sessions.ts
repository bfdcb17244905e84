/* Client sessions for exactly-once writes (Raft dissertation 6.3), part of the replicated state:
 * per client the highest ackedThrough it told us and the replies of its applied sequences above
 * it, at most sessionRepliesMax. Invariant: the table changes only when a committed entry is
 * applied, identically on every node, so a write retried in any order among its client's other
 * writes in flight is applied at most once and a duplicate gets the first reply. Map order is
 * last-applied order, so eviction of the oldest session is deterministic. */
import { assert } from '../core/assert.js'
import { ByteReader, ByteWriter } from './bytes.js'

/**
 * Replies kept per client: a client has at most this many sequences above its ackedThrough in
 * flight (the router waits before starting more). Part of the replicated state's rules: every
 * node must use the same value, so it is a constant, not an option.
 */
export const sessionRepliesMax = 128

/** What a write carries in its log entry: the client's session and its command. */
export interface Envelope {
  readonly clientId: number
  readonly sequence: number
  /** Every sequence <= this has had its reply delivered to the client (never retried). */
  readonly ackedThrough: number
  readonly command: Uint8Array
}

/** Leads an envelope; a legacy one (no ackedThrough) starts with a float64 client id, >= 0x3f. */
const envelopeVersion = 2

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return new ByteWriter(30 + envelope.command.byteLength)
    .u8(envelopeVersion)
    .num(envelope.clientId)
    .num(envelope.sequence)
    .num(envelope.ackedThrough)
    .bytes(envelope.command)
    .finish()
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  const reader = new ByteReader(data)
  let envelope: Envelope
  if (data[0] === envelopeVersion) {
    reader.u8()
    const clientId = reader.num()
    const sequence = reader.num()
    envelope = { clientId, sequence, ackedThrough: reader.num(), command: reader.bytes() }
  } else {
    // Written before ackedThrough existed: its client had only the last sequence remembered.
    const clientId = reader.num()
    const sequence = reader.num()
    envelope = { clientId, sequence, ackedThrough: sequence - 1, command: reader.bytes() }
  }
  assert(reader.done, 'envelope has trailing bytes')
  return envelope
}

/** The session part of a write: who, which sequence, and what its client has had answered. */
export type SessionWrite = Pick<Envelope, 'clientId' | 'sequence' | 'ackedThrough'>

interface Session {
  ackedThrough: number
  /** Replies of applied sequences > ackedThrough (and <= ackedThrough + sessionRepliesMax). */
  readonly replies: Map<number, Uint8Array>
  appliedIndex: number
}

export type SessionCheck =
  | { readonly kind: 'new' }
  /** Applied already: answer with its first reply, do not apply. */
  | { readonly kind: 'duplicate'; readonly reply: Uint8Array }
  /** At or below the client's ackedThrough: its reply is gone (it may have been applied). */
  | { readonly kind: 'stale' }
  /** More than sessionRepliesMax above ackedThrough: not applied, its reply could not be kept. */
  | { readonly kind: 'beyond-window' }

/** The outcome of a request before it is proposed (the same rule the apply enforces). */
export function checkRequestWindow(sequence: number, ackedThrough: number): SessionCheck {
  if (sequence <= ackedThrough) return { kind: 'stale' }
  if (sequence - ackedThrough > sessionRepliesMax) return { kind: 'beyond-window' }
  return { kind: 'new' }
}

export class SessionTable {
  readonly #max: number
  #sessions = new Map<number, Session>()

  constructor(max: number) {
    assert(Number.isSafeInteger(max) && max > 0, 'sessionsMax is a positive integer')
    this.#max = max
  }

  get size(): number {
    return this.#sessions.size
  }

  /** Replies kept for `clientId` (tests and stats). */
  repliesOf(clientId: number): number {
    return this.#sessions.get(clientId)?.replies.size ?? 0
  }

  /**
   * The entry (clientId, sequence, ackedThrough) is being applied: first learns its ackedThrough
   * (discarding the replies it covers), then says what to do with the command.
   */
  admit(write: SessionWrite): SessionCheck {
    const { clientId, sequence, ackedThrough } = write
    const session = this.#sessions.get(clientId)
    if (session === undefined) return checkRequestWindow(sequence, ackedThrough)
    if (ackedThrough > session.ackedThrough) {
      session.ackedThrough = ackedThrough
      for (const acked of session.replies.keys()) {
        if (acked <= ackedThrough) session.replies.delete(acked)
      }
    }
    const reply = session.replies.get(sequence)
    if (reply !== undefined) return { kind: 'duplicate', reply }
    return checkRequestWindow(sequence, session.ackedThrough)
  }

  /**
   * Records the reply of a write admit() called 'new'; the client becomes the most recently
   * applied, and the least recently applied session beyond sessionsMax is evicted.
   */
  record(write: SessionWrite, reply: Uint8Array, appliedIndex: number): void {
    const { clientId, sequence } = write
    const session = this.#sessions.get(clientId) ?? {
      ackedThrough: write.ackedThrough,
      replies: new Map<number, Uint8Array>(),
      appliedIndex,
    }
    assert(sequence > session.ackedThrough, 'a recorded sequence is above ackedThrough')
    assert(!session.replies.has(sequence), 'a sequence is recorded once')
    session.replies.set(sequence, reply)
    assert(session.replies.size <= sessionRepliesMax, 'replies per client are bounded')
    session.appliedIndex = appliedIndex
    this.#sessions.delete(clientId)
    this.#sessions.set(clientId, session)
    this.#evictBeyondMax()
  }

  #evictBeyondMax(): void {
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next()
      assert(oldest.done !== true, 'a non-empty table has an oldest session')
      this.#sessions.delete(oldest.value)
    }
  }

  encode(writer: ByteWriter): void {
    writer.u32(this.#sessions.size)
    for (const [clientId, session] of this.#sessions) {
      writer.num(clientId).num(session.ackedThrough).num(session.appliedIndex)
      writer.u32(session.replies.size)
      for (const [sequence, reply] of session.replies) writer.num(sequence).bytes(reply)
    }
  }

  /**
   * Replaces the table with one encoded by encode() (a snapshot's); `legacy`: the format of
   * snapshot state version 1 (one sequence and reply per client).
   */
  decode(reader: ByteReader, legacy = false): void {
    const count = reader.u32()
    const sessions = new Map<number, Session>()
    for (let i = 0; i < count; i++) {
      const clientId = reader.num()
      sessions.set(clientId, legacy ? decodeLegacySession(reader) : decodeSession(reader))
    }
    this.#sessions = sessions
    this.#evictBeyondMax()
  }
}

function decodeSession(reader: ByteReader): Session {
  const ackedThrough = reader.num()
  const appliedIndex = reader.num()
  const replyCount = reader.u32()
  assert(replyCount <= sessionRepliesMax, 'snapshot session replies within the bound')
  const replies = new Map<number, Uint8Array>()
  for (let i = 0; i < replyCount; i++) {
    const sequence = reader.num()
    assert(sequence > ackedThrough, 'snapshot session reply above ackedThrough')
    replies.set(sequence, reader.bytes().slice())
  }
  return { ackedThrough, appliedIndex, replies }
}

function decodeLegacySession(reader: ByteReader): Session {
  const sequence = reader.num()
  const appliedIndex = reader.num()
  const replies = new Map([[sequence, reader.bytes().slice()]])
  return { ackedThrough: sequence - 1, appliedIndex, replies }
}
