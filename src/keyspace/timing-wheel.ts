/* A hierarchical timing wheel (4 levels x 64 slots) for active expiry: O(1) insert, lazy cancel
 * (the visitor checks whether an item is still current). Invariant: an item due at `atMs` is
 * visited by the first advance(nowMs >= atMs + resolutionMs) that has budget left, and never
 * while nowMs <= atMs. Work per advance() is budgeted (visits, and cascade moves separately) so a
 * million items due at once are spread over many calls instead of stalling the event loop. */
import { assert } from '../core/assert.js'

const slotsPerLevel = 64
const levelCount = 4
/** Ticks covered by one slot of each level: 1, 64, 64^2, 64^3. */
const levelSpanTicks = [1, 64, 64 ** 2, 64 ** 3] as const
/** Items further than this many ticks ahead are parked in the top level and cascaded again. */
const horizonTicks = 64 ** levelCount - 1
/** A cascade move (re-inserting an item one level down) is this many times cheaper than a visit. */
export const cascadeMovesPerVisit = 16

/** A batch of items: two parallel arrays, so an item costs no wrapper object. */
interface Batch<T> {
  items: T[]
  times: number[]
}

const newBatch = <T>(): Batch<T> => ({ items: [], times: [] })

/** A FIFO of batches with a read position in the first one. */
class BatchQueue<T> {
  #batches: Batch<T>[] = []
  #head = 0
  length = 0

  pushBatch(batch: Batch<T>): void {
    if (batch.items.length === 0) return
    this.#batches.push(batch)
    this.length += batch.items.length
  }

  pushOne(item: T, atMs: number): void {
    const last = this.#batches[this.#batches.length - 1]
    if (last === undefined) {
      this.#batches.push({ items: [item], times: [atMs] })
    } else {
      last.items.push(item)
      last.times.push(atMs)
    }
    this.length++
  }

  /** Calls `onItem` for up to `limit` items from the front; returns how many it took. */
  drain(limit: number, onItem: (item: T, atMs: number) => void): number {
    let taken = 0
    while (taken < limit && this.length > 0) {
      const batch = this.#batches[0] as Batch<T>
      const index = this.#head++
      this.length--
      taken++
      if (this.#head === batch.items.length) {
        this.#batches.shift()
        this.#head = 0
      }
      onItem(batch.items[index] as T, batch.times[index] as number)
    }
    return taken
  }

  clear(): void {
    this.#batches = []
    this.#head = 0
    this.length = 0
  }
}

export interface TimingWheelOptions {
  /** Width of one tick of the lowest level. */
  resolutionMs: number
  /** Time the wheel starts at; items due before it fire on the first advance. */
  startMs: number
}

export class TimingWheel<T> {
  readonly resolutionMs: number
  /** The next tick to process: every tick below it has been moved to #due. */
  #nextTick: number
  /** The tick whose cascade has been scheduled (cascades happen once per 64-tick boundary). */
  #cascadedTick = -1
  #slots: Batch<T>[]
  #levelCounts = [0, 0, 0, 0]
  #due = new BatchQueue<T>()
  #cascading = new BatchQueue<T>()
  #size = 0

  constructor(options: TimingWheelOptions) {
    assert(options.resolutionMs > 0, 'resolutionMs is positive')
    assert(Number.isFinite(options.startMs) && options.startMs >= 0, 'startMs is a time')
    this.resolutionMs = options.resolutionMs
    this.#nextTick = Math.floor(options.startMs / options.resolutionMs)
    this.#slots = Array.from({ length: slotsPerLevel * levelCount }, () => newBatch<T>())
  }

  /** Items held, including stale ones the owner no longer cares about (lazy cancel). */
  size(): number {
    return this.#size
  }

  /** Work left over by budgeted advances: items due but not visited, and items to cascade. */
  backlog(): { due: number; cascading: number } {
    return { due: this.#due.length, cascading: this.#cascading.length }
  }

  /** Schedules `item` for time `atMs`. */
  insert(item: T, atMs: number): void {
    assert(Number.isFinite(atMs), 'atMs is finite')
    this.#size++
    this.#place(item, atMs)
  }

  /**
   * Visits due items (in tick order) until `budget` visits are spent, and returns how many it
   * visited; the next call resumes where this one stopped. `visit` may insert.
   */
  advance(nowMs: number, visit: (item: T, atMs: number) => void, budget: number): number {
    assert(budget >= 0, 'budget is not negative')
    const targetTick = Math.floor(nowMs / this.resolutionMs)
    const movesMax = budget * cascadeMovesPerVisit
    let visited = 0
    let moves = 0
    for (;;) {
      if (this.#due.length > 0) {
        const taken = this.#due.drain(budget - visited, visit)
        visited += taken
        this.#size -= taken
        if (this.#due.length > 0) break
      }
      if (this.#cascading.length > 0) {
        moves += this.#cascading.drain(movesMax - moves, this.#placeBound)
        if (this.#cascading.length > 0) break
      }
      if (this.#nextTick > targetTick) break
      this.#step(targetTick)
    }
    return visited
  }

  clear(): void {
    for (const slot of this.#slots) {
      slot.items = []
      slot.times = []
    }
    this.#levelCounts = [0, 0, 0, 0]
    this.#due.clear()
    this.#cascading.clear()
    this.#size = 0
  }

  /** Processes tick #nextTick (its cascade first), or skips a stretch of empty ticks. */
  #step(targetTick: number): void {
    const tick = this.#nextTick
    if (tick % slotsPerLevel === 0 && this.#cascadedTick !== tick) {
      this.#cascadedTick = tick
      this.#scheduleCascades(tick)
      return
    }
    if (this.#levelCounts[0] === 0) {
      this.#nextTick = this.#skipTarget(tick, targetTick)
      return
    }
    const slot = this.#slots[tick % slotsPerLevel] as Batch<T>
    if (slot.items.length > 0) {
      this.#levelCounts[0] = (this.#levelCounts[0] as number) - slot.items.length
      this.#due.pushBatch({ items: slot.items, times: slot.times })
      slot.items = []
      slot.times = []
    }
    this.#nextTick = tick + 1
  }

  /** With level 0 empty, nothing happens before the next boundary of the lowest busy level. */
  #skipTarget(tick: number, targetTick: number): number {
    for (let level = 1; level < levelCount; level++) {
      if (this.#levelCounts[level] === 0) continue
      const span = slotsPerLevel * (levelSpanTicks[level - 1] as number)
      const boundary = Math.floor(tick / span) * span + span
      return Math.min(boundary, targetTick + 1)
    }
    return Math.max(tick + 1, targetTick + 1)
  }

  /** At a 64-tick boundary, the matching slot of level 1 (and higher, at their boundaries). */
  #scheduleCascades(tick: number): void {
    for (let level = 1; level < levelCount; level++) {
      const span = levelSpanTicks[level] as number
      const index = Math.floor(tick / span) % slotsPerLevel
      const slot = this.#slots[level * slotsPerLevel + index] as Batch<T>
      if (slot.items.length > 0) {
        this.#levelCounts[level] = (this.#levelCounts[level] as number) - slot.items.length
        this.#cascading.pushBatch({ items: slot.items, times: slot.times })
        slot.items = []
        slot.times = []
      }
      if (index !== 0) break
    }
  }

  readonly #placeBound = (item: T, atMs: number): void => {
    this.#place(item, atMs)
  }

  /** Due tick: the first tick that starts strictly after atMs, so it never fires early. */
  #place(item: T, atMs: number): void {
    const dueTick = Math.floor(atMs / this.resolutionMs) + 1
    const delta = dueTick - this.#nextTick
    if (delta < 0) {
      this.#due.pushOne(item, atMs)
      return
    }
    let level = 0
    while (level < levelCount - 1 && delta >= slotsPerLevel * (levelSpanTicks[level] as number)) {
      level++
    }
    const parkedTick = delta > horizonTicks ? this.#nextTick + horizonTicks : dueTick
    const index = Math.floor(parkedTick / (levelSpanTicks[level] as number)) % slotsPerLevel
    const slot = this.#slots[level * slotsPerLevel + index] as Batch<T>
    slot.items.push(item)
    slot.times.push(atMs)
    this.#levelCounts[level] = (this.#levelCounts[level] as number) + 1
  }
}
