/* Argument parsing shared by every command family, with Redis's exact rules and error texts:
 * integers as string2ll accepts them (no spaces, no '+', no leading zeros), floats as strtold
 * accepts them (no spaces, 'inf' allowed, NaN rejected). */
import { CaskadeError, ErrorCode, RedisErrors } from '../core/errors.js'

const integerPattern = /^(0|-?[1-9][0-9]*)$/

/** Parses a signed 64-bit integer; null if it is not one (Redis string2ll). */
export function parseInteger(arg: Buffer): bigint | null {
  if (arg.length === 0 || arg.length > 20) return null
  const text = arg.toString('latin1')
  if (!integerPattern.test(text)) return null
  const value = BigInt(text)
  if (value > 9223372036854775807n || value < -9223372036854775808n) return null
  return value
}

/** An integer that fits a JS safe integer, or the Redis error "value is not an integer...". */
export function parseSafeIntegerOrThrow(
  arg: Buffer,
  message: string = RedisErrors.notInteger,
): number {
  const value = parseInteger(arg)
  if (
    value === null ||
    value > BigInt(Number.MAX_SAFE_INTEGER) ||
    value < BigInt(Number.MIN_SAFE_INTEGER)
  ) {
    throw new CaskadeError(ErrorCode.Err, message)
  }
  return Number(value)
}

/** A 64-bit integer as bigint, or the Redis error. */
export function parseIntegerOrThrow(arg: Buffer, message: string = RedisErrors.notInteger): bigint {
  const value = parseInteger(arg)
  if (value === null) throw new CaskadeError(ErrorCode.Err, message)
  return value
}

const floatPattern = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/
const infinityPattern = /^[-+]?inf(inity)?$/i

/** Parses a float as Redis does (strtold): no surrounding spaces, inf allowed, NaN rejected. */
export function parseFloatArg(arg: Buffer): number | null {
  if (arg.length === 0 || arg.length > 5000) return null
  const text = arg.toString('latin1')
  if (infinityPattern.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  if (!floatPattern.test(text)) return null
  const value = Number(text)
  return Number.isNaN(value) ? null : value
}

export function parseFloatOrThrow(arg: Buffer, message: string = RedisErrors.notFloat): number {
  const value = parseFloatArg(arg)
  if (value === null) throw new CaskadeError(ErrorCode.Err, message)
  return value
}

/** Case-insensitive comparison of an argument with a lowercase ASCII keyword. */
export function argIs(arg: Buffer | undefined, keywordLower: string): boolean {
  if (arg === undefined || arg.length !== keywordLower.length) return false
  for (let i = 0; i < arg.length; i++) {
    let byte = arg[i] as number
    if (byte >= 0x41 && byte <= 0x5a) byte += 0x20
    if (byte !== keywordLower.charCodeAt(i)) return false
  }
  return true
}

/** Lowercased ASCII text of an argument (for keywords and command names). */
export function argLower(arg: Buffer): string {
  return arg.toString('latin1').toLowerCase()
}
