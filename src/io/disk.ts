/* The real Disk port over node:fs. Appends are positional writes at an offset this module tracks
 * (so a failed or partial write is simply overwritten by the retry), reads are pread, sync is
 * fdatasync, and creating a file syncs its directory so its name survives a crash.
 * Invariant: a BlockFile's appends land in call order at consecutive offsets, and `size()`
 * counts every append that was issued. lockDir keeps one process per data directory. */
import fs from 'node:fs'
import path from 'node:path'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk } from '../core/ports.js'

const lockFileName = 'LOCK'

class NodeBlockFile implements BlockFile {
  readonly path: string
  #fd: number
  /** Offset of the next append: the file's size as far as issued writes go. */
  #end: number
  #closed = false

  constructor(filePath: string, fd: number) {
    this.path = filePath
    this.#fd = fd
    this.#end = fs.fstatSync(fd).size
  }

  size(): number {
    return this.#end
  }

  appendSync(data: Uint8Array): number {
    const at = this.#end
    let written = 0
    while (written < data.length) {
      written += fs.writeSync(this.#fd, data, written, data.length - written, at + written)
    }
    this.#end = at + data.length
    return at
  }

  append(data: Uint8Array): Promise<number> {
    // Reserve the range now so appends issued back to back keep their order in the file.
    const at = this.#end
    this.#end += data.length
    return writeFully(this.#fd, data, at).then(() => at)
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (error) => (error ? reject(error) : resolve()))
    })
  }

  syncSync(): void {
    fs.fdatasyncSync(this.#fd)
  }

  read(offset: number, length: number): Promise<Buffer> {
    const into = Buffer.allocUnsafe(length)
    return new Promise((resolve, reject) => {
      fs.read(this.#fd, into, 0, length, offset, (error, bytesRead) => {
        if (error) reject(error)
        else resolve(into.subarray(0, bytesRead))
      })
    })
  }

  readSync(offset: number, length: number, into: Buffer): number {
    let done = 0
    while (done < length) {
      const read = fs.readSync(this.#fd, into, done, length - done, offset + done)
      if (read === 0) break
      done += read
    }
    return done
  }

  truncate(length: number): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.ftruncate(this.#fd, length, (error) => {
        if (error) return reject(error)
        this.#end = length
        resolve()
      })
    })
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    return new Promise((resolve, reject) => {
      fs.close(this.#fd, (error) => (error ? reject(error) : resolve()))
    })
  }

  closeSync(): void {
    if (this.#closed) return
    this.#closed = true
    fs.closeSync(this.#fd)
  }
}

function writeFully(fd: number, data: Uint8Array, at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (written: number): void => {
      if (written >= data.length) return resolve()
      fs.write(fd, data, written, data.length - written, at + written, (error, count) => {
        if (error) reject(error)
        else step(written + count)
      })
    }
    step(0)
  })
}

function openFlags(mode: 'read' | 'append'): number {
  return mode === 'read' ? fs.constants.O_RDONLY : fs.constants.O_RDWR | fs.constants.O_CREAT
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY)
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Creates dir/LOCK holding our pid; takes over a lock whose process is gone. */
function lockDir(dir: string): { release(): void } {
  const lockPath = path.join(dir, lockFileName)
  const pidText = `${process.pid}\n`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, pidText, { flag: 'wx' })
      return { release: () => releaseLock(lockPath, pidText) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = Number.parseInt(readOrEmpty(lockPath), 10)
    if (Number.isSafeInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new CaskadeError(
        ErrorCode.Locked,
        `data directory ${dir} is locked by process ${holder} (${lockPath})`,
      )
    }
    // Stale (its process died, e.g. SIGKILL) or unreadable: remove it and race for it once more.
    fs.rmSync(lockPath, { force: true })
  }
  throw new CaskadeError(
    ErrorCode.Locked,
    `data directory ${dir} is being locked by another process`,
  )
}

function readOrEmpty(filePath: string): string {
  try {
    return fs.readFileSync(filePath, 'utf8')
  } catch {
    return ''
  }
}

function releaseLock(lockPath: string, pidText: string): void {
  if (readOrEmpty(lockPath) === pidText) fs.rmSync(lockPath, { force: true })
}

export const nodeDisk: Disk = {
  open: (filePath, mode) => Promise.resolve().then(() => nodeDisk.openSync(filePath, mode)),
  openSync: (filePath, mode) => {
    const created = mode === 'append' && !fs.existsSync(filePath)
    const file = new NodeBlockFile(filePath, fs.openSync(filePath, openFlags(mode), 0o644))
    // fdatasync covers a file's data, not its directory entry: make a new file's name durable.
    if (created) syncDirectory(path.dirname(filePath))
    return file
  },
  list: async (dir) => (await fs.promises.readdir(dir)).sort(),
  listSync: (dir) => fs.readdirSync(dir).sort(),
  exists: (filePath) => fs.existsSync(filePath),
  mkdirp: (dir) => {
    fs.mkdirSync(dir, { recursive: true })
  },
  remove: (filePath) => fs.promises.rm(filePath, { force: true }),
  writeFileAtomic: async (filePath, data) => {
    const temp = `${filePath}.tmp`
    const handle = await fs.promises.open(temp, 'w', 0o644)
    try {
      await handle.writeFile(data)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    await fs.promises.rename(temp, filePath)
    syncDirectory(path.dirname(filePath))
  },
  readFile: (filePath) => fs.promises.readFile(filePath),
  readFileSync: (filePath) => fs.readFileSync(filePath),
  rename: (from, to) => fs.promises.rename(from, to),
  lockDir,
}
