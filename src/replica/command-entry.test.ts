/* The log entry and query codec: every entry kind round-trips, and bytes that are not an
 * encoding (garbage, truncation, trailing bytes, a query given as an entry) fail an assertion. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { AssertionError } from '../core/assert.js'
import {
  decodeEntry,
  decodeQuery,
  encodeEntry,
  encodeQuery,
  type CommandEntry,
  type NodeAddress,
} from './command-entry.js'

/** Plain data (fast-check's records have a null prototype; decoded entries do not). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

const arg = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes))
const argv = fc.array(arg, { minLength: 1, maxLength: 5 })
const timeMs = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const protocol = fc.constantFrom(2 as const, 3 as const)
const address: fc.Arbitrary<NodeAddress> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 64 }),
  host: fc.constantFrom('127.0.0.1', '::1', 'node-a.example'),
  port: fc.integer({ min: 1, max: 65535 }),
  clusterPort: fc.integer({ min: 1, max: 65535 }),
})

const entry: fc.Arbitrary<CommandEntry> = fc.oneof(
  fc.record({ kind: fc.constant('command' as const), timeMs, protocol, argv }),
  fc.record({
    kind: fc.constant('exec' as const),
    timeMs,
    protocol,
    watchIndex: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    watched: fc.array(arg, { maxLength: 4 }),
    commands: fc.array(argv, { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('tick' as const), timeMs }),
  fc.record({
    kind: fc.constant('address' as const),
    id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    address,
  }),
)

describe('command entries', () => {
  test('every entry kind decodes to what was encoded', () => {
    fc.assert(
      fc.property(entry, (e) => {
        assert.deepEqual(plain(decodeEntry(encodeEntry(e))), plain(e))
      }),
      { seed: 5, numRuns: 300 },
    )
  })

  test('a query decodes to what was encoded', () => {
    fc.assert(
      fc.property(protocol, argv, (p, a) => {
        assert.deepEqual(decodeQuery(encodeQuery({ protocol: p, argv: a })), {
          protocol: p,
          argv: a,
        })
      }),
      { seed: 6, numRuns: 200 },
    )
  })

  test('a decoded argument is a copy, not a view of the log buffer', () => {
    const bytes = encodeEntry({ kind: 'command', timeMs: 1, protocol: 2, argv: [Buffer.from('x')] })
    const decoded = decodeEntry(bytes)
    bytes.fill(0)
    assert.equal(decoded.kind === 'command' && decoded.argv[0]?.toString(), 'x')
  })

  test('truncated or extended encodings and foreign bytes are invariant failures', () => {
    fc.assert(
      fc.property(entry, fc.integer({ min: 1, max: 8 }), (e, cut) => {
        const bytes = encodeEntry(e)
        assert.throws(() => decodeEntry(bytes.subarray(0, bytes.length - cut)), AssertionError)
        const longer = new Uint8Array(bytes.length + 1)
        longer.set(bytes)
        assert.throws(() => decodeEntry(longer), AssertionError)
      }),
      { seed: 7, numRuns: 200 },
    )
    assert.throws(() => decodeEntry(new Uint8Array([1, 9, 0])), AssertionError)
    const query = encodeQuery({ protocol: 2, argv: [Buffer.from('GET'), Buffer.from('k')] })
    assert.throws(() => decodeEntry(query), AssertionError)
    assert.throws(() => decodeEntry(Buffer.from('{"op":"put"}')), AssertionError)
  })
})
