/* Unit tests of the Raft log: conflict handling, fast-backtracking hints, the stable/unstable
 * split, and the asserted invariants (commit and applied never move back, committed entries
 * stay). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { RaftLog } from './log.js'
import { MemoryStorage } from './storage.js'
import type { Entry } from './types.js'

const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  kind: 'command',
  data: Buffer.from(text),
})

function logWith(terms: number[], committed = 0): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  storage.append(terms.map((term, i) => entry(i + 1, term)))
  return { log: new RaftLog({ storage, committed, applied: 0 }), storage }
}

describe('raft log', () => {
  test('appending after a matching prefix replaces only the conflicting suffix', () => {
    const { log } = logWith([1, 1, 2, 2])
    const last = log.maybeAppend({
      prevIndex: 2,
      prevTerm: 1,
      commit: 0,
      entries: [entry(3, 2), entry(4, 3), entry(5, 3)],
    })
    assert.equal(last, 5)
    assert.deepEqual(
      log.slice(1, 6, Infinity).map((e) => e.term),
      [1, 1, 2, 3, 3],
    )
    assert.deepEqual(
      log.unstableEntries().map((e) => e.index),
      [4, 5],
      'the matching entry 3 is not rewritten',
    )
    assert.equal(log.stableLastIndex(), 3, 'stable entries about to be replaced do not count')
  })

  test('a mismatching prevLog is refused and commit follows only what matched', () => {
    const { log } = logWith([1, 1, 2])
    assert.equal(log.maybeAppend({ prevIndex: 3, prevTerm: 3, commit: 3, entries: [] }), null)
    assert.equal(log.committed, 0)
    assert.equal(log.maybeAppend({ prevIndex: 2, prevTerm: 1, commit: 9, entries: [] }), 2)
    assert.equal(log.committed, 2, 'commit is capped at the last index known to match')
  })

  test('findConflictByTerm skips a whole term', () => {
    const { log } = logWith([1, 1, 2, 2, 2, 2, 4, 4])
    assert.deepEqual(log.findConflictByTerm(8, 3), { index: 6, term: 2 })
    assert.deepEqual(log.findConflictByTerm(8, 1), { index: 2, term: 1 })
    assert.deepEqual(log.findConflictByTerm(8, 0), { index: 0, term: 0 })
    assert.deepEqual(log.findConflictByTerm(5, 9), { index: 5, term: 2 })
  })

  test('a committed entry is never truncated and commit never moves back', () => {
    const { log } = logWith([1, 1, 2], 2)
    assert.throws(() => log.append([entry(2, 3)]), AssertionError)
    log.commitTo(1)
    assert.equal(log.committed, 2, 'a lower commit is ignored')
    assert.throws(() => log.commitTo(7), AssertionError, 'commit beyond the log')
  })

  test('applied never moves back nor passes commit', () => {
    const { log } = logWith([1, 1, 2], 2)
    log.appliedTo(2)
    assert.throws(() => log.appliedTo(1), AssertionError)
    assert.throws(() => log.appliedTo(3), AssertionError)
  })

  test('stableTo ignores an acknowledgement for entries since replaced', () => {
    const { log } = logWith([1])
    log.append([entry(2, 1), entry(3, 1)])
    log.append([entry(3, 2)])
    log.stableTo(3, 1)
    assert.equal(log.unstableEntries().length, 2, 'the stale ack does not drop entries')
    log.stableTo(3, 2)
    assert.equal(log.unstableEntries().length, 0)
  })

  test('slices and committed batches honour the byte bound but always carry one entry', () => {
    const { log } = logWith([1, 1, 1, 1], 4)
    assert.equal(log.slice(1, 5, 1).length, 1)
    assert.equal(log.slice(1, 5, 40).length, 2, 'two entries of 18 bytes fit in 40')
    assert.equal(log.nextCommitted(40).length, 2)
    assert.equal(log.nextCommitted(Infinity).length, 4)
  })

  test('isUpToDate compares last term, then length', () => {
    const { log } = logWith([1, 2, 2])
    assert.equal(log.isUpToDate(1, 3), true)
    assert.equal(log.isUpToDate(3, 2), true)
    assert.equal(log.isUpToDate(2, 2), false)
    assert.equal(log.isUpToDate(9, 1), false)
  })
})
