/* Simulated machine time: drifting clocks, timers that wait out a pause (a stopped process
 * catches up with one interval fire) and die with their process. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NodeProcess, SimClock } from './node-ports.js'
import { Scheduler } from './scheduler.js'

function runAll(scheduler: Scheduler, untilMs: number): void {
  for (let event = scheduler.take(untilMs); event !== null; event = scheduler.take(untilMs)) {
    event.run()
  }
  scheduler.advanceTo(untilMs)
}

test('a fast clock fires its timers early in virtual time and stays monotonic', () => {
  const scheduler = new Scheduler()
  const clock = new SimClock(scheduler, 1000)
  clock.setRate(2)
  const process = new NodeProcess(scheduler, clock)
  let firedAtMs = -1
  process.timers.after(100, () => (firedAtMs = scheduler.nowMs))
  runAll(scheduler, 60)
  assert.equal(firedAtMs, 50)
  assert.equal(clock.monotonicMs(), 1120)
  clock.setRate(0.5)
  runAll(scheduler, 100)
  assert.equal(clock.monotonicMs(), 1140)
  assert.ok(clock.wallMs() > 1_700_000_000_000)
})

test('a paused process runs what it missed in order once it resumes', () => {
  const scheduler = new Scheduler()
  const process = new NodeProcess(scheduler, new SimClock(scheduler, 0))
  const ran: string[] = []
  let ticks = 0
  process.timers.every(10, () => ticks++)
  scheduler.at(5, () => process.pause(100))
  scheduler.at(20, () => process.run(() => ran.push(`message at ${scheduler.nowMs}`)))
  scheduler.at(30, () => process.timers.defer(() => ran.push(`deferred at ${scheduler.nowMs}`)))
  runAll(scheduler, 104)
  assert.equal(ticks, 0, 'no tick while paused')
  assert.deepEqual(ran, [])
  runAll(scheduler, 106)
  assert.equal(ticks, 1, 'one catch-up tick, not ten')
  assert.deepEqual(ran, ['message at 105', 'deferred at 105'])
  runAll(scheduler, 131)
  assert.equal(ticks, 4)
})

test('nothing of a killed process runs again; cancelled timers stop', () => {
  const scheduler = new Scheduler()
  const process = new NodeProcess(scheduler, new SimClock(scheduler, 0))
  let fired = 0
  const cancel = process.timers.every(10, () => fired++)
  process.timers.after(50, () => (fired += 100))
  runAll(scheduler, 25)
  assert.equal(fired, 2)
  cancel()
  runAll(scheduler, 45)
  assert.equal(fired, 2)
  process.kill()
  process.run(() => (fired += 1000))
  runAll(scheduler, 100)
  assert.equal(fired, 2)
  assert.equal(process.alive, false)
})
