/* Loads a recovered log into the in-memory Raft storage the core reads: the compaction point,
 * the entries after it, the snapshot (which may lie inside the kept tail) and the hard state.
 * Invariant: the storage then answers exactly as it did before the restart, for every index the
 * log held. */
import { MemoryStorage } from '../raft/index.js'
import { assert } from '../core/assert.js'
import type { RecoveredLog } from './log-store.js'

export function loadStorage(recovered: RecoveredLog): MemoryStorage {
  const storage = new MemoryStorage()
  const { snapshot, baseIndex, baseTerm, membership } = recovered
  if (snapshot !== null && snapshot.index === baseIndex) {
    storage.applySnapshot(snapshot)
    storage.append(recovered.entries)
  } else {
    assert(snapshot !== null || baseIndex === 0, 'a compacted log has a snapshot')
    // The compaction point first (as an empty snapshot), then the kept tail, then the snapshot.
    if (baseIndex > 0) {
      storage.applySnapshot({
        index: baseIndex,
        term: baseTerm,
        membership,
        data: new Uint8Array(0),
      })
    }
    storage.append(recovered.entries)
    if (snapshot !== null) {
      storage.createSnapshot(snapshot.index, snapshot.data, snapshot.membership)
      assert(storage.snapshot().term === snapshot.term, 'the snapshot matches the log')
    }
  }
  storage.setHardState(recovered.hardState)
  return storage
}
