/* End to end: connection and server administration against a real caskade process (QUIT, CLIENT
 * LIST/KILL, CONFIG GET/SET, INFO, SHUTDOWN) and persistence across restarts, expiry included. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import {
  makeTempDir,
  rawExchange,
  removeDir,
  startServerProcess,
} from '../helpers/server-process.js'

function connect(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null })
}

function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return fields
}

describe('administration', () => {
  test('QUIT replies +OK and closes; commands after it are ignored', async () => {
    const server = await startServerProcess()
    try {
      const { data, closed } = await rawExchange(server.port, 'PING\r\nQUIT\r\nPING\r\n')
      assert.equal(data.toString('latin1'), '+PONG\r\n+OK\r\n')
      assert.equal(closed, true)
    } finally {
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('CLIENT LIST shows every client; CLIENT KILL closes one by id and by addr', async () => {
    const server = await startServerProcess()
    const admin = connect(server.port)
    const victim = connect(server.port)
    const other = connect(server.port)
    try {
      await victim.client('SETNAME', 'victim')
      await other.client('SETNAME', 'other')
      const list = (await admin.client('LIST')) as string
      const lines = list.trim().split('\n')
      assert.equal(lines.length, 3)
      const victimLine = lines.find((line) => line.includes(' name=victim '))
      assert.ok(victimLine !== undefined)
      assert.match(victimLine, /^id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ /)
      assert.match(victimLine, / qbuf=\d+ /)
      const victimId = Number(/^id=(\d+)/.exec(victimLine)?.[1])
      assert.equal(await admin.client('KILL', 'ID', String(victimId)), 1)
      await assert.rejects(victim.ping())
      const otherLine = lines.find((line) => line.includes(' name=other '))
      const otherAddr = /addr=(\S+)/.exec(otherLine ?? '')?.[1] ?? ''
      assert.equal(await admin.client('KILL', otherAddr), 'OK')
      await assert.rejects(other.ping())
      const after = ((await admin.client('LIST')) as string).trim().split('\n')
      assert.equal(after.length, 1)
    } finally {
      admin.disconnect()
      victim.disconnect()
      other.disconnect()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('CONFIG GET and SET with Redis names, live values and Redis error texts', async () => {
    const server = await startServerProcess()
    const redis = connect(server.port)
    try {
      assert.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'everysec'])
      assert.deepEqual(await redis.config('GET', 'maxclients'), ['maxclients', '10000'])
      assert.deepEqual(await redis.config('GET', 'port'), ['port', String(server.port)])
      assert.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'yes'])
      assert.equal(await redis.config('SET', 'loglevel', 'warning', 'maxclients', '77'), 'OK')
      assert.deepEqual(await redis.config('GET', 'loglevel'), ['loglevel', 'warning'])
      const info = parseInfo(await redis.info('clients'))
      assert.equal(info.get('maxclients'), '77')
      const buffers = (await redis.config('GET', '*buffer*')) as string[]
      assert.ok(buffers.includes('client-query-buffer-limit'))
      assert.ok(buffers.includes('client-output-buffer-limit'))
      await assert.rejects(
        redis.config('SET', 'port', '1234'),
        new RegExp(
          "^ReplyError: ERR CONFIG SET failed \\(possibly related to argument 'port'\\) - " +
            "can't set immutable config$",
        ),
      )
      await assert.rejects(
        redis.config('SET', 'loglevel', 'loud'),
        /argument\(s\) must be one of the following: debug, verbose, notice, warning/,
      )
      await assert.rejects(
        redis.config('SET', 'nosuch', '1'),
        /ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'/,
      )
      await assert.rejects(
        redis.config('SET', 'maxclients', 'abc'),
        /argument couldn't be parsed into an integer/,
      )
    } finally {
      redis.disconnect()
      await server.stop()
      removeDir(server.dir)
    }
  })

  // The server applies appendfsync live when the engine has setFsyncPolicy(); until the storage
  // engine grows it, CONFIG SET appendfsync answers "can't set immutable config".
  test('CONFIG SET appendfsync takes effect at once', async () => {
    const server = await startServerProcess()
    const redis = connect(server.port)
    try {
      assert.equal(await redis.config('SET', 'appendfsync', 'always'), 'OK')
      assert.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'always'])
      const info = parseInfo(await redis.info('persistence'))
      assert.equal(info.get('caskade_appendfsync'), 'always')
      assert.equal(await redis.set('after-always', '1'), 'OK')
    } finally {
      redis.disconnect()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('CONFIG SET timeout closes a client idle for longer than that', async () => {
    const server = await startServerProcess()
    const redis = connect(server.port)
    try {
      assert.equal(await redis.config('SET', 'timeout', '1'), 'OK')
      const idle = await rawExchange(server.port, 'PING\r\n', 5000)
      assert.equal(idle.data.toString('latin1'), '+PONG\r\n')
      assert.equal(idle.closed, true, 'the idle client was closed by the server')
    } finally {
      redis.disconnect()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('INFO reports the host sections with Redis field names', async () => {
    const server = await startServerProcess()
    const redis = connect(server.port)
    try {
      await redis.set('k', 'v')
      await redis.get('k')
      await redis.get('absent')
      const info = parseInfo(await redis.info('everything'))
      assert.equal(info.get('redis_version'), '7.0.15')
      assert.equal(info.get('tcp_port'), String(server.port))
      assert.equal(info.get('process_id'), String(server.child.pid))
      assert.equal(info.get('connected_clients'), '1')
      assert.equal(info.get('maxclients'), '10000')
      assert.equal(info.get('blocked_clients'), '0')
      assert.ok(Number(info.get('used_memory')) > 0)
      assert.equal(info.get('loading'), '0')
      assert.equal(info.get('aof_enabled'), '1')
      assert.ok(Number(info.get('total_commands_processed')) >= 3)
      assert.ok(Number(info.get('total_connections_received')) >= 1)
      assert.equal(info.get('keyspace_hits'), '1')
      assert.equal(info.get('keyspace_misses'), '1')
      assert.ok(info.has('caskade_version'))
      assert.ok(info.has('instantaneous_ops_per_sec'))
      assert.match(await redis.info('keyspace'), /db0:keys=1,expires=0/)
    } finally {
      redis.disconnect()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('SHUTDOWN flushes, exits 0, and the data is there after a restart', async () => {
    const dir = makeTempDir()
    try {
      const first = await startServerProcess({ dir, fsync: 'no' })
      const redis = connect(first.port)
      for (let i = 0; i < 200; i++) void redis.set(`k${i}`, `v${i}`)
      assert.equal(await redis.set('last', 'written'), 'OK')
      await redis.call('SHUTDOWN').catch(() => undefined)
      assert.equal(await first.exited, 0)
      redis.disconnect()
      const second = await startServerProcess({ dir })
      const again = connect(second.port)
      try {
        assert.equal(await again.dbsize(), 201)
        assert.equal(await again.get('k199'), 'v199')
        assert.equal(await again.get('last'), 'written')
      } finally {
        again.disconnect()
        await second.stop()
      }
    } finally {
      removeDir(dir)
    }
  })

  test('SIGTERM shuts down cleanly; expiry survives a restart', async () => {
    const dir = makeTempDir()
    try {
      const first = await startServerProcess({ dir })
      const redis = connect(first.port)
      await redis.set('lasting', 'v', 'EX', 1000)
      await redis.set('fleeting', 'v', 'PX', 300)
      await redis.set('plain', 'v')
      redis.disconnect()
      assert.equal(await first.stop(), 0)
      await new Promise((resolve) => setTimeout(resolve, 400))
      const second = await startServerProcess({ dir })
      const again = connect(second.port)
      try {
        const ttl = await again.ttl('lasting')
        assert.ok(ttl > 900 && ttl <= 1000, `ttl after restart ${ttl}`)
        assert.equal(await again.get('fleeting'), null)
        assert.equal(await again.ttl('plain'), -1)
      } finally {
        again.disconnect()
        await second.stop()
      }
    } finally {
      removeDir(dir)
    }
  })
})
