/* Crash consistency of the engine: power-loss snapshots taken at random moments under 'always'
 * (seeded; SEED=n reproduces) must keep every acknowledged write and show every atomic group (some
 * turns' writes, plus fresh witness keys) whole or not at all; targeted scenarios pin orderings
 * (a hint durable before its data, a merge deleting what an unsynced write made dead). */
import { test, describe, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { systemClock } from '../io/clock.js'
import { nodeTimers } from '../io/timers.js'
import { createRng } from '../core/rng.js'
import type { Disk, Rng } from '../core/ports.js'
import { wrapDiskFiles } from '../../test/helpers/engine-fixtures.js'
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
  const wrapped = wrapDiskFiles(inner, (file) => ({
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
    truncate: async (length) => {
      await file.truncate(length)
      synced.set(file.path, Math.min(synced.get(file.path) ?? 0, length))
    },
  }))
  const disk: Disk = {
    ...wrapped,
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
  /** Atomic groups: their witness keys (written once, by the group only) and values. */
  const groups: Array<{ witnesses: Map<string, string>; acked: boolean }> = []
  const crashAtTurn = 20 + rng.int(200)
  let snapshot = ''
  for (let turn = 0; turn <= crashAtTurn; turn++) {
    const writes = rng.int(12)
    const touched: [History, number][] = []
    const group = rng.int(3) === 0 ? { witnesses: new Map<string, string>(), acked: false } : null
    if (group !== null) {
      engine.beginGroup()
      groups.push(group)
      for (let j = rng.int(4); j >= 0; j--) {
        const key = `group${turn}:${j}`
        group.witnesses.set(key, `${key}`.padEnd(20 + rng.int(300), '#'))
        engine.put(Buffer.from(key), Buffer.from(group.witnesses.get(key) as string), 0)
      }
    }
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
    if (group !== null) engine.endGroup()
    engine.whenDurable((error) => {
      // Only acknowledgements the client saw before the power went out count.
      if (error || snapshot !== '') return
      for (const [history, index] of touched) history.acked = Math.max(history.acked, index)
      if (group !== null) group.acked = true
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
  for (const group of groups) {
    const present = [...group.witnesses].filter(
      ([key, value]) => recovered.get(Buffer.from(key))?.toString() === value,
    ).length
    const keys = [...group.witnesses.keys()].join(' ')
    assert.ok(present === 0 || present === group.witnesses.size, `seed ${seed}: part of ${keys}`)
    if (group.acked) assert.equal(present, group.witnesses.size, `seed ${seed}: acked ${keys}`)
  }
  await recovered.close()
  await engine.close()
}

/** Copies every file of `dir` (not LOCK) as a process crash leaves it: the page cache intact. */
function processCrashCopy(dir: string): string {
  const copy = tempDir()
  for (const name of fs.readdirSync(dir)) {
    if (name !== 'LOCK') fs.copyFileSync(path.join(dir, name), path.join(copy, name))
  }
  return copy
}

/** A power loss that keeps exactly the synced bytes, except files listed in `cutAt`. */
function exactPowerLoss(dir: string, synced: Map<string, number>, cutAt: Map<string, number>) {
  const snapshot = tempDir()
  for (const name of fs.readdirSync(dir)) {
    if (name === 'LOCK') continue
    const bytes = fs.readFileSync(path.join(dir, name))
    const kept = cutAt.get(name) ?? synced.get(path.join(dir, name)) ?? 0
    fs.writeFileSync(path.join(snapshot, name), bytes.subarray(0, kept))
  }
  return snapshot
}

function engineOptions(dir: string, disk: Disk, overrides: Partial<EngineOptions> = {}) {
  const options: EngineOptions = {
    dir,
    disk,
    clock: systemClock,
    timers: nodeTimers,
    fsync: 'always',
    segmentBytesMax: 1024,
    mergeDeadRatioMin: 0.5,
    mergeDeadBytesMin: 1024 * 1024 * 1024,
    ...overrides,
  }
  return options
}

describe('crash consistency', () => {
  test('every acknowledged write survives a power loss at a random moment', async () => {
    const base = Number(process.env['SEED'] ?? 1)
    for (let run = 0; run < 6; run++) await crashRun(base + run)
  })
})

describe('crash consistency: targeted scenarios', () => {
  test('a segment recovery hints at open is synced before its hint', async () => {
    // A process crash between a rotation and its seal leaves a rotated segment without a hint,
    // its bytes only in the page cache. The next open hints it: if that hint were durable
    // before the data, a power loss would leave a hint that no longer matches, an unhinted
    // older segment with a torn tail, and (once a newer segment is sealed) an open that fails.
    const first = tempDir()
    const crashed = await openEngine(engineOptions(first, nodeDisk, { fsync: 'no' }))
    const value = 'v'.repeat(100)
    for (let i = 0; i < 20; i++) crashed.put(Buffer.from(`key${i}`), Buffer.from(value), 0)
    const dir = processCrashCopy(first) // same turn: no seal has run yet
    assert.ok(fs.readdirSync(dir).filter((name) => name.endsWith('.data')).length >= 2)
    assert.ok(!fs.readdirSync(dir).some((name) => name.endsWith('.hint')))
    const { disk, synced } = trackingDisk(nodeDisk)
    const second = await openEngine(engineOptions(dir, disk))
    for (let i = 20; i < 40; i++) second.put(Buffer.from(`key${i}`), Buffer.from(value), 0)
    await second.flushAndSync() // every segment but the active one now sealed and hinted
    const oldest = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.data'))
      .sort()[0]!
    const snapshot = exactPowerLoss(dir, synced, new Map())
    const served = Array.from({ length: 40 }, (_, i) => `key${i}`).filter((key) =>
      second.has(Buffer.from(key)),
    )
    assert.ok(served.includes('key0') && served.includes('key39'))
    const recovered = await openEngine(engineOptions(snapshot, nodeDisk))
    for (const key of served) {
      assert.equal(recovered.get(Buffer.from(key))?.toString(), value, `${key} (${oldest})`)
    }
    await recovered.close()
    await second.close()
    await crashed.close()
  })
})

describe('crash consistency: merge against writes not yet synced', () => {
  test('a merge never makes an overwrite that a power loss takes back delete the old value', async () => {
    // 'everysec': k=v1 is synced and sealed; k=v2 is written but not yet synced. A merge sees
    // v1 dead (the keydir points at v2) and drops it. If the merge's deletion of the old segment
    // became durable before v2, a power loss would leave neither: k must read v1 or v2.
    const dir = tempDir()
    const { disk, synced } = trackingDisk(nodeDisk)
    const engine = await openEngine(engineOptions(dir, disk, { fsync: 'everysec' }))
    const k = Buffer.from('k')
    engine.put(k, Buffer.from('v1'), 0)
    for (let i = 0; i < 20; i++) engine.put(Buffer.from(`filler${i}`), Buffer.alloc(100, 'f'), 0)
    await engine.flushAndSync() // v1's segment is synced and sealed
    engine.put(k, Buffer.from('v2'), 0)
    await new Promise((resolve) => setTimeout(resolve, 1)) // v2 written, its fdatasync 1 s away
    assert.equal(engine.startMerge(), true)
    while (engine.stats().mergeInProgress) await new Promise((resolve) => setTimeout(resolve, 1))
    assert.equal(engine.stats().merges, 1)
    const snapshot = exactPowerLoss(dir, synced, new Map())
    const recovered = await openEngine(engineOptions(snapshot, nodeDisk))
    assert.ok(['v1', 'v2'].includes(String(recovered.get(k))), `k is ${String(recovered.get(k))}`)
    for (let i = 0; i < 20; i++) assert.ok(recovered.has(Buffer.from(`filler${i}`)))
    await recovered.close()
    await engine.close()
  })
})
