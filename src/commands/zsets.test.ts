/* Sorted-set commands where a byte comparison with Redis cannot decide or does not reach: random
 * draws (ZRANDMEMBER), ZSCAN paging over a zset Redis would hold as a skiplist, ranges over a
 * zset big enough for a multi-level index checked against a sorted-array model, and the order
 * index staying right when DEL, RENAME, COPY, expiry, FLUSHALL or SET replace the key. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import { keyCommands } from './keys.js'
import { serverCommands } from './server.js'
import { setCommands } from './sets.js'
import { stringCommands } from './strings.js'
import { zsetStoreOf } from '../keyspace/zset-store.js'
import { bulks, handlerHarness } from './test-support.js'
import { zsetCommands } from './zsets.js'

const specs = [
  ...zsetCommands,
  ...keyCommands,
  ...stringCommands,
  ...setCommands,
  ...serverCommands,
]

/** Pairs [member, score] of a flat WITHSCORES reply. */
function pairs(reply: string): Array<[string, string]> {
  const items = bulks(reply)
  const out: Array<[string, string]> = []
  for (let i = 0; i < items.length; i += 2) out.push([items[i] as string, items[i + 1] as string])
  return out
}

describe('sorted-set commands', () => {
  test('ZRANDMEMBER draws members with their own scores; positive counts are distinct', () => {
    const { run } = handlerHarness(specs)
    for (let i = 0; i < 50; i++) run('zadd', 'z', String(i * 2), `m${i}`)
    const draw = pairs(run('zrandmember', 'z', '20', 'withscores'))
    assert.equal(draw.length, 20)
    assert.equal(new Set(draw.map(([member]) => member)).size, 20)
    for (const [member, score] of draw) assert.equal(String(Number(member.slice(1)) * 2), score)
    const repeats = bulks(run('zrandmember', 'z', '-200'))
    assert.equal(repeats.length, 200)
    assert.ok(new Set(repeats).size < 200, 'a negative count may repeat members')
    assert.ok(repeats.every((member) => /^m\d+$/.test(member)))
    assert.match(run('zrandmember', 'z'), /^\$\d+\r\nm\d+\r\n$/)
    assert.equal(bulks(run('zrandmember', 'z', '100')).length, 50, 'at most the whole zset')
  })

  test('ZSCAN pages through a zset too big for a listpack and returns every member once', () => {
    const { run } = handlerHarness(specs)
    for (let i = 0; i < 300; i++) run('zadd', 'big', String(i / 4), `member:${i}`)
    const seen = new Map<string, string>()
    let cursor = '0'
    let calls = 0
    do {
      const [next, ...rest] = bulks(run('zscan', 'big', cursor, 'count', '25'))
      for (let i = 0; i < rest.length; i += 2) seen.set(rest[i] as string, rest[i + 1] as string)
      cursor = next as string
      calls++
    } while (cursor !== '0')
    assert.ok(calls > 5, `${calls} calls`)
    assert.equal(seen.size, 300)
    assert.equal(seen.get('member:6'), '1.5')
  })

  test('ranges, ranks and counts over 2000 members agree with a sorted-array model', () => {
    const { run } = handlerHarness(specs)
    const rng = createRng(11)
    const model = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const member = `k${rng.int(2000)}`
      const score = rng.int(200) - 100
      run('zadd', 'z', String(score), member)
      model.set(member, score)
      if (i % 7 === 0) {
        const gone = `k${rng.int(2000)}`
        run('zrem', 'z', gone)
        model.delete(gone)
      }
    }
    const sorted = [...model].sort(([ma, sa], [mb, sb]) =>
      sa !== sb ? sa - sb : ma < mb ? -1 : ma > mb ? 1 : 0,
    )
    assert.equal(run('zcard', 'z'), `:${sorted.length}\r\n`)
    assert.deepEqual(
      bulks(run('zrange', 'z', '0', '-1')),
      sorted.map(([m]) => m),
    )
    assert.deepEqual(
      bulks(run('zrange', 'z', '100', '149', 'rev')),
      sorted
        .map(([m]) => m)
        .reverse()
        .slice(100, 150),
    )
    const inRange = sorted.filter(([, s]) => s > -10 && s <= 25)
    assert.equal(run('zcount', 'z', '(-10', '25'), `:${inRange.length}\r\n`)
    assert.deepEqual(
      bulks(run('zrangebyscore', 'z', '(-10', '25', 'limit', '5', '30')),
      inRange.slice(5, 35).map(([m]) => m),
    )
    for (const probe of [0, 17, sorted.length - 1]) {
      const [member] = sorted[probe] as [string, number]
      assert.equal(run('zrank', 'z', member), `:${probe}\r\n`)
      assert.equal(run('zrevrank', 'z', member), `:${sorted.length - 1 - probe}\r\n`)
    }
    const removed = sorted.filter(([, s]) => s < 0).length
    assert.equal(run('zremrangebyscore', 'z', '-inf', '(0'), `:${removed}\r\n`)
    assert.equal(bulks(run('zrange', 'z', '0', '0'))[0], sorted[removed]?.[0])
  })

  test('an emptied zset disappears, whichever command empties it', () => {
    const { run } = handlerHarness(specs)
    const emptiers: string[][] = [
      ['zrem', 'z', 'a', 'b'],
      ['zpopmin', 'z', '5'],
      ['zpopmax', 'z', '2'],
      ['zremrangebyrank', 'z', '0', '-1'],
      ['zremrangebyscore', 'z', '-inf', '+inf'],
      ['zremrangebylex', 'z', '-', '+'],
      ['zrangestore', 'z', 'nothing', '0', '-1'],
      ['zinterstore', 'z', '2', 'z', 'nothing'],
    ]
    for (const command of emptiers) {
      run('zadd', 'z', '0', 'a', '0', 'b')
      run(...command)
      assert.equal(run('type', 'z'), '+none\r\n', command.join(' '))
      assert.equal(run('exists', 'z'), ':0\r\n')
    }
  })

  test('the order index follows DEL, RENAME, COPY, expiry, FLUSHALL and SET of the key', () => {
    const { run, clock } = handlerHarness(specs)
    run('zadd', 'z', '1', 'a', '2', 'b')
    run('del', 'z')
    run('zadd', 'z', '5', 'c')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['c'])
    run('zadd', 'src', '1', 'x', '2', 'y')
    run('rename', 'src', 'z')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1', 'withscores')), ['x', '1', 'y', '2'])
    run('copy', 'z', 'z2')
    run('zadd', 'z2', '0', 'w')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['x', 'y'])
    assert.deepEqual(bulks(run('zrange', 'z2', '0', '-1')), ['w', 'x', 'y'])
    run('pexpire', 'z', '10')
    clock.nowMs += 20
    assert.equal(run('zcard', 'z'), ':0\r\n')
    run('zadd', 'z', '9', 'q')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['q'])
    run('flushall')
    run('zadd', 'z', '3', 'r')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['r'])
    run('set', 'z', 'string now')
    assert.match(run('zadd', 'z', '1', 'a'), /^-WRONGTYPE /)
    run('del', 'z')
    assert.equal(run('zadd', 'z', '1', 'a'), ':1\r\n')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['a'])
  })

  test('many short-lived zsets: their cached indexes do not outlive them', () => {
    const { run, keyspace } = handlerHarness(specs)
    for (let i = 0; i < 5000; i++) {
      run('zadd', `tmp${i}`, '1', 'a')
      run('del', `tmp${i}`)
    }
    run('zadd', 'z', '1', 'a')
    assert.deepEqual(bulks(run('zrange', 'z', '0', '-1')), ['a'])
    assert.equal(run('dbsize'), ':1\r\n')
    const cached = zsetStoreOf(keyspace).cachedIndexCount()
    assert.ok(cached < 200, `${cached} cached indexes for 1 live zset`)
  })
})
