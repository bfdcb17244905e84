import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { keyCommands, parseScanCursor } from './keys.js'
import { stringCommands } from './strings.js'
import { handlerHarness, testEpochMs } from './test-support.js'

const t0 = testEpochMs
const commandSpecs = [...stringCommands, ...keyCommands]
const harness = () => handlerHarness(commandSpecs)

/** Decodes a SCAN reply: "*2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n($<n>\r\n<key>\r\n)*". */
function decodeScan(reply: string): { cursor: string; keys: string[] } {
  const lines = reply.split('\r\n')
  const keys: string[] = []
  for (let i = 4; i + 1 < lines.length; i += 2) keys.push(lines[i + 1] as string)
  return { cursor: lines[2] as string, keys }
}

describe('parseScanCursor (Redis strtoul rules)', () => {
  test('accepts and rejects like Redis', () => {
    assert.equal(parseScanCursor(Buffer.from('0')), 0)
    assert.equal(parseScanCursor(Buffer.from('')), 0)
    assert.equal(parseScanCursor(Buffer.from('+5')), 5)
    assert.equal(parseScanCursor(Buffer.from('-1')), Number.MAX_SAFE_INTEGER)
    assert.equal(parseScanCursor(Buffer.from('18446744073709551615')), Number.MAX_SAFE_INTEGER)
    for (const bad of ['18446744073709551616', ' 1', '1 ', '+', '-', '5x', 'abc']) {
      assert.throws(() => parseScanCursor(Buffer.from(bad)), /invalid cursor/, bad)
    }
  })
})

describe('key commands', () => {
  test('TTL rounds to the nearest second; PTTL is exact; absent -2, persistent -1', () => {
    const { run, clock } = harness()
    run('set', 'k', 'v', 'px', '1500')
    assert.equal(run('ttl', 'k'), ':2\r\n')
    clock.nowMs += 1
    assert.equal(run('ttl', 'k'), ':1\r\n')
    assert.equal(run('pttl', 'k'), ':1499\r\n')
    assert.equal(run('expiretime', 'k'), `:${Math.floor((t0 + 1500 + 500) / 1000)}\r\n`)
    clock.nowMs = t0 + 1501
    assert.equal(run('ttl', 'k'), ':-2\r\n')
    run('set', 'p', 'v')
    assert.equal(run('pttl', 'p'), ':-1\r\n')
    assert.equal(run('pexpiretime', 'p'), ':-1\r\n')
  })

  test('EXPIRE family: relative and absolute, options, and past times delete', () => {
    const { run } = harness()
    run('set', 'k', 'v')
    assert.equal(run('expire', 'k', '10', 'xx'), ':0\r\n')
    assert.equal(run('expire', 'k', '10', 'nx'), ':1\r\n')
    assert.equal(run('pttl', 'k'), ':10000\r\n')
    assert.equal(run('pexpire', 'k', '5000', 'gt'), ':0\r\n')
    assert.equal(run('pexpire', 'k', '5000', 'lt'), ':1\r\n')
    assert.equal(run('expireat', 'k', String(t0 / 1000 + 100)), ':1\r\n')
    assert.equal(run('pexpireat', 'k', String(t0 + 7)), ':1\r\n')
    assert.equal(run('pttl', 'k'), ':7\r\n')
    assert.equal(run('pexpireat', 'k', String(t0)), ':1\r\n')
    assert.equal(run('exists', 'k'), ':0\r\n')
    assert.equal(run('expire', 'k', '10'), ':0\r\n')
    assert.equal(
      run('expire', 'k', '10', 'nx', 'xx'),
      '-ERR NX and XX, GT or LT options at the same time are not compatible\r\n',
    )
    assert.equal(
      run('expire', 'k', '10', 'gt', 'lt'),
      '-ERR GT and LT options at the same time are not compatible\r\n',
    )
    assert.equal(run('expire', 'k', '10', 'soon'), '-ERR Unsupported option soon\r\n')
  })

  test('PEXPIRETIME of the largest time prints the int64 maximum, like Redis', () => {
    const { run } = harness()
    run('set', 'k', 'v')
    assert.equal(run('pexpireat', 'k', '9223372036854775807'), ':1\r\n')
    assert.equal(run('pexpiretime', 'k'), ':9223372036854775807\r\n')
  })

  test('PERSIST, TYPE, DEL/UNLINK, EXISTS/TOUCH counting duplicates', () => {
    const { run } = harness()
    run('set', 'a', '1', 'ex', '100')
    run('set', 'b', '1')
    assert.equal(run('persist', 'a'), ':1\r\n')
    assert.equal(run('persist', 'a'), ':0\r\n')
    assert.equal(run('type', 'a'), '+string\r\n')
    assert.equal(run('type', 'zz'), '+none\r\n')
    assert.equal(run('exists', 'a', 'a', 'zz'), ':2\r\n')
    assert.equal(run('touch', 'a', 'b', 'zz'), ':2\r\n')
    assert.equal(run('del', 'a', 'a', 'zz'), ':1\r\n')
    assert.equal(run('unlink', 'b'), ':1\r\n')
  })

  test('RENAME/RENAMENX/COPY errors and results', () => {
    const { run } = harness()
    assert.equal(run('rename', 'zz', 'y'), '-ERR no such key\r\n')
    assert.equal(run('renamenx', 'zz', 'y'), '-ERR no such key\r\n')
    run('set', 'a', '1', 'px', '5000')
    run('set', 'b', '2')
    assert.equal(run('renamenx', 'a', 'b'), ':0\r\n')
    assert.equal(run('rename', 'a', 'c'), '+OK\r\n')
    assert.equal(run('pttl', 'c'), ':5000\r\n')
    assert.equal(run('copy', 'c', 'c'), '-ERR source and destination objects are the same\r\n')
    assert.equal(run('copy', 'c', 'b'), ':0\r\n')
    assert.equal(run('copy', 'c', 'b', 'replace', 'db', '0'), ':1\r\n')
    assert.equal(run('pttl', 'b'), ':5000\r\n')
    assert.equal(run('copy', 'c', 'd', 'db', '1'), '-ERR DB index is out of range\r\n')
    assert.equal(run('copy', 'c', 'd', 'db'), '-ERR syntax error\r\n')
  })

  test('SCAN walks every key once with MATCH and COUNT; KEYS and RANDOMKEY', () => {
    const { run } = harness()
    const expected: string[] = []
    for (let i = 0; i < 300; i++) {
      run('set', `user:${i}`, 'v')
      run('set', `order:${i}`, 'v')
      expected.push(`user:${i}`)
    }
    const seen: string[] = []
    let cursor = '0'
    let calls = 0
    do {
      const page = decodeScan(run('scan', cursor, 'match', 'user:*', 'count', '25'))
      seen.push(...page.keys)
      cursor = page.cursor
      calls++
    } while (cursor !== '0')
    assert.deepEqual(seen.sort(), expected.sort())
    assert.ok(calls >= 600 / 25)
    assert.equal(run('scan', '0', 'count', '0'), '-ERR syntax error\r\n')
    assert.equal(run('scan', 'x'), '-ERR invalid cursor\r\n')
    const keys = run('keys', 'user:1?')
    assert.ok(keys.startsWith('*10\r\n'), keys)
    assert.match(run('randomkey'), /^\$\d+\r\n(user|order):\d+\r\n$/)
  })

  test('the key command table copies Redis 7.0 metadata shapes', () => {
    const names = new Set(keyCommands.map((spec) => spec.name))
    assert.equal(names.size, keyCommands.length, 'unique names')
    for (const spec of keyCommands) {
      assert.equal(spec.group, 'generic')
      assert.notEqual(spec.arity, 0)
      assert.ok(spec.flags.includes('write') !== spec.flags.includes('readonly'), spec.name)
    }
    assert.equal(names.size, 20)
  })
})
