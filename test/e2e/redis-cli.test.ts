/* End to end with redis-cli (Debian's redis-tools) and with raw inline commands, the way a user
 * types them into telnet: both must work against caskade exactly as against Redis. */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  rawExchange,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { hasRedisCli, redisCli } from '../helpers/redis-cli.js'

const skipCli = hasRedisCli() ? false : 'redis-cli is not installed (apt-get install redis-tools)'

describe('redis-cli and inline commands', () => {
  let server: ServerProcess
  const cli = (...args: string[]): Promise<string> => redisCli(server.port, ...args)

  before(async () => {
    server = await startServerProcess()
  })

  after(async () => {
    await server.stop()
    removeDir(server.dir)
  })

  test(
    'redis-cli SET and GET (raw output, as when stdout is not a TTY)',
    { skip: skipCli },
    async () => {
      assert.equal(await cli('SET', 'a', 'b'), 'OK\n')
      assert.equal(await cli('GET', 'a'), 'b\n')
      assert.equal(await cli('INCR', 'n'), '1\n')
      assert.equal(await cli('GET', 'nothing'), '\n')
    },
  )

  test('redis-cli --raw and --no-raw print values as Redis does', { skip: skipCli }, async () => {
    await cli('SET', 'multi', 'line one\nline two')
    assert.equal(await cli('--raw', 'GET', 'multi'), 'line one\nline two\n')
    assert.equal(await cli('--no-raw', 'GET', 'multi'), '"line one\\nline two"\n')
    assert.equal(await cli('--no-raw', 'INCRBY', 'n', '10'), '(integer) 11\n')
    assert.equal(await cli('--no-raw', 'GET', 'nothing'), '(nil)\n')
  })

  test('redis-cli -3 speaks RESP3', { skip: skipCli }, async () => {
    const hello = await cli('--no-raw', '-3', 'HELLO', '3')
    assert.match(hello, /"server" => "caskade"/)
    assert.match(hello, /"version" => "7\.0\.15"/)
    assert.match(hello, /"proto" => \(integer\) 3/)
    assert.equal(await cli('--no-raw', '-3', 'GET', 'a'), '"b"\n')
    assert.equal(await cli('--no-raw', '-3', 'GET', 'nothing'), '(nil)\n')
    assert.equal(
      await cli('--no-raw', '-3', 'CONFIG', 'GET', 'maxclients'),
      '1# "maxclients" => "10000"\n',
    )
  })

  test('redis-cli reports errors as Redis does', { skip: skipCli }, async () => {
    assert.match(await cli('GET'), /^ERR wrong number of arguments for 'get' command\n/)
    assert.match(
      await cli('NOSUCHCOMMAND', 'x'),
      /^ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \n/,
    )
  })

  test('inline commands over a raw socket, as typed into telnet', async () => {
    const { data } = await rawExchange(
      server.port,
      'SET inline "hello world"\r\nGET inline\r\nPING\nECHO \'single quoted\'\r\n',
    )
    assert.equal(
      data.toString('latin1'),
      '+OK\r\n$11\r\nhello world\r\n+PONG\r\n$13\r\nsingle quoted\r\n',
    )
  })

  test('inline hex escapes and an empty line', async () => {
    const { data } = await rawExchange(server.port, '\r\nSET hex "\\x41\\x42"\r\nGET hex\r\n')
    assert.equal(data.toString('latin1'), '+OK\r\n$2\r\nAB\r\n')
  })

  test('unbalanced quotes are a protocol error that closes the connection', async () => {
    const { data, closed } = await rawExchange(server.port, 'PING\r\nSET "oops\r\n')
    assert.equal(
      data.toString('latin1'),
      '+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n',
    )
    assert.equal(closed, true)
  })
})
