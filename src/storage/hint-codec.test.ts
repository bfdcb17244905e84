/* Hint file codec: round trip, every damaged byte refused, growth past the initial buffer. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { HintOrigin, HintWriter, checkHint, forEachHintEntry } from './hint-codec.js'
import { RecordFlag } from './record-codec.js'

function sampleHint(): Buffer {
  const writer = new HintWriter(12, HintOrigin.merge)
  writer.add('alpha', { seq: 5, offset: 0, size: 50, expiresAtMs: 0, flags: 0 })
  writer.add('\u00ff\u0000bin', { seq: 2 ** 45, offset: 50, size: 44, expiresAtMs: 17, flags: 0 })
  writer.add('gone', { seq: 9, offset: 94, size: 42, expiresAtMs: 0, flags: RecordFlag.tombstone })
  return Buffer.from(writer.finish(136, 5, 2 ** 45))
}

describe('hint codec', () => {
  test('round-trips header and entries', () => {
    const hint = sampleHint()
    const header = checkHint(hint)
    assert.ok(typeof header !== 'string')
    assert.deepEqual(header, {
      segmentId: 12,
      origin: HintOrigin.merge,
      dataBytes: 136,
      entryCount: 3,
      seqMin: 5,
      seqMax: 2 ** 45,
    })
    const entries: unknown[] = []
    const problem = forEachHintEntry(hint, header, (entry, bytes) => {
      const key = bytes.toString('latin1', entry.keyStart, entry.keyEnd)
      entries.push([key, entry.seq, entry.offset, entry.size, entry.expiresAtMs, entry.flags])
    })
    assert.equal(problem, null)
    assert.deepEqual(entries, [
      ['alpha', 5, 0, 50, 0, 0],
      ['\u00ff\u0000bin', 2 ** 45, 50, 44, 17, 0],
      ['gone', 9, 94, 42, 0, RecordFlag.tombstone],
    ])
  })

  test('any damage or truncation is refused', () => {
    const hint = sampleHint()
    for (let at = 0; at < hint.length; at++) {
      const damaged = Buffer.from(hint)
      damaged[at]! ^= 0x10
      assert.equal(typeof checkHint(damaged), 'string', `flip at ${at}`)
    }
    assert.equal(checkHint(hint.subarray(0, hint.length - 1)), 'hint CRC mismatch')
    assert.equal(checkHint(hint.subarray(0, 10)), 'hint file too short')
  })

  test('grows past its initial buffer', () => {
    const writer = new HintWriter(1, HintOrigin.writer)
    const key = 'k'.repeat(1000)
    for (let i = 0; i < 200; i++) {
      writer.add(key, { seq: i, offset: i * 1100, size: 1100, expiresAtMs: 0, flags: 0 })
    }
    const hint = writer.finish(220_000, 0, 199)
    const header = checkHint(hint)
    assert.ok(typeof header !== 'string')
    let count = 0
    assert.equal(
      forEachHintEntry(hint, header, () => count++),
      null,
    )
    assert.equal(count, 200)
  })
})
