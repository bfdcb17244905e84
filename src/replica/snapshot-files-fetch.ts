/* Pulls a file snapshot from a peer into a fresh local directory: each file in chunks of at most
 * snapshotChunkBytesMax, at most inFlightMax chunks requested at once (flow control by pull: the
 * source only ever sends what was asked), each chunk bounded by a timeout and retried a few times.
 * Invariant: a file is written in offset order and only with chunks of exactly the asked length,
 * so a file that resolves has exactly the descriptor's size; files and directory are fsynced. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk, Timers } from '../core/ports.js'
import type { NodeId } from '../raft/types.js'
import type { SnapshotFileEntry } from './keyspace-descriptor.js'
import { snapshotChunkBytesMax } from './snapshot-files.js'

/** Asks `source` for bytes [offset, offset + length) of `file` in its snapshot `dirName`. */
export type FetchChunk = (
  source: NodeId,
  dirName: string,
  file: string,
  offset: number,
  length: number,
) => Promise<Buffer>

export const fetchDefaults = {
  chunkBytes: snapshotChunkBytesMax,
  inFlightMax: 4,
  chunkTimeoutMs: 10_000,
  /** Tries per chunk before the whole fetch fails (the leader resends the snapshot later). */
  attemptsMax: 4,
} as const

export interface FetchSnapshotOptions {
  readonly disk: Disk
  readonly timers: Timers
  readonly fetchChunk: FetchChunk
  readonly source: NodeId
  readonly dirName: string
  readonly files: readonly SnapshotFileEntry[]
  /** Created; must not hold the files yet. */
  readonly intoDir: string
  readonly chunkBytes?: number
  readonly inFlightMax?: number
  readonly chunkTimeoutMs?: number
  readonly attemptsMax?: number
}

function fetchError(message: string): CaskadeError {
  return new CaskadeError(ErrorCode.Err, `snapshot fetch: ${message}`)
}

function withTimeout<T>(timers: Timers, timeoutMs: number, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = timers.after(timeoutMs, () => reject(fetchError('chunk timed out')))
    promise.then(
      (value) => {
        cancel()
        resolve(value)
      },
      (error: unknown) => {
        cancel()
        reject(error instanceof Error ? error : fetchError(String(error)))
      },
    )
  })
}

type Resolved = Required<Omit<FetchSnapshotOptions, 'intoDir' | 'files'>>

async function fetchChunkRetried(
  o: Resolved,
  file: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  let lastError: unknown = null
  for (let attempt = 0; attempt < o.attemptsMax; attempt++) {
    try {
      const fetched = o.fetchChunk(o.source, o.dirName, file, offset, length)
      const data = await withTimeout(o.timers, o.chunkTimeoutMs, fetched)
      if (data.length === length) return data
      lastError = fetchError(`${file}@${offset}: ${data.length} bytes, expected ${length}`)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError instanceof Error ? lastError : fetchError(`${file}@${offset} failed`)
}

/** Chunk slots shared by every file of a fetch: taken in request order (FIFO), given back once
 * the chunk is written, so at most `count` chunks are in flight or buffered at any time. A file
 * asks for its chunks in offset order, so its oldest unwritten chunk always got its slot first:
 * every slot holder's file can make progress, and no file waits forever. */
class ChunkSlots {
  #free: number
  readonly #waiters: Array<() => void> = []

  constructor(count: number) {
    this.#free = count
  }

  take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  give(): void {
    const next = this.#waiters.shift()
    if (next === undefined) this.#free++
    else next()
  }
}

interface Fetch {
  readonly o: Resolved
  readonly slots: ChunkSlots
  /** Set by the first failure: the other files stop asking for chunks. */
  failed: boolean
  /** That first failure (what the fetch rejects with). */
  error: unknown
}

function failFetch(fetch: Fetch, error: unknown): void {
  if (fetch.failed) return
  fetch.failed = true
  fetch.error = error
}

async function fetchFile(fetch: Fetch, into: BlockFile, entry: SnapshotFileEntry): Promise<void> {
  const { o, slots } = fetch
  const pending: Array<Promise<Buffer>> = []
  let nextOffset = 0
  const fill = (): void => {
    while (!fetch.failed && pending.length < o.inFlightMax && nextOffset < entry.bytes) {
      const offset = nextOffset
      const length = Math.min(o.chunkBytes, entry.bytes - offset)
      const chunk = slots.take().then(() => fetchChunkRetried(o, entry.name, offset, length))
      // Awaited in order below; a failure of a later chunk after an earlier one failed is moot.
      chunk.catch(() => undefined)
      pending.push(chunk)
      nextOffset += length
    }
  }
  fill()
  try {
    while (pending.length > 0) {
      let data: Buffer
      try {
        data = await (pending.shift() as Promise<Buffer>)
      } catch (error) {
        failFetch(fetch, error)
        throw error
      } finally {
        slots.give()
      }
      if (fetch.failed) throw fetchError('another file failed')
      await into.append(data)
      fill()
    }
  } finally {
    // Given up: chunks still asked for give their slot back when they settle (a settled chunk
    // had taken one), so the other files' waiting chunks go on and their workers see `failed`.
    for (const chunk of pending.splice(0))
      chunk.then(slots.give.bind(slots), slots.give.bind(slots))
  }
  await into.sync()
  if (into.size() !== entry.bytes) {
    throw fetchError(`${entry.name}: ${into.size()} bytes, expected ${entry.bytes}`)
  }
}

async function fetchFileInto(fetch: Fetch, disk: Disk, path: string, entry: SnapshotFileEntry) {
  if (disk.exists(path)) throw fetchError(`${entry.name} is already there`)
  const file = await disk.open(path, 'append')
  try {
    await fetchFile(fetch, file, entry)
  } finally {
    await file.close()
  }
}

/**
 * Fetches every file of the snapshot into `intoDir`, several files at once (their per-file
 * open, fsync and round trips overlap) within the shared chunk bound; rejects once every file
 * stopped if any failed.
 */
export async function fetchSnapshotFiles(options: FetchSnapshotOptions): Promise<void> {
  const o: Resolved = {
    disk: options.disk,
    timers: options.timers,
    fetchChunk: options.fetchChunk,
    source: options.source,
    dirName: options.dirName,
    chunkBytes: options.chunkBytes ?? fetchDefaults.chunkBytes,
    inFlightMax: options.inFlightMax ?? fetchDefaults.inFlightMax,
    chunkTimeoutMs: options.chunkTimeoutMs ?? fetchDefaults.chunkTimeoutMs,
    attemptsMax: options.attemptsMax ?? fetchDefaults.attemptsMax,
  }
  const fetch: Fetch = { o, slots: new ChunkSlots(o.inFlightMax), failed: false, error: null }
  options.disk.mkdirp(options.intoDir)
  const queue = [...options.files]
  const worker = async (): Promise<void> => {
    for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
      if (fetch.failed) return
      try {
        await fetchFileInto(fetch, options.disk, `${options.intoDir}/${entry.name}`, entry)
      } catch (error) {
        failFetch(fetch, error)
        throw error
      }
    }
  }
  const workers = Array.from({ length: Math.min(o.inFlightMax, queue.length) }, worker)
  await Promise.allSettled(workers)
  if (fetch.failed) throw fetch.error
  await options.disk.syncDir(options.intoDir)
}
