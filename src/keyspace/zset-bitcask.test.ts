/* Sorted sets over the real Bitcask engine on a temp dir: each member is one element record whose
 * 8-byte score stays inline, and a restart rebuilds every zset's order index from the recovered
 * records (lazily, on first access), with removals, increments, deletions and overwrites intact;
 * a command's several records (atomic group) survive a power loss whole or not at all. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRng } from '../core/rng.js'
import { keyCommands } from '../commands/keys.js'
import { stringCommands } from '../commands/strings.js'
import { zsetCommands } from '../commands/zsets.js'
import { tempDirs } from '../../test/helpers/engine-fixtures.js'
import {
  ManualTime,
  commandRunner,
  shutdown,
  withKeyspace,
} from '../../test/helpers/keyspace-fixtures.js'
import type { EngineKeyspace } from './keyspace.js'

const run = commandRunner([...stringCommands, ...keyCommands, ...zsetCommands])
const tempDir = tempDirs('caskade-keyspace-')

describe('sorted sets over the Bitcask engine', () => {
  test('a restart rebuilds every zset in (score, member) order from its element records', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    let { engine, keyspace } = await withKeyspace(dir, time)
    const rng = createRng(5)
    for (let i = 0; i < 2000; i++) {
      run(keyspace, time, 'zadd', 'big', String(rng.int(500) / 8), `m${rng.int(1500)}`)
    }
    run(keyspace, time, 'zrem', 'big', 'm1', 'm2', 'm3')
    run(keyspace, time, 'zincrby', 'big', '0.1', 'm10')
    run(keyspace, time, 'zadd', 'small', '-inf', 'low', '1e300', 'high', '-0', 'zero')
    run(keyspace, time, 'zadd', 'gone', '1', 'a')
    run(keyspace, time, 'del', 'gone')
    run(keyspace, time, 'zadd', 'over', '1', 'a')
    run(keyspace, time, 'set', 'over', 'string')
    run(keyspace, time, 'zunionstore', 'sum', '2', 'big', 'small')
    const before = ['big', 'small', 'sum'].map((key) =>
      run(keyspace, time, 'zrange', key, '0', '-1', 'withscores'),
    )
    const rank = run(keyspace, time, 'zrank', 'big', 'm10')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    const after = ['big', 'small', 'sum'].map((key) =>
      run(keyspace, time, 'zrange', key, '0', '-1', 'withscores'),
    )
    assert.deepEqual(after, before)
    assert.equal(run(keyspace, time, 'zrank', 'big', 'm10'), rank)
    assert.equal(run(keyspace, time, 'type', 'big'), '+zset\r\n')
    assert.equal(run(keyspace, time, 'exists', 'gone'), ':0\r\n')
    assert.equal(run(keyspace, time, 'get', 'over'), '$6\r\nstring\r\n')
    assert.equal(run(keyspace, time, 'zscore', 'small', 'zero'), '$1\r\n0\r\n')
    // Writes after the restart go to the rebuilt index and to disk alike.
    run(keyspace, time, 'zadd', 'small', '5', 'mid')
    run(keyspace, time, 'zpopmin', 'small')
    const small = run(keyspace, time, 'zrange', 'small', '0', '-1', 'withscores')
    await shutdown(engine, keyspace)
    ;({ engine, keyspace } = await withKeyspace(dir, time))
    assert.equal(run(keyspace, time, 'zrange', 'small', '0', '-1', 'withscores'), small)
    await shutdown(engine, keyspace)
  })

  test('changing a score in a zset of 1000 writes one small record of an 8-byte score', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    const { engine, keyspace } = await withKeyspace(dir, time)
    for (let i = 0; i < 1000; i++) run(keyspace, time, 'zadd', 'z', String(i), `member${i}`)
    const before = engine.stats()
    run(keyspace, time, 'zadd', 'z', '5000', 'member500')
    const after = engine.stats()
    assert.equal(engine.getElement(Buffer.from('z'), Buffer.from('member500'))?.length, 8)
    const bytes = (stats: typeof before): number => stats.liveBytes + stats.deadBytes
    const written = bytes(after) - bytes(before)
    // One record (header, key, version, member, score), whatever the zset's size.
    assert.ok(written > 8 && written < 128, `${written} bytes for one ZADD`)
    await shutdown(engine, keyspace)
  })

  test('multi-record ZADD, ZREM, ZPOPMIN and ZUNIONSTORE cut at every byte reopen whole or not at all', async () => {
    const dir = tempDir()
    const time = new ManualTime()
    const { engine, keyspace } = await withKeyspace(dir, time)
    const steps = [
      ['zadd', 'z', '1', 'a', '2', 'b', '3', 'c'],
      ['zadd', 'y', '7', 'f', '8', 'g'],
      ['zadd', 'z', '4', 'd', '5', 'e', '1.5', 'a'],
      ['zrem', 'z', 'b', 'd'],
      ['zpopmin', 'z', '2'],
      ['zunionstore', 'z', '2', 'z', 'y'],
    ]
    const stateOf = (at: EngineKeyspace): string =>
      ['z', 'y'].map((key) => run(at, time, 'zrange', key, '0', '-1', 'withscores')).join('|')
    const [segment] = fs.readdirSync(dir).filter((name) => name.endsWith('.data'))
    assert.ok(segment !== undefined)
    const file = path.join(dir, segment)
    const states = [stateOf(keyspace)]
    const ends = [fs.statSync(file).size]
    for (const step of steps) {
      run(keyspace, time, ...step)
      await engine.flushAndSync()
      states.push(stateOf(keyspace))
      ends.push(fs.statSync(file).size)
    }
    await shutdown(engine, keyspace)
    const bytes = fs.readFileSync(file).subarray(0, ends.at(-1))
    for (let cut = ends[0] as number; cut <= bytes.length; cut++) {
      const copy = tempDir()
      fs.writeFileSync(path.join(copy, segment), bytes.subarray(0, cut))
      const reopened = await withKeyspace(copy, time)
      const whole = ends.filter((end) => end <= cut).length - 1
      assert.equal(stateOf(reopened.keyspace), states[whole], `cut at ${cut}: ${whole} whole`)
      await shutdown(reopened.engine, reopened.keyspace)
      fs.rmSync(copy, { recursive: true, force: true })
    }
  })
})
