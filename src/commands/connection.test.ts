/* Expected bytes below were captured from redis-server 7.0.15 for the same commands (with
 * `server` caskade instead of redis, and our client ids); differences are commented. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connectionCommands } from './connection.js'
import { buildCommandTable } from './registry.js'
import { serverCommands } from './server.js'
import { createHarness, makeSession, testEpochMs } from './test-support.js'

const table = buildCommandTable([connectionCommands, serverCommands])

const helloMap = (proto: 2 | 3, id: number): string =>
  '$6\r\nserver\r\n$7\r\ncaskade\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n' +
  `$5\r\nproto\r\n:${proto}\r\n$2\r\nid\r\n:${id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n` +
  '$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n'

describe('PING, ECHO', () => {
  test('replies like Redis', () => {
    const h = createHarness(table)
    assert.equal(h.run('PING'), '+PONG\r\n')
    assert.equal(h.run('ping hello'), '$5\r\nhello\r\n')
    assert.equal(h.run('ping a b'), "-ERR wrong number of arguments for 'ping' command\r\n")
    assert.equal(h.run('echo hi'), '$2\r\nhi\r\n')
    assert.equal(h.run('echo'), "-ERR wrong number of arguments for 'echo' command\r\n")
  })
})

describe('HELLO', () => {
  test('HELLO 3 switches to RESP3 and replies with a 7-entry map', () => {
    const h = createHarness(table)
    assert.equal(h.run('HELLO 3'), `%7\r\n${helloMap(3, 7)}`)
    assert.equal(h.session.protocol, 3)
    assert.equal(h.run('client getname'), '_\r\n')
    assert.equal(h.run('HELLO 2'), `*14\r\n${helloMap(2, 7)}`)
    assert.equal(h.run('client getname'), '$-1\r\n')
  })

  test('HELLO without a version reports the current protocol', () => {
    const h = createHarness(table)
    assert.equal(h.run('hello'), `*14\r\n${helloMap(2, 7)}`)
  })

  test('bad versions and options use Redis texts and change nothing', () => {
    const h = createHarness(table)
    assert.equal(h.run('hello 4'), '-NOPROTO unsupported protocol version\r\n')
    assert.equal(h.run('hello 1'), '-NOPROTO unsupported protocol version\r\n')
    const notInteger = '-ERR Protocol version is not an integer or out of range\r\n'
    assert.equal(h.run('hello x'), notInteger)
    assert.equal(h.run('hello 03'), notInteger)
    assert.equal(h.run('hello 3 foo'), "-ERR Syntax error in HELLO option 'foo'\r\n")
    assert.equal(h.run('hello 3 auth default'), "-ERR Syntax error in HELLO option 'auth'\r\n")
    assert.equal(h.run('hello 3 setname'), "-ERR Syntax error in HELLO option 'setname'\r\n")
    assert.equal(
      h.runArgs(['hello', '3', 'setname', 'a b']),
      '-ERR Client names cannot contain spaces, newlines or special characters.\r\n',
    )
    assert.equal(h.session.protocol, 2)
  })

  test('AUTH inside HELLO: the default user has no password, other users do not exist', () => {
    const h = createHarness(table)
    assert.equal(
      h.run('hello 3 auth bob pw'),
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
    )
    assert.equal(h.session.protocol, 2)
    assert.equal(h.run('hello 3 AUTH default pw SETNAME app'), `%7\r\n${helloMap(3, 7)}`)
    assert.equal(h.session.name, 'app')
  })
})

describe('AUTH, SELECT, QUIT, RESET', () => {
  test('AUTH behaves as Redis without requirepass', () => {
    const h = createHarness(table)
    assert.equal(
      h.run('auth secret'),
      '-ERR AUTH <password> called without any password configured for the default user. ' +
        'Are you sure your configuration is correct?\r\n',
    )
    assert.equal(h.run('auth default anything'), '+OK\r\n')
    assert.equal(
      h.run('auth bob pw'),
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
    )
    assert.equal(h.run('auth a b c'), '-ERR syntax error\r\n')
  })

  test('SELECT accepts only database 0 (caskade has one database)', () => {
    const h = createHarness(table)
    assert.equal(h.run('select 0'), '+OK\r\n')
    assert.equal(h.run('select 1'), '-ERR DB index is out of range\r\n')
    assert.equal(h.run('select -1'), '-ERR DB index is out of range\r\n')
    assert.equal(h.run('select x'), '-ERR value is not an integer or out of range\r\n')
    assert.equal(
      h.run('select 2147483648'),
      '-ERR value is out of range, value must between -2147483648 and 2147483647\r\n',
    )
  })

  test('QUIT replies OK and asks the server to close after the reply', () => {
    const h = createHarness(table)
    assert.equal(h.run('quit'), '+OK\r\n')
    assert.equal(h.session.closeAfterReply, true)
  })

  test('RESET goes back to RESP2 and clears the name and flags', () => {
    const h = createHarness(table)
    h.run('hello 3 setname app')
    h.run('client no-evict on')
    h.run('client setinfo lib-name lib')
    assert.equal(h.run('reset'), '+RESET\r\n')
    assert.equal(h.session.protocol, 2)
    assert.equal(h.session.name, null)
    assert.equal(h.session.noEvict, false)
    assert.equal(h.session.libName, 'lib')
    assert.equal(h.run('reset x'), "-ERR wrong number of arguments for 'reset' command\r\n")
  })
})

describe('CLIENT', () => {
  test('ID, SETNAME, GETNAME with Redis validation', () => {
    const h = createHarness(table)
    assert.equal(h.run('client id'), ':7\r\n')
    assert.equal(h.run('client getname'), '$-1\r\n')
    assert.equal(h.run('client setname worker-1'), '+OK\r\n')
    assert.equal(h.run('client getname'), '$8\r\nworker-1\r\n')
    const invalid = '-ERR Client names cannot contain spaces, newlines or special characters.\r\n'
    assert.equal(h.runArgs(['client', 'setname', 'a b']), invalid)
    assert.equal(h.runArgs(['client', 'setname', 'a\nb']), invalid)
    assert.equal(h.runArgs(['client', 'setname', Buffer.from([0xc3, 0xa9])]), invalid)
    assert.equal(h.runArgs(['client', 'setname', '']), '+OK\r\n')
    assert.equal(h.run('client getname'), '$-1\r\n')
    assert.equal(
      h.run('client setname'),
      "-ERR wrong number of arguments for 'client|setname' command\r\n",
    )
  })

  test('LIST prints Redis 7 fields in order, the host extras in place, lib-* last', () => {
    const h = createHarness(table)
    const other = makeSession(8, {
      name: 'other',
      createdAtMs: testEpochMs - 65_000,
      lastInteractionMs: testEpochMs - 5_000,
      lastCommand: 'get',
      protocol: 3,
      libName: 'ioredis',
      libVersion: '5.4.1',
    })
    h.host.sessions.push(other)
    h.clock.nowMs += 2000
    const expected =
      'id=7 addr=127.0.0.1:50007 laddr=127.0.0.1:6379 fd=15 name= age=2 idle=0 flags=N db=0 ' +
      'sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ' +
      'obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|list user=default redir=-1 resp=2 ' +
      'lib-name= lib-ver=\n' +
      'id=8 addr=127.0.0.1:50008 laddr=127.0.0.1:6379 fd=16 name=other age=67 idle=7 flags=N ' +
      'db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=0 multi-mem=0 rbs=0 ' +
      'rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=get user=default redir=-1 resp=3 ' +
      'lib-name=ioredis lib-ver=5.4.1\n'
    assert.equal(h.run('client list'), `$${expected.length}\r\n${expected}\r\n`)
    assert.equal(h.run('client list type normal'), `$${expected.length}\r\n${expected}\r\n`)
    // The field names of a line from redis-server 7.0.15, in order (7.2 appends lib-name/ver).
    const redisFields =
      'id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem ' +
      'multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp'
    const ourFields = (expected.split('\n')[0] as string)
      .split(' ')
      .map((field) => field.split('=')[0])
    assert.equal(ourFields.join(' '), `${redisFields} lib-name lib-ver`)
  })

  test('LIST filters by TYPE and ID with Redis errors', () => {
    const h = createHarness(table)
    h.host.sessions.push(makeSession(8))
    assert.equal(h.run('client list type pubsub'), '$0\r\n\r\n')
    assert.equal(h.run('client list type master'), '$0\r\n\r\n')
    assert.equal(h.run('client list type bad'), "-ERR Unknown client type 'bad'\r\n")
    assert.match(h.run('client list id 8 99'), /^\$\d+\r\nid=8 [^\n]*\n\r\n$/)
    assert.equal(h.run('client list id 0'), '$0\r\n\r\n')
    assert.equal(h.run('client list id 8 x'), '-ERR Invalid client ID\r\n')
    assert.equal(h.run('client list foo'), '-ERR syntax error\r\n')
    assert.equal(h.run('client list type normal x'), '-ERR syntax error\r\n')
  })

  test('INFO describes the caller, as a verbatim string in RESP3', () => {
    const h = createHarness(table, { protocol: 3 })
    const reply = h.run('client info')
    assert.match(reply, /^=\d+\r\ntxt:id=7 addr=127\.0\.0\.1:50007 [^\n]* resp=3 [^\n]*\n\r\n$/)
    const length = Number(/^=(\d+)/.exec(reply)?.[1])
    assert.equal(length, Buffer.byteLength(reply) - `=${length}\r\n`.length - 2)
  })

  test('KILL, legacy form: +OK or "No such client", may kill the caller', () => {
    const h = createHarness(table)
    h.host.sessions.push(makeSession(8))
    assert.equal(h.run('client kill 127.0.0.1:50008'), '+OK\r\n')
    assert.deepEqual(h.host.killed.at(-1), {
      filter: { addr: '127.0.0.1:50008', skipMe: false, legacy: true },
      caller: 7,
    })
    assert.equal(h.run('client kill 1.2.3.4:5'), '-ERR No such client\r\n')
  })

  test('KILL with filters replies a count and skips the caller by default', () => {
    const h = createHarness(table)
    h.host.sessions.push(makeSession(8))
    assert.equal(h.run('client kill id 8'), ':1\r\n')
    assert.equal(h.run('client kill id 7'), ':0\r\n')
    assert.equal(h.run('client kill id 7 skipme no'), ':1\r\n')
    assert.equal(h.run('client kill laddr 127.0.0.1:6379 user default'), ':1\r\n')
    assert.equal(h.run('client kill type normal'), ':1\r\n')
    const calls = h.host.killed.length
    assert.equal(h.run('client kill type pubsub'), ':0\r\n')
    assert.equal(h.host.killed.length, calls)
  })

  test('KILL errors match Redis', () => {
    const h = createHarness(table)
    const idError = '-ERR client-id should be greater than 0\r\n'
    assert.equal(h.run('client kill id 0'), idError)
    assert.equal(h.run('client kill id -5'), idError)
    assert.equal(h.run('client kill id x'), idError)
    assert.equal(h.run('client kill type bogus'), "-ERR Unknown client type 'bogus'\r\n")
    assert.equal(h.run('client kill user bob'), "-ERR No such user 'bob'\r\n")
    assert.equal(h.run('client kill skipme maybe'), '-ERR syntax error\r\n')
    assert.equal(h.run('client kill foo bar'), '-ERR syntax error\r\n')
    assert.equal(h.run('client kill id 1 type'), '-ERR syntax error\r\n')
    assert.equal(
      h.run('client kill'),
      "-ERR wrong number of arguments for 'client|kill' command\r\n",
    )
  })

  test('NO-EVICT and NO-TOUCH set the e and T flags', () => {
    const h = createHarness(table)
    assert.equal(h.run('client no-evict on'), '+OK\r\n')
    assert.match(h.run('client info'), / flags=e /)
    assert.equal(h.run('client no-touch ON'), '+OK\r\n')
    assert.match(h.run('client info'), / flags=eT /)
    assert.equal(h.run('client no-evict off'), '+OK\r\n')
    assert.equal(h.run('client no-touch off'), '+OK\r\n')
    assert.match(h.run('client info'), / flags=N /)
    assert.equal(h.run('client no-evict x'), '-ERR syntax error\r\n')
  })

  test('SETINFO sets lib-name and lib-ver with Redis 7.2 validation', () => {
    const h = createHarness(table)
    assert.equal(h.run('client setinfo LIB-NAME redis-py'), '+OK\r\n')
    assert.equal(h.run('client setinfo lib-ver 5.0.1'), '+OK\r\n')
    assert.match(h.run('client info'), / lib-name=redis-py lib-ver=5\.0\.1\n/)
    assert.equal(
      h.runArgs(['client', 'setinfo', 'lib-name', 'a b']),
      '-ERR lib-name cannot contain spaces, newlines or special characters.\r\n',
    )
    assert.equal(h.run('client setinfo foo x'), "-ERR Unrecognized option 'foo'\r\n")
  })

  test('REPLY: ON works; OFF and SKIP are refused rather than half-supported', () => {
    const h = createHarness(table)
    assert.equal(h.run('client reply on'), '+OK\r\n')
    assert.equal(
      h.run('client reply off'),
      '-ERR CLIENT REPLY OFF and SKIP are not supported by caskade\r\n',
    )
    assert.equal(h.run('client reply bad'), '-ERR syntax error\r\n')
  })

  test('HELP lists the subcommands in Redis format; unknown subcommands point to it', () => {
    const h = createHarness(table)
    const help = h.run('client help')
    assert.ok(help.startsWith('*41\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands'))
    assert.ok(help.endsWith('+HELP\r\n+    Prints this help.\r\n'))
    assert.equal(h.run('client pause 10'), "-ERR unknown subcommand 'pause'. Try CLIENT HELP.\r\n")
  })
})
