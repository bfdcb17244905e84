/* End to end: pub/sub and keyspace notifications on the real `caskade` bin with real clients:
 * ioredis (RESP2 subscribe mode), node-redis (RESP3 pushes), and a subscriber that stops reading,
 * which the pubsub output-buffer limit must cut off while the server's memory stays bounded. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { removeDir, startServerProcess, type ServerProcess } from '../helpers/server-process.js'

/** A /proc/<pid>/status figure in bytes (VmRSS: now; VmHWM: the peak so far). */
function procMemoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  assert.ok(match !== null, `${field} in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

function nextEvent<T extends unknown[]>(emitter: Redis, name: string): Promise<T> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args as T)))
}

async function infoNumber(redis: Redis, field: string): Promise<number> {
  const text = await redis.info('stats')
  const line = text.split('\r\n').find((entry) => entry.startsWith(`${field}:`))
  assert.ok(line !== undefined, `INFO stats has ${field}`)
  return Number(line.slice(field.length + 1))
}

describe('pub/sub end to end', () => {
  let server: ServerProcess
  let publisher: Redis

  before(async () => {
    server = await startServerProcess()
    publisher = new Redis({ port: server.port, host: '127.0.0.1' })
  })

  after(async () => {
    publisher.disconnect()
    await server.stop()
    removeDir(server.dir)
  })

  test('ioredis: SUBSCRIBE and PSUBSCRIBE receive what PUBLISH sends', async () => {
    const subscriber = new Redis({ port: server.port, host: '127.0.0.1' })
    try {
      assert.equal(await subscriber.subscribe('orders'), 1)
      assert.equal(await subscriber.psubscribe('orders.*'), 2)
      const message = nextEvent<[string, string]>(subscriber, 'message')
      assert.equal(await publisher.publish('orders', 'o-1'), 1)
      assert.deepEqual(await message, ['orders', 'o-1'])
      const pmessage = nextEvent<[string, string, string]>(subscriber, 'pmessage')
      assert.equal(await publisher.publish('orders.eu', 'o-2'), 1)
      assert.deepEqual(await pmessage, ['orders.*', 'orders.eu', 'o-2'])
      assert.deepEqual(await publisher.pubsub('NUMSUB', 'orders'), ['orders', 1])
      assert.equal(await publisher.pubsub('NUMPAT'), 1)
      assert.equal(await infoNumber(publisher, 'pubsub_channels'), 1)
      assert.equal(await infoNumber(publisher, 'pubsub_patterns'), 1)
      const list = String(await publisher.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
      assert.match(list, /flags=P db=0 sub=1 psub=1 /)
    } finally {
      subscriber.disconnect()
    }
    // A disconnected subscriber leaves nothing behind, once the server has seen the close (under
    // load that can take more than a moment, so wait for it, bounded).
    const deadline = Date.now() + 10_000
    while ((await publisher.pubsub('NUMSUB', 'orders'))[1] !== 0) {
      assert.ok(Date.now() < deadline, 'the server never noticed the subscriber disconnect')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(await publisher.publish('orders', 'nobody'), 0)
  })

  test('node-redis over RESP3: messages arrive as pushes', async () => {
    const client = createClient({ socket: { port: server.port, host: '127.0.0.1' }, RESP: 3 })
    await client.connect()
    const subscriber = client.duplicate()
    await subscriber.connect()
    try {
      const received = new Promise<[string, string]>((resolve) => {
        void subscriber.subscribe('chat', (message, channel) => resolve([channel, message]))
      })
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(await client.publish('chat', 'hi over resp3'), 1)
      assert.deepEqual(await received, ['chat', 'hi over resp3'])
      const list: unknown = await client.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub'])
      // RESP3 answers CLIENT LIST with a verbatim string (a String object in node-redis).
      assert.ok(typeof list === 'string' || list instanceof String)
      assert.match(list.toString(), /sub=1 .*resp=3/)
    } finally {
      await subscriber.close()
      await client.close()
    }
  })

  test('keyspace notifications for SET, DEL, EXPIRE and active expiry', async () => {
    assert.equal(await publisher.config('SET', 'notify-keyspace-events', 'KEA'), 'OK')
    const watcher = new Redis({ port: server.port, host: '127.0.0.1' })
    const events: string[] = []
    watcher.on('pmessage', (_pattern: string, channel: string, message: string) => {
      events.push(`${channel} ${message}`)
    })
    try {
      await watcher.psubscribe('__keyevent@0__:*')
      await publisher.set('user:1', 'ada')
      await publisher.expire('user:1', 100)
      await publisher.del('user:1')
      await publisher.set('session', 'x', 'PX', 20)
      const deadline = Date.now() + 5000
      while (!events.includes('__keyevent@0__:expired session') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.deepEqual(events, [
        '__keyevent@0__:set user:1',
        '__keyevent@0__:expire user:1',
        '__keyevent@0__:del user:1',
        '__keyevent@0__:set session',
        '__keyevent@0__:expire session',
        '__keyevent@0__:expired session', // nobody read it: active expiry found it
      ])
      assert.deepEqual(await publisher.config('GET', 'notify-keyspace-events'), [
        'notify-keyspace-events',
        'AKE',
      ])
    } finally {
      watcher.disconnect()
      await publisher.config('SET', 'notify-keyspace-events', '')
    }
  })

  test('a subscriber that stops reading is cut off; server memory stays bounded', async () => {
    const limit = 'pubsub 4mb 1mb 60'
    assert.equal(await publisher.config('SET', 'client-output-buffer-limit', limit), 'OK')
    const disconnectsBefore = await infoNumber(publisher, 'caskade_limit_disconnects')
    const socket = net.connect({ port: server.port, host: '127.0.0.1' })
    socket.on('error', () => undefined)
    await once(socket, 'connect')
    socket.write('*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n')
    await once(socket, 'data')
    socket.pause() // never read again: every message piles up on the server
    const pid = server.child.pid as number
    const baselineBytes = procMemoryBytes(pid, 'VmRSS')
    const payload = Buffer.alloc(64 * 1024, 0x61)
    const publishedMaxBytes = 512 * 1024 * 1024
    let publishedBytes = 0
    let receivers = 1
    // 64 KB messages in pipelines of 32 (2 MB) until PUBLISH reports nobody received it: the
    // server has cut the subscriber off (a paused socket would not notice the close itself).
    while (receivers > 0 && publishedBytes < publishedMaxBytes) {
      const pipeline = publisher.pipeline()
      for (let i = 0; i < 32; i++) pipeline.publish('feed', payload)
      const results = (await pipeline.exec()) ?? []
      receivers = Number(results.at(-1)?.[1] ?? 0)
      publishedBytes += 32 * payload.length
    }
    socket.destroy()
    assert.equal(receivers, 0, `still subscribed after ${publishedBytes} bytes were published`)
    const peakGrowthBytes = procMemoryBytes(pid, 'VmHWM') - baselineBytes
    console.log(
      `slow subscriber cut off after ${(publishedBytes / 1048576).toFixed(0)} MB published; ` +
        `server peak RSS growth ${(peakGrowthBytes / 1048576).toFixed(1)} MB`,
    )
    assert.equal(await infoNumber(publisher, 'caskade_limit_disconnects'), disconnectsBefore + 1)
    assert.ok(peakGrowthBytes < 96 * 1024 * 1024, `peak RSS grew ${peakGrowthBytes} bytes`)
    await publisher.config('SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60')
  })
})
