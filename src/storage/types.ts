/* Contract of the Bitcask storage engine, as the keyspace and the embedded API see it. */
import type { Clock, Disk, Timers } from '../core/ports.js'
import type { HashSeed } from './half-siphash.js'

export type FsyncPolicy = 'always' | 'everysec' | 'no'

export type StorageEvent =
  | { kind: 'torn-tail-truncated'; file: string; offset: number; droppedBytes: number }
  | { kind: 'corruption'; file: string; offset: number; reason: string }
  | { kind: 'merge-started'; segments: number }
  | { kind: 'merge-finished'; segments: number; reclaimedBytes: number; durationMs: number }
  | { kind: 'recovered'; keys: number; segments: number; fromHints: number; durationMs: number }
  | { kind: 'io-error'; operation: string; message: string }

export interface EngineOptions {
  dir: string
  disk: Disk
  clock: Clock
  timers: Timers
  fsync: FsyncPolicy
  /** Rotate the active segment once it reaches this size. */
  segmentBytesMax: number
  /** Merge when dead bytes / total bytes of immutable segments reach this ratio... */
  mergeDeadRatioMin: number
  /** ...and there are at least this many dead bytes. */
  mergeDeadBytesMin: number
  onEvent?: (event: StorageEvent) => void
  /**
   * The keydir's secret hash key (two random 32-bit words; hosts draw it from a CSPRNG so clients
   * cannot craft colliding keys). Omitted: a fixed key, fine for tests and offline tools.
   */
  hashSeed?: HashSeed
}

export interface EngineStats {
  keys: number
  keysWithExpiry: number
  segments: number
  liveBytes: number
  deadBytes: number
  pendingBytes: number
  fsyncs: number
  lastFsyncAtMs: number
  merges: number
  mergeInProgress: boolean
  /**
   * Why writes are refused ("fsync <segment file>: EIO: ...", "write: ENOSPC: ..."), or null. A
   * latched failure stays until a restart; a full disk's clears once a retried write lands.
   */
  lastWriteError: string | null
}

export interface ScanPage {
  /** 0 when the scan is complete. */
  cursor: number
  keys: Buffer[]
}

/**
 * Keys and values are raw bytes. Arguments may be views into a read buffer: the engine copies
 * whatever it keeps. Returned Buffers are owned by the caller.
 * Expiry is stored, not enforced: `get` returns a value even if `expiresAtMs` has passed; the
 * keyspace decides what expired (lazy + active expiry) and deletes it through `delete`.
 * Disk failures: after a failed fdatasync (or a failed write other than a full disk) the engine
 * is latched: put/delete/setExpiry/clear throw CaskadeError MISCONF ("Errors writing to the AOF
 * file: <strerror>"), whenDurable and flushAndSync report it, one 'io-error' event is emitted,
 * reads keep working, and only reopening clears it. A full disk (ENOSPC/EDQUOT) refuses writes
 * the same way only until a retry of the failed write succeeds.
 */
export interface StorageEngine {
  get(key: Buffer): Buffer | null
  has(key: Buffer): boolean
  /** null if absent, 0 if it never expires, else Unix ms. */
  expiresAtMs(key: Buffer): number | null
  valueLength(key: Buffer): number | null
  /** Appends a record to the current batch; visible to reads at once. */
  put(key: Buffer, value: Buffer, expiresAtMs: number): void
  /** Appends a tombstone if the key exists; returns whether it existed. */
  delete(key: Buffer): boolean
  /** Rewrites the key's record with a new expiry (0 = persist); false if absent. */
  setExpiry(key: Buffer, expiresAtMs: number): boolean
  /** FLUSHALL: every key is gone at once (a marker record, old segments reclaimed after). */
  clear(): void
  /**
   * Atomic groups (EXEC, and commands that write several records such as MSET): the records
   * appended between beginGroup() and its endGroup() reach disk as one unit. After a crash,
   * recovery sees all of them or none: on disk every record of a group but the last carries
   * RecordFlag.groupContinues, so a file that ends inside a group (a torn tail) loses the whole
   * group; a group never spans two segments, so hints and merge only ever see whole groups.
   * Pairs nest (an inner pair joins the outer group). Open and close a group in the same
   * synchronous stretch of code: flushAndSync waits for it to close, and reads see its records
   * at once as usual. An empty group writes nothing.
   */
  beginGroup(): void
  endGroup(): void
  keyCount(): number
  /** Redis SCAN semantics: a key present for the whole scan is returned at least once. */
  scan(cursor: number, count: number): ScanPage
  /** A uniformly-ish random key, or null when empty; `pick` draws integers in [0, bound). */
  randomKey(pick: (bound: number) => number): Buffer | null
  /** Visits every key that has an expiry (used at startup to fill the timing wheel). */
  forEachExpiring(visit: (key: Buffer, expiresAtMs: number) => void): void
  /**
   * False while writes are refused (every waiter already got the error), except until the turn
   * ends when the refusal hit records whose caller has not registered a whenDurable yet.
   */
  hasUndurableWrites(): boolean
  /**
   * Calls `done` once every record appended before this call is as durable as the fsync policy
   * promises ('always': written and fdatasync'ed; otherwise handed to the OS). Callbacks fire in
   * registration order. One write + at most one fdatasync per event-loop turn (group commit).
   * After a disk failure `done` gets the MISCONF error (queued ones at once, later ones deferred).
   */
  whenDurable(done: (error?: Error) => void): void
  /**
   * CONFIG SET appendfsync: takes effect at once. Queued whenDurable callbacks are judged by the
   * new policy (leaving 'always' releases those already written; entering it makes the next
   * acknowledgements wait for an fdatasync).
   */
  setFsyncPolicy(policy: FsyncPolicy): void
  /** Writes and fdatasyncs everything appended so far, whatever the policy. */
  flushAndSync(): Promise<void>
  /** Starts a merge now if one is not running (otherwise triggered by the dead-byte ratio). */
  startMerge(): boolean
  stats(): EngineStats
  close(): Promise<void>

  // Additive (collections engineer): hashes and sets stored one record per field/member under a
  // versioned metadata record (src/storage/collection-key.ts). The metadata record is the key's
  // record above (get/has/expiresAtMs/setExpiry/delete/scan see it; `get` returns its encoded
  // version), so deleting, expiring or overwriting a collection is one record, whatever its size.
  // Element methods expect `key` to hold a live collection (the keyspace checks the type).
  /** The RecordKind of the key's record, or null when absent. */
  kindOf(key: Buffer): number | null
  /** Replaces whatever `key` holds by an empty collection of `kind` (hash, set): one record. */
  createCollection(key: Buffer, kind: number, expiresAtMs: number): void
  /** The collection's field/member count, 0 when `key` holds no collection. */
  elementCount(key: Buffer): number
  getElement(key: Buffer, field: Buffer): Buffer | null
  hasElement(key: Buffer, field: Buffer): boolean
  /** One element record; returns whether the field is new. */
  putElement(key: Buffer, field: Buffer, value: Buffer): boolean
  /** One element tombstone if the field exists; returns whether it existed. */
  deleteElement(key: Buffer, field: Buffer): boolean
  /** The fields in insertion order. */
  elementFields(key: Buffer): Buffer[]
  /** SCAN over the collection's fields (a field present for the whole scan is returned). */
  scanElements(key: Buffer, cursor: number, count: number): ScanPage
  /** A random field, or null when empty; `pick` draws integers in [0, bound). */
  randomElement(key: Buffer, pick: (bound: number) => number): Buffer | null
  /** Additive (sorted sets): an id of the key's live collection, unique for the engine's life
   * (a new one per createCollection), or -1 when the key holds none. Caches key off it. */
  collectionVersion(key: Buffer): number
}

// Additive (checkpoints, issue 5): the engine openEngine returns, which can freeze its state
// into a directory of hard links (the replicated keyspace's file snapshots).

/** One frozen file of a checkpoint: its name in the checkpoint directory and its size. */
export interface CheckpointFile {
  readonly name: string
  readonly bytes: number
}

export interface DiskEngine extends StorageEngine {
  /**
   * Freezes the state as of this call into `intoDir` (must not exist; created): the active
   * segment is rotated (sealed), then every immutable segment and its hint is hard-linked there,
   * synchronously, so the frozen files are exactly the state now. Resolves once every frozen file
   * and the directory are durable (data fsynced, hints written). Writes, rotations and merges go
   * on meanwhile and never modify a frozen file (merges delete only their own names). Must not be
   * called inside an open atomic group. Opening an engine on a directory holding exactly these
   * files gives the frozen state from hints alone and never appends to or truncates them.
   * Rejects (MISCONF) when the engine refuses writes: no checkpoint is made.
   */
  checkpoint(intoDir: string): Promise<readonly CheckpointFile[]>
}

// Additive (storage engineer): the report of inspectDataDir (src/storage/inspect.ts), a read-only
// check of a data directory for `caskade inspect`.

/** Something wrong in a file, at a byte offset (0 for whole-file problems). */
export interface InspectProblem {
  file: string
  offset: number
  reason: string
}

export interface InspectSegmentReport {
  file: string
  segmentId: number
  bytes: number
  /** Records read before the end of the file or the first bad record. */
  records: number
  tombstones: number
  clearMarkers: number
  /** Keys whose newest record is in this segment. */
  keys: number
  liveBytes: number
  deadBytes: number
}

export interface InspectHintReport {
  file: string
  segmentId: number
  entries: number
  /** Whole, CRC-valid, matching its data file's size. */
  valid: boolean
  origin: 'writer' | 'merge' | 'unknown'
}

export interface InspectReport {
  dir: string
  segments: InspectSegmentReport[]
  hints: InspectHintReport[]
  keys: number
  keysWithExpiry: number
  totalBytes: number
  liveBytes: number
  deadBytes: number
  problems: InspectProblem[]
  /** Leftovers that open() cleans up (interrupted merge outputs, temp files, a merge manifest). */
  notes: string[]
}
