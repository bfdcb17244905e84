import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import {
  activeDispatcher,
  createDispatcher,
  unknownCommandMessage,
  unknownSubcommandMessage,
} from './dispatch.js'
import { containerSpec, subcommandSpec } from './help.js'
import { buildCommandTable } from './registry.js'
import { createHarness, type ManualClock } from './test-support.js'
import type { CommandSpec } from './types.js'

function plain(name: string, arity: number, handler: CommandSpec['handler']): CommandSpec {
  return {
    name,
    arity,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    group: 'server',
    summary: name,
    since: '1.0.0',
    complexity: 'O(1)',
    handler,
  }
}

const table = buildCommandTable([
  [
    plain('get', 2, (ctx, args) => ctx.reply.bulk(args[1] as Buffer)),
    plain('gex', 2, (ctx) => ctx.reply.simple('GEX')),
    plain('fail', -1, () => {
      throw new CaskadeError(ErrorCode.WrongType, 'Operation against a key holding the wrong kind')
    }),
    plain('bug', 1, () => {
      throw new TypeError('a bug')
    }),
    plain('half', 1, (ctx) => {
      ctx.reply.simple('partial')
      throw new CaskadeError(ErrorCode.Err, 'too late')
    }),
    plain('who', 1, (ctx) => ctx.reply.integer(activeDispatcher() === null ? 0 : 1)),
    containerSpec('client', 'connection', { summary: 'container', since: '2.4.0' }, [
      subcommandSpec({
        ...plain('client|id', 2, (ctx) => ctx.reply.integer(ctx.client.id)),
      }),
      subcommandSpec({
        ...plain('client|no-evict', 3, (ctx) => ctx.reply.simple('OK')),
      }),
    ]),
  ],
])

describe('dispatch', () => {
  test('finds commands case-insensitively, among names of the same length and first byte', () => {
    const h = createHarness(table)
    assert.equal(h.run('GET a'), '$1\r\na\r\n')
    assert.equal(h.run('gEt b'), '$1\r\nb\r\n')
    assert.equal(h.run('GEX a'), '+GEX\r\n')
    assert.equal(h.run('client ID'), ':7\r\n')
    assert.equal(h.run('CLIENT No-Evict on'), '+OK\r\n')
  })

  test('wrong arity uses the full name, subcommands included (Redis 7.0 text)', () => {
    const h = createHarness(table)
    assert.equal(h.run('get'), "-ERR wrong number of arguments for 'get' command\r\n")
    assert.equal(h.run('get a b'), "-ERR wrong number of arguments for 'get' command\r\n")
    assert.equal(h.run('client id x'), "-ERR wrong number of arguments for 'client|id' command\r\n")
    assert.equal(h.run('client'), "-ERR wrong number of arguments for 'client' command\r\n")
  })

  test('unknown command and subcommand texts match Redis', () => {
    const h = createHarness(table)
    assert.equal(
      h.run('foo a b'),
      "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
    )
    assert.equal(h.run('foo'), "-ERR unknown command 'foo', with args beginning with: \r\n")
    assert.equal(h.run('client FOO'), "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n")
    assert.equal(h.runArgs(['']), "-ERR unknown command '', with args beginning with: \r\n")
  })

  test('the argument preview stops at 128 bytes, like Redis', () => {
    const long = 'x'.repeat(200)
    const many = 'a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg'
    // Captured from redis-server 7.0.15.
    assert.equal(
      unknownCommandMessage(['foo', ...many.split(' ')].map((arg) => Buffer.from(arg))),
      "unknown command 'foo', with args beginning with: 'a' 'b' 'c' 'd' 'e' 'f' 'g' 'h' 'i' " +
        "'j' 'k' 'l' 'm' 'n' 'o' 'p' 'q' 'r' 's' 't' 'u' 'v' 'w' 'x' 'y' 'z' 'aa' 'bb' 'cc' " +
        "'dd' 'ee' ",
    )
    assert.equal(
      unknownCommandMessage([Buffer.from('fooBAR'), Buffer.from(long), Buffer.from('b')]),
      `unknown command 'fooBAR', with args beginning with: '${'x'.repeat(128)}' `,
    )
    assert.equal(
      unknownCommandMessage([Buffer.from(long)]),
      `unknown command '${'x'.repeat(128)}', with args beginning with: `,
    )
    assert.equal(
      unknownSubcommandMessage('client', Buffer.from(long)),
      `unknown subcommand '${'x'.repeat(128)}'. Try CLIENT HELP.`,
    )
  })

  test('a CaskadeError becomes one error reply; anything else propagates', () => {
    const h = createHarness(table)
    assert.equal(h.run('fail'), '-WRONGTYPE Operation against a key holding the wrong kind\r\n')
    assert.throws(() => h.run('bug'), TypeError)
  })

  test('a handler that writes and then throws breaks the reply stream: asserted', () => {
    const h = createHarness(table)
    assert.throws(() => h.run('half'), AssertionError)
  })

  test('counts calls, rejected and failed calls, and errors by code', () => {
    const h = createHarness(table)
    h.run('get a')
    h.run('get a')
    h.run('get')
    h.run('fail')
    h.run('client id')
    h.run('client id x')
    h.run('nope')
    h.run('client nope')
    const stats = new Map(h.dispatcher.commandStats().map((entry) => [entry.name, entry]))
    assert.deepEqual(
      { ...stats.get('get'), usec: 0 },
      { name: 'get', calls: 2, usec: 0, rejectedCalls: 1, failedCalls: 0 },
    )
    assert.equal(stats.get('fail')?.failedCalls, 1)
    assert.equal(stats.get('fail')?.calls, 1)
    assert.equal(stats.get('client|id')?.calls, 1)
    assert.equal(stats.get('client|id')?.rejectedCalls, 1)
    assert.equal(stats.get('client')?.calls, 0)
    assert.equal(h.dispatcher.commandsProcessed(), 4)
    assert.equal(h.dispatcher.errorReplies(), 5)
    assert.deepEqual(
      [...h.dispatcher.errorStats()],
      [
        ['ERR', 4],
        ['WRONGTYPE', 1],
      ],
    )
    h.dispatcher.resetStats()
    assert.equal(h.dispatcher.commandsProcessed(), 0)
    assert.equal(h.dispatcher.errorStats().size, 0)
    assert.ok(h.dispatcher.commandStats().every((entry) => entry.calls === 0))
  })

  test('execution time is measured with the context clock', () => {
    const slow = buildCommandTable([
      [
        plain('slow', 1, (ctx) => {
          ;(ctx.clock as ManualClock).nowMs += 3
          ctx.reply.simple('OK')
        }),
      ],
    ])
    const h = createHarness(slow)
    h.run('slow')
    assert.equal(h.dispatcher.commandStats()[0]?.usec, 3000)
  })

  test('in a batch, the batch time is shared equally by the commands run in it', () => {
    const slow = buildCommandTable([
      [
        plain('slow', 1, (ctx) => {
          ;(ctx.clock as ManualClock).nowMs += 3
          ctx.reply.simple('OK')
        }),
      ],
      [plain('fast', 1, (ctx) => ctx.reply.simple('OK'))],
    ])
    const h = createHarness(slow)
    h.dispatcher.beginBatch(h.clock.nowMs)
    h.run('slow')
    h.run('fast')
    h.run('fast')
    assert.equal(h.dispatcher.commandStats()[0]?.usec, 0, 'nothing is attributed before the end')
    h.dispatcher.endBatch(h.clock.nowMs)
    const stats = new Map(h.dispatcher.commandStats().map((entry) => [entry.name, entry]))
    assert.equal(stats.get('slow')?.usec, 1000)
    assert.equal(stats.get('fast')?.usec, 2000)
    assert.equal(stats.get('fast')?.calls, 2)
    h.run('slow')
    assert.equal(stats.get('slow')?.usec, 4000, 'after the batch, commands are timed alone')
  })

  test('updates the session: last command (full name) and last interaction time', () => {
    const h = createHarness(table)
    h.clock.nowMs += 5000
    h.run('client id')
    assert.equal(h.session.lastCommand, 'client|id')
    assert.equal(h.session.lastInteractionMs, h.clock.nowMs)
    h.run('nope')
    assert.equal(h.session.lastCommand, 'NULL')
  })

  test('the running dispatcher is visible to handlers only while they run', () => {
    const h = createHarness(table)
    assert.equal(h.run('who'), ':1\r\n')
    assert.equal(activeDispatcher(), null)
  })

  test('lookup resolves subcommands the way execution does', () => {
    const dispatcher = createDispatcher(table)
    const lookup = (line: string): string | undefined =>
      dispatcher.lookup(line.split(' ').map((arg) => Buffer.from(arg)))?.name
    assert.equal(lookup('GET a'), 'get')
    assert.equal(lookup('client ID'), 'client|id')
    assert.equal(lookup('client'), 'client')
    assert.equal(lookup('client nope'), undefined)
    assert.equal(lookup('nope'), undefined)
  })
})
