/* Client sessions for exactly-once writes, part of the replicated state: per client the last
 * applied sequence and its reply. Invariant: the table changes only when a committed entry is
 * applied, identically on every node, so a retried write gets the first reply and is applied
 * once. Map order is last-applied order, so eviction of the oldest is deterministic. */
import { assert } from '../core/assert.js'
import { ByteReader, ByteWriter } from './bytes.js'

/** What a write carries in its log entry: the client's session and its command. */
export interface Envelope {
  readonly clientId: number
  readonly sequence: number
  readonly command: Uint8Array
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return new ByteWriter(20 + envelope.command.byteLength)
    .num(envelope.clientId)
    .num(envelope.sequence)
    .bytes(envelope.command)
    .finish()
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  const reader = new ByteReader(data)
  const envelope = { clientId: reader.num(), sequence: reader.num(), command: reader.bytes() }
  assert(reader.done, 'envelope has trailing bytes')
  return envelope
}

interface Session {
  readonly sequence: number
  readonly reply: Uint8Array
  readonly appliedIndex: number
}

export type SessionCheck =
  | { readonly kind: 'new' }
  /** The last applied sequence again: answer with its reply, do not apply. */
  | { readonly kind: 'duplicate'; readonly reply: Uint8Array }
  /** Older than the last applied sequence: its reply is gone; refuse it. */
  | { readonly kind: 'stale' }

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

  check(clientId: number, sequence: number): SessionCheck {
    const session = this.#sessions.get(clientId)
    if (session === undefined || sequence > session.sequence) return { kind: 'new' }
    if (sequence === session.sequence) return { kind: 'duplicate', reply: session.reply }
    return { kind: 'stale' }
  }

  /** Records an applied write; evicts the least recently applied session beyond the bound. */
  record(clientId: number, sequence: number, reply: Uint8Array, appliedIndex: number): void {
    this.#sessions.delete(clientId)
    this.#sessions.set(clientId, { sequence, reply, appliedIndex })
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next()
      assert(oldest.done !== true, 'a non-empty table has an oldest session')
      this.#sessions.delete(oldest.value)
    }
  }

  encode(writer: ByteWriter): void {
    writer.u32(this.#sessions.size)
    for (const [clientId, session] of this.#sessions) {
      writer.num(clientId).num(session.sequence).num(session.appliedIndex).bytes(session.reply)
    }
  }

  /** Replaces the table with one encoded by encode() (a snapshot's). */
  decode(reader: ByteReader): void {
    const count = reader.u32()
    const sessions = new Map<number, Session>()
    for (let i = 0; i < count; i++) {
      const clientId = reader.num()
      const sequence = reader.num()
      const appliedIndex = reader.num()
      sessions.set(clientId, { sequence, appliedIndex, reply: reader.bytes().slice() })
    }
    this.#sessions = sessions
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next()
      if (oldest.done === true) break
      this.#sessions.delete(oldest.value)
    }
  }
}
