/* End to end: the server's limits protect it from one bad client while it keeps serving the
 * others: proto-max-bulk-len, client-query-buffer-limit, maxclients, the output buffer cap. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import {
  parseLogLine,
  rawExchange,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'

async function infoField(redis: Redis, section: string, field: string): Promise<string> {
  const text = await redis.info(section)
  const line = text.split('\r\n').find((entry) => entry.startsWith(`${field}:`))
  assert.ok(line !== undefined, `INFO ${section} has ${field}`)
  return line.slice(field.length + 1)
}

/** Resolves once the server closes `socket` (end, close or reset). */
function closedByServer(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    socket.on('end', () => resolve())
  })
}

async function waitFor(check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > deadlineMs) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('limits', () => {
  let server: ServerProcess
  let redis: Redis

  before(async () => {
    server = await startServerProcess({
      args: ['--proto-max-bulk-len', '2mb', '--client-query-buffer-limit', '1mb'],
    })
    redis = new Redis({ port: server.port, host: '127.0.0.1' })
    await redis.set('alive', 'yes')
  })

  after(async () => {
    redis.disconnect()
    await server.stop()
    removeDir(server.dir)
  })

  test('a bulk longer than proto-max-bulk-len: Redis error text, then disconnect', async () => {
    const { data, closed } = await rawExchange(
      server.port,
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n',
    )
    assert.equal(data.toString('latin1'), '-ERR Protocol error: invalid bulk length\r\n')
    assert.equal(closed, true)
    assert.equal(await redis.get('alive'), 'yes')
  })

  test('a multibulk count that is not a number is a protocol error', async () => {
    const { data, closed } = await rawExchange(server.port, '*x\r\n')
    assert.equal(data.toString('latin1'), '-ERR Protocol error: invalid multibulk length\r\n')
    assert.equal(closed, true)
  })

  test('a client over client-query-buffer-limit is closed and logged; others go on', async () => {
    const before = Number(await infoField(redis, 'stats', 'caskade_limit_disconnects'))
    const socket = net.connect({ port: server.port, host: '127.0.0.1' })
    await once(socket, 'connect')
    const closed = closedByServer(socket)
    // A 1.8 MB bulk (allowed by proto-max-bulk-len) sent slowly: it outgrows the 1 MB limit.
    socket.write('*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1800000\r\n')
    const piece = Buffer.alloc(256 * 1024, 0x61)
    for (let i = 0; i < 6 && !socket.destroyed; i++) socket.write(piece)
    await closed
    assert.equal(await redis.get('alive'), 'yes')
    assert.equal(await redis.exists('big'), 0)
    const afterCount = Number(await infoField(redis, 'stats', 'caskade_limit_disconnects'))
    assert.equal(afterCount, before + 1)
    const logged = server.lines.some((line) => {
      const parsed = parseLogLine(line)
      return typeof parsed?.msg === 'string' && parsed.msg.includes('max query buffer length')
    })
    assert.ok(logged, 'the disconnect is logged')
  })

  test('maxclients: one client too many gets Redis error text', async () => {
    const connected = Number(await infoField(redis, 'clients', 'connected_clients'))
    assert.equal(await redis.config('SET', 'maxclients', String(connected + 1)), 'OK')
    const holder = net.connect({ port: server.port, host: '127.0.0.1' })
    await once(holder, 'connect')
    try {
      await redis.ping() // let the server register the holder
      const { data, closed } = await rawExchange(server.port, 'PING\r\n')
      assert.equal(data.toString('latin1'), '-ERR max number of clients reached\r\n')
      assert.equal(closed, true)
      assert.ok(Number(await infoField(redis, 'stats', 'rejected_connections')) >= 1)
    } finally {
      holder.destroy()
      await redis.config('SET', 'maxclients', '10000')
    }
  })

  test('a client that does not read its replies is cut off at the output limit', async () => {
    await redis.config('SET', 'client-output-buffer-limit', 'normal 1mb 0 0')
    await redis.set('large', Buffer.alloc(256 * 1024, 0x62))
    const before = Number(await infoField(redis, 'stats', 'caskade_limit_disconnects'))
    const socket = net.connect({ port: server.port, host: '127.0.0.1' })
    await once(socket, 'connect')
    socket.pause() // never read: replies pile up on the server
    socket.on('error', () => undefined)
    const request = '*2\r\n$3\r\nGET\r\n$5\r\nlarge\r\n'.repeat(400) // 100 MB of replies
    socket.write(request)
    // The socket is paused, so its close is not observable here; the server's counter is.
    await waitFor(
      async () => Number(await infoField(redis, 'stats', 'caskade_limit_disconnects')) > before,
    )
    socket.destroy()
    const afterCount = Number(await infoField(redis, 'stats', 'caskade_limit_disconnects'))
    assert.equal(afterCount, before + 1)
    assert.equal(await redis.get('alive'), 'yes')
    await redis.config('SET', 'client-output-buffer-limit', 'normal 256mb 0 0')
  })
})
