/* The in-memory index of one collection: field (latin1 string) -> T, in insertion order (the
 * order Redis's listpack keeps while a hash is small), plus stable slots for SCAN cursors and
 * random picks. Invariant: a field keeps its slot while present, so a field present for a whole
 * HSCAN is returned at least once; freed slots are reused. */
import { assert } from '../core/assert.js'

/** Slots examined per wanted field before a scan page returns (Redis's dictScan bound). */
const scanSlotsPerCountMax = 10
/** Uniform draws on sparse slots before probing linearly from one. */
const randomDrawsMax = 16

interface FieldEntry<T> {
  slot: number
  value: T
}

export class FieldIndex<T> {
  readonly #byField = new Map<string, FieldEntry<T>>()
  readonly #slots: Array<string | undefined> = []
  #freeSlots: number[] = []

  get size(): number {
    return this.#byField.size
  }

  get(field: string): T | undefined {
    return this.#byField.get(field)?.value
  }

  has(field: string): boolean {
    return this.#byField.has(field)
  }

  /** Sets the field's value; returns whether the field is new. */
  set(field: string, value: T): boolean {
    const entry = this.#byField.get(field)
    if (entry !== undefined) {
      entry.value = value
      return false
    }
    const slot = this.#freeSlots.pop() ?? this.#slots.length
    this.#slots[slot] = field
    this.#byField.set(field, { slot, value })
    return true
  }

  /** Removes the field; returns its value, or undefined when absent. */
  delete(field: string): T | undefined {
    const entry = this.#byField.get(field)
    if (entry === undefined) return undefined
    this.#byField.delete(field)
    this.#slots[entry.slot] = undefined
    this.#freeSlots.push(entry.slot)
    return entry.value
  }

  /** Fields in insertion order. */
  fields(): IterableIterator<string> {
    return this.#byField.keys()
  }

  /** The values, lazily (the index must not change while this is consumed). */
  *valueIterator(): Generator<T, void, undefined> {
    for (const entry of this.#byField.values()) yield entry.value
  }

  /** Visits fields from slot `cursor`; returns the next cursor, 0 once the slots are done. */
  scan(cursor: number, count: number, visit: (field: string) => void): number {
    assert(Number.isSafeInteger(cursor) && cursor >= 0, 'scan cursor is a non-negative integer')
    const wanted = Math.max(1, count)
    const examineMax = wanted * scanSlotsPerCountMax
    let slot = cursor
    let found = 0
    let examined = 0
    while (slot < this.#slots.length && found < wanted && examined < examineMax) {
      const field = this.#slots[slot]
      if (field !== undefined) {
        visit(field)
        found++
      }
      slot++
      examined++
    }
    return slot >= this.#slots.length ? 0 : slot
  }

  /** A random field, or null when empty; `pick` draws integers in [0, bound). */
  random(pick: (bound: number) => number): string | null {
    const slots = this.#slots.length
    if (this.#byField.size === 0) return null
    for (let draw = 0; draw < randomDrawsMax; draw++) {
      const field = this.#slots[pick(slots)]
      if (field !== undefined) return field
    }
    const start = pick(slots)
    for (let step = 0; step < slots; step++) {
      const field = this.#slots[(start + step) % slots]
      if (field !== undefined) return field
    }
    assert(false, 'a non-empty index has an occupied slot')
  }
}
