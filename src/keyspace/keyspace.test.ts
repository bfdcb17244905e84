import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Clock, Timers } from '../core/ports.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { createRng } from '../core/rng.js'
import { createKeyspace, type EngineKeyspace, type KeyspaceOptions } from './keyspace.js'
import { MemoryEngine } from './memory-engine.js'

const t0 = 1_700_000_000_000

/** A clock moved by hand and timers fired by hand: the keyspace sees no real time. */
class ManualWorld implements Clock, Timers {
  nowMs = t0
  intervals: Array<{ intervalMs: number; onFire: () => void; cancelled: boolean }> = []
  monotonicMs(): number {
    return this.nowMs - t0
  }
  wallMs(): number {
    return this.nowMs
  }
  every(intervalMs: number, onFire: () => void): () => void {
    const entry = { intervalMs, onFire, cancelled: false }
    this.intervals.push(entry)
    return () => {
      entry.cancelled = true
    }
  }
  after(): () => void {
    throw new Error('the keyspace uses no one-shot timers')
  }
  defer(): void {
    throw new Error('the keyspace defers nothing')
  }
  /** Moves time forward and fires every live interval timer once. */
  tick(deltaMs: number): void {
    this.nowMs += deltaMs
    for (const entry of this.intervals) if (!entry.cancelled) entry.onFire()
  }
}

const b = (text: string): Buffer => Buffer.from(text)
const texts = (keys: Buffer[]): string[] => keys.map((key) => key.toString()).sort()

function setup(overrides: Partial<KeyspaceOptions> = {}): {
  world: ManualWorld
  engine: MemoryEngine
  keyspace: EngineKeyspace
} {
  const world = new ManualWorld()
  const engine = new MemoryEngine()
  const keyspace = createKeyspace({
    engine,
    clock: world,
    timers: world,
    rng: createRng(1),
    ...overrides,
  })
  return { world, engine, keyspace }
}

describe('keyspace: values and statistics', () => {
  test('set, get, delete, and hits/misses counted on reads only', () => {
    const { keyspace } = setup()
    keyspace.set(b('a'), b('1'))
    assert.deepEqual(keyspace.get(b('a')), b('1'))
    assert.equal(keyspace.get(b('zz')), null)
    assert.deepEqual(keyspace.peek(b('a')), b('1'))
    assert.equal(keyspace.has(b('zz')), false)
    assert.equal(keyspace.exists(b('a')), true)
    assert.equal(keyspace.typeOf(b('zz')), 'none')
    assert.equal(keyspace.valueLength(b('a')), 1)
    const stats = keyspace.stats()
    assert.equal(stats.keyspaceHits, 3, 'get, exists and valueLength hit')
    assert.equal(stats.keyspaceMisses, 2, 'get and typeOf missed; peek and has do not count')
    assert.equal(keyspace.delete(b('a')), true)
    assert.equal(keyspace.delete(b('a')), false)
    assert.equal(keyspace.size(), 0)
    keyspace.resetStats()
    assert.equal(keyspace.stats().keyspaceHits, 0)
  })

  test('the engine keeps copies: changing the argument buffer later changes nothing', () => {
    const { keyspace } = setup()
    const key = b('key')
    const value = b('value')
    keyspace.set(key, value)
    value.fill(0x78)
    key.fill(0x79)
    assert.deepEqual(keyspace.get(b('key')), b('value'))
  })
})

describe('keyspace: lazy expiry', () => {
  test('a key expires once now > expiresAtMs (Redis rule), then reads as absent', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 100 })
    world.nowMs = t0 + 100
    assert.deepEqual(keyspace.get(b('k')), b('v'), 'still live at exactly its expiry time')
    world.nowMs = t0 + 101
    assert.equal(keyspace.get(b('k')), null)
    assert.equal(engine.has(b('k')), false, 'deleted with a tombstone')
    assert.equal(keyspace.stats().expiredKeys, 1)
    assert.equal(keyspace.stats().keyspaceMisses, 1)
  })

  test('every accessor expires lazily', () => {
    const accessors: Array<(keyspace: EngineKeyspace, key: Buffer) => unknown> = [
      (k, key) => k.peek(key),
      (k, key) => k.has(key),
      (k, key) => k.exists(key),
      (k, key) => k.typeOf(key),
      (k, key) => k.valueLength(key),
      (k, key) => k.expiresAtMs(key),
      (k, key) => k.peekExpiresAtMs(key),
      (k, key) => k.delete(key),
      (k, key) => k.persist(key),
      (k, key) => k.expireAt(key, t0 + 1_000_000),
      (k, key) => k.rename(key, b('other'), { onlyIfAbsent: false }),
      (k, key) => k.copy(key, b('other'), { replace: true }),
    ]
    for (const access of accessors) {
      const { world, engine, keyspace } = setup()
      keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 10 })
      world.nowMs = t0 + 11
      access(keyspace, b('k'))
      assert.equal(engine.has(b('k')), false, String(access))
      assert.equal(engine.has(b('other')), false, String(access))
      assert.equal(keyspace.stats().expiredKeys, 1, String(access))
    }
  })

  test('SET over an expired key counts it as expired; KEEPTTL then keeps no TTL', () => {
    const { world, keyspace } = setup()
    keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 10 })
    world.nowMs = t0 + 11
    keyspace.set(b('k'), b('w'), { keepTtl: true })
    assert.equal(keyspace.stats().expiredKeys, 1)
    assert.equal(keyspace.peekExpiresAtMs(b('k')), -1)
  })

  test('KEEPTTL keeps a live TTL, a plain SET drops it', () => {
    const { keyspace } = setup()
    keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 5000 })
    keyspace.set(b('k'), b('w'), { keepTtl: true })
    assert.equal(keyspace.peekExpiresAtMs(b('k')), t0 + 5000)
    keyspace.set(b('k'), b('x'))
    assert.equal(keyspace.peekExpiresAtMs(b('k')), -1)
  })

  test('expireAt in the past (or now) deletes at once; persist removes the TTL', () => {
    const { keyspace } = setup()
    keyspace.set(b('k'), b('v'))
    assert.equal(keyspace.expireAt(b('k'), t0 + 1000), true)
    assert.equal(keyspace.expiresAtMs(b('k')), t0 + 1000)
    assert.equal(keyspace.persist(b('k')), true)
    assert.equal(keyspace.persist(b('k')), false, 'no TTL left to remove')
    assert.equal(keyspace.expiresAtMs(b('k')), -1)
    assert.equal(keyspace.expireAt(b('k'), t0), true)
    assert.equal(keyspace.has(b('k')), false)
    assert.equal(keyspace.stats().expiredKeys, 0, 'an EXPIRE into the past is a delete')
    assert.equal(keyspace.expireAt(b('k'), t0 + 1000), false, 'absent')
    assert.equal(keyspace.expiresAtMs(b('k')), -2)
  })
})

describe('keyspace: active expiry', () => {
  test('keys nobody reads are deleted by the timer', () => {
    const { world, engine, keyspace } = setup({ activeExpiryIntervalMs: 100 })
    assert.equal(world.intervals[0]?.intervalMs, 100)
    for (let i = 0; i < 50; i++) keyspace.set(b(`k${i}`), b('v'), { expiresAtMs: t0 + 1000 + i })
    keyspace.set(b('forever'), b('v'))
    world.tick(500)
    assert.equal(engine.keyCount(), 51)
    world.tick(600)
    assert.equal(engine.keyCount(), 1)
    assert.equal(keyspace.stats().expiredKeys, 50)
    assert.equal(keyspace.stats().keysWithExpiry, 0)
  })

  test('a budget bounds the deletions per cycle; the rest follow in later cycles', () => {
    const { world, engine, keyspace } = setup({ activeExpiryBudget: 100 })
    for (let i = 0; i < 1000; i++) keyspace.set(b(`k${i}`), b('v'), { expiresAtMs: t0 + 10 })
    world.tick(1000)
    assert.equal(engine.keyCount(), 900)
    for (let cycle = 0; cycle < 9; cycle++) world.tick(100)
    assert.equal(engine.keyCount(), 0)
    assert.equal(keyspace.stats().expiredKeys, 1000)
  })

  test('stale wheel entries (re-expired, persisted, overwritten) delete nothing', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('later'), b('v'), { expiresAtMs: t0 + 100 })
    keyspace.expireAt(b('later'), t0 + 10_000)
    keyspace.set(b('persisted'), b('v'), { expiresAtMs: t0 + 100 })
    keyspace.persist(b('persisted'))
    keyspace.set(b('overwritten'), b('v'), { expiresAtMs: t0 + 100 })
    keyspace.set(b('overwritten'), b('w'))
    world.tick(1000)
    assert.equal(engine.keyCount(), 3)
    assert.equal(keyspace.stats().expiredKeys, 0)
    world.tick(10_000)
    assert.deepEqual(texts(keyspace.keys(b('*'))), ['overwritten', 'persisted'])
  })

  test('the wheel is filled from the engine at startup', () => {
    const world = new ManualWorld()
    const engine = new MemoryEngine()
    engine.put(b('old'), b('v'), t0 - 5)
    engine.put(b('soon'), b('v'), t0 + 50)
    engine.put(b('forever'), b('v'), 0)
    const keyspace = createKeyspace({ engine, clock: world, timers: world })
    assert.equal(keyspace.wheelSize(), 2)
    world.tick(100)
    assert.deepEqual(texts(keyspace.keys(b('*'))), ['forever'])
    assert.equal(keyspace.stats().expiredKeys, 2)
  })

  test('a wall clock stepping back does not expire a key early nor lose its entry', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('k'), b('v'), { expiresAtMs: t0 + 1000 })
    world.tick(2000) // the wheel passes the entry's tick...
    assert.equal(engine.keyCount(), 0)
    keyspace.set(b('j'), b('v'), { expiresAtMs: t0 + 2500 })
    world.nowMs = t0 + 500 // ...then time steps back below a new entry's expiry
    world.tick(2100) // now t0 + 2600
    assert.equal(engine.keyCount(), 0, 'j expired once its time really passed')
  })

  test('refreshing TTLs adds no wheel entries; refreshed keys expire at their new time', () => {
    const { world, engine, keyspace } = setup()
    for (let i = 0; i < 100; i++) keyspace.set(b(`s${i}`), b('v'), { expiresAtMs: t0 + 1000 })
    for (let round = 1; round <= 10; round++) {
      for (let i = 0; i < 100; i++) keyspace.expireAt(b(`s${i}`), t0 + 1000 + round * 500)
      keyspace.set(b('s0'), b('v'), { expiresAtMs: t0 + 1000 + round * 500 })
    }
    keyspace.set(b('counter'), b('1'), { expiresAtMs: t0 + 1000 })
    for (let i = 0; i < 50; i++) keyspace.set(b('counter'), b(String(i)), { keepTtl: true })
    assert.equal(keyspace.wheelSize(), 101)
    world.tick(1500) // the first entries fire and move to the keys' current expiry
    assert.equal(engine.keyCount(), 100, 'only counter expired')
    assert.equal(keyspace.wheelSize(), 100)
    world.tick(4000) // t0 + 5500: still before t0 + 6000
    assert.equal(engine.keyCount(), 100)
    world.tick(600)
    assert.equal(engine.keyCount(), 0)
    assert.equal(keyspace.stats().expiredKeys, 101)
  })

  test('shortened TTLs leave stale entries; the wheel is rebuilt once they dominate', () => {
    const { world, keyspace } = setup()
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) {
        keyspace.set(b(`k${i}`), b('v'), { expiresAtMs: t0 + 3_600_000 - round })
      }
    }
    assert.equal(keyspace.wheelSize(), 10_000)
    world.tick(100)
    assert.equal(keyspace.wheelSize(), 500)
    world.tick(3_700_000)
    assert.equal(keyspace.size(), 0)
  })

  test('close stops the timer', () => {
    const { world, keyspace } = setup()
    keyspace.close()
    assert.equal(world.intervals[0]?.cancelled, true)
  })
})

describe('keyspace: key operations', () => {
  test('rename moves the value and its TTL; renamenx refuses a live target', () => {
    const { keyspace } = setup()
    keyspace.set(b('a'), b('1'), { expiresAtMs: t0 + 5000 })
    keyspace.set(b('b'), b('2'))
    assert.equal(keyspace.rename(b('a'), b('b'), { onlyIfAbsent: true }), 'target-exists')
    assert.equal(keyspace.rename(b('a'), b('c'), { onlyIfAbsent: true }), 'done')
    assert.equal(keyspace.has(b('a')), false)
    assert.equal(keyspace.peekExpiresAtMs(b('c')), t0 + 5000)
    assert.equal(keyspace.rename(b('c'), b('b'), { onlyIfAbsent: false }), 'done')
    assert.deepEqual(keyspace.peek(b('b')), b('1'))
    assert.equal(keyspace.rename(b('zz'), b('b'), { onlyIfAbsent: false }), 'no-source')
    assert.equal(keyspace.rename(b('b'), b('b'), { onlyIfAbsent: false }), 'done')
    assert.equal(keyspace.rename(b('b'), b('b'), { onlyIfAbsent: true }), 'target-exists')
    const stats = keyspace.stats()
    assert.equal(stats.keyspaceHits + stats.keyspaceMisses, 0, 'write lookups only')
  })

  test('copy copies the value and its TTL, replacing only when asked', () => {
    const { keyspace } = setup()
    keyspace.set(b('a'), b('1'), { expiresAtMs: t0 + 5000 })
    keyspace.set(b('b'), b('2'))
    assert.equal(keyspace.copy(b('a'), b('b'), { replace: false }), 'target-exists')
    assert.equal(keyspace.copy(b('a'), b('b'), { replace: true }), 'done')
    assert.deepEqual(keyspace.peek(b('b')), b('1'))
    assert.equal(keyspace.peekExpiresAtMs(b('b')), t0 + 5000)
    assert.equal(keyspace.copy(b('zz'), b('b'), { replace: true }), 'no-source')
    assert.equal(keyspace.stats().keyspaceHits, 2, 'the source lookup is a read')
    assert.equal(keyspace.stats().keyspaceMisses, 1)
  })

  test('randomKey skips (and deletes) expired keys; null when empty', () => {
    const { world, keyspace } = setup()
    assert.equal(keyspace.randomKey(), null)
    for (let i = 0; i < 20; i++) keyspace.set(b(`x${i}`), b('v'), { expiresAtMs: t0 + 10 })
    keyspace.set(b('live'), b('v'))
    world.nowMs = t0 + 11
    assert.deepEqual(keyspace.randomKey(), b('live'))
    assert.ok(keyspace.stats().expiredKeys >= 0)
    for (let i = 0; i < 20; i++) keyspace.delete(b(`x${i}`))
    keyspace.delete(b('live'))
    assert.equal(keyspace.randomKey(), null)
  })

  test('flush empties the keyspace and the wheel', () => {
    const { world, keyspace } = setup()
    keyspace.set(b('a'), b('1'), { expiresAtMs: t0 + 50 })
    keyspace.set(b('b'), b('1'))
    keyspace.flush()
    assert.equal(keyspace.size(), 0)
    assert.equal(keyspace.wheelSize(), 0)
    world.tick(100)
    assert.equal(keyspace.stats().expiredKeys, 0)
  })
})

describe('keyspace: scan and keys', () => {
  test('a full scan returns every key exactly once', () => {
    const { keyspace } = setup()
    const expected: string[] = []
    for (let i = 0; i < 1000; i++) {
      keyspace.set(b(`key:${i}`), b('v'))
      expected.push(`key:${i}`)
    }
    const seen: Buffer[] = []
    let cursor = 0
    let calls = 0
    do {
      const page = keyspace.scan(cursor, { match: null, count: 10, type: null })
      seen.push(...page.keys)
      cursor = page.cursor
      calls++
    } while (cursor !== 0)
    assert.deepEqual(texts(seen), expected.sort())
    assert.ok(calls >= 100)
  })

  test('MATCH filters after fetching COUNT slots, so a page may be empty mid-scan', () => {
    const { keyspace } = setup()
    for (let i = 0; i < 100; i++) keyspace.set(b(i === 77 ? 'needle' : `hay${i}`), b('v'))
    const pages: number[] = []
    const found: Buffer[] = []
    let cursor = 0
    do {
      const page = keyspace.scan(cursor, { match: b('need*'), count: 10, type: null })
      pages.push(page.keys.length)
      found.push(...page.keys)
      cursor = page.cursor
    } while (cursor !== 0)
    assert.deepEqual(texts(found), ['needle'])
    assert.ok(pages.length > 2 && pages[0] === 0, 'empty pages with a non-zero cursor')
  })

  test('TYPE filters (counting reads, as Redis); expired keys are dropped and deleted', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('a'), b('1'))
    keyspace.set(b('gone'), b('1'), { expiresAtMs: t0 + 1 })
    world.nowMs = t0 + 2
    const strings = keyspace.scan(0, { match: null, count: 100, type: 'STRING' })
    assert.deepEqual(texts(strings.keys), ['a'])
    assert.equal(engine.has(b('gone')), false)
    assert.equal(keyspace.stats().keyspaceHits, 1)
    const hashes = keyspace.scan(0, { match: null, count: 100, type: 'hash' })
    assert.deepEqual(hashes.keys, [])
  })

  test('KEYS matches a glob, skipping expired keys without deleting them', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('user:1'), b('v'))
    keyspace.set(b('user:2'), b('v'), { expiresAtMs: t0 + 1 })
    keyspace.set(b('order:1'), b('v'))
    world.nowMs = t0 + 2
    assert.deepEqual(texts(keyspace.keys(b('user:*'))), ['user:1'])
    assert.deepEqual(texts(keyspace.keys(b('*'))), ['order:1', 'user:1'])
    assert.equal(engine.has(b('user:2')), true, 'KEYS does not delete')
  })
})

describe('keyspace: model check', () => {
  test('property: reads match a model; active expiry eventually removes every expired key', () => {
    const key = fc.integer({ min: 0, max: 7 }).map((i) => `k${i}`)
    const ttl = fc.integer({ min: -50, max: 3000 })
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key, ttl: fc.option(ttl) }),
      fc.record({ kind: fc.constant('keepttl' as const), key }),
      fc.record({ kind: fc.constant('expire' as const), key, ttl }),
      fc.record({ kind: fc.constant('persist' as const), key }),
      fc.record({ kind: fc.constant('delete' as const), key }),
      fc.record({ kind: fc.constant('get' as const), key }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 700 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.integer({ min: 1, max: 4 }),
        (ops, budget) => {
          const { world, engine, keyspace } = setup({ activeExpiryBudget: budget })
          /** key -> expiresAtMs (0 = none) */
          const model = new Map<string, number>()
          const live = (name: string): boolean => {
            const at = model.get(name)
            if (at === undefined) return false
            if (at !== 0 && world.nowMs > at) model.delete(name)
            return model.has(name)
          }
          for (const o of ops) {
            if (o.kind === 'tick') {
              world.tick(o.ms)
            } else if (o.kind === 'set') {
              const at = o.ttl === null ? 0 : world.nowMs + o.ttl
              keyspace.set(b(o.key), b('v'), { expiresAtMs: at })
              model.set(o.key, at)
            } else if (o.kind === 'keepttl') {
              keyspace.set(b(o.key), b('w'), { keepTtl: true })
              model.set(o.key, live(o.key) ? (model.get(o.key) as number) : 0)
            } else if (o.kind === 'expire') {
              const at = world.nowMs + o.ttl
              assert.equal(keyspace.expireAt(b(o.key), at), live(o.key))
              if (model.has(o.key)) {
                if (at <= world.nowMs) model.delete(o.key)
                else model.set(o.key, at)
              }
            } else if (o.kind === 'persist') {
              const had = live(o.key) && model.get(o.key) !== 0
              assert.equal(keyspace.persist(b(o.key)), had)
              if (had) model.set(o.key, 0)
            } else if (o.kind === 'delete') {
              assert.equal(keyspace.delete(b(o.key)), live(o.key))
              model.delete(o.key)
            } else {
              assert.equal(keyspace.get(b(o.key)) !== null, live(o.key), `get ${o.key}`)
            }
          }
          // Long after every TTL, enough cycles drain the wheel: only persistent keys remain.
          for (let cycle = 0; cycle < 200; cycle++) world.tick(cycle === 0 ? 10_000 : 100)
          const persistent = [...model].filter(([, at]) => at === 0).map(([name]) => name)
          assert.deepEqual(texts(keyspace.keys(b('*'))), persistent.sort())
          assert.equal(engine.keyCount(), persistent.length, 'expired keys were deleted actively')
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('keyspace: a disk that refuses writes (MISCONF)', () => {
  test('expired keys read as absent and active expiry keeps running; they go once writes resume', () => {
    const { world, engine, keyspace } = setup()
    keyspace.set(b('short'), b('v'), { expiresAtMs: t0 + 50 })
    keyspace.set(b('also'), b('v'), { expiresAtMs: t0 + 50 })
    let refusing = true
    const realDelete = engine.delete.bind(engine)
    engine.delete = (key: Buffer): boolean => {
      if (refusing) {
        throw new CaskadeError(ErrorCode.MisConf, 'Errors writing to the AOF file: EIO')
      }
      return realDelete(key)
    }
    world.tick(200)
    assert.equal(keyspace.get(b('short')), null, 'expired reads as absent')
    assert.equal(keyspace.has(b('also')), false)
    assert.equal(engine.keyCount(), 2, 'nothing could be deleted')
    assert.equal(keyspace.stats().expiredKeys, 0)
    refusing = false
    world.tick(1100)
    world.tick(100)
    assert.equal(engine.keyCount(), 0, 'active expiry retried once writes were accepted')
    assert.equal(keyspace.stats().expiredKeys, 2)
    keyspace.close()
  })
})
