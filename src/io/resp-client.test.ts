/* The tools' RESP client: replies parse at any split, come back in order, an error reply is a
 * value (not a rejection), and a closed port or a silent server fails within the timeout. */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  RespClient,
  encodeRespCommand,
  parseInfoText,
  parseRespReply,
  respCommandOnce,
} from './resp-client.js'
import { listenLoopback, portOf } from '../../test/helpers/loopback-server.js'

/** A loopback server that does `onData` with every chunk a connection sends. */
function listen(onData: (socket: net.Socket, data: Buffer) => void): Promise<net.Server> {
  return listenLoopback((socket) => socket.on('data', (data) => onData(socket, data)))
}

describe('RESP client', () => {
  const servers: net.Server[] = []
  after(() => {
    for (const server of servers) server.close()
  })

  test('a nested reply parses whole, and null (need more) at every shorter prefix', () => {
    const bytes = Buffer.from('*3\r\n$2\r\nn1\r\n:42\r\n*2\r\n+voter\r\n$-1\r\n')
    for (let end = 0; end < bytes.length; end += 1) {
      assert.equal(parseRespReply(bytes.subarray(0, end), 0), null, `prefix of ${end} bytes`)
    }
    assert.deepEqual(parseRespReply(bytes, 0), {
      reply: {
        kind: 'array',
        items: [
          { kind: 'bulk', value: Buffer.from('n1') },
          { kind: 'integer', value: 42 },
          {
            kind: 'array',
            items: [
              { kind: 'simple', text: 'voter' },
              { kind: 'bulk', value: null },
            ],
          },
        ],
      },
      next: bytes.length,
    })
    assert.throws(() => parseRespReply(Buffer.from('?x\r\n'), 0), /bad RESP reply type/)
  })

  test('commands encode as multibulk with byte lengths', () => {
    assert.equal(
      encodeRespCommand(['RAFT', 'ADD', 'é']).toString(),
      '*3\r\n$4\r\nRAFT\r\n$3\r\nADD\r\n$2\r\né\r\n',
    )
  })

  test('replies arrive in order, split across packets; an error reply resolves', async () => {
    const server = await listen((socket) => {
      socket.write('+OK\r\n-ERR no')
      setTimeout(() => socket.write(' leader\r\n$5\r\nhel'), 10)
      setTimeout(() => socket.write('lo\r\n'), 20)
    })
    servers.push(server)
    const client = await RespClient.connect({ host: '127.0.0.1', port: portOf(server) }, 1000)
    const replies = await Promise.all([
      client.command(['PING'], 1000),
      client.command(['SET', 'k', 'v'], 1000),
      client.command(['GET', 'k'], 1000),
    ])
    client.close()
    assert.deepEqual(replies, [
      { kind: 'simple', text: 'OK' },
      { kind: 'error', text: 'ERR no leader' },
      { kind: 'bulk', value: Buffer.from('hello') },
    ])
  })

  test('a closed port rejects at connect', async () => {
    const server = await listen(() => {})
    const port = portOf(server)
    await new Promise((resolve) => server.close(resolve))
    await assert.rejects(
      respCommandOnce({ host: '127.0.0.1', port }, ['PING'], 1000),
      /ECONNREFUSED/,
    )
  })

  test('a server that never answers fails the command at its timeout', async () => {
    const server = await listen(() => {})
    servers.push(server)
    const started = performance.now()
    await assert.rejects(
      respCommandOnce({ host: '127.0.0.1', port: portOf(server) }, ['INFO', 'raft'], 200),
      /INFO: no reply within 200 ms/,
    )
    assert.ok(performance.now() - started < 5000)
  })

  test('INFO text becomes a field map without headers', () => {
    const fields = parseInfoText('# Raft\r\nrole:leader\r\nleader_addr:127.0.0.1:7000\r\n\r\n')
    assert.deepEqual(
      [...fields],
      [
        ['role', 'leader'],
        ['leader_addr', '127.0.0.1:7000'],
      ],
    )
  })
})
