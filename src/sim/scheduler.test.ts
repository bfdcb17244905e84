/* The virtual-time scheduler: events run in (time, insertion) order, cancelled ones never run,
 * and time moves only as far as the caller allows. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Scheduler } from './scheduler.js'

test('events run in time order, ties in the order they were scheduled', () => {
  const scheduler = new Scheduler()
  const ran: string[] = []
  scheduler.at(20, () => ran.push('b'))
  scheduler.at(10, () => ran.push('a'))
  scheduler.at(20, () => ran.push('c'))
  scheduler.after(5, () => scheduler.after(0, () => ran.push('nested')))
  for (let event = scheduler.take(100); event !== null; event = scheduler.take(100)) event.run()
  assert.deepEqual(ran, ['nested', 'a', 'b', 'c'])
  assert.equal(scheduler.nowMs, 20)
})

test('a cancelled event never runs and time stops at the horizon', () => {
  const scheduler = new Scheduler()
  const ran: number[] = []
  scheduler.at(5, () => ran.push(5)).cancelled = true
  scheduler.at(30, () => ran.push(30))
  assert.equal(scheduler.take(20), null)
  scheduler.advanceTo(20)
  assert.equal(scheduler.nowMs, 20)
  scheduler.take(40)?.run()
  assert.deepEqual(ran, [30])
})

test('a thousand random events come out sorted', () => {
  const scheduler = new Scheduler()
  const times: number[] = []
  for (let i = 0; i < 1000; i++) scheduler.at((i * 7919) % 1013, () => times.push(scheduler.nowMs))
  for (let event = scheduler.take(2000); event !== null; event = scheduler.take(2000)) event.run()
  assert.equal(times.length, 1000)
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  )
})
