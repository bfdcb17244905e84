/* The replicated keyspace's file snapshots on the real disk: a capture opened elsewhere from its
 * descriptor is the captured state byte for byte (and goes on alike), an install pulls the files
 * over a fetcher that loses and delays chunks and then holds the snapshot, a failed install
 * leaves the state as it was, retain deletes what is no longer needed (but not what a peer read
 * recently), and snapshot-read refuses names outside the snapshots directory. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { nodeDisk } from '../io/disk.js'
import { nodeTimers } from '../io/timers.js'
import type { Clock } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { tempDirs } from '../../test/helpers/engine-fixtures.js'
import { encodeEntry, encodeQuery, type CommandEntry } from './command-entry.js'
import { decodeDescriptor } from './keyspace-descriptor.js'
import { servedKeepMs } from './keyspace-files.js'
import { createKeyspaceStateMachine, type KeyspaceStateMachine } from './keyspace-state-machine.js'
import { fetchSnapshotFiles, type FetchChunk } from './snapshot-files-fetch.js'
import type { FileSnapshots } from './types.js'

const t0 = 1_700_000_000_000
const tempDir = tempDirs('caskade-kssnap-')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

class TestClock implements Clock {
  offsetMs = 0
  monotonicMs(): number {
    return performance.now() + this.offsetMs
  }
  wallMs(): number {
    return Date.now()
  }
}

const noFetch: FetchChunk = () => Promise.reject(new Error('no peer in this test'))

async function machineIn(
  root: string,
  extra: { descriptor?: Uint8Array; fetchChunk?: FetchChunk; clock?: Clock } = {},
): Promise<KeyspaceStateMachine> {
  return createKeyspaceStateMachine({
    disk: nodeDisk,
    dir: `${root}/state`,
    snapshotsDir: `${root}/snapshots`,
    clock: extra.clock ?? new TestClock(),
    timers: nodeTimers,
    rng: createRng(root.length),
    fetchChunk: extra.fetchChunk ?? noFetch,
    ...(extra.descriptor === undefined ? {} : { descriptor: extra.descriptor }),
  })
}

function filesOf(machine: KeyspaceStateMachine): FileSnapshots {
  assert.ok(machine.files !== undefined, 'a machine with a snapshots dir has files')
  return machine.files
}

function command(timeMs: number, ...argv: string[]): CommandEntry {
  return { kind: 'command', timeMs, protocol: 2, argv: argv.map((arg) => Buffer.from(arg)) }
}

/** Strings, a hash, a set, a sorted set, TTLs and an address: `count` entries from `first`. */
function entries(first: number, count: number): CommandEntry[] {
  const list: CommandEntry[] = []
  for (let i = first; i < first + count; i++) {
    const timeMs = t0 + i
    if (i % 5 === 0) list.push(command(timeMs, 'HSET', `h${i % 7}`, `f${i}`, `v${i}`))
    else if (i % 5 === 1) list.push(command(timeMs, 'SADD', `s${i % 3}`, `m${i}`))
    else if (i % 5 === 2) list.push(command(timeMs, 'ZADD', 'z', String(i), `m${i}`))
    else if (i % 5 === 3)
      list.push(command(timeMs, 'SET', `k${i}`, 'x'.repeat(i % 50), 'PX', '1e9'))
    else list.push(command(timeMs, 'SET', `k${i % 40}`, `v${i}`))
  }
  list.push({
    kind: 'address',
    id: 7,
    address: { name: 'n7', host: '127.0.0.1', port: 7000, clusterPort: 17000 },
  })
  return list
}

function applyFrom(machine: KeyspaceStateMachine, list: readonly CommandEntry[], first: number) {
  list.forEach((entry, i) => machine.apply(encodeEntry(entry), first + i))
}

const dbsize = (machine: KeyspaceStateMachine): string =>
  Buffer.from(machine.query(encodeQuery({ protocol: 2, argv: [Buffer.from('DBSIZE')] }))).toString()

/** A machine with 301 entries applied, and its capture at that point. */
async function captured(
  root: string,
): Promise<{ source: KeyspaceStateMachine; descriptor: Uint8Array; bytes: Uint8Array }> {
  const source = await machineIn(root)
  applyFrom(source, entries(1, 300), 1)
  const bytes = source.snapshot()
  const capture = filesOf(source).capture()
  // Applying goes on while the files become durable: the capture is the state at the call.
  applyFrom(source, entries(1000, 50), 302)
  return { source, descriptor: await capture, bytes }
}

/** Deletion runs in the background: waits (bounded) until the snapshots dir lists `expected`. */
async function snapshotDirsSettle(root: string, expected: readonly string[]): Promise<void> {
  const want = [...expected].sort()
  const deadline = Date.now() + 10_000
  let names = fs.readdirSync(`${root}/snapshots`).sort()
  while (JSON.stringify(names) !== JSON.stringify(want) && Date.now() < deadline) {
    await sleep(20)
    names = fs.readdirSync(`${root}/snapshots`).sort()
  }
  assert.deepEqual(names, want)
}

describe('keyspace file snapshots', () => {
  test('a machine opened elsewhere from a capture has its exact state and goes on alike', async () => {
    const rootA = tempDir()
    const rootB = tempDir()
    const { source, descriptor, bytes } = await captured(rootA)
    const dirName = decodeDescriptor(descriptor).dirName
    fs.cpSync(`${rootA}/snapshots/${dirName}`, `${rootB}/snapshots/${dirName}`, { recursive: true })
    const copy = await machineIn(rootB, { descriptor })
    assert.deepEqual(Buffer.from(copy.snapshot()), Buffer.from(bytes))
    assert.ok(filesOf(copy).holds(descriptor))
    applyFrom(copy, entries(1000, 50), 302)
    assert.deepEqual(Buffer.from(copy.snapshot()), Buffer.from(source.snapshot()))
    assert.ok(!filesOf(copy).holds(descriptor), 'applied since: no longer the snapshot')
    source.close()
    copy.close()
  })

  test('an install pulls the files through lost and slow chunks, then holds the snapshot', async () => {
    const { source, descriptor, bytes } = await captured(tempDir())
    let calls = 0
    const lossy: FetchChunk = async (from, dirName, file, offset, length) => {
      assert.equal(from, 3)
      calls++
      if (calls % 3 === 1) throw new Error('lost')
      if (calls % 3 === 2) await sleep(20)
      return source.readSnapshotChunk({ dirName, file, offset, length })
    }
    const root = tempDir()
    const target = await machineIn(root, { fetchChunk: lossy })
    applyFrom(target, entries(1, 10), 1)
    await filesOf(target).install(descriptor, 3)
    assert.deepEqual(Buffer.from(target.snapshot()), Buffer.from(bytes))
    assert.ok(filesOf(target).holds(descriptor))
    const dirs = fs.readdirSync(`${root}/snapshots`)
    assert.deepEqual(dirs, [decodeDescriptor(descriptor).dirName], 'no incoming dir left')
    assert.deepEqual(
      fs.readdirSync(`${root}/state`).filter((name) => name.startsWith('live-')),
      ['live-2'],
    )
    applyFrom(target, entries(1000, 50), 302)
    assert.deepEqual(Buffer.from(target.snapshot()), Buffer.from(source.snapshot()))
    source.close()
    target.close()
  })

  test('a machine already at the snapshot index fetches only its files, to restart from', async () => {
    const { source, descriptor, bytes } = await captured(tempDir())
    const root = tempDir()
    const target = await machineIn(root, {
      fetchChunk: (_from, dirName, file, offset, length) =>
        source.readSnapshotChunk({ dirName, file, offset, length }),
    })
    applyFrom(target, entries(1, 300), 1)
    assert.deepEqual(Buffer.from(target.snapshot()), Buffer.from(bytes))
    assert.ok(!filesOf(target).holds(descriptor), 'same state, but the files are not here')
    await filesOf(target).install(descriptor, 3)
    assert.ok(filesOf(target).holds(descriptor))
    assert.deepEqual(fs.readdirSync(`${root}/snapshots`), [decodeDescriptor(descriptor).dirName])
    assert.deepEqual(Buffer.from(target.snapshot()), Buffer.from(bytes))
    source.close()
    target.close()
  })

  test('an install whose files cannot be had rejects and leaves the state as it was', async () => {
    const { source, descriptor } = await captured(tempDir())
    const root = tempDir()
    const target = await machineIn(root)
    applyFrom(target, entries(1, 10), 1)
    const before = Buffer.from(target.snapshot())
    await assert.rejects(filesOf(target).install(descriptor, 3), /no peer in this test/)
    assert.deepEqual(Buffer.from(target.snapshot()), before)
    assert.equal(dbsize(target), dbsize(target))
    assert.deepEqual(fs.readdirSync(`${root}/snapshots`), [])
    source.close()
    target.close()
  })

  test('retain deletes unneeded snapshots but keeps one a peer read recently', async () => {
    const clock = new TestClock()
    const root = tempDir()
    const machine = await machineIn(root, { clock })
    applyFrom(machine, entries(1, 20), 1)
    const first = await filesOf(machine).capture()
    applyFrom(machine, entries(100, 20), 22)
    const second = await filesOf(machine).capture()
    applyFrom(machine, entries(200, 20), 43)
    const third = await filesOf(machine).capture()
    const [a, b, c] = [first, second, third].map((d) => decodeDescriptor(d))
    if (a === undefined || b === undefined || c === undefined) throw new Error('three captures')
    const file = b.files[0]
    assert.ok(file !== undefined)
    await machine.readSnapshotChunk({ dirName: b.dirName, file: file.name, offset: 0, length: 1 })
    filesOf(machine).retain([third])
    await snapshotDirsSettle(root, [b.dirName, c.dirName])
    clock.offsetMs = servedKeepMs + 1
    filesOf(machine).retain([third])
    await snapshotDirsSettle(root, [c.dirName])
    machine.close()
  })

  test('snapshot-read refuses names outside the snapshots dir and bad ranges', async () => {
    const root = tempDir()
    const { source, descriptor } = await captured(root)
    fs.writeFileSync(`${root}/secret`, 'secret')
    const { dirName, files } = decodeDescriptor(descriptor)
    const file = files[0]
    assert.ok(file !== undefined)
    const bad = [
      { dirName: '..', file: 'secret', offset: 0, length: 1 },
      { dirName, file: '../../secret', offset: 0, length: 1 },
      { dirName, file: '.hidden', offset: 0, length: 1 },
      { dirName: `${dirName}/..`, file: file.name, offset: 0, length: 1 },
      { dirName: 'incoming-1', file: file.name, offset: 0, length: 1 },
      { dirName, file: file.name, offset: 0, length: 0 },
      { dirName, file: file.name, offset: 0, length: 1024 * 1024 + 1 },
      { dirName, file: file.name, offset: -1, length: 1 },
      { dirName, file: file.name, offset: file.bytes, length: 1 },
      { dirName, file: 'missing.data', offset: 0, length: 1 },
    ]
    for (const request of bad) {
      await assert.rejects(source.readSnapshotChunk(request), /snapshot-read refused/)
    }
    const all = await source.readSnapshotChunk({
      dirName,
      file: file.name,
      offset: 0,
      length: file.bytes,
    })
    assert.equal(all.length, file.bytes)
    source.close()
  })
})

describe('snapshot fetcher', () => {
  const source = Buffer.alloc(10_000, 0)
  for (let i = 0; i < source.length; i++) source[i] = (i * 31) & 0xff

  test('pulls files at once within one window of chunks, retrying timed-out and failed ones', async () => {
    const root = tempDir()
    let inFlight = 0
    let inFlightMost = 0
    const seen = new Map<number, number>()
    const fetchChunk: FetchChunk = async (_from, _dir, file, offset, length) => {
      inFlight++
      inFlightMost = Math.max(inFlightMost, inFlight)
      if (file !== 'a.data') {
        await sleep(2)
        inFlight--
        return source.subarray(offset, offset + length)
      }
      const tries = (seen.get(offset) ?? 0) + 1
      seen.set(offset, tries)
      try {
        if (offset === 3000 && tries === 1) {
          inFlight-- // lost: the fetcher gives up on it after 100 ms (the transport times it out)
          await sleep(400)
          inFlight++
        }
        if (offset === 5000 && tries < 3) throw new Error('connection reset')
        await sleep((offset / 1000) % 3)
        return source.subarray(offset, offset + length)
      } finally {
        inFlight--
      }
    }
    await fetchSnapshotFiles({
      disk: nodeDisk,
      timers: nodeTimers,
      fetchChunk,
      source: 2,
      dirName: '5-00000001',
      files: [
        { name: 'a.data', bytes: source.length },
        { name: 'b.data', bytes: source.length },
        { name: 'empty.hint', bytes: 0 },
        { name: 'c.data', bytes: 2500 },
      ],
      intoDir: `${root}/incoming-1`,
      chunkBytes: 1000,
      inFlightMax: 4,
      chunkTimeoutMs: 100,
    })
    assert.deepEqual(fs.readFileSync(`${root}/incoming-1/a.data`), source)
    assert.deepEqual(fs.readFileSync(`${root}/incoming-1/b.data`), source)
    assert.deepEqual(fs.readFileSync(`${root}/incoming-1/c.data`), source.subarray(0, 2500))
    assert.equal(fs.readFileSync(`${root}/incoming-1/empty.hint`).length, 0)
    assert.ok(inFlightMost <= 4, `at most 4 chunks in flight, saw ${inFlightMost}`)
    assert.equal(seen.get(3000), 2)
    assert.equal(seen.get(5000), 3)
  })

  test('a chunk of the wrong size is asked again, and the fetch fails when it stays wrong', async () => {
    const root = tempDir()
    const short: FetchChunk = (_from, _dir, _file, offset, length) =>
      Promise.resolve(source.subarray(offset, offset + length - 1))
    const fetching = fetchSnapshotFiles({
      disk: nodeDisk,
      timers: nodeTimers,
      fetchChunk: short,
      source: 2,
      dirName: '5-00000001',
      files: [{ name: 'a.data', bytes: source.length }],
      intoDir: `${root}/incoming-1`,
      chunkBytes: 4096,
    })
    await assert.rejects(fetching, /expected 4096/)
  })

  test('one file failing for good fails the whole fetch, once every file has stopped', async () => {
    const root = tempDir()
    const fetchChunk: FetchChunk = async (_from, _dir, file, offset, length) => {
      await sleep(1)
      if (file === 'bad.data') throw new Error('snapshot deleted there')
      return source.subarray(offset, offset + length)
    }
    const fetching = fetchSnapshotFiles({
      disk: nodeDisk,
      timers: nodeTimers,
      fetchChunk,
      source: 2,
      dirName: '5-00000001',
      files: ['a', 'bad', 'b', 'c', 'd'].map((name) => ({ name: `${name}.data`, bytes: 9000 })),
      intoDir: `${root}/incoming-1`,
      chunkBytes: 1000,
    })
    await assert.rejects(fetching, /snapshot deleted there/)
  })
})
