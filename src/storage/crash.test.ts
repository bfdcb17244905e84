/* Crash consistency of the engine under fsync 'always': power-loss snapshots taken at random
 * moments (seeded; SEED=n reproduces) must keep every acknowledged write. */
import { test, describe, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { systemClock } from '../io/clock.js'
import { nodeTimers } from '../io/timers.js'
import { createRng } from '../core/rng.js'
import type { BlockFile, Disk, Rng } from '../core/ports.js'
import { openEngine } from './engine.js'
import type { EngineOptions } from './types.js'

// Crash consistency with fsync 'always': at a random moment, snapshot the data directory as a
// power loss would leave it (every file cut to what was fdatasync'ed, plus a random prefix of the
// unsynced bytes, sometimes followed by garbage), reopen the snapshot, and check that every
// acknowledged write is there (or a later write of the same key).

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-crash-'))
  dirs.push(dir)
  return dir
}

/** A Disk that remembers, per path, how many bytes are known durable. */
function trackingDisk(inner: Disk): { disk: Disk; synced: Map<string, number> } {
  const synced = new Map<string, number>()
  const wrap = (file: BlockFile): BlockFile => ({
    path: file.path,
    size: () => file.size(),
    append: (data) => file.append(data),
    appendSync: (data) => file.appendSync(data),
    sync: () => {
      const size = file.size()
      return file.sync().then(() => {
        synced.set(file.path, Math.max(synced.get(file.path) ?? 0, size))
      })
    },
    syncSync: () => {
      file.syncSync()
      synced.set(file.path, file.size())
    },
    read: (offset, length) => file.read(offset, length),
    readSync: (offset, length, into) => file.readSync(offset, length, into),
    truncate: async (length) => {
      await file.truncate(length)
      synced.set(file.path, Math.min(synced.get(file.path) ?? 0, length))
    },
    close: () => file.close(),
    closeSync: () => file.closeSync(),
  })
  const disk: Disk = {
    ...inner,
    openSync: (filePath, mode) => wrap(inner.openSync(filePath, mode)),
    open: async (filePath, mode) => wrap(await inner.open(filePath, mode)),
    writeFileAtomic: (filePath, data) => {
      // The name appears only by the final rename, after the content was synced: whenever a
      // snapshot sees the file, it is whole.
      synced.set(filePath, data.length)
      return inner.writeFileAtomic(filePath, data)
    },
    rename: async (from, to) => {
      await inner.rename(from, to)
      synced.set(to, synced.get(from) ?? 0)
      synced.delete(from)
    },
    remove: async (filePath) => {
      await inner.remove(filePath)
      synced.delete(filePath)
    },
  }
  return { disk, synced }
}

function powerLossSnapshot(dir: string, synced: Map<string, number>, rng: Rng): string {
  const snapshot = tempDir()
  for (const name of fs.readdirSync(dir)) {
    if (name === 'LOCK') continue
    let bytes: Buffer
    try {
      bytes = fs.readFileSync(path.join(dir, name))
    } catch {
      continue // renamed or removed by the engine's thread pool meanwhile: as if not yet created
    }
    const durableBytes = Math.min(synced.get(path.join(dir, name)) ?? 0, bytes.length)
    const keptUnsynced = rng.int(bytes.length - durableBytes + 1)
    const parts = [bytes.subarray(0, durableBytes + keptUnsynced)]
    if (keptUnsynced < bytes.length - durableBytes && rng.int(2) === 0) {
      parts.push(Buffer.from('\u00e9garbage\u0000\u00ff', 'latin1'))
    }
    fs.writeFileSync(path.join(snapshot, name), Buffer.concat(parts))
  }
  return snapshot
}

interface History {
  /** Every write to the key in order; null = delete. */
  versions: (string | null)[]
  /** Index of the newest acknowledged version, -1 if none. */
  acked: number
}

async function crashRun(seed: number): Promise<void> {
  const rng = createRng(seed)
  const dir = tempDir()
  const { disk, synced } = trackingDisk(nodeDisk)
  const options: EngineOptions = {
    dir,
    disk,
    clock: systemClock,
    timers: nodeTimers,
    fsync: 'always',
    segmentBytesMax: 2048 + rng.int(4096),
    mergeDeadRatioMin: 0.3,
    mergeDeadBytesMin: 4096,
  }
  const engine = await openEngine(options)
  const histories = new Map<string, History>()
  const crashAtTurn = 20 + rng.int(200)
  let snapshot = ''
  for (let turn = 0; turn <= crashAtTurn; turn++) {
    const writes = rng.int(12)
    const touched: [History, number][] = []
    for (let i = 0; i < writes; i++) {
      const key = `key${rng.int(50)}`
      const history = histories.get(key) ?? { versions: [], acked: -1 }
      histories.set(key, history)
      if (rng.int(5) === 0) {
        engine.delete(Buffer.from(key))
        history.versions.push(null)
      } else {
        const value = `${key}@${turn}.${i}`.padEnd(20 + rng.int(200), '~')
        engine.put(Buffer.from(key), Buffer.from(value), 0)
        history.versions.push(value)
      }
      touched.push([history, history.versions.length - 1])
    }
    engine.whenDurable((error) => {
      // Only acknowledgements the client saw before the power went out count.
      if (error || snapshot !== '') return
      for (const [history, index] of touched) history.acked = Math.max(history.acked, index)
    })
    if (turn === crashAtTurn) snapshot = powerLossSnapshot(dir, synced, rng)
    await new Promise((resolve) => setTimeout(resolve, rng.int(2)))
  }
  const recovered = await openEngine({ ...options, disk: nodeDisk, dir: snapshot })
  for (const [key, history] of histories) {
    const value = recovered.get(Buffer.from(key))?.toString() ?? null
    const from = Math.max(history.acked, 0)
    const allowed = history.versions.slice(from)
    if (history.acked < 0) allowed.push(null)
    assert.ok(
      allowed.includes(value),
      `seed ${seed}: ${key} recovered as ${value}, acked version ${history.acked} of ` +
        JSON.stringify(history.versions),
    )
  }
  await recovered.close()
  await engine.close()
}

describe('crash consistency', () => {
  test('every acknowledged write survives a power loss at a random moment', async () => {
    const base = Number(process.env['SEED'] ?? 1)
    for (let run = 0; run < 6; run++) await crashRun(base + run)
  })
})
