/* The crash tests' client waits always settle: a client whose server dies before the handshake
 * ends rejects at once, and a server that never answers is cut off by the ref'd timeout. Before,
 * such a wait held no handle and node:test cancelled the whole crash test ("Promise resolution is
 * still pending but the event loop has already resolved"). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { connectAll, connectWithoutRetries, whenReady } from './crash-client.js'
import { closeServer as close, listenLoopback as listen, portOf } from './loopback-server.js'

describe('crash client waits', () => {
  test('a client whose server is gone before it connects rejects instead of hanging', async () => {
    const server = await listen((socket) => socket.destroy())
    const port = portOf(server)
    await close(server)
    const redis = connectWithoutRetries(port)
    await assert.rejects(whenReady(redis), /ended before ready: .*ECONNREFUSED/)
  })

  test('a client whose connection drops mid-handshake rejects instead of hanging', async () => {
    const server = await listen((socket) => socket.destroy())
    try {
      const redis = connectWithoutRetries(portOf(server))
      await assert.rejects(whenReady(redis), /ended before ready/)
    } finally {
      await close(server)
    }
  })

  test('a server that accepts but never answers fails the wait after its timeout', async () => {
    const sockets: net.Socket[] = []
    const server = await listen((socket) => {
      sockets.push(socket)
      socket.resume() // reads (and so sees the client's FIN) but never answers
    })
    try {
      const redis = connectWithoutRetries(portOf(server))
      await assert.rejects(whenReady(redis, 200), /not ready in 200 ms/)
      // The timed-out client is disconnected: its connection ends.
      if (redis.status !== 'end') await new Promise((resolve) => redis.once('end', resolve))
    } finally {
      for (const socket of sockets) socket.destroy()
      await close(server)
    }
  })

  test('connectAll rejects and disconnects the others when one client cannot connect', async () => {
    let accepted = 0
    const closed: Promise<void>[] = []
    const server = await listen((socket) => {
      // The first connection is dropped; the others pass ioredis's handshake: every command
      // (CLIENT SETINFO twice, then the ready check's INFO) gets an empty bulk string.
      if (accepted++ === 0) return socket.destroy()
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())))
      socket.on('data', (chunk: Buffer) => {
        const commands = chunk
          .toString('latin1')
          .split('\r\n')
          .filter((line) => line[0] === '*')
        for (const _ of commands) socket.write('$0\r\n\r\n')
      })
    })
    try {
      await assert.rejects(connectAll(portOf(server), 3), /ended before ready/)
      assert.equal(closed.length, 2, 'the other two clients connected')
      await Promise.all(closed)
    } finally {
      await close(server)
    }
  })
})
