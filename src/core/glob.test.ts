/* Tests for the Redis glob port: cases recorded from redis-server 7.0.15, Redis's own regression
 * tests for hostile patterns, and properties of literal, escaped and prefix patterns. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { globMatch } from './glob.js'

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1')
const matches = (pattern: string, subject: string, noCase = false): boolean =>
  globMatch(latin1(pattern), latin1(subject), noCase)

describe('globMatch', () => {
  // Each expectation was recorded from redis-server 7.0.15 (SET subject, KEYS pattern).
  const recordedFromRedis: Array<[string, string, boolean]> = [
    ['foo*', 'foo_a', true],
    ['foo*', 'key_x', false],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h*llo', 'heeeello', true],
    ['h*llo', 'hllo', true],
    ['h[ae]llo', 'hello', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['[z-a]', 'm', true],
    ['[z-a]', 'A', false],
    ['[a-]', ']', true],
    ['[a-]', '-', false],
    ['[a-]', 'a', true],
    ['[a-]', '_', true],
    ['[abc', 'a', true],
    ['[abc', 'c', true],
    ['[abc', '[', false],
    ['[', '[', false],
    ['[^', 'x', true],
    ['[^', '', false],
    ['a\\', 'a\\', true],
    ['a\\', 'a', false],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['\\?', '?', true],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['[\\-]', 'a', false],
    ['[]]', ']', false],
    ['[]', ']', false],
    ['[]a]', 'a', false],
    ['a**', 'a', true],
    ['**', '', false],
    ['*a', '', false],
    ['?', '', false],
    ['', '', true],
    ['a', 'A', false],
    ['[A-Z]', 'q', false],
    ['{a}*', '{a}b', true],
    ['*[', 'x[', false],
    ['*\\', 'ab\\', true],
    ['[\\', '\\', true],
    ['[\\', 'x', false],
    ['[\x80-\xff]', '\x90', true],
    ['[\x00-\x7f]', '\x90', false],
    ['[a-\xff]', 'b', false],
    ['[a-\xff]', '\x90', false],
    ['[\xff-a]', '\x00', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['*a*', 'bab', true],
  ]

  for (const [pattern, subject, expected] of recordedFromRedis) {
    test(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(subject)}`, () => {
      assert.equal(matches(pattern, subject), expected)
    })
  }

  test('KEYS foo* picks the foo keys (keyspace.tcl "KEYS with pattern")', () => {
    const keys = ['key_x', 'key_y', 'key_z', 'foo_a', 'foo_b', 'foo_c']
    assert.deepEqual(
      keys.filter((key) => matches('foo*', key)),
      ['foo_a', 'foo_b', 'foo_c'],
    )
  })

  test('"*" alone does not match the empty string: KEYS and SCAN special-case it, as Redis does', () => {
    assert.equal(matches('*', ''), false)
    assert.equal(matches('*', 'anything'), true)
  })

  test('noCase folds ASCII letters, in literals, classes and ranges but not in escapes', () => {
    assert.equal(matches('HeLLo', 'hello', true), true)
    assert.equal(matches('h[AE]llo', 'hello', true), true)
    assert.equal(matches('[A-C]', 'b', true), true)
    assert.equal(matches('[a-c]', 'B', true), true)
    assert.equal(matches('[\\A]', 'a', true), false)
    assert.equal(matches('\\A', 'a', true), true)
    assert.equal(matches('maxmemory*', 'MAXMEMORY-POLICY', true), true)
    assert.equal(matches('\xc9', '\xe9', true), false)
  })

  test('matches bytes, not characters', () => {
    const pattern = Buffer.from('caf?', 'utf8')
    assert.equal(globMatch(pattern, Buffer.from('cafe', 'utf8')), true)
    assert.equal(globMatch(pattern, Buffer.from('café', 'utf8')), false) // é is two bytes
    assert.equal(globMatch(Buffer.from('caf??'), Buffer.from('café', 'utf8')), true)
  })

  test('a long nested pattern fails fast (keyspace.tcl regression for nested loops)', () => {
    const subject = 'a'.repeat(52)
    assert.equal(matches(`${'a*'.repeat(26)}b`, subject), false)
  })

  test('very long patterns stop at the nesting cap instead of blowing the stack', () => {
    assert.equal(matches('*?'.repeat(50000), 'a'.repeat(50000)), false)
    assert.equal(matches(`${'*'.repeat(5000)}a`, 'bbba'), true) // runs of '*' collapse
  })

  test('a pattern with no wildcards matches only itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
        const literal = Buffer.from(
          Buffer.from(a).filter((byte) => ![0x2a, 0x3f, 0x5b, 0x5c].includes(byte)),
        )
        const subject = Buffer.from(b)
        assert.equal(globMatch(literal, literal), true)
        assert.equal(globMatch(literal, subject), literal.equals(subject))
      }),
    )
  })

  test('escaping every byte of a subject makes a pattern that matches exactly it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), (bytes) => {
        const subject = Buffer.from(bytes)
        const escaped = Buffer.from([...subject].flatMap((byte) => [0x5c, byte]))
        assert.equal(globMatch(escaped, subject), true)
        assert.equal(globMatch(escaped, Buffer.concat([subject, Buffer.from('x')])), false)
      }),
    )
  })

  test('prefix* matches exactly the subjects with that prefix', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), (prefix, rest) => {
        fc.pre(!/[*?[\\]/.test(prefix))
        const subject = Buffer.from(prefix + rest)
        assert.equal(globMatch(Buffer.from(`${prefix}*`), subject), subject.length > 0)
      }),
    )
  })
})
