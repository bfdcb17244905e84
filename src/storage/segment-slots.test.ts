/* A rotated segment's hint built from the noted slots (SegmentSlots) lists exactly what the
 * full keydir scan lists, whatever was overwritten, deleted, cleared or written elsewhere since,
 * and falls back to the scan past its limit. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import { checkHint, forEachHintEntry } from './hint-codec.js'
import { Keydir } from './keydir.js'
import { buildSegmentHint } from './segment-hint.js'
import { SegmentSlots } from './segment-slots.js'
import { createSegment } from './segments.js'
import type { BlockFile } from '../core/ports.js'

function entries(hint: Buffer): string[] {
  const header = checkHint(hint)
  if (typeof header === 'string') assert.fail(header)
  const listed: string[] = []
  const problem = forEachHintEntry(hint, header, (entry, bytes) => {
    const key = bytes.toString('latin1', entry.keyStart, entry.keyEnd)
    listed.push(`${key}@${entry.offset}/${entry.seq}/${entry.size}/${entry.expiresAtMs}`)
  })
  assert.equal(problem, null)
  return listed.sort()
}

for (const limit of [1_000_000, 50]) {
  test(`slot-noted hints equal the keydir scan (limit ${limit})`, () => {
    const rng = createRng(limit)
    const keydirs = [new Keydir(), new Keydir()]
    const activeId = 7
    const segment = createSegment(activeId, null as unknown as BlockFile, 0)
    const slots = new SegmentSlots(true)
    let offset = 0
    let seq = 1
    for (let i = 0; i < 3000; i++) {
      const which = rng.int(2)
      const keydir = keydirs[which]!
      const key = `key${rng.int(300)}`
      const roll = rng.int(100)
      if (roll < 70) {
        // A write into the active segment, or (merge-like, or older) elsewhere.
        const here = rng.int(4) !== 0
        const size = 20 + rng.int(30)
        const entry = { segmentId: here ? activeId : 3, offset, size, expiresAtMs: 0, seq: seq++ }
        const slot = keydir.set(key, entry)
        if (here) slots.note(which, slot, offset, limit)
        offset += size
        segment.totalBytes = offset
        if (here) segment.seqMin = Math.min(segment.seqMin, entry.seq)
        if (here) segment.seqMax = Math.max(segment.seqMax, entry.seq)
      } else if (roll < 98) {
        const slot = keydir.slotOf(key)
        if (slot >= 0) keydir.removeAt(slot)
      } else {
        keydir.clear()
      }
    }
    const noted = buildSegmentHint(keydirs, segment, [], slots)
    const scanned = buildSegmentHint(keydirs, segment, [], null)
    assert.equal(slots.complete, limit > 3000)
    assert.ok(entries(scanned).length > 10)
    assert.deepEqual(entries(noted), entries(scanned))
  })
}
