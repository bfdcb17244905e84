/* Merge (compaction), pure over the ports: rewrites the live records of sealed immutable segments
 * into new segments + hints in small steps (a byte and time budget per event-loop turn), then
 * points the keydir at the copies that are STILL current (a write that arrived meanwhile wins) and
 * deletes the old files only after the new ones are synced and a manifest naming the old ones is
 * durable. Invariant: a tombstone or clear marker is dropped only when no segment outside the
 * merge holds a record older than it, so a deleted key can never come back. */
import { AssertionError, assert } from '../core/assert.js'
import type { BlockFile, Clock, Disk, Timers } from '../core/ports.js'
import { HintOrigin, HintWriter, hintSeqNone } from './hint-codec.js'
import type { Keydir } from './keydir.js'
import { RecordFlag, RecordKind, clearRecordFlag } from './record-codec.js'
import { ScanStatus, SegmentScanner } from './segment-scanner.js'
import {
  createSegment,
  encodeMergeManifest,
  hintFileName,
  joinPath,
  mergeManifestName,
  mergingFileName,
  noteRecordSeq,
  segmentFileName,
  type Segment,
  type SegmentTable,
} from './segments.js'
import type { StorageEvent } from './types.js'

/** Input bytes one merge step may process before yielding the event loop. */
export const mergeStepBytes = 1024 * 1024
/** Wall time one merge step may take before yielding. */
export const mergeStepMs = 4
const outputBufferBytesInitial = 64 * 1024
const relocationFields = 6
/** The relocation's keydir: the user-key one or the element one. */
const keydirUser = 0
const keydirElements = 1

export interface MergePlan {
  inputIds: number[]
  /** Lowest seq held by any segment outside the merge: older markers can be dropped. */
  seqMinOutside: number
}

export interface MergeTrigger {
  /** startMerge(): merge whenever there is anything dead. */
  force: boolean
  deadRatioMin: number
  deadBytesMin: number
  /** Segments below a quarter of this are small (see smallSegmentsMergeMin). */
  segmentBytesMax: number
}

/**
 * This many small sealed segments are merged together even without dead bytes: a checkpoint
 * rotates the active segment however little it holds, and frequent checkpoints would otherwise
 * grow the segment (and open file) count without bound.
 */
export const smallSegmentsMergeMin = 16

/**
 * All sealed immutable segments when their dead bytes pass the trigger; else the small sealed
 * ones when there are at least smallSegmentsMergeMin of them; else null.
 */
export function planMerge(
  segments: SegmentTable,
  activeId: number,
  trigger: MergeTrigger,
): MergePlan | null {
  const isSealed = (segment: Segment): boolean => segment.sealed && segment.id !== activeId
  if (deadBytesTriggered(segments.totals(isSealed), trigger)) return planOf(segments, isSealed)
  const smallBytesMax = trigger.segmentBytesMax / 4
  const isSmall = (segment: Segment): boolean =>
    isSealed(segment) && segment.totalBytes < smallBytesMax
  let smallCount = 0
  for (const segment of segments.all()) if (isSmall(segment)) smallCount++
  return smallCount >= smallSegmentsMergeMin ? planOf(segments, isSmall) : null
}

function deadBytesTriggered(
  totals: { totalBytes: number; liveBytes: number },
  trigger: MergeTrigger,
): boolean {
  const deadBytes = totals.totalBytes - totals.liveBytes
  if (deadBytes <= 0) return false
  if (trigger.force) return true
  return deadBytes >= trigger.deadBytesMin && deadBytes / totals.totalBytes >= trigger.deadRatioMin
}

/** The inputs `isInput` picks; seqMinOutside from every other segment (active included). */
function planOf(segments: SegmentTable, isInput: (segment: Segment) => boolean): MergePlan {
  const inputIds: number[] = []
  let seqMinOutside = Infinity
  for (const segment of segments.all()) {
    if (isInput(segment)) inputIds.push(segment.id)
    else seqMinOutside = Math.min(seqMinOutside, segment.seqMin)
  }
  inputIds.sort((a, b) => a - b)
  return { inputIds, seqMinOutside }
}

export interface MergeContext {
  dir: string
  disk: Disk
  clock: Clock
  timers: Timers
  keydir: Keydir
  /** Element records: live only while this keydir points at them (the engine removes the
   * elements of a deleted or replaced collection version). */
  elements: Keydir
  segments: SegmentTable
  segmentBytesMax: number
  allocateSegmentId: () => number
  /**
   * Writes and fdatasyncs the write path's log. The merge judged liveness by the keydir, which
   * includes writes not yet durable; they must be before the inputs they made dead are deleted.
   */
  syncLog: () => Promise<void>
  emit: (event: StorageEvent) => void
}

/** One merge output file being written (as `<id>.data.merging` until it is complete). */
class MergeOutput {
  readonly id: number
  readonly file: BlockFile
  readonly hint: HintWriter
  size = 0
  seqMin = Infinity
  seqMax = -1
  #pending = Buffer.allocUnsafe(outputBufferBytesInitial)
  #pendingLength = 0
  /** Per copied live record: slot, old segment, old offset, new offset, size, keydir. */
  relocations = new Uint32Array(relocationFields * 1024)
  relocationCount = 0

  constructor(id: number, file: BlockFile) {
    this.id = id
    this.file = file
    this.hint = new HintWriter(id, HintOrigin.merge)
  }

  /** Copies a verified record's bytes; returns its offset in this output. */
  append(source: Buffer, start: number, end: number, seq: number): number {
    const size = end - start
    if (this.#pendingLength + size > this.#pending.length) {
      const grown = Buffer.allocUnsafe(
        Math.max(this.#pending.length * 2, this.#pendingLength + size),
      )
      this.#pending.copy(grown, 0, 0, this.#pendingLength)
      this.#pending = grown
    }
    source.copy(this.#pending, this.#pendingLength, start, end)
    this.#pendingLength += size
    const offset = this.size
    this.size += size
    if (seq < this.seqMin) this.seqMin = seq
    if (seq > this.seqMax) this.seqMax = seq
    return offset
  }

  addRelocation(
    fields: [
      slot: number,
      oldId: number,
      oldOffset: number,
      newOffset: number,
      size: number,
      keydir: number,
    ],
  ) {
    const at = this.relocationCount * relocationFields
    if (at + relocationFields > this.relocations.length) {
      const grown = new Uint32Array(this.relocations.length * 2)
      grown.set(this.relocations)
      this.relocations = grown
    }
    this.relocations.set(fields, at)
    this.relocationCount++
  }

  flush(): void {
    if (this.#pendingLength === 0) return
    this.file.appendSync(this.#pending.subarray(0, this.#pendingLength))
    this.#pendingLength = 0
  }
}

export class MergeJob {
  readonly #plan: MergePlan
  readonly #context: MergeContext
  #aborted = false
  #running: Promise<boolean> | null = null
  #inputIndex = 0
  #scanner: SegmentScanner | null = null
  #output: MergeOutput | null = null
  readonly #outputs: Segment[] = []

  constructor(plan: MergePlan, context: MergeContext) {
    this.#plan = plan
    this.#context = context
  }

  /** Runs the whole merge; resolves true when it finished, false when aborted or failed. */
  run(): Promise<boolean> {
    assert(this.#running === null, 'a merge job runs once')
    this.#running = this.#runAll()
    return this.#running
  }

  /** Stops at the next step boundary and discards the incomplete output. */
  async abort(): Promise<void> {
    this.#aborted = true
    await this.#running
  }

  async #runAll(): Promise<boolean> {
    const { clock, emit } = this.#context
    const startedMs = clock.monotonicMs()
    const inputs = this.#plan.inputIds.map((id) => this.#context.segments.get(id))
    const inputBytes = inputs.reduce((sum, segment) => sum + segment.totalBytes, 0)
    emit({ kind: 'merge-started', segments: inputs.length })
    try {
      do {
        await this.#nextTurn()
        if (this.#aborted) {
          await this.#discardOutput()
          return false
        }
      } while (await this.#step())
      await this.#finishOutput()
      await this.#retireInputs()
    } catch (error) {
      if (error instanceof AssertionError) throw error
      const message = error instanceof Error ? error.message : String(error)
      emit({ kind: 'io-error', operation: 'merge', message })
      await this.#discardOutput().catch(() => undefined)
      return false
    }
    const outputBytes = this.#outputs.reduce((sum, segment) => sum + segment.totalBytes, 0)
    emit({
      kind: 'merge-finished',
      segments: inputs.length,
      reclaimedBytes: inputBytes - outputBytes,
      durationMs: clock.monotonicMs() - startedMs,
    })
    return true
  }

  #nextTurn(): Promise<void> {
    return new Promise((resolve) => this.#context.timers.defer(resolve))
  }

  /** Processes input within the step budget; false once every input was read. */
  async #step(): Promise<boolean> {
    const { clock } = this.#context
    const startedMs = clock.monotonicMs()
    let bytes = 0
    while (bytes < mergeStepBytes && clock.monotonicMs() - startedMs < mergeStepMs) {
      if (this.#scanner === null) {
        const id = this.#plan.inputIds[this.#inputIndex]
        if (id === undefined) return false
        const input = this.#context.segments.get(id)
        this.#scanner = new SegmentScanner(input.file, input.totalBytes)
      }
      const scanner = this.#scanner
      const status = scanner.next()
      if (status === ScanStatus.end) {
        this.#scanner = null
        this.#inputIndex++
        continue
      }
      if (status !== ScanStatus.ok) this.#failCorrupt(scanner, status)
      bytes += scanner.view.size
      const output = this.#output
      if (output !== null && output.size > 0) {
        if (output.size + scanner.view.size > this.#context.segmentBytesMax) {
          await this.#finishOutput()
        }
      }
      this.#copyIfNeeded(scanner, this.#plan.inputIds[this.#inputIndex]!)
    }
    this.#output?.flush()
    return true
  }

  #failCorrupt(scanner: SegmentScanner, status: ScanStatus): never {
    const id = this.#plan.inputIds[this.#inputIndex]!
    const file = this.#context.segments.get(id).file.path
    const reason =
      status === ScanStatus.needMore ? 'record cut short by end of file' : scanner.view.problem
    const offset = scanner.recordOffset
    this.#context.emit({ kind: 'corruption', file, offset, reason })
    throw new Error(`${file}: ${reason} at offset ${offset}`)
  }

  /** Copies the scanned record when it is live, or a marker that must outlive this merge. */
  #copyIfNeeded(scanner: SegmentScanner, inputId: number): void {
    const view = scanner.view
    const buffer = scanner.buffer
    const droppable = view.seq < this.#plan.seqMinOutside
    // Inputs are sealed, so their atomic groups are whole; copies are single records, and a kept
    // flag could make an unrelated next copy (or the output's end) look like a torn group.
    clearRecordFlag(buffer, view.start, view.valueEnd, RecordFlag.groupContinues)
    view.flags &= ~RecordFlag.groupContinues
    if ((view.flags & RecordFlag.clear) !== 0) {
      if (!droppable) this.#copyMarker(scanner, '')
      return
    }
    const isElement = view.kind === RecordKind.element
    const keydir = isElement ? this.#context.elements : this.#context.keydir
    const key = buffer.toString('latin1', view.keyStart, view.keyEnd)
    const slot = keydir.slotOf(key)
    if ((view.flags & RecordFlag.tombstone) !== 0) {
      // A present key was re-written after this tombstone, which then decides nothing.
      if (!droppable && slot < 0) this.#copyMarker(scanner, key)
      return
    }
    const oldOffset = scanner.recordOffset
    if (slot < 0 || keydir.segmentIdAt(slot) !== inputId || keydir.offsetAt(slot) !== oldOffset) {
      return
    }
    const output = this.#openOutput()
    const newOffset = output.append(buffer, view.start, view.valueEnd, view.seq)
    const entry = { seq: view.seq, offset: newOffset, size: view.size, flags: 0, kind: view.kind }
    output.hint.add(key, { ...entry, expiresAtMs: view.expiresAtMs })
    const which = isElement ? keydirElements : keydirUser
    output.addRelocation([slot, inputId, oldOffset, newOffset, view.size, which])
  }

  #copyMarker(scanner: SegmentScanner, key: string): void {
    const view = scanner.view
    const output = this.#openOutput()
    const offset = output.append(scanner.buffer, view.start, view.valueEnd, view.seq)
    output.hint.add(key, {
      seq: view.seq,
      offset,
      size: view.size,
      expiresAtMs: 0,
      flags: view.flags,
      kind: view.kind,
    })
  }

  #openOutput(): MergeOutput {
    if (this.#output !== null) return this.#output
    const id = this.#context.allocateSegmentId()
    const path = joinPath(this.#context.dir, mergingFileName(id))
    this.#output = new MergeOutput(id, this.#context.disk.openSync(path, 'append'))
    return this.#output
  }

  /** Syncs and hints the output, renames it live, then switches the keydir entries to it. */
  async #finishOutput(): Promise<void> {
    const output = this.#output
    if (output === null) return
    const { disk, dir, segments } = this.#context
    output.flush()
    await output.file.sync()
    const empty = output.seqMax < 0
    const hint = output.hint.finish(
      output.size,
      empty ? hintSeqNone : output.seqMin,
      empty ? 0 : output.seqMax,
    )
    await disk.writeFileAtomic(joinPath(dir, hintFileName(output.id)), hint)
    output.file.closeSync()
    this.#output = null
    const dataPath = joinPath(dir, segmentFileName(output.id))
    await disk.rename(joinPath(dir, mergingFileName(output.id)), dataPath)
    const segment = createSegment(output.id, disk.openSync(dataPath, 'read'), output.size)
    if (!empty) {
      noteRecordSeq(segment, output.seqMin)
      noteRecordSeq(segment, output.seqMax)
    }
    segment.sealed = true
    segments.add(segment)
    this.#outputs.push(segment)
    this.#relocate(output)
  }

  #relocate(output: MergeOutput): void {
    const { segments } = this.#context
    const r = output.relocations
    for (let index = 0; index < output.relocationCount; index++) {
      const at = index * relocationFields
      const keydir = r[at + 5] === keydirElements ? this.#context.elements : this.#context.keydir
      const slot = r[at]!
      const oldId = r[at + 1]!
      const oldOffset = r[at + 2]!
      const size = r[at + 4]!
      const stillThere =
        keydir.keyAt(slot) !== undefined &&
        keydir.segmentIdAt(slot) === oldId &&
        keydir.offsetAt(slot) === oldOffset
      if (!stillThere) continue
      keydir.relocateAt(slot, output.id, r[at + 3]!)
      segments.removeLive(oldId, size)
      segments.addLive(output.id, size)
    }
  }

  /**
   * Makes the old segments' obsolescence durable (manifest), then deletes them. First the log:
   * an overwrite, delete or clear that made an input record dead may not be synced yet, and a
   * power loss must not take it back after the record it replaced is gone.
   */
  async #retireInputs(): Promise<void> {
    const { disk, dir, segments } = this.#context
    for (const id of this.#plan.inputIds) {
      const segment = segments.get(id)
      assert(segment.liveBytes === 0, 'every live record left the merged segments')
      segment.retired = true // all at once, before the first deletion
    }
    await this.#context.syncLog()
    const manifestPath = joinPath(dir, mergeManifestName)
    await disk.writeFileAtomic(manifestPath, encodeMergeManifest(this.#plan.inputIds))
    for (const id of this.#plan.inputIds) {
      const segment = segments.get(id)
      segments.delete(id)
      segment.file.closeSync()
      await disk.remove(joinPath(dir, hintFileName(id)))
      await disk.remove(joinPath(dir, segmentFileName(id)))
    }
    await disk.remove(manifestPath)
  }

  async #discardOutput(): Promise<void> {
    const output = this.#output
    if (output === null) return
    this.#output = null
    output.file.closeSync()
    await this.#context.disk.remove(joinPath(this.#context.dir, mergingFileName(output.id)))
  }
}
