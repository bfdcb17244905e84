/* The small interfaces through which every core sees the outside world: time, timers,
 * randomness and files. Real implementations live in src/io/, simulated ones in src/sim/;
 * nothing in a pure folder may reach past these. */

export interface Clock {
  /** Monotonic milliseconds for timeouts and durations; never goes backwards. */
  monotonicMs(): number
  /** Wall-clock Unix milliseconds, for absolute expiry times (EXPIREAT) and TIME. */
  wallMs(): number
}

export interface Timers {
  /** Runs `onFire` every `intervalMs`; returns a cancel function. */
  every(intervalMs: number, onFire: () => void): () => void
  /** Runs `onFire` once after `delayMs`; returns a cancel function. */
  after(delayMs: number, onFire: () => void): () => void
  /** Runs `onFire` once after the current event-loop turn's I/O (setImmediate). */
  defer(onFire: () => void): void
}

export interface Rng {
  /** Uniform integer in [0, bound). */
  int(bound: number): number
  /** Uniform float in [0, 1). */
  float(): number
}

/** An open file. Offsets are byte positions; a BlockFile never reorders appends. */
export interface BlockFile {
  readonly path: string
  /** Current size in bytes, including appends not yet synced. */
  size(): number
  /** Appends all of `data`; resolves with the offset it was written at. */
  append(data: Uint8Array): Promise<number>
  /** Synchronous append, for callers that already batch (returns the offset written at). */
  appendSync(data: Uint8Array): number
  /** fdatasync: everything appended before the call is on stable storage when it resolves. */
  sync(): Promise<void>
  syncSync(): void
  read(offset: number, length: number): Promise<Buffer>
  /** pread into `into` (from 0); returns bytes read. The hot path: a page-cache hit is cheap. */
  readSync(offset: number, length: number, into: Buffer): number
  truncate(length: number): Promise<void>
  close(): Promise<void>
  closeSync(): void
}

export interface Disk {
  open(path: string, mode: 'read' | 'append'): Promise<BlockFile>
  openSync(path: string, mode: 'read' | 'append'): BlockFile
  list(dir: string): Promise<string[]>
  listSync(dir: string): string[]
  exists(path: string): boolean
  mkdirp(dir: string): void
  /** Removes a file, or a directory with everything in it; nothing there is no error. */
  remove(path: string): Promise<void>
  /** Atomic replace: write to a temp file, sync, rename over `path`, sync the directory. */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>
  readFile(path: string): Promise<Buffer>
  readFileSync(path: string): Buffer
  rename(from: string, to: string): Promise<void>
  /** rename() at once, its directory synced before it returns (a Raft vote must be durable
   * before the turn that cast it ends, on a loop that may not await). */
  renameSync(from: string, to: string): void
  /** Hard link: `newPath` (must not exist) names the same file as `existingPath`, so appends
   * through one name show through the other; removing one name leaves the other intact. */
  link(existingPath: string, newPath: string): void
  /** fsync a directory: the names created, renamed or linked in it so far survive a crash. */
  syncDir(dir: string): Promise<void>
  /** Exclusive advisory lock on a directory; throws CaskadeError(LOCKED) if another holds it. */
  lockDir(dir: string): { release(): void }
}
