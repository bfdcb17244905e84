/* End to end: the `caskade` command line: --version, configuration precedence (flag > env >
 * file) and errors (exit 2, no stack trace), the data-dir lock, and `caskade inspect`. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Redis } from 'ioredis'
import { makeTempDir, removeDir, runCli, startServerProcess } from '../helpers/server-process.js'

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

describe('the caskade command', () => {
  test('--version prints the package version', async () => {
    const result = await runCli(['--version'])
    assert.equal(result.code, 0)
    assert.equal(result.stdout.trim(), packageVersion)
  })

  test('configuration precedence: flag > CASKADE_* env > TOML file > default', async () => {
    const dir = makeTempDir()
    const configFile = path.join(dir, 'caskade.toml')
    writeFileSync(configFile, 'maxclients = 111\ntimeout = 5\nfsync = "no"\n')
    const server = await startServerProcess({
      dir: path.join(dir, 'data'),
      fsync: 'everysec',
      args: ['--config', configFile],
      env: { CASKADE_TIMEOUT: '6', CASKADE_FSYNC: 'always' },
    })
    const redis = new Redis({ port: server.port, host: '127.0.0.1' })
    try {
      assert.deepEqual(await redis.config('GET', 'maxclients'), ['maxclients', '111'])
      assert.deepEqual(await redis.config('GET', 'timeout'), ['timeout', '6'])
      assert.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'everysec'])
      assert.deepEqual(await redis.config('GET', 'proto-max-bulk-len'), [
        'proto-max-bulk-len',
        String(512 * 1024 * 1024),
      ])
      const info = await redis.info('server')
      assert.ok(info.includes(`config_file:${configFile}\r\n`))
    } finally {
      redis.disconnect()
      await server.stop()
      removeDir(dir)
    }
  })

  test('a bad value exits 2 naming the option, source and value, without a stack', async () => {
    const dir = makeTempDir()
    try {
      const fromFlag = await runCli(['server', '--port', 'abc', '--dir', dir])
      assert.equal(fromFlag.code, 2)
      assert.match(fromFlag.stderr, /invalid value for 'port' from flag --port: 'abc'/)
      assert.doesNotMatch(fromFlag.stderr, /\n\s+at /)
      const fromEnv = await runCli(['server', '--dir', dir], {
        env: { CASKADE_FSYNC: 'sometimes' },
      })
      assert.equal(fromEnv.code, 2)
      assert.match(
        fromEnv.stderr,
        /invalid value for 'fsync' from environment variable CASKADE_FSYNC: 'sometimes'/,
      )
      const unknownFlag = await runCli(['server', '--no-such-flag'])
      assert.equal(unknownFlag.code, 2)
    } finally {
      removeDir(dir)
    }
  })

  test('a second server on the same data dir is refused by the lock', async () => {
    const first = await startServerProcess()
    try {
      const second = await runCli(['server', '--port', '0', '--dir', first.dir])
      assert.equal(second.code, 1)
      assert.match(second.stderr, /lock/i)
      assert.ok(second.stderr.includes(first.dir), 'the error names the directory')
    } finally {
      await first.stop()
      removeDir(first.dir)
    }
  })

  test('inspect: exit 0 on a good dir; exit 1 naming file and offset on corruption', async () => {
    const server = await startServerProcess({ fsync: 'always' })
    const redis = new Redis({ port: server.port, host: '127.0.0.1' })
    for (let i = 0; i < 50; i++) await redis.set(`key:${i}`, `value-${i}`.repeat(10))
    redis.disconnect()
    await server.stop()
    try {
      const good = await runCli(['inspect', server.dir])
      assert.equal(good.code, 0, good.stdout + good.stderr)
      const segment = readdirSync(server.dir)
        .map((name) => path.join(server.dir, name))
        .filter((file) => statSync(file).isFile() && statSync(file).size > 1000)
        .filter((file) => !/hint|lock/i.test(path.basename(file)))
        .sort((a, b) => statSync(b).size - statSync(a).size)[0]
      assert.ok(segment !== undefined, 'a data segment exists')
      const bytes = readFileSync(segment)
      const offset = 40 // inside the first record: later records follow, so it is not a torn tail
      bytes[offset] = (bytes[offset] as number) ^ 0xff
      writeFileSync(segment, bytes)
      const bad = await runCli(['inspect', server.dir])
      assert.equal(bad.code, 1)
      const output = bad.stdout + bad.stderr
      assert.ok(output.includes(path.basename(segment)), `names the file: ${output}`)
      assert.match(output, /offset/i)
    } finally {
      removeDir(server.dir)
    }
  })
})
