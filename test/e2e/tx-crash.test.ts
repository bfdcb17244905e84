/* Crash test for transactions: writers run MULTI/EXEC blocks (each sets every key of its writer
 * to the block's number and INCRs a counter; some blocks are larger than one group-commit batch,
 * so they reach the file in two writes) against a server with --fsync always, which is SIGKILLed
 * at a seeded random moment and restarted. Every acknowledged EXEC must be fully present and no
 * EXEC partly: a writer's keys all hold the same block number, equal to its counter, and at least
 * its last acknowledged block. SEED=n repeats a run. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../../src/core/rng.js'
import type { Rng } from '../../src/core/ports.js'
import type { Redis } from 'ioredis'
import {
  makeTempDir,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { connectAll, connectReady } from '../helpers/crash-client.js'

const writers = 4
const keysPerBlock = 6
const rounds = 3
/** Every this-many blocks a writer sends values big enough to exceed a 4 MiB write batch. */
const bigBlockEvery = 12
const bigValueBytes = 720 * 1024 // six of them exceed the 4 MiB batch

interface WriterState {
  /** Highest block number whose EXEC was acknowledged. */
  acked: number
  /** Highest block number sent. */
  sent: number
}

const keyOf = (writer: number, index: number): string => `tx{w${writer}}:k${index}`
const counterOf = (writer: number): string => `tx{w${writer}}:count`

/** Block `n`: every key = "n:<padding>", counter + 1 (so counter = n after blocks 1..n). */
async function runWriter(redis: Redis, writer: number, state: WriterState, rng: Rng) {
  try {
    for (;;) {
      const block = state.sent + 1
      const big = block % bigBlockEvery === 0
      const padding = 'x'.repeat(big ? bigValueBytes : 16 + rng.int(2048))
      const multi = redis.multi()
      for (let i = 0; i < keysPerBlock; i++) multi.set(keyOf(writer, i), `${block}:${padding}`)
      multi.incr(counterOf(writer))
      state.sent = block
      const results = await multi.exec()
      assert.ok(results !== null, 'no WATCH, so EXEC never aborts')
      for (const [error] of results) assert.equal(error, null)
      assert.equal(results.at(-1)?.[1], block, 'the counter counts the blocks')
      state.acked = block
    }
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error
  } finally {
    redis.disconnect()
  }
}

/** Checks every writer's keys after a restart; returns each writer's block on disk. */
async function verify(port: number, states: WriterState[]): Promise<number[]> {
  const redis = await connectReady(port)
  try {
    const blocks: number[] = []
    for (let writer = 0; writer < writers; writer++) {
      const state = states[writer] as WriterState
      const counter = Number((await redis.get(counterOf(writer))) ?? '0')
      const keys = Array.from({ length: keysPerBlock }, (_, i) => keyOf(writer, i))
      const values = await redis.mget(...keys)
      const numbers = values.map((value) => (value === null ? 0 : Number(value.split(':')[0])))
      assert.deepEqual(numbers, Array(keysPerBlock).fill(counter), `writer ${writer}: one block`)
      assert.ok(counter >= state.acked, `writer ${writer}: block ${state.acked} was acknowledged`)
      assert.ok(counter <= state.sent, `writer ${writer}: block ${counter} was never sent`)
      // Continue from what survived: an unacknowledged block may or may not have.
      state.acked = counter
      state.sent = counter
      blocks.push(counter)
    }
    return blocks
  } finally {
    redis.disconnect()
  }
}

describe('transaction crash safety', () => {
  test('after SIGKILL every acknowledged EXEC is whole and no EXEC is partial', async () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`tx crash test seed=${seed} (rerun with SEED=${seed})`)
    const rng = createRng(seed)
    const dir = makeTempDir('caskade-tx-crash-')
    const states: WriterState[] = Array.from({ length: writers }, () => ({ acked: 0, sent: 0 }))
    let ackedTotal = 0
    // A failed check must not leave the server running (the test process would never exit).
    let server: ServerProcess | undefined
    try {
      for (let round = 0; round < rounds; round++) {
        server = await startServerProcess({ dir, fsync: 'always' })
        if (round > 0) await verify(server.port, states)
        const before = states.reduce((sum, state) => sum + state.acked, 0)
        const killAfterMs = 300 + rng.int(1200)
        // Connected before the kill timer starts: a client killed mid-handshake never settles.
        const clients = await connectAll(server.port, writers)
        const running = states.map((state, writer) =>
          runWriter(clients[writer] as Redis, writer, state, rng),
        )
        await new Promise((resolve) => setTimeout(resolve, killAfterMs))
        await server.crash()
        await Promise.all(running)
        const acked = states.reduce((sum, state) => sum + state.acked, 0) - before
        console.log(`round ${round}: killed after ${killAfterMs} ms, ${acked} acknowledged EXECs`)
        ackedTotal += acked
      }
      // Per run, not per round: a round killed early may find every writer inside a big block.
      assert.ok(ackedTotal > 0, 'the writers got acknowledgements before the kills')
      server = await startServerProcess({ dir, fsync: 'always' })
      const blocks = await verify(server.port, states)
      console.log(`blocks on disk per writer: ${blocks.join(' ')}`)
      await server.stop()
    } catch (error) {
      console.log(`tx crash test FAILED with seed=${seed}`)
      throw error
    } finally {
      await server?.crash()
      removeDir(dir)
    }
  })
})
