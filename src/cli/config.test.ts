/* Configuration loading: defaults, precedence flag > env > file, Redis size units, and errors
 * that name the option, its source and the bad value. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, envNameOf, loadConfig, type ConfigInputs } from './config.js'

function inputs(overrides: Partial<ConfigInputs> = {}): ConfigInputs {
  return {
    flags: {},
    env: {},
    readFile: () => {
      throw new Error('no file')
    },
    ...overrides,
  }
}

describe('config loading', () => {
  test('defaults match Redis and caskade defaults', () => {
    const config = loadConfig(inputs())
    assert.equal(config.port, 6379)
    assert.deepEqual(config.bind, ['127.0.0.1'])
    assert.equal(config.dir, './caskade-data')
    assert.equal(config.fsync, 'everysec')
    assert.equal(config.maxclients, 10000)
    assert.equal(config.protoMaxBulkLen, 512 * 1024 * 1024)
    assert.equal(config.clientQueryBufferLimit, 1024 * 1024 * 1024)
    assert.equal(config.logLevel, 'notice')
    assert.equal(config.configFile, null)
  })

  test('a flag beats the environment, which beats the file', () => {
    const file = 'port = 7000\nfsync = "no"\ndir = "/from/file"\nlog-level = "warning"\n'
    const config = loadConfig(
      inputs({
        flags: { port: '7002', config: '/etc/caskade.toml' },
        env: { CASKADE_PORT: '7001', CASKADE_FSYNC: 'always' },
        readFile: (path) => {
          assert.equal(path, '/etc/caskade.toml')
          return file
        },
      }),
    )
    assert.equal(config.port, 7002)
    assert.equal(config.fsync, 'always')
    assert.equal(config.dir, '/from/file')
    assert.equal(config.logLevel, 'warning')
    assert.equal(config.configFile, '/etc/caskade.toml')
  })

  test('sizes accept Redis units and output limits Redis format', () => {
    const config = loadConfig(
      inputs({
        flags: {
          'proto-max-bulk-len': '2mb',
          'client-output-buffer-limit': 'normal 1mb 512kb 10',
        },
        env: { CASKADE_SEGMENT_SIZE: '64kb', CASKADE_BIND: '127.0.0.1 ::1' },
      }),
    )
    assert.equal(config.protoMaxBulkLen, 2 * 1024 * 1024)
    assert.equal(config.segmentBytes, 64 * 1024)
    assert.deepEqual(config.bind, ['127.0.0.1', '::1'])
    assert.deepEqual(config.clientOutputBufferLimit.normal, {
      hardBytes: 1024 * 1024,
      softBytes: 512 * 1024,
      softSeconds: 10,
    })
  })

  test('a bad value names the option, its source and the value', () => {
    assert.throws(
      () => loadConfig(inputs({ env: { CASKADE_FSYNC: 'sometimes' } })),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes("'fsync'") &&
        error.message.includes('CASKADE_FSYNC') &&
        error.message.includes("'sometimes'"),
    )
    assert.throws(
      () => loadConfig(inputs({ flags: { port: '70000' } })),
      /invalid value for 'port' from flag --port: '70000'/,
    )
    assert.throws(
      () =>
        loadConfig(
          inputs({ flags: { config: 'c.toml' }, readFile: () => 'maxclients = "lots"\n' }),
        ),
      /invalid value for 'maxclients' from config file c.toml: 'lots'/,
    )
  })

  test('unknown keys and broken TOML in the file are reported', () => {
    assert.throws(
      () => loadConfig(inputs({ flags: { config: 'c.toml' }, readFile: () => 'prot = 1\n' })),
      /unknown option 'prot' in config file c.toml/,
    )
    assert.throws(
      () => loadConfig(inputs({ flags: { config: 'c.toml' }, readFile: () => 'port = = 1\n' })),
      /not valid TOML/,
    )
  })

  test('the config file can come from CASKADE_CONFIG', () => {
    const config = loadConfig(
      inputs({ env: { CASKADE_CONFIG: 'x.toml' }, readFile: () => 'timeout = 30\n' }),
    )
    assert.equal(config.timeoutSeconds, 30)
    assert.equal(config.configFile, 'x.toml')
  })

  test('environment names are CASKADE_ plus the option in upper snake case', () => {
    assert.equal(envNameOf('log-level'), 'CASKADE_LOG_LEVEL')
    assert.equal(envNameOf('port'), 'CASKADE_PORT')
  })
})
