/* Recovery at open (pure, through the Disk port): finish or discard an interrupted merge, then
 * rebuild the keydir from hint files (immutable segments) and record scans (segments without a
 * valid hint). Invariant: the newest seq wins whatever the file order, tombstones remove, a clear
 * marker drops everything older; only the tail of the segment that was being appended to may be
 * torn (it is truncated, with an event); a bad record anywhere else fails the open. An atomic
 * group (records flagged groupContinues, closed by an unflagged one) is applied only once its
 * last record has been read: a tail that ends inside a group is truncated at the group's start. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk } from '../core/ports.js'
import {
  HintOrigin,
  checkHint,
  forEachHintEntry,
  hintSeqNone,
  type HintHeader,
} from './hint-codec.js'
import type { HashSeed } from './half-siphash.js'
import { Keydir } from './keydir.js'
import { RecordFlag, RecordKind } from './record-codec.js'
import type { SegmentMarker } from './segment-hint.js'
import { ScanStatus, SegmentScanner } from './segment-scanner.js'
import {
  SegmentTable,
  classifyDir,
  createSegment,
  decodeMergeManifest,
  hintFileName,
  joinPath,
  mergeManifestName,
  noteRecordSeq,
  segmentFileName,
  type DirListing,
  type Segment,
} from './segments.js'
import type { StorageEvent } from './types.js'

export interface RecoveryOptions {
  dir: string
  disk: Disk
  emit: (event: StorageEvent) => void
  /** The keydir's hash key (see EngineOptions.hashSeed). */
  hashSeed?: HashSeed | undefined
}

export interface RecoveredState {
  keydir: Keydir
  /** Element records (collections' fields and members), by element key. The engine drops
   * those of collection versions that are no longer live. */
  elements: Keydir
  segments: SegmentTable
  /** The segment that was being appended to (newest without a hint): keep appending to it. */
  activeSegmentId: number | null
  /** Tombstones and clear markers already in the active segment (for its future hint). */
  activeMarkers: SegmentMarker[]
  /** Immutable segments that had no valid hint: ids to write hints for, with their markers. */
  hintsToWrite: Map<number, SegmentMarker[]>
  seqNext: number
  segmentIdNext: number
  fromHints: number
}

interface RecoveryContext {
  options: RecoveryOptions
  keydir: Keydir
  elements: Keydir
  clearSeqMax: number
}

export async function recover(options: RecoveryOptions): Promise<RecoveredState> {
  const { dir, disk } = options
  let listing = classifyDir(disk.listSync(dir))
  if (listing.hasMergeManifest) {
    await finishMergeDeletion(options)
    listing = classifyDir(disk.listSync(dir))
  }
  for (const name of listing.leftovers) await disk.remove(joinPath(dir, name))
  for (const id of listing.hintIds) {
    if (!listing.dataIds.includes(id)) await disk.remove(joinPath(dir, hintFileName(id)))
  }
  const hints = loadHints(options, listing)
  const tolerantIds = segmentsThatMayBeTorn(listing, hints)
  const activeId = tolerantIds.at(-1) ?? null
  const segments = new SegmentTable()
  const state: RecoveredState = {
    keydir: new Keydir(options.hashSeed),
    elements: new Keydir(options.hashSeed),
    segments,
    activeSegmentId: activeId,
    activeMarkers: [],
    hintsToWrite: new Map(),
    seqNext: 1,
    segmentIdNext: listing.idMax + 1,
    fromHints: 0,
  }
  const context: RecoveryContext = {
    options,
    keydir: state.keydir,
    elements: state.elements,
    clearSeqMax: -1,
  }
  try {
    for (const id of listing.dataIds) {
      const path = joinPath(dir, segmentFileName(id))
      const tolerant = tolerantIds.includes(id)
      const file = disk.openSync(path, tolerant ? 'append' : 'read')
      const segment = createSegment(id, file, file.size())
      segments.add(segment)
      const hint = hints.get(id)
      if (hint !== undefined) {
        applyHint(context, segment, hint)
        state.fromHints++
        continue
      }
      const markers: SegmentMarker[] = []
      await scanSegment(context, segment, { tolerant, markers })
      if (id === activeId) state.activeMarkers = markers
      else state.hintsToWrite.set(id, markers)
    }
  } catch (error) {
    for (const segment of segments.all()) segment.file.closeSync()
    throw error
  }
  sweep(context, segments)
  for (const segment of segments.all()) {
    if (segment.seqMax >= state.seqNext) state.seqNext = segment.seqMax + 1
  }
  return state
}

/** A merge wrote its manifest (outputs durable) but may not have deleted every old file. */
async function finishMergeDeletion(options: RecoveryOptions): Promise<void> {
  const { dir, disk } = options
  const manifestPath = joinPath(dir, mergeManifestName)
  const ids = decodeMergeManifest(disk.readFileSync(manifestPath), manifestPath)
  for (const id of ids) {
    await disk.remove(joinPath(dir, hintFileName(id)))
    await disk.remove(joinPath(dir, segmentFileName(id)))
  }
  await disk.remove(manifestPath)
}

interface LoadedHint {
  bytes: Buffer
  header: HintHeader
}

/** Hints that are whole and describe their data file exactly as it is. */
function loadHints(options: RecoveryOptions, listing: DirListing): Map<number, LoadedHint> {
  const hints = new Map<number, LoadedHint>()
  for (const id of listing.dataIds) {
    if (!listing.hintIds.has(id)) continue
    const bytes = options.disk.readFileSync(joinPath(options.dir, hintFileName(id)))
    const header = checkHint(bytes)
    if (typeof header === 'string' || header.segmentId !== id) continue
    const file = options.disk.openSync(joinPath(options.dir, segmentFileName(id)), 'read')
    const dataBytes = file.size()
    file.closeSync()
    if (header.dataBytes === dataBytes) hints.set(id, { bytes, header })
  }
  return hints
}

/**
 * Segments a crash can have left with a torn tail: those without a valid hint that are newer than
 * every segment the write path sealed (a seal syncs before it writes the hint). Merge outputs do
 * not count: they get ids after the active segment's, and are durable before they exist.
 */
function segmentsThatMayBeTorn(listing: DirListing, hints: Map<number, LoadedHint>): number[] {
  let newestSealed = -1
  for (const [id, hint] of hints) {
    if (hint.header.origin === HintOrigin.writer) newestSealed = Math.max(newestSealed, id)
  }
  return listing.dataIds.filter((id) => id > newestSealed && !hints.has(id))
}

function applyHint(context: RecoveryContext, segment: Segment, hint: LoadedHint): void {
  if (hint.header.seqMin !== hintSeqNone) {
    noteRecordSeq(segment, hint.header.seqMin)
    noteRecordSeq(segment, hint.header.seqMax)
  }
  segment.sealed = true
  const problem = forEachHintEntry(hint.bytes, hint.header, (entry, bytes) => {
    const key = bytes.toString('latin1', entry.keyStart, entry.keyEnd)
    applyRecord(context, segment, key, entry, null)
  })
  if (problem !== null) {
    const path = joinPath(context.options.dir, hintFileName(segment.id))
    throw new CaskadeError(ErrorCode.Corrupt, `${path}: ${problem}`)
  }
}

interface RecordLocation {
  seq: number
  offset: number
  size: number
  expiresAtMs: number
  flags: number
  kind: number
}

function applyRecord(
  context: RecoveryContext,
  segment: Segment,
  key: string,
  record: RecordLocation,
  markers: SegmentMarker[] | null,
): void {
  const { seq, offset, size, flags, kind } = record
  const keydir = kind === RecordKind.element ? context.elements : context.keydir
  if ((flags & RecordFlag.clear) !== 0) {
    if (seq > context.clearSeqMax) context.clearSeqMax = seq
    markers?.push({ key: '', seq, offset, size, flags })
    return
  }
  if (seq < context.clearSeqMax) return
  const tombstone = (flags & RecordFlag.tombstone) !== 0
  if (tombstone) markers?.push({ key, seq, offset, size, flags, kind })
  const { expiresAtMs } = record
  const entry = { segmentId: segment.id, offset, size, expiresAtMs, seq, kind }
  keydir.setIfNewer(key, entry, tombstone)
}

interface ScanMode {
  /** A torn or bad record truncates the file there instead of failing the open. */
  tolerant: boolean
  markers: SegmentMarker[]
}

/** A record read but not applied yet: it belongs to an atomic group still open. */
interface PendingRecord {
  key: string
  location: RecordLocation
}

async function scanSegment(context: RecoveryContext, segment: Segment, mode: ScanMode) {
  const scanner = new SegmentScanner(segment.file, segment.totalBytes)
  const view = scanner.view
  const group: PendingRecord[] = []
  let groupStart = 0
  for (;;) {
    const status = scanner.next()
    if (status === ScanStatus.ok) {
      const key = scanner.buffer.toString('latin1', view.keyStart, view.keyEnd)
      const location = {
        seq: view.seq,
        offset: scanner.recordOffset,
        size: view.size,
        expiresAtMs: view.expiresAtMs,
        flags: view.flags,
        kind: view.kind,
      }
      const inGroup = (view.flags & RecordFlag.groupContinues) !== 0
      location.flags &= ~RecordFlag.groupContinues
      if (!inGroup && group.length === 0) {
        noteRecordSeq(segment, view.seq)
        applyRecord(context, segment, key, location, mode.markers)
        continue
      }
      if (group.length === 0) groupStart = scanner.recordOffset
      group.push({ key, location })
      if (inGroup) continue
      // The group's last record: element records are held back and applied like any other.
      for (const record of group) {
        noteRecordSeq(segment, record.location.seq)
        applyRecord(context, segment, record.key, record.location, mode.markers)
      }
      group.length = 0
      continue
    }
    if (status === ScanStatus.end && group.length === 0) return
    const torn = group.length > 0
    const offset = torn ? groupStart : scanner.recordOffset
    const reason =
      status === ScanStatus.end
        ? 'atomic group cut short by end of file'
        : status === ScanStatus.needMore
          ? 'record cut short by end of file'
          : view.problem
    if (!mode.tolerant) failCorrupt(context, segment.file, scanner.recordOffset, reason)
    await truncateTail(context, segment, offset)
    return
  }
}

async function truncateTail(context: RecoveryContext, segment: Segment, offset: number) {
  const droppedBytes = segment.totalBytes - offset
  await segment.file.truncate(offset)
  segment.totalBytes = offset
  context.options.emit({
    kind: 'torn-tail-truncated',
    file: segment.file.path,
    offset,
    droppedBytes,
  })
}

function failCorrupt(context: RecoveryContext, file: BlockFile, offset: number, reason: string) {
  context.options.emit({ kind: 'corruption', file: file.path, offset, reason })
  throw new CaskadeError(ErrorCode.Corrupt, `${file.path}: ${reason} at offset ${offset}`)
}

/** Drops tombstones and cleared entries, and counts live bytes per segment. */
function sweep(context: RecoveryContext, segments: SegmentTable): void {
  const { clearSeqMax } = context
  for (const keydir of [context.keydir, context.elements]) {
    keydir.forEachSlot((slot) => {
      if (keydir.isTombstoneAt(slot) || keydir.seqAt(slot) < clearSeqMax) keydir.removeAt(slot)
      else segments.addLive(keydir.segmentIdAt(slot), keydir.sizeAt(slot))
    })
  }
}
