/* The per-node index of clients blocked in cluster mode: key -> its waiting clients in the order
 * they blocked, and the keys this node's applied stream modified since they were last tried.
 * Invariant: a waiter is in the queue of each of its keys exactly while it is in the index; only
 * the first waiter of a ready key is started for it, and a key stays ready while that waiter's
 * attempt is in flight. Why: no modification is missed (a wasted attempt at worst), and clients
 * of one node are served in the order they blocked. */
import { assert } from '../core/assert.js'

export interface Waiter {
  /** Its keys as latin1 names, duplicates removed, in command order. */
  readonly keyNames: readonly string[]
}

export class WaitingIndex<W extends Waiter> {
  /** Key -> its waiters in blocking order (a Set keeps insertion order). */
  readonly #byKey = new Map<string, Set<W>>()
  /** Waiters whose attempt is in flight -> the ready keys that attempt was started for. */
  readonly #attempting = new Map<W, string[]>()
  readonly #waiters = new Set<W>()
  #ready = new Set<string>()

  /** Waiters in the index (attempting or not). */
  get size(): number {
    return this.#waiters.size
  }

  has(waiter: W): boolean {
    return this.#waiters.has(waiter)
  }

  isAttempting(waiter: W): boolean {
    return this.#attempting.has(waiter)
  }

  /** Appends `waiter` to the queue of each of its keys; `attempting`: its first attempt runs. */
  add(waiter: W, attempting: boolean): void {
    assert(!this.#waiters.has(waiter), 'a waiter is added once')
    this.#waiters.add(waiter)
    for (const name of waiter.keyNames) {
      const queue = this.#byKey.get(name)
      if (queue === undefined) this.#byKey.set(name, new Set([waiter]))
      else queue.add(waiter)
    }
    if (attempting) this.#attempting.set(waiter, [])
  }

  /**
   * Forgets `waiter` (answered, timed out, disconnected). The keys its attempt was started for
   * become ready again: a pop from one key may leave others (or more of it) for the next waiter.
   */
  remove(waiter: W): void {
    if (!this.#waiters.delete(waiter)) return
    const covered = this.#attempting.get(waiter) ?? []
    this.#attempting.delete(waiter)
    for (const name of waiter.keyNames) {
      const queue = this.#byKey.get(name)
      if (queue === undefined) continue
      queue.delete(waiter)
      if (queue.size === 0) this.#byKey.delete(name)
    }
    for (const name of covered) this.keyModified(name)
  }

  /** The attempt found nothing: it saw its keys after the modifications it was started for. */
  foundNothing(waiter: W): void {
    assert(this.#attempting.has(waiter), 'only an attempting waiter finds nothing')
    this.#attempting.delete(waiter)
  }

  /** The applied stream wrote `name`: true when some client waits on it. */
  keyModified(name: string): boolean {
    if (!this.#byKey.has(name)) return false
    this.#ready.add(name)
    return true
  }

  /** Every key may have changed (a snapshot was installed): true when any client waits. */
  everyKeyModified(): boolean {
    for (const name of this.#byKey.keys()) this.#ready.add(name)
    return this.#byKey.size > 0
  }

  hasReady(): boolean {
    return this.#ready.size > 0
  }

  /**
   * The waiters to attempt now, each marked attempting: the first waiter of every ready key,
   * unless that one is already attempting (the key then stays ready until its attempt ends).
   */
  takeDue(): W[] {
    const due: W[] = []
    const round = this.#ready
    this.#ready = new Set()
    for (const name of round) {
      const first = this.#byKey.get(name)?.values().next().value
      if (first === undefined) continue // nobody waits on it any more
      const covered = this.#attempting.get(first)
      if (covered === undefined) {
        this.#attempting.set(first, [name])
        due.push(first)
      } else if (due.includes(first)) {
        covered.push(name) // started this round, after the modification: it sees this key too
      } else {
        this.#ready.add(name)
      }
    }
    return due
  }
}
