import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ProtocolVersion } from '../protocol/types.js'
import { keyCommands } from './keys.js'
import { parseInt64, stringCommands } from './strings.js'
import { handlerHarness, testEpochMs } from './test-support.js'

const t0 = testEpochMs
const commandSpecs = [...stringCommands, ...keyCommands]
const harness = (protocol: ProtocolVersion = 2) => handlerHarness(commandSpecs, protocol)

describe('parseInt64 (Redis string2ll)', () => {
  test('accepts exactly what Redis accepts', () => {
    const cases: Array<[string, number | bigint | null]> = [
      ['0', 0],
      ['-1', -1],
      ['123456789012345', 123456789012345],
      ['9007199254740991', 9007199254740991],
      ['9007199254740992', 9007199254740992n],
      ['9223372036854775807', 9223372036854775807n],
      ['-9223372036854775808', -9223372036854775808n],
      ['9223372036854775808', null],
      ['-0', null],
      ['00', null],
      ['01', null],
      ['+1', null],
      [' 1', null],
      ['1 ', null],
      ['', null],
      ['-', null],
      ['1a', null],
      ['1.0', null],
      ['123456789012345678901', null],
    ]
    for (const [text, expected] of cases)
      assert.equal(parseInt64(Buffer.from(text)), expected, text)
  })
})

describe('string commands', () => {
  test('GET and SET reply shapes in RESP2 and RESP3', () => {
    const resp2 = harness(2)
    assert.equal(resp2.run('get', 'k'), '$-1\r\n')
    assert.equal(resp2.run('set', 'k', 'v'), '+OK\r\n')
    assert.equal(resp2.run('get', 'k'), '$1\r\nv\r\n')
    assert.equal(resp2.run('set', 'k', 'w', 'xx', 'get'), '$1\r\nv\r\n')
    assert.equal(resp2.run('set', 'n', 'w', 'xx'), '$-1\r\n')
    const resp3 = harness(3)
    assert.equal(resp3.run('get', 'k'), '_\r\n')
    assert.equal(resp3.run('mget', 'k', 'k'), '*2\r\n_\r\n_\r\n')
  })

  test('values are copied: a later change to the read buffer does not reach the store', () => {
    const { run } = harness()
    const readBuffer = Buffer.from('*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nhello\r\n')
    const key = readBuffer.subarray(17, 18)
    const value = readBuffer.subarray(readBuffer.indexOf('hello'), readBuffer.indexOf('hello') + 5)
    assert.equal(key.toString() + value.toString(), 'khello')
    run('set', key, value)
    readBuffer.fill(0x21)
    assert.equal(run('get', 'k'), '$5\r\nhello\r\n')
  })

  test('SET EX/PX/EXAT/PXAT set exact expiry times on the injected clock', () => {
    const { run, clock } = harness()
    run('set', 'a', 'v', 'ex', '10')
    run('set', 'b', 'v', 'px', '1500')
    run('set', 'c', 'v', 'exat', String((t0 + 20_000) / 1000))
    run('set', 'd', 'v', 'pxat', String(t0 + 30_000))
    assert.equal(run('pttl', 'a'), ':10000\r\n')
    assert.equal(run('pttl', 'b'), ':1500\r\n')
    assert.equal(run('pexpiretime', 'c'), `:${t0 + 20_000}\r\n`)
    assert.equal(run('pexpiretime', 'd'), `:${t0 + 30_000}\r\n`)
    clock.nowMs = t0 + 10_000
    assert.equal(run('get', 'a'), '$1\r\nv\r\n', 'alive at exactly its expiry')
    clock.nowMs = t0 + 10_001
    assert.equal(run('get', 'a'), '$-1\r\n')
    assert.equal(run('get', 'b'), '$-1\r\n')
  })

  test('SETEX/PSETEX and their expire errors name the command', () => {
    const { run } = harness()
    assert.equal(run('setex', 'k', '5', 'v'), '+OK\r\n')
    assert.equal(run('pttl', 'k'), ':5000\r\n')
    assert.equal(run('psetex', 'k', '250', 'v'), '+OK\r\n')
    assert.equal(run('pttl', 'k'), ':250\r\n')
    assert.equal(run('setex', 'k', '0', 'v'), "-ERR invalid expire time in 'setex' command\r\n")
    assert.equal(run('psetex', 'k', '-1', 'v'), "-ERR invalid expire time in 'psetex' command\r\n")
    assert.equal(run('set', 'k', 'v', 'px', '0'), "-ERR invalid expire time in 'set' command\r\n")
    assert.equal(run('getex', 'k', 'px', '0'), "-ERR invalid expire time in 'getex' command\r\n")
  })

  test('counters, APPEND, SETRANGE and INCRBYFLOAT keep the TTL; SET and GETSET drop it', () => {
    const { run } = harness()
    const keepers: Array<[string, ...string[]]> = [
      ['incr'],
      ['incrby', '5'],
      ['decr'],
      ['decrby', '2'],
      ['incrbyfloat', '1.5'],
      ['append', '0'],
      ['setrange', '0', '7'],
    ]
    for (const [name, ...rest] of keepers) {
      run('set', 'k', '1', 'px', '9000')
      run(name, 'k', ...rest)
      assert.equal(run('pttl', 'k'), ':9000\r\n', name)
    }
    run('getset', 'k', '2')
    assert.equal(run('pttl', 'k'), ':-1\r\n')
    run('set', 'k', '1', 'px', '9000')
    run('set', 'k', '1')
    assert.equal(run('pttl', 'k'), ':-1\r\n')
  })

  test('INCR crosses 2^53 exactly and stops at the int64 bounds', () => {
    const { run } = harness()
    run('set', 'n', '9007199254740991')
    assert.equal(run('incr', 'n'), ':9007199254740992\r\n')
    assert.equal(run('incrby', 'n', '9007199254740992'), ':18014398509481984\r\n')
    assert.equal(run('get', 'n'), '$17\r\n18014398509481984\r\n')
    run('set', 'n', '9223372036854775807')
    assert.equal(run('incr', 'n'), '-ERR increment or decrement would overflow\r\n')
    assert.equal(run('decrby', 'n', '-9223372036854775808'), '-ERR decrement would overflow\r\n')
    run('set', 'n', 'abc')
    assert.equal(run('incr', 'n'), '-ERR value is not an integer or out of range\r\n')
  })

  test('INCRBYFLOAT computes in x87 long double like Redis', () => {
    const { run } = harness()
    assert.equal(run('incrbyfloat', 'f', '0.1'), '$3\r\n0.1\r\n')
    assert.equal(run('incrbyfloat', 'f', '0.2'), '$3\r\n0.3\r\n')
    run('set', 'f', '10.5')
    assert.equal(run('incrbyfloat', 'f', '0.1'), '$4\r\n10.6\r\n')
    run('set', 'f', '-1')
    assert.equal(run('incrbyfloat', 'f', '0.999999999999999999'), '$1\r\n0\r\n')
    assert.equal(run('incrbyfloat', 'f', 'inf'), '-ERR increment would produce NaN or Infinity\r\n')
    assert.equal(run('incrbyfloat', 'f', '1x'), '-ERR value is not a valid float\r\n')
    run('set', 'f', Buffer.from('1\u00002'))
    assert.equal(run('incrbyfloat', 'f', '1'), '-ERR value is not a valid float\r\n')
  })

  test('GETRANGE and SETRANGE index rules', () => {
    const { run } = harness()
    run('set', 's', 'hello')
    assert.equal(run('getrange', 's', '-3', '-1'), '$3\r\nllo\r\n')
    assert.equal(run('getrange', 's', '-100', '-50'), '$1\r\nh\r\n')
    assert.equal(run('getrange', 's', '-1', '-5'), '$0\r\n\r\n')
    assert.equal(run('getrange', 's', '0', '9223372036854775807'), '$5\r\nhello\r\n')
    assert.equal(run('setrange', 'fresh', '3', 'ab'), ':5\r\n')
    assert.equal(run('get', 'fresh'), '$5\r\n\u0000\u0000\u0000ab\r\n')
    assert.equal(run('setrange', 's', '1', 'EL'), ':5\r\n')
    assert.equal(run('get', 's'), '$5\r\nhELlo\r\n')
    assert.equal(run('setrange', 's', '-1', 'x'), '-ERR offset is out of range\r\n')
    assert.equal(
      run('setrange', 's', '536870912', 'x'),
      '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n',
    )
  })

  test('MSET/MSETNX check their pairing; MSETNX sets all or nothing', () => {
    const { run } = harness()
    assert.equal(
      run('mset', 'a', '1', 'b'),
      "-ERR wrong number of arguments for 'mset' command\r\n",
    )
    assert.equal(run('msetnx', 'a', '1', 'b', '2'), ':1\r\n')
    assert.equal(run('msetnx', 'b', '3', 'c', '4'), ':0\r\n')
    assert.equal(run('mget', 'a', 'b', 'c'), '*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n')
  })

  test('GETEX sets, persists, or deletes (an absolute time in the past)', () => {
    const { run } = harness()
    run('set', 'k', 'v')
    assert.equal(run('getex', 'k', 'px', '700'), '$1\r\nv\r\n')
    assert.equal(run('pttl', 'k'), ':700\r\n')
    assert.equal(run('getex', 'k', 'persist'), '$1\r\nv\r\n')
    assert.equal(run('pttl', 'k'), ':-1\r\n')
    assert.equal(run('getex', 'k', 'pxat', String(t0)), '$1\r\nv\r\n')
    assert.equal(run('exists', 'k'), ':0\r\n')
    assert.equal(run('getex', 'k', 'nx'), '-ERR syntax error\r\n')
  })

  test('GETDEL returns and removes', () => {
    const { run } = harness()
    run('set', 'k', 'v')
    assert.equal(run('getdel', 'k'), '$1\r\nv\r\n')
    assert.equal(run('getdel', 'k'), '$-1\r\n')
  })
})

describe('string command table', () => {
  test('names are unique and lowercase, with a handler, group string, key 1', () => {
    const names = new Set<string>()
    for (const spec of stringCommands) {
      assert.equal(spec.name, spec.name.toLowerCase())
      assert.ok(!names.has(spec.name), spec.name)
      names.add(spec.name)
      assert.equal(spec.group, 'string')
      assert.equal(spec.firstKey, 1)
      assert.notEqual(spec.arity, 0)
    }
    assert.equal(names.size, 21)
  })
})
