/* Durability scenarios on a temp dir through a Disk wrapper that fails or holds writes and
 * fdatasyncs on demand: live fsync-policy switches (CONFIG SET appendfsync) and the failed state
 * a disk error latches (fsyncgate), versus the retried full-disk write. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { nodeTimers } from '../io/timers.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { BlockFile, Disk, Timers } from '../core/ports.js'
import {
  durable,
  engineOptions,
  tempDirs,
  wrapDiskFiles,
} from '../../test/helpers/engine-fixtures.js'
import { openEngine } from './engine.js'
import type { StorageEngine, StorageEvent } from './types.js'

const tempDir = tempDirs('caskade-durability-')
const options = engineOptions

const b = (text: string): Buffer => Buffer.from(text)
const str = (value: Buffer | null): string | null => (value === null ? null : value.toString())
/** Lets deferred flushes and settled fdatasyncs run (a few event-loop turns). */
async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

const ioText = 'Errors writing to the AOF file: Input/output error'
const fullText = 'Errors writing to the AOF file: No space left on device'
const isMisconf =
  (message: string) =>
  (error: unknown): boolean =>
    error instanceof CaskadeError && error.code === ErrorCode.MisConf && error.message === message

function ioErrors(events: StorageEvent[]): StorageEvent[] {
  return events.filter((event) => event.kind === 'io-error')
}

/** Every write-side call the engine may make once latched, each refused with `message`. */
function assertWritesRefused(engine: StorageEngine, message: string): void {
  assert.throws(() => engine.put(b('new'), b('v'), 0), isMisconf(message))
  assert.throws(() => engine.delete(b('a')), isMisconf(message))
  assert.throws(() => engine.delete(b('absent')), isMisconf(message))
  assert.throws(() => engine.setExpiry(b('a'), 1_900_000_000_000), isMisconf(message))
  assert.throws(() => engine.setExpiry(b('absent'), 0), isMisconf(message))
  assert.throws(() => engine.clear(), isMisconf(message))
}

describe('setFsyncPolicy', () => {
  test("leaving 'always' releases written batches without the fdatasync in flight", async () => {
    const faulty = faultyDisk(nodeDisk)
    const engine = await openEngine(options(tempDir(), { disk: faulty.disk }))
    faulty.holdSyncs = true
    const order: string[] = []
    engine.put(b('a'), b('1'), 0)
    engine.whenDurable((error) => order.push(error ? 'a failed' : 'a'))
    await turns()
    assert.equal(faulty.heldSyncs(), 1, "the first batch's fdatasync is in flight")
    engine.put(b('b'), b('2'), 0)
    engine.whenDurable((error) => order.push(error ? 'b failed' : 'b'))
    await turns()
    assert.deepEqual(order, [], "under 'always' both wait for an fdatasync")
    engine.setFsyncPolicy('everysec')
    await turns()
    assert.deepEqual(order, ['a', 'b'])
    assert.equal(faulty.heldSyncs(), 1, 'released without waiting for the held fdatasync')
    assert.equal(engine.hasUndurableWrites(), false)
    faulty.releaseSyncs()
    await engine.close()
  })

  test("entering 'always' makes the next acknowledgement wait for an fdatasync", async () => {
    const faulty = faultyDisk(nodeDisk)
    const dir = tempDir()
    const engine = await openEngine(options(dir, { disk: faulty.disk, fsync: 'no' }))
    engine.put(b('x'), b('1'), 0)
    await durable(engine)
    assert.equal(faulty.syncs, 0)
    engine.setFsyncPolicy('always')
    assert.equal(engine.hasUndurableWrites(), true, "x is written but not fdatasync'ed")
    faulty.holdSyncs = true
    engine.put(b('y'), b('2'), 0)
    let acknowledged = false
    engine.whenDurable((error) => {
      assert.equal(error, undefined)
      acknowledged = true
    })
    await turns()
    assert.equal(acknowledged, false)
    assert.equal(faulty.heldSyncs(), 1)
    faulty.releaseSyncs()
    await durable(engine)
    assert.equal(acknowledged, true)
    assert.equal(faulty.syncs, 1, 'one fdatasync covered x and y')
    assert.equal(engine.hasUndurableWrites(), false)
    await engine.close()
  })

  test("the 1 s background fdatasync runs only under 'everysec'", async () => {
    const faulty = faultyDisk(nodeDisk)
    const timers = manualIntervals()
    const engine = await openEngine(
      options(tempDir(), { disk: faulty.disk, timers: timers.timers, fsync: 'no' }),
    )
    assert.equal(timers.active(), 0)
    engine.setFsyncPolicy('everysec')
    assert.equal(timers.active(), 1)
    engine.put(b('k'), b('v'), 0)
    await durable(engine)
    assert.equal(faulty.syncs, 0, "'everysec' acknowledges after the write")
    timers.fireAll()
    await waitFor(() => faulty.syncs === 1)
    assert.equal(engine.hasUndurableWrites(), false)
    engine.setFsyncPolicy('always')
    assert.equal(timers.active(), 0)
    engine.setFsyncPolicy('everysec')
    engine.setFsyncPolicy('everysec')
    assert.equal(timers.active(), 1, 'setting the same policy again starts no second timer')
    await engine.close()
    assert.equal(timers.active(), 0)
  })
})

describe('disk failures', () => {
  test('a failed fdatasync latches: MISCONF, waiters get it, reads go on, one event', async () => {
    const dir = tempDir()
    const faulty = faultyDisk(nodeDisk)
    const events: StorageEvent[] = []
    const engine = await openEngine(
      options(dir, { disk: faulty.disk, onEvent: (event) => events.push(event) }),
    )
    engine.put(b('a'), b('1'), 0)
    await durable(engine)
    faulty.failSyncs = { count: 1, code: 'EIO' }
    const outcomes: string[] = []
    engine.put(b('b'), b('2'), 0)
    engine.whenDurable((error) => outcomes.push(`b ${error?.message}`))
    engine.put(b('c'), b('3'), 0)
    engine.whenDurable((error) => outcomes.push(`c ${error?.message}`))
    await turns()
    assert.deepEqual(outcomes, [`b ${ioText}`, `c ${ioText}`])
    const file = path.join(dir, segmentFiles(dir)[0]!)
    assert.equal(engine.stats().lastWriteError, `fsync ${file}: EIO: injected failure, fdatasync`)
    assertWritesRefused(engine, ioText)
    assert.deepEqual([str(engine.get(b('a'))), str(engine.get(b('b')))], ['1', '2'])
    assert.equal(engine.keyCount(), 3)
    assert.equal(engine.scan(0, 10).keys.length, 3)
    assert.equal(engine.hasUndurableWrites(), false, 'replies to reads need not wait')
    // The disk "recovers": the engine still trusts nothing and never fdatasyncs again.
    faulty.failSyncs = { count: 0, code: 'EIO' }
    const syncsAtLatch = faulty.syncs
    let later: Error | undefined | 'pending' = 'pending'
    engine.whenDurable((error) => (later = error))
    assert.equal(later, 'pending', 'a later waiter is told on a later turn')
    await turns()
    assert.ok(isMisconf(ioText)(later))
    await assert.rejects(engine.flushAndSync(), isMisconf(ioText))
    assertWritesRefused(engine, ioText)
    assert.equal(faulty.syncs, syncsAtLatch)
    assert.equal(engine.startMerge(), false)
    assert.equal(ioErrors(events).length, 1)
    assert.deepEqual(ioErrors(events)[0], {
      kind: 'io-error',
      operation: `fsync ${file}`,
      message: 'EIO: injected failure, fdatasync',
    })
    await assert.rejects(engine.close(), isMisconf(ioText))
    // Only a restart clears it: reopening reads what is really on disk.
    const reopened = await openEngine(options(dir))
    assert.equal(str(reopened.get(b('a'))), '1')
    reopened.put(b('d'), b('4'), 0)
    await durable(reopened)
    assert.equal(reopened.stats().lastWriteError, null)
    await reopened.close()
  })

  test("a failed background fdatasync under 'everysec' latches too", async () => {
    const faulty = faultyDisk(nodeDisk)
    const timers = manualIntervals()
    const events: StorageEvent[] = []
    const engine = await openEngine(
      options(tempDir(), {
        disk: faulty.disk,
        timers: timers.timers,
        fsync: 'everysec',
        onEvent: (event) => events.push(event),
      }),
    )
    engine.put(b('a'), b('1'), 0)
    await durable(engine)
    faulty.failSyncs = { count: 1, code: 'EIO' }
    timers.fireAll()
    await turns()
    assert.equal(ioErrors(events).length, 1)
    assert.equal(timers.active(), 0, 'the background fdatasync is never retried')
    assertWritesRefused(engine, ioText)
    await assert.rejects(durable(engine), isMisconf(ioText))
    assert.equal(str(engine.get(b('a'))), '1')
    await assert.rejects(engine.close(), isMisconf(ioText))
  })

  test('a failed fdatasync while sealing a rotated segment latches', async () => {
    const dir = tempDir()
    const faulty = faultyDisk(nodeDisk)
    const events: StorageEvent[] = []
    const engine = await openEngine(
      options(dir, {
        disk: faulty.disk,
        fsync: 'no',
        segmentBytesMax: 4096,
        onEvent: (event) => events.push(event),
      }),
    )
    const firstSegment = path.join(dir, segmentFiles(dir)[0]!)
    faulty.failSyncs = { count: 1, code: 'EIO', path: firstSegment }
    for (let i = 0; i < 200 && engine.stats().segments < 2; i++) {
      engine.put(b(`k${i}`), b('x'.repeat(100)), 0)
    }
    assert.ok(engine.stats().segments >= 2, 'the active segment rotated')
    // SAVE waits for the seal, whose fdatasync fails after the active segment's succeeded.
    await assert.rejects(engine.flushAndSync(), isMisconf(ioText))
    assert.equal(
      engine.stats().lastWriteError,
      `fsync ${firstSegment}: EIO: injected failure, fdatasync`,
    )
    assertWritesRefused(engine, ioText)
    assert.equal(str(engine.get(b('k0'))), 'x'.repeat(100))
    assert.equal(ioErrors(events).length, 1)
    await assert.rejects(engine.close(), isMisconf(ioText))
  })

  test('a write failing with EIO latches; nothing is written after it', async () => {
    const dir = tempDir()
    const faulty = faultyDisk(nodeDisk)
    const engine = await openEngine(options(dir, { disk: faulty.disk, fsync: 'everysec' }))
    faulty.failAppends = { count: 1, code: 'EIO' }
    engine.put(b('k'), b('lost'), 0)
    await assert.rejects(durable(engine), isMisconf(ioText))
    assert.match(engine.stats().lastWriteError ?? '', /^write: EIO/)
    assert.equal(engine.hasUndurableWrites(), false)
    assertWritesRefused(engine, ioText)
    assert.equal(str(engine.get(b('k'))), 'lost', 'reads serve what was appended')
    await assert.rejects(engine.flushAndSync(), isMisconf(ioText))
    assert.equal(faulty.appends, 0, 'the failed batch is never retried')
    await assert.rejects(engine.close(), isMisconf(ioText))
    const reopened = await openEngine(options(dir))
    assert.equal(reopened.get(b('k')), null)
    await reopened.close()
  })

  test('a full disk refuses writes until a retry of the failed batch lands', async () => {
    const dir = tempDir()
    const faulty = faultyDisk(nodeDisk)
    const events: StorageEvent[] = []
    const engine = await openEngine(
      options(dir, { disk: faulty.disk, onEvent: (event) => events.push(event) }),
    )
    faulty.failAppends = { count: 2, code: 'ENOSPC' }
    engine.put(b('k'), b('v'), 0)
    await assert.rejects(durable(engine), isMisconf(fullText))
    assert.match(engine.stats().lastWriteError ?? '', /^write: ENOSPC/)
    assert.throws(() => engine.put(b('k2'), b('refused'), 0), isMisconf(fullText))
    assert.equal(str(engine.get(b('k'))), 'v')
    assert.equal(engine.hasUndurableWrites(), false, 'replies to reads need not wait')
    await assert.rejects(engine.flushAndSync(), isMisconf(fullText)) // the retry fails again
    assert.equal(ioErrors(events).length, 1, 'one event per failing streak')
    await engine.flushAndSync() // space was freed: the retry lands
    assert.equal(engine.stats().lastWriteError, null)
    engine.put(b('k2'), b('accepted again'), 0)
    await durable(engine)
    await engine.close()
    const reopened = await openEngine(options(dir))
    assert.equal(str(reopened.get(b('k'))), 'v')
    assert.equal(str(reopened.get(b('k2'))), 'accepted again')
    await reopened.close()
  })

  test('a full disk that then fails an fdatasync latches for good', async () => {
    const dir = tempDir()
    const faulty = faultyDisk(nodeDisk)
    const events: StorageEvent[] = []
    const engine = await openEngine(
      options(dir, { disk: faulty.disk, onEvent: (event) => events.push(event) }),
    )
    engine.put(b('a'), b('1'), 0)
    await durable(engine)
    faulty.failAppends = { count: 1, code: 'ENOSPC' }
    engine.put(b('b'), b('2'), 0)
    await assert.rejects(durable(engine), isMisconf(fullText))
    faulty.failSyncs = { count: 1, code: 'EIO' }
    await assert.rejects(engine.flushAndSync(), isMisconf(ioText))
    assert.match(engine.stats().lastWriteError ?? '', /^fsync \S+\.data: EIO/)
    assertWritesRefused(engine, ioText)
    assert.deepEqual(
      ioErrors(events).map((event) => (event.kind === 'io-error' ? event.operation : '')),
      ['write', `fsync ${path.join(dir, segmentFiles(dir)[0]!)}`],
    )
    await assert.rejects(engine.close(), isMisconf(ioText))
  })

  for (const code of ['EIO', 'ENOSPC'] as const) {
    test(`a ${code} write inside a command makes that turn's earlier writes wait`, async () => {
      const faulty = faultyDisk(nodeDisk)
      const segmentBytesMax = 64 * 1024 * 1024 // no rotation: the batch limit forces the write
      const engine = await openEngine(options(tempDir(), { disk: faulty.disk, segmentBytesMax }))
      const big = Buffer.alloc(3 * 1024 * 1024, 0x61)
      faulty.failAppends = { count: 1, code }
      // One client's pipeline: the third SET overflows the batch, whose write fails at once.
      engine.put(b('small'), b('1'), 0)
      engine.put(b('big1'), big, 0)
      const text = code === 'EIO' ? ioText : fullText
      assert.throws(() => engine.put(b('big2'), big, 0), isMisconf(text))
      assert.equal(engine.has(b('big2')), false, 'a refused put appends nothing')
      assert.equal(engine.hasUndurableWrites(), true, 'the first two replies must wait')
      const outcome = durable(engine)
      if (code === 'EIO') {
        await assert.rejects(outcome, isMisconf(text))
      } else {
        await engine.flushAndSync() // the retry lands: the wait ends in an honest success
        await outcome
      }
      await turns()
      assert.equal(engine.hasUndurableWrites(), false)
      if (code === 'EIO') await assert.rejects(engine.close(), isMisconf(text))
      else await engine.close()
    })
  }
})

const segmentFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .sort()

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  assert.ok(condition(), 'condition reached')
}

/** Node-like fs error: `code` plus the "CODE: text, syscall" message. */
function injected(code: string, syscall: string): Error {
  return Object.assign(new Error(`${code}: injected failure, ${syscall}`), { code, syscall })
}

interface Fault {
  count: number
  code: string
  /** Only this file's calls fail (any file's when absent). */
  path?: string
}

interface FaultyDisk {
  disk: Disk
  /** Successful appends and fdatasyncs (failed ones are not counted). */
  appends: number
  syncs: number
  failAppends: Fault
  failSyncs: Fault
  /** Hold every fdatasync until releaseSyncs() (an fdatasync that takes its time). */
  holdSyncs: boolean
  heldSyncs(): number
  releaseSyncs(): void
}

function faultyDisk(inner: Disk): FaultyDisk {
  let held: Array<() => void> = []
  const faults: FaultyDisk = {
    disk: inner,
    appends: 0,
    syncs: 0,
    failAppends: { count: 0, code: 'EIO' },
    failSyncs: { count: 0, code: 'EIO' },
    holdSyncs: false,
    heldSyncs: () => held.length,
    releaseSyncs() {
      faults.holdSyncs = false
      const release = held
      held = []
      for (const run of release) run()
    },
  }
  const sync = async (file: BlockFile): Promise<void> => {
    if (faults.holdSyncs) await new Promise<void>((resolve) => held.push(resolve))
    const fault = faults.failSyncs
    if (fault.count > 0 && (fault.path === undefined || fault.path === file.path)) {
      faults.failSyncs.count--
      throw injected(faults.failSyncs.code, 'fdatasync')
    }
    await file.sync()
    faults.syncs++
  }
  faults.disk = wrapDiskFiles(inner, (file) => ({
    appendSync: (data) => {
      if (faults.failAppends.count > 0) {
        faults.failAppends.count--
        throw injected(faults.failAppends.code, 'write')
      }
      faults.appends++
      return file.appendSync(data)
    },
    sync: () => sync(file),
  }))
  return faults
}

/** Real timers, except that `every` is fired by hand (the 1 s background fdatasync). */
function manualIntervals(): { timers: Timers; active(): number; fireAll(): void } {
  const intervals = new Set<() => void>()
  const timers: Timers = {
    ...nodeTimers,
    every(_intervalMs, onFire) {
      const entry = (): void => onFire()
      intervals.add(entry)
      return () => intervals.delete(entry)
    },
  }
  return {
    timers,
    active: () => intervals.size,
    fireAll: () => {
      for (const fire of [...intervals]) fire()
    },
  }
}
