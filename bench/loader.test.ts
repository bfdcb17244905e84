/* Tests of the dataset loader: exact keys and value sizes, reply counting across chunk
 * boundaries, and failure on an error reply, against an in-process RESP server. */
import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { test } from 'node:test'
import { encodeSetBatch, LineReplyCounter, loadSequentialKeys, loaderKey } from './loader.js'
import { parseReply } from './resp.js'

test('keys are key:0000000 .. with seven digits', () => {
  assert.equal(loaderKey(0), 'key:0000000')
  assert.equal(loaderKey(999_999), 'key:0999999')
})

test('a SET batch is valid RESP with the key digits at the front of each value', () => {
  const batch = encodeSetBatch({ first: 41, count: 2, value: Buffer.alloc(10, 'v') })
  assert.equal(
    batch.toString(),
    '*3\r\n$3\r\nSET\r\n$11\r\nkey:0000041\r\n$10\r\n0000041vvv\r\n' +
      '*3\r\n$3\r\nSET\r\n$11\r\nkey:0000042\r\n$10\r\n0000042vvv\r\n',
  )
})

test('the reply counter counts lines split anywhere and keeps the first error', () => {
  const counter = new LineReplyCounter()
  const stream = Buffer.from('+OK\r\n+OK\r\n-ERR out of memory\r\n+OK\r\n-ERR later\r\n')
  for (const byte of stream) counter.feed(Buffer.from([byte]))
  assert.equal(counter.received, 5)
  assert.equal(counter.firstError, '-ERR out of memory')
})

/** A RESP server that answers SET with +OK (or -ERR for `failKey`) and records the keys. */
async function fakeServer(options: { failKey?: string }): Promise<{
  server: Server
  port: number
  keys: string[]
  valueLengths: Set<number>
}> {
  const keys: string[] = []
  const valueLengths = new Set<number>()
  const server = createServer((socket) => {
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      let offset = 0
      const replies: string[] = []
      for (;;) {
        const parsed = parseReply(pending, offset)
        if (parsed === null) break
        offset = parsed.next
        const items = parsed.reply.kind === 'array' ? (parsed.reply.items ?? []) : []
        const key = items[1]?.kind === 'bulk' ? String(items[1].value) : '?'
        const value = items[2]
        if (value?.kind === 'bulk') valueLengths.add(value.value?.length ?? -1)
        keys.push(key)
        replies.push(key === options.failKey ? '-ERR injected\r\n' : '+OK\r\n')
      }
      pending = pending.subarray(offset)
      socket.write(replies.join(''))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, keys, valueLengths }
}

test('the loader sends every key exactly once, in order, with the value size asked', async () => {
  const fake = await fakeServer({})
  try {
    let lastProgress = 0
    await loadSequentialKeys({
      port: fake.port,
      keyCount: 25_000,
      valueBytes: 100,
      batchCommands: 700,
      onProgress: (done) => (lastProgress = done),
    })
    assert.equal(fake.keys.length, 25_000)
    assert.equal(fake.keys[0], 'key:0000000')
    assert.equal(fake.keys[24_999], 'key:0024999')
    assert.ok(fake.keys.every((key, index) => key === loaderKey(index)))
    assert.deepEqual([...fake.valueLengths], [100])
    assert.equal(lastProgress, 25_000)
  } finally {
    fake.server.close()
  }
})

test('the loader fails when the server answers an error', async () => {
  const fake = await fakeServer({ failKey: 'key:0000010' })
  try {
    await assert.rejects(
      loadSequentialKeys({ port: fake.port, keyCount: 100, valueBytes: 8 }),
      /SET failed: -ERR injected/,
    )
  } finally {
    fake.server.close()
  }
})
