/* The history format of ../../docs/history-format.md as TypeScript types, and the checker's result.
 * Invariant: an Operation mirrors the JSON fields one to one, so a history the simulator builds in
 * memory is JSON.stringify-ed into the file format unchanged, and parseHistory gives it back. */

export type OpKind = 'get' | 'put' | 'append' | 'cas' | 'del'

interface OperationBase {
  /** The client (process) id; one client never has two operations in flight. */
  client: number
  key: string
  /** Monotonic time just before the request was sent (one unit per file). */
  call: number
  /** Monotonic time just after the reply was read; absent when `unknown`. */
  return?: number
  /** The outcome is not known: a write may or may not have happened, a read constrains nothing. */
  unknown?: boolean
  note?: string
}

export interface GetOperation extends OperationBase {
  op: 'get'
  /** The string read, or null for an absent key; required unless unknown. */
  out?: string | null
}
export interface PutOperation extends OperationBase {
  op: 'put'
  value: string
}
export interface AppendOperation extends OperationBase {
  op: 'append'
  value: string
  /** The new length in bytes (optional). */
  out?: number
}
export interface CasOperation extends OperationBase {
  op: 'cas'
  /** The value the key must hold for the swap; null: the key must be absent. */
  expected: string | null
  value: string
  /** Whether the swap happened; required unless unknown. */
  out?: boolean
}
export interface DelOperation extends OperationBase {
  op: 'del'
  /** The number of keys removed (optional). */
  out?: 0 | 1
}

export type Operation = GetOperation | PutOperation | AppendOperation | CasOperation | DelOperation

export interface History {
  operations: Operation[]
}

/** An operation with its position in `history.operations`, so reports can name it. */
export interface IndexedOperation {
  index: number
  operation: Operation
}

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown'

/** Why a key was left undecided: the time limit ran out, or the search's memo reached its bound
 * (an adversarial history would otherwise exhaust the heap before the time limit). */
export type UnknownReason = 'time limit' | 'memory limit'

/** Why one key is not linearizable: the search's longest linearizable prefix (in linearization
 * order), the value the key holds after it, and the operations that could have come next but
 * none of which leads to a complete linearization. */
export interface KeyViolation {
  key: string
  longestPrefix: IndexedOperation[]
  stateAfterPrefix: string | null
  unplaced: IndexedOperation[]
}

export type KeyResult =
  | { key: string; verdict: 'linearizable'; operations: number }
  | { key: string; verdict: 'unknown'; operations: number; reason: UnknownReason }
  | ({ verdict: 'not-linearizable'; operations: number } & KeyViolation)

export interface CheckResult {
  /** not-linearizable if any key is; otherwise unknown if any key was left undecided. */
  verdict: Verdict
  /** One entry per key, sorted by key. */
  keys: KeyResult[]
  /** The first failing key (in key order), or null. */
  violation: KeyViolation | null
}

export interface CheckOptions {
  /** Give up with 'unknown' after this much time (measured with `now`). */
  timeLimitMs: number
  /** Milliseconds on any monotonic scale: the checker reads no clock of its own. */
  now: () => number
  /** Give up with 'unknown' when one key's search has memoized this many (set, value) pairs
   * (about 100-300 bytes each); default checkMemoEntriesMax. */
  memoEntriesMax?: number
}
