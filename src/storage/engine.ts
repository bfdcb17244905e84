/* The Bitcask storage engine: appends records to the active segment through group commit, keeps
 * the keydir in step, rotates and seals segments (sync + hint), recovers at open and hands
 * immutable segments to merge. Pure: disk, clock and timers come in through the ports.
 * Invariant: every keydir entry points at a record that is in the batch or in a file the engine
 * holds open, and segment live-byte counts match the keydir exactly. A failed fdatasync (also a
 * segment's seal) or write latches the engine read-only with MISCONF: see group-commit.ts.
 * Atomic groups (beginGroup/endGroup): every record of an open group carries groupContinues and
 * the last one loses it at endGroup, while it is still in the batch; no rotation splits a group.
 * checkpoint() rotates and hard-links every immutable segment + hint into a directory: immutable
 * files are never modified (merges only delete their names), so the links are a frozen state. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { BlockFile } from '../core/ports.js'
import {
  checkElementSize,
  decodeElementKey,
  decodeMetaValue,
  encodeElementKey,
  encodeMetaValue,
  valueTooLargeMessage,
} from './collection-key.js'
import { asError } from './disk-failure.js'
import { FieldIndex } from './field-index.js'
import { GroupCommit, type DurableCallback } from './group-commit.js'
import type { Keydir } from './keydir.js'
import { MergeJob, planMerge } from './merge.js'
import {
  DecodeStatus,
  RecordFlag,
  RecordKind,
  RecordView,
  decodeRecord,
  encodeRecord,
  isCollectionKind,
  recordBytes,
  recordHeaderBytes,
  clearRecordFlag,
  type RecordFields,
} from './record-codec.js'
import { recover, type RecoveredState } from './recovery.js'
import { buildSegmentHint, type SegmentMarker } from './segment-hint.js'
import { SegmentSlots } from './segment-slots.js'
import {
  createSegment,
  hintFileName,
  joinPath,
  noteRecordSeq,
  segmentFileName,
  type Segment,
  type SegmentTable,
} from './segments.js'
import type {
  CheckpointFile,
  DiskEngine,
  EngineOptions,
  EngineStats,
  FsyncPolicy,
  ScanPage,
  StorageEvent,
} from './types.js'

/** Element keydir entries of dropped collection versions removed per event-loop turn. */
const graveyardStepSlots = 16 * 1024
/** Reads up to this size reuse one scratch buffer; larger records get their own. */
const readScratchBytesMax = 1024 * 1024
const readScratchBytesInitial = 16 * 1024
/** Indexes into #keydirs(): the user-key keydir and the element keydir. */
const keydirUser = 0
const keydirElements = 1
/** Offsets are stored as u32, so a segment must stay below 4 GiB. */
export const segmentBytesLimit = 0xffff_ffff
const emptyBuffer = Buffer.alloc(0)

export async function openEngine(options: EngineOptions): Promise<DiskEngine> {
  validateOptions(options)
  options.disk.mkdirp(options.dir)
  const lock = options.disk.lockDir(options.dir)
  try {
    const startedMs = options.clock.monotonicMs()
    const emit = (event: StorageEvent): void => options.onEvent?.(event)
    const { dir, disk, hashSeed } = options
    const state = await recover({ dir, disk, emit, hashSeed })
    const engine = new BitcaskEngine(options, state, lock)
    await engine.start(state)
    emit({
      kind: 'recovered',
      keys: engine.keyCount(),
      segments: state.segments.count,
      fromHints: state.fromHints,
      durationMs: options.clock.monotonicMs() - startedMs,
    })
    return engine
  } catch (error) {
    lock.release()
    throw error
  }
}

function validateOptions(options: EngineOptions): void {
  const { segmentBytesMax, mergeDeadRatioMin, mergeDeadBytesMin } = options
  if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < recordHeaderBytes) {
    throw new CaskadeError(ErrorCode.Config, `segment size ${segmentBytesMax} is too small`)
  }
  if (segmentBytesMax > segmentBytesLimit) {
    throw new CaskadeError(ErrorCode.Config, `segment size ${segmentBytesMax} exceeds 4 GiB`)
  }
  if (!(mergeDeadRatioMin >= 0 && mergeDeadRatioMin <= 1)) {
    throw new CaskadeError(ErrorCode.Config, `merge dead ratio ${mergeDeadRatioMin} not in [0, 1]`)
  }
  if (!(mergeDeadBytesMin >= 0)) {
    throw new CaskadeError(ErrorCode.Config, `merge dead bytes ${mergeDeadBytesMin} is negative`)
  }
}

/** The directory holding `dir` (for fsyncing a new directory's own name). */
function parentDir(dir: string): string {
  const trimmed = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir
  const at = trimmed.lastIndexOf('/')
  return at < 0 ? '.' : at === 0 ? '/' : trimmed.slice(0, at)
}

/** A live collection: its metadata (kind, version) and field -> slot in the element keydir. */
interface Collection {
  kind: number
  version: number
  fields: FieldIndex<number>
}

class BitcaskEngine implements DiskEngine {
  readonly #options: EngineOptions
  readonly #keydir: Keydir
  /** Element records of live collection versions only (see #dropCollection). */
  readonly #elements: Keydir
  /** Live collections by user key (latin1). */
  readonly #collections = new Map<string, Collection>()
  /**
   * Element slots of dropped collection versions, still in #elements (so still counted live)
   * until a deferred step removes them: dropping a collection of any size is O(1) in the command.
   * Their records are dead by version meanwhile: recovery drops them and so does a later merge.
   */
  #graveyard: Array<Iterator<number>> = []
  #graveyardScheduled = false
  readonly #segments: SegmentTable
  #active!: Segment
  #commit!: GroupCommit
  /** Tombstones and clear markers in the active segment, for its hint. */
  #activeMarkers: SegmentMarker[]
  /** Slots written into the active segment, for its hint (see segment-slots.ts). */
  #activeSlots = new SegmentSlots(false)
  #seqNext: number
  #segmentIdNext: number
  #lock: { release(): void }
  #scratch = Buffer.allocUnsafe(readScratchBytesInitial)
  readonly #view = new RecordView()
  /**
   * Seals run one after another: a segment's hint may only become durable after every older
   * segment's data is synced, or recovery would take an older torn tail for corruption.
   * Resolves false once a seal failed (later segments then stay unhinted, and are scanned).
   */
  #sealChain: Promise<boolean> = Promise.resolve(true)
  #merge: MergeJob | null = null
  #merges = 0
  #closed = false
  /** Open beginGroup() calls; records appended while > 0 form one atomic group. */
  #groupDepth = 0
  /** Records appended to the open group, and where its newest one is (to close the group). */
  #groupRecords = 0
  #groupLastOffset = 0
  #groupLastSize = 0
  /** flushAndSync calls waiting for the open group to close (a half group is never synced). */
  #groupWaiters: Array<() => void> = []

  constructor(options: EngineOptions, state: RecoveredState, lock: { release(): void }) {
    this.#options = options
    this.#keydir = state.keydir
    this.#elements = state.elements
    this.#segments = state.segments
    this.#activeMarkers = state.activeMarkers
    this.#seqNext = state.seqNext
    this.#segmentIdNext = state.segmentIdNext
    this.#lock = lock
  }

  /** Writes the hints recovery found missing, then picks or creates the active segment. */
  async start(state: RecoveredState): Promise<void> {
    const empties = this.#rebuildCollections()
    for (const [id, markers] of state.hintsToWrite) {
      const segment = this.#segments.get(id)
      const hint = buildSegmentHint(this.#keydirs(), segment, markers)
      // Its bytes (and a torn tail's truncation) may be only in the page cache of a process that
      // crashed: a hint durable before them would name a size the file loses in a power loss.
      await segment.file.sync()
      await this.#options.disk.writeFileAtomic(this.#path(hintFileName(id)), hint)
      segment.sealed = true
    }
    if (state.activeSegmentId === null) {
      this.#active = this.#createActiveSegment()
      this.#activeSlots = new SegmentSlots(true)
    } else {
      this.#active = this.#segments.get(state.activeSegmentId)
    }
    this.#commit = new GroupCommit({
      file: this.#active.file,
      timers: this.#options.timers,
      clock: this.#options.clock,
      fsync: this.#options.fsync,
      onIoError: (operation, error) =>
        this.#emit({ kind: 'io-error', operation, message: error.message }),
    })
    // A crash between a collection's metadata record and its first element leaves it empty.
    for (const name of empties) this.delete(Buffer.from(name, 'latin1'))
    this.#maybeMerge()
  }

  get(key: Buffer): Buffer | null {
    this.#assertOpen()
    const slot = this.#slotOf(key)
    if (slot < 0) return null
    return this.#valueAt(this.#keydir, slot, key)
  }

  /** The value of the record `slot` of `keydir` points at (`key` is checked against it). */
  #valueAt(keydir: Keydir, slot: number, key: Buffer): Buffer {
    const inline = keydir.inlineValueAt(slot) // small values: no pread
    if (inline !== null) return inline
    const buffer = this.#readRecord(keydir, slot, key)
    const view = this.#view
    if (buffer !== this.#scratch && buffer !== this.#commit.batch) {
      return buffer.subarray(view.keyEnd, view.valueEnd)
    }
    const value = Buffer.allocUnsafe(view.valueEnd - view.keyEnd)
    buffer.copy(value, 0, view.keyEnd, view.valueEnd)
    return value
  }

  has(key: Buffer): boolean {
    this.#assertOpen()
    return this.#slotOf(key) >= 0
  }

  expiresAtMs(key: Buffer): number | null {
    this.#assertOpen()
    const slot = this.#slotOf(key)
    return slot < 0 ? null : this.#keydir.expiresAtMsAt(slot)
  }

  valueLength(key: Buffer): number | null {
    this.#assertOpen()
    const slot = this.#slotOf(key)
    return slot < 0 ? null : this.#keydir.sizeAt(slot) - recordHeaderBytes - key.length
  }

  put(key: Buffer, value: Buffer, expiresAtMs: number): void {
    this.#putRecord(key, value, expiresAtMs, RecordKind.string)
  }

  #putRecord(key: Buffer, value: Buffer, expiresAtMs: number, kind: number): void {
    this.#assertWritable()
    assert(Number.isSafeInteger(expiresAtMs) && expiresAtMs >= 0, 'expiresAtMs is a Unix ms or 0')
    if (key.length > limits.keyBytesMax) {
      throw new CaskadeError(
        ErrorCode.Err,
        `key exceeds maximum allowed size (${limits.keyBytesMax})`,
      )
    }
    if (value.length > limits.bulkBytesMax) {
      throw new CaskadeError(ErrorCode.Err, valueTooLargeMessage)
    }
    const seq = this.#seqNext++
    const size = recordBytes(key.length, value.length)
    const timestampMs = this.#options.clock.wallMs()
    const offset = this.#append(size, { seq, timestampMs, expiresAtMs, flags: 0, kind, key, value })
    const keydir = this.#keydir
    const entry = { segmentId: this.#active.id, offset, size, expiresAtMs, seq, kind }
    const slot = this.#slotOf(key)
    if (slot >= 0) {
      this.#segments.removeLive(keydir.segmentIdAt(slot), keydir.sizeAt(slot))
      // A new record of the same collection (an expiry change) keeps it; anything else replaces.
      const oldKind = keydir.kindAt(slot)
      if (isCollectionKind(oldKind) && kind !== oldKind) {
        this.#dropCollection(key.toString('latin1'))
      }
      keydir.setAt(slot, entry, false, value)
      this.#noteSlot(keydirUser, slot, offset)
    } else {
      this.#noteSlot(keydirUser, keydir.setBytes(key, entry, false, value), offset)
    }
    this.#active.liveBytes += size
  }

  #noteSlot(which: number, slot: number, offset: number): void {
    const limit = this.#keydir.slotHighWater + this.#elements.slotHighWater
    this.#activeSlots.note(which, slot, offset, Math.max(limit, 1024))
  }

  delete(key: Buffer): boolean {
    this.#assertWritable()
    const keydir = this.#keydir
    const slot = this.#slotOf(key)
    if (slot < 0) return false
    const keyString = key.toString('latin1')
    const seq = this.#seqNext++
    const size = recordBytes(key.length, 0)
    const flags = RecordFlag.tombstone
    const timestampMs = this.#options.clock.wallMs()
    const kind = RecordKind.string
    const value = emptyBuffer
    const offset = this.#append(size, { seq, timestampMs, expiresAtMs: 0, flags, kind, key, value })
    // The slot survives #append: only this method removes keys, and it has not yet.
    this.#segments.removeLive(keydir.segmentIdAt(slot), keydir.sizeAt(slot))
    if (isCollectionKind(keydir.kindAt(slot))) this.#dropCollection(keyString)
    keydir.removeAt(slot)
    this.#activeMarkers.push({ key: keyString, seq, offset, size, flags })
    return true
  }

  setExpiry(key: Buffer, expiresAtMs: number): boolean {
    this.#assertWritable()
    const slot = this.#slotOf(key)
    if (slot < 0) return false
    if (this.#keydir.expiresAtMsAt(slot) === expiresAtMs) return true
    // The same value is rewritten: put() refreshes its inline copy along with the record.
    const value = this.get(key)
    assert(value !== null, 'a key in the keydir has a value')
    this.#putRecord(key, value, expiresAtMs, this.#keydir.kindAt(slot))
    return true
  }

  clear(): void {
    this.#assertWritable()
    // Seal what exists first, so its hint still lists the records the marker is about to drop;
    // not inside a group that already has records here (a group never spans two segments).
    if (this.#commit.activeBytes > 0 && this.#groupRecords === 0) this.#rotate()
    const seq = this.#seqNext++
    const size = recordBytes(0, 0)
    const flags = RecordFlag.clear
    const timestampMs = this.#options.clock.wallMs()
    const kind = RecordKind.string
    const empty = emptyBuffer
    const fields = { seq, timestampMs, expiresAtMs: 0, flags, kind, key: empty, value: empty }
    const offset = this.#append(size, fields)
    for (const segment of this.#segments.all()) segment.liveBytes = 0
    this.#keydir.clear()
    this.#elements.clear()
    this.#collections.clear()
    this.#graveyard = []
    this.#activeMarkers.push({ key: '', seq, offset, size, flags })
    this.#maybeMerge()
  }

  beginGroup(): void {
    this.#assertOpen()
    if (this.#groupDepth++ === 0) this.#groupRecords = 0
  }

  endGroup(): void {
    assert(this.#groupDepth > 0, 'endGroup matches a beginGroup')
    if (--this.#groupDepth > 0) return
    if (this.#groupRecords > 0) this.#closeGroup()
    this.#groupRecords = 0
    const waiters = this.#groupWaiters
    this.#groupWaiters = []
    for (const resume of waiters) resume()
  }

  /**
   * Clears groupContinues on the group's last record. It is still in the batch: a batch is
   * written only before a later append, at a rotation (never inside a group), by flushAndSync
   * (waits for the group) or at the end of the turn. Also when writes are refused meanwhile:
   * the batch is then kept (ENOSPC retry) or never written (latched).
   */
  #closeGroup(): void {
    const at = this.#commit.batchPositionOf(this.#groupLastOffset)
    assert(at >= 0, "a group's last record is still in the batch when the group closes")
    const end = at + this.#groupLastSize
    clearRecordFlag(this.#commit.batch, at, end, RecordFlag.groupContinues)
  }

  kindOf(key: Buffer): number | null {
    this.#assertOpen()
    const slot = this.#slotOf(key)
    return slot < 0 ? null : this.#keydir.kindAt(slot)
  }

  createCollection(key: Buffer, kind: number, expiresAtMs: number): void {
    assert(isCollectionKind(kind), 'a collection kind')
    // The version is the seq the metadata record is about to get: unique for this key forever.
    const version = this.#seqNext
    this.#putRecord(key, encodeMetaValue(version), expiresAtMs, kind)
    const name = key.toString('latin1')
    this.#dropCollection(name) // the previous version of a same-kind collection, if any
    this.#collections.set(name, { kind, version, fields: new FieldIndex<number>() })
  }

  collectionVersion(key: Buffer): number {
    return this.#collections.get(key.toString('latin1'))?.version ?? -1
  }

  elementCount(key: Buffer): number {
    return this.#collections.get(key.toString('latin1'))?.fields.size ?? 0
  }

  getElement(key: Buffer, field: Buffer): Buffer | null {
    this.#assertOpen()
    const collection = this.#collectionOf(key)
    const slot = collection.fields.get(field.toString('latin1'))
    if (slot === undefined) return null
    const elementKey = encodeElementKey(key, collection.version, field)
    return this.#valueAt(this.#elements, slot, elementKey)
  }

  hasElement(key: Buffer, field: Buffer): boolean {
    return this.#collectionOf(key).fields.has(field.toString('latin1'))
  }

  putElement(key: Buffer, field: Buffer, value: Buffer): boolean {
    this.#assertWritable()
    const collection = this.#collectionOf(key)
    checkElementSize(key, field, value)
    const elementKey = encodeElementKey(key, collection.version, field)
    const seq = this.#seqNext++
    const size = recordBytes(elementKey.length, value.length)
    const timestampMs = this.#options.clock.wallMs()
    const kind = RecordKind.element
    const fields = { seq, timestampMs, expiresAtMs: 0, flags: 0, kind, key: elementKey, value }
    const offset = this.#append(size, fields)
    const entry = { segmentId: this.#active.id, offset, size, expiresAtMs: 0, seq, kind }
    const elements = this.#elements
    const name = field.toString('latin1')
    const slot = collection.fields.get(name)
    this.#active.liveBytes += size
    if (slot !== undefined) {
      this.#segments.removeLive(elements.segmentIdAt(slot), elements.sizeAt(slot))
      elements.setAt(slot, entry, false, value)
      this.#noteSlot(keydirElements, slot, offset)
      return false
    }
    const added = elements.setBytes(elementKey, entry, false, value)
    this.#noteSlot(keydirElements, added, offset)
    collection.fields.set(name, added)
    return true
  }

  deleteElement(key: Buffer, field: Buffer): boolean {
    this.#assertWritable()
    const collection = this.#collectionOf(key)
    const name = field.toString('latin1')
    const slot = collection.fields.get(name)
    if (slot === undefined) return false
    const elementKey = encodeElementKey(key, collection.version, field)
    const seq = this.#seqNext++
    const size = recordBytes(elementKey.length, 0)
    const flags = RecordFlag.tombstone
    const timestampMs = this.#options.clock.wallMs()
    const kind = RecordKind.element
    const value = emptyBuffer
    const fields = { seq, timestampMs, expiresAtMs: 0, flags, kind, key: elementKey, value }
    const offset = this.#append(size, fields)
    const elements = this.#elements
    this.#segments.removeLive(elements.segmentIdAt(slot), elements.sizeAt(slot))
    elements.removeAt(slot)
    collection.fields.delete(name)
    const markerKey = elementKey.toString('latin1')
    this.#activeMarkers.push({ key: markerKey, seq, offset, size, flags, kind })
    return true
  }

  elementFields(key: Buffer): Buffer[] {
    const collection = this.#collections.get(key.toString('latin1'))
    if (collection === undefined) return []
    return Array.from(collection.fields.fields(), (field) => Buffer.from(field, 'latin1'))
  }

  scanElements(key: Buffer, cursor: number, count: number): ScanPage {
    const collection = this.#collectionOf(key)
    const keys: Buffer[] = []
    if (!Number.isSafeInteger(cursor) || cursor < 0) return { cursor: 0, keys }
    const next = collection.fields.scan(cursor, count, (field) => {
      keys.push(Buffer.from(field, 'latin1'))
    })
    return { cursor: next, keys }
  }

  randomElement(key: Buffer, pick: (bound: number) => number): Buffer | null {
    const field = this.#collectionOf(key).fields.random(pick)
    return field === null ? null : Buffer.from(field, 'latin1')
  }

  #collectionOf(key: Buffer): Collection {
    const collection = this.#collections.get(key.toString('latin1'))
    assert(collection !== undefined, 'element access on a key holding a collection')
    return collection
  }

  /**
   * Forgets a collection version in memory: its element records become dead bytes (no record is
   * written: the metadata record that replaced or deleted it already decides), merge drops them.
   */
  #dropCollection(name: string): void {
    const collection = this.#collections.get(name)
    if (collection === undefined) return
    this.#collections.delete(name)
    this.#graveyard.push(collection.fields.valueIterator())
    if (this.#graveyardScheduled) return
    this.#graveyardScheduled = true
    this.#options.timers.defer(this.#buryStep)
  }

  /** Removes a bounded number of dropped elements from the keydir; reschedules itself. */
  readonly #buryStep = (): void => {
    this.#graveyardScheduled = false
    if (this.#closed) return
    const elements = this.#elements
    let budget = graveyardStepSlots
    while (budget > 0 && this.#graveyard.length > 0) {
      const next = (this.#graveyard[0] as Iterator<number>).next()
      if (next.done === true) {
        this.#graveyard.shift()
        continue
      }
      const slot = next.value
      this.#segments.removeLive(elements.segmentIdAt(slot), elements.sizeAt(slot))
      elements.removeAt(slot)
      budget--
    }
    if (this.#graveyard.length > 0) {
      this.#graveyardScheduled = true
      this.#options.timers.defer(this.#buryStep)
    }
  }

  /**
   * At open: a collection per live metadata record, its fields from the element keydir; element
   * records of any other version are dead. Returns the collections left without elements.
   */
  #rebuildCollections(): string[] {
    const keydir = this.#keydir
    keydir.forEachSlot((slot) => {
      const kind = keydir.kindAt(slot)
      if (!isCollectionKind(kind)) return
      const name = keydir.keyAt(slot) as string
      const version = decodeMetaValue(this.#readRecovered(keydir, slot))
      if (version < 0) this.#failRead(null, keydir.offsetAt(slot), 'bad collection metadata')
      this.#collections.set(name, { kind, version, fields: new FieldIndex<number>() })
    })
    const elements = this.#elements
    elements.forEachSlot((slot) => {
      const parts = decodeElementKey(Buffer.from(elements.keyAt(slot) as string, 'latin1'))
      const owner =
        parts === null ? undefined : this.#collections.get(parts.userKey.toString('latin1'))
      if (parts === null || owner === undefined || owner.version !== parts.version) {
        this.#segments.removeLive(elements.segmentIdAt(slot), elements.sizeAt(slot))
        elements.removeAt(slot)
        return
      }
      owner.fields.set(parts.field.toString('latin1'), slot)
    })
    const empties: string[] = []
    for (const [name, collection] of this.#collections) {
      if (collection.fields.size === 0) empties.push(name)
    }
    return empties
  }

  /** A recovered record's value, read from its segment file (before the write path starts). */
  #readRecovered(keydir: Keydir, slot: number): Buffer {
    const file = this.#segments.get(keydir.segmentIdAt(slot)).file
    const offset = keydir.offsetAt(slot)
    const size = keydir.sizeAt(slot)
    const buffer = Buffer.allocUnsafe(size)
    const read = file.readSync(offset, size, buffer)
    if (read !== size) this.#failRead(file, offset, `short read (${read} of ${size} bytes)`)
    const status = decodeRecord(this.#view, buffer, 0, size)
    if (status !== DecodeStatus.ok) this.#failRead(file, offset, this.#view.problem)
    return buffer.subarray(this.#view.keyEnd, this.#view.valueEnd)
  }

  #keydirs(): Keydir[] {
    return [this.#keydir, this.#elements]
  }

  keyCount(): number {
    return this.#keydir.size
  }

  scan(cursor: number, count: number): ScanPage {
    this.#assertOpen()
    const keys: Buffer[] = []
    const keydir = this.#keydir
    // A cursor we never handed out (beyond every slot, or not an integer) ends the scan.
    if (!Number.isSafeInteger(cursor) || cursor < 0 || cursor >= keydir.slotHighWater) {
      return { cursor: 0, keys }
    }
    const next = keydir.scan(cursor, count, (slot) => {
      keys.push(Buffer.from(keydir.keyAt(slot) as string, 'latin1'))
    })
    return { cursor: next, keys }
  }

  randomKey(pick: (bound: number) => number): Buffer | null {
    this.#assertOpen()
    const slot = this.#keydir.randomSlot(pick)
    return slot < 0 ? null : Buffer.from(this.#keydir.keyAt(slot) as string, 'latin1')
  }

  forEachExpiring(visit: (key: Buffer, expiresAtMs: number) => void): void {
    this.#assertOpen()
    const keydir = this.#keydir
    keydir.forEachSlot((slot) => {
      const expiresAtMs = keydir.expiresAtMsAt(slot)
      if (expiresAtMs !== 0) visit(Buffer.from(keydir.keyAt(slot) as string, 'latin1'), expiresAtMs)
    })
  }

  hasUndurableWrites(): boolean {
    return !this.#closed && this.#commit.hasUndurableWrites()
  }

  whenDurable(done: DurableCallback): void {
    if (this.#closed) {
      const error = new CaskadeError(ErrorCode.Err, 'storage engine is closed')
      this.#options.timers.defer(() => done(error))
      return
    }
    this.#commit.whenDurable(done)
  }

  setFsyncPolicy(policy: FsyncPolicy): void {
    this.#assertOpen()
    assert(policy === 'always' || policy === 'everysec' || policy === 'no', 'a known fsync policy')
    this.#commit.setFsyncPolicy(policy)
  }

  /** Also waits for rotated segments' seals, so every segment but the active one is hinted. */
  async flushAndSync(): Promise<void> {
    this.#assertOpen()
    if (this.#groupDepth > 0) {
      await new Promise<void>((resume) => this.#groupWaiters.push(resume))
    }
    await this.#commit.flushAndSync()
    await this.#sealChain
    this.#throwIfRefused()
  }

  /**
   * Rotates, then links every immutable segment (data, and the hint when sealed) into `intoDir`
   * before the first await, so the frozen set is the state at the call whatever runs later. The
   * rest only makes it durable: the seals queued so far fdatasync every frozen data file.
   */
  async checkpoint(intoDir: string): Promise<readonly CheckpointFile[]> {
    this.#assertWritable()
    assert(this.#groupDepth === 0, 'no checkpoint inside an open atomic group')
    const disk = this.#options.disk
    if (disk.exists(intoDir)) {
      throw new CaskadeError(ErrorCode.Err, `checkpoint directory ${intoDir} already exists`)
    }
    if (this.#commit.activeBytes > 0) {
      this.#rotate()
      this.#throwIfRefused() // the batch could not be written: nothing rotated
    }
    assert(this.#commit.activeBytes === 0, 'a checkpoint freezes every record written so far')
    disk.mkdirp(intoDir)
    const { files, hintsToWrite } = this.#linkFrozen(intoDir)
    // Every frozen segment not sealed yet has its seal (sync first) in this chain.
    await this.#sealChain
    this.#throwIfRefused()
    for (const [name, hint] of hintsToWrite) {
      await disk.writeFileAtomic(joinPath(intoDir, name), hint)
    }
    await disk.syncDir(intoDir)
    await disk.syncDir(parentDir(intoDir))
    return files
  }

  #linkFrozen(intoDir: string): { files: CheckpointFile[]; hintsToWrite: Map<string, Buffer> } {
    const disk = this.#options.disk
    const files: CheckpointFile[] = []
    const hintsToWrite = new Map<string, Buffer>()
    // A retiring merge's outputs are all in the table: they stand for all of its inputs.
    const frozen = [...this.#segments.all()].filter(
      (segment) => segment !== this.#active && !segment.retired,
    )
    frozen.sort((a, b) => a.id - b.id)
    for (const segment of frozen) {
      const dataName = segmentFileName(segment.id)
      disk.link(this.#path(dataName), joinPath(intoDir, dataName))
      files.push({ name: dataName, bytes: segment.totalBytes })
      const hintName = hintFileName(segment.id)
      if (segment.sealed) {
        const hintPath = joinPath(intoDir, hintName)
        disk.link(this.#path(hintName), hintPath)
        const file = disk.openSync(hintPath, 'read')
        files.push({ name: hintName, bytes: file.size() })
        file.closeSync()
      } else {
        const hint = segment.hint
        assert(hint !== null, 'an immutable segment not yet sealed keeps its hint')
        hintsToWrite.set(hintName, hint)
        files.push({ name: hintName, bytes: hint.length })
      }
    }
    return { files, hintsToWrite }
  }

  startMerge(): boolean {
    this.#assertOpen()
    return this.#startMerge(true)
  }

  stats(): EngineStats {
    const totals = this.#segments.totals()
    return {
      keys: this.#keydir.size,
      keysWithExpiry: this.#keydir.expiringCount,
      segments: this.#segments.count,
      liveBytes: totals.liveBytes,
      deadBytes: totals.totalBytes - totals.liveBytes,
      pendingBytes: this.#closed ? 0 : this.#commit.pendingBytes(),
      fsyncs: this.#commit.fsyncs,
      lastFsyncAtMs: this.#commit.lastFsyncAtMs,
      merges: this.#merges,
      mergeInProgress: this.#merge !== null,
      lastWriteError: this.#commit.lastWriteError,
    }
  }

  /**
   * Flushes, syncs and seals the active segment (so the next open reads only hints), then
   * releases the files and the lock, also when flushing failed (that error is rethrown).
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#merge?.abort()
      const flushError = await this.#commit.close().then(
        () => null,
        (error: unknown) => asError(error),
      )
      await this.#sealChain // seals in flight still use the files closed below
      if (flushError !== null) throw flushError
      this.#throwIfRefused()
      const active = this.#active
      if (active.totalBytes > 0) {
        const hint = buildSegmentHint(
          this.#keydirs(),
          active,
          this.#activeMarkers,
          this.#activeSlots,
        )
        await this.#options.disk.writeFileAtomic(this.#path(hintFileName(active.id)), hint)
      } else {
        active.file.closeSync()
        await this.#options.disk.remove(active.file.path)
      }
    } finally {
      for (const segment of this.#segments.all()) segment.file.closeSync()
      this.#lock.release()
    }
  }

  /** The keydir slot of `key`, or -1. */
  #slotOf(key: Buffer): number {
    return this.#keydir.slotOfBytes(key)
  }

  /** Appends one record to the batch (rotating first if it would overflow the segment). */
  #append(size: number, fields: RecordFields): number {
    const used = this.#commit.activeBytes
    const inGroup = this.#groupDepth > 0
    // A group's records stay in one segment, which may then exceed segmentBytesMax.
    const mayRotate = !inGroup || this.#groupRecords === 0
    if (mayRotate && used > 0 && used + size > this.#options.segmentBytesMax) this.#rotate()
    if (this.#commit.activeBytes + size > segmentBytesLimit) {
      throw new CaskadeError(ErrorCode.Err, 'atomic group exceeds the 4 GiB segment limit')
    }
    const at = this.#commit.reserve(size)
    if (inGroup) fields.flags |= RecordFlag.groupContinues
    encodeRecord(this.#commit.batch, at, fields)
    const offset = this.#commit.commit(size)
    this.#active.totalBytes += size
    noteRecordSeq(this.#active, fields.seq)
    assert(this.#active.totalBytes === this.#commit.activeBytes, 'segment size matches the log')
    if (inGroup) {
      this.#groupRecords++
      this.#groupLastOffset = offset
      this.#groupLastSize = size
    }
    return offset
  }

  /** The active segment becomes immutable: written now, synced and hinted in the background. */
  #rotate(): void {
    if (!this.#commit.writeBatchNow()) return // the write failed: the caller's reserve() refuses
    const sealed = this.#active
    const hint = buildSegmentHint(this.#keydirs(), sealed, this.#activeMarkers, this.#activeSlots)
    this.#activeSlots = new SegmentSlots(true)
    sealed.hint = hint // until sealed: a checkpoint meanwhile writes it into its own directory
    this.#activeMarkers = []
    this.#active = this.#createActiveSegment()
    assert(this.#commit.switchTo(this.#active.file), 'switching after a written batch succeeds')
    this.#sealChain = this.#sealChain.then((olderSealed) => this.#seal(sealed, hint, olderSealed))
  }

  async #seal(segment: Segment, hint: Buffer, olderSealed: boolean): Promise<boolean> {
    try {
      await segment.file.sync()
    } catch (error) {
      // The segment holds acknowledged records whose pages the kernel may have dropped.
      this.#commit.latch(`fsync ${segment.file.path}`, asError(error))
      return false
    }
    this.#commit.markSynced(segment.file)
    if (!olderSealed) return false
    try {
      await this.#options.disk.writeFileAtomic(this.#path(hintFileName(segment.id)), hint)
      segment.sealed = true
      segment.hint = null
    } catch (error) {
      // Only costs a scan of this segment at the next open: the data itself is synced.
      const message = asError(error).message
      this.#emit({ kind: 'io-error', operation: `seal ${segment.file.path}`, message })
      return false
    }
    if (!this.#closed) this.#maybeMerge()
    return true
  }

  #createActiveSegment(): Segment {
    const id = this.#segmentIdNext++
    const file = this.#options.disk.openSync(this.#path(segmentFileName(id)), 'append')
    const segment = createSegment(id, file, file.size())
    assert(segment.totalBytes === 0, 'a new segment file is empty')
    this.#segments.add(segment)
    return segment
  }

  /**
   * Reads and verifies the record `slot` points at; returns the buffer holding it, with
   * `#view` describing it. Throws CORRUPT (and emits 'corruption') when it does not verify.
   */
  #readRecord(keydir: Keydir, slot: number, key: Buffer): Buffer {
    const segmentId = keydir.segmentIdAt(slot)
    const offset = keydir.offsetAt(slot)
    const size = keydir.sizeAt(slot)
    let buffer: Buffer
    let start = 0
    let file: BlockFile | null = null
    const inBatch = segmentId === this.#active.id ? this.#commit.batchPositionOf(offset) : -1
    if (inBatch >= 0) {
      buffer = this.#commit.batch
      start = inBatch
    } else {
      file = this.#segments.get(segmentId).file
      buffer = this.#readBuffer(size)
      const read = file.readSync(offset, size, buffer)
      if (read !== size) this.#failRead(file, offset, `short read (${read} of ${size} bytes)`)
    }
    const status = decodeRecord(this.#view, buffer, start, start + size)
    if (status !== DecodeStatus.ok || this.#view.size !== size) {
      this.#failRead(file, offset, this.#view.problem || 'record size mismatch')
    }
    if (key.compare(buffer, this.#view.keyStart, this.#view.keyEnd) !== 0) {
      this.#failRead(file, offset, 'record holds a different key')
    }
    return buffer
  }

  #readBuffer(size: number): Buffer {
    if (size > readScratchBytesMax) return Buffer.allocUnsafe(size)
    if (size > this.#scratch.length) {
      let capacity = this.#scratch.length * 2
      while (capacity < size) capacity *= 2
      this.#scratch = Buffer.allocUnsafe(capacity)
    }
    return this.#scratch
  }

  #failRead(file: BlockFile | null, offset: number, reason: string): never {
    const path = file?.path ?? `${this.#active.file.path} (write batch)`
    this.#emit({ kind: 'corruption', file: path, offset, reason })
    throw new CaskadeError(ErrorCode.Corrupt, `${path}: ${reason} at offset ${offset}`)
  }

  #maybeMerge(): void {
    if (!this.#closed && this.#merge === null) this.#startMerge(false)
  }

  #startMerge(force: boolean): boolean {
    if (this.#merge !== null || this.#commit.failed) return false
    const plan = planMerge(this.#segments, this.#active.id, {
      force,
      deadRatioMin: this.#options.mergeDeadRatioMin,
      deadBytesMin: this.#options.mergeDeadBytesMin,
      segmentBytesMax: this.#options.segmentBytesMax,
    })
    if (plan === null) return false
    const job = new MergeJob(plan, {
      dir: this.#options.dir,
      disk: this.#options.disk,
      clock: this.#options.clock,
      timers: this.#options.timers,
      keydir: this.#keydir,
      elements: this.#elements,
      segments: this.#segments,
      segmentBytesMax: this.#options.segmentBytesMax,
      allocateSegmentId: () => this.#segmentIdNext++,
      syncLog: () => this.#commit.flushAndSync(),
      emit: (event) => this.#emit(event),
    })
    this.#merge = job
    void job.run().then((finished) => {
      this.#merge = null
      if (finished) this.#merges++
    })
    return true
  }

  #emit(event: StorageEvent): void {
    this.#options.onEvent?.(event)
  }

  #path(name: string): string {
    return joinPath(this.#options.dir, name)
  }

  #assertOpen(): void {
    if (this.#closed) throw new CaskadeError(ErrorCode.Err, 'storage engine is closed')
  }

  /** Writes are refused (MISCONF) while the disk refuses them: nothing unpersistable piles up. */
  #assertWritable(): void {
    this.#assertOpen()
    this.#throwIfRefused()
  }

  /** Also after waiting for seals: a rotated segment's failed fdatasync latches the engine. */
  #throwIfRefused(): void {
    const refusal = this.#commit.refusal()
    if (refusal !== null) throw refusal
  }
}
