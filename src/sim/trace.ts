/* The run's trace: a running hash of every notable event (two runs of one seed must agree on it)
 * and the last events as readable lines for a failure report. Invariant: lines are formatted
 * only when a failure asks for them, so tracing costs little on the hot path. */

export class Trace {
  readonly #capacity: number
  readonly #ring: (readonly [number, () => string])[] = []
  #next = 0
  #hash = 0x811c9dc5
  count = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Records an event at virtual time `atMs`; `hashKey` feeds the hash, `line` the report. */
  add(atMs: number, hashKey: string, line: () => string): void {
    this.count++
    let hash = this.#hash ^ Math.round(atMs * 1000)
    for (let i = 0; i < hashKey.length; i++)
      hash = Math.imul(hash ^ hashKey.charCodeAt(i), 0x01000193)
    this.#hash = hash >>> 0
    if (this.#ring.length < this.#capacity) this.#ring.push([atMs, line])
    else this.#ring[this.#next] = [atMs, line]
    this.#next = (this.#next + 1) % this.#capacity
  }

  get hash(): string {
    return this.#hash.toString(16).padStart(8, '0')
  }

  /** The last events, oldest first, one per line. */
  lines(): string[] {
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    if (this.#ring.length < this.#capacity) ordered.splice(0, ordered.length, ...this.#ring)
    return ordered.map(([atMs, line]) => `${atMs.toFixed(3).padStart(10)}ms  ${line()}`)
  }
}
