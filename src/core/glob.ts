/* Redis glob matching (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET): a faithful port of Redis 7's
 * util.c stringmatchlen, quirks included (char is signed in [a-z] ranges, a reversed range is
 * swapped, an unterminated '[' or a trailing '\' is literal). Invariant: the nesting cap and the
 * skipLongerMatches guard bound the work, so a hostile pattern cannot cost exponential time. */

/** Redis gives up (no match) past this recursion depth: one level per '*' in the pattern. */
const globNestingMax = 1000

const STAR = 0x2a
const QUESTION = 0x3f
const OPEN = 0x5b
const CLOSE = 0x5d
const CARET = 0x5e
const BACKSLASH = 0x5c
const DASH = 0x2d

/** C tolower in the "C" locale: only A-Z change. */
function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
}

/** A pattern byte read as C's signed char (x86), as Redis compares range bounds. */
function signed(byte: number): number {
  return (byte << 24) >> 24
}

interface MatchState {
  pattern: Buffer
  subject: Buffer
  noCase: boolean
  /** Set once a '*' found no match for the rest of the pattern anywhere in the rest of the
   * subject: then no earlier '*' can succeed by matching more, so every level stops. */
  skipLongerMatches: boolean
}

/** Reads the pattern like the C code reads a NUL-terminated string: 0 past the end. */
function byteAt(buf: Buffer, index: number): number {
  return index < buf.length ? (buf[index] as number) : 0
}

/**
 * Matches one `[...]` class against `c` starting just after the '['. Returns whether it matched
 * and the index of the class's last byte (its ']', or the pattern's last byte if unterminated).
 */
function matchClass(
  state: MatchState,
  start: number,
  c: number,
): { matched: boolean; last: number } {
  const { pattern, noCase } = state
  const end = pattern.length
  let p = start
  const negate = byteAt(pattern, p) === CARET
  if (negate) p++
  let matched = false
  for (;;) {
    const current = byteAt(pattern, p)
    if (current === BACKSLASH && end - p >= 2) {
      p++
      if (pattern[p] === c) matched = true
    } else if (current === CLOSE && p < end) {
      break
    } else if (p >= end) {
      p-- // unterminated: the class ends at the pattern's last byte
      break
    } else if (end - p >= 3 && pattern[p + 1] === DASH) {
      let low = signed(current)
      let high = signed(pattern[p + 2] as number)
      let subject = signed(c)
      if (low > high) [low, high] = [high, low]
      if (noCase) {
        low = lower(low)
        high = lower(high)
        subject = lower(subject)
      }
      p += 2
      if (subject >= low && subject <= high) matched = true
    } else if (noCase ? lower(current) === lower(c) : current === c) {
      matched = true
    }
    p++
  }
  return { matched: negate ? !matched : matched, last: p }
}

/** stringmatchlen_impl over pattern[p..] and subject[s..]. */
function matchFrom(state: MatchState, startP: number, startS: number, nesting: number): boolean {
  if (nesting > globNestingMax) return false
  const { pattern, subject, noCase } = state
  const patternEnd = pattern.length
  const subjectEnd = subject.length
  let p = startP
  let s = startS
  while (p < patternEnd && s < subjectEnd) {
    const current = pattern[p] as number
    if (current === STAR) {
      while (p + 1 < patternEnd && pattern[p + 1] === STAR) p++
      if (p + 1 === patternEnd) return true
      for (; s < subjectEnd; s++) {
        if (matchFrom(state, p + 1, s, nesting + 1)) return true
        if (state.skipLongerMatches) return false
      }
      state.skipLongerMatches = true
      return false
    } else if (current === OPEN) {
      const { matched, last } = matchClass(state, p + 1, subject[s] as number)
      if (!matched) return false
      p = last
    } else if (current !== QUESTION) {
      if (current === BACKSLASH && patternEnd - p >= 2) p++
      const expected = pattern[p] as number
      const actual = subject[s] as number
      if (noCase ? lower(expected) !== lower(actual) : expected !== actual) return false
    }
    s++
    p++
    if (s === subjectEnd) {
      while (p < patternEnd && pattern[p] === STAR) p++
      break
    }
  }
  return p === patternEnd && s === subjectEnd
}

/**
 * Whether `subject` matches the Redis glob `pattern`: `*` any run, `?` one byte, `[abc]`,
 * `[a-z]`, `[^...]` classes, `\x` a literal x. Bytes, not characters; `noCase` folds A-Z only.
 */
export function globMatch(pattern: Buffer, subject: Buffer, noCase = false): boolean {
  const state: MatchState = { pattern, subject, noCase, skipLongerMatches: false }
  return matchFrom(state, 0, 0, 0)
}
