/* CRC-32 against the standard check value and zlib, across lengths, offsets and pieces. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { crc32 } from './crc32.js'

describe('crc32', () => {
  test('matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
    assert.equal(crc32(Buffer.alloc(0)), 0)
  })

  test('agrees with zlib.crc32 on every length and offset', () => {
    const data = Buffer.alloc(300)
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end += 7) {
        assert.equal(crc32(data, start, end), zlib.crc32(data.subarray(start, end)))
      }
    }
  })

  test('continues across pieces', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog')
    const whole = crc32(data)
    for (let cut = 0; cut <= data.length; cut++) {
      assert.equal(crc32(data, cut, data.length, crc32(data, 0, cut)), whole)
    }
  })
})
