/* End to end, real processes with a small snapshot interval (--snapshot-interval 500): a follower
 * SIGKILLed while thousands of writes go by catches up by installing the leader's file snapshot
 * (its snapshot index moves, its log says so) and holds every key; a fourth node joining after
 * the log was compacted gets every key the same way; a restart of every node opens each one from
 * its own snapshot and replays only the log after it (fewer entries than the interval). */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { startCluster, type Cluster } from '../helpers/cluster-process.js'
import { connectClient } from '../helpers/history-clients.js'
import { parseLogLine } from '../helpers/server-process.js'

const interval = 500
const batch = 500
/** One hash tag: every key in one slot, so MGET is one command. */
const keyOf = (i: number): string => `{snap}:${i}`
const valueOf = (i: number): string => `value-${i}`

async function withClient<T>(cluster: Cluster, name: string, run: (r: Redis) => Promise<T>) {
  const redis = await connectClient(cluster.node(name).port, 10_000)
  try {
    return await run(redis)
  } finally {
    redis.disconnect()
  }
}

/** SETs keys [from, to) on the leader, pipelined `batch` at a time. */
async function writeKeys(cluster: Cluster, from: number, to: number): Promise<void> {
  const leader = await cluster.leader()
  await withClient(cluster, leader, async (redis) => {
    for (let start = from; start < to; start += batch) {
      const pipeline = redis.pipeline()
      for (let i = start; i < Math.min(to, start + batch); i++) pipeline.set(keyOf(i), valueOf(i))
      const results = (await pipeline.exec()) ?? []
      for (const [error] of results) assert.equal(error, null)
    }
  })
}

/** Every key [0, count) with its value, read on `name`. */
async function assertKeys(cluster: Cluster, name: string, count: number): Promise<void> {
  await withClient(cluster, name, async (redis) => {
    assert.equal(await redis.dbsize(), count, `${name} holds ${count} keys`)
    for (let start = 0; start < count; start += batch) {
      const keys = Array.from({ length: Math.min(batch, count - start) }, (_, j) =>
        keyOf(start + j),
      )
      const values = await redis.mget(...keys)
      values.forEach((value, j) => assert.equal(value, valueOf(start + j), `${name} ${keys[j]}`))
    }
  })
}

/** The log records of `name`'s latest run with this message. */
function logsSinceStart(
  cluster: Cluster,
  name: string,
  msg: string,
): Array<Record<string, unknown>> {
  const lines = cluster.node(name).lines
  const start = lines.findLastIndex((line) => line.startsWith('---- start'))
  return lines
    .slice(start + 1)
    .map((line) => parseLogLine(line))
    .filter((record): record is Record<string, unknown> => record?.msg === msg)
}

describe('file snapshots of the replicated keyspace', () => {
  let cluster: Cluster
  let written = 0

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      spares: 1,
      args: ['--snapshot-interval', String(interval)],
    })
  })

  after(async () => {
    await cluster.stop()
  })

  test('a follower killed during thousands of writes installs a snapshot and holds every key', async () => {
    const leader = await cluster.leader()
    const follower = cluster.names().find((name) => name !== leader) as string
    const before = Number((await cluster.info(follower)).snapshot_index)
    await cluster.kill(follower)
    await writeKeys(cluster, 0, 5000)
    written = 5000
    const leaderInfo = await cluster.info(leader)
    assert.ok(Number(leaderInfo.snapshot_index) > before + interval, 'the leader compacted its log')
    await cluster.restart(follower)
    await cluster.waitConverged(30_000)
    const after = Number((await cluster.info(follower)).snapshot_index)
    assert.ok(after > before + interval, `snapshot index moved from ${before} to ${after}`)
    const installed = logsSinceStart(cluster, follower, 'state machine snapshot installed')
    assert.ok(installed.length > 0, 'the follower installed a file snapshot')
    assert.equal(installed[0]?.fetched, true, 'its files came from the leader')
    await assertKeys(cluster, follower, written)
  })

  test('a node that joins after compaction gets every key', async () => {
    await cluster.join('n4')
    await cluster.waitMembers(4, 30_000)
    await cluster.waitConverged(30_000)
    assert.ok(logsSinceStart(cluster, 'n4', 'state machine snapshot installed').length > 0)
    await assertKeys(cluster, 'n4', written)
  })

  test('a restart of every node opens its snapshot and replays only the log after it', async () => {
    await writeKeys(cluster, written, written + 1234)
    written += 1234
    await cluster.waitConverged(30_000)
    const names = cluster.names()
    await Promise.all(names.map((name) => cluster.kill(name, 'SIGKILL')))
    await Promise.all(names.map((name) => cluster.restart(name)))
    await cluster.leader({ timeoutMs: 20_000 })
    await cluster.waitConverged(30_000)
    for (const name of names) {
      const [replayed] = logsSinceStart(cluster, name, 'replayed the log after the snapshot')
      assert.ok(replayed !== undefined, `${name} reports its replay`)
      const entries = Number(replayed.entries)
      assert.ok(Number(replayed.snapshotIndex) > 0, `${name} opened from a snapshot`)
      assert.ok(entries < interval, `${name} replayed ${entries} entries`)
    }
    for (const name of names) await assertKeys(cluster, name, written)
  })
})
