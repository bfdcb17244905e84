/* A seeded PRNG (mulberry32 over a 32-bit state) so that every random choice a core makes is
 * reproducible from one seed. Not for cryptography. */
import type { Rng } from './ports.js'

export function createRng(seed: number): Rng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    float: next,
    int: (bound: number): number => Math.floor(next() * bound),
  }
}
