/* The simulated network: seeded delays, drops and duplicates replay exactly; cut links lose
 * messages, including those in flight when the cut happens. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import type { RaftMessage } from '../raft/index.js'
import { SimNetwork } from './network.js'
import { Scheduler } from './scheduler.js'

function heartbeat(from: number, to: number, commit: number): RaftMessage {
  return { type: 'heartbeat', groupId: 1, from, to, term: 1, commit, readRound: 0 }
}

function deliveries(seed: number): string[] {
  const scheduler = new Scheduler()
  const got: string[] = []
  const network = new SimNetwork({
    scheduler,
    rng: createRng(seed),
    deliver: (m) =>
      got.push(`${scheduler.nowMs.toFixed(3)}:${m.type === 'heartbeat' ? m.commit : ''}`),
  })
  network.conditions = {
    dropRate: 0.2,
    duplicateRate: 0.2,
    reorderRate: 0.2,
    delayMsMin: 1,
    delayMsMax: 5,
    reorderDelayMsMax: 100,
  }
  for (let i = 0; i < 200; i++) network.send(heartbeat(1, 2, i))
  for (let event = scheduler.take(1e9); event !== null; event = scheduler.take(1e9)) event.run()
  return got
}

test('the same seed delivers the same messages at the same times; faults happen', () => {
  const first = deliveries(7)
  assert.deepEqual(deliveries(7), first)
  assert.notDeepEqual(deliveries(8), first)
  const commits = first.map((line) => Number(line.split(':')[1]))
  assert.ok(new Set(commits).size < 200, 'some messages were dropped')
  assert.ok(commits.length > new Set(commits).size, 'some were duplicated')
  assert.notDeepEqual(
    commits,
    [...commits].sort((a, b) => a - b),
    'some were reordered',
  )
})

test('a cut link drops messages, in flight ones too, until restored', () => {
  const scheduler = new Scheduler()
  const got: number[] = []
  const network = new SimNetwork({
    scheduler,
    rng: createRng(1),
    deliver: (m) => got.push(m.type === 'heartbeat' ? m.commit : -1),
  })
  network.send(heartbeat(1, 2, 1))
  network.cut([[1, 2]])
  network.send(heartbeat(1, 2, 2))
  network.send(heartbeat(2, 1, 3))
  for (let event = scheduler.take(100); event !== null; event = scheduler.take(100)) event.run()
  network.restore([[1, 2]])
  network.send(heartbeat(1, 2, 4))
  for (let event = scheduler.take(200); event !== null; event = scheduler.take(200)) event.run()
  assert.deepEqual(got, [3, 4])
  assert.equal(network.stats.dropped, 2)
})
