/* Builds a segment's hint file from the keydir (its live records) plus the markers written to it
 * (tombstones, clear markers), which the keydir does not hold. Pure. Invariant: the hint lists
 * every record that can still decide a key's state, and the seq range of ALL the segment's
 * records, which the merge's tombstone-dropping rule depends on. */
import { HintOrigin, HintWriter, hintSeqNone } from './hint-codec.js'
import type { Keydir } from './keydir.js'
import type { SegmentSlots } from './segment-slots.js'
import type { Segment } from './segments.js'

/** A tombstone or clear marker appended to a segment (clear markers have key ''). */
export interface SegmentMarker {
  key: string
  seq: number
  offset: number
  size: number
  flags: number
  /** RecordKind: element tombstones are routed to the element keydir at recovery. */
  kind?: number
}

/**
 * `keydirs`: the user-key keydir and the element keydir (collections' fields and members).
 * `slots`: when complete, the slots written into the segment (only those are visited).
 */
export function buildSegmentHint(
  keydirs: readonly Keydir[],
  segment: Segment,
  markers: readonly SegmentMarker[],
  slots: SegmentSlots | null = null,
): Buffer {
  const writer = new HintWriter(segment.id, HintOrigin.writer)
  const segmentId = segment.id
  const add = (keydir: Keydir, slot: number): void => {
    writer.add(keydir.keyAt(slot) as string, {
      seq: keydir.seqAt(slot),
      offset: keydir.offsetAt(slot),
      size: keydir.sizeAt(slot),
      expiresAtMs: keydir.expiresAtMsAt(slot),
      flags: 0,
      kind: keydir.kindAt(slot),
    })
  }
  if (slots?.complete === true) {
    // A noted slot may have been freed or rewritten since: only its current record counts.
    slots.forEach((which, slot, offset) => {
      const keydir = keydirs[which]
      if (keydir === undefined || keydir.keyAt(slot) === undefined) return
      if (keydir.segmentIdAt(slot) !== segmentId || keydir.offsetAt(slot) !== offset) return
      if (!keydir.isTombstoneAt(slot)) add(keydir, slot)
    })
  } else {
    for (const keydir of keydirs) {
      keydir.forEachSlot((slot) => {
        if (keydir.segmentIdAt(slot) !== segmentId || keydir.isTombstoneAt(slot)) return
        add(keydir, slot)
      })
    }
  }
  for (const marker of markers) {
    writer.add(marker.key, { ...marker, expiresAtMs: 0 })
  }
  const empty = segment.seqMax < 0
  return writer.finish(
    segment.totalBytes,
    empty ? hintSeqNone : segment.seqMin,
    empty ? 0 : segment.seqMax,
  )
}
