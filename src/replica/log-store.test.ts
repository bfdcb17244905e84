import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry, Snapshot } from '../raft/index.js'
import { encodeRecord, scanRecords } from './log-codec.js'
import { LogStore, readLatestSnapshot } from './log-store.js'
import { SessionTable } from './sessions.js'
import {
  decodeState,
  encodeSessions,
  encodeSnapshotFile,
  encodeState,
  encodeStateParts,
  snapshotMachineBytes,
} from './snapshot-codec.js'
import { MemDisk } from './test-support.js'

const dir = '/data/n1'
const bootstrap = { voters: [1, 2, 3], learners: [] }

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(text) }
}

function logFiles(disk: MemDisk): string[] {
  return disk.listSync(dir).filter((name) => name.startsWith('raft-log-'))
}

describe('replica log store', () => {
  it('starts a fresh directory with the bootstrap membership and an empty log', () => {
    const disk = new MemDisk()
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(recovered.membership, bootstrap)
    assert.equal(recovered.entries.length, 0)
    assert.equal(recovered.snapshot, null)
    assert.deepEqual(recovered.hardState, { term: 0, vote: 0, commit: 0 })
  })

  it('recovers synced entries and hard state, and loses what was never synced', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append({ term: 2, vote: 1, commit: 0 }, [entry(1, 1), entry(2, 2)])
    store.sync()
    store.append({ term: 2, vote: 1, commit: 2 }, [entry(3, 2)])
    disk.crash()
    const { recovered } = LogStore.open(disk, dir, { voters: [9], learners: [] })
    assert.deepEqual(
      recovered.entries.map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 2],
      ],
    )
    assert.deepEqual(recovered.hardState, { term: 2, vote: 1, commit: 0 })
    assert.deepEqual(recovered.membership, bootstrap, 'the directory, not the options, decides')
  })

  it('truncates a torn last record and keeps every record before it', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append({ term: 1, vote: 1, commit: 0 }, [entry(1, 1), entry(2, 1)])
    store.sync()
    store.append(null, [entry(3, 1, 'a long entry that the crash tears in the middle')])
    const [file] = logFiles(disk)
    assert.ok(file !== undefined && disk.unsyncedBytes(`${dir}/${file}`) > 20)
    disk.crash(20) // half of the last record reached the disk
    const { store: reopened, recovered } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [1, 2],
    )
    // The new generation holds only intact records, so appending after it is clean.
    reopened.append(null, [entry(3, 1, 'again')])
    reopened.sync()
    const { recovered: again } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(
      again.entries.map((e) => new TextDecoder().decode(e.data)),
      ['e1', 'e2', 'again'],
    )
  })

  it('a corrupt byte in the middle cuts the log there', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append(null, [entry(1, 1), entry(2, 1), entry(3, 1)])
    store.sync()
    const [name] = logFiles(disk)
    const file = disk.files.get(`${dir}/${name ?? ''}`)
    assert.ok(file !== undefined)
    file.data[file.length - 3] = (file.data[file.length - 3] ?? 0) ^ 0xff // in entry 3
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [1, 2],
    )
  })

  it('a repeated index replaces the conflicting suffix', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append(null, [entry(1, 1), entry(2, 1), entry(3, 1)])
    store.append(null, [entry(2, 3), entry(3, 3), entry(4, 3)])
    store.sync()
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(
      recovered.entries.map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 3],
        [3, 3],
        [4, 3],
      ],
    )
  })

  it('a snapshot compacts the log into a new generation and deletes the old files', async () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    const entries = Array.from({ length: 10 }, (_, i) => entry(i + 1, 1))
    store.append({ term: 1, vote: 1, commit: 10 }, entries)
    store.sync()
    const snapshot: Snapshot = {
      index: 8,
      term: 1,
      membership: bootstrap,
      data: new Uint8Array([1, 2, 3]),
    }
    store.saveSnapshot(snapshot, {
      baseIndex: 6,
      baseTerm: 1,
      hardState: { term: 1, vote: 1, commit: 10 },
      entries: entries.slice(6),
    })
    await Promise.resolve()
    assert.equal(logFiles(disk).length, 1, 'the old generation is deleted')
    disk.crash()
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.equal(recovered.baseIndex, 6)
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [7, 8, 9, 10],
    )
    assert.equal(recovered.snapshot?.index, 8)
    assert.deepEqual([...(recovered.snapshot?.data ?? [])], [1, 2, 3])
  })

  it('readLatestSnapshot reads the snapshot open() will recover, changing nothing', () => {
    const disk = new MemDisk()
    assert.equal(readLatestSnapshot(disk, dir), null, 'a fresh directory has none')
    const { store } = LogStore.open(disk, dir, bootstrap)
    const entries = Array.from({ length: 10 }, (_, i) => entry(i + 1, 1))
    store.append({ term: 1, vote: 1, commit: 10 }, entries)
    store.sync()
    const hardState = { term: 1, vote: 1, commit: 10 }
    for (const index of [5, 8]) {
      const data = new Uint8Array([index])
      store.saveSnapshot(
        { index, term: 1, membership: bootstrap, data },
        { baseIndex: index, baseTerm: 1, hardState, entries: entries.slice(index) },
      )
    }
    const files = disk.listSync(dir)
    assert.equal(readLatestSnapshot(disk, dir)?.index, 8)
    assert.deepEqual(disk.listSync(dir), files)
    assert.equal(LogStore.open(disk, dir, bootstrap).recovered.snapshot?.index, 8)
  })

  it("a snapshot's machine bytes come back whether its sessions were encoded now or earlier", () => {
    const sessions = new SessionTable(10)
    const command = new Uint8Array([7])
    sessions.record({ clientId: 4, sequence: 1, ackedThrough: 0 }, new Uint8Array([1]), 3)
    const machine = new TextEncoder().encode('descriptor')
    const earlier = encodeSessions(sessions)
    sessions.record({ clientId: 5, sequence: 1, ackedThrough: 0 }, command, 4)
    const parts = encodeStateParts(earlier, machine)
    assert.deepEqual([...snapshotMachineBytes(parts)], [...machine])
    assert.deepEqual([...snapshotMachineBytes(encodeState(sessions, machine))], [...machine])
    const restored = new SessionTable(10)
    assert.deepEqual([...decodeState(parts, restored)], [...machine])
    assert.equal(restored.size, 1, 'the sessions as of encodeSessions(), before client 5')
    assert.equal(restored.repliesOf(4), 1)
  })

  it('an unsealed newer generation (a crash while compacting) is ignored', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append({ term: 1, vote: 1, commit: 2 }, [entry(1, 1), entry(2, 1)])
    store.sync()
    const base = encodeRecord({ type: 'base', index: 2, term: 1, membership: bootstrap })
    disk.openSync(`${dir}/raft-log-000000000099.bin`, 'append').appendSync(base)
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [1, 2],
    )
  })

  it('an installed snapshot beyond the log replaces it and raises the term', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append({ term: 1, vote: 2, commit: 1 }, [entry(1, 1), entry(2, 1)])
    store.sync()
    const snapshot: Snapshot = { index: 50, term: 4, membership: bootstrap, data: new Uint8Array() }
    store.saveSnapshot(snapshot, {
      baseIndex: 50,
      baseTerm: 4,
      hardState: { term: 5, vote: 0, commit: 50 },
      entries: [entry(51, 5)],
    })
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.equal(recovered.baseIndex, 50)
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [51],
    )
    assert.deepEqual(recovered.hardState, { term: 5, vote: 0, commit: 50 })
  })

  it('a crash after the snapshot file but before the new generation keeps both', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    const entries = Array.from({ length: 10 }, (_, i) => entry(i + 1, 1))
    store.append({ term: 1, vote: 1, commit: 10 }, entries)
    store.sync()
    const snapshot: Snapshot = {
      index: 8,
      term: 1,
      membership: bootstrap,
      data: new Uint8Array([7]),
    }
    const path = `${dir}/raft-snap-0000000000000008-000000000002.bin`
    disk.openSync(path, 'append').appendSync(encodeSnapshotFile(snapshot))
    const torn = encodeSnapshotFile({ ...snapshot, index: 9 })
    const tornPath = `${dir}/raft-snap-0000000000000009-000000000003.bin`
    disk.openSync(tornPath, 'append').appendSync(torn.subarray(0, torn.length - 1))
    const { recovered } = LogStore.open(disk, dir, bootstrap)
    assert.equal(recovered.snapshot?.index, 8, 'the torn newer snapshot is ignored')
    assert.equal(recovered.baseIndex, 0)
    assert.equal(recovered.entries.length, 10)
    assert.ok(!disk.exists(tornPath))
    // Generation numbers never reuse one a snapshot file names.
    assert.ok(logFiles(disk).includes('raft-log-000000000004.bin'), logFiles(disk).join(' '))
  })

  it('scanning stops at the first bad frame', () => {
    const good = encodeRecord({ type: 'sealed' })
    const bytes = new Uint8Array([...good, ...good, 0, 0, 0])
    assert.equal(scanRecords(bytes).records.length, 2)
    assert.equal(scanRecords(bytes).validBytes, good.length * 2)
  })
})
