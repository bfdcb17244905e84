/* The server in process on a temp dir and port 0: binding, QUIT, SHUTDOWN resolving `closed`
 * with every write kept, SHUTDOWN ABORT's error, and the data-dir lock. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { defaultServerConfig, type ServerConfig } from './config.js'
import { startServer } from './server.js'

function configFor(dir: string): ServerConfig {
  return { ...defaultServerConfig(), port: 0, dir, fsync: 'always' }
}

/** Sends `payload`, resolves with everything received until the server closes the socket. */
function exchangeUntilClose(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(payload))
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
  })
}

describe('server in process', () => {
  test('binds port 0 to a free port and serves; close() is idempotent', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caskade-server-'))
    const server = await startServer(configFor(dir))
    try {
      assert.ok(server.port > 0)
      const reply = await exchangeUntilClose(server.port, 'SET a 1\r\nGET a\r\nQUIT\r\n')
      assert.equal(reply, '+OK\r\n$1\r\n1\r\n+OK\r\n')
      assert.deepEqual(server.config.get(['port']), [['port', String(server.port)]])
    } finally {
      await Promise.all([server.close(), server.close()])
      await server.closed
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('SHUTDOWN: no reply, every write synced, `closed` resolves, data reopens', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caskade-server-'))
    try {
      const server = await startServer({ ...configFor(dir), fsync: 'no' })
      // As in Redis, replies still queued when SHUTDOWN runs are not sent; the write is kept.
      const reply = await exchangeUntilClose(server.port, 'SET k v\r\nSHUTDOWN\r\n')
      assert.equal(reply, '')
      await server.closed
      const reopened = await startServer(configFor(dir))
      try {
        assert.equal(reopened.keyspace.get(Buffer.from('k'))?.toString(), 'v')
      } finally {
        await reopened.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('SHUTDOWN ABORT with no shutdown in progress is an error, as in Redis', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caskade-server-'))
    const server = await startServer(configFor(dir))
    try {
      const reply = await exchangeUntilClose(server.port, 'SHUTDOWN ABORT\r\nQUIT\r\n')
      assert.equal(reply, '-ERR No shutdown in progress.\r\n+OK\r\n')
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a second server on the same dir is refused by the lock', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caskade-server-'))
    const server = await startServer(configFor(dir))
    try {
      await assert.rejects(startServer(configFor(dir)), /lock/i)
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
