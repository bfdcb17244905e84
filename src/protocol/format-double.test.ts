/* Tests for Redis number formatting: "%.17g" doubles (ties to even) and x87 long doubles for
 * INCRBYFLOAT, against texts recorded from glibc printf and redis-server 7.0.15. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  addLongDouble,
  formatDouble,
  formatLongDouble,
  isFiniteLongDouble,
  parseLongDouble,
  type LongDouble,
} from './format-double.js'

describe('formatDouble ("%.17g", as Redis 7.0 replies with doubles)', () => {
  // Expected texts are glibc printf("%.17g") output; ZSCORE on redis-server 7.0.15 agrees.
  const golden: Array<[number, string]> = [
    [1.5, '1.5'],
    [0.1, '0.10000000000000001'],
    [1e20, '1e+20'],
    [100, '100'],
    [0, '0'],
    [-0, '-0'],
    [-2.5, '-2.5'],
    [1e-5, '1.0000000000000001e-05'],
    [0.5e-4, '5.0000000000000002e-05'],
    [0.0001, '0.0001'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [1e17 - 1, '1e+17'], // 99999999999999999 is not a double: it rounds to 1e17,
    [123456789.123, '123456789.123'],
    [5e-324, '4.9406564584124654e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2 ** 53 + 2, '9007199254740994'],
    [1 / 3, '0.33333333333333331'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ]
  for (const [value, text] of golden) {
    test(`${value} -> ${text}`, () => assert.equal(formatDouble(value), text))
  }

  test('an exact tie between two 17-digit decimals rounds to even, as glibc does', () => {
    // JS's toPrecision would print ...63 for these: it rounds ties up.
    assert.equal(formatDouble(123456789012345.625), '123456789012345.62')
    assert.equal(formatDouble(438890950498.390625), '438890950498.39062')
    assert.equal(formatDouble(5077637158024.53125), '5077637158024.5312')
    assert.equal(formatDouble(-15512737273646.8125), '-15512737273646.812')
    assert.equal(formatDouble(132961432858.265625), '132961432858.26562')
  })

  test('17 significant digits always read back as the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        assert.ok(Object.is(Number(formatDouble(value)), value))
      }),
      { numRuns: 2000 },
    )
  })
})

const parse = (text: string): LongDouble => {
  const value = parseLongDouble(text)
  assert.ok(value !== null, `${text} parses`)
  return value
}
/** What INCRBYFLOAT replies for `current` incremented by `increment`, or its error. */
function incrByFloat(current: string, increment: string): string {
  const value = parseLongDouble(current)
  const incr = parseLongDouble(increment)
  if (value === null || incr === null) return 'not a valid float'
  const sum = addLongDouble(value, incr)
  return isFiniteLongDouble(sum) ? formatLongDouble(sum) : 'NaN or Infinity'
}

describe('long doubles (INCRBYFLOAT, HINCRBYFLOAT)', () => {
  // Each expectation was checked with INCRBYFLOAT on redis-server 7.0.15 (x86-64, 80-bit).
  const golden: Array<[string, string, string]> = [
    ['0', '0.1', '0.1'],
    ['0.1', '0.2', '0.3'],
    ['10.5', '0.1', '10.6'],
    ['5.0e3', '2.0e2', '5200'],
    ['0', '3.0e3', '3000'],
    ['0', '1000.1', '1000.09999999999999998'],
    ['0', '1e20', '100000000000000000000'],
    ['0', '0x10', '16'],
    ['0', 'inf', 'NaN or Infinity'],
    ['0', '1e-20', '0'],
    ['0', '-1e-20', '0'],
    ['5200', '1e-4940', '5200'],
    ['5200', '1e-5000', 'not a valid float'],
    ['5200', ' 1', 'not a valid float'],
    ['1e4932', '1e4932', 'NaN or Infinity'],
  ]
  for (const [current, increment, reply] of golden) {
    test(`${current} + ${increment} -> ${reply}`, () => {
      assert.equal(incrByFloat(current, increment), reply)
    })
  }

  test('1.5e300 prints every integer digit of the 80-bit value', () => {
    const expected = [
      '15000000000000000000498001098614721663623792391186739285512197182489735299298127',
      '08792854310575830930686530644566050229406926646739311017606984258288377434143937',
      '60277819671066123465594419577083851326884682615020541863299554727187482707293623',
      '0594920013241190363994471886080567336615911694509046614720512',
    ].join('')
    assert.equal(incrByFloat('0', '1.5e300'), expected)
  })

  test('parseLongDouble accepts what strtold accepts in full, and nothing else', () => {
    const accepted = [
      '1',
      '-1',
      '+1',
      '1.',
      '.5',
      '1e5',
      '1E+5',
      '1e-5',
      '0x1p3',
      '0X.8',
      '-0x1.8P1',
    ]
    for (const text of [...accepted, 'inf', '-Infinity', 'INF', '0', '-0', '0e99999999999']) {
      assert.ok(parseLongDouble(text) !== null, text)
    }
    const refused = ['', ' 1', '1 ', '1e', '1e+', '.', 'e5', '0x', '0xg', '0x1p', 'nan', '-nan']
    for (const text of [
      ...refused,
      'infin',
      '1,5',
      '1e99999',
      '1e-99999',
      '1.2e4932',
      '1.8e-4951',
    ]) {
      assert.equal(parseLongDouble(text), null, text)
    }
    assert.ok(parseLongDouble('1.5e4931') !== null, 'near the top of the range')
    assert.ok(parseLongDouble('3.6e-4951') !== null, 'the smallest subnormal')
    assert.ok(parseLongDouble('1.83e-4951') !== null, 'rounds up to the smallest subnormal')
    assert.equal(parseLongDouble('x'.repeat(5120)), null, 'MAX_LONG_DOUBLE_CHARS')
  })

  test('a NUL byte anywhere makes the text invalid, as in Redis', () => {
    assert.equal(parseLongDouble('2.5\0junk'), null)
    assert.equal(parseLongDouble(Buffer.from([0x31, 0x00])), null)
    assert.equal(parseLongDouble('\0'), null)
  })

  test('addition rounds once, to 64 significant bits', () => {
    assert.equal(formatLongDouble(addLongDouble(parse('1'), parse('1e-19'))), '1')
    const sum = addLongDouble(parse('18446744073709551615'), parse('1'))
    assert.equal(formatLongDouble(sum), '18446744073709551616')
    assert.equal(formatLongDouble(addLongDouble(parse('0.1'), parse('-0.1'))), '0')
    assert.equal(isFiniteLongDouble(addLongDouble(parse('inf'), parse('-inf'))), false)
  })

  test('a JS number is formatted as the decimal it prints as', () => {
    assert.equal(formatLongDouble(0.1), '0.1')
    assert.equal(formatLongDouble(10.5), '10.5')
    assert.equal(formatLongDouble(3.0e3), '3000')
    assert.equal(formatLongDouble(5.0e3 + 2.0e2), '5200')
    assert.equal(formatLongDouble(-0), '0')
    assert.equal(formatLongDouble(1e21), '1000000000000000000000')
    assert.equal(formatLongDouble(Infinity), 'inf')
  })

  test('integers up to 2^64 survive parse, add and format exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
        fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
        (a, b) => {
          const sum = addLongDouble(parse(a.toString()), parse(b.toString()))
          assert.equal(formatLongDouble(sum), (a + b).toString())
        },
      ),
    )
  })

  test('short decimals below 100 print back as typed (17 places on 64 bits)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -99, max: 99 }),
        fc.stringMatching(/^[0-9]{0,6}$/),
        (whole, fraction) => {
          const text = `${whole}.${fraction}`
          const trimmed = fraction.replace(/0+$/, '')
          const expected = trimmed.length > 0 ? `${whole}.${trimmed}` : String(whole)
          assert.equal(formatLongDouble(parse(text)), expected)
        },
      ),
    )
  })
})
