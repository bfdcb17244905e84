/* Engine scenarios on a temp dir with the real ports: reads and writes across reopen, hints,
 * torn tails, corruption, clear, group commit (counted through a wrapping Disk), the lock, and
 * small values answered from the keydir's inline cache (disk reads counted the same way).
 * Disk failures and live fsync-policy switches are in durability.test.ts. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk } from '../core/ports.js'
import {
  durable,
  engineOptions,
  tempDirs,
  wrapDiskFiles,
} from '../../test/helpers/engine-fixtures.js'
import { openEngine } from './engine.js'
import type { StorageEvent } from './types.js'

const tempDir = tempDirs('caskade-engine-')
const options = engineOptions

const b = (text: string): Buffer => Buffer.from(text)
const str = (value: Buffer | null): string | null => (value === null ? null : value.toString())
const segmentFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .sort()

describe('engine basics', () => {
  test('put, get, delete and overwrite are visible at once and after reopen', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    engine.put(b('a'), b('1'), 0)
    engine.put(b('b'), b('2'), 0)
    engine.put(b('a'), b('3'), 0)
    assert.equal(engine.delete(b('b')), true)
    assert.equal(engine.delete(b('missing')), false)
    assert.equal(str(engine.get(b('a'))), '3')
    assert.equal(engine.get(b('b')), null)
    assert.equal(engine.keyCount(), 1)
    await durable(engine)
    await engine.close()
    engine = await openEngine(options(dir))
    assert.equal(str(engine.get(b('a'))), '3')
    assert.equal(engine.get(b('b')), null)
    assert.equal(engine.has(b('a')), true)
    assert.equal(engine.keyCount(), 1)
    await engine.close()
  })

  test('expiry and value length are stored, persisted and reported', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    engine.put(b('e'), b('value'), 1_900_000_000_000)
    engine.put(b('p'), b('xy'), 0)
    assert.equal(engine.expiresAtMs(b('e')), 1_900_000_000_000)
    assert.equal(engine.expiresAtMs(b('p')), 0)
    assert.equal(engine.expiresAtMs(b('nope')), null)
    assert.equal(engine.valueLength(b('e')), 5)
    assert.equal(engine.setExpiry(b('p'), 1_800_000_000_000), true)
    assert.equal(engine.setExpiry(b('e'), 0), true)
    assert.equal(engine.setExpiry(b('nope'), 5), false)
    assert.equal(engine.stats().keysWithExpiry, 1)
    await engine.close()
    engine = await openEngine(options(dir))
    assert.equal(engine.expiresAtMs(b('p')), 1_800_000_000_000)
    assert.equal(engine.expiresAtMs(b('e')), 0)
    assert.equal(str(engine.get(b('p'))), 'xy')
    const seen: [string, number][] = []
    engine.forEachExpiring((key, at) => seen.push([key.toString(), at]))
    assert.deepEqual(seen, [['p', 1_800_000_000_000]])
    await engine.close()
  })

  test('binary keys and values, empty values and a large value round-trip', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir, { segmentBytesMax: 64 * 1024 }))
    const binaryKey = Buffer.from([0, 255, 13, 10, 128, 1])
    const big = Buffer.alloc(3 * 1024 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
    engine.put(binaryKey, Buffer.from([9, 0, 9]), 0)
    engine.put(b('empty'), Buffer.alloc(0), 0)
    engine.put(b('big'), big, 0)
    assert.deepEqual(engine.get(binaryKey), Buffer.from([9, 0, 9]))
    assert.ok(engine.get(b('big'))?.equals(big))
    await engine.close()
    engine = await openEngine(options(dir, { segmentBytesMax: 64 * 1024 }))
    assert.deepEqual(engine.get(binaryKey), Buffer.from([9, 0, 9]))
    assert.deepEqual(engine.get(b('empty')), Buffer.alloc(0))
    assert.ok(engine.get(b('big'))?.equals(big))
    const keys = engine
      .scan(0, 100)
      .keys.map((key) => key.toString('latin1'))
      .sort()
    assert.deepEqual(keys, ['big', 'empty', binaryKey.toString('latin1')].sort())
    await engine.close()
  })

  test('returned values are owned by the caller', async () => {
    const engine = await openEngine(options(tempDir()))
    engine.put(b('k'), b('original'), 0)
    const first = engine.get(b('k'))
    assert.ok(first !== null)
    first.fill(0x21)
    assert.equal(str(engine.get(b('k'))), 'original')
    await durable(engine)
    const second = engine.get(b('k'))
    engine.put(b('other'), b('zzzzzzzz'), 0)
    engine.get(b('other'))
    assert.equal(str(second), 'original')
    await engine.close()
  })

  test('scan visits every key once per full pass and randomKey finds keys', async () => {
    const engine = await openEngine(options(tempDir()))
    for (let i = 0; i < 500; i++) engine.put(b(`key:${i}`), b(`v${i}`), 0)
    for (let i = 0; i < 500; i += 3) engine.delete(b(`key:${i}`))
    const seen = new Set<string>()
    let cursor = 0
    do {
      const page = engine.scan(cursor, 37)
      for (const key of page.keys) seen.add(key.toString())
      cursor = page.cursor
    } while (cursor !== 0)
    assert.equal(seen.size, engine.keyCount())
    let state = 1
    const pick = (bound: number): number => {
      state = (state * 48271) % 2147483647
      return state % bound
    }
    for (let i = 0; i < 50; i++) {
      const key = engine.randomKey(pick)
      assert.ok(key !== null && engine.has(key))
    }
    engine.clear()
    assert.equal(engine.randomKey(pick), null)
    await engine.close()
  })

  test('operations after close throw, whenDurable reports the closed engine', async () => {
    const engine = await openEngine(options(tempDir()))
    await engine.close()
    assert.throws(() => engine.get(b('a')), CaskadeError)
    assert.throws(() => engine.put(b('a'), b('b'), 0), CaskadeError)
    await assert.rejects(durable(engine), /closed/)
    await engine.close()
  })

  test('scan ends on a cursor it never handed out; oversized keys are refused', async () => {
    const engine = await openEngine(options(tempDir()))
    engine.put(b('a'), b('1'), 0)
    assert.deepEqual(engine.scan(2 ** 60, 10), { cursor: 0, keys: [] })
    assert.deepEqual(engine.scan(1.5, 10), { cursor: 0, keys: [] })
    assert.deepEqual(engine.scan(12345, 10), { cursor: 0, keys: [] })
    const hugeKey = Buffer.alloc(64 * 1024 * 1024 + 1)
    assert.throws(() => engine.put(hugeKey, b('v'), 0), /key exceeds maximum allowed size/)
    await engine.close()
  })

  test('rejects nonsense options with a CONFIG error', async () => {
    await assert.rejects(
      openEngine(options(tempDir(), { segmentBytesMax: 10 })),
      (error: unknown) => error instanceof CaskadeError && error.code === ErrorCode.Config,
    )
  })
})

describe('rotation, hints and recovery', () => {
  test('rotation writes hints and a clean restart reads only hints', async () => {
    const dir = tempDir()
    const events: StorageEvent[] = []
    const opts = options(dir, { segmentBytesMax: 4096, onEvent: (event) => events.push(event) })
    let engine = await openEngine(opts)
    for (let i = 0; i < 400; i++) engine.put(b(`k${i % 100}`), b(`value-${i}`), 0)
    engine.delete(b('k7'))
    await durable(engine)
    assert.ok(engine.stats().segments > 3)
    await engine.close()
    const dataFiles = segmentFiles(dir)
    const hintFiles = fs.readdirSync(dir).filter((name) => name.endsWith('.hint'))
    assert.equal(hintFiles.length, dataFiles.length)
    events.length = 0
    engine = await openEngine(opts)
    const recovered = events.find((event) => event.kind === 'recovered')
    assert.ok(recovered?.kind === 'recovered')
    assert.equal(recovered.fromHints, dataFiles.length)
    assert.equal(recovered.keys, 99)
    for (let i = 0; i < 100; i++) {
      assert.equal(str(engine.get(b(`k${i}`))), i === 7 ? null : `value-${300 + i}`)
    }
    await engine.close()
  })

  test('a missing or damaged hint falls back to scanning and is rewritten', async () => {
    const dir = tempDir()
    const opts = options(dir, { segmentBytesMax: 2048 })
    let engine = await openEngine(opts)
    for (let i = 0; i < 200; i++) engine.put(b(`k${i % 40}`), b(`v${i}`), 0)
    await engine.close()
    const hints = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.hint'))
      .sort()
    fs.rmSync(path.join(dir, hints[0]!))
    const damaged = path.join(dir, hints[1]!)
    const bytes = fs.readFileSync(damaged)
    bytes[bytes.length - 10]! ^= 0xff
    fs.writeFileSync(damaged, bytes)
    engine = await openEngine(opts)
    for (let i = 160; i < 200; i++) assert.equal(str(engine.get(b(`k${i % 40}`))), `v${i}`)
    await engine.close()
    assert.ok(fs.existsSync(path.join(dir, hints[0]!)))
  })

  test('a crash without close recovers by scanning the active segment', async () => {
    const dir = tempDir()
    const first = await openEngine(options(dir))
    first.put(b('x'), b('1'), 0)
    first.put(b('y'), b('2'), 1_900_000_000_000)
    first.delete(b('x'))
    await durable(first)
    // Simulate a crash: drop the lock without writing the active segment's hint.
    fs.rmSync(path.join(dir, 'LOCK'))
    const second = await openEngine(options(dir))
    assert.equal(second.get(b('x')), null)
    assert.equal(str(second.get(b('y'))), '2')
    assert.equal(second.expiresAtMs(b('y')), 1_900_000_000_000)
    second.put(b('z'), b('3'), 0)
    await second.close()
    const third = await openEngine(options(dir))
    assert.deepEqual([str(third.get(b('y'))), str(third.get(b('z')))], ['2', '3'])
    await third.close()
    void first // abandoned like a crashed process: never closed
  })

  test('a torn tail is truncated with an event and the good records stay', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    engine.put(b('good'), b('kept'), 0)
    engine.put(b('last'), b('will be torn'), 0)
    await durable(engine)
    fs.rmSync(path.join(dir, 'LOCK'))
    const file = path.join(dir, segmentFiles(dir).at(-1)!)
    const size = fs.statSync(file).size
    fs.truncateSync(file, size - 5)
    fs.appendFileSync(file, Buffer.from('garbage'))
    const events: StorageEvent[] = []
    const reopened = await openEngine(options(dir, { onEvent: (event) => events.push(event) }))
    const torn = events.find((event) => event.kind === 'torn-tail-truncated')
    assert.ok(torn?.kind === 'torn-tail-truncated')
    assert.equal(torn.file, file)
    assert.equal(torn.droppedBytes, size + 2 - torn.offset)
    assert.equal(str(reopened.get(b('good'))), 'kept')
    assert.equal(reopened.get(b('last')), null)
    reopened.put(b('after'), b('ok'), 0)
    await reopened.close()
    const again = await openEngine(options(dir))
    assert.equal(str(again.get(b('after'))), 'ok')
    await again.close()
    void engine // abandoned like a crashed process: never closed
  })

  test('corruption in the middle of an old segment fails the open, naming file and offset', async () => {
    const dir = tempDir()
    const opts = options(dir, { segmentBytesMax: 1024 })
    const engine = await openEngine(opts)
    for (let i = 0; i < 60; i++) engine.put(b(`key${i}`), b(`value-${i}-`.padEnd(40, 'x')), 0)
    await engine.close()
    const oldest = segmentFiles(dir)[0]!
    fs.rmSync(path.join(dir, oldest.replace('.data', '.hint')))
    const file = path.join(dir, oldest)
    const bytes = fs.readFileSync(file)
    const flipAt = 200
    bytes[flipAt]! ^= 0x40
    fs.writeFileSync(file, bytes)
    const events: StorageEvent[] = []
    await assert.rejects(
      openEngine({ ...opts, onEvent: (event) => events.push(event) }),
      (error: unknown) =>
        error instanceof CaskadeError &&
        error.code === ErrorCode.Corrupt &&
        error.message.includes(file) &&
        /at offset \d+/.test(error.message),
    )
    const corruption = events.find((event) => event.kind === 'corruption')
    assert.ok(corruption?.kind === 'corruption')
    assert.equal(corruption.file, file)
    assert.ok(corruption.offset <= flipAt && corruption.offset > flipAt - 100)
    // The failed open released the lock.
    assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false)
  })

  test('a corrupted record is reported on read, not returned', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    engine.put(b('k'), b('a value too long to be inline'), 0)
    await durable(engine)
    const file = path.join(dir, segmentFiles(dir)[0]!)
    const fd = fs.openSync(file, 'r+')
    fs.writeSync(fd, Buffer.from('X'), 0, 1, 40)
    fs.closeSync(fd)
    assert.throws(
      () => engine.get(b('k')),
      (error: unknown) => error instanceof CaskadeError && error.code === ErrorCode.Corrupt,
    )
    await engine.close()
  })

  test('clear drops every key, durably, and old segments become reclaimable', async () => {
    const dir = tempDir()
    const opts = options(dir, { segmentBytesMax: 2048 })
    let engine = await openEngine(opts)
    for (let i = 0; i < 100; i++) engine.put(b(`old${i}`), b(`v${i}`), 0)
    await durable(engine)
    engine.clear()
    engine.put(b('new'), b('after clear'), 0)
    assert.equal(engine.keyCount(), 1)
    assert.equal(engine.get(b('old5')), null)
    await durable(engine)
    // Let the first engine's background seals and merge settle: the "crash" below leaves it
    // alive, and two live engines on one directory would race on the same hint files.
    await engine.flushAndSync()
    await waitFor(() => !engine.stats().mergeInProgress)
    // Crash-restart (no close) and clean restart both honour the marker.
    fs.rmSync(path.join(dir, 'LOCK'))
    engine = await openEngine(opts)
    assert.equal(engine.keyCount(), 1)
    assert.equal(str(engine.get(b('new'))), 'after clear')
    const before = engine.stats()
    assert.ok(before.deadBytes > 0)
    assert.equal(engine.startMerge(), true)
    await waitFor(() => !engine.stats().mergeInProgress)
    assert.equal(engine.get(b('old5')), null)
    assert.ok(engine.stats().deadBytes < before.deadBytes)
    await engine.close()
    engine = await openEngine(opts)
    assert.equal(engine.keyCount(), 1)
    await engine.close()
  })
})

describe('group commit', () => {
  test('many puts in one turn make one write and one fdatasync', async () => {
    const dir = tempDir()
    const counting = countingDisk(nodeDisk)
    const engine = await openEngine(options(dir, { disk: counting.disk }))
    counting.reset()
    for (let i = 0; i < 1000; i++) engine.put(b(`k${i}`), b(`v${i}`), 0)
    assert.equal(engine.hasUndurableWrites(), true)
    await durable(engine)
    assert.equal(counting.appends, 1)
    assert.equal(counting.syncs, 1)
    assert.equal(engine.hasUndurableWrites(), false)
    assert.equal(engine.stats().fsyncs >= 1, true)
    await engine.close()
  })

  test('writes during an in-flight fdatasync form the next batch', async () => {
    const dir = tempDir()
    const counting = countingDisk(nodeDisk)
    const engine = await openEngine(options(dir, { disk: counting.disk }))
    counting.reset()
    const order: number[] = []
    engine.put(b('a'), b('1'), 0)
    engine.whenDurable(() => order.push(1))
    await new Promise((resolve) => setImmediate(resolve))
    // The first batch is written and its sync is in flight; these join the second batch.
    for (let i = 0; i < 100; i++) engine.put(b(`b${i}`), b('2'), 0)
    engine.whenDurable(() => order.push(2))
    engine.whenDurable(() => order.push(3))
    await durable(engine)
    assert.deepEqual(order, [1, 2, 3])
    assert.equal(counting.appends, 2)
    assert.equal(counting.syncs, 2)
    await engine.close()
  })

  test('whenDurable fires in registration order, also with nothing pending', async () => {
    for (const fsync of ['always', 'everysec', 'no'] as const) {
      const engine = await openEngine(options(tempDir(), { fsync }))
      const order: string[] = []
      engine.whenDurable(() => order.push('empty'))
      engine.put(b('x'), b('1'), 0)
      engine.whenDurable(() => order.push('x'))
      engine.put(b('y'), b('2'), 0)
      engine.whenDurable(() => order.push('y'))
      await durable(engine)
      assert.deepEqual(order, ['empty', 'x', 'y'], fsync)
      await engine.close()
    }
  })

  test("'everysec' and 'no' acknowledge after the write without an fdatasync", async () => {
    for (const fsync of ['everysec', 'no'] as const) {
      const counting = countingDisk(nodeDisk)
      const engine = await openEngine(options(tempDir(), { fsync, disk: counting.disk }))
      counting.reset()
      engine.put(b('k'), b('v'), 0)
      await durable(engine)
      assert.equal(counting.appends, 1)
      assert.equal(counting.syncs, 0)
      await engine.flushAndSync()
      assert.equal(counting.syncs, 1)
      await engine.close()
    }
  })
})

/** A Disk whose files count readSync calls into `reads.count`. */
function readCountingDisk(reads: { count: number }): Disk {
  return {
    ...nodeDisk,
    openSync(filePath, mode): BlockFile {
      const file = nodeDisk.openSync(filePath, mode)
      const readSync = file.readSync.bind(file)
      file.readSync = (offset, length, into) => {
        reads.count++
        return readSync(offset, length, into)
      }
      return file
    },
  }
}

describe('inline small values', () => {
  test('values of at most 16 bytes are served without a disk read, as owned copies', async () => {
    const dir = tempDir()
    const reads = { count: 0 }
    const engine = await openEngine(options(dir, { disk: readCountingDisk(reads) }))
    const values = ['', '1', '123', 'x'.repeat(16), 'y'.repeat(17), 'z'.repeat(300)]
    values.forEach((value, index) => engine.put(b(`k${index}`), b(value), 0))
    await durable(engine)
    reads.count = 0
    for (const [index, value] of values.entries()) {
      assert.equal(str(engine.get(b(`k${index}`))), value)
    }
    assert.equal(reads.count, 2, 'only the two values above 16 bytes are read from disk')
    const first = engine.get(b('k2'))!
    first.fill(0x41)
    assert.equal(str(engine.get(b('k2'))), '123', "a returned value is the caller's copy")
    await engine.close()
  })

  test('overwrites, deletes with slot reuse and setExpiry never return a stale value', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    engine.put(b('a'), b('small'), 0)
    engine.put(b('a'), b('a value longer than sixteen bytes'), 0)
    assert.equal(str(engine.get(b('a'))), 'a value longer than sixteen bytes')
    engine.put(b('a'), b('tiny'), 0)
    assert.equal(str(engine.get(b('a'))), 'tiny')
    assert.equal(engine.delete(b('a')), true)
    assert.equal(engine.get(b('a')), null)
    engine.put(b('b'), b('b value longer than sixteen bytes'), 0)
    assert.equal(str(engine.get(b('b'))), 'b value longer than sixteen bytes', 'reused slot')
    engine.put(b('c'), b('42'), 0)
    assert.equal(engine.setExpiry(b('c'), 1_900_000_000_000), true)
    assert.equal(str(engine.get(b('c'))), '42')
    assert.equal(engine.expiresAtMs(b('c')), 1_900_000_000_000)
    assert.equal(engine.valueLength(b('c')), 2)
    await engine.close()
  })

  test('after a restart small values are read from disk until rewritten', async () => {
    const dir = tempDir()
    let engine = await openEngine(options(dir))
    engine.put(b('n'), b('7'), 0)
    engine.put(b('m'), b('8'), 0)
    await durable(engine)
    await engine.close()
    const reads = { count: 0 }
    engine = await openEngine(options(dir, { disk: readCountingDisk(reads) }))
    reads.count = 0
    assert.equal(str(engine.get(b('n'))), '7')
    assert.equal(reads.count, 1, 'the hint carries no value: one read')
    engine.put(b('n'), b('9'), 0)
    await durable(engine)
    reads.count = 0
    assert.equal(str(engine.get(b('n'))), '9')
    assert.equal(str(engine.get(b('m'))), '8')
    assert.equal(reads.count, 1, 'only the key not rewritten since the restart is read')
    await engine.close()
  })

  test('merge relocation keeps inline values correct', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir, { segmentBytesMax: 4096 }))
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 40; i++) engine.put(b(`key${i}`), b(`${round}:${i}`), 0)
    }
    await engine.flushAndSync()
    assert.equal(engine.startMerge(), true)
    while (engine.stats().mergeInProgress) await new Promise((resolve) => setImmediate(resolve))
    assert.ok(engine.stats().merges >= 1)
    for (let i = 0; i < 40; i++) assert.equal(str(engine.get(b(`key${i}`))), `19:${i}`)
    await engine.close()
    const reopened = await openEngine(options(dir, { segmentBytesMax: 4096 }))
    for (let i = 0; i < 40; i++) assert.equal(str(reopened.get(b(`key${i}`))), `19:${i}`)
    await reopened.close()
  })
})

describe('lock', () => {
  test('a second open of the same directory is refused while the first holds it', async () => {
    const dir = tempDir()
    const engine = await openEngine(options(dir))
    await assert.rejects(
      openEngine(options(dir)),
      (error: unknown) =>
        error instanceof CaskadeError &&
        error.code === ErrorCode.Locked &&
        error.message.includes(dir) &&
        error.message.includes(String(process.pid)),
    )
    await engine.close()
    const again = await openEngine(options(dir))
    await again.close()
  })

  test('a stale lock left by a dead process is taken over', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999999\n')
    const engine = await openEngine(options(dir))
    assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`)
    await engine.close()
    assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false)
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  assert.ok(condition(), 'condition reached')
}

interface CountingDisk {
  disk: Disk
  appends: number
  syncs: number
  reset(): void
}

function countingDisk(inner: Disk): CountingDisk {
  const counts: CountingDisk = {
    disk: inner,
    appends: 0,
    syncs: 0,
    reset() {
      counts.appends = 0
      counts.syncs = 0
    },
  }
  counts.disk = wrapDiskFiles(inner, (file) => ({
    appendSync: (data) => {
      counts.appends++
      return file.appendSync(data)
    },
    sync: () => {
      counts.syncs++
      return file.sync()
    },
  }))
  return counts
}
