/* The durable Raft log of one replica over the Disk port (synchronous writes; the per-Ready
 * fdatasync may run async, the host taking no new Ready until it is done): a generation file of
 * CRC-framed records (base, hard state, entries) and snapshot files. A new generation is written
 * whole, sealed and synced before the old files are deleted, so recovery always finds one sealed
 * generation; opening rewrites the log into a fresh generation, which also cuts a torn tail off.
 * Term and vote also live in raft-hardstate.bin (hard-state-file.ts), replaced atomically on every
 * change before append() returns; recovery takes the newer of it and the records. */
import { assert } from '../core/assert.js'
import type { BlockFile, Disk } from '../core/ports.js'
import { emptyHardState } from '../raft/index.js'
import type { Entry, HardState, Membership, Snapshot } from '../raft/index.js'
import {
  hardStateTempPattern,
  mergeHardState,
  readHardStateFile,
  writeHardStateFile,
  type TermVote,
} from './hard-state-file.js'
import { encodeRecord, scanRecords, type LogRecord } from './log-codec.js'
import { decodeSnapshotFile, encodeSnapshotFile } from './snapshot-codec.js'

/** What recovery found: the log after `baseIndex`, the newest intact snapshot, the hard state. */
export interface RecoveredLog {
  readonly hardState: HardState
  readonly snapshot: Snapshot | null
  readonly baseIndex: number
  readonly baseTerm: number
  /** The membership as of the snapshot (or the bootstrap membership without one). */
  readonly membership: Membership
  /** Entries baseIndex + 1 .. last, dense. */
  readonly entries: readonly Entry[]
}

const generationPattern = /^raft-log-(\d+)\.bin$/
const snapshotPattern = /^raft-snap-(\d+)-(\d+)\.bin$/
const pad = (n: number, width: number): string => String(n).padStart(width, '0')

export class LogStore {
  readonly #disk: Disk
  readonly #dir: string
  #file: BlockFile
  #generation: number
  /** The snapshot file the current generation relies on (null: none yet). */
  #snapshotPath: string | null
  /** The term and vote raft-hardstate.bin holds (durably). */
  #termVote: TermVote = { term: 0, vote: 0 }
  /** Numbers this process's hard-state temp files (with the generation: names never reused). */
  #tempSeq = 0

  private constructor(parts: {
    disk: Disk
    dir: string
    generation: number
    file: BlockFile
    snapshotPath: string | null
  }) {
    this.#disk = parts.disk
    this.#dir = parts.dir
    this.#generation = parts.generation
    this.#file = parts.file
    this.#snapshotPath = parts.snapshotPath
  }

  /** raft-hardstate.bin replacements so far (tests: one per term/vote change, none per append). */
  get hardStateWrites(): number {
    return this.#hardStateWrites
  }

  #hardStateWrites = 0

  /** Recovers `dir` (or starts it with `bootstrap`) into a fresh generation. */
  static open(
    disk: Disk,
    dir: string,
    bootstrap: Membership,
  ): { store: LogStore; recovered: RecoveredLog } {
    disk.mkdirp(dir)
    const names = disk.listSync(dir)
    const found = findSnapshot(disk, dir, names)
    const generations = numbered(names, generationPattern)
    const replayed = replayNewestSealed(disk, dir, generations)
    assert(replayed !== null || generations.length === 0, `no sealed Raft log in ${dir}`)
    const hardStateFile = readHardStateFile(disk, dir)
    const log = replayed ?? { ...freshLog, membership: bootstrap }
    const floorTerm = Math.max(
      log.baseTerm,
      log.entries.at(-1)?.term ?? 0,
      found?.snapshot.term ?? 0,
    )
    const merged = {
      ...log,
      hardState: mergeHardState(log.hardState, hardStateFile, floorTerm, dir),
    }
    const recovered = reconcile(merged, found?.snapshot ?? null)
    const generation = newestGeneration(names) + 1
    const file = writeGeneration(disk, generationPath(dir, generation), recovered)
    const snapshotPath = found === null ? null : `${dir}/${found.name}`
    const store = new LogStore({ disk, dir, generation, file, snapshotPath })
    if (hardStateFile.kind === 'found') store.#termVote = hardStateFile.termVote
    // A corrupt file is replaced even when it agrees by chance with nothing newer.
    if (hardStateFile.kind === 'corrupt') store.#termVote = { term: -1, vote: -1 }
    store.#persistTermVote(recovered.hardState)
    store.#remove(
      names
        .map((name) => `${dir}/${name}`)
        .filter((path) => path !== snapshotPath && path !== file.path)
        .filter((path) => isObsoleteName(basename(path))),
    )
    return { store, recovered }
  }

  /** Replaces raft-hardstate.bin when term or vote changed; durable before this returns. */
  #persistTermVote(hardState: HardState): void {
    const { term, vote } = hardState
    if (term === this.#termVote.term && vote === this.#termVote.vote) return
    const tempName = `raft-hardstate-${pad(this.#generation, 12)}-${++this.#tempSeq}.tmp`
    writeHardStateFile(this.#disk, this.#dir, tempName, { term, vote })
    this.#termVote = { term, vote }
    this.#hardStateWrites++
  }

  /** Appends the hard state and entries (entries may replace a suffix); durable after sync(). */
  append(hardState: HardState | null, entries: readonly Entry[]): void {
    // Elections only: the file is durable before the log's sync, so before any vote leaves.
    if (hardState !== null) this.#persistTermVote(hardState)
    const records = entries.map((entry) => encodeRecord({ type: 'entry', entry }))
    if (hardState !== null) records.push(encodeRecord({ type: 'hard', hardState }))
    // One write for the whole Ready: a group commit of many entries costs one syscall.
    if (records.length === 1) this.#file.appendSync(records[0] as Uint8Array)
    else if (records.length > 1) this.#file.appendSync(Buffer.concat(records))
  }

  sync(): void {
    this.#file.syncSync()
  }

  /** fdatasync off the caller's thread (libuv's pool on a real disk): durable once resolved. */
  syncAsync(): Promise<void> {
    return this.#file.sync()
  }

  /**
   * Makes `snapshot` durable and starts a generation whose log begins after (baseIndex,
   * baseTerm) with `entries`; then deletes the previous generation and snapshot.
   */
  saveSnapshot(
    snapshot: Snapshot,
    log: { baseIndex: number; baseTerm: number; hardState: HardState; entries: readonly Entry[] },
  ): void {
    assert(log.baseIndex <= snapshot.index, 'the log base is covered by the snapshot')
    this.#persistTermVote(log.hardState)
    const generation = this.#generation + 1
    const snapshotPath = `${this.#dir}/raft-snap-${pad(snapshot.index, 16)}-${pad(generation, 12)}.bin`
    const snapshotFile = this.#disk.openSync(snapshotPath, 'append')
    assert(snapshotFile.size() === 0, 'a snapshot file is new')
    snapshotFile.appendSync(encodeSnapshotFile(snapshot))
    snapshotFile.syncSync()
    snapshotFile.closeSync()
    const previous = this.#file
    this.#file = writeGeneration(this.#disk, generationPath(this.#dir, generation), {
      ...log,
      snapshot,
      membership: snapshot.membership,
    })
    this.#generation = generation
    previous.closeSync()
    const obsolete = [previous.path]
    if (this.#snapshotPath !== null) obsolete.push(this.#snapshotPath)
    this.#snapshotPath = snapshotPath
    this.#remove(obsolete)
  }

  /** Syncs what was appended (a clean shutdown leaves nothing unsynced) and closes the file. */
  close(): void {
    this.#file.syncSync()
    this.#file.closeSync()
  }

  #remove(paths: readonly string[]): void {
    // Best effort: a file left behind is obsolete by its number and removed at the next open.
    for (const path of paths) void this.#disk.remove(path).catch(() => undefined)
  }
}

/**
 * The snapshot LogStore.open(disk, dir) will recover (the newest intact one), read without
 * changing any file (the directory is created if missing, as open() does): the caller opens a
 * file-snapshot state machine from it before the host starts. Null when `dir` holds none.
 */
export function readLatestSnapshot(disk: Disk, dir: string): Snapshot | null {
  disk.mkdirp(dir)
  return findSnapshot(disk, dir, disk.listSync(dir))?.snapshot ?? null
}

function generationPath(dir: string, generation: number): string {
  return `${dir}/raft-log-${pad(generation, 12)}.bin`
}

/** Files open() removes once a new generation stands: old logs, snapshots and temp files. */
function isObsoleteName(name: string): boolean {
  return (
    generationPattern.test(name) || snapshotPattern.test(name) || hardStateTempPattern.test(name)
  )
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Writes a whole generation (base, hard state, entries) and seals and syncs it. */
function writeGeneration(disk: Disk, path: string, log: RecoveredLog): BlockFile {
  const file = disk.openSync(path, 'append')
  assert(file.size() === 0, 'a log generation file is new')
  const base: LogRecord = {
    type: 'base',
    index: log.baseIndex,
    term: log.baseTerm,
    membership: log.membership,
  }
  file.appendSync(encodeRecord(base))
  file.appendSync(encodeRecord({ type: 'hard', hardState: log.hardState }))
  // One write for the whole tail (thousands of entries): a syscall each stalled the loop.
  const tail = log.entries.map((entry) => encodeRecord({ type: 'entry', entry }))
  tail.push(encodeRecord({ type: 'sealed' }))
  file.appendSync(Buffer.concat(tail))
  file.syncSync()
  return file
}

const freshLog = {
  hardState: emptyHardState,
  snapshot: null,
  baseIndex: 0,
  baseTerm: 0,
  entries: [],
} as const

/** Names matching `pattern`, by their first number, newest first. */
function numbered(names: readonly string[], pattern: RegExp): { name: string; number: number }[] {
  const matches: { name: string; number: number }[] = []
  for (const name of names) {
    const match = pattern.exec(name)
    if (match?.[1] !== undefined) matches.push({ name, number: Number(match[1]) })
  }
  return matches.sort((a, b) => b.number - a.number || (a.name < b.name ? 1 : -1))
}

/** The highest generation any file names (a snapshot names the generation it was made for). */
function newestGeneration(names: readonly string[]): number {
  let newest = 0
  for (const name of names) {
    const number = generationPattern.exec(name)?.[1] ?? snapshotPattern.exec(name)?.[2]
    if (number !== undefined) newest = Math.max(newest, Number(number))
  }
  return newest
}

function findSnapshot(
  disk: Disk,
  dir: string,
  names: readonly string[],
): { name: string; snapshot: Snapshot } | null {
  for (const { name } of numbered(names, snapshotPattern)) {
    const snapshot = decodeSnapshotFile(disk.readFileSync(`${dir}/${name}`))
    if (snapshot !== null) return { name, snapshot }
  }
  return null
}

/** Replays the newest generation that was sealed (older or unsealed ones are leftovers). */
function replayNewestSealed(
  disk: Disk,
  dir: string,
  generations: readonly { name: string }[],
): RecoveredLog | null {
  for (const { name } of generations) {
    const { records } = scanRecords(disk.readFileSync(`${dir}/${name}`))
    const first = records[0]
    if (first?.type !== 'base' || !records.some((r) => r.type === 'sealed')) continue
    return replay(first, records)
  }
  return null
}

function replay(base: LogRecord & { type: 'base' }, records: readonly LogRecord[]): RecoveredLog {
  let hardState = emptyHardState
  const entries: Entry[] = []
  for (const record of records) {
    if (record.type === 'hard') hardState = record.hardState
    if (record.type !== 'entry') continue
    const position = record.entry.index - base.index - 1
    assert(position >= 0 && position <= entries.length, 'log records leave no gap')
    entries.length = position
    entries.push(record.entry)
  }
  return {
    hardState,
    snapshot: null,
    baseIndex: base.index,
    baseTerm: base.term,
    membership: base.membership,
    entries,
  }
}

/**
 * Fits the log to the snapshot: a log that does not reach the snapshot or disagrees at its index
 * is replaced by it (a crash during an install); commit covers the snapshot; the term is at
 * least the snapshot's, so a new leader's entries never carry an older term than the log's.
 */
function reconcile(log: RecoveredLog, snapshot: Snapshot | null): RecoveredLog {
  if (snapshot === null) return log
  assert(log.baseIndex <= snapshot.index, 'the log starts within the snapshot')
  const lastIndex = log.baseIndex + log.entries.length
  const termAt = (index: number): number | undefined =>
    index === log.baseIndex ? log.baseTerm : log.entries[index - log.baseIndex - 1]?.term
  const matches = snapshot.index <= lastIndex && termAt(snapshot.index) === snapshot.term
  const base = matches
    ? log
    : { ...log, baseIndex: snapshot.index, baseTerm: snapshot.term, entries: [] }
  const last = base.baseIndex + base.entries.length
  const { term, vote, commit } = log.hardState
  const hardState: HardState = {
    term: Math.max(term, snapshot.term),
    vote: term >= snapshot.term ? vote : 0,
    commit: Math.min(Math.max(commit, snapshot.index), last),
  }
  return { ...base, hardState, snapshot, membership: snapshot.membership }
}
