/* COMMAND replies compared byte for byte with redis-server 7.0.15 (captured for the same
 * commands in RESP2 and RESP3). Uses the full command table, string and key families included. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { keysOf } from './command-docs.js'
import { commandTable } from './registry.js'
import { createHarness } from './test-support.js'

describe('COMMAND INFO', () => {
  test('GET in RESP2, as Redis', () => {
    const h = createHarness(commandTable)
    assert.equal(
      h.run('command info get'),
      '*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n' +
        '*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n' +
        '+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n' +
        '*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n' +
        '$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n' +
        ':0\r\n*0\r\n',
    )
  })

  test('GET in RESP3 (sets and maps), as Redis', () => {
    const h = createHarness(commandTable, { protocol: 3 })
    assert.equal(
      h.run('command info get'),
      '*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n' +
        '~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n' +
        '+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n' +
        '%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n' +
        '$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n' +
        ':0\r\n~0\r\n',
    )
  })

  test('SET (key spec notes) and MSET (tips, step 2) as Redis', () => {
    const h = createHarness(commandTable)
    assert.equal(
      h.run('command info set'),
      '*1\r\n*10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n' +
        '+@write\r\n+@string\r\n+@slow\r\n*0\r\n*1\r\n*8\r\n$5\r\nnotes\r\n$48\r\n' +
        'RW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n*4\r\n+RW\r\n' +
        '+access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n' +
        '$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n' +
        '$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n' +
        'keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n',
    )
    h.run('hello 3')
    assert.equal(
      h.run('command info mset'),
      '*1\r\n*10\r\n$4\r\nmset\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n~3\r\n' +
        '+@write\r\n+@string\r\n+@slow\r\n~2\r\n$26\r\nrequest_policy:multi_shard\r\n$29\r\n' +
        'response_policy:all_succeeded\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n' +
        '$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\n' +
        'index\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n' +
        '%3\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n~0\r\n',
    )
  })

  test('a subcommand by full name; unknown names give null', () => {
    const h = createHarness(commandTable)
    assert.equal(
      h.run('command info CLIENT|LIST nosuch'),
      '*2\r\n*10\r\n$11\r\nclient|list\r\n:-2\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n' +
        '+stale\r\n:0\r\n:0\r\n:0\r\n*4\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n+@connection\r\n' +
        '*1\r\n$23\r\nnondeterministic_output\r\n*0\r\n*0\r\n$-1\r\n',
    )
  })

  test('bare COMMAND and COMMAND INFO list every command once; COUNT counts them', () => {
    const h = createHarness(commandTable)
    const all = h.run('command')
    assert.ok(all.startsWith(`*${commandTable.size}\r\n*10\r\n`))
    assert.equal(h.run('command info'), all)
    assert.equal(h.run('command count'), `:${commandTable.size}\r\n`)
  })
})

describe('COMMAND DOCS', () => {
  test('GETSET: doc flags, deprecation and arguments, as Redis (RESP2)', () => {
    const h = createHarness(commandTable)
    assert.equal(
      h.run('command docs getset'),
      '*2\r\n$6\r\ngetset\r\n*16\r\n$7\r\nsummary\r\n$54\r\nSet the string value of a key and ' +
        'return its old value\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n' +
        '$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n$16\r\n' +
        'deprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$30\r\n`SET` with the `!GET` ' +
        'argument\r\n$9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n' +
        '$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\n' +
        'type\r\n$6\r\nstring\r\n',
    )
  })

  test('EXPIRE: history and a oneof argument tree, as Redis (RESP3)', () => {
    const h = createHarness(commandTable, { protocol: 3 })
    const token = (name: string): string =>
      `%3\r\n$4\r\nname\r\n$2\r\n${name}\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n` +
      `$2\r\n${name.toUpperCase()}\r\n`
    assert.equal(
      h.run('command docs expire'),
      "%1\r\n$6\r\nexpire\r\n%6\r\n$7\r\nsummary\r\n$35\r\nSet a key's time to live in seconds" +
        '\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity' +
        '\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded options: ' +
        '`NX`, `XX`, `GT` and `LT`.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey' +
        '\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n' +
        '$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition' +
        '\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n' +
        '+optional\r\n$9\r\narguments\r\n*4\r\n' +
        `${token('nx')}${token('xx')}${token('gt')}${token('lt')}`,
    )
  })

  test('PING (an optional argument); unknown names are skipped', () => {
    const h = createHarness(commandTable, { protocol: 3 })
    assert.equal(
      h.run('command docs ping nosuch'),
      '%1\r\n$4\r\nping\r\n%5\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n$5\r\nsince\r\n' +
        '$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n' +
        '$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\n' +
        'string\r\n$5\r\nflags\r\n~1\r\n+optional\r\n',
    )
    assert.equal(h.run('command docs nosuch'), '%0\r\n')
  })

  test('a container documents its subcommands as a map', () => {
    const h = createHarness(commandTable)
    const docs = h.run('command docs client')
    assert.match(docs, /\$11\r\nsubcommands\r\n\*\d+\r\n\$9\r\nclient\|id\r\n/)
    assert.match(h.run('command docs'), new RegExp(`^\\*${commandTable.size * 2}\\r\\n`))
  })
})

describe('COMMAND LIST, GETKEYS, HELP', () => {
  test('LIST names containers and their subcommands, with Redis filters', () => {
    const h = createHarness(commandTable)
    const list = h.run('command list')
    assert.match(list, /\$6\r\nclient\r\n\$9\r\nclient\|id\r\n/)
    assert.equal(h.run('command list filterby pattern p*ng'), '*1\r\n$4\r\nping\r\n')
    assert.match(
      h.run('command list filterby aclcat CONNECTION'),
      /\$4\r\nping\r\n.*\$11\r\nclient\|list\r\n/s,
    )
    assert.equal(h.run('command list filterby aclcat nonexistent'), '*0\r\n')
    assert.equal(h.run('command list filterby module x'), '*0\r\n')
    assert.equal(h.run('command list filterby foo x'), '-ERR syntax error\r\n')
    assert.equal(h.run('command list bad'), '-ERR syntax error\r\n')
  })

  test('GETKEYS and GETKEYSANDFLAGS use the key specs, with Redis errors', () => {
    const h = createHarness(commandTable)
    assert.equal(h.run('command getkeys get a'), '*1\r\n$1\r\na\r\n')
    assert.equal(h.run('command getkeys mset a b c d'), '*2\r\n$1\r\na\r\n$1\r\nc\r\n')
    assert.equal(h.run('command getkeys del a b c'), '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n')
    assert.equal(h.run('command getkeys set a b ex 10'), '*1\r\n$1\r\na\r\n')
    assert.equal(h.run('command getkeys foo a'), '-ERR Invalid command specified\r\n')
    assert.equal(h.run('command getkeys ping x'), '-ERR The command has no key arguments\r\n')
    assert.equal(h.run('command getkeys client id'), '-ERR The command has no key arguments\r\n')
    assert.equal(
      h.run('command getkeys get a b'),
      '-ERR Invalid number of arguments specified for command\r\n',
    )
    assert.equal(
      h.run('command getkeys get'),
      "-ERR wrong number of arguments for 'command|getkeys' command\r\n",
    )
    h.run('hello 3')
    assert.equal(
      h.run('command getkeysandflags copy a b'),
      '*2\r\n*2\r\n$1\r\na\r\n~2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nb\r\n~2\r\n+OW\r\n+update\r\n',
    )
    // SET's variable flags: OW without GET, RW with it (Redis's setGetKeys).
    assert.equal(
      h.run('command getkeysandflags set a b'),
      '*1\r\n*2\r\n$1\r\na\r\n~2\r\n+OW\r\n+update\r\n',
    )
    assert.equal(
      h.run('command getkeysandflags set a b get'),
      '*1\r\n*2\r\n$1\r\na\r\n~3\r\n+RW\r\n+access\r\n+update\r\n',
    )
  })

  test('keysOf reports an out-of-range spec as invalid', () => {
    const mset = commandTable.get('mset')
    assert.ok(mset !== undefined)
    const argv = ['mset', 'a', 'b'].map((arg) => Buffer.from(arg))
    assert.deepEqual(
      keysOf(mset, argv)?.map((key) => key.position),
      [1],
    )
    assert.equal(keysOf(mset, [Buffer.from('mset')]), null)
  })

  test('HELP is the Redis text', () => {
    const h = createHarness(commandTable)
    const help = h.run('command help')
    assert.ok(
      help.startsWith('*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands'),
    )
    assert.ok(help.includes('+GETKEYSANDFLAGS <full-command>\r\n'))
    assert.equal(h.run('command nosuch'), "-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n")
  })
})
