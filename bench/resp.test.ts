/* Tests of the harness's RESP client: the resumable reply parser, and a connection against an
 * in-process server that answers in fragments. */
import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { commandOnce, dbSize, encodeCommand, infoFields, parseReply } from './resp.js'

describe('parseReply', () => {
  test('reads each RESP2 type and says where the next reply starts', () => {
    const buffer = Buffer.from(
      '+OK\r\n-ERR no\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n',
    )
    const kinds: string[] = []
    let offset = 0
    while (offset < buffer.length) {
      const parsed = parseReply(buffer, offset)
      assert.ok(parsed !== null)
      kinds.push(JSON.stringify(parsed.reply))
      offset = parsed.next
    }
    assert.deepEqual(kinds, [
      '{"kind":"simple","text":"OK"}',
      '{"kind":"error","text":"ERR no"}',
      '{"kind":"integer","value":42}',
      '{"kind":"bulk","value":{"type":"Buffer","data":[97,98,99]}}',
      '{"kind":"bulk","value":null}',
      '{"kind":"array","items":[{"kind":"integer","value":1},' +
        '{"kind":"bulk","value":{"type":"Buffer","data":[120]}}]}',
    ])
  })

  test('integer replies may be negative, as in COMMAND INFO arities', () => {
    const parsed = parseReply(Buffer.from('*2\r\n$3\r\nset\r\n:-3\r\n'), 0)
    assert.deepEqual(parsed?.reply, {
      kind: 'array',
      items: [
        { kind: 'bulk', value: Buffer.from('set') },
        { kind: 'integer', value: -3 },
      ],
    })
    assert.throws(() => parseReply(Buffer.from(':1x\r\n'), 0), /bad RESP integer/)
  })

  test('answers null for every incomplete prefix instead of throwing', () => {
    const whole = Buffer.from('*2\r\n$5\r\nhello\r\n:7\r\n')
    for (let end = 0; end < whole.length; end += 1) {
      assert.equal(parseReply(whole.subarray(0, end), 0), null, `prefix of ${end} bytes`)
    }
    assert.equal(parseReply(whole, 0)?.next, whole.length)
  })

  test('rejects a reply that is not RESP', () => {
    assert.throws(() => parseReply(Buffer.from('hello\r\n'), 0), /bad RESP reply type/)
  })
})

test('encodeCommand writes an array of bulk strings with byte lengths', () => {
  assert.equal(
    encodeCommand(['SET', 'k', 'é']).toString(),
    '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n',
  )
})

describe('RespConnection against a server that answers in fragments', () => {
  let server: Server
  let port = 0
  before(async () => {
    server = createServer((socket) => {
      socket.on('data', (chunk) => {
        const command = chunk.toString()
        const reply = command.includes('DBSIZE')
          ? ':1234\r\n'
          : '$44\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n\r\n'
        // One byte at a time: the client must reassemble the reply.
        for (const byte of Buffer.from(reply)) socket.write(Buffer.from([byte]))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => server.close())

  test('DBSIZE and INFO fields come back whole', async () => {
    assert.equal(await dbSize(port), 1234)
    const fields = await infoFields(port, 'memory')
    assert.equal(fields.get('used_memory'), '1048576')
    assert.equal(fields.get('maxmemory'), '0')
    assert.equal(fields.has('# Memory'), false)
  })

  test('a command on a port nobody listens on rejects', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const closedPort = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    await assert.rejects(commandOnce(closedPort, ['PING']), /ECONNREFUSED/)
  })
})
