/* Set commands where a byte comparison with Redis cannot decide: random draws (SPOP,
 * SRANDMEMBER), SSCAN cursors over a set Redis would hold as a hashtable, and the emptied set
 * disappearing. The differential test covers the deterministic replies. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { keyCommands } from './keys.js'
import { setCommands } from './sets.js'
import { stringCommands } from './strings.js'
import { bulks, handlerHarness } from './test-support.js'

const specs = [...setCommands, ...keyCommands, ...stringCommands]

describe('set commands', () => {
  test('SSCAN pages through a big set of words and returns every member', () => {
    const { run } = handlerHarness(specs)
    for (let i = 0; i < 300; i++) run('sadd', 'words', `w${i}`)
    const seen = new Set<string>()
    let cursor = '0'
    let calls = 0
    do {
      const [next, ...members] = bulks(run('sscan', 'words', cursor, 'count', '25'))
      for (const member of members) seen.add(member)
      cursor = next as string
      calls++
    } while (cursor !== '0')
    assert.ok(calls > 5, `${calls} calls`)
    assert.equal(seen.size, 300)
  })

  test('SPOP removes what it returns; the last pop deletes the key', () => {
    const { run } = handlerHarness(specs)
    run('sadd', 's', 'a', 'b', 'c', 'd', 'e')
    const popped = bulks(run('spop', 's', '2'))
    assert.equal(new Set(popped).size, 2)
    for (const member of popped) assert.equal(run('sismember', 's', member), ':0\r\n')
    assert.equal(run('scard', 's'), ':3\r\n')
    const one = bulks(run('spop', 's'))[0] as string
    assert.ok(['a', 'b', 'c', 'd', 'e'].includes(one) && !popped.includes(one))
    assert.equal(bulks(run('spop', 's', '5')).length, 2)
    assert.equal(run('exists', 's'), ':0\r\n')
  })

  test('SRANDMEMBER: distinct members for a positive count, repeats for a negative one', () => {
    const { run } = handlerHarness(specs)
    run('sadd', 's', 'x', 'y', 'z')
    const two = bulks(run('srandmember', 's', '2'))
    assert.equal(new Set(two).size, 2)
    const many = bulks(run('srandmember', 's', '-12'))
    assert.equal(many.length, 12)
    assert.ok(many.every((member) => ['x', 'y', 'z'].includes(member)))
    assert.equal(run('scard', 's'), ':3\r\n', 'SRANDMEMBER removes nothing')
  })

  test('a STORE form replaces a string and drops its TTL; an empty result deletes it', () => {
    const { run } = handlerHarness(specs)
    run('sadd', 'a', '1', '2')
    run('sadd', 'b', '2', '3')
    run('set', 'dst', 'text', 'ex', '100')
    assert.equal(run('sunionstore', 'dst', 'a', 'b'), ':3\r\n')
    assert.equal(run('type', 'dst'), '+set\r\n')
    assert.equal(run('ttl', 'dst'), ':-1\r\n')
    assert.equal(run('sinterstore', 'dst', 'dst', 'a'), ':2\r\n')
    assert.equal(run('smembers', 'dst'), '*2\r\n$1\r\n1\r\n$1\r\n2\r\n')
    assert.equal(run('sdiffstore', 'dst', 'a', 'dst'), ':0\r\n')
    assert.equal(run('exists', 'dst'), ':0\r\n')
  })

  test('SMEMBERS replies a RESP3 set', () => {
    const { run } = handlerHarness(specs, 3)
    run('sadd', 's', '2', '1')
    assert.equal(run('smembers', 's'), '~2\r\n$1\r\n1\r\n$1\r\n2\r\n')
    assert.equal(run('smembers', 'none'), '~0\r\n')
  })
})
