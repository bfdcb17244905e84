/* End to end: blocking commands on the real `caskade` bin with ioredis clients. A client blocked
 * in BLPOP/BZPOPMIN is woken by a push from another connection, pipelined commands behind a
 * blocked one wait for it, timeouts answer nil, and a disconnect while blocked is forgotten. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { removeDir, startServerProcess, type ServerProcess } from '../helpers/server-process.js'

function connect(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null })
}

async function blockedClients(redis: Redis): Promise<number> {
  const text = await redis.info('clients')
  const line = text.split('\r\n').find((entry) => entry.startsWith('blocked_clients:'))
  assert.ok(line !== undefined, 'INFO clients has blocked_clients')
  return Number(line.slice('blocked_clients:'.length))
}

/** Polls until `count` clients are blocked (the blocking command reached the server). */
async function untilBlocked(redis: Redis, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await blockedClients(redis)) === count) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  assert.fail(`${count} clients never blocked`)
}

describe('blocking commands end to end', () => {
  let server: ServerProcess
  const clients: Redis[] = []
  const open = (): Redis => {
    const client = connect(server.port)
    clients.push(client)
    return client
  }

  before(async () => {
    server = await startServerProcess()
  })

  after(async () => {
    for (const client of clients) client.disconnect()
    await server.stop()
    removeDir(server.dir)
  })

  test('BLPOP is woken by a push from another connection, first blocked first served', async () => {
    const [first, second, writer] = [open(), open(), open()]
    const firstReply = first.blpop('jobs', 0)
    await untilBlocked(writer, 1)
    const secondReply = second.brpop('jobs', 0)
    await untilBlocked(writer, 2)
    assert.equal(await writer.rpush('jobs', 'a', 'b'), 2)
    assert.deepEqual(await firstReply, ['jobs', 'a'])
    assert.deepEqual(await secondReply, ['jobs', 'b'])
    assert.equal(await blockedClients(writer), 0)
  })

  test('commands pipelined behind a blocked one run after it is served', async () => {
    const [blocked, writer] = [open(), open()]
    const pipeline = blocked.pipeline().bzpopmin('z', 0).zcard('z').ping().exec()
    await untilBlocked(writer, 1)
    assert.equal(await writer.zadd('z', 1, 'low', 2, 'high'), 2)
    const results = await pipeline
    assert.deepEqual(results, [
      [null, ['z', 'low', '1']],
      [null, 1],
      [null, 'PONG'],
    ])
  })

  test('BLMOVE hands an element to a BLPOP blocked on its destination', async () => {
    const [mover, popper, writer] = [open(), open(), open()]
    const moved = mover.blmove('src', 'dst', 'LEFT', 'RIGHT', 0)
    await untilBlocked(writer, 1)
    const popped = popper.blpop('dst', 0)
    await untilBlocked(writer, 2)
    await writer.lpush('src', 'payload')
    assert.equal(await moved, 'payload')
    assert.deepEqual(await popped, ['dst', 'payload'])
  })

  test('a timeout answers nil; a disconnect while blocked leaves nothing behind', async () => {
    const [waiter, quitter, writer] = [open(), open(), open()]
    assert.equal(await waiter.blpop('empty', 0.05), null)
    void quitter.blpop('gone', 0).catch(() => undefined)
    await untilBlocked(writer, 1)
    quitter.disconnect()
    await untilBlocked(writer, 0)
    await writer.rpush('gone', 'kept')
    assert.deepEqual(await writer.lrange('gone', 0, -1), ['kept'])
  })

  test('CLIENT UNBLOCK releases a blocked client with the UNBLOCKED error', async () => {
    const [blocked, admin] = [open(), open()]
    const id = await blocked.client('ID')
    const reply = blocked.blpop('never', 0).then(
      () => 'served',
      (error: Error) => error.message,
    )
    await untilBlocked(admin, 1)
    assert.match((await admin.client('LIST')) as string, new RegExp(`id=${String(id)} .*flags=b `))
    assert.equal(await admin.call('CLIENT', 'UNBLOCK', String(id), 'ERROR'), 1)
    assert.equal(await reply, 'UNBLOCKED client unblocked via CLIENT UNBLOCK')
  })
})
