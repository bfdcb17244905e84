/* Unit tests of the leader's per-follower progress: the in-flight window's two bounds, probe vs
 * replicate pacing, and how rejections (with hints) move `next` back. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Inflights, Progress } from './progress.js'

describe('raft progress', () => {
  test('the in-flight window is bounded by messages and by bytes', () => {
    const byCount = new Inflights({ messagesMax: 2, bytesMax: 1000 })
    byCount.add(1, 10)
    byCount.add(2, 10)
    assert.equal(byCount.full(), true)
    byCount.freeLE(1)
    assert.equal(byCount.full(), false)
    assert.equal(byCount.count, 1)

    const byBytes = new Inflights({ messagesMax: 100, bytesMax: 100 })
    byBytes.add(5, 60)
    assert.equal(byBytes.full(), false)
    byBytes.add(9, 60)
    assert.equal(byBytes.full(), true, 'over the byte bound')
    byBytes.freeFirst()
    assert.equal(byBytes.bytes, 60)
  })

  test('probe sends one append at a time; replicate pipelines up to the window', () => {
    const progress = new Progress({ next: 5, inflightMessagesMax: 2, inflightBytesMax: 1000 })
    assert.equal(progress.paused(), false)
    progress.sentEntries({ entryCount: 1, lastIndex: 5, sizeBytes: 10 })
    assert.equal(progress.paused(), true, 'probe waits for the answer')
    progress.maybeUpdate(5)
    progress.becomeReplicate()
    assert.equal(progress.next, 6)
    progress.sentEntries({ entryCount: 2, lastIndex: 7, sizeBytes: 20 })
    progress.sentEntries({ entryCount: 1, lastIndex: 8, sizeBytes: 10 })
    assert.equal(progress.next, 9, 'optimistic next')
    assert.equal(progress.paused(), true, 'window full')
  })

  test('rejections move next back, using the hint; stale ones are ignored', () => {
    const progress = new Progress({ next: 101, inflightMessagesMax: 4, inflightBytesMax: 1000 })
    assert.equal(progress.maybeDecrTo(99, 10), false, 'not the probe we sent')
    assert.equal(progress.maybeDecrTo(100, 10), true)
    assert.equal(progress.next, 11, 'jumps straight past the divergent term')
    progress.maybeUpdate(10)
    progress.becomeReplicate()
    progress.sentEntries({ entryCount: 5, lastIndex: 15, sizeBytes: 50 })
    assert.equal(progress.maybeDecrTo(9, 0), false, 'below match: stale')
    assert.equal(progress.maybeDecrTo(15, 12), true)
    assert.equal(progress.next, 11, 'replicate falls back to match + 1')
  })
})
