/* CONFIG GET/SET through the registry: glob matching, live application, all-or-nothing SET and
 * Redis 7.0's exact error texts (checked against redis-server 7.0.15). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultServerConfig } from './config.js'
import { createConfigRegistry } from './config-registry.js'

function registry(fsyncSettable = true) {
  const config = defaultServerConfig()
  const applied: string[][] = []
  const live = createConfigRegistry(config, (names) => applied.push([...names]), {
    fsyncSettable,
  })
  return { config, applied, live }
}

describe('CONFIG registry', () => {
  test('GET matches glob patterns case-insensitively, each name once', () => {
    const { live } = registry()
    assert.deepEqual(live.get(['maxclients']), [['maxclients', '10000']])
    assert.deepEqual(live.get(['MAXCLIENTS', 'max*']), [
      ['maxmemory', '0'],
      ['maxmemory-policy', 'noeviction'],
      ['maxclients', '10000'],
    ])
    assert.deepEqual(live.get(['appendonly', 'save', 'databases']), [
      ['appendonly', 'yes'],
      ['save', ''],
      ['databases', '1'],
    ])
    assert.deepEqual(live.get(['nothing-like-this']), [])
  })

  test('SET applies live values and reports the changed names', () => {
    const { config, applied, live } = registry()
    live.set([
      ['maxclients', '50'],
      ['proto-max-bulk-len', '2mb'],
      ['LOGLEVEL', 'warning'],
      ['appendfsync', 'ALWAYS'],
    ])
    assert.equal(config.maxclients, 50)
    assert.equal(config.protoMaxBulkLen, 2 * 1024 * 1024)
    assert.equal(config.logLevel, 'warning')
    assert.equal(config.fsync, 'always')
    assert.deepEqual(applied, [['maxclients', 'proto-max-bulk-len', 'loglevel', 'appendfsync']])
  })

  test('SET is all-or-nothing, with Redis error texts', () => {
    const { config, applied, live } = registry()
    assert.throws(
      () =>
        live.set([
          ['maxclients', '50'],
          ['timeout', 'soon'],
        ]),
      {
        message:
          "CONFIG SET failed (possibly related to argument 'timeout') - " +
          "argument couldn't be parsed into an integer",
      },
    )
    assert.equal(config.maxclients, 10000)
    assert.deepEqual(applied, [])
    assert.throws(() => live.set([['port', '1']]), {
      message:
        "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
    })
    assert.throws(() => live.set([['nope', '1']]), {
      message: "Unknown option or number of arguments for CONFIG SET - 'nope'",
    })
    assert.throws(
      () =>
        live.set([
          ['timeout', '1'],
          ['timeout', '2'],
        ]),
      {
        message: "CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter",
      },
    )
    assert.throws(() => live.set([['proto-max-bulk-len', '10']]), {
      message:
        "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - " +
        'argument must be between 1048576 and 9223372036854775807 inclusive',
    })
    assert.throws(() => live.set([['loglevel', 'loud']]), {
      message:
        "CONFIG SET failed (possibly related to argument 'loglevel') - " +
        'argument(s) must be one of the following: debug, verbose, notice, warning',
    })
    assert.throws(() => live.set([['client-output-buffer-limit', 'normal 1 2']]), {
      message:
        "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - " +
        'Wrong number of arguments in buffer limit configuration.',
    })
  })

  test('appendfsync is immutable when the engine cannot change its policy live', () => {
    const { live } = registry(false)
    assert.throws(() => live.set([['appendfsync', 'always']]), /can't set immutable config/)
    assert.deepEqual(live.get(['appendfsync']), [['appendfsync', 'everysec']])
  })
})
