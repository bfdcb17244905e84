/* A plain TCP server on 127.0.0.1 port 0 for tests of clients (what the peer does with each
 * connection is the test's), its port, and closing it. */
import assert from 'node:assert/strict'
import net from 'node:net'

export async function listenLoopback(onSocket: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onSocket)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

export function portOf(server: net.Server): number {
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return address.port
}

export async function closeServer(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
