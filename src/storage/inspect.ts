/* Read-only check of a data directory (`caskade inspect`): scans every record of every segment
 * (CRC and header), checks every hint against the records it points at, and reports per-file
 * counts, live/dead bytes and every problem with its file and byte offset. Pure, through the Disk
 * port; takes no lock and changes nothing, so it can look at a directory a server is using.
 * Records of an atomic group count toward the keys only once the group's last record is read,
 * as recovery applies them; a segment ending inside a group is reported (open drops it). */
import type { Disk } from '../core/ports.js'
import {
  HintOrigin,
  checkHint,
  forEachHintEntry,
  type HintEntryView,
  type HintHeader,
} from './hint-codec.js'
import { decodeElementKey, decodeMetaValue } from './collection-key.js'
import { RecordFlag, RecordKind, isCollectionKind } from './record-codec.js'
import { ScanStatus, SegmentScanner } from './segment-scanner.js'
import { classifyDir, hintFileName, joinPath, segmentFileName } from './segments.js'
import type {
  InspectHintReport,
  InspectProblem,
  InspectReport,
  InspectSegmentReport,
} from './types.js'

interface Newest {
  seq: number
  segmentId: number
  size: number
  tombstone: boolean
  expiring: boolean
  kind: number
  /** A collection's version (its metadata record's value), else -1. */
  version: number
}

/** Element records live in their own namespace: no latin1 key starts with this char. */
const elementPrefix = '\u0100'

/** Per segment: each record's offset and seq, in file order (for checking hints). */
interface RecordIndex {
  offsets: number[]
  seqs: number[]
}

/** What noteRecord needs of one decoded record (kept while its atomic group is open). */
interface ScannedRecord {
  /** Element records' keys carry elementPrefix: their own namespace. */
  key: string
  seq: number
  size: number
  flags: number
  expiresAtMs: number
  kind: number
  /** A collection's version (from its metadata record), or -1. */
  version: number
}

interface InspectState {
  disk: Disk
  dir: string
  newest: Map<string, Newest>
  clearSeqMax: number
  problems: InspectProblem[]
  indexes: Map<number, RecordIndex>
}

export async function inspectDataDir(disk: Disk, dir: string): Promise<InspectReport> {
  const listing = classifyDir(await disk.list(dir))
  const state: InspectState = {
    disk,
    dir,
    newest: new Map(),
    clearSeqMax: -1,
    problems: [],
    indexes: new Map(),
  }
  const segments = listing.dataIds.map((id) => scanSegmentFile(state, id))
  const hints: InspectHintReport[] = []
  for (const id of [...listing.hintIds].sort((a, b) => a - b)) hints.push(checkHintFile(state, id))
  const report: InspectReport = {
    dir,
    segments,
    hints,
    keys: 0,
    keysWithExpiry: 0,
    totalBytes: 0,
    liveBytes: 0,
    deadBytes: 0,
    problems: state.problems,
    notes: listing.leftovers.map((name) => `leftover ${joinPath(dir, name)} (removed at open)`),
  }
  if (listing.hasMergeManifest) report.notes.push('an interrupted merge is completed at open')
  tallyLiveness(state, report)
  return report
}

function scanSegmentFile(state: InspectState, id: number): InspectSegmentReport {
  const path = joinPath(state.dir, segmentFileName(id))
  const file = state.disk.openSync(path, 'read')
  const bytes = file.size()
  const report: InspectSegmentReport = {
    file: path,
    segmentId: id,
    bytes,
    records: 0,
    tombstones: 0,
    clearMarkers: 0,
    keys: 0,
    liveBytes: 0,
    deadBytes: 0,
  }
  const index: RecordIndex = { offsets: [], seqs: [] }
  state.indexes.set(id, index)
  try {
    const scanner = new SegmentScanner(file, bytes)
    const view = scanner.view
    const group: ScannedRecord[] = []
    let groupStart = 0
    for (let status = scanner.next(); ; status = scanner.next()) {
      if (status === ScanStatus.end) {
        if (group.length > 0) noteTornGroup(state, path, groupStart, bytes)
        break
      }
      if (status !== ScanStatus.ok) {
        const reason =
          status === ScanStatus.needMore ? 'record cut short by end of file' : view.problem
        const dropped = bytes - scanner.recordOffset
        state.problems.push({
          file: path,
          offset: scanner.recordOffset,
          reason: `${reason} (${dropped} bytes from here on are unreadable)`,
        })
        if (group.length > 0) noteTornGroup(state, path, groupStart, bytes)
        break
      }
      report.records++
      index.offsets.push(scanner.recordOffset)
      index.seqs.push(view.seq)
      if (group.length === 0) groupStart = scanner.recordOffset
      group.push(scannedRecord(scanner))
      if ((view.flags & RecordFlag.groupContinues) !== 0) continue
      for (const record of group) noteRecord(state, report, record)
      group.length = 0
    }
  } finally {
    file.closeSync()
  }
  return report
}

function scannedRecord(scanner: SegmentScanner): ScannedRecord {
  const view = scanner.view
  const isElement = view.kind === RecordKind.element
  const key =
    (isElement ? elementPrefix : '') + scanner.buffer.toString('latin1', view.keyStart, view.keyEnd)
  const version = isCollectionKind(view.kind)
    ? decodeMetaValue(scanner.buffer.subarray(view.keyEnd, view.valueEnd))
    : -1
  const { seq, size, flags, expiresAtMs, kind } = view
  return { key, seq, size, flags, expiresAtMs, kind, version }
}

function noteTornGroup(state: InspectState, path: string, groupStart: number, bytes: number) {
  state.problems.push({
    file: path,
    offset: groupStart,
    reason: `atomic group cut short by end of file (${bytes - groupStart} bytes dropped at open)`,
  })
}

function noteRecord(
  state: InspectState,
  report: InspectSegmentReport,
  record: ScannedRecord,
): void {
  if ((record.flags & RecordFlag.clear) !== 0) {
    report.clearMarkers++
    state.clearSeqMax = Math.max(state.clearSeqMax, record.seq)
    return
  }
  const tombstone = (record.flags & RecordFlag.tombstone) !== 0
  if (tombstone) report.tombstones++
  const previous = state.newest.get(record.key)
  if (previous !== undefined && previous.seq >= record.seq) return
  state.newest.set(record.key, {
    seq: record.seq,
    segmentId: report.segmentId,
    size: record.size,
    tombstone,
    expiring: record.expiresAtMs !== 0,
    kind: record.kind,
    version: record.version,
  })
}

/** An element record is live while its key holds a live collection of the same version. */
function isLiveElement(state: InspectState, elementKey: string): boolean {
  const parts = decodeElementKey(Buffer.from(elementKey.slice(elementPrefix.length), 'latin1'))
  if (parts === null) return false
  const owner = state.newest.get(parts.userKey.toString('latin1'))
  if (owner === undefined || owner.tombstone || owner.seq < state.clearSeqMax) return false
  return isCollectionKind(owner.kind) && owner.version === parts.version
}

function tallyLiveness(state: InspectState, report: InspectReport): void {
  const byId = new Map(report.segments.map((segment) => [segment.segmentId, segment]))
  for (const [key, newest] of state.newest) {
    if (newest.tombstone || newest.seq < state.clearSeqMax) continue
    const segment = byId.get(newest.segmentId)
    if (segment === undefined) continue
    if (newest.kind === RecordKind.element) {
      if (isLiveElement(state, key)) segment.liveBytes += newest.size
      continue
    }
    segment.keys++
    segment.liveBytes += newest.size
    report.keys++
    if (newest.expiring) report.keysWithExpiry++
  }
  for (const segment of report.segments) {
    segment.deadBytes = segment.bytes - segment.liveBytes
    report.totalBytes += segment.bytes
    report.liveBytes += segment.liveBytes
    report.deadBytes += segment.deadBytes
  }
}

function checkHintFile(state: InspectState, id: number): InspectHintReport {
  const path = joinPath(state.dir, hintFileName(id))
  const report: InspectHintReport = {
    file: path,
    segmentId: id,
    entries: 0,
    valid: false,
    origin: 'unknown',
  }
  const bytes = state.disk.readFileSync(path)
  const header = checkHint(bytes)
  if (typeof header === 'string') {
    state.problems.push({ file: path, offset: 0, reason: header })
    return report
  }
  report.origin = header.origin === HintOrigin.merge ? 'merge' : 'writer'
  report.entries = header.entryCount
  const index = state.indexes.get(id)
  const problem = hintMismatch(header, id, index, state.disk, state.dir)
  if (problem !== null) {
    state.problems.push({ file: path, offset: 0, reason: problem })
    return report
  }
  let firstBad: InspectProblem | null = null
  const entryProblem = forEachHintEntry(bytes, header, (entry) => {
    if (firstBad === null && index !== undefined && !indexHas(index, entry)) {
      const reason = `hint entry for offset ${entry.offset} (seq ${entry.seq}) matches no record`
      firstBad = { file: path, offset: entry.keyStart, reason }
    }
  })
  if (entryProblem !== null) state.problems.push({ file: path, offset: 0, reason: entryProblem })
  else if (firstBad !== null) state.problems.push(firstBad)
  else report.valid = true
  return report
}

function hintMismatch(
  header: HintHeader,
  id: number,
  index: RecordIndex | undefined,
  disk: Disk,
  dir: string,
): string | null {
  if (header.segmentId !== id) return `hint names segment ${header.segmentId}`
  if (index === undefined) return 'hint without a data file (removed at open)'
  const dataPath = joinPath(dir, segmentFileName(id))
  const file = disk.openSync(dataPath, 'read')
  const dataBytes = file.size()
  file.closeSync()
  if (header.dataBytes !== dataBytes) {
    return `hint describes ${header.dataBytes} data bytes, the data file has ${dataBytes}`
  }
  return null
}

/** Binary search: is there a record at entry.offset with entry.seq? */
function indexHas(index: RecordIndex, entry: HintEntryView): boolean {
  let low = 0
  let high = index.offsets.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const offset = index.offsets[middle]!
    if (offset === entry.offset) return index.seqs[middle] === entry.seq
    if (offset < entry.offset) low = middle + 1
    else high = middle - 1
  }
  return false
}
