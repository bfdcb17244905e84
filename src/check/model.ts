/* The sequential model of one key: what each operation does to the value and whether its
 * recorded output is possible from a given value. Invariant: step() is a pure function of
 * (value, operation), the property the search's memoization of (linearized set, value) needs. */
import type { Operation } from './types.js'

/** The key's value; null while the key is absent (every key starts absent). */
export type KeyState = string | null

/** The output cannot follow from this value. */
export const illegal = Symbol('illegal')

/** Redis's APPEND replies with the length in bytes: the UTF-8 length of the JS string. */
export function utf8ByteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/** Applies `operation` to `state`. A completed operation whose output contradicts the state is
 * illegal. An unknown operation took effect here (this is its linearization point), so it
 * checks no output; a cas with an unknown outcome swaps exactly when the value matches. The
 * search drops unknown reads before they get here. */
export function step(state: KeyState, operation: Operation): KeyState | typeof illegal {
  const known = operation.unknown !== true
  switch (operation.op) {
    case 'get':
      return operation.out === state ? state : illegal
    case 'put':
      return operation.value
    case 'append': {
      const appended = (state ?? '') + operation.value
      if (known && operation.out !== undefined && operation.out !== utf8ByteLength(appended)) {
        return illegal
      }
      return appended
    }
    case 'cas': {
      const swaps = state === operation.expected
      if (known && operation.out !== swaps) return illegal
      return swaps ? operation.value : state
    }
    case 'del':
      if (known && operation.out !== undefined && operation.out !== (state === null ? 0 : 1)) {
        return illegal
      }
      return null
  }
}
