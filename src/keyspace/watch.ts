/* WATCH bookkeeping, as Redis 7.0's multi.c: a map from each watched key to the clients watching
 * it, so a write to a key nobody watches costs one map lookup (nothing at all while nobody
 * watches anything). Invariant: a key is in the map iff some watcher lists it, and a watcher a
 * write has dirtied watches nothing more (Redis's touchWatchedKey unwatches it: EXEC will fail). */

/** One client's watched keys; `dirty` is Redis's CLIENT_DIRTY_CAS. */
export class Watcher {
  dirty = false
  /** Watched key (latin1) -> whether it was already logically expired when WATCH ran. */
  readonly keys = new Map<string, { expired: boolean }>()
}

export class WatchRegistry {
  readonly #watchersByKey = new Map<string, Set<Watcher>>()

  /** No key is watched: writes skip the lookup. */
  get isEmpty(): boolean {
    return this.#watchersByKey.size === 0
  }

  /** Watched keys, each counted once however many clients watch it. */
  get keyCount(): number {
    return this.#watchersByKey.size
  }

  /** Redis's watchForKey: watching a key twice is a no-op. */
  watch(watcher: Watcher, key: string, expired: boolean): void {
    if (watcher.keys.has(key)) return
    watcher.keys.set(key, { expired })
    const watchers = this.#watchersByKey.get(key)
    if (watchers === undefined) this.#watchersByKey.set(key, new Set([watcher]))
    else watchers.add(watcher)
  }

  /** Redis's unwatchAllKeys; the caller clears `dirty` when it means to. */
  unwatchAll(watcher: Watcher): void {
    for (const key of watcher.keys.keys()) {
      const watchers = this.#watchersByKey.get(key)
      if (watchers === undefined) continue
      watchers.delete(watcher)
      if (watchers.size === 0) this.#watchersByKey.delete(key)
    }
    watcher.keys.clear()
  }

  /**
   * Redis's touchWatchedKey after a command modified `key` (signalModifiedKey). A watcher that
   * saw the key already expired at WATCH is not dirtied while the key is absent (the expired key
   * is gone: logically no change; the flag is cleared), nor while it is still present. That last
   * case is unreachable through the keyspace (every write deletes an expired key first, which
   * clears the flag); Redis 7.0 there stops marking the key's remaining watchers, this only
   * skips that one.
   */
  touch(key: string, present: () => boolean): void {
    const watchers = this.#watchersByKey.get(key)
    if (watchers === undefined) return
    for (const watcher of [...watchers]) {
      const entry = watcher.keys.get(key)
      if (entry?.expired === true) {
        if (!present()) entry.expired = false
        continue
      }
      this.#dirty(watcher)
    }
  }

  /** Expiry (lazy or active) deleted `key`: the same rule with the key now absent. */
  touchExpired(key: string): void {
    this.touch(key, () => false)
  }

  /**
   * Redis's touchAllWatchedKeysInDb for FLUSHALL/FLUSHDB: every watched key present before the
   * flush dirties its watchers, except those that saw it already expired at WATCH.
   */
  touchAll(presentBeforeFlush: (key: string) => boolean): void {
    for (const [key, watchers] of this.#watchersByKey) {
      if (!presentBeforeFlush(key)) continue
      for (const watcher of watchers) {
        const entry = watcher.keys.get(key)
        if (entry?.expired === true) entry.expired = false
        else watcher.dirty = true
      }
    }
  }

  /** Redis's isWatchedKeyExpired, run by EXEC: a key not expired at WATCH has expired since. */
  anyExpiredSinceWatch(watcher: Watcher, isExpired: (key: string) => boolean): boolean {
    for (const [key, entry] of watcher.keys) {
      if (!entry.expired && isExpired(key)) return true
    }
    return false
  }

  #dirty(watcher: Watcher): void {
    watcher.dirty = true
    this.unwatchAll(watcher)
  }
}
