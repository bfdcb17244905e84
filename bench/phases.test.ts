/* Tests of the phase list and of how a phase a server lacks is detected: COMMAND INFO against a
 * small fake server that knows only some commands, as caskade does before lists land. */
import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { missingCommands, phaseNamed, phases, sortedSetMember } from './phases.js'
import { skippedLines } from './report.js'
import { parseReply, type Reply } from './resp.js'

describe('the phase list', () => {
  test('has the string, hash, set, list and sorted-set phases, each name once', () => {
    const names = phases.map((phase) => phase.name)
    assert.deepEqual(names, [
      'set',
      'get',
      'incr',
      'mset',
      'hset',
      'sadd',
      'lpush',
      'lpop',
      'zadd',
      'zrange',
    ])
  })

  test('collection phases run at pipeline 1 and name every command they send', () => {
    for (const name of ['hset', 'sadd', 'lpush', 'lpop', 'zadd', 'zrange']) {
      const phase = phaseNamed(name)
      assert.ok(phase !== undefined)
      assert.deepEqual(phase.pipelines, [1])
      assert.ok(phase.commands.length > 0)
    }
    assert.deepEqual(phaseNamed('lpop')?.commands, ['LPOP', 'RPUSH', 'LLEN'])
    assert.deepEqual(phaseNamed('zrange')?.commands, ['ZRANGE', 'ZADD', 'ZCARD'])
  })

  test('the ZRANGE row label is its command line, as redis-benchmark prints it', () => {
    const zrange = phaseNamed('zrange')
    assert.equal(zrange?.rowLabel, zrange?.customCommand.join(' '))
    assert.equal(zrange?.benchmarkTest, null)
    assert.equal(sortedSetMember(42), 'member:00042')
  })

  test('skipped phases print one line each with the reason, and nothing when none', () => {
    assert.deepEqual(skippedLines([]), [])
    const lines = skippedLines([{ command: 'LPUSH', reason: 'caskade does not know LPUSH' }])
    assert.equal(lines.at(-1), '- LPUSH: caskade does not know LPUSH')
  })
})

function encode(reply: Reply): string {
  switch (reply.kind) {
    case 'array':
      if (reply.items === null) return '*-1\r\n'
      return `*${reply.items.length}\r\n${reply.items.map(encode).join('')}`
    case 'bulk':
      return reply.value === null
        ? '$-1\r\n'
        : `$${reply.value.length}\r\n${reply.value.toString()}\r\n`
    case 'integer':
      return `:${reply.value}\r\n`
    case 'simple':
      return `+${reply.text}\r\n`
    case 'error':
      return `-${reply.text}\r\n`
  }
}

/** Answers COMMAND INFO as Redis does: an entry per known name, nil for an unknown one. */
function fakeServer(known: ReadonlySet<string>): Server {
  return createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const parsed = parseReply(chunk, 0)
      const items = parsed?.reply.kind === 'array' ? (parsed.reply.items ?? []) : []
      const args = items.map((item) =>
        item.kind === 'bulk' && item.value !== null ? item.value.toString() : '',
      )
      const entries: Reply[] = args.slice(2).map((name) => {
        if (!known.has(name.toUpperCase())) return { kind: 'array', items: null }
        return { kind: 'array', items: [{ kind: 'bulk', value: Buffer.from(name.toLowerCase()) }] }
      })
      const reply: Reply =
        args[0] === 'COMMAND' && args[1] === 'INFO'
          ? { kind: 'array', items: entries }
          : { kind: 'error', text: 'ERR unknown command' }
      socket.write(encode(reply))
    })
  })
}

describe('missingCommands', () => {
  const server = fakeServer(new Set(['HSET', 'SADD', 'DEL']))
  let port = 0
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => server.close())

  test('a phase whose commands the server knows has none missing', async () => {
    assert.deepEqual(await missingCommands(port, ['HSET']), [])
  })

  test('names the commands COMMAND INFO answers nil for, in order', async () => {
    const zrange = phaseNamed('zrange')
    assert.ok(zrange !== undefined)
    assert.deepEqual(await missingCommands(port, zrange.commands), ['ZRANGE', 'ZADD', 'ZCARD'])
    assert.deepEqual(await missingCommands(port, ['SADD', 'LPOP']), ['LPOP'])
  })
})
