/* Term and vote in raft-hardstate.bin: written on a term or vote change only, and recovered
 * together with the log's hard-state records (the newer wins), from either alone, through a crash
 * in the middle of a replace, and past a corrupt file only when the records stand on their own. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import type { Disk } from '../core/ports.js'
import type { Entry, HardState } from '../raft/index.js'
import { SimDisk } from '../sim/disk.js'
import { hardStateFileName, readHardStateFile, writeHardStateFile } from './hard-state-file.js'
import { encodeRecord } from './log-codec.js'
import { LogStore } from './log-store.js'
import { MemDisk } from './test-support.js'

const dir = '/data/n1'
const filePath = `${dir}/${hardStateFileName}`
const bootstrap = { voters: [1, 2, 3], learners: [] }

function entry(index: number, term: number): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(`e${index}`) }
}

function reopen(disk: Disk): HardState {
  const { store, recovered } = LogStore.open(disk, dir, bootstrap)
  store.close()
  return recovered.hardState
}

/** An old-style data dir: the log's records only (the file removed as if never written). */
function recordsOnly(disk: MemDisk, hardState: HardState, entries: readonly Entry[]): void {
  const { store } = LogStore.open(disk, dir, bootstrap)
  store.append(hardState, entries)
  store.close()
  disk.files.delete(filePath)
}

describe('raft-hardstate.bin', () => {
  it('is replaced on a term or vote change only, not per append or commit', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    assert.equal(disk.exists(filePath), false, 'a fresh directory has nothing to record yet')
    store.append({ term: 1, vote: 1, commit: 0 }, [])
    store.append({ term: 1, vote: 1, commit: 0 }, [entry(1, 1), entry(2, 1)])
    store.append({ term: 1, vote: 1, commit: 2 }, [entry(3, 1)])
    store.append(null, [entry(4, 1)])
    assert.equal(store.hardStateWrites, 1)
    store.append({ term: 2, vote: 0, commit: 2 }, [])
    store.append({ term: 2, vote: 3, commit: 2 }, [])
    assert.equal(store.hardStateWrites, 3)
    assert.deepEqual(readHardStateFile(disk, dir), {
      kind: 'found',
      termVote: { term: 2, vote: 3 },
    })
    assert.deepEqual(
      disk.listSync(dir).filter((name) => name.startsWith('raft-hardstate')),
      [hardStateFileName],
      'no temp file is left behind',
    )
    store.close()
  })

  it('is durable before the log is synced: a crash keeps the vote', () => {
    const disk = new MemDisk()
    const { store } = LogStore.open(disk, dir, bootstrap)
    store.append({ term: 4, vote: 2, commit: 0 }, [])
    disk.crash() // the log's hard-state record was never synced
    assert.deepEqual(reopen(disk), { term: 4, vote: 2, commit: 0 })
  })

  it('recovers an old data dir from the records only, and then writes the file', () => {
    const disk = new MemDisk()
    recordsOnly(disk, { term: 3, vote: 2, commit: 1 }, [entry(1, 3)])
    assert.deepEqual(reopen(disk), { term: 3, vote: 2, commit: 1 })
    assert.deepEqual(readHardStateFile(disk, dir), {
      kind: 'found',
      termVote: { term: 3, vote: 2 },
    })
  })

  it('recovers from the file only when the records hold no hard state', () => {
    const disk = new MemDisk()
    LogStore.open(disk, dir, bootstrap).store.close()
    writeHardStateFile(disk, dir, 'raft-hardstate-0-1.tmp', { term: 6, vote: 3 })
    assert.deepEqual(reopen(disk), { term: 6, vote: 3, commit: 0 })
  })

  it('takes the newer of both when they disagree, and commit from the records', () => {
    const cases: [file: [number, number], records: HardState, expected: HardState][] = [
      [[5, 1], { term: 4, vote: 2, commit: 3 }, { term: 5, vote: 1, commit: 3 }],
      [[4, 2], { term: 5, vote: 0, commit: 3 }, { term: 5, vote: 0, commit: 3 }],
      [[5, 2], { term: 5, vote: 0, commit: 3 }, { term: 5, vote: 2, commit: 3 }],
      [[5, 0], { term: 5, vote: 1, commit: 3 }, { term: 5, vote: 1, commit: 3 }],
    ]
    for (const [[term, vote], records, expected] of cases) {
      const disk = new MemDisk()
      recordsOnly(disk, records, [entry(1, 1), entry(2, 1), entry(3, 1)])
      writeHardStateFile(disk, dir, 'raft-hardstate-0-1.tmp', { term, vote })
      assert.deepEqual(reopen(disk), expected, `file ${term}/${vote}`)
      assert.deepEqual(reopen(disk), expected, 'and again after open rewrote both')
    }
  })

  it('refuses two different votes in the same term', () => {
    const disk = new MemDisk()
    recordsOnly(disk, { term: 5, vote: 1, commit: 0 }, [])
    writeHardStateFile(disk, dir, 'raft-hardstate-0-1.tmp', { term: 5, vote: 2 })
    assert.throws(() => LogStore.open(disk, dir, bootstrap), /voted for 2 in term 5/)
  })

  it('survives a crash at every step of a replace on the simulated disk', () => {
    const rng = createRng(7)
    // Steps: open temp, append, sync, rename; 4 is a replace that completed.
    for (let crashAtCall = 0; crashAtCall <= 4; crashAtCall++) {
      const sim = new SimDisk()
      LogStore.open(sim, dir, bootstrap).store.append({ term: 1, vote: 1, commit: 0 }, [])
      sim.crash(null)
      LogStore.open(sim, dir, bootstrap)
      let calls = 0
      const wrapped = stepDisk(sim, () => {
        if (calls++ === crashAtCall && crashAtCall < 4) throw new Error('power loss')
      })
      const replace = (): void => writeHardStateFile(wrapped, dir, 'raft-hardstate-9-1.tmp', v2)
      if (crashAtCall < 4) assert.throws(replace, /power loss/)
      else replace()
      sim.crash(rng)
      const expected = crashAtCall < 4 ? { term: 1, vote: 1, commit: 0 } : { ...v2, commit: 0 }
      assert.deepEqual(reopen(sim), expected, `crash at call ${crashAtCall}`)
      assert.deepEqual(
        sim.listSync(dir).filter((name) => name.endsWith('.tmp')),
        [],
        'a torn temp file is ignored, then removed',
      )
    }
  })

  it('a corrupt file is an error unless the records alone are consistent', () => {
    const disk = new MemDisk()
    recordsOnly(disk, { term: 3, vote: 2, commit: 1 }, [entry(1, 3)])
    const torn = encodeRecord({ type: 'hard', hardState: { term: 9, vote: 9, commit: 0 } })
    disk.files.delete(filePath)
    disk.openSync(filePath, 'append').appendSync(torn.subarray(0, torn.length - 1))
    assert.deepEqual(reopen(disk), { term: 3, vote: 2, commit: 1 }, 'records term 3 >= entries')
    assert.equal(readHardStateFile(disk, dir).kind, 'found', 'and the file is rewritten')

    const bad = new MemDisk()
    recordsOnly(bad, { term: 1, vote: 2, commit: 0 }, [entry(1, 3)])
    bad.openSync(`${dir}/${hardStateFileName}`, 'append').appendSync(new Uint8Array([1, 2, 3]))
    assert.throws(() => LogStore.open(bad, dir, bootstrap), /corrupt raft-hardstate\.bin/)
  })
})

const v2 = { term: 2, vote: 3 }

/** `disk` with `step()` run before each write-path call (so a test can cut the sequence). */
function stepDisk(disk: SimDisk, step: () => void): Disk {
  return Object.assign(Object.create(disk) as Disk, {
    openSync: (path: string, mode: 'read' | 'append') => {
      step()
      const file = disk.openSync(path, mode)
      return Object.assign(Object.create(file) as typeof file, {
        appendSync: (data: Uint8Array) => (step(), file.appendSync(data)),
        syncSync: () => (step(), file.syncSync()),
        size: () => file.size(),
        closeSync: () => file.closeSync(),
      })
    },
    renameSync: (from: string, to: string) => (step(), disk.renameSync(from, to)),
  })
}
