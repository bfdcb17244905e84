/* Segment bookkeeping (pure): file names in a data directory and, per segment, its open file,
 * total/live bytes and seq range. Invariant: liveBytes counts exactly the records the keydir
 * points at, so dead bytes (total - live) are known without scanning; merge planning and the
 * tombstone-dropping rule read from here. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile } from '../core/ports.js'

const idDigits = 10
const dataSuffix = '.data'
const hintSuffix = '.hint'
/** A merge output that is not yet complete; deleted at open. */
const mergingSuffix = '.data.merging'
/** Temp files of Disk.writeFileAtomic. */
const tempMarker = '.tmp'
/** Written (atomically) once merge outputs are durable: the old segments it lists are obsolete. */
export const mergeManifestName = 'merge.obsolete'
export const lockFileName = 'LOCK'

export const segmentFileName = (id: number): string =>
  String(id).padStart(idDigits, '0') + dataSuffix
export const hintFileName = (id: number): string => String(id).padStart(idDigits, '0') + hintSuffix
export const mergingFileName = (id: number): string =>
  String(id).padStart(idDigits, '0') + mergingSuffix
export const joinPath = (dir: string, name: string): string =>
  dir.endsWith('/') ? dir + name : `${dir}/${name}`

export interface DirListing {
  /** Segment ids with a data file, ascending. */
  dataIds: number[]
  hintIds: Set<number>
  /** Leftovers to delete at open: incomplete merge outputs and temp files. */
  leftovers: string[]
  hasMergeManifest: boolean
  /** Highest id seen in any segment-like file name (data, hint, merging). */
  idMax: number
}

const idPattern = /^(\d{10})\.(data|hint|data\.merging)$/

export function classifyDir(names: readonly string[]): DirListing {
  const listing: DirListing = {
    dataIds: [],
    hintIds: new Set(),
    leftovers: [],
    hasMergeManifest: false,
    idMax: 0,
  }
  for (const name of names) {
    if (name === mergeManifestName) listing.hasMergeManifest = true
    else if (name.includes(tempMarker)) listing.leftovers.push(name)
    const match = idPattern.exec(name)
    if (match === null) continue
    const id = Number(match[1])
    listing.idMax = Math.max(listing.idMax, id)
    if (match[2] === 'data') listing.dataIds.push(id)
    else if (match[2] === 'hint') listing.hintIds.add(id)
    else listing.leftovers.push(name)
  }
  listing.dataIds.sort((a, b) => a - b)
  return listing
}

/** The merge manifest: the ids of segments a finished merge made obsolete. */
export function encodeMergeManifest(ids: readonly number[]): Buffer {
  return Buffer.from(JSON.stringify({ obsoleteSegmentIds: ids }) + '\n', 'utf8')
}

export function decodeMergeManifest(bytes: Buffer, path: string): number[] {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { obsoleteSegmentIds?: unknown }
    const ids = parsed.obsoleteSegmentIds
    if (Array.isArray(ids) && ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      return ids as number[]
    }
  } catch {
    // fall through to the typed error
  }
  throw new CaskadeError(ErrorCode.Corrupt, `${path}: unreadable merge manifest at offset 0`)
}

export interface Segment {
  readonly id: number
  /** Open for reads (the active segment: its read-write handle). */
  file: BlockFile
  /** Bytes the segment holds, including batched records not yet written. */
  totalBytes: number
  /** Bytes of records the keydir points at. */
  liveBytes: number
  /** Lowest / highest record seq in the segment (Infinity / -1 while empty). */
  seqMin: number
  seqMax: number
  /** Immutable, synced and hinted: only sealed segments are merged. */
  sealed: boolean
  /** A rotated segment's hint, built at rotation and kept until its seal wrote it (a checkpoint
   * taken meanwhile writes it into its own directory). */
  hint: Buffer | null
  /** A finished merge's input, being deleted: its outputs replace it in a checkpoint (a frozen
   * set holding some inputs but not others could revive a key whose tombstone merge dropped). */
  retired: boolean
}

export function createSegment(id: number, file: BlockFile, totalBytes: number): Segment {
  return {
    id,
    file,
    totalBytes,
    liveBytes: 0,
    seqMin: Infinity,
    seqMax: -1,
    sealed: false,
    hint: null,
    retired: false,
  }
}

export function noteRecordSeq(segment: Segment, seq: number): void {
  if (seq < segment.seqMin) segment.seqMin = seq
  if (seq > segment.seqMax) segment.seqMax = seq
}

export class SegmentTable {
  readonly #byId = new Map<number, Segment>()

  get count(): number {
    return this.#byId.size
  }

  add(segment: Segment): void {
    assert(!this.#byId.has(segment.id), 'segment ids are unique')
    this.#byId.set(segment.id, segment)
  }

  get(id: number): Segment {
    const segment = this.#byId.get(id)
    assert(segment !== undefined, 'a keydir entry points at a known segment')
    return segment
  }

  find(id: number): Segment | undefined {
    return this.#byId.get(id)
  }

  delete(id: number): void {
    this.#byId.delete(id)
  }

  all(): IterableIterator<Segment> {
    return this.#byId.values()
  }

  addLive(id: number, bytes: number): void {
    this.get(id).liveBytes += bytes
  }

  removeLive(id: number, bytes: number): void {
    const segment = this.get(id)
    segment.liveBytes -= bytes
    assert(segment.liveBytes >= 0, 'segment live bytes never go negative')
  }

  /** Sums over every segment, or only those `include` accepts. */
  totals(include?: (segment: Segment) => boolean): { totalBytes: number; liveBytes: number } {
    let totalBytes = 0
    let liveBytes = 0
    for (const segment of this.#byId.values()) {
      if (include !== undefined && !include(segment)) continue
      totalBytes += segment.totalBytes
      liveBytes += segment.liveBytes
    }
    return { totalBytes, liveBytes }
  }
}
