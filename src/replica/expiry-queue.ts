/* The replicated keyspace's expiry order: a binary min-heap of (expiresAtMs, key) with lazy
 * removal (an entry whose key no longer has that expiry is skipped when it surfaces). Invariant:
 * every key with an expiry E has an entry (E, key), so popping everything below T finds exactly
 * the keys expired at T, in (time, key bytes) order: the same order on every node, whatever each
 * node's history (restored or not), which the timing wheel's slot order is not. */

/** Keys as latin1 strings: string order is then byte order. */
interface Due {
  readonly atMs: number
  readonly name: string
}

function before(a: Due, b: Due): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.name < b.name)
}

export class ExpiryQueue {
  #heap: Due[] = []

  get size(): number {
    return this.#heap.length
  }

  clear(): void {
    this.#heap = []
  }

  push(name: string, atMs: number): void {
    const heap = this.#heap
    const item = { atMs, name }
    let at = heap.length
    heap.push(item)
    while (at > 0) {
      const parent = (at - 1) >> 1
      const above = heap[parent] as Due
      if (!before(item, above)) break
      heap[at] = above
      at = parent
    }
    heap[at] = item
  }

  /** The earliest entry's time, or Infinity when empty. */
  peekMs(): number {
    return this.#heap[0]?.atMs ?? Infinity
  }

  /** The earliest entry's key (call only when not empty). */
  peekName(): string {
    return (this.#heap[0] as Due).name
  }

  /** Removes the earliest entry. */
  pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let at = 0
    for (;;) {
      const left = 2 * at + 1
      if (left >= heap.length) break
      const right = left + 1
      const child =
        right < heap.length && before(heap[right] as Due, heap[left] as Due) ? right : left
      if (!before(heap[child] as Due, last)) break
      heap[at] = heap[child] as Due
      at = child
    }
    heap[at] = last
  }
}
