/* Cluster-mode blocking on one node, with attempts answered by hand on virtual time: a client
 * that found nothing waits in the registry until a key it waits on is written; a timeout or
 * CLIENT UNBLOCK during an attempt never drops the element that attempt popped; the node's
 * clients are tried first blocked, first tried; a disconnect releases the connection's slot. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BlockingRegistry } from '../commands/blocking.js'
import { makeSession } from '../commands/test-support.js'
import type { CommandContext } from '../commands/types.js'
import { ManualTime } from '../replica/test-support.js'
import { ClusterBlocking, type AttemptResult } from './cluster-blocking.js'

const nil = '*-1\r\n'
const popped = (key: string, value: string): string =>
  `*2\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`

interface Client {
  readonly ctx: CommandContext
  /** Attempts waiting for their answer, oldest first. */
  readonly pending: Array<(result: AttemptResult) => void>
  readonly replies: string[]
  answer(reply: string, ok?: boolean): void
}

function setup() {
  const time = new ManualTime()
  const registry = new BlockingRegistry(time)
  const blocking = new ClusterBlocking({ registry, clock: time, timers: time })
  let nextId = 1
  const start = (...argv: string[]): Client => {
    const ctx = { client: makeSession(nextId++) } as unknown as CommandContext
    const client: Client = {
      ctx,
      pending: [],
      replies: [],
      answer(reply, ok = true) {
        const done = client.pending.shift()
        assert.ok(done !== undefined, 'an attempt is in flight')
        done({ ok, reply: Buffer.from(reply, 'latin1') })
      },
    }
    blocking.run({
      ctx,
      argv: argv.map((arg) => Buffer.from(arg)),
      attempt: (done) => client.pending.push(done),
      done: (reply) => client.replies.push(reply.toString('latin1')),
    })
    return client
  }
  const write = (key: string): void => {
    blocking.keyModified(Buffer.from(key))
    time.drain()
  }
  return { time, registry, blocking, start, write }
}

describe('cluster-mode blocking on one node', () => {
  test('a client that found nothing waits until a write to its key, then pops', () => {
    const { registry, start, write } = setup()
    const client = start('BLPOP', 'k', '0')
    client.answer(nil)
    assert.deepEqual(client.replies, [])
    assert.equal(registry.blockedCount, 1)
    assert.ok(client.ctx.client.blocked !== undefined, 'CLIENT LIST shows it blocked')
    write('other')
    assert.equal(client.pending.length, 0, 'a write to another key wakes nobody')
    write('k')
    assert.equal(client.pending.length, 1, 'tried again')
    client.answer(popped('k', 'v'))
    assert.deepEqual(client.replies, [popped('k', 'v')])
    assert.equal(registry.blockedCount, 0)
    assert.equal(client.ctx.client.blocked, undefined)
  })

  test('the timeout answers nil, on the node clock, from the arrival', () => {
    const { time, start } = setup()
    const client = start('BLPOP', 'k', '1')
    time.advance(400)
    client.answer(nil)
    time.advance(599)
    assert.deepEqual(client.replies, [])
    time.advance(1)
    assert.deepEqual(client.replies, [nil])
  })

  test('a timeout passed during the first attempt answers nil without blocking', () => {
    const { time, registry, start } = setup()
    const client = start('BZPOPMIN', 'z', '0.5')
    time.advance(600)
    client.answer(nil)
    assert.deepEqual(client.replies, [nil])
    assert.equal(registry.blockedCount, 0)
  })

  test('a timeout during an attempt that pops answers the element, once', () => {
    const { time, start, write } = setup()
    const client = start('BLPOP', 'k', '1')
    client.answer(nil)
    time.advance(500)
    write('k')
    time.advance(600) // the timeout fires while the attempt is in flight
    assert.deepEqual(client.replies, [])
    client.answer(popped('k', 'v'))
    assert.deepEqual(client.replies, [popped('k', 'v')])
  })

  test('CLIENT UNBLOCK: nil or UNBLOCKED while waiting, after the attempt in flight', () => {
    const { registry, start, write } = setup()
    const waiting = start('BLPOP', 'k', '0')
    waiting.answer(nil)
    assert.equal(registry.unblock(waiting.ctx.client.id, 'error'), true)
    assert.deepEqual(waiting.replies, ['-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n'])
    const trying = start('BLPOP', 'k', '0')
    trying.answer(nil)
    write('k')
    assert.equal(registry.unblock(trying.ctx.client.id, 'timeout'), true)
    assert.deepEqual(trying.replies, [])
    trying.answer(nil)
    assert.deepEqual(trying.replies, [nil])
  })

  test("one node's clients are tried in the order they blocked, one attempt at a time", () => {
    const { start, write } = setup()
    const first = start('BLPOP', 'k', '0')
    const second = start('BLPOP', 'k', '0')
    first.answer(nil)
    second.answer(nil)
    write('k')
    assert.equal(first.pending.length, 1)
    assert.equal(second.pending.length, 0, 'not tried while the first one is')
    first.answer(popped('k', 'a'))
    write('k') // the pop itself is a write of k in the applied stream
    assert.equal(second.pending.length, 1)
    second.answer(nil)
    assert.deepEqual(second.replies, [], 'found nothing: still waiting')
  })

  test('a later attempt meeting another type keeps waiting; a first one answers it', () => {
    const { start, write } = setup()
    const wrongType = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'
    const first = start('BLPOP', 'k', '0')
    first.answer(wrongType)
    assert.deepEqual(first.replies, [wrongType])
    const waiting = start('BLMOVE', 'k', 'd', 'LEFT', 'RIGHT', '0')
    waiting.answer(nil)
    write('k')
    waiting.answer(wrongType)
    assert.deepEqual(waiting.replies, [])
  })

  test('a disconnect during an attempt releases the slot with no bytes, and it stays gone', () => {
    const { registry, blocking, start, write } = setup()
    const client = start('BLPOP', 'k', '0')
    registry.remove(client.ctx.client)
    client.answer(nil)
    assert.deepEqual(client.replies, [''])
    assert.equal(registry.blockedCount, 0)
    assert.equal(blocking.waiting, 0)
    write('k')
    assert.equal(client.pending.length, 0)
  })

  test('a failed attempt answers its TRYAGAIN or UNCERTAIN reply', () => {
    const { start } = setup()
    const client = start('BRPOP', 'k', '0')
    client.answer('-TRYAGAIN no leader, try again\r\n', false)
    assert.deepEqual(client.replies, ['-TRYAGAIN no leader, try again\r\n'])
  })
})
