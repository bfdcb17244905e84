/* End to end with real client libraries against a real caskade process: ioredis (RESP2) strings,
 * pipelines, binary data and lists; node-redis v5 over RESP3. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { createClient, RESP_TYPES } from 'redis'
import { removeDir, startServerProcess, type ServerProcess } from '../helpers/server-process.js'

describe('real clients against a caskade process', () => {
  let server: ServerProcess
  let redis: Redis

  before(async () => {
    server = await startServerProcess({ fsync: 'everysec' })
    redis = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true })
    await redis.connect()
  })

  after(async () => {
    redis.disconnect()
    await server.stop()
    removeDir(server.dir)
  })

  test('ioredis: strings, counters and expiry', async () => {
    assert.equal(await redis.set('greeting', 'hello'), 'OK')
    assert.equal(await redis.get('greeting'), 'hello')
    assert.equal(await redis.get('missing'), null)
    assert.equal(await redis.incr('counter'), 1)
    assert.equal(await redis.incrby('counter', 41), 42)
    assert.equal(await redis.set('temp', 'x', 'EX', 100), 'OK')
    const ttl = await redis.ttl('temp')
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`)
    assert.equal(await redis.del('greeting', 'missing'), 1)
    assert.equal(await redis.exists('greeting'), 0)
    await assert.rejects(redis.incr('temp'), /ERR value is not an integer or out of range/)
  })

  test('ioredis: a pipeline of 1000 commands answers in order', async () => {
    const pipeline = redis.pipeline()
    for (let i = 0; i < 500; i++) pipeline.set(`p:${i}`, `value-${i}`)
    for (let i = 0; i < 500; i++) pipeline.get(`p:${i}`)
    const results = await pipeline.exec()
    assert.ok(results !== null)
    assert.equal(results.length, 1000)
    for (let i = 0; i < 500; i++) assert.deepEqual(results[i], [null, 'OK'])
    for (let i = 0; i < 500; i++) assert.deepEqual(results[500 + i], [null, `value-${i}`])
  })

  test('ioredis: binary keys and values survive byte for byte', async () => {
    const key = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2a, 0x80])
    const value = Buffer.alloc(70_000)
    for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff
    assert.equal(await redis.set(key, value), 'OK')
    const back = await redis.getBuffer(key)
    assert.ok(back !== null)
    assert.ok(back.equals(value))
    assert.equal(await redis.strlen(key), value.length)
  })

  test('ioredis: a list as a work queue, LMOVE to a processing list, LPOS and LMPOP', async () => {
    assert.equal(await redis.rpush('jobs', 'j1', 'j2', 'j3'), 3)
    assert.equal(await redis.lpush('jobs', 'urgent'), 4)
    assert.equal(await redis.lmove('jobs', 'processing', 'LEFT', 'RIGHT'), 'urgent')
    assert.deepEqual(await redis.lrange('jobs', 0, -1), ['j1', 'j2', 'j3'])
    assert.equal(await redis.lpos('jobs', 'j3'), 2)
    assert.deepEqual(await redis.lpop('jobs', 2), ['j1', 'j2'])
    assert.deepEqual(await redis.call('LMPOP', '2', 'nothing', 'jobs', 'RIGHT', 'COUNT', '5'), [
      'jobs',
      ['j3'],
    ])
    assert.equal(await redis.exists('jobs'), 0)
    assert.equal(await redis.lpop('jobs'), null)
    assert.equal(await redis.type('processing'), 'list')
    await assert.rejects(redis.lset('missing', 0, 'x'), /ERR no such key/)
    assert.equal(await redis.set('plain', 'v'), 'OK')
    await assert.rejects(redis.rpush('plain', 'x'), /WRONGTYPE/)
  })

  test('node-redis over RESP3: HELLO 3, strings, and typed replies', async () => {
    const client = createClient({ socket: { port: server.port, host: '127.0.0.1' }, RESP: 3 })
    client.on('error', () => undefined)
    await client.connect()
    try {
      assert.equal(await client.set('resp3', 'yes'), 'OK')
      assert.equal(await client.get('resp3'), 'yes')
      assert.equal(await client.get('resp3-missing'), null)
      assert.equal(await client.incr('resp3-counter'), 1)
      assert.equal(await client.rPush('resp3-list', ['a', 'b']), 2)
      assert.deepEqual(await client.lPopCount('resp3-list', 5), ['a', 'b'])
      assert.equal(await client.lPopCount('resp3-list', 5), null)
      const hello = (await client.hello()) as unknown as Record<string, unknown>
      assert.equal(hello.proto, 3)
      assert.equal(hello.version, '7.0.15')
      const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      await client.set('bin', Buffer.from([1, 2, 3, 0, 255]))
      const raw = await binary.get('bin')
      assert.ok(Buffer.isBuffer(raw) && raw.equals(Buffer.from([1, 2, 3, 0, 255])))
    } finally {
      await client.quit()
    }
  })
})
