/* Number formatting exactly as Redis 7.0 prints it: doubles in replies ("%.17g", ties to even on
 * the exact binary value, like glibc) and the x87 80-bit long doubles of INCRBYFLOAT and
 * HINCRBYFLOAT (strtold, one rounded addition, "%.17Lf" minus trailing zeros). Why: clients and
 * Redis's own tests compare these strings byte for byte, and JS's own rounding differs. */
import { assert } from '../core/assert.js'

/** Significant digits of "%.17g". */
const gPrecision = 17
/** A double can only sit exactly halfway between two 17-digit decimals if it is a multiple of
 * 2^-25 (5^26 already has 19 digits), so only those need the exact (BigInt) check. */
const tieScale = 2 ** 25
const tieScaleBits = 25n

/** The 17 significant digits of |value| and the decimal exponent of the first one. */
interface Digits17 {
  digits: string
  exponent: number
}

function digits17(magnitude: number): Digits17 {
  const text = magnitude.toExponential(gPrecision - 1)
  const ePos = text.indexOf('e')
  const rounded: Digits17 = {
    digits: text[0] + text.slice(2, ePos),
    exponent: Number(text.slice(ePos + 1)),
  }
  // A tie rounded up to an even digit is already what glibc prints.
  const lastDigit = rounded.digits.charCodeAt(gPrecision - 1) - 0x30
  if (lastDigit % 2 === 0 || !Number.isInteger(magnitude * tieScale)) return rounded
  return halfEvenTie(magnitude) ?? rounded
}

/** toExponential rounds an exact tie up; glibc rounds it to even. Returns the even neighbour
 * when `magnitude` is exactly halfway between two 17-digit decimals, else null. */
function halfEvenTie(magnitude: number): Digits17 | null {
  // magnitude * 2^25 is an integer N, so magnitude = N * 5^25 / 10^25 exactly.
  const exact = (BigInt(magnitude * tieScale) * 5n ** tieScaleBits).toString()
  const significant = exact.replace(/0+$/, '')
  if (significant.length !== gPrecision + 1 || !significant.endsWith('5')) return null
  let kept = BigInt(significant.slice(0, gPrecision))
  if (kept % 2n === 1n) kept += 1n
  let exponent = exact.length - 1 - Number(tieScaleBits)
  let digits = kept.toString()
  if (digits.length > gPrecision) {
    digits = digits.slice(0, gPrecision)
    exponent++
  }
  return { digits, exponent }
}

function stripFractionZeros(text: string): string {
  if (!text.includes('.')) return text
  let end = text.length
  while (text.charCodeAt(end - 1) === 0x30) end--
  if (text.charCodeAt(end - 1) === 0x2e) end--
  return text.slice(0, end)
}

/** A double as Redis 7.0 replies with it: printf "%.17g", and "inf", "-inf", "nan". */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan'
  if (value === Infinity) return 'inf'
  if (value === -Infinity) return '-inf'
  if (Number.isSafeInteger(value)) return Object.is(value, -0) ? '-0' : String(value)
  const sign = value < 0 ? '-' : ''
  const { digits, exponent } = digits17(Math.abs(value))
  if (exponent < -4 || exponent >= gPrecision) {
    const mantissa = stripFractionZeros(`${digits[0]}.${digits.slice(1)}`)
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0')
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${exponentDigits}`
  }
  if (exponent < 0) return `${sign}${stripFractionZeros(`0.${'0'.repeat(-exponent - 1)}${digits}`)}`
  const fixed = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
  return `${sign}${stripFractionZeros(fixed)}`
}

// ---- x87 80-bit extended precision (long double on x86-64 Linux, where Redis runs) ----

/** Bits in the significand, the integer bit included. */
const significandBits = 64
const significandMin = 1n << 63n
const significandLimit = 1n << 64n
/** Binary exponent of the lowest significand bit: subnormals bottom out at 2^-16445, and a
 * value of 2^16384 or more is infinite. */
const lsbExponentMin = -16445
const lsbExponentMax = 16384 - significandBits
/** Redis MAX_LONG_DOUBLE_CHARS: string2ld refuses texts this long or longer. */
const longDoubleTextBytesMax = 5 * 1024 - 1
/** Decimal exponents beyond these certainly overflow or underflow to zero, so the exact
 * arithmetic never builds numbers bigger than about 10^10000. */
const decimalExponentOverflow = 4933
const decimalExponentUnderflow = -4952
/** Exponents saturate here while being read; far outside every range above. */
const exponentTextSaturation = 1e9

/**
 * An x87 extended-precision value: `significand × 2^exponent` (significand < 2^64, 0 for zero),
 * or an infinity or NaN. Immutable; produce them with parseLongDouble and addLongDouble.
 */
export interface LongDouble {
  readonly kind: 'finite' | 'infinite' | 'nan'
  readonly negative: boolean
  readonly significand: bigint
  readonly exponent: number
}

const longDoubleNan: LongDouble = { kind: 'nan', negative: false, significand: 0n, exponent: 0 }

function infinite(negative: boolean): LongDouble {
  return { kind: 'infinite', negative, significand: 0n, exponent: 0 }
}

function zero(negative: boolean): LongDouble {
  return { kind: 'finite', negative, significand: 0n, exponent: 0 }
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length
}

/** Rounds numerator / denominator × 2^binaryExponent to the nearest LongDouble, ties to even,
 * with gradual underflow and overflow to infinity, as the x87 does in round-to-nearest. */
function roundToLongDouble(options: {
  negative: boolean
  numerator: bigint
  denominator: bigint
  binaryExponent: number
}): LongDouble {
  const { negative, numerator, denominator, binaryExponent } = options
  if (numerator === 0n) return zero(negative)
  // Choose the scale so the quotient has 64 bits (or fewer for a subnormal).
  let shift = significandBits - (bitLength(numerator) - bitLength(denominator))
  const quotientAt = (bits: number): bigint =>
    bits >= 0
      ? (numerator << BigInt(bits)) / denominator
      : numerator / (denominator << BigInt(-bits))
  const estimate = quotientAt(shift)
  if (estimate >= significandLimit) shift--
  else if (estimate < significandMin) shift++
  shift = Math.min(shift, binaryExponent - lsbExponentMin)
  const scaledNumerator = shift >= 0 ? numerator << BigInt(shift) : numerator
  const scaledDenominator = shift >= 0 ? denominator : denominator << BigInt(-shift)
  let significand = scaledNumerator / scaledDenominator
  const twiceRemainder = (scaledNumerator - significand * scaledDenominator) * 2n
  if (twiceRemainder > scaledDenominator) significand++
  else if (twiceRemainder === scaledDenominator && significand % 2n === 1n) significand++
  let exponent = binaryExponent - shift
  if (significand === significandLimit) {
    significand = significandMin
    exponent++
  }
  if (exponent > lsbExponentMax) return infinite(negative)
  return significand === 0n ? zero(negative) : { kind: 'finite', negative, significand, exponent }
}

const decimalPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/
const hexPattern = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/
const infinityPattern = /^([+-]?)(?:inf|infinity)$/i

function readExponent(text: string | undefined): number {
  if (text === undefined) return 0
  const value = Number(text)
  return Math.max(-exponentTextSaturation, Math.min(exponentTextSaturation, value))
}

/** Redis's string2ld refuses overflow and underflow to zero (strtold's ERANGE cases). */
function inRange(value: LongDouble): LongDouble | null {
  return value.kind === 'infinite' || value.significand === 0n ? null : value
}

/** Null if the text has no digits or the value is out of range. */
function parseDecimal(match: RegExpExecArray): LongDouble | null {
  const negative = match[1] === '-'
  const whole = match[2] ?? ''
  const fraction = match[3] ?? ''
  if (whole.length + fraction.length === 0) return null
  const digits = (whole + fraction).replace(/^0+/, '')
  if (digits.length === 0) return zero(negative)
  const decimalExponent = readExponent(match[4]) - fraction.length
  const magnitude = digits.length + decimalExponent // value < 10^magnitude
  if (magnitude - 1 >= decimalExponentOverflow || magnitude < decimalExponentUnderflow) return null
  const mantissa = BigInt(digits)
  const power = 10n ** BigInt(Math.abs(decimalExponent))
  const value = roundToLongDouble({
    negative,
    numerator: decimalExponent >= 0 ? mantissa * power : mantissa,
    denominator: decimalExponent >= 0 ? 1n : power,
    binaryExponent: 0,
  })
  return inRange(value)
}

/** Null if the text has no digits or the value is out of range. */
function parseHex(match: RegExpExecArray): LongDouble | null {
  const negative = match[1] === '-'
  const whole = match[2] ?? ''
  const fraction = match[3] ?? ''
  if (whole.length + fraction.length === 0) return null
  const mantissa = BigInt(`0x${whole}${fraction}`)
  if (mantissa === 0n) return zero(negative)
  const binaryExponent = readExponent(match[4]) - 4 * fraction.length
  const topBit = bitLength(mantissa) + binaryExponent // value < 2^topBit
  if (topBit - 1 >= 16384 || topBit < lsbExponentMin - 1) return null
  return inRange(
    roundToLongDouble({ negative, numerator: mantissa, denominator: 1n, binaryExponent }),
  )
}

/**
 * Parses a float the way Redis's string2ld does (strtold, then refusing leading space, trailing
 * garbage, NaN, overflow, and underflow to zero); null where Redis replies "not a valid float".
 * Accepts decimal, hex ("0x1.8p3") and "inf"/"infinity" with a sign; a NUL byte anywhere makes
 * the text invalid (checked on redis-server 7.0.15).
 */
export function parseLongDouble(input: Buffer | string): LongDouble | null {
  const text = typeof input === 'string' ? input : input.toString('latin1')
  if (text.length === 0 || text.length > longDoubleTextBytesMax) return null
  // strtold stops at a NUL, and Redis then refuses the text because it was not all consumed.
  if (text.includes('\0')) return null
  const infinity = infinityPattern.exec(text)
  if (infinity !== null) return infinite(infinity[1] === '-')
  const hex = hexPattern.exec(text)
  const decimal = hex === null ? decimalPattern.exec(text) : null
  if (hex !== null) return parseHex(hex)
  return decimal !== null ? parseDecimal(decimal) : null
}

/** a + b rounded once to extended precision, as `long double` addition does. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.kind === 'nan' || b.kind === 'nan') return longDoubleNan
  if (a.kind === 'infinite' || b.kind === 'infinite') {
    if (a.kind === 'infinite' && b.kind === 'infinite' && a.negative !== b.negative) {
      return longDoubleNan
    }
    return a.kind === 'infinite' ? a : b
  }
  if (a.significand === 0n && b.significand === 0n) return zero(a.negative && b.negative)
  if (a.significand === 0n) return b
  if (b.significand === 0n) return a
  const exponent = Math.min(a.exponent, b.exponent)
  const scaled = (x: LongDouble): bigint => {
    const magnitude = x.significand << BigInt(x.exponent - exponent)
    return x.negative ? -magnitude : magnitude
  }
  const sum = scaled(a) + scaled(b)
  // An exact zero sum is +0 in round-to-nearest.
  if (sum === 0n) return zero(false)
  return roundToLongDouble({
    negative: sum < 0n,
    numerator: sum < 0n ? -sum : sum,
    denominator: 1n,
    binaryExponent: exponent,
  })
}

export function isFiniteLongDouble(value: LongDouble): boolean {
  return value.kind === 'finite'
}

/** The exact decimal of a finite value rounded to 17 places, ties to even ("%.17Lf"). */
function fixed17(value: LongDouble): string {
  const scale = 10n ** 17n
  let units: bigint
  if (value.exponent >= 0) {
    units = (value.significand << BigInt(value.exponent)) * scale
  } else {
    const numerator = value.significand * scale
    const denominator = 1n << BigInt(-value.exponent)
    units = numerator >> BigInt(-value.exponent)
    const twiceRemainder = (numerator - units * denominator) * 2n
    if (twiceRemainder > denominator || (twiceRemainder === denominator && units % 2n === 1n)) {
      units++
    }
  }
  const digits = units.toString().padStart(18, '0')
  const point = digits.length - 17
  return `${value.negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`
}

/**
 * A float as INCRBYFLOAT and HINCRBYFLOAT print it (Redis ld2string, humanfriendly mode:
 * "%.17Lf", then trailing zeros and the point dropped, and "-0" printed as "0").
 *
 * Pass the LongDouble from parseLongDouble/addLongDouble to match Redis bit for bit. A JS number
 * is taken as the decimal it prints as (String(value), its shortest round-trip form), as if a
 * client had typed it: 0.1 -> "0.1", where the double's exact value would print
 * "0.10000000000000001". Sums done in doubles can still differ from Redis (0.1 + 0.2).
 */
export function formatLongDouble(value: number | LongDouble): string {
  let longDouble: LongDouble
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan'
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf'
    const parsed = parseLongDouble(String(value))
    assert(parsed !== null, 'a finite double parses as a long double')
    longDouble = parsed
  } else {
    longDouble = value
  }
  if (longDouble.kind === 'nan') return 'nan'
  if (longDouble.kind === 'infinite') return longDouble.negative ? '-inf' : 'inf'
  const text = stripFractionZeros(fixed17(longDouble))
  return text === '-0' ? '0' : text
}
