/* A direct check of the liveness phase's promise, independent of the linearizability search:
 * an acknowledged put or append that nothing could have overwritten must show in the final
 * value of its key. Invariant: only a write, unknown write or successful cas on the same key
 * whose interval may end after the write's call counts as a possible overwrite, so a report is
 * always a write the cluster lost. (An append is found by substring, so "1-1" hides in "1-12":
 * this check can miss a loss, never invent one; the linearizability checker misses neither.) */
import type { HistoryOperation } from './history.js'

/** Descriptions of acknowledged writes missing from `finalValues` (empty: none lost). */
export function findLostWrites(
  operations: readonly HistoryOperation[],
  finalValues: ReadonlyMap<string, string | null>,
): string[] {
  const lost: string[] = []
  for (const write of operations) {
    if (write.return === undefined || write.value === undefined) continue
    if (write.op !== 'put' && write.op !== 'append') continue
    const overwritable = operations.some(
      (other) =>
        other !== write &&
        other.key === write.key &&
        overwrites(other) &&
        (other.return === undefined || other.return > write.call),
    )
    if (overwritable || !finalValues.has(write.key)) continue
    const final = finalValues.get(write.key) ?? null
    const visible =
      final !== null &&
      (write.op === 'put' ? final.startsWith(write.value) : final.includes(write.value))
    if (!visible) {
      lost.push(
        `${write.op} ${write.key} "${write.value}" acknowledged at ${write.return}, final value ${JSON.stringify(final)}`,
      )
    }
  }
  return lost
}

function overwrites(operation: HistoryOperation): boolean {
  if (operation.op === 'put' || operation.op === 'del') return true
  return operation.op === 'cas' && operation.out !== false
}
