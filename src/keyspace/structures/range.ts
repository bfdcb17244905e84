/* Redis's index arithmetic for LRANGE/LTRIM/ZRANGE/ZREMRANGEBYRANK, in one place: negative
 * indexes count from the tail, out-of-range ends are clamped, an inverted range is empty.
 * Invariant: a returned range satisfies 0 <= first <= last < length. */

/** The inclusive index range [first, last] that Redis's `start stop` selects, or null if empty. */
export interface IndexRange {
  first: number
  last: number
}

export function normalizeIndexRange(
  start: number,
  stop: number,
  length: number,
): IndexRange | null {
  let first = start < 0 ? length + start : start
  let last = stop < 0 ? length + stop : stop
  if (first < 0) first = 0
  if (first > last || first >= length) return null
  if (last >= length) last = length - 1
  return { first, last }
}

/** A Redis index (negative counts from the tail) as an offset in [0, length), or -1 if outside. */
export function normalizeIndex(index: number, length: number): number {
  const offset = index < 0 ? length + index : index
  return offset >= 0 && offset < length ? offset : -1
}
