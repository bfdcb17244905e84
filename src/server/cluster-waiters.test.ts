/* The waiting index of cluster-mode blocked clients: FIFO per key, one attempt per key at a
 * time, no modification missed while an attempt is in flight, and keys handed on after a pop. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { WaitingIndex, type Waiter } from './cluster-waiters.js'

const waiter = (name: string, ...keyNames: string[]): Waiter & { name: string } => ({
  name,
  keyNames,
})
type Named = ReturnType<typeof waiter>
const names = (due: readonly Named[]): string[] => due.map((w) => w.name)

describe('WaitingIndex', () => {
  test('a write to a key nobody waits on wakes nobody', () => {
    const index = new WaitingIndex<Named>()
    index.add(waiter('a', 'k'), false)
    assert.equal(index.keyModified('other'), false)
    assert.equal(index.hasReady(), false)
    assert.deepEqual(index.takeDue(), [])
  })

  test('the first client to block is tried first, and alone, for a key', () => {
    const index = new WaitingIndex<Named>()
    const a = waiter('a', 'k')
    const b = waiter('b', 'k')
    index.add(a, false)
    index.add(b, false)
    assert.equal(index.keyModified('k'), true)
    assert.deepEqual(names(index.takeDue()), ['a'])
    assert.equal(index.isAttempting(a), true)
    // a's attempt popped: it leaves, and the key is handed on to b.
    index.remove(a)
    assert.deepEqual(names(index.takeDue()), ['b'])
  })

  test('a write during an attempt keeps the key ready until the attempt ends', () => {
    const index = new WaitingIndex<Named>()
    const a = waiter('a', 'k')
    index.add(a, true) // its first attempt is in flight
    index.keyModified('k')
    assert.deepEqual(names(index.takeDue()), [], 'no second attempt while one is in flight')
    assert.equal(index.hasReady(), true)
    index.foundNothing(a)
    assert.deepEqual(names(index.takeDue()), ['a'], 'tried again: the write may be after it')
    index.foundNothing(a)
    assert.equal(index.hasReady(), false, 'an attempt that saw the write settles the key')
  })

  test('a client waiting on two keys is tried once per round, for both', () => {
    const index = new WaitingIndex<Named>()
    const a = waiter('a', 'k1', 'k2')
    const b = waiter('b', 'k2')
    index.add(a, false)
    index.add(b, false)
    index.keyModified('k1')
    index.keyModified('k2')
    assert.deepEqual(names(index.takeDue()), ['a'])
    assert.equal(index.hasReady(), false)
    // a found nothing: both keys were seen empty after the writes, b is not tried for them.
    index.foundNothing(a)
    assert.deepEqual(names(index.takeDue()), [])
    // a is served from k1: k2, which its attempt covered, goes on to b.
    index.keyModified('k2')
    assert.deepEqual(names(index.takeDue()), ['a'])
    index.remove(a)
    assert.deepEqual(names(index.takeDue()), ['b'])
  })

  test('a client that leaves while waiting leaves every queue', () => {
    const index = new WaitingIndex<Named>()
    const a = waiter('a', 'k1', 'k2')
    index.add(a, false)
    index.remove(a)
    index.remove(a) // idempotent
    assert.equal(index.size, 0)
    assert.equal(index.keyModified('k1'), false)
    assert.equal(index.everyKeyModified(), false)
  })

  test('an installed snapshot makes every waited key ready', () => {
    const index = new WaitingIndex<Named>()
    index.add(waiter('a', 'k1'), false)
    index.add(waiter('b', 'k2'), false)
    assert.equal(index.everyKeyModified(), true)
    assert.deepEqual(names(index.takeDue()).sort(), ['a', 'b'])
  })
})
