/* Shared fixtures for the storage engine's tests: temp data dirs removed after each test, engine
 * options on the real ports, and a promise for "everything appended so far is durable". They live
 * here, not in src/storage/, because that folder is fenced off from node:fs and the real ports. */
import { afterEach } from 'node:test'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nodeDisk } from '../../src/io/disk.js'
import { systemClock } from '../../src/io/clock.js'
import { nodeTimers } from '../../src/io/timers.js'
import type { BlockFile, Disk } from '../../src/core/ports.js'
import type { EngineOptions, StorageEngine } from '../../src/storage/types.js'

/** Returns a maker of temp dirs named `prefix…`, each removed after the test that made it. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    dirs.push(dir)
    return dir
  }
}

/** Options on the real ports: fsync always, 1 MiB segments, merge only when asked. */
export function engineOptions(dir: string, overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    dir,
    disk: nodeDisk,
    clock: systemClock,
    timers: nodeTimers,
    fsync: 'always',
    segmentBytesMax: 1024 * 1024,
    mergeDeadRatioMin: 0.5,
    mergeDeadBytesMin: 1024 * 1024 * 1024,
    ...overrides,
  }
}

export const durable = (engine: StorageEngine): Promise<void> =>
  new Promise((resolve, reject) =>
    engine.whenDurable((error) => (error ? reject(error) : resolve())),
  )

/**
 * A Disk whose every opened file forwards to the real one except for the methods `override`
 * returns (fault injection, counting, tracking synced bytes).
 */
export function wrapDiskFiles(
  inner: Disk,
  override: (file: BlockFile) => Partial<BlockFile>,
): Disk {
  return forwardingDisk(inner, (file) => ({ ...forwardFile(file), ...override(file) }))
}

/** Forwards every BlockFile call to `file`, one method at a time: a spread would miss the
 * methods of a class instance (they live on its prototype). */
export function forwardFile(file: BlockFile): BlockFile {
  return {
    path: file.path,
    size: () => file.size(),
    append: (data) => file.append(data),
    appendSync: (data) => file.appendSync(data),
    sync: () => file.sync(),
    syncSync: () => file.syncSync(),
    read: (offset, length) => file.read(offset, length),
    readSync: (offset, length, into) => file.readSync(offset, length, into),
    truncate: (length) => file.truncate(length),
    close: () => file.close(),
    closeSync: () => file.closeSync(),
  }
}

/** Forwards every Disk call to `inner` (a class instance too), files wrapped by `wrap`. */
export function forwardingDisk(inner: Disk, wrap: (file: BlockFile) => BlockFile): Disk {
  return {
    open: async (filePath, mode) => wrap(await inner.open(filePath, mode)),
    openSync: (filePath, mode) => wrap(inner.openSync(filePath, mode)),
    list: (dir) => inner.list(dir),
    listSync: (dir) => inner.listSync(dir),
    exists: (filePath) => inner.exists(filePath),
    mkdirp: (dir) => inner.mkdirp(dir),
    remove: (filePath) => inner.remove(filePath),
    writeFileAtomic: (filePath, data) => inner.writeFileAtomic(filePath, data),
    readFile: (filePath) => inner.readFile(filePath),
    readFileSync: (filePath) => inner.readFileSync(filePath),
    rename: (from, to) => inner.rename(from, to),
    renameSync: (from, to) => inner.renameSync(from, to),
    link: (existingPath, newPath) => inner.link(existingPath, newPath),
    syncDir: (dir) => inner.syncDir(dir),
    lockDir: (dir) => inner.lockDir(dir),
  }
}
