/* Group commit for the active segment (pure: I/O through the BlockFile port, scheduling through
 * Timers). Records collect in one in-memory batch per event-loop turn; the turn's end writes the
 * batch with one appendSync, then 'always' runs one fdatasync (at most one in flight; writes that
 * arrive meanwhile form the next batch), 'everysec' syncs from a 1 s timer, 'no' leaves it to the
 * OS; the policy can change live. Invariant: whenDurable callbacks fire in registration order,
 * once, only after every byte appended before them is as durable as the policy promises, or with
 * the error that stopped it.
 * Disk failures (fsyncgate: after a failed fdatasync Linux may drop the dirty pages and mark them
 * clean, so a retried fsync can succeed over lost data): a failed fdatasync, or a failed write
 * other than ENOSPC/EDQUOT, LATCHES: every later append and whenDurable gets MISCONF, nothing is
 * written or synced again, reads go on, and only a restart (which re-reads what is really on disk)
 * clears it. A write failing with ENOSPC/EDQUOT keeps the retry (writes refused with MISCONF
 * meanwhile, accepted again once a retry lands), because it is safe: the positional write leaves
 * the earlier bytes alone, nothing in the failed batch was acknowledged (acks follow the write;
 * asserted), and bytes already written still go through an fdatasync that latches if it fails.
 * A full disk is what operators fix by freeing space; Redis recovers from it the same way. */
import { assert } from '../core/assert.js'
import type { CaskadeError } from '../core/errors.js'
import type { BlockFile, Clock, Timers } from '../core/ports.js'
import { asError, isRetryableWriteError, misconfError } from './disk-failure.js'
import type { FsyncPolicy } from './types.js'

/** A batch larger than this is written at once instead of at the end of the turn. */
export const batchBytesMax = 4 * 1024 * 1024
const batchBytesInitial = 64 * 1024
/** After writing, a batch buffer grown past this is replaced by a small one. */
const batchBytesKeptMax = 2 * batchBytesMax
const everysecIntervalMs = 1000
/** Delay before retrying a write that failed for lack of space (ENOSPC, EDQUOT). */
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
  #policy: FsyncPolicy
  #file: BlockFile
  /** Bytes of the active file already written (the batch starts here). */
  #writtenBytes: number
  #batch = Buffer.allocUnsafe(batchBytesInitial)
  #batchLength = 0
  /** Logical byte counters over all segments: appended >= written >= synced. */
  #appendedTotal = 0
  #writtenTotal = 0
  #syncedTotal = 0
  /** Mark of the newest whenDurable, and of the newest one fired without an error. */
  #registeredTotal = 0
  #acknowledgedTotal = 0
  #waiterMarks: number[] = []
  #waiterCallbacks: DurableCallback[] = []
  #waiterHead = 0
  readonly #dirtyFiles = new Set<BlockFile>()
  #flushScheduled = false
  #syncInFlight: Promise<Error | null> | null = null
  /** Cancels the timer that retries a failed write; null when none is pending. */
  #cancelRetry: (() => void) | null = null
  /** The error of the failed write being retried (ENOSPC); null while writes land. */
  #writeError: Error | null = null
  /** The disk error that latched the engine; never cleared. */
  #failure: Error | null = null
  /**
   * Writes were refused while records appended in this turn had no waiter yet (a write failed
   * inside the appending command): until the turn ends, hasUndurableWrites() stays true so their
   * caller registers one and learns of the failure instead of replying OK.
   */
  #uncoveredAtRefusal = false
  #cancelEverysec: (() => void) | null = null
  #closed = false
  readonly #options: GroupCommitOptions
  fsyncs = 0
  lastFsyncAtMs = 0
  lastWriteError: string | null = null

  constructor(options: GroupCommitOptions) {
    this.#options = options
    this.#policy = options.fsync
    this.#file = options.file
    this.#writtenBytes = options.file.size()
    this.#startEverysecTimer()
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

  /** Latched by a disk failure: appends and whenDurable get MISCONF until a restart. */
  get failed(): boolean {
    return this.#failure !== null
  }

  /** The MISCONF error appends get now (latched, or a failed write awaiting its retry), or null. */
  refusal(): CaskadeError | null {
    const cause = this.#failure ?? this.#writeError
    return cause === null ? null : misconfError(cause)
  }

  /**
   * While writes are refused nothing appended can still be acknowledged (every waiter already got
   * the error), so replies need not wait: reads keep being served.
   */
  hasUndurableWrites(): boolean {
    if (this.#failure !== null || this.#writeError !== null) return this.#uncoveredAtRefusal
    const durable = this.#policy === 'always' ? this.#syncedTotal : this.#writtenTotal
    return this.#appendedTotal > durable || this.#waiterHead < this.#waiterMarks.length
  }

  /** Bytes appended but not yet as durable as the policy promises. */
  pendingBytes(): number {
    const durable = this.#policy === 'always' ? this.#syncedTotal : this.#writtenTotal
    return this.#appendedTotal - durable
  }

  /**
   * Makes room for a `size`-byte record; returns where to encode it in `batch`. Throws MISCONF
   * when writes are refused (also when writing the full batch just failed), appending nothing.
   */
  reserve(size: number): number {
    assert(!this.#closed, 'no appends after close')
    if (this.#batchLength > 0 && this.#batchLength + size > batchBytesMax) this.#writeBatch()
    const refusal = this.refusal()
    if (refusal !== null) throw refusal
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

  /** After a latch `done` gets the MISCONF error on a later turn (after every earlier waiter). */
  whenDurable(done: DurableCallback): void {
    this.#uncoveredAtRefusal = false
    if (this.#failure !== null) {
      const error = misconfError(this.#failure)
      this.#options.timers.defer(() => done(error))
      return
    }
    this.#registeredTotal = this.#appendedTotal
    this.#waiterMarks.push(this.#appendedTotal)
    this.#waiterCallbacks.push(done)
    this.#scheduleFlush()
  }

  /**
   * Switches the policy at once. Queued waiters are judged by the new one at the next flush:
   * leaving 'always' acknowledges what is written without waiting for the fdatasync in flight;
   * entering it makes the next acknowledgements wait for one.
   */
  setFsyncPolicy(policy: FsyncPolicy): void {
    if (policy === this.#policy) return
    this.#policy = policy
    this.#cancelEverysec?.()
    this.#cancelEverysec = null
    this.#startEverysecTimer()
    if (this.#waiterHead < this.#waiterMarks.length) this.#scheduleFlush()
  }

  /** Writes the batch and fdatasyncs every written file, whatever the policy. */
  async flushAndSync(): Promise<void> {
    this.#throwIfFailed()
    if (!this.#writeBatch()) throw this.#refusalError()
    while (this.#syncInFlight !== null) await this.#syncInFlight
    this.#throwIfFailed()
    this.#dirtyFiles.add(this.#file)
    const error = await this.#startSync()
    if (error !== null) throw misconfError(this.#failure ?? error)
    // Up to the synced mark, not the written one: a batch written while this sync ran is not
    // covered by it, and under 'always' its waiters must wait for their own fdatasync.
    this.#fireWaiters(this.#syncedTotal, undefined)
  }

  /** Flushes and syncs (rethrowing its failure), stops the timers; later appends are bugs. */
  async close(): Promise<void> {
    try {
      await this.flushAndSync()
    } finally {
      this.#closed = true
      this.#stopTimers()
    }
  }

  /**
   * Enters the failed state (once): every queued waiter gets the MISCONF error now, later ones on
   * a later turn; appends are refused; nothing is written or synced again. Also called by the
   * engine when sealing a rotated segment fails its fdatasync.
   */
  latch(operation: string, error: Error): void {
    if (this.#failure !== null) return
    this.#failure = error
    this.#writeError = null
    this.lastWriteError = `${operation}: ${error.message}`
    this.#noteRefusal()
    this.#stopTimers()
    this.#options.onIoError(operation, error)
    this.#fireWaiters(Infinity, misconfError(error))
  }

  #startEverysecTimer(): void {
    if (this.#policy !== 'everysec' || this.#closed || this.#failure !== null) return
    this.#cancelEverysec = this.#options.timers.every(everysecIntervalMs, () =>
      this.#syncInBackground(),
    )
  }

  #stopTimers(): void {
    this.#cancelEverysec?.()
    this.#cancelEverysec = null
    this.#cancelRetry?.()
    this.#cancelRetry = null
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed || this.#failure !== null) return
    this.#flushScheduled = true
    this.#options.timers.defer(() => this.#flush())
  }

  #flush(): void {
    this.#flushScheduled = false
    // A failed write waits for its retry timer rather than hammering a full disk every turn.
    if (this.#failure !== null || this.#cancelRetry !== null) return
    if (!this.#writeBatch()) return
    if (this.#policy !== 'always') {
      this.#fireWaiters(this.#writtenTotal, undefined)
      return
    }
    void this.#startSync()
  }

  /** One appendSync of the whole batch. On a retryable failure the batch is kept for a retry. */
  #writeBatch(): boolean {
    if (this.#failure !== null) return false
    if (this.#batchLength === 0) return true
    let at: number
    try {
      at = this.#file.appendSync(this.#batch.subarray(0, this.#batchLength))
    } catch (error) {
      this.#onWriteError(asError(error))
      return false
    }
    assert(at === this.#writtenBytes, 'the batch lands where its records were addressed')
    if (this.#writeError !== null) {
      this.#writeError = null // the retry landed: Redis's "AOF write error looks solved"
      this.lastWriteError = null
      this.#cancelRetry?.()
      this.#cancelRetry = null
    }
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
    const sync = Promise.all(files.map(syncOrFailure)).then((failures) => {
      const failed = failures.find((failure) => failure !== null)
      if (failed !== undefined) {
        // Never retried: the kernel may already have dropped these pages and marked them clean.
        this.latch(`fsync ${failed.file.path}`, failed.error)
        return failed.error
      }
      this.#syncedTotal = Math.max(this.#syncedTotal, target)
      this.fsyncs++
      this.lastFsyncAtMs = this.#options.clock.wallMs()
      this.#fireAfterSync(target, undefined)
      return null
    })
    this.#syncInFlight = sync.finally(() => {
      this.#syncInFlight = null
      if (this.#batchLength > 0 || this.#waiterHead < this.#waiterMarks.length) {
        this.#scheduleFlush()
      }
    })
    return this.#syncInFlight
  }

  #fireAfterSync(upTo: number, error: Error | undefined): void {
    if (this.#policy === 'always') this.#fireWaiters(upTo, error)
  }

  #syncInBackground(): void {
    if (this.#closed || this.#failure !== null || this.#syncInFlight !== null) return
    if (this.#dirtyFiles.size === 0) return
    void this.#startSync()
  }

  /** A failed batch write: retried if the disk was full (see the header), else latched. */
  #onWriteError(error: Error): void {
    assert(this.#acknowledgedTotal <= this.#writtenTotal, 'no record of a failed batch was acked')
    if (!isRetryableWriteError(error)) {
      this.latch('write', error)
      return
    }
    const streakStarts = this.#writeError === null
    this.#writeError = error
    this.lastWriteError = `write: ${error.message}`
    if (streakStarts) {
      this.#noteRefusal()
      this.#options.onIoError('write', error)
    }
    this.#fireWaiters(this.#appendedTotal, misconfError(error))
    this.#scheduleRetry()
  }

  /** Writes just became refused: see #uncoveredAtRefusal. */
  #noteRefusal(): void {
    this.#uncoveredAtRefusal = this.#appendedTotal > this.#registeredTotal
    if (this.#uncoveredAtRefusal) {
      this.#options.timers.defer(() => {
        this.#uncoveredAtRefusal = false
      })
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw misconfError(this.#failure)
  }

  #refusalError(): CaskadeError {
    const refusal = this.refusal()
    assert(refusal !== null, 'a failed write leaves writes refused')
    return refusal
  }

  #scheduleRetry(): void {
    if (this.#cancelRetry !== null || this.#closed) return
    this.#cancelRetry = this.#options.timers.after(writeRetryDelayMs, () => {
      this.#cancelRetry = null
      this.#scheduleFlush()
    })
  }

  /** Fires, in order, every waiter registered at or before logical byte `upTo`. */
  #fireWaiters(upTo: number, error: Error | undefined): void {
    const marks = this.#waiterMarks
    const callbacks = this.#waiterCallbacks
    while (this.#waiterHead < marks.length && marks[this.#waiterHead]! <= upTo) {
      const mark = marks[this.#waiterHead]!
      const done = callbacks[this.#waiterHead]!
      callbacks[this.#waiterHead] = noop
      this.#waiterHead++
      if (error !== undefined) {
        done(error)
      } else {
        this.#acknowledgedTotal = mark
        done()
      }
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

interface SyncFailure {
  file: BlockFile
  error: Error
}

/** fdatasyncs `file`; resolves null, or which file failed and why. */
function syncOrFailure(file: BlockFile): Promise<SyncFailure | null> {
  return file.sync().then(
    () => null,
    (reason: unknown) => ({ file, error: asError(reason) }),
  )
}
