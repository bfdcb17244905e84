/* Redis value syntaxes the server config accepts: memory sizes with units, the
 * client-output-buffer-limit format, and Redis's human-readable byte counts. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  defaultOutputBufferLimits,
  formatOutputBufferLimits,
  parseMemoryBytes,
  parseOutputBufferLimits,
} from './config.js'
import { bytesToHuman } from './stats.js'

describe('server config syntaxes', () => {
  test('memory sizes parse like Redis memtoull', () => {
    assert.equal(parseMemoryBytes('100'), 100)
    assert.equal(parseMemoryBytes('1k'), 1000)
    assert.equal(parseMemoryBytes('1kb'), 1024)
    assert.equal(parseMemoryBytes('2MB'), 2 * 1024 * 1024)
    assert.equal(parseMemoryBytes('1gb'), 1024 * 1024 * 1024)
    assert.equal(parseMemoryBytes('1tb'), null)
    assert.equal(parseMemoryBytes('-1'), null)
    assert.equal(parseMemoryBytes(''), null)
  })

  test('client-output-buffer-limit round-trips in Redis format', () => {
    const defaults = defaultOutputBufferLimits()
    const parsed = parseOutputBufferLimits('normal 1mb 2mb 60', defaults)
    assert.equal(
      formatOutputBufferLimits(parsed),
      'normal 1048576 2097152 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60',
    )
    assert.throws(
      () => parseOutputBufferLimits('normal 1 2', defaults),
      /Wrong number of arguments in buffer limit configuration/,
    )
    assert.throws(() => parseOutputBufferLimits('vip 1 2 3', defaults), /Invalid client class/)
  })

  test('bytesToHuman formats like Redis', () => {
    assert.equal(bytesToHuman(512), '512B')
    assert.equal(bytesToHuman(988616), '965.45K')
    assert.equal(bytesToHuman(7028736), '6.70M')
    assert.equal(bytesToHuman(1024 * 1024 * 1024), '1.00G')
  })
})
