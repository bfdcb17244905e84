/* The snapshots directory of a replicated keyspace (DIR/cluster/snapshots/): the names allowed in
 * it and the serving of a snapshot file's bytes to a peer that fetches it. Invariant: a request
 * from the network reads only a plain file name inside a snapshot directory's plain name, at most
 * snapshotChunkBytesMax bytes within the file, with async reads (off the event loop). */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Disk } from '../core/ports.js'

/** A fetcher's chunk, and the most a snapshot-read may ask for. */
export const snapshotChunkBytesMax = 1024 * 1024
/** Prefix of the directories a fetch writes into (removed at start: never complete). */
export const incomingPrefix = 'incoming-'

const snapshotDirPattern = /^\d{1,16}-[0-9a-f]{8}$/
const fileNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/** `<index>-<8 hex digits>`: a complete snapshot's directory. */
export function isSnapshotDirName(name: string): boolean {
  return snapshotDirPattern.test(name)
}

/** A plain file name: no separator, no leading dot, bounded. */
export function isSnapshotFileName(name: string): boolean {
  return fileNamePattern.test(name)
}

export function snapshotDirName(index: number, rand32: number): string {
  return `${index}-${rand32.toString(16).padStart(8, '0')}`
}

export interface SnapshotChunkRequest {
  readonly dirName: string
  readonly file: string
  readonly offset: number
  readonly length: number
}

function refused(reason: string): CaskadeError {
  return new CaskadeError(ErrorCode.Err, `snapshot-read refused: ${reason}`)
}

/** Why `request` may not be served, or null when its names and bounds are acceptable. */
export function snapshotChunkRequestProblem(request: SnapshotChunkRequest): string | null {
  if (!isSnapshotDirName(request.dirName)) return 'bad snapshot name'
  if (!isSnapshotFileName(request.file)) return 'bad file name'
  const { offset, length } = request
  if (!Number.isSafeInteger(offset) || offset < 0) return 'bad offset'
  if (!Number.isSafeInteger(length) || length < 1 || length > snapshotChunkBytesMax) {
    return 'bad length'
  }
  return null
}

/** The bytes [offset, offset + length) of a snapshot file; rejects with a refusal otherwise. */
export async function readSnapshotChunk(
  disk: Disk,
  snapshotsDir: string,
  request: SnapshotChunkRequest,
): Promise<Buffer> {
  const problem = snapshotChunkRequestProblem(request)
  if (problem !== null) throw refused(problem)
  const path = `${snapshotsDir}/${request.dirName}/${request.file}`
  if (!disk.exists(path)) throw refused('no such snapshot file')
  const file = await disk.open(path, 'read')
  try {
    if (request.offset + request.length > file.size()) throw refused('past the end of the file')
    const data = await file.read(request.offset, request.length)
    if (data.length !== request.length) throw refused('short read')
    return data
  } finally {
    await file.close()
  }
}
