/* Expected bytes were captured from redis-server 7.0.15 for the same commands where Redis has
 * the same state; caskade-specific replies (save commands, one database) are commented. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connectionCommands } from './connection.js'
import { buildCommandTable } from './registry.js'
import { serverCommands } from './server.js'
import { createHarness, testEpochMs } from './test-support.js'

const table = buildCommandTable([connectionCommands, serverCommands])
const b = (text: string): Buffer => Buffer.from(text)

/** The text inside a RESP2 bulk reply. */
function bulkText(reply: string): string {
  const match = /^\$(\d+)\r\n/.exec(reply)
  assert.ok(match !== null, `a bulk reply: ${reply}`)
  const text = reply.slice(match[0].length, -2)
  assert.equal(Buffer.byteLength(text), Number(match[1]))
  return text
}

describe('INFO', () => {
  test('keyspace: a header only while empty, then db0 (avg_ttl is always 0 in caskade)', () => {
    const h = createHarness(table)
    assert.equal(h.run('info keyspace'), '$12\r\n# Keyspace\r\n\r\n')
    h.keyspace.set(b('a'), b('1'))
    h.keyspace.set(b('b'), b('2'), { expiresAtMs: testEpochMs + 100_000 })
    assert.equal(
      h.run('INFO KEYSPACE'),
      '$44\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n\r\n',
    )
  })

  test('is a verbatim string in RESP3', () => {
    const h = createHarness(table, { protocol: 3 })
    assert.equal(h.run('info keyspace'), '=16\r\ntxt:# Keyspace\r\n\r\n')
  })

  test('unknown sections are ignored; nothing known gives an empty string', () => {
    const h = createHarness(table)
    assert.equal(h.run('info foo'), '$0\r\n\r\n')
    assert.equal(h.run('info keyspace foo'), '$12\r\n# Keyspace\r\n\r\n')
  })

  test('sections come in Redis order, host sections included, default without commandstats', () => {
    const h = createHarness(table)
    h.host.sections.set('server', [
      ['redis_version', '7.0.15'],
      ['tcp_port', 6379],
    ])
    h.host.sections.set('clients', [['connected_clients', 1]])
    const text = bulkText(h.run('info'))
    const titles = text.split('\r\n').filter((line) => line.startsWith('# '))
    assert.deepEqual(titles, [
      '# Server',
      '# Clients',
      '# Replication',
      '# Modules',
      '# Errorstats',
      '# Cluster',
      '# Keyspace',
    ])
    assert.ok(text.startsWith('# Server\r\nredis_version:7.0.15\r\ntcp_port:6379\r\n\r\n# Clients'))
    assert.match(text, /# Replication\r\nrole:master\r\nconnected_slaves:0\r\n/)
    assert.match(text, /# Cluster\r\ncluster_enabled:0\r\n/)
    const keyspaceFirst = bulkText(h.run('info keyspace server'))
    assert.ok(keyspaceFirst.startsWith('# Server\r\n'))
    assert.ok(keyspaceFirst.endsWith('\r\n\r\n# Keyspace\r\n'))
    assert.match(bulkText(h.run('info all')), /# Commandstats\r\n/)
    assert.match(bulkText(h.run('info everything')), /# Commandstats\r\n/)
  })

  test('commandstats and errorstats in Redis format; CONFIG RESETSTAT clears them', () => {
    const h = createHarness(table)
    h.run('ping')
    h.run('ping')
    h.run('echo')
    h.run('select 1')
    h.run('hello 4')
    assert.equal(
      bulkText(h.run('info commandstats')),
      '# Commandstats\r\n' +
        'cmdstat_ping:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n' +
        'cmdstat_echo:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n' +
        'cmdstat_hello:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n' +
        'cmdstat_select:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n',
    )
    assert.equal(
      bulkText(h.run('info errorstats')),
      '# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_NOPROTO:count=1\r\n',
    )
    assert.equal(h.run('config resetstat'), '+OK\r\n')
    assert.equal(h.host.statsResets, 1)
    // As in Redis, RESETSTAT's own call is counted after it ran.
    assert.equal(
      bulkText(h.run('info commandstats')),
      '# Commandstats\r\n' +
        'cmdstat_config|resetstat:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,' +
        'failed_calls=0\r\n',
    )
    assert.equal(bulkText(h.run('info errorstats')), '# Errorstats\r\n')
  })

  test('a host value with a newline cannot break the INFO format', () => {
    const h = createHarness(table)
    h.host.sections.set('persistence', [['caskade_last_write_error', 'EIO\r\nbad']])
    assert.equal(
      bulkText(h.run('info persistence')),
      '# Persistence\r\ncaskade_last_write_error:EIO  bad\r\n',
    )
  })
})

describe('DBSIZE, FLUSHDB, FLUSHALL, TIME', () => {
  test('DBSIZE counts keys; FLUSHDB and FLUSHALL [ASYNC|SYNC] empty the database', () => {
    const h = createHarness(table)
    assert.equal(h.run('dbsize'), ':0\r\n')
    h.keyspace.set(b('a'), b('1'))
    h.keyspace.set(b('b'), b('1'))
    assert.equal(h.run('DBSIZE'), ':2\r\n')
    assert.equal(h.run('flushdb async'), '+OK\r\n')
    assert.equal(h.run('dbsize'), ':0\r\n')
    h.keyspace.set(b('a'), b('1'))
    assert.equal(h.run('flushall SYNC'), '+OK\r\n')
    assert.equal(h.run('dbsize'), ':0\r\n')
    assert.equal(h.run('flushall'), '+OK\r\n')
    assert.equal(h.run('flushdb x'), '-ERR syntax error\r\n')
    assert.equal(h.run('flushall async x'), '-ERR syntax error\r\n')
    assert.equal(h.run('dbsize x'), "-ERR wrong number of arguments for 'dbsize' command\r\n")
  })

  test('TIME: Unix seconds and microseconds, as two bulk strings', () => {
    const h = createHarness(table)
    h.clock.nowMs = 1_700_000_000_123
    assert.equal(h.run('time'), '*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n')
  })
})

describe('CONFIG', () => {
  test('GET takes several patterns and replies a map (flat in RESP2)', () => {
    const h = createHarness(table)
    assert.equal(
      h.run('config get port maxclients'),
      '*4\r\n$4\r\nport\r\n$4\r\n6379\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n',
    )
    assert.equal(h.run('config get max*'), '*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n')
    assert.equal(h.run('config get nothing'), '*0\r\n')
    h.run('hello 3')
    assert.equal(h.run('config get port'), '%1\r\n$4\r\nport\r\n$4\r\n6379\r\n')
    assert.equal(h.run('config get'), "-ERR wrong number of arguments for 'config|get' command\r\n")
  })

  test('SET takes pairs; the host validates them', () => {
    const h = createHarness(table)
    assert.equal(h.run('config set maxclients 100 appendfsync always'), '+OK\r\n')
    assert.equal(h.host.config.values.get('maxclients'), '100')
    assert.equal(h.host.config.values.get('appendfsync'), 'always')
    assert.equal(h.run('config set maxclients 100 port'), '-ERR syntax error\r\n')
    assert.equal(
      h.run('config set a'),
      "-ERR wrong number of arguments for 'config|set' command\r\n",
    )
    assert.equal(
      h.run('config set foo 1'),
      "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n",
    )
  })

  test('REWRITE is not offered; HELP lists what is', () => {
    const h = createHarness(table)
    assert.equal(h.run('config rewrite'), "-ERR unknown subcommand 'rewrite'. Try CONFIG HELP.\r\n")
    assert.equal(
      h.run('config help'),
      '*9\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n' +
        '+GET <pattern>\r\n' +
        '+    Return parameters matching the glob-like <pattern> and their values.\r\n' +
        '+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n' +
        '+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n' +
        '+HELP\r\n+    Prints this help.\r\n',
    )
  })
})

describe('SAVE, BGSAVE, LASTSAVE, SHUTDOWN, DEBUG', () => {
  test('SAVE and BGSAVE request an fsync and reply at once (caskade logs every write)', () => {
    const h = createHarness(table)
    assert.equal(h.run('save'), '+OK\r\n')
    assert.equal(h.run('bgsave'), '+Background saving started\r\n')
    assert.equal(h.run('bgsave schedule'), '+Background saving started\r\n')
    assert.equal(h.run('bgsave x'), '-ERR syntax error\r\n')
    assert.equal(h.run('lastsave'), ':0\r\n')
  })

  test('SHUTDOWN asks the host and writes no reply; ABORT and bad combinations error', () => {
    const h = createHarness(table)
    assert.equal(h.run('shutdown nosave now'), '')
    assert.deepEqual(h.host.shutdowns, [{ abort: false }])
    assert.equal(h.run('shutdown abort'), '-ERR No shutdown in progress.\r\n')
    assert.equal(h.run('shutdown abort now'), '-ERR syntax error\r\n')
    assert.equal(h.run('shutdown save nosave'), '-ERR syntax error\r\n')
    assert.equal(h.run('shutdown bogus'), '-ERR syntax error\r\n')
    assert.equal(h.host.shutdowns.length, 1)
  })

  test('DEBUG obeys enable-debug-command: local allows loopback, no refuses everyone', () => {
    const h = createHarness(table)
    const refused =
      '-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", ' +
      'you can run it from a local connection, otherwise you need to set this option in the ' +
      'configuration file, and restart the server.\r\n'
    h.host.config.values.set('enable-debug-command', 'no')
    assert.equal(h.run('debug sleep 0'), refused)
    h.host.config.values.set('enable-debug-command', 'local')
    assert.equal(h.run('debug sleep 0'), '+OK\r\n')
    assert.deepEqual(h.host.sleptMs, [0])
  })

  test('DEBUG SLEEP blocks through the host; other subcommands get Redis text', () => {
    const h = createHarness(table)
    assert.equal(h.run('debug sleep 0.25'), '+OK\r\n')
    assert.equal(h.run('debug sleep x'), '+OK\r\n')
    assert.equal(h.run('debug sleep 1.5abc'), '+OK\r\n')
    assert.deepEqual(h.host.sleptMs, [250, 0, 1500])
    assert.equal(
      h.run('debug foo'),
      "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n",
    )
    assert.equal(
      h.run('debug sleep'),
      "-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.\r\n",
    )
    assert.ok(
      h.run('debug help').startsWith('*5\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...].'),
    )
  })
})
