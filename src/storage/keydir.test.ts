/* Keydir: slots, free list, expiry counts, SCAN's guarantee under churn (fast-check), random
 * sampling, the inline small-value cache (through overwrites, removal, slot reuse and arena
 * compaction), and the keyed hash: seeds move keys, and FNV-crafted collisions do not pile up. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Keydir, inlineValueBytesMax, type KeydirEntry } from './keydir.js'

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1')
const inlineOf = (keydir: Keydir, key: string): string | null =>
  keydir.inlineValueAt(keydir.slotOf(key))?.toString('latin1') ?? null

const entry = (seq: number, expiresAtMs = 0): KeydirEntry => ({
  segmentId: 1 + (seq % 3),
  offset: seq * 100,
  size: 60 + (seq % 7),
  expiresAtMs,
  seq,
})

function scanAll(keydir: Keydir, count: number): string[] {
  const keys: string[] = []
  let cursor = 0
  do {
    cursor = keydir.scan(cursor, count, (slot) => keys.push(keydir.keyAt(slot)!))
  } while (cursor !== 0)
  return keys
}

/** The keydir's former, unkeyed hash: FNV-1a 32-bit. */
function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193)
  return hash >>> 0
}

/**
 * An attacker's keys for FNV-1a: FNV's low bits depend only on lower bits of the state, so the
 * low 16 bits of 'x' + three bytes collide for ~256 of the 2^24 suffixes; any table of up to
 * 65536 cells puts them all in one home cell.
 */
function fnvFloodKeys(): string[] {
  const keys: string[] = []
  const bytes = Buffer.from('x\0\0\0', 'latin1')
  const target = fnv1a(bytes) & 0xffff
  for (let suffix = 0; suffix < 1 << 24; suffix++) {
    bytes[1] = suffix >>> 16
    bytes[2] = (suffix >>> 8) & 0xff
    bytes[3] = suffix & 0xff
    if ((fnv1a(bytes) & 0xffff) === target) keys.push(bytes.toString('latin1'))
  }
  return keys
}

describe('keydir', () => {
  test('set, overwrite, read fields and remove', () => {
    const keydir = new Keydir()
    const slot = keydir.set('a', entry(1))
    assert.equal(keydir.slotOf('a'), slot)
    assert.equal(keydir.set('a', entry(2, 99)), slot, 'an overwrite keeps the slot')
    assert.equal(keydir.seqAt(slot), 2)
    assert.equal(keydir.offsetAt(slot), 200)
    assert.equal(keydir.sizeAt(slot), 62)
    assert.equal(keydir.segmentIdAt(slot), 3)
    assert.equal(keydir.expiresAtMsAt(slot), 99)
    assert.equal(keydir.expiringCount, 1)
    keydir.relocateAt(slot, 9, 4242)
    assert.deepEqual([keydir.segmentIdAt(slot), keydir.offsetAt(slot)], [9, 4242])
    assert.equal(keydir.remove('a'), true)
    assert.equal(keydir.remove('a'), false)
    assert.equal(keydir.slotOf('a'), -1)
    assert.equal(keydir.size, 0)
    assert.equal(keydir.expiringCount, 0)
  })

  test('freed slots are reused and the arrays grow past their initial size', () => {
    const keydir = new Keydir()
    for (let i = 0; i < 5000; i++) keydir.set(`k${i}`, entry(i))
    assert.equal(keydir.size, 5000)
    assert.equal(keydir.slotHighWater, 5000)
    const freed = keydir.slotOf('k10')
    keydir.remove('k10')
    assert.equal(keydir.set('new', entry(1)), freed)
    assert.equal(keydir.slotHighWater, 5000)
    for (let i = 0; i < 5000; i += 997) assert.equal(keydir.seqAt(keydir.slotOf(`k${i}`)), i)
  })

  test('expiring count follows sets, overwrites, tombstones and removals', () => {
    const keydir = new Keydir()
    keydir.set('a', entry(1, 10))
    keydir.set('b', entry(2, 20))
    keydir.set('a', entry(3, 0))
    keydir.set('c', entry(4, 30), true)
    assert.equal(keydir.expiringCount, 1)
    keydir.set('c', entry(5, 30))
    assert.equal(keydir.expiringCount, 2)
    keydir.remove('b')
    keydir.removeAt(keydir.slotOf('c'))
    assert.equal(keydir.expiringCount, 0)
    assert.equal(keydir.isTombstoneAt(keydir.slotOf('a')), false)
  })

  test('a full scan returns every key once, with any count', () => {
    const keydir = new Keydir()
    for (let i = 0; i < 300; i++) keydir.set(`k${i}`, entry(i))
    for (let i = 0; i < 300; i += 4) keydir.remove(`k${i}`)
    for (const count of [1, 7, 10, 1000]) {
      const keys = scanAll(keydir, count)
      assert.equal(keys.length, 225)
      assert.equal(new Set(keys).size, 225)
    }
    assert.equal(
      new Keydir().scan(0, 10, () => assert.fail('empty')),
      0,
    )
  })

  test('SCAN guarantee: keys present throughout are returned despite churn', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 })), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (churn, count) => {
          const keydir = new Keydir()
          for (let i = 0; i < 40; i++) keydir.set(`stable${i}`, entry(i))
          for (let i = 0; i < 30; i++) keydir.set(`churn${i}`, entry(i))
          const seen = new Set<string>()
          let cursor = 0
          let step = 0
          do {
            cursor = keydir.scan(cursor, count, (slot) => seen.add(keydir.keyAt(slot)!))
            for (let k = 0; k < 3 && step < churn.length; k++, step++) {
              const [add, n] = churn[step]!
              if (add) keydir.set(`churn${n}`, entry(n))
              else keydir.remove(`churn${n}`)
            }
          } while (cursor !== 0)
          for (let i = 0; i < 40; i++) assert.ok(seen.has(`stable${i}`))
        },
      ),
    )
  })

  test('randomSlot returns occupied slots, also when sparse, and -1 when empty', () => {
    const keydir = new Keydir()
    assert.equal(
      keydir.randomSlot(() => 0),
      -1,
    )
    for (let i = 0; i < 1000; i++) keydir.set(`k${i}`, entry(i))
    for (let i = 0; i < 999; i++) keydir.remove(`k${i}`)
    let draws = 0
    const slot = keydir.randomSlot((bound) => (draws++ * 7919) % bound)
    assert.equal(keydir.keyAt(slot), 'k999')
    const counts = new Map<string, number>()
    const full = new Keydir()
    for (let i = 0; i < 10; i++) full.set(`k${i}`, entry(i))
    let state = 3
    for (let i = 0; i < 2000; i++) {
      const picked = full.randomSlot((bound) => {
        state = (state * 48271) % 2147483647
        return state % bound
      })
      const key = full.keyAt(picked)!
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    assert.equal(counts.size, 10)
    for (const seen of counts.values()) assert.ok(seen > 100, 'roughly uniform')
  })

  test('clear drops everything', () => {
    const keydir = new Keydir()
    for (let i = 0; i < 2000; i++) keydir.set(`k${i}`, entry(i, i))
    keydir.clear()
    assert.equal(keydir.size, 0)
    assert.equal(keydir.expiringCount, 0)
    assert.equal(keydir.slotHighWater, 0)
    assert.equal(keydir.slotOf('k5'), -1)
  })

  test('agrees with a Map model: growth, removal, inline values, arena compaction', () => {
    // A value length of -1 sets without a value; lengths above 16 are not cached.
    const op = fc.tuple(
      fc.boolean(),
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: -1, max: inlineValueBytesMax + 4 }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 6000 }), (ops) => {
        const keydir = new Keydir()
        const model = new Map<string, { seq: number; inline: string | null }>()
        // Long keys make removals leave enough dead arena bytes to force compactions.
        const keyOf = (id: number): string => `key:${id}:`.padEnd(40 + (id % 50), 'x')
        ops.forEach(([insert, id, valueLength], seq) => {
          const key = keyOf(id)
          if (insert) {
            const value = valueLength < 0 ? null : String(seq % 10).repeat(valueLength)
            keydir.set(key, entry(seq + 1), false, value === null ? null : bytes(value))
            const inline = value !== null && value.length <= inlineValueBytesMax ? value : null
            model.set(key, { seq: seq + 1, inline })
          } else {
            assert.equal(keydir.remove(key), model.delete(key))
          }
        })
        assert.equal(keydir.size, model.size)
        for (const [key, { seq, inline }] of model) {
          const slot = keydir.slotOfBytes(Buffer.from(key, 'latin1'))
          assert.ok(slot >= 0, `${key} is present`)
          assert.equal(keydir.keyAt(slot), key)
          assert.equal(keydir.seqAt(slot), seq)
          assert.equal(keydir.inlineValueAt(slot)?.toString('latin1') ?? null, inline)
        }
        for (let id = 0; id <= 3000; id += 7) {
          if (!model.has(keyOf(id))) assert.equal(keydir.slotOf(keyOf(id)), -1)
        }
      }),
      { numRuns: 30 },
    )
  })

  test('small values are cached inline; big values, tombstones, value-less sets drop them', () => {
    const keydir = new Keydir()
    assert.equal(inlineValueBytesMax, 16)
    const slot = keydir.set('a', entry(1), false, bytes('123'))
    assert.equal(inlineOf(keydir, 'a'), '123')
    assert.equal(keydir.inlineValueLengthAt(slot), 3)
    const copy = keydir.inlineValueAt(slot)!
    copy.fill(0)
    assert.equal(inlineOf(keydir, 'a'), '123', 'the caller owns the returned copy')
    keydir.set('a', entry(2), false, bytes('x'.repeat(16)))
    assert.equal(inlineOf(keydir, 'a'), 'x'.repeat(16))
    keydir.set('a', entry(3), false, bytes('y'.repeat(17)))
    assert.equal(inlineOf(keydir, 'a'), null, 'a big overwrite drops the inline copy')
    keydir.set('a', entry(4), false, bytes(''))
    assert.equal(inlineOf(keydir, 'a'), '', 'an empty value is cached too')
    keydir.set('a', entry(5), false, bytes('55'))
    keydir.relocateAt(slot, 7, 777)
    assert.equal(inlineOf(keydir, 'a'), '55', 'relocation keeps the value')
    keydir.set('a', entry(6))
    assert.equal(inlineOf(keydir, 'a'), null, 'a set without a value drops it')
    keydir.set('a', entry(7), false, bytes('7'))
    keydir.set('a', entry(8), true, bytes('8'))
    assert.equal(inlineOf(keydir, 'a'), null, 'tombstones cache nothing')
    keydir.set('t', entry(9), true, bytes('9'))
    assert.equal(inlineOf(keydir, 't'), null)
    assert.equal(keydir.keyAt(slot), 'a')
  })

  test("a freed slot never returns the previous key's inline value; clear drops them", () => {
    const keydir = new Keydir()
    const slot = keydir.set('old', entry(1), false, bytes('stale'))
    keydir.remove('old')
    assert.equal(keydir.set('new', entry(2)), slot)
    assert.equal(keydir.inlineValueAt(slot), null)
    keydir.remove('new')
    assert.equal(keydir.set('newer', entry(3), false, bytes('fresh!')), slot)
    assert.equal(inlineOf(keydir, 'newer'), 'fresh!')
    keydir.clear()
    assert.equal(keydir.set('again', entry(4)), 0)
    assert.equal(keydir.inlineValueAt(0), null)
  })

  test('arena compaction and growth carry inline values and keys', () => {
    const keydir = new Keydir()
    const valueOf = (i: number): string => `v${i}`.padEnd(1 + (i % 16), '.')
    for (let i = 0; i < 20000; i++)
      keydir.set(`key:${i}:`.padEnd(30, 'k'), entry(i), false, bytes(valueOf(i)))
    // Removals past the dead-byte threshold compact the arena; growing values move entries.
    for (let i = 0; i < 20000; i += 2) keydir.remove(`key:${i}:`.padEnd(30, 'k'))
    for (let i = 1; i < 20000; i += 4)
      keydir.set(`key:${i}:`.padEnd(30, 'k'), entry(i), false, bytes('z'.repeat(16)))
    for (let i = 0; i < 20000; i++) {
      const key = `key:${i}:`.padEnd(30, 'k')
      if (i % 2 === 0) assert.equal(keydir.slotOf(key), -1)
      else assert.equal(inlineOf(keydir, key), i % 4 === 1 ? 'z'.repeat(16) : valueOf(i))
      if (i % 2 === 1) assert.equal(keydir.keyAt(keydir.slotOf(key)), key)
    }
  })

  test('the same keys under two seeds land in different cells', () => {
    const first = new Keydir([1, 2])
    const second = new Keydir([0x9e3779b9, 0x7f4a7c15])
    const keys = Array.from({ length: 500 }, (_, index) => `key:${index}`)
    for (const [index, key] of keys.entries()) {
      first.set(key, entry(index + 1))
      second.set(key, entry(index + 1))
    }
    const moved = keys.filter((key) => first.tableCellOf(key) !== second.tableCellOf(key))
    assert.ok(moved.length > keys.length * 0.9, `${moved.length} of ${keys.length} moved`)
    assert.deepEqual(scanAll(first, 50).sort(), scanAll(second, 50).sort())
  })

  test('keys crafted to collide under FNV-1a spread out under the keyed hash', () => {
    const keys = fnvFloodKeys()
    assert.ok(keys.length >= 128, `crafted ${keys.length} keys`)
    const fnvHomes = new Set(keys.map((key) => fnv1a(Buffer.from(key, 'latin1')) & 0xffff))
    assert.equal(fnvHomes.size, 1, 'the premise: one home cell under FNV-1a')
    const keydir = new Keydir([0x0badc0de, 0x5eed])
    for (const [index, key] of keys.entries()) keydir.set(key, entry(index + 1))
    const cells = new Set(keys.map((key) => keydir.tableCellOf(key)))
    assert.ok(cells.size === keys.length && !cells.has(-1), 'every key is in its own cell')
    const probesMax = Math.max(...keys.map((key) => keydir.probeCountOf(key)))
    // FNV-1a would need keys.length probes for the last key; a uniform hash a handful.
    assert.ok(probesMax <= 12, `longest probe run ${probesMax} cells`)
    for (const [index, key] of keys.entries())
      assert.equal(keydir.seqAt(keydir.slotOf(key)), index + 1)
  })
})
