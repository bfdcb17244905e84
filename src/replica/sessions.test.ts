import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ByteWriter } from './bytes.js'
import { SessionClient } from './session-client.js'
import {
  SessionTable,
  decodeEnvelope,
  encodeEnvelope,
  sessionRepliesMax,
  type SessionCheck,
} from './sessions.js'
import { decodeState, encodeState } from './snapshot-codec.js'

const reply = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

/** Applies (clientId, sequence, ackedThrough) as the host does; returns what the client sees. */
function apply(table: SessionTable, clientId: number, sequence: number, acked: number): string {
  const write = { clientId, sequence, ackedThrough: acked }
  const check: SessionCheck = table.admit(write)
  if (check.kind === 'duplicate') return `dup ${text(check.reply)}`
  if (check.kind !== 'new') return check.kind
  table.record(write, reply(`r${sequence}`), sequence)
  return `applied r${sequence}`
}

describe('session table (exactly-once writes with ackedThrough)', () => {
  it('pipelined writes retried in any order are applied once, duplicates get the first reply', () => {
    const table = new SessionTable(10)
    // 5, 6, 7 were in flight with nothing acknowledged; their retries arrive as 6, 7, 5, 6.
    assert.equal(apply(table, 1, 6, 4), 'applied r6')
    assert.equal(apply(table, 1, 7, 4), 'applied r7')
    assert.equal(apply(table, 1, 5, 4), 'applied r5')
    assert.equal(apply(table, 1, 6, 4), 'dup r6')
    assert.equal(apply(table, 1, 5, 4), 'dup r5')
    assert.equal(table.repliesOf(1), 3)
  })

  it('forgets the replies at or below ackedThrough and refuses those sequences as stale', () => {
    const table = new SessionTable(10)
    for (let sequence = 1; sequence <= 4; sequence++) apply(table, 1, sequence, 0)
    assert.equal(apply(table, 1, 5, 3), 'applied r5')
    assert.equal(table.repliesOf(1), 2, 'replies of 4 and 5 are kept')
    assert.equal(apply(table, 1, 3, 0), 'stale', 'an old ackedThrough cannot bring 3 back')
    assert.equal(apply(table, 1, 4, 0), 'dup r4')
    assert.equal(apply(table, 1, 7, 5), 'applied r7')
    assert.equal(apply(table, 1, 4, 0), 'stale')
    assert.equal(table.repliesOf(1), 1)
  })

  it('a first write already covered by its own ackedThrough is stale, and nothing is kept', () => {
    const table = new SessionTable(10)
    assert.equal(apply(table, 1, 3, 3), 'stale')
    assert.equal(table.size, 0)
  })

  it('keeps at most sessionRepliesMax replies per client: beyond the window nothing applies', () => {
    const table = new SessionTable(10)
    for (let sequence = 1; sequence <= sessionRepliesMax; sequence++) {
      assert.equal(apply(table, 1, sequence, 0), `applied r${sequence}`)
    }
    assert.equal(table.repliesOf(1), sessionRepliesMax)
    assert.equal(apply(table, 1, sessionRepliesMax + 1, 0), 'beyond-window')
    assert.equal(table.repliesOf(1), sessionRepliesMax)
    // Once the client acknowledges the first reply, the next sequence fits.
    assert.equal(apply(table, 1, sessionRepliesMax + 1, 1), `applied r${sessionRepliesMax + 1}`)
    assert.equal(table.repliesOf(1), sessionRepliesMax)
  })

  it('evicts the least recently applied session beyond sessionsMax (deterministically)', () => {
    const table = new SessionTable(2)
    apply(table, 1, 1, 0)
    apply(table, 2, 1, 0)
    apply(table, 1, 2, 1) // client 1 is now the most recent
    apply(table, 3, 1, 0) // evicts client 2
    assert.equal(table.size, 2)
    assert.equal(apply(table, 1, 2, 1), 'dup r2')
    assert.equal(apply(table, 3, 1, 0), 'dup r1')
    // Client 2 is forgotten: its retry is applied again (the documented bound of sessionsMax).
    assert.equal(apply(table, 2, 1, 0), 'applied r1')
  })

  it('round-trips through a snapshot with every client, reply and ackedThrough', () => {
    const table = new SessionTable(10)
    apply(table, 1, 6, 4)
    apply(table, 1, 5, 4)
    apply(table, 2, 9, 8)
    const copy = new SessionTable(10)
    const machine = reply('machine state')
    assert.equal(text(decodeState(encodeState(table, machine), copy)), 'machine state')
    assert.equal(apply(copy, 1, 5, 4), 'dup r5')
    assert.equal(apply(copy, 1, 6, 4), 'dup r6')
    assert.equal(apply(copy, 1, 4, 0), 'stale')
    assert.equal(apply(copy, 2, 9, 8), 'dup r9')
    assert.equal(apply(copy, 2, 10, 9), 'applied r10')
    // Same table, same bytes: the snapshot is deterministic.
    const again = new SessionTable(10)
    decodeState(encodeState(table, machine), again)
    assert.deepEqual(encodeState(again, machine), encodeState(table, machine))
  })

  it('reads a version 1 snapshot (one sequence and reply per client)', () => {
    const writer = new ByteWriter().u8(1).u32(1)
    writer.num(7).num(3).num(42).bytes(reply('r3'))
    const data = writer.bytes(reply('sm')).finish()
    const table = new SessionTable(10)
    assert.equal(text(decodeState(data, table)), 'sm')
    assert.equal(apply(table, 7, 3, 2), 'dup r3')
    assert.equal(apply(table, 7, 2, 1), 'stale')
    assert.equal(apply(table, 7, 4, 3), 'applied r4')
  })

  it('envelopes round-trip, and a legacy envelope reads as ackedThrough = sequence - 1', () => {
    const envelope = { clientId: 2 ** 52 + 3, sequence: 9, ackedThrough: 4, command: reply('c') }
    const decoded = decodeEnvelope(encodeEnvelope(envelope))
    assert.deepEqual({ ...decoded, command: text(decoded.command) }, { ...envelope, command: 'c' })
    const legacy = new ByteWriter().num(5).num(9).bytes(reply('c')).finish()
    const old = decodeEnvelope(legacy)
    assert.deepEqual([old.clientId, old.sequence, old.ackedThrough], [5, 9, 8])
  })
})

describe('session client (the router side)', () => {
  it('ackedThrough is the lowest unanswered sequence minus one, whatever order answers come', () => {
    const client = new SessionClient(1, 4)
    const sequences = [client.next(), client.next(), client.next()]
    assert.deepEqual(sequences, [1, 2, 3])
    client.answered(2)
    assert.equal(client.ackedThrough, 0)
    client.answered(1)
    assert.equal(client.ackedThrough, 2)
    assert.equal(client.inFlight, 1)
    client.answered(3)
    assert.equal(client.ackedThrough, 3)
  })

  it('hands out at most its window of sequences above ackedThrough', () => {
    const client = new SessionClient(1, 2)
    client.next()
    client.next()
    assert.equal(client.canStart, false)
    client.answered(2)
    assert.equal(client.canStart, false, 'sequence 1 still has no answer')
    client.answered(1)
    assert.equal(client.canStart, true)
    assert.equal(client.next(), 3)
  })
})
