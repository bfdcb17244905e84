/* HalfSipHash-1-3 (Aumasson; the Linux kernel's hsiphash on 32-bit CPUs): a keyed 32-bit hash over
 * bytes, all in int32 arithmetic so V8 keeps it unboxed. Why: a hash table indexed by an unkeyed
 * hash lets a client craft colliding keys (hash flooding); with a secret 64-bit key it cannot. */
import { assert } from '../core/assert.js'

/** The 64-bit HalfSipHash key as two 32-bit words (k0 = bytes 0..3 little-endian, k1 = 4..7). */
export type HashSeed = Uint32Array | readonly number[]

/** The seed words a hash table keeps: `[k0, k1]`. */
export function hashSeedWords(seed: HashSeed): [number, number] {
  assert(seed.length >= 2, 'a hash seed has two 32-bit words')
  return [seed[0]! | 0, seed[1]! | 0]
}

/** HalfSipHash-1-3 of `bytes[start, end)` under key `(k0, k1)`, as an unsigned 32-bit number. */
export function halfSipHash13(
  bytes: Uint8Array,
  start: number,
  end: number,
  k0: number,
  k1: number,
): number {
  let v0 = k0 | 0
  let v1 = k1 | 0
  let v2 = 0x6c796765 ^ k0
  let v3 = 0x74656462 ^ k1
  const blocksEnd = end - ((end - start) & 3)
  let index = start
  for (; index < blocksEnd; index += 4) {
    const m =
      bytes[index]! |
      (bytes[index + 1]! << 8) |
      (bytes[index + 2]! << 16) |
      (bytes[index + 3]! << 24)
    v3 ^= m
    // One SipRound (c = 1), inlined: a call per round costs more than the round.
    v0 = (v0 + v1) | 0
    v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0
    v0 = (v0 << 16) | (v0 >>> 16)
    v2 = (v2 + v3) | 0
    v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2
    v0 = (v0 + v3) | 0
    v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0
    v2 = (v2 + v1) | 0
    v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2
    v2 = (v2 << 16) | (v2 >>> 16)
    v0 ^= m
  }
  let last = (end - start) << 24
  const left = end - index
  if (left === 3) last |= bytes[index + 2]! << 16
  if (left >= 2) last |= bytes[index + 1]! << 8
  if (left >= 1) last |= bytes[index]!
  v3 ^= last
  // c = 1 round for the last block, then v2 ^= 0xff and d = 3 finalization rounds.
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      v0 ^= last
      v2 ^= 0xff
    }
    v0 = (v0 + v1) | 0
    v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0
    v0 = (v0 << 16) | (v0 >>> 16)
    v2 = (v2 + v3) | 0
    v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2
    v0 = (v0 + v3) | 0
    v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0
    v2 = (v2 + v1) | 0
    v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2
    v2 = (v2 << 16) | (v2 >>> 16)
  }
  return (v1 ^ v3) >>> 0
}
