/* Human-readable text for operations and violations, for the CLI and the simulator's failure
 * reports. Invariant: one operation is one line that names its position in the file, so a
 * reader can find it in the history. */
import type { IndexedOperation, KeyViolation, Operation } from './types.js'

const quote = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value))

function describeEffect(operation: Operation): string {
  switch (operation.op) {
    case 'get':
      return 'get'
    case 'put':
      return `put ${quote(operation.value)}`
    case 'append':
      return `append ${quote(operation.value)}`
    case 'cas':
      return `cas ${quote(operation.expected)} -> ${quote(operation.value)}`
    case 'del':
      return 'del'
  }
}

function describeOutput(operation: Operation): string {
  if (operation.unknown === true) return ' => unknown'
  switch (operation.op) {
    case 'get':
      return ` => ${quote(operation.out ?? null)}`
    case 'cas':
      return ` => ${String(operation.out)}`
    case 'append':
    case 'del':
      return operation.out === undefined ? '' : ` => ${operation.out}`
    case 'put':
      return ''
  }
}

/** e.g. `operations[4] client 1 get => "0-1" [5, 8]` */
export function describeOperation({ index, operation }: IndexedOperation): string {
  const end = operation.return === undefined ? '...' : String(operation.return)
  return (
    `operations[${index}] client ${operation.client} ${describeEffect(operation)}` +
    `${describeOutput(operation)} [${operation.call}, ${end}]`
  )
}

/** A report of why a key is not linearizable, showing at most `tailMax` prefix operations. */
export function describeViolation(violation: KeyViolation, tailMax = 10): string {
  const { key, longestPrefix, stateAfterPrefix, unplaced } = violation
  const lines = [`key ${JSON.stringify(key)} is not linearizable.`]
  const shown = longestPrefix.slice(Math.max(0, longestPrefix.length - tailMax))
  const omitted = longestPrefix.length - shown.length
  lines.push(
    `The longest linearizable prefix has ${longestPrefix.length} operation(s)` +
      (omitted > 0 ? ` (the first ${omitted} not shown):` : ':'),
  )
  for (const op of shown) lines.push(`  ${describeOperation(op)}`)
  lines.push(`after it the key holds ${quote(stateAfterPrefix)}.`)
  lines.push('None of these can be linearized next:')
  for (const op of unplaced) lines.push(`  ${describeOperation(op)}`)
  return lines.join('\n')
}
