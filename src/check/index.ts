/* The linearizability checker's public surface, imported by the simulator and the CLI. Keep
 * these names and shapes stable: `parseHistory(json)` and `checkHistory(history, options)`. */
export { checkHistory, checkMemoEntriesMax, partitionByKey } from './check.js'
export { describeOperation, describeViolation } from './describe.js'
export { InvalidHistoryError, parseHistory, validateHistory } from './parse.js'
export type {
  CheckOptions,
  CheckResult,
  History,
  IndexedOperation,
  KeyResult,
  KeyViolation,
  Operation,
  OpKind,
  UnknownReason,
  Verdict,
} from './types.js'
