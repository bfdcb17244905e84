/* Pipelined writes of one session over the simulator's network: many sequences in flight at once,
 * each retried (same sequence) on timeouts and failures at whatever node, so retries reach the
 * leader out of order, across a leader crash. Every write must be applied exactly once and get
 * its own reply; none may be refused as stale. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NodeId } from '../raft/index.js'
import { KvStateMachine, decodeKvReply, encodeKvCommand } from '../replica/kv-state-machine.js'
import { SessionClient } from '../replica/session-client.js'
import type { ReplicaResult } from '../replica/types.js'
import { runSeed, type SimWorld } from './run.js'
import { deps, explain, simConfig } from './test-support.js'

const writesTotal = 150
const windowMax = 16
const attemptTimeoutMs = 30

interface PipelineLog {
  readonly replies: Map<number, number>
  failures: string[]
  attempts: number
}

/** One session keeping `windowMax` appends in flight, each retried until a definite reply. */
function pipeline(world: SimWorld, log: PipelineLog): void {
  const { cluster, scheduler, rng } = world
  const session = new SessionClient(4242, windowMax)
  let started = 0
  const attempt = (sequence: number, command: Uint8Array): void => {
    log.attempts++
    const leader = cluster.leader()?.id
    const targets = cluster.targets()
    const to: NodeId = leader ?? targets[rng.int(targets.length)] ?? 1
    let settled = false
    const retry = (delayMs: number): void => {
      if (settled) return
      settled = true
      scheduler.after(delayMs, () => attempt(sequence, command))
    }
    scheduler.after(attemptTimeoutMs, () => retry(0))
    const { clientId, ackedThrough } = session
    cluster.write(to, { clientId, sequence, ackedThrough, command }, (result: ReplicaResult) => {
      if (settled) return
      if (!result.ok) {
        if (result.error === 'stale' || result.error === 'refused') {
          log.failures.push(`${sequence}: ${result.error}`)
        } else {
          return retry(5)
        }
      } else {
        const reply = decodeKvReply(result.reply)
        log.replies.set(sequence, reply.op === 'append' ? reply.length : -1)
      }
      settled = true
      session.answered(sequence)
      fill()
    })
  }
  const fill = (): void => {
    while (started < writesTotal && session.canStart) {
      started++
      const sequence = session.next()
      attempt(sequence, encodeKvCommand({ op: 'append', key: 'p', value: `${sequence};` }))
    }
  }
  scheduler.at(100, fill)
  // The leader dies while writes are in flight; it comes back on its disk.
  scheduler.at(400, () => {
    const leader = cluster.leader()
    if (leader === null) return
    cluster.crash(leader.id, false)
    scheduler.after(300, () => cluster.start(leader.id))
  })
}

test('pipelined writes retried out of order over a lossy network apply exactly once', async () => {
  const log: PipelineLog = { replies: new Map(), failures: [], attempts: 0 }
  let world: SimWorld | null = null
  const result = await runSeed(simConfig({ seed: 31, faults: [], clients: 1 }), deps, (w) => {
    world = w
    w.cluster.network.conditions = {
      dropRate: 0.05,
      duplicateRate: 0.2,
      reorderRate: 0.2,
      delayMsMin: 2,
      delayMsMax: 20,
      reorderDelayMsMax: 60,
    }
    pipeline(w, log)
  })
  assert.equal(result.failure, null, explain(result))
  assert.deepEqual(log.failures, [])
  assert.equal(log.replies.size, writesTotal, 'every write got a definite reply')
  assert.ok(log.attempts > writesTotal, `retries happened (${log.attempts} attempts)`)
  const finalWorld = world as SimWorld | null
  assert.ok(finalWorld !== null)
  const leader = finalWorld.cluster.leader()
  assert.ok(leader?.stateMachine instanceof KvStateMachine)
  const tokens = (leader.stateMachine.get('p') ?? '').split(';').filter((t) => t !== '')
  const applied = tokens.map(Number)
  assert.equal(applied.length, writesTotal, 'each write applied once')
  assert.equal(new Set(applied).size, writesTotal, 'no write applied twice')
  const inversions = applied.filter((sequence, i) => i > 0 && sequence < (applied[i - 1] ?? 0))
  assert.ok(inversions.length > 0, 'retries did reach the log out of order')
  // Each reply is the length after that write's own append: the first reply, never a second.
  const replyLengths = new Set(log.replies.values())
  assert.equal(replyLengths.size, writesTotal)
  let length = 0
  for (const sequence of applied) {
    length += `${sequence};`.length
    assert.equal(log.replies.get(sequence), length, `reply of write ${sequence}`)
  }
})
