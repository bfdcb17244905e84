/* The real Disk port over node:fs. Appends are positional writes at an offset this module tracks
 * (so a failed or partial write is simply overwritten by the retry), reads are pread, sync is
 * fdatasync, and creating or renaming a file syncs its directory so its name survives a crash.
 * Invariant: a BlockFile's appends land in call order at consecutive offsets, and `size()`
 * counts every append that was issued.
 * LOCK (at most one live process holds a data directory): LOCK is created only by link() of a
 * private, fully written "<pid>\n" file, so it never exists torn, and only one link can win. A
 * lock whose pid is dead is removed only by the holder of the claim file LOCK.takeover-<inode>,
 * which is itself such a lock file (a claimant that died is taken over the same way, one level
 * down), and only after re-reading, under the claim, that LOCK still is that inode with a dead
 * pid. A live holder's LOCK is never removed by anyone else, and a dead holder's inode only by
 * its one claimant, so no unlink can hit a fresh lock. Interleavings: A and B both read the dead
 * pid; one claims (the other sees a live claimant and fails LOCKED), removes, links, releases the
 * claim; the other, claiming later, finds LOCK is another inode (or the reused inode with a live
 * pid) and fails LOCKED on the live holder. A newcomer linking LOCK while it is briefly absent
 * wins, and the taker's own link then fails: still one holder. (A pid reused by an unrelated
 * live process reads as alive: the takeover then refuses, the safe side.) */
import fs from 'node:fs'
import path from 'node:path'
import { assert } from '../core/assert.js'
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

/** The fs calls of the LOCK protocol, injectable so tests can replay exact interleavings. */
export interface LockFs {
  readonly pid: number
  isAlive(pid: number): boolean
  /** Writes a private file that no other process looks at. */
  writeFile(filePath: string, text: string): void
  /** link(2): atomic, and fails with EEXIST when `newPath` exists. */
  link(existingPath: string, newPath: string): void
  /** Removes a name; a missing one is fine. */
  unlink(filePath: string): void
  /** The inode id and text of the file now at `filePath`, both from one open file; null if none. */
  read(filePath: string): { id: string; text: string } | null
}

export function nodeLockFs(pid: number = process.pid): LockFs {
  return {
    pid,
    isAlive,
    writeFile: (filePath, text) => fs.writeFileSync(filePath, text, { flag: 'w' }),
    link: (existingPath, newPath) => fs.linkSync(existingPath, newPath),
    unlink: (filePath) => fs.rmSync(filePath, { force: true }),
    read: (filePath) => {
      let fd: number
      try {
        fd = fs.openSync(filePath, 'r')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw error
      }
      try {
        const id = fs.fstatSync(fd, { bigint: true }).ino.toString()
        return { id, text: fs.readFileSync(fd, 'utf8') }
      } finally {
        fs.closeSync(fd)
      }
    },
  }
}

/** Rounds of create / find stale / remove before giving up on a lock others keep churning. */
const lockAttemptsMax = 4
let lockTempSeq = 0

/** Takes dir/LOCK (see the protocol at the top of this file); release() removes it once. */
export function lockDirWith(dir: string, lockFs: LockFs): { release(): void } {
  const lockPath = path.join(dir, lockFileName)
  const id = takeLockFile(lockPath, lockFs, `data directory ${dir}`)
  let released = false
  return {
    release: () => {
      if (released) return
      released = true
      releaseLockFile(lockPath, id, lockFs)
    },
  }
}

/** Creates `filePath` holding our pid, taking it over from a dead holder; returns its inode id. */
function takeLockFile(filePath: string, lockFs: LockFs, what: string): string {
  for (let attempt = 0; attempt < lockAttemptsMax; attempt++) {
    const id = createLockFile(filePath, lockFs)
    if (id !== null) return id
    const found = lockFs.read(filePath)
    if (found === null) continue // released meanwhile: race for it again
    const holder = parsePid(found.text)
    if (holder !== null && lockFs.isAlive(holder)) {
      throw new CaskadeError(
        ErrorCode.Locked,
        `${what} is locked by process ${holder} (${filePath})`,
      )
    }
    removeStaleLockFile(filePath, found.id, lockFs, what)
  }
  throw new CaskadeError(
    ErrorCode.Locked,
    `${what} is being locked by another process (${filePath})`,
  )
}

/** link() of a fully written private file: the lock never exists without its pid. */
function createLockFile(filePath: string, lockFs: LockFs): string | null {
  const temp = `${filePath}.new-${lockFs.pid}-${++lockTempSeq}`
  try {
    lockFs.writeFile(temp, `${lockFs.pid}\n`)
    const written = lockFs.read(temp)
    assert(written !== null, 'a lock temp file we just wrote exists')
    lockFs.link(temp, filePath)
    return written.id
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null
    throw error
  } finally {
    lockFs.unlink(temp)
  }
}

/** Removes `filePath` only if it still is inode `staleId` of a dead holder, under a claim that
 * only one live process can hold (itself a lock file, so a claimant that died is taken over). */
function removeStaleLockFile(filePath: string, staleId: string, lockFs: LockFs, what: string) {
  const claimPath = `${filePath}.takeover-${staleId}`
  const claimId = takeLockFile(claimPath, lockFs, `stale-lock takeover of ${what}`)
  try {
    const now = lockFs.read(filePath)
    if (now === null || now.id !== staleId) return // replaced meanwhile: not ours to remove
    const holder = parsePid(now.text)
    if (holder !== null && lockFs.isAlive(holder)) return // the inode id was reused: live
    lockFs.unlink(filePath)
  } finally {
    releaseLockFile(claimPath, claimId, lockFs)
  }
}

/** Unlinks our own lock file; no one else removes it while we live, so read-then-unlink is safe. */
function releaseLockFile(filePath: string, id: string, lockFs: LockFs): void {
  if (lockFs.read(filePath)?.id === id) lockFs.unlink(filePath)
}

/** A positive pid, or null for anything else (a torn or foreign file counts as dead). */
function parsePid(text: string): number | null {
  const pid = Number.parseInt(text, 10)
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null
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
  remove: (filePath) => fs.promises.rm(filePath, { force: true, recursive: true }),
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
  rename: async (from, to) => {
    await fs.promises.rename(from, to)
    // rename(2) changes directory entries, which only the directories' fsync makes durable.
    syncDirectory(path.dirname(to))
    if (path.dirname(from) !== path.dirname(to)) syncDirectory(path.dirname(from))
  },
  renameSync: (from, to) => {
    fs.renameSync(from, to)
    syncDirectory(path.dirname(to))
    if (path.dirname(from) !== path.dirname(to)) syncDirectory(path.dirname(from))
  },
  link: (existingPath, newPath) => {
    fs.linkSync(existingPath, newPath)
  },
  syncDir: async (dir) => {
    const handle = await fs.promises.open(dir, fs.constants.O_RDONLY)
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
  lockDir: (dir) => lockDirWith(dir, nodeLockFs()),
}
