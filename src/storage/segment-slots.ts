/* The keydir slots written into the active segment, in write order, so its hint at rotation
 * visits only those instead of the whole keydir: a checkpoint rotates a small segment each time,
 * and scanning a million-key keydir for it would stall the loop. Invariant: while `complete`,
 * every slot that points into the active segment was noted with its record's offset; past
 * `limit` notes (more than the keydirs' slots) it gives up and the hint scans the keydir. */

const fields = 3
const capacityInitial = 1024

export class SegmentSlots {
  #entries: Uint32Array
  #count = 0
  #complete: boolean

  /** `complete`: false for a recovered active segment, whose records were never noted. */
  constructor(complete: boolean) {
    this.#complete = complete
    this.#entries = new Uint32Array(complete ? fields * capacityInitial : 0)
  }

  get complete(): boolean {
    return this.#complete
  }

  /** `which`: index of the keydir (user keys 0, elements 1). */
  note(which: number, slot: number, offset: number, limit: number): void {
    if (!this.#complete) return
    if (this.#count >= limit) {
      this.#complete = false
      this.#entries = new Uint32Array(0)
      return
    }
    const at = this.#count * fields
    if (at + fields > this.#entries.length) {
      const grown = new Uint32Array(Math.max(fields * capacityInitial, this.#entries.length * 2))
      grown.set(this.#entries)
      this.#entries = grown
    }
    this.#entries[at] = which
    this.#entries[at + 1] = slot
    this.#entries[at + 2] = offset
    this.#count++
  }

  forEach(visit: (which: number, slot: number, offset: number) => void): void {
    const entries = this.#entries
    for (let at = 0; at < this.#count * fields; at += fields) {
      visit(entries[at]!, entries[at + 1]!, entries[at + 2]!)
    }
  }
}
