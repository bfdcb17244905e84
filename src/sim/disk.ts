/* The simulated Disk port: files in memory, each remembering what is durable (synced) apart from
 * what was only written. crash() keeps exactly the durable bytes, optionally plus a torn prefix of
 * the unsynced appended tail, as a power loss on a real disk may. Invariant: a synced byte survives
 * every crash; an unsynced one survives only as part of such a prefix. Creating, renaming and
 * removing and linking names, and writeFileAtomic, are durable at once (nodeDisk syncs the
 * directory). A hard link is a second name for the same SimFileData, like an inode. */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk, Rng } from '../core/ports.js'

class SimFileData {
  bytes = Buffer.alloc(64)
  size = 0
  /** Bytes [0, syncedSize) are durable as they are now... */
  syncedSize = 0
  /** ...unless a truncation cut into them before a sync: then this copy is the durable content. */
  durableCopy: Buffer | null = null

  append(data: Uint8Array): number {
    const at = this.size
    if (at + data.length > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(this.bytes.length * 2, at + data.length))
      this.bytes.copy(grown, 0, 0, at)
      this.bytes = grown
    }
    this.bytes.set(data, at)
    this.size = at + data.length
    return at
  }

  sync(): void {
    this.syncedSize = this.size
    this.durableCopy = null
  }

  truncate(length: number): void {
    assert(length >= 0, 'truncate to a non-negative length')
    if (length < this.syncedSize && this.durableCopy === null) {
      this.durableCopy = Buffer.from(this.bytes.subarray(0, this.syncedSize))
    }
    if (length > this.size) this.append(Buffer.alloc(length - this.size))
    this.size = length
  }

  contents(): Buffer {
    return this.bytes.subarray(0, this.size)
  }

  unsyncedBytes(): number {
    return this.durableCopy !== null ? this.size : Math.max(0, this.size - this.syncedSize)
  }

  /** Power loss: back to the durable content, plus `tornBytes` of an appended tail if any. */
  crash(tornBytes: number): void {
    if (this.durableCopy !== null) {
      const durable = this.durableCopy
      this.bytes = Buffer.alloc(Math.max(64, durable.length))
      durable.copy(this.bytes)
      this.size = durable.length
    } else {
      this.size = this.syncedSize + Math.min(tornBytes, this.size - this.syncedSize)
    }
    this.durableCopy = null
    this.syncedSize = this.size
  }
}

class SimBlockFile implements BlockFile {
  readonly path: string
  readonly #disk: SimDisk
  readonly #data: SimFileData
  readonly #writable: boolean
  #closed = false

  constructor(disk: SimDisk, filePath: string, data: SimFileData, writable: boolean) {
    this.#disk = disk
    this.path = filePath
    this.#data = data
    this.#writable = writable
  }

  size(): number {
    return this.#data.size
  }

  appendSync(data: Uint8Array): number {
    this.#check(true)
    return this.#data.append(data)
  }

  append(data: Uint8Array): Promise<number> {
    return this.#disk.async(() => this.appendSync(data))
  }

  syncSync(): void {
    this.#check(false)
    this.#disk.syncCount++
    this.#data.sync()
  }

  sync(): Promise<void> {
    return this.#disk.async(() => this.syncSync())
  }

  readSync(offset: number, length: number, into: Buffer): number {
    this.#check(false)
    const end = Math.min(this.#data.size, offset + length)
    if (end <= offset) return 0
    return this.#data.bytes.copy(into, 0, offset, end)
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.#disk.async(() => {
      const into = Buffer.alloc(Math.max(0, Math.min(length, this.#data.size - offset)))
      const read = this.readSync(offset, length, into)
      return into.subarray(0, read)
    })
  }

  truncate(length: number): Promise<void> {
    return this.#disk.async(() => {
      this.#check(true)
      this.#data.truncate(length)
    })
  }

  close(): Promise<void> {
    return this.#disk.async(() => this.closeSync())
  }

  closeSync(): void {
    this.#closed = true
  }

  #check(write: boolean): void {
    assert(!this.#closed, `${this.path}: file is closed`)
    assert(!write || this.#writable, `${this.path}: opened for reading`)
    assert(this.#disk.files.get(this.path) === this.#data, `${this.path}: file was replaced`)
  }
}

export class SimDisk implements Disk {
  readonly files = new Map<string, SimFileData>()
  readonly #dirs = new Set<string>(['/'])
  readonly #locks = new Set<string>()
  /** Counts async calls (shared by a run's disks): the run loop then lets their continuations
   * run before the next event, so a host awaiting the disk never sees virtual time move. */
  readonly io: { asyncCalls: number }
  syncCount = 0

  constructor(io: { asyncCalls: number } = { asyncCalls: 0 }) {
    this.io = io
  }

  async<T>(work: () => T): Promise<T> {
    this.io.asyncCalls++
    try {
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  openSync(filePath: string, mode: 'read' | 'append'): BlockFile {
    let data = this.files.get(filePath)
    if (data === undefined) {
      if (mode === 'read') throw notFound('open', filePath)
      this.#requireParent(filePath)
      data = new SimFileData()
      this.files.set(filePath, data)
    }
    return new SimBlockFile(this, filePath, data, mode === 'append')
  }

  open(filePath: string, mode: 'read' | 'append'): Promise<BlockFile> {
    return this.async(() => this.openSync(filePath, mode))
  }

  listSync(dir: string): string[] {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`
    if (!this.#dirs.has(trimSlash(dir))) throw notFound('scandir', dir)
    const names = new Set<string>()
    for (const name of [...this.files.keys(), ...this.#dirs]) {
      if (!name.startsWith(prefix)) continue
      const rest = name.slice(prefix.length)
      if (rest.length > 0) names.add(rest.split('/')[0] ?? rest)
    }
    return [...names].sort()
  }

  list(dir: string): Promise<string[]> {
    return this.async(() => this.listSync(dir))
  }

  exists(filePath: string): boolean {
    return this.files.has(filePath) || this.#dirs.has(trimSlash(filePath))
  }

  mkdirp(dir: string): void {
    const parts = trimSlash(dir).split('/')
    for (let i = 1; i <= parts.length; i++) this.#dirs.add(parts.slice(0, i).join('/') || '/')
  }

  remove(filePath: string): Promise<void> {
    return this.async(() => {
      this.files.delete(filePath)
      const prefix = `${trimSlash(filePath)}/`
      for (const name of [...this.files.keys()])
        if (name.startsWith(prefix)) this.files.delete(name)
      this.#dirs.delete(trimSlash(filePath))
      for (const dir of [...this.#dirs]) if (dir.startsWith(prefix)) this.#dirs.delete(dir)
    })
  }

  writeFileAtomic(filePath: string, data: Uint8Array): Promise<void> {
    return this.async(() => this.writeFileAtomicSync(filePath, data))
  }

  /** What writeFileAtomic does, at once (the temp file never shows: the rename is atomic). */
  writeFileAtomicSync(filePath: string, data: Uint8Array): void {
    this.#requireParent(filePath)
    const file = new SimFileData()
    file.append(data)
    file.sync()
    this.files.set(filePath, file)
  }

  readFileSync(filePath: string): Buffer {
    const data = this.files.get(filePath)
    if (data === undefined) throw notFound('open', filePath)
    return Buffer.from(data.contents())
  }

  readFile(filePath: string): Promise<Buffer> {
    return this.async(() => this.readFileSync(filePath))
  }

  rename(from: string, to: string): Promise<void> {
    return this.async(() => this.renameSync(from, to))
  }

  renameSync(from: string, to: string): void {
    const data = this.files.get(from)
    if (data === undefined) throw notFound('rename', from)
    this.#requireParent(to)
    this.files.delete(from)
    this.files.set(to, data)
  }

  link(existingPath: string, newPath: string): void {
    const data = this.files.get(existingPath)
    if (data === undefined) throw notFound('link', existingPath)
    if (this.exists(newPath)) throw alreadyExists('link', newPath)
    this.#requireParent(newPath)
    this.files.set(newPath, data)
  }

  syncDir(dir: string): Promise<void> {
    return this.async(() => {
      if (!this.#dirs.has(trimSlash(dir))) throw notFound('open', dir)
    })
  }

  lockDir(dir: string): { release(): void } {
    if (this.#locks.has(dir)) {
      throw new CaskadeError(ErrorCode.Locked, `data directory ${dir} is locked`)
    }
    this.#locks.add(dir)
    let released = false
    return {
      release: () => {
        if (!released) this.#locks.delete(dir)
        released = true
      },
    }
  }

  /** Bytes written but not synced, over all files (what a crash now may lose). */
  unsyncedBytes(): number {
    let total = 0
    for (const data of new Set(this.files.values())) total += data.unsyncedBytes()
    return total
  }

  /**
   * Power loss: every file falls back to its durable bytes; with `rng`, each file keeps a random
   * prefix of its unsynced appended tail (a torn write). The process's locks are gone.
   */
  crash(rng: Rng | null): void {
    // A linked file has several names but one content: it loses its tail once.
    for (const data of new Set(this.files.values())) {
      const tail = data.size - data.syncedSize
      data.crash(rng !== null && tail > 0 ? rng.int(tail + 1) : 0)
    }
    this.#locks.clear()
  }

  #requireParent(filePath: string): void {
    const parent = filePath.slice(0, Math.max(1, filePath.lastIndexOf('/')))
    if (!this.#dirs.has(parent)) throw notFound('open', filePath)
  }
}

function trimSlash(dir: string): string {
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir
}

/** The error a real fs call gives for a missing path (callers test `code === 'ENOENT'`). */
function notFound(syscall: string, filePath: string): Error {
  const error = new Error(`ENOENT: no such file or directory, ${syscall} '${filePath}'`)
  return Object.assign(error, { code: 'ENOENT', syscall, path: filePath, errno: -2 })
}

function alreadyExists(syscall: string, filePath: string): Error {
  const error = new Error(`EEXIST: file already exists, ${syscall} '${filePath}'`)
  return Object.assign(error, { code: 'EEXIST', syscall, path: filePath, errno: -17 })
}
