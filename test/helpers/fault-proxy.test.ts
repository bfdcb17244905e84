/* The fault proxy on its own, between a plain TCP client and a target that records what it got:
 * pass, drop (a stream that lost bytes is cut, never spliced), delay (order kept), one-way
 * blocks in both directions, reset, and a target that is down. */
import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'

interface Target {
  readonly port: number
  /** Server-side sockets in accept order, with what each received. */
  readonly sockets: { socket: net.Socket; received: string }[]
  close(): Promise<void>
}

async function startTarget(): Promise<Target> {
  const sockets: Target['sockets'] = []
  const server = net.createServer((socket) => {
    const entry = { socket, received: '' }
    sockets.push(entry)
    socket.on('data', (chunk: Buffer) => {
      entry.received += chunk.toString('utf8')
      if (entry.received.endsWith('?')) socket.write(`echo:${entry.received}`)
    })
    socket.on('error', () => undefined)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address() as net.AddressInfo
  return {
    port: address.port,
    sockets,
    close: async () => {
      for (const { socket } of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Client {
  readonly socket: net.Socket
  received: string
  closed: boolean
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  const client: Client = { socket, received: '', closed: false }
  socket.on('data', (chunk: Buffer) => (client.received += chunk.toString('utf8')))
  socket.on('error', () => undefined)
  socket.on('close', () => (client.closed = true))
  await once(socket, 'connect')
  return client
}

async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

describe('fault proxy', () => {
  let target: Target
  let proxy: FaultProxy
  const clients: Client[] = []
  const open = async (): Promise<Client> => {
    const client = await connect(proxy.port)
    clients.push(client)
    return client
  }

  beforeEach(async () => {
    target = await startTarget()
    proxy = await startFaultProxy({ targetPort: target.port })
  })
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy()
    await proxy.close()
    await target.close()
  })

  test('in pass mode bytes flow both ways unchanged', async () => {
    const client = await open()
    client.socket.write('hello?')
    await until(() => client.received === 'echo:hello?', 'the echo')
    assert.equal(proxy.stats().forwardedBytes.forward, 6)
    assert.equal(proxy.stats().open, 1)
  })

  test('drop discards both ways; when it ends the cut connection closes and new ones work', async () => {
    const client = await open()
    await until(() => target.sockets.length === 1, 'the upstream connection')
    proxy.drop()
    client.socket.write('lost?')
    target.sockets[0]!.socket.write('also lost')
    await sleep(100)
    assert.equal(target.sockets[0]!.received, '')
    assert.equal(client.received, '')
    assert.equal(proxy.stats().discardedBytes.forward, 5)
    assert.equal(proxy.stats().discardedBytes.backward, 9)
    assert.equal(client.closed, false, 'a black hole, not a reset')
    proxy.pass()
    await until(() => client.closed, 'the tainted connection to close')
    const fresh = await open()
    fresh.socket.write('again?')
    await until(() => fresh.received === 'echo:again?', 'the echo on a new connection')
  })

  test('an idle connection survives a drop it never sent bytes through', async () => {
    const client = await open()
    proxy.drop()
    await sleep(30)
    proxy.pass()
    client.socket.write('fine?')
    await until(() => client.received === 'echo:fine?', 'the echo')
  })

  test('delay holds every chunk for the delay and keeps their order', async () => {
    const client = await open()
    proxy.delay(80)
    const startMs = performance.now()
    for (let i = 0; i < 20; i++) client.socket.write(`${i},`)
    client.socket.write('?')
    await until(() => client.received.endsWith('?'), 'the delayed echo')
    const elapsedMs = performance.now() - startMs
    assert.ok(elapsedMs >= 150, `a round trip through two delays took ${elapsedMs} ms`)
    const expected = Array.from({ length: 20 }, (_, i) => `${i},`).join('') + '?'
    assert.equal(client.received, `echo:${expected}`)
    proxy.pass()
    client.socket.write('x?')
    await until(() => client.received.endsWith('x?'), 'the echo after the delay ends')
  })

  test('a forward block discards dialer -> target while target -> dialer flows', async () => {
    const client = await open()
    await until(() => target.sockets.length === 1, 'the upstream connection')
    proxy.block('forward')
    client.socket.write('blocked?')
    target.sockets[0]!.socket.write('from target')
    await until(() => client.received === 'from target', 'the backward bytes')
    await sleep(50)
    assert.equal(target.sockets[0]!.received, '')
  })

  test('a backward block discards target -> dialer while dialer -> target flows', async () => {
    const client = await open()
    await until(() => target.sockets.length === 1, 'the upstream connection')
    proxy.block('backward')
    client.socket.write('arrives?')
    await until(() => target.sockets[0]!.received === 'arrives?', 'the forward bytes')
    await sleep(50)
    assert.equal(client.received, '', 'the echo was discarded')
  })

  test('reset closes open connections and refuses new ones until the mode changes', async () => {
    const client = await open()
    proxy.reset()
    await until(() => client.closed, 'the open connection to close')
    const refused = await open()
    await until(() => refused.closed, 'the new connection to close')
    proxy.pass()
    const fresh = await open()
    fresh.socket.write('back?')
    await until(() => fresh.received === 'echo:back?', 'the echo after reset')
  })

  test('a connection to a target that is down is closed', async () => {
    await target.close()
    const client = await open()
    await until(() => client.closed, 'the connection to close')
  })
})
