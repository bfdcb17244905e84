import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TimingWheel, cascadeMovesPerVisit } from './timing-wheel.js'

const resolutionMs = 10
const startMs = 1_700_000_000_000

function newWheel(): TimingWheel<number> {
  return new TimingWheel<number>({ resolutionMs, startMs })
}

describe('timing wheel', () => {
  test('an item fires after its time, within one resolution', () => {
    const wheel = newWheel()
    wheel.insert(1, startMs + 1000)
    const fired: number[] = []
    const visit = (item: number): void => void fired.push(item)
    wheel.advance(startMs + 1000, visit, 100)
    assert.equal(fired.length, 0, 'not while now <= atMs')
    wheel.advance(startMs + 1000 + resolutionMs, visit, 100)
    assert.deepEqual(fired, [1])
    assert.equal(wheel.size(), 0)
  })

  test('items in the past fire on the next advance', () => {
    const wheel = newWheel()
    wheel.insert(7, startMs - 5000)
    wheel.insert(8, 0)
    const fired: number[] = []
    wheel.advance(startMs, (item) => void fired.push(item), 10)
    assert.deepEqual(fired.sort(), [7, 8])
  })

  test('a budget spreads a burst over several advances, resuming where it stopped', () => {
    const wheel = newWheel()
    for (let i = 0; i < 1000; i++) wheel.insert(i, startMs + 500)
    const fired: number[] = []
    const visit = (item: number): void => void fired.push(item)
    const nowMs = startMs + 600
    assert.equal(wheel.advance(nowMs, visit, 300), 300)
    assert.equal(wheel.advance(nowMs, visit, 300), 300)
    assert.equal(wheel.advance(nowMs, visit, 300), 300)
    assert.equal(wheel.advance(nowMs, visit, 300), 100)
    assert.equal(wheel.advance(nowMs, visit, 300), 0)
    assert.deepEqual(
      fired.sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    )
  })

  test('cascading a crowded far slot is budgeted too', () => {
    const wheel = newWheel()
    const count = 20_000
    const atMs = startMs + 3600_000 // an hour ahead: level 2
    for (let i = 0; i < count; i++) wheel.insert(i, atMs + (i % 50))
    let visited = 0
    let calls = 0
    const budget = 50
    let previous = wheel.backlog().cascading
    let largestBacklog = 0
    while (visited < count) {
      visited += wheel.advance(atMs + 100, () => undefined, budget)
      const { cascading } = wheel.backlog()
      assert.ok(previous - cascading <= budget * cascadeMovesPerVisit, 'cascade moves are budgeted')
      largestBacklog = Math.max(largestBacklog, cascading)
      previous = cascading
      calls++
      assert.ok(calls < 10_000, 'terminates')
    }
    assert.ok(largestBacklog > 0, 'the cascade was spread over several calls')
    assert.equal(visited, count)
    assert.ok(calls >= count / budget, 'visits never exceed the budget')
  })

  test('items beyond the horizon are parked and still fire on time', () => {
    const wheel = newWheel()
    const horizonMs = 64 ** 4 * resolutionMs
    const atMs = startMs + 3 * horizonMs + 12_345
    wheel.insert(1, atMs)
    const fired: number[] = []
    let nowMs = startMs
    // Big jumps up to just before the time, then small steps.
    while (nowMs < atMs - horizonMs / 2) {
      nowMs += horizonMs / 7
      wheel.advance(nowMs, (item) => void fired.push(item), 10)
    }
    assert.equal(fired.length, 0)
    wheel.advance(atMs, (item) => void fired.push(item), 10)
    assert.equal(fired.length, 0, 'not at atMs itself')
    wheel.advance(atMs + resolutionMs, (item) => void fired.push(item), 10)
    assert.deepEqual(fired, [1])
  })

  test('a visitor may insert (re-scheduling itself)', () => {
    const wheel = newWheel()
    wheel.insert(1, startMs + 100)
    const fired: Array<[number, number]> = []
    let nowMs = startMs
    for (let step = 0; step < 100; step++) {
      nowMs += 25
      wheel.advance(
        nowMs,
        (item, atMs) => {
          fired.push([item, nowMs])
          if (item < 3) wheel.insert(item + 1, atMs + 500)
        },
        10,
      )
    }
    assert.deepEqual(
      fired.map(([item]) => item),
      [1, 2, 3],
    )
  })

  test('clear drops every item', () => {
    const wheel = newWheel()
    for (let i = 0; i < 100; i++) wheel.insert(i, startMs + i * 1000)
    wheel.clear()
    assert.equal(wheel.size(), 0)
    let visited = 0
    wheel.advance(startMs + 1_000_000, () => void visited++, 1000)
    assert.equal(visited, 0)
  })

  test('property: every item fires once, after its time and at most one resolution late', () => {
    const item = fc.record({
      offsetMs: fc.oneof(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.integer({ min: 0, max: 64 ** 4 * resolutionMs * 3 }),
      ),
    })
    const step = fc.oneof(
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 5_000 }),
      fc.integer({ min: 0, max: 64 ** 3 * resolutionMs }),
    )
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 60 }),
        fc.array(step, { maxLength: 80 }),
        (items, steps) => {
          const wheel = newWheel()
          items.forEach(({ offsetMs }, index) => wheel.insert(index, startMs + offsetMs))
          const firedAt = new Map<number, number>()
          let previousNowMs = -Infinity
          let nowMs = startMs
          const check = (index: number, atMs: number): void => {
            assert.ok(!firedAt.has(index), `item ${index} fired twice`)
            firedAt.set(index, nowMs)
            assert.ok(nowMs > atMs, `item ${index} fired early: now ${nowMs} <= ${atMs}`)
            assert.ok(
              previousNowMs < atMs + resolutionMs,
              `item ${index} fired late: an earlier advance at ${previousNowMs} passed ${atMs}`,
            )
          }
          const advanceTo = (toMs: number): void => {
            nowMs = toMs
            wheel.advance(nowMs, check, Infinity)
            previousNowMs = nowMs
          }
          for (const delta of steps) advanceTo(nowMs + delta)
          const lastMs = startMs + Math.max(0, ...items.map((i) => i.offsetMs)) + resolutionMs
          advanceTo(Math.max(nowMs, lastMs))
          assert.equal(firedAt.size, items.length, 'every item fired')
          assert.equal(wheel.size(), 0)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('property: with small budgets items still all fire, in time order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 7 }),
        (offsets, budget) => {
          const wheel = newWheel()
          offsets.forEach((offsetMs, index) => wheel.insert(index, startMs + offsetMs))
          const order: number[] = []
          const nowMs = startMs + 2_000_000 + resolutionMs
          let calls = 0
          while (order.length < offsets.length) {
            const visited = wheel.advance(nowMs, (_, atMs) => void order.push(atMs), budget)
            assert.ok(visited <= budget)
            calls++
            assert.ok(calls < 100_000)
          }
          const ticks = order.map((atMs) => Math.floor(atMs / resolutionMs))
          for (let i = 1; i < ticks.length; i++) {
            assert.ok((ticks[i - 1] as number) <= (ticks[i] as number), 'tick order')
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
