/* End to end, a real 3-node cluster on 127.0.0.1: blocking commands on any node. A client blocked
 * on one node is served by a push on another; of two clients blocked on different nodes one push
 * serves exactly one; timeouts answer nil (RESP2 and RESP3); BLMOVE chains across nodes;
 * BZPOPMIN; CLIENT UNBLOCK, INFO and CLIENT LIST see a blocked client; a disconnected one pops
 * nothing; a client blocked across a leader SIGKILL, or whose attempt went to a paused leader, is
 * served once or answered TRYAGAIN/UNCERTAIN, never losing the element. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startCluster, type Cluster } from '../helpers/cluster-process.js'
import { until } from '../helpers/cluster-e2e.js'

function client(port: number): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
  redis.on('error', () => undefined) // a killed node's client: its errors are expected
  return redis
}

/** INFO clients blocked_clients of the node behind `redis`. */
async function blockedClients(redis: Redis): Promise<number> {
  const match = /blocked_clients:(\d+)/.exec(await redis.info('clients'))
  return Number(match?.[1] ?? -1)
}

async function waitBlocked(redis: Redis, count: number): Promise<void> {
  await until(`${count} blocked clients`, async () =>
    (await blockedClients(redis)) === count ? true : null,
  )
}

/** Writes `request` on a raw socket and resolves with everything read within `waitMs`. */
async function rawExchange(port: number, request: string, waitMs: number): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  let text = ''
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
  socket.write(request)
  await sleep(waitMs)
  socket.destroy()
  return text
}

describe('blocking commands on a 3-node cluster', () => {
  let cluster: Cluster
  let leader = ''
  let followers: string[] = []
  const clients: Redis[] = []
  const on = (name: string): Redis => {
    const redis = client(cluster.node(name).port)
    clients.push(redis)
    return redis
  }

  before(async () => {
    cluster = await startCluster({ nodes: 3 })
    leader = await cluster.leader()
    followers = cluster.names().filter((name) => name !== leader)
  })

  after(async () => {
    for (const redis of clients) redis.disconnect()
    await cluster.stop()
  })

  test('BLPOP on a follower is served by an RPUSH on the leader, and vice versa', async () => {
    const [follower] = followers as [string]
    const blocked = on(follower).blpop('q1', 0)
    await waitBlocked(on(follower), 1)
    assert.equal(await on(leader).rpush('q1', 'a'), 1)
    assert.deepEqual(await blocked, ['q1', 'a'])

    const onLeader = on(leader).brpop('q2', 0)
    await waitBlocked(on(leader), 1)
    await on(follower).rpush('q2', 'b')
    assert.deepEqual(await onLeader, ['q2', 'b'])
    assert.equal(await on(leader).exists('q1', 'q2'), 0)
  })

  test('two clients blocked on two nodes and one push: exactly one is served', async () => {
    const [first, second] = followers as [string, string]
    const watchFirst = on(first)
    const watchSecond = on(second)
    const replies: Array<[string, string] | null> = []
    const a = on(first)
      .blpop('q3', 0)
      .then((reply) => replies.push(reply))
    const b = on(second)
      .blpop('q3', 0)
      .then((reply) => replies.push(reply))
    await waitBlocked(watchFirst, 1)
    await waitBlocked(watchSecond, 1)
    await on(leader).rpush('q3', 'one')
    await until('one client served', () => Promise.resolve(replies.length === 1 ? true : null))
    await sleep(300) // the other one stays blocked: no second reply comes
    assert.equal(replies.length, 1)
    assert.equal((await blockedClients(watchFirst)) + (await blockedClients(watchSecond)), 1)
    const list = await watchFirst.client('LIST')
    const stillBlocked =
      (await blockedClients(watchFirst)) === 1 ? list : await watchSecond.client('LIST')
    assert.match(String(stillBlocked), /flags=b /)
    await on(leader).rpush('q3', 'two')
    await Promise.all([a, b])
    assert.deepEqual(replies.map((reply) => reply?.[1]).sort(), ['one', 'two'])
    assert.equal(await on(leader).llen('q3'), 0)
  })

  test('a timeout answers nil in RESP2 and RESP3', async () => {
    const [follower] = followers as [string]
    const startedMs = performance.now()
    assert.equal(await on(follower).blpop('q4', 0.3), null)
    assert.ok(performance.now() - startedMs >= 290, 'it waited for its timeout')
    assert.equal(await on(leader).bzpopmin('z4', 0.2), null)
    const port = cluster.node(follower).port
    const resp3 = await rawExchange(port, 'HELLO 3\r\nBLPOP q4 0.2\r\nPING\r\n', 1000)
    assert.ok(resp3.endsWith('_\r\n+PONG\r\n'), JSON.stringify(resp3.slice(-40)))
    const resp2 = await rawExchange(port, 'BLMOVE q4 q5 LEFT RIGHT 0.2\r\n', 1000)
    assert.equal(resp2, '*-1\r\n')
  })

  test('a BLMOVE chain across three nodes delivers the element to the last client', async () => {
    const [n1, n2] = followers as [string, string]
    const firstMove = on(n1).blmove('c1', 'c2', 'LEFT', 'RIGHT', 0)
    const secondMove = on(n2).brpoplpush('c2', 'c3', 0)
    const last = on(leader).blpop('c3', 0)
    await waitBlocked(on(n1), 1)
    await waitBlocked(on(n2), 1)
    await waitBlocked(on(leader), 1)
    await on(n2).rpush('c1', 'x')
    assert.equal(await firstMove, 'x')
    assert.equal(await secondMove, 'x')
    assert.deepEqual(await last, ['c3', 'x'])
    assert.equal(await on(leader).exists('c1', 'c2', 'c3'), 0)
  })

  test('BZPOPMIN on a follower is served by a ZADD on the leader', async () => {
    const [follower] = followers as [string]
    const blocked = on(follower).bzpopmin('z1', 'z2', 0)
    await waitBlocked(on(follower), 1)
    await on(leader).zadd('z2', 2, 'two', 1, 'one')
    assert.deepEqual(await blocked, ['z2', 'one', '1'])
    assert.deepEqual(await on(leader).zrange('z2', 0, -1), ['two'])
  })

  test('CLIENT UNBLOCK answers nil or UNBLOCKED; a disconnected client pops nothing', async () => {
    const [follower] = followers as [string]
    const blocked = on(follower)
    const id = await blocked.client('ID')
    const waiting = blocked.blpop('q6', 0)
    const admin = on(follower)
    await waitBlocked(admin, 1)
    assert.equal(await admin.client('UNBLOCK', id), 1)
    assert.equal(await waiting, null)
    const again = blocked.blpop('q6', 0).catch((error: unknown) => String(error))
    await waitBlocked(admin, 1)
    assert.equal(await admin.client('UNBLOCK', id, 'ERROR'), 1)
    assert.match(String(await again), /UNBLOCKED client unblocked via CLIENT UNBLOCK/)
    assert.equal(await blocked.ping(), 'PONG')

    const leaving = on(follower)
    void leaving.blpop('q6', 0).catch(() => undefined)
    await waitBlocked(admin, 1)
    leaving.disconnect()
    await waitBlocked(admin, 0)
    await on(leader).rpush('q6', 'kept')
    await sleep(300)
    assert.deepEqual(await on(leader).lrange('q6', 0, -1), ['kept'])
  })

  test('a client blocked across a leader SIGKILL gets the element once or an error', async () => {
    const [follower] = followers as [string]
    const blocked = client(cluster.node(follower).port)
    clients.push(blocked)
    const outcome = blocked.blpop('q7', 0).then(
      (reply) => ({ reply, error: null }),
      (error: unknown) => ({ reply: null, error: String(error) }),
    )
    await waitBlocked(on(follower), 1)
    await cluster.kill(leader)
    const survivors = cluster.names().filter((name) => name !== leader)
    const newLeader = await cluster.leader({ among: survivors })
    const pusher = on(newLeader)
    assert.equal(await pusher.rpush('q7', 'v'), 1)
    const { reply, error } = await outcome
    const left = await pusher.lrange('q7', 0, -1)
    if (error === null) {
      assert.deepEqual(reply, ['q7', 'v'])
      assert.deepEqual(left, [], 'the element was popped once, by the blocked client')
    } else {
      assert.match(error, /TRYAGAIN|UNCERTAIN/)
      if (/TRYAGAIN/.test(error)) assert.deepEqual(left, ['v'], 'nothing was popped')
    }
    await cluster.restart(leader)
    await cluster.waitConverged()
  })

  test('an attempt in flight to a paused leader pops once, on whichever leader', async () => {
    const paused = await cluster.leader()
    const [follower] = cluster.names().filter((name) => name !== paused) as [string]
    await on(follower).rpush('q8', 'v')
    await cluster.waitConverged()
    cluster.pause(paused)
    const outcome = on(follower)
      .blpop('q8', 0)
      .then(
        (reply) => ({ reply, error: null }),
        (error: unknown) => ({ reply: null, error: String(error) }),
      )
    const { reply, error } = await outcome
    cluster.resume(paused)
    const left = await on(follower).lrange('q8', 0, -1)
    if (error === null) {
      assert.deepEqual(reply, ['q8', 'v'])
      assert.deepEqual(left, [], 'popped once, by the blocked client')
    } else {
      assert.match(error, /TRYAGAIN|UNCERTAIN/)
      if (/TRYAGAIN/.test(error)) assert.deepEqual(left, ['v'], 'nothing was popped')
    }
  })
})
