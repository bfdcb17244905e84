/* Record codec: round trip at any offset, every flipped bit detected, cut and absurd records. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import {
  DecodeStatus,
  RecordFlag,
  RecordView,
  decodeRecord,
  encodeRecord,
  recordBytes,
  recordHeaderBytes,
  type RecordFields,
} from './record-codec.js'

function encode(fields: RecordFields, at = 0): Buffer {
  const buffer = Buffer.alloc(at + recordBytes(fields.key.length, fields.value.length) + 3)
  const end = encodeRecord(buffer, at, fields)
  assert.equal(end, at + recordBytes(fields.key.length, fields.value.length))
  return buffer
}

const sample: RecordFields = {
  seq: 2 ** 40 + 12345,
  timestampMs: 1_763_000_000_123,
  expiresAtMs: 1_900_000_000_000,
  flags: 0,
  kind: 0,
  key: Buffer.from('user:42'),
  value: Buffer.from('hello, world'),
}

describe('record codec', () => {
  test('round-trips every field at any offset', () => {
    for (const at of [0, 1, 17]) {
      const buffer = encode(sample, at)
      const view = new RecordView()
      const end = at + recordBytes(7, 12)
      assert.equal(decodeRecord(view, buffer, at, end), DecodeStatus.ok)
      assert.equal(view.seq, sample.seq)
      assert.equal(view.timestampMs, sample.timestampMs)
      assert.equal(view.expiresAtMs, sample.expiresAtMs)
      assert.equal(view.flags, 0)
      assert.equal(view.size, end - at)
      assert.equal(buffer.toString('latin1', view.keyStart, view.keyEnd), 'user:42')
      assert.equal(buffer.toString('latin1', view.keyEnd, view.valueEnd), 'hello, world')
    }
  })

  test('tombstones, clear markers, kinds and empty keys/values round-trip', () => {
    const fields = { ...sample, flags: RecordFlag.tombstone | RecordFlag.clear, kind: 7 }
    const empty = { ...fields, key: Buffer.alloc(0), value: Buffer.alloc(0), seq: 0 }
    for (const record of [fields, empty]) {
      const buffer = encode(record)
      const view = new RecordView()
      assert.equal(decodeRecord(view, buffer, 0, buffer.length), DecodeStatus.ok)
      assert.equal(view.flags, RecordFlag.tombstone | RecordFlag.clear)
      assert.equal(view.kind, 7)
      assert.equal(view.seq, record.seq)
    }
    assert.equal(recordBytes(0, 0), recordHeaderBytes)
  })

  test('every single flipped bit is detected', () => {
    const buffer = encode(sample)
    const size = recordBytes(7, 12)
    const view = new RecordView()
    for (let byte = 0; byte < size; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(buffer)
        damaged[byte]! ^= 1 << bit
        const status = decodeRecord(view, damaged, 0, damaged.length)
        assert.notEqual(status, DecodeStatus.ok, `flip at byte ${byte} bit ${bit}`)
      }
    }
  })

  test('a cut record asks for more and says how much', () => {
    const buffer = encode(sample)
    const size = recordBytes(7, 12)
    const view = new RecordView()
    assert.equal(decodeRecord(view, buffer, 0, 10), DecodeStatus.needMore)
    assert.equal(view.size, recordHeaderBytes)
    assert.equal(decodeRecord(view, buffer, 0, size - 1), DecodeStatus.needMore)
    assert.equal(view.size, size)
  })

  test('absurd lengths are a bad header, not an allocation', () => {
    const buffer = encode(sample)
    buffer.writeUInt32LE(0xffffffff, 34)
    const view = new RecordView()
    assert.equal(decodeRecord(view, buffer, 0, buffer.length), DecodeStatus.badHeader)
    assert.match(view.problem, /out of range/)
  })

  test('encode refuses unknown flags and values that do not fit', () => {
    assert.throws(() => encode({ ...sample, flags: 0x80 }), /known record flags/)
    assert.throws(() => encodeRecord(Buffer.alloc(10), 0, sample), /fits the target/)
    assert.throws(() => encode({ ...sample, seq: -1 }), /safe non-negative/)
  })
})
