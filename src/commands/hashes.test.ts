/* Hash commands where a byte comparison with Redis cannot decide: random replies (HRANDFIELD),
 * HSCAN cursors over a hash too big for a listpack, expiry on a hand-moved clock, and the
 * keyspace statistics. The differential test covers the deterministic replies. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { hashCommands } from './hashes.js'
import { keyCommands } from './keys.js'
import { stringCommands } from './strings.js'
import { bulks, handlerHarness } from './test-support.js'

const specs = [...hashCommands, ...keyCommands, ...stringCommands]

describe('hash commands', () => {
  test('HSCAN walks a hash too big for a listpack with cursors and returns every field', () => {
    const { run } = handlerHarness(specs)
    for (let i = 0; i < 500; i++) run('hset', 'big', `field:${i}`, `value:${i}`)
    const seen = new Map<string, string>()
    let cursor = '0'
    let calls = 0
    do {
      const reply = run('hscan', 'big', cursor, 'count', '20')
      const [next, ...pairs] = bulks(reply)
      for (let i = 0; i < pairs.length; i += 2) seen.set(pairs[i] as string, pairs[i + 1] as string)
      cursor = next as string
      calls++
    } while (cursor !== '0')
    assert.ok(calls > 10, `${calls} calls: the cursor paginates`)
    assert.equal(seen.size, 500)
    assert.equal(seen.get('field:123'), 'value:123')
  })

  test('HSCAN MATCH filters fields and their values', () => {
    const { run } = handlerHarness(specs)
    for (let i = 0; i < 200; i++) run('hset', 'big', `f${i}`, `v${i}`)
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, ...pairs] = bulks(run('hscan', 'big', cursor, 'match', 'f1?'))
      for (let i = 0; i < pairs.length; i += 2) found.push(`${pairs[i]}=${pairs[i + 1]}`)
      cursor = next as string
    } while (cursor !== '0')
    assert.deepEqual(
      found.sort(),
      Array.from({ length: 10 }, (_, i) => `f1${i}=v1${i}`),
    )
  })

  test('HRANDFIELD draws members: distinct for a positive count, repeats for a negative one', () => {
    const { run } = handlerHarness(specs)
    run('hset', 'h', 'a', '1', 'b', '2', 'c', '3', 'd', '4')
    const members = new Set(['a', 'b', 'c', 'd'])
    assert.ok(members.has(bulks(run('hrandfield', 'h'))[0] as string))
    const two = bulks(run('hrandfield', 'h', '2'))
    assert.equal(new Set(two).size, 2)
    assert.ok(two.every((field) => members.has(field)))
    const many = bulks(run('hrandfield', 'h', '-20'))
    assert.equal(many.length, 20)
    assert.ok(many.every((field) => members.has(field)))
    assert.ok(new Set(many).size < 20, 'a negative count repeats fields')
    const pairs = bulks(run('hrandfield', 'h', '-3', 'withvalues'))
    assert.equal(pairs.length, 6)
    for (let i = 0; i < 6; i += 2) {
      assert.equal(pairs[i + 1], String(['a', 'b', 'c', 'd'].indexOf(pairs[i] as string) + 1))
    }
  })

  test('HRANDFIELD WITHVALUES in RESP3 replies with [field, value] pairs', () => {
    const { run } = handlerHarness(specs, 3)
    run('hset', 'h', 'a', '1')
    const pair = '*2\r\n$1\r\na\r\n$1\r\n1\r\n'
    assert.equal(run('hrandfield', 'h', '-2', 'withvalues'), `*2\r\n${pair}${pair}`)
    assert.equal(run('hgetall', 'h'), '%1\r\n$1\r\na\r\n$1\r\n1\r\n')
  })

  test('a hash expires as a whole, and a new one under its name starts empty', () => {
    const { run, clock } = handlerHarness(specs)
    run('hset', 'h', 'a', '1', 'b', '2')
    assert.equal(run('pexpire', 'h', '100'), ':1\r\n')
    clock.nowMs += 50
    assert.equal(run('hlen', 'h'), ':2\r\n')
    clock.nowMs += 51
    assert.equal(run('hlen', 'h'), ':0\r\n')
    assert.equal(run('type', 'h'), '+none\r\n')
    assert.equal(run('hset', 'h', 'c', '3'), ':1\r\n')
    assert.equal(run('hgetall', 'h'), '*2\r\n$1\r\nc\r\n$1\r\n3\r\n')
    assert.equal(run('ttl', 'h'), ':-1\r\n')
  })

  test('HINCRBY keeps the hash TTL and beyond-safe integers exact', () => {
    const { run } = handlerHarness(specs)
    run('hset', 'h', 'n', '9007199254740993')
    run('expire', 'h', '100')
    assert.equal(run('hincrby', 'h', 'n', '2'), ':9007199254740995\r\n')
    assert.equal(run('hget', 'h', 'n'), '$16\r\n9007199254740995\r\n')
    assert.equal(run('ttl', 'h'), ':100\r\n')
  })
})
