/* Group commit for the active segment (pure: I/O through the BlockFile port, scheduling through
 * Timers). Records collect in one in-memory batch per event-loop turn; the turn's end writes the
 * batch with one appendSync, then 'always' runs one fdatasync (at most one in flight; writes that
 * arrive meanwhile form the next batch), 'everysec' syncs from a 1 s timer, 'no' leaves it to the
 * OS. Invariant: whenDurable callbacks fire in registration order, once, only after every byte
 * appended before them is as durable as the policy promises, or with the error that stopped it. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Clock, Timers } from '../core/ports.js'
import type { FsyncPolicy } from './types.js'

/** A batch larger than this is written at once instead of at the end of the turn. */
export const batchBytesMax = 4 * 1024 * 1024
const batchBytesInitial = 64 * 1024
/** After writing, a batch buffer grown past this is replaced by a small one. */
const batchBytesKeptMax = 2 * batchBytesMax
const everysecIntervalMs = 1000
/** Delay before retrying a failed write (ENOSPC, EIO...). */
const writeRetryDelayMs = 1000
/** Compact the waiter queue once this many fired entries sit at its head. */
const waiterCompactAt = 1024

export type DurableCallback = (error?: Error) => void

export interface GroupCommitOptions {
  file: BlockFile
  timers: Timers
  clock: Clock
  fsync: FsyncPolicy
  onIoError: (operation: string, error: Error) => void
}

export class GroupCommit {
  #file: BlockFile
  /** Bytes of the active file already written (the batch starts here). */
  #writtenBytes: number
  #batch = Buffer.allocUnsafe(batchBytesInitial)
  #batchLength = 0
  /** Logical byte counters over all segments: appended >= written >= synced. */
  #appendedTotal = 0
  #writtenTotal = 0
  #syncedTotal = 0
  #waiterMarks: number[] = []
  #waiterCallbacks: DurableCallback[] = []
  #waiterHead = 0
  readonly #dirtyFiles = new Set<BlockFile>()
  #flushScheduled = false
  #syncInFlight: Promise<Error | null> | null = null
  #retryPending = false
  #writesFailing = false
  #cancelEverysec: (() => void) | null = null
  #closed = false
  readonly #options: GroupCommitOptions
  fsyncs = 0
  lastFsyncAtMs = 0
  lastWriteError: string | null = null

  constructor(options: GroupCommitOptions) {
    this.#options = options
    this.#file = options.file
    this.#writtenBytes = options.file.size()
    if (options.fsync === 'everysec') {
      this.#cancelEverysec = options.timers.every(everysecIntervalMs, () =>
        this.#syncInBackground(),
      )
    }
  }

  /** The active segment's size including the batch. */
  get activeBytes(): number {
    return this.#writtenBytes + this.#batchLength
  }

  get activeFile(): BlockFile {
    return this.#file
  }

  /** The batch buffer; valid until the next reserve/flush. */
  get batch(): Buffer {
    return this.#batch
  }

  /** The last batch write failed and is being retried; appends should be refused meanwhile. */
  get writesFailing(): boolean {
    return this.#writesFailing
  }

  hasUndurableWrites(): boolean {
    const durable = this.#options.fsync === 'always' ? this.#syncedTotal : this.#writtenTotal
    return this.#appendedTotal > durable || this.#waiterHead < this.#waiterMarks.length
  }

  /** Bytes appended but not yet as durable as the policy promises. */
  pendingBytes(): number {
    const durable = this.#options.fsync === 'always' ? this.#syncedTotal : this.#writtenTotal
    return this.#appendedTotal - durable
  }

  /** Makes room for a `size`-byte record; returns where to encode it in `batch`. */
  reserve(size: number): number {
    assert(!this.#closed, 'no appends after close')
    if (this.#batchLength > 0 && this.#batchLength + size > batchBytesMax) this.#writeBatch()
    const needed = this.#batchLength + size
    if (needed > this.#batch.length) {
      let capacity = this.#batch.length * 2
      while (capacity < needed) capacity *= 2
      const grown = Buffer.allocUnsafe(capacity)
      this.#batch.copy(grown, 0, 0, this.#batchLength)
      this.#batch = grown
    }
    return this.#batchLength
  }

  /** Commits the record encoded at the reserved position; returns its offset in the file. */
  commit(size: number): number {
    const fileOffset = this.#writtenBytes + this.#batchLength
    this.#batchLength += size
    this.#appendedTotal += size
    this.#scheduleFlush()
    return fileOffset
  }

  /** Where a record of the active file at `fileOffset` sits in the batch, or -1 if written. */
  batchPositionOf(fileOffset: number): number {
    return fileOffset >= this.#writtenBytes ? fileOffset - this.#writtenBytes : -1
  }

  /**
   * Rotation: writes the batch to the current file, then appends go to `file`. Returns false
   * (and switches nothing) when the write failed; the caller keeps the current segment.
   */
  switchTo(file: BlockFile): boolean {
    if (!this.#writeBatch()) return false
    this.#file = file
    this.#writtenBytes = file.size()
    return true
  }

  /** Writes the batch now (before a rotation); false when the write failed. */
  writeBatchNow(): boolean {
    return this.#writeBatch()
  }

  /** A sealed segment's own sync covered `file`: the commit path need not sync it again. */
  markSynced(file: BlockFile): void {
    if (file !== this.#file) this.#dirtyFiles.delete(file)
  }

  whenDurable(done: DurableCallback): void {
    this.#waiterMarks.push(this.#appendedTotal)
    this.#waiterCallbacks.push(done)
    this.#scheduleFlush()
  }

  /** Writes the batch and fdatasyncs every written file, whatever the policy. */
  async flushAndSync(): Promise<void> {
    if (!this.#writeBatch()) {
      throw new CaskadeError(ErrorCode.Io, `write failed: ${this.lastWriteError ?? 'unknown'}`)
    }
    while (this.#syncInFlight !== null) await this.#syncInFlight
    this.#dirtyFiles.add(this.#file)
    const error = await this.#startSync()
    this.#fireWaiters(this.#writtenTotal, undefined)
    if (error !== null) throw new CaskadeError(ErrorCode.Io, `fdatasync failed: ${error.message}`)
  }

  /** Flushes and syncs, stops the timers; later appends are programmer errors. */
  async close(): Promise<void> {
    await this.flushAndSync()
    this.#closed = true
    this.#cancelEverysec?.()
    this.#cancelEverysec = null
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    this.#options.timers.defer(() => this.#flush())
  }

  #flush(): void {
    this.#flushScheduled = false
    if (!this.#writeBatch()) return
    if (this.#options.fsync !== 'always') {
      this.#fireWaiters(this.#writtenTotal, undefined)
      return
    }
    void this.#startSync()
  }

  /** One appendSync of the whole batch. On failure the batch is kept for a retry. */
  #writeBatch(): boolean {
    if (this.#batchLength === 0) return true
    try {
      const at = this.#file.appendSync(this.#batch.subarray(0, this.#batchLength))
      assert(at === this.#writtenBytes, 'the batch lands where its records were addressed')
    } catch (error) {
      this.#writesFailing = true
      this.#onWriteFailure('write', asError(error), this.#appendedTotal)
      this.#scheduleRetry()
      return false
    }
    this.#writesFailing = false
    this.#writtenBytes += this.#batchLength
    this.#writtenTotal += this.#batchLength
    this.#batchLength = 0
    this.#dirtyFiles.add(this.#file)
    if (this.#batch.length > batchBytesKeptMax) this.#batch = Buffer.allocUnsafe(batchBytesInitial)
    return true
  }

  /** Starts one fdatasync of every dirty file unless one is in flight; resolves its error. */
  #startSync(): Promise<Error | null> {
    if (this.#syncInFlight !== null) return this.#syncInFlight
    if (this.#dirtyFiles.size === 0) {
      this.#syncedTotal = this.#writtenTotal
      this.#fireAfterSync(this.#syncedTotal, undefined)
      return Promise.resolve(null)
    }
    const target = this.#writtenTotal
    const files = [...this.#dirtyFiles]
    this.#dirtyFiles.clear()
    const sync = Promise.all(files.map((file) => file.sync())).then(
      () => {
        this.#syncedTotal = Math.max(this.#syncedTotal, target)
        this.fsyncs++
        this.lastFsyncAtMs = this.#options.clock.wallMs()
        this.#fireAfterSync(target, undefined)
        return null
      },
      (reason: unknown) => {
        const error = asError(reason)
        for (const file of files) this.#dirtyFiles.add(file)
        this.#onWriteFailure('fsync', error, target)
        return error
      },
    )
    this.#syncInFlight = sync.finally(() => {
      this.#syncInFlight = null
      if (this.#batchLength > 0 || this.#waiterHead < this.#waiterMarks.length) {
        this.#scheduleFlush()
      }
    })
    return this.#syncInFlight
  }

  #fireAfterSync(upTo: number, error: Error | undefined): void {
    if (this.#options.fsync === 'always') this.#fireWaiters(upTo, error)
  }

  #syncInBackground(): void {
    if (this.#closed || this.#syncInFlight !== null) return
    if (this.#dirtyFiles.size === 0) return
    void this.#startSync()
  }

  #onWriteFailure(operation: string, error: Error, upTo: number): void {
    this.lastWriteError = `${operation}: ${error.message}`
    this.#options.onIoError(operation, error)
    this.#fireWaiters(upTo, error)
  }

  #scheduleRetry(): void {
    if (this.#retryPending || this.#closed) return
    this.#retryPending = true
    this.#options.timers.after(writeRetryDelayMs, () => {
      this.#retryPending = false
      this.#scheduleFlush()
    })
  }

  /** Fires, in order, every waiter registered at or before logical byte `upTo`. */
  #fireWaiters(upTo: number, error: Error | undefined): void {
    const marks = this.#waiterMarks
    const callbacks = this.#waiterCallbacks
    while (this.#waiterHead < marks.length && marks[this.#waiterHead]! <= upTo) {
      const done = callbacks[this.#waiterHead]!
      callbacks[this.#waiterHead] = noop
      this.#waiterHead++
      if (error === undefined) done()
      else done(error)
    }
    if (this.#waiterHead === marks.length) {
      this.#waiterMarks = []
      this.#waiterCallbacks = []
      this.#waiterHead = 0
    } else if (this.#waiterHead >= waiterCompactAt && this.#waiterHead * 2 > marks.length) {
      this.#waiterMarks = marks.slice(this.#waiterHead)
      this.#waiterCallbacks = callbacks.slice(this.#waiterHead)
      this.#waiterHead = 0
    }
  }
}

function noop(): void {}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
