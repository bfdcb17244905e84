import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createRng } from '../core/rng.js'
import { MemoryEngine } from './memory-engine.js'

const b = (text: string): Buffer => Buffer.from(text)

describe('memory engine', () => {
  test('put, get, expiry, length, delete and stats', () => {
    const engine = new MemoryEngine()
    engine.put(b('a'), b('hello'), 0)
    engine.put(b('b'), b('x'), 1234)
    assert.deepEqual(engine.get(b('a')), b('hello'))
    assert.equal(engine.get(b('zz')), null)
    assert.equal(engine.has(b('b')), true)
    assert.equal(engine.expiresAtMs(b('a')), 0)
    assert.equal(engine.expiresAtMs(b('b')), 1234)
    assert.equal(engine.expiresAtMs(b('zz')), null)
    assert.equal(engine.valueLength(b('a')), 5)
    assert.equal(engine.stats().keysWithExpiry, 1)
    assert.equal(engine.setExpiry(b('a'), 99), true)
    assert.equal(engine.setExpiry(b('zz'), 99), false)
    assert.equal(engine.stats().keysWithExpiry, 2)
    engine.put(b('a'), b('again'), 0)
    assert.equal(engine.stats().keysWithExpiry, 1, 'a put replaces the expiry')
    assert.equal(engine.delete(b('b')), true)
    assert.equal(engine.delete(b('b')), false)
    assert.equal(engine.keyCount(), 1)
    assert.equal(engine.stats().keysWithExpiry, 0)
    engine.clear()
    assert.equal(engine.keyCount(), 0)
    assert.equal(engine.hasUndurableWrites(), false)
  })

  test('returned buffers are the caller’s: mutating them changes nothing stored', () => {
    const engine = new MemoryEngine()
    const value = b('value')
    engine.put(b('k'), value, 0)
    value.fill(0)
    const read = engine.get(b('k'))
    assert.deepEqual(read, b('value'))
    read?.fill(0)
    assert.deepEqual(engine.get(b('k')), b('value'))
  })

  test('binary keys (any byte) round-trip', () => {
    const engine = new MemoryEngine()
    const key = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80])
    engine.put(key, b('v'), 0)
    assert.deepEqual(engine.scan(0, 10).keys, [key])
    assert.deepEqual(
      engine.randomKey(() => 0),
      key,
    )
  })

  test('forEachExpiring visits exactly the keys with an expiry', () => {
    const engine = new MemoryEngine()
    engine.put(b('a'), b('v'), 0)
    engine.put(b('b'), b('v'), 10)
    engine.put(b('c'), b('v'), 20)
    const seen: Array<[string, number]> = []
    engine.forEachExpiring((key, expiresAtMs) => seen.push([key.toString(), expiresAtMs]))
    assert.deepEqual(seen, [
      ['b', 10],
      ['c', 20],
    ])
  })

  test('randomKey finds the one live key among many freed slots', () => {
    const engine = new MemoryEngine()
    for (let i = 0; i < 1000; i++) engine.put(b(`k${i}`), b('v'), 0)
    for (let i = 0; i < 1000; i++) if (i !== 567) engine.delete(b(`k${i}`))
    const rng = createRng(7)
    for (let i = 0; i < 20; i++)
      assert.deepEqual(
        engine.randomKey((n) => rng.int(n)),
        b('k567'),
      )
    engine.delete(b('k567'))
    assert.equal(
      engine.randomKey((n) => rng.int(n)),
      null,
    )
  })

  test('property: SCAN returns every key present for the whole scan, despite churn', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 200 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 150 }),
        fc.array(fc.array(operation, { maxLength: 5 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        (initial, churnPerCall, count) => {
          const engine = new MemoryEngine()
          for (const key of initial) engine.put(b(`k${key}`), b('v'), 0)
          const touched = new Set<string>()
          const seen = new Set<string>()
          let cursor = 0
          let call = 0
          do {
            const page = engine.scan(cursor, count)
            assert.ok(page.keys.length <= count)
            for (const key of page.keys) seen.add(key.toString())
            cursor = page.cursor
            for (const op of churnPerCall[call++] ?? []) {
              touched.add(`k${op.key}`)
              if (op.kind === 'put') engine.put(b(`k${op.key}`), b('v'), 0)
              else engine.delete(b(`k${op.key}`))
            }
          } while (cursor !== 0)
          for (const key of new Set(initial.map((key) => `k${key}`))) {
            if (!touched.has(key)) assert.ok(seen.has(key), `${key} was present throughout`)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
