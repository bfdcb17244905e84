/* End to end, real processes on 127.0.0.1: `caskade server --bootstrap` plus two `--join`s make
 * three voters; a write on the leader is read on every follower (ioredis and redis-cli); a write
 * sent to a follower is forwarded and applied once; a TTL is gone on every node within a second;
 * SIGKILL of the leader brings a new leader with every acknowledged write; the killed node
 * restarts with only --dir and its ports; a node added by RAFT ADD starts with no --join. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { Redis } from 'ioredis'
import {
  makeTempDir,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { freePort, infoRaft, until } from '../helpers/cluster-e2e.js'
import { hasRedisCli, redisCli } from '../helpers/redis-cli.js'

interface Node {
  readonly name: string
  readonly dir: string
  readonly port: number
  readonly clusterPort: number
  process: ServerProcess
  redis: Redis
}

function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: false })
}

async function startNode(node: Omit<Node, 'process' | 'redis'>, extra: string[]): Promise<Node> {
  const ports = ['--port', String(node.port), '--cluster-port', String(node.clusterPort)]
  const process = await startServerProcess({ dir: node.dir, args: [...ports, ...extra] })
  return { ...node, process, redis: client(node.port) }
}

async function leaderAmong(nodes: readonly Node[]): Promise<Node | null> {
  for (const node of nodes) {
    if ((await infoRaft(node.redis)).role === 'leader') return node
  }
  return null
}

describe('a 3-node caskade cluster of real processes', () => {
  const nodes: Node[] = []
  const dirs: string[] = []

  before(async () => {
    const specs = await Promise.all(
      ['n1', 'n2', 'n3'].map(async (name) => {
        const dir = makeTempDir('caskade-cluster-')
        dirs.push(dir)
        return { name, dir, port: await freePort(), clusterPort: await freePort() }
      }),
    )
    const [first, ...others] = specs as [(typeof specs)[0], ...typeof specs]
    nodes.push(await startNode(first, ['--node-id', 'n1', '--bootstrap']))
    const join = `127.0.0.1:${first.clusterPort}`
    for (const spec of others) {
      nodes.push(await startNode(spec, ['--node-id', spec.name, '--join', join]))
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
    }
    for (const dir of dirs) removeDir(dir)
  })

  test('INFO raft and RAFT NODES describe the cluster', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const info = await infoRaft(nodes[1]!.redis)
    assert.equal(info.node_id, 'n2')
    assert.equal(info.leader_id, leader.name)
    assert.equal(info.leader_addr, `127.0.0.1:${leader.port}`)
    assert.match(info.role!, /^(leader|follower)$/)
    for (const field of ['raft_id', 'term', 'commit_index', 'applied_index', 'last_index']) {
      assert.match(info[field]!, /^\d+$/, field)
    }
    const rows = (await leader.redis.call('RAFT', 'NODES')) as unknown[][]
    const byName = new Map(rows.map((row) => [row[0], row]))
    for (const node of nodes) {
      const row = byName.get(node.name)
      assert.ok(row !== undefined, node.name)
      assert.equal(row[2], `127.0.0.1:${node.port}`)
      assert.equal(row[3], `127.0.0.1:${node.clusterPort}`)
      assert.equal(row[4], 'voter')
    }
    const replication = await leader.redis.info('replication')
    assert.match(replication, /role:master/)
    assert.match(replication, /connected_slaves:2/)
  })

  test('a write on the leader is read on both followers (ioredis and redis-cli)', async (t) => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    assert.equal(await leader.redis.set('greeting', 'hello'), 'OK')
    for (const node of nodes.filter((n) => n !== leader)) {
      assert.equal(await node.redis.get('greeting'), 'hello')
    }
    if (!hasRedisCli()) return t.skip('redis-cli is not installed')
    const follower = nodes.find((n) => n !== leader)!
    const stdout = await redisCli(follower.port, 'GET', 'greeting')
    assert.equal(stdout.trim(), 'hello')
  })

  test('a write sent to a follower is forwarded and applied once', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const follower = nodes.find((n) => n !== leader)!
    assert.equal(await follower.redis.incr('counter'), 1)
    assert.equal(await follower.redis.incr('counter'), 2)
    assert.equal(await leader.redis.get('counter'), '2')
    const [multi] = (await follower.redis.multi().incr('counter').get('counter').exec()) ?? []
    assert.deepEqual(multi, [null, 3])
  })

  test('pipelined writes and reads on a follower answer in order', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const follower = nodes.find((n) => n !== leader)!
    const pipeline = follower.redis.pipeline()
    for (let i = 0; i < 20; i++) {
      pipeline.incr('sequence')
      if (i % 5 === 4) pipeline.get('sequence')
      if (i % 7 === 6) pipeline.ping()
    }
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      assert.equal(error, null)
      return value
    })
    let pushed = 0
    for (const reply of replies) {
      if (typeof reply === 'number') assert.equal(reply, ++pushed)
      else if (reply === 'PONG') continue
      else assert.equal(reply, String(pushed))
    }
    assert.equal(pushed, 20)
  })

  test('WATCH takes a ReadIndex barrier: a key modified after it aborts EXEC', async () => {
    const [a, b] = nodes
    await a!.redis.set('watched', '1')
    const watcher = client(a!.port)
    try {
      assert.equal(await watcher.watch('watched'), 'OK')
      await b!.redis.set('watched', '2')
      assert.equal(await watcher.multi().set('watched', '3').exec(), null)
      assert.equal(await watcher.watch('watched'), 'OK')
      assert.deepEqual(await watcher.multi().set('watched', '4').exec(), [[null, 'OK']])
      assert.equal(await b!.redis.get('watched'), '4')
    } finally {
      watcher.disconnect()
    }
  })

  test('READONLY reads the local replica, READWRITE undoes it', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const follower = nodes.find((n) => n !== leader)!
    const reader = client(follower.port)
    try {
      await leader.redis.set('stale-ok', 'x')
      assert.equal(await reader.call('READONLY'), 'OK')
      await until('the follower applied it', async () =>
        (await reader.get('stale-ok')) === 'x' ? true : null,
      )
      assert.equal(await reader.call('READWRITE'), 'OK')
      assert.equal(await reader.get('stale-ok'), 'x')
    } finally {
      reader.disconnect()
    }
  })

  test('RAFT TRANSFER hands leadership to the named node', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const target = nodes.find((n) => n !== leader)!
    const follower = nodes.find((n) => n !== leader && n !== target)!
    // Sent to a follower: forwarded to the leader as an admin request.
    assert.equal(await follower.redis.call('RAFT', 'TRANSFER', target.name), 'OK')
    await until('the new leader', async () =>
      (await infoRaft(target.redis)).role === 'leader' ? true : null,
    )
    const status = (await target.redis.call('RAFT', 'STATUS')) as string[]
    assert.equal(status[status.indexOf('role') + 1], 'leader')
  })

  test('tick entries: a PX 200 key is gone on every node within 1 s, the first one too', async () => {
    // The first expiry of a fresh cluster once took 2-3 s (the replicated keyspace's timing wheel
    // started at 1970 and the first tick entry walked it up to now on every node).
    const leader = await until('a leader', () => leaderAmong(nodes))
    for (const key of ['short-lived-1', 'short-lived-2']) {
      const setAtMs = Date.now()
      assert.equal(await leader.redis.set(key, 'x', 'PX', 200), 'OK')
      assert.equal(await nodes[1]!.redis.exists(key), 1)
      const info = await leader.redis.info('keyspace')
      assert.match(info, /db0:keys=\d+,expires=1,avg_ttl=0/)
      await until('the key to expire everywhere', async () => {
        const counts = await Promise.all(nodes.map((node) => node.redis.exists(key)))
        return counts.every((count) => count === 0) ? true : null
      })
      const goneAfterMs = Date.now() - setAtMs
      assert.ok(goneAfterMs < 1200, `gone everywhere ${goneAfterMs} ms after SET PX 200`)
    }
    assert.doesNotMatch(await leader.redis.info('keyspace'), /expires=[1-9]/)
  })

  test('SIGKILL of the leader: a new leader within seconds, every acknowledged write kept', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const keysBefore = await leader.redis.dbsize()
    const acknowledged: string[] = []
    for (let i = 0; i < 50; i++) {
      await leader.redis.set(`k${i}`, `v${i}`)
      acknowledged.push(`k${i}`)
    }
    await leader.process.crash()
    leader.redis.disconnect()
    const survivors = nodes.filter((n) => n !== leader)
    const killedAtMs = Date.now()
    const next = await until('a new leader', () => leaderAmong(survivors), 5000)
    assert.notEqual(next.name, leader.name)
    assert.ok(Date.now() - killedAtMs < 5000)
    for (const key of acknowledged) assert.equal(await next.redis.get(key), `v${key.slice(1)}`)
    for (const node of survivors)
      assert.equal(await node.redis.dbsize(), keysBefore + acknowledged.length)

    // The killed node comes back with only its data dir and ports, and catches up.
    const index = nodes.indexOf(leader)
    await next.redis.set('after-failover', 'yes')
    const restarted = await startNode(leader, [])
    nodes[index] = restarted
    await until('the restarted node to follow the new leader', async () => {
      const info = await infoRaft(restarted.redis)
      return info.leader_id === next.name && info.role === 'follower' ? info : null
    })
    assert.equal(await restarted.redis.get('after-failover'), 'yes')
    assert.equal((await infoRaft(restarted.redis)).node_id, leader.name)
  })

  test('a new node started with neither --bootstrap nor --join waits, and says so', async () => {
    const dir = makeTempDir('caskade-cluster-')
    dirs.push(dir)
    const spec = { name: 'n9', dir, port: await freePort(), clusterPort: await freePort() }
    const n9 = await startNode(spec, ['--node-id', 'n9'])
    try {
      const info = await infoRaft(n9.redis)
      assert.equal(info.role, 'learner')
      assert.equal(info.cluster_state, 'waiting')
      assert.ok(n9.process.lines.some((line) => line.includes('waiting for a member to contact')))
      assert.equal(existsSync(path.join(dir, 'cluster', 'identity.json')), false)
    } finally {
      n9.redis.disconnect()
      await n9.process.stop()
    }
  })

  test('RAFT ADD, then the node starts without --join: learner, voter; RAFT REMOVE', async () => {
    const leader = await until('a leader', () => leaderAmong(nodes))
    const dir = makeTempDir('caskade-cluster-')
    dirs.push(dir)
    const spec = { name: 'n4', dir, port: await freePort(), clusterPort: await freePort() }
    const address = `127.0.0.1:${spec.port}:${spec.clusterPort}`
    assert.equal(await nodes[0]!.redis.call('RAFT', 'ADD', 'n4', address), 'OK')
    // No --join: the leader dials it, and its hello tells n4 where to answer.
    const n4 = await startNode(spec, ['--node-id', 'n4'])
    nodes.push(n4)
    await until('four voters', async () => {
      const info = await infoRaft(n4.redis)
      return info.members === '4' && info.role === 'follower' ? info : null
    })
    assert.equal((await infoRaft(n4.redis)).cluster_state, 'ok')
    const learnerFirst = n4.process.lines.some((line) => line.includes('"learners":["n4"]'))
    assert.ok(learnerFirst, 'n4 was a learner before it was promoted')
    assert.equal(await n4.redis.get('greeting'), 'hello')
    // Written once it finds itself a member (its next upkeep after the promotion's apply).
    await until('identity written', () =>
      Promise.resolve(existsSync(path.join(dir, 'cluster', 'identity.json')) ? true : null),
    )
    assert.equal(await leader.redis.call('RAFT', 'REMOVE', 'n4'), 'OK')
    await until('three voters again', async () =>
      (await infoRaft(leader.redis)).members === '3' ? true : null,
    )
    const rows = (await leader.redis.call('RAFT', 'NODES')) as unknown[][]
    assert.deepEqual(rows.map((row) => row[0]).sort(), ['n1', 'n2', 'n3'])
  })
})
