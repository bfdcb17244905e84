/* The replicated keyspace's file snapshots (types.ts FileSnapshots): capture freezes the engine's
 * segments into DIR/cluster/snapshots/<index>-<rand>/ (engine checkpoint) and describes them;
 * install fetches a peer's snapshot into incoming-<rand>/, renames it into place, opens a new
 * engine on hard links of its files in a new live directory and only then swaps it in. Invariant:
 * the live engine always answers (the old one stays open until the new one is), and a snapshot
 * directory is deleted only when the host no longer needs it, no capture or install uses it, and
 * no peer read it in the last servedKeepMs. */
import { assert } from '../core/assert.js'
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import type { NodeId } from '../raft/types.js'
import type { CheckpointFile, DiskEngine } from '../storage/types.js'
import {
  decodeDescriptor,
  encodeDescriptor,
  isKeyspaceDump,
  machineSnapshotLastIndex,
  peekDescriptor,
  type KeyspaceDescriptor,
  type SnapshotFileEntry,
} from './keyspace-descriptor.js'
import type { KeyspaceMeta } from './keyspace-snapshot.js'
import { fetchSnapshotFiles, type FetchChunk } from './snapshot-files-fetch.js'
import {
  incomingPrefix,
  isSnapshotDirName,
  readSnapshotChunk,
  snapshotChunkRequestProblem,
  snapshotDirName,
  type SnapshotChunkRequest,
} from './snapshot-files.js'
import type { FileSnapshots } from './types.js'

/** A peer that fetched a snapshot may come back for it (a retry): keep it this long. */
export const servedKeepMs = 60_000

/** A storage engine that can freeze its state into hard-linked files (storage/engine.ts). */
export type CheckpointEngine = DiskEngine

/** What the files need of the machine. */
export interface FilesMachine {
  engine(): CheckpointEngine
  /** The meta as of now (copies: applying goes on after the call). */
  meta(): KeyspaceMeta
  lastIndex(): number
  /** Makes `engine` (open, holding the state `meta` goes with) the live one; returns the old. */
  adopt(engine: CheckpointEngine, meta: KeyspaceMeta): CheckpointEngine
}

export interface StateLogger {
  info(fields: Record<string, unknown>, message: string): void
}

export interface KeyspaceFilesOptions {
  readonly disk: Disk
  readonly clock: Clock
  readonly timers: Timers
  readonly rng: Rng
  /** DIR/cluster/state: the live engine is in its `live-<generation>` subdirectory. */
  readonly stateDir: string
  readonly snapshotsDir: string
  readonly fetchChunk: FetchChunk
  readonly openEngineAt: (dir: string) => Promise<CheckpointEngine>
  readonly logger?: StateLogger
}

export function liveDirOf(stateDir: string, generation: number): string {
  return `${stateDir}/live-${generation}`
}

/** Hard-links a snapshot's files into `engineDir` (created empty). */
export function linkSnapshotFiles(
  disk: Disk,
  snapshotDir: string,
  engineDir: string,
  files: readonly SnapshotFileEntry[],
): void {
  disk.mkdirp(engineDir)
  for (const file of files) disk.link(`${snapshotDir}/${file.name}`, `${engineDir}/${file.name}`)
}

export class KeyspaceFiles implements FileSnapshots {
  readonly #o: KeyspaceFilesOptions
  readonly #machine: FilesMachine
  #generation: number
  /** Snapshot directories a capture or an install is writing or reading now. */
  readonly #busy = new Set<string>()
  /** Captured or installed since the host's last retain(): it has not seen them yet. */
  readonly #fresh = new Set<string>()
  readonly #servedAtMs = new Map<string, number>()
  #needed: ReadonlySet<string> = new Set()
  #capturing: Promise<unknown> = Promise.resolve()
  #installing = false
  #cleaning = false

  constructor(options: KeyspaceFilesOptions, machine: FilesMachine, generation: number) {
    this.#o = options
    this.#machine = machine
    this.#generation = generation
  }

  capture(): Promise<Uint8Array> {
    const meta = this.#machine.meta()
    const dirName = snapshotDirName(meta.lastIndex, this.#o.rng.int(2 ** 32))
    const startedMs = this.#o.clock.monotonicMs()
    this.#busy.add(dirName)
    let frozen: Promise<readonly CheckpointFile[]>
    try {
      // The freeze itself is synchronous inside checkpoint(): the files are the state now.
      frozen = this.#machine.engine().checkpoint(`${this.#o.snapshotsDir}/${dirName}`)
    } catch (error) {
      this.#busy.delete(dirName)
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    const described = frozen
      .then((files) => {
        const bytes = files.reduce((sum, file) => sum + file.bytes, 0)
        const durationMs = this.#o.clock.monotonicMs() - startedMs
        this.#o.logger?.info(
          { dir: dirName, index: meta.lastIndex, files: files.length, bytes, durationMs },
          'state machine snapshot captured',
        )
        this.#fresh.add(dirName)
        return encodeDescriptor({
          dirName,
          meta,
          files: files.map(({ name, bytes }) => ({ name, bytes })),
        })
      })
      .finally(() => this.#busy.delete(dirName))
    this.#capturing = described.catch(() => undefined)
    return described
  }

  holds(descriptor: Uint8Array): boolean {
    // The state after an index is the same on every node: equal last index, equal state. A dump
    // (a data directory from before file snapshots, restored at start) counts the same way.
    if (machineSnapshotLastIndex(descriptor) !== this.#machine.lastIndex()) return false
    // ...but the log will name this snapshot: its files must be here for the next restart.
    return isKeyspaceDump(descriptor) || this.#o.disk.exists(this.#dirOf(descriptor))
  }

  #dirOf(descriptor: Uint8Array): string {
    return `${this.#o.snapshotsDir}/${peekDescriptor(descriptor).dirName}`
  }

  async install(descriptor: Uint8Array, source: NodeId): Promise<void> {
    assert(!this.#installing, 'one install at a time')
    if (this.holds(descriptor)) return
    const decoded = decodeDescriptor(descriptor)
    this.#installing = true
    this.#busy.add(decoded.dirName)
    try {
      const startedMs = this.#o.clock.monotonicMs()
      const fetched = await this.#have(decoded, source)
      // Same state already (entries since were no-ops here): only the files were missing.
      if (decoded.meta.lastIndex !== this.#machine.lastIndex()) await this.#swapIn(decoded)
      this.#fresh.add(decoded.dirName)
      this.#o.logger?.info(
        {
          dir: decoded.dirName,
          index: decoded.meta.lastIndex,
          source,
          fetched,
          durationMs: this.#o.clock.monotonicMs() - startedMs,
        },
        'state machine snapshot installed',
      )
    } finally {
      this.#busy.delete(decoded.dirName)
      this.#installing = false
    }
  }

  retain(descriptors: readonly Uint8Array[]): void {
    this.#needed = new Set(descriptors.map((bytes) => peekDescriptor(bytes).dirName))
    this.#fresh.clear()
    if (this.#cleaning) return
    this.#cleaning = true
    this.#deleteUnneeded()
      .catch((error: unknown) => {
        this.#o.logger?.info({ error: String(error) }, 'snapshot cleanup failed')
      })
      .finally(() => {
        this.#cleaning = false
      })
  }

  /** A peer's snapshot-read (validated here: it comes from the network). */
  readChunk(request: SnapshotChunkRequest): Promise<Buffer> {
    if (snapshotChunkRequestProblem(request) === null) {
      this.#servedAtMs.set(request.dirName, this.#o.clock.monotonicMs())
    }
    return readSnapshotChunk(this.#o.disk, this.#o.snapshotsDir, request)
  }

  /** Makes sure snapshots/<dirName> is complete here; true if it had to be fetched. */
  async #have(decoded: KeyspaceDescriptor, source: NodeId): Promise<boolean> {
    const { disk, snapshotsDir } = this.#o
    const target = `${snapshotsDir}/${decoded.dirName}`
    // A snapshot directory is complete once it has its name (fetches rename it into place).
    if (disk.exists(target)) return false
    const incoming = `${snapshotsDir}/${incomingPrefix}${this.#o.rng.int(2 ** 32).toString(16)}`
    try {
      await fetchSnapshotFiles({
        disk,
        timers: this.#o.timers,
        fetchChunk: this.#o.fetchChunk,
        source,
        dirName: decoded.dirName,
        files: decoded.files,
        intoDir: incoming,
      })
      await disk.rename(incoming, target)
    } catch (error) {
      await disk.remove(incoming)
      throw error
    }
    return true
  }

  /** Opens a new engine on links of the snapshot's files, swaps it in, drops the old one. */
  async #swapIn(decoded: KeyspaceDescriptor): Promise<void> {
    // A checkpoint still running reads the old engine, which this closes.
    await this.#capturing
    const { disk, stateDir, snapshotsDir } = this.#o
    const generation = this.#generation + 1
    const engineDir = liveDirOf(stateDir, generation)
    await disk.remove(engineDir)
    linkSnapshotFiles(disk, `${snapshotsDir}/${decoded.dirName}`, engineDir, decoded.files)
    const engine = await this.#o.openEngineAt(engineDir)
    let old: CheckpointEngine
    try {
      old = this.#machine.adopt(engine, decoded.meta)
    } catch (error) {
      await engine.close()
      throw error
    }
    const oldDir = liveDirOf(stateDir, this.#generation)
    this.#generation = generation
    await old.close()
    await disk.remove(oldDir)
  }

  async #deleteUnneeded(): Promise<void> {
    const { disk, snapshotsDir } = this.#o
    const nowMs = this.#o.clock.monotonicMs()
    for (const name of await disk.list(snapshotsDir)) {
      if (!isSnapshotDirName(name) || this.#needed.has(name) || this.#busy.has(name)) continue
      if (this.#fresh.has(name)) continue
      const servedAtMs = this.#servedAtMs.get(name)
      if (servedAtMs !== undefined && nowMs - servedAtMs < servedKeepMs) continue
      this.#servedAtMs.delete(name)
      await disk.remove(`${snapshotsDir}/${name}`)
      this.#o.logger?.info({ dir: name }, 'state machine snapshot deleted')
    }
  }
}

/** At start: every snapshot directory but `keep`'s, and every unfinished fetch, goes. */
export async function pruneSnapshotsDir(
  disk: Disk,
  snapshotsDir: string,
  keep: string | null,
): Promise<void> {
  disk.mkdirp(snapshotsDir)
  for (const name of await disk.list(snapshotsDir)) {
    if (name === keep) continue
    if (isSnapshotDirName(name) || name.startsWith(incomingPrefix)) {
      await disk.remove(`${snapshotsDir}/${name}`)
    }
  }
}
