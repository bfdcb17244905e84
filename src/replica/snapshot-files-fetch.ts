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

async function fetchFile(o: Resolved, into: BlockFile, entry: SnapshotFileEntry): Promise<void> {
  const pending: Array<Promise<Buffer>> = []
  let nextOffset = 0
  const fill = (): void => {
    while (pending.length < o.inFlightMax && nextOffset < entry.bytes) {
      const length = Math.min(o.chunkBytes, entry.bytes - nextOffset)
      const chunk = fetchChunkRetried(o, entry.name, nextOffset, length)
      // Awaited in order below; a failure of a later chunk after an earlier one failed is moot.
      chunk.catch(() => undefined)
      pending.push(chunk)
      nextOffset += length
    }
  }
  fill()
  while (pending.length > 0) {
    const data = await (pending.shift() as Promise<Buffer>)
    await into.append(data)
    fill()
  }
  await into.sync()
  if (into.size() !== entry.bytes) {
    throw fetchError(`${entry.name}: ${into.size()} bytes, expected ${entry.bytes}`)
  }
}

/** Fetches every file of the snapshot into `intoDir`; rejects on the first file that fails. */
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
  options.disk.mkdirp(options.intoDir)
  for (const entry of options.files) {
    const path = `${options.intoDir}/${entry.name}`
    if (options.disk.exists(path)) throw fetchError(`${entry.name} is already there`)
    const file = await options.disk.open(path, 'append')
    try {
      await fetchFile(o, file, entry)
    } finally {
      await file.close()
    }
  }
  await options.disk.syncDir(options.intoDir)
}
