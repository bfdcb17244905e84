/* The crash test: writers send SETs with unique values over several connections to a server with
 * --fsync always; the server is SIGKILLed at a random moment (the seed is printed; SEED=n repeats
 * it), restarted, and every acknowledged write must be there with its value (or a value the same
 * connection sent after it: a write can be durable without its acknowledgement arriving). */
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
const keysPerWriter = 40
const inflightPerWriter = 16
const rounds = 2

interface KeyHistory {
  /** Values in the order this key's only writer sent them. */
  sent: string[]
  /** Index in `sent` of the newest acknowledged value; -1 if none. */
  ackedIndex: number
}

/** Writes until the connection dies; returns how many SETs were acknowledged. */
async function runWriter(options: {
  redis: Redis
  writerId: number
  round: number
  rng: Rng
  history: Map<string, KeyHistory>
}): Promise<number> {
  const redis = options.redis
  let acked = 0
  let sequence = 0
  let alive = true
  const sendOne = async (): Promise<void> => {
    const key = `w${options.writerId}:k${options.rng.int(keysPerWriter)}`
    const value = `w${options.writerId}-r${options.round}-s${sequence++}-${options.rng.int(1e9)}`
    const entry = options.history.get(key) ?? { sent: [], ackedIndex: -1 }
    options.history.set(key, entry)
    entry.sent.push(value)
    const index = entry.sent.length - 1
    const reply = await redis.set(key, value)
    assert.equal(reply, 'OK')
    entry.ackedIndex = Math.max(entry.ackedIndex, index)
    acked++
  }
  const lane = async (): Promise<void> => {
    while (alive) {
      try {
        await sendOne()
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error
        alive = false
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: inflightPerWriter }, lane))
  } finally {
    redis.disconnect()
  }
  return acked
}

async function verify(port: number, history: Map<string, KeyHistory>): Promise<number> {
  const redis = await connectReady(port)
  try {
    let checked = 0
    for (const [key, entry] of history) {
      const value = await redis.get(key)
      if (entry.ackedIndex < 0) {
        assert.ok(value === null || entry.sent.includes(value), `${key}: unknown value ${value}`)
        continue
      }
      assert.ok(value !== null, `${key}: acknowledged write lost`)
      const index = entry.sent.indexOf(value)
      assert.ok(
        index >= entry.ackedIndex,
        `${key}: has ${value} (#${index}) but #${entry.ackedIndex} was acknowledged`,
      )
      checked++
    }
    return checked
  } finally {
    redis.disconnect()
  }
}

describe('crash safety', () => {
  test('every acknowledged write survives SIGKILL with --fsync always', async () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`crash test seed=${seed} (rerun with SEED=${seed})`)
    const rng = createRng(seed)
    const dir = makeTempDir('caskade-crash-')
    const history = new Map<string, KeyHistory>()
    // A failed check must not leave the server running (the test process would never exit).
    let server: ServerProcess | undefined
    try {
      for (let round = 0; round < rounds; round++) {
        server = await startServerProcess({ dir, fsync: 'always' })
        if (round > 0) await verify(server.port, history)
        const killAfterMs = 300 + rng.int(1200)
        // Connected before the kill timer starts: a client killed mid-handshake never settles.
        const clients = await connectAll(server.port, writers)
        const running = clients.map((redis, writerId) =>
          runWriter({ redis, writerId, round, rng, history }),
        )
        await new Promise((resolve) => setTimeout(resolve, killAfterMs))
        await server.crash()
        const acked = (await Promise.all(running)).reduce((sum, count) => sum + count, 0)
        console.log(`round ${round}: killed after ${killAfterMs} ms, ${acked} acknowledged SETs`)
        assert.ok(acked > 0, 'the writers got acknowledgements before the kill')
      }
      server = await startServerProcess({ dir, fsync: 'always' })
      const checked = await verify(server.port, history)
      assert.ok(checked > 0)
      await server.stop()
    } catch (error) {
      console.log(`crash test FAILED with seed=${seed}`)
      throw error
    } finally {
      await server?.crash()
      removeDir(dir)
    }
  })
})
