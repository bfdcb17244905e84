/* End to end, real processes on 127.0.0.1: INCRs pipelined on one follower connection while the
 * leader is SIGKILLed. The error contract allows only the reply, TRYAGAIN (nothing applied) or
 * UNCERTAIN (maybe applied): never an ERR; and the final counter counts every acknowledged INCR
 * once plus some of the uncertain ones (exactly-once sessions across reordered retries). */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import {
  makeTempDir,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { freePort, infoRaft, until } from '../helpers/cluster-e2e.js'

interface Node {
  readonly name: string
  readonly dir: string
  readonly clusterPort: number
  readonly process: ServerProcess
  readonly redis: Redis
}

async function startNode(name: string, extra: string[]): Promise<Node> {
  const dir = makeTempDir('caskade-sessions-')
  const [port, clusterPort] = [await freePort(), await freePort()]
  const args = ['--port', String(port), '--cluster-port', String(clusterPort), '--node-id', name]
  const process = await startServerProcess({ dir, args: [...args, ...extra] })
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
  redis.on('error', () => undefined) // the killed node's client: its errors are expected
  return { name, dir, clusterPort, process, redis }
}

interface Tally {
  ok: number
  uncertain: number
  tryAgain: number
  other: string[]
  values: number[]
}

/** One pipeline of `count` INCRs on `redis`, tallied by outcome. */
async function pipelinedIncrs(redis: Redis, count: number, tally: Tally): Promise<void> {
  const pipeline = redis.pipeline()
  for (let i = 0; i < count; i++) pipeline.incr('counter')
  for (const [error, value] of (await pipeline.exec()) ?? []) {
    if (error === null) {
      tally.ok++
      tally.values.push(Number(value))
    } else if (error.message.startsWith('UNCERTAIN')) tally.uncertain++
    else if (error.message.startsWith('TRYAGAIN')) tally.tryAgain++
    else tally.other.push(error.message)
  }
}

describe('exactly-once pipelined writes through a leader failover', () => {
  const nodes: Node[] = []

  before(async () => {
    const first = await startNode('n1', ['--bootstrap'])
    nodes.push(first)
    for (const name of ['n2', 'n3']) {
      nodes.push(await startNode(name, ['--join', `127.0.0.1:${first.clusterPort}`]))
    }
    await until('three voters on every node', async () => {
      const infos = await Promise.all(nodes.map((node) => infoRaft(node.redis)))
      return infos.every((info) => info.members === '3' && info.learners === '0') ? infos : null
    })
  })

  after(async () => {
    for (const node of nodes) {
      node.redis.disconnect()
      await node.process.stop()
      removeDir(node.dir)
    }
  })

  test('INCRs pipelined on a follower while the leader is SIGKILLed: no ERR, counted once', async (t) => {
    const leader = await until('a leader', async () => {
      for (const node of nodes) if ((await infoRaft(node.redis)).role === 'leader') return node
      return null
    })
    const follower = nodes.find((node) => node !== leader)
    assert.ok(follower !== undefined)
    const tally: Tally = { ok: 0, uncertain: 0, tryAgain: 0, other: [], values: [] }
    // A pipeline of 10 every 5 ms, not waiting for the earlier ones: writes that fail at
    // different moments retry at different moments, so their retries reach the leader reordered.
    const load = (async () => {
      const pipelines: Array<Promise<void>> = []
      const stopAtMs = Date.now() + 4000
      while (Date.now() < stopAtMs) {
        pipelines.push(pipelinedIncrs(follower.redis, 10, tally))
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await Promise.all(pipelines)
    })()
    await new Promise((resolve) => setTimeout(resolve, 700))
    await leader.process.crash()
    await load
    // Writes acknowledged after the failover too: the new leader serves the same session.
    await until('a new leader', async () => {
      const leaderId = (await infoRaft(follower.redis)).leader_id
      return leaderId !== undefined && leaderId !== '' && leaderId !== leader.name ? leaderId : null
    })
    await pipelinedIncrs(follower.redis, 50, tally)
    const counter = Number(await follower.redis.get('counter'))
    const { ok, uncertain, tryAgain, other } = tally
    t.diagnostic(JSON.stringify({ ok, uncertain, tryAgain, other: other.slice(0, 3), counter }))
    assert.ok(
      tally.ok > 100,
      `writes were acknowledged (${JSON.stringify({ ...tally, values: 0 })})`,
    )
    assert.equal(new Set(tally.values).size, tally.ok, 'every acknowledged INCR has its own value')
    assert.deepEqual(tally.other, [], 'only the reply, TRYAGAIN or UNCERTAIN')
    assert.ok(counter >= tally.ok, `counter ${counter} counts every acknowledged INCR`)
    assert.ok(
      counter <= tally.ok + tally.uncertain,
      `counter ${counter} <= ok ${tally.ok} + uncertain ${tally.uncertain}`,
    )
  })
})
