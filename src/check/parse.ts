/* Parser and validator of the JSON history format (docs/history-format.md). Invariant: a History
 * that leaves here obeys every rule of the format, so the search never meets a malformed
 * operation; anything else is rejected with the path of the first bad field and the reason. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { History, OpKind, Operation } from './types.js'

/** The file is not a valid history; `message` is `<path>: <reason>`, e.g.
 * `operations[4].return: must be >= call`. */
export class InvalidHistoryError extends CaskadeError {
  override name = 'InvalidHistoryError'
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    super(ErrorCode.Err, `${path}: ${reason}`)
    this.path = path
    this.reason = reason
  }
}

const opKinds: readonly OpKind[] = ['get', 'put', 'append', 'cas', 'del']
const commonFields = ['client', 'op', 'key', 'call', 'return', 'unknown', 'note', 'out']
const extraFields: Record<OpKind, readonly string[]> = {
  get: [],
  put: ['value'],
  append: ['value'],
  cas: ['expected', 'value'],
  del: [],
}

type Fields = Record<string, unknown>

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(path: string, reason: string): never {
  throw new InvalidHistoryError(path, reason)
}

function requireInteger(fields: Fields, name: string, path: string, min?: number): number {
  const value = fields[name]
  if (value === undefined) fail(`${path}.${name}`, 'required')
  const bound = min === undefined ? '' : ` >= ${min}`
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    (min !== undefined && value < min)
  ) {
    fail(`${path}.${name}`, `must be an integer${bound}`)
  }
  return value
}

function requireString(
  fields: Fields,
  name: string,
  path: string,
  nullable: boolean,
): string | null {
  const value = fields[name]
  if (value === undefined) fail(`${path}.${name}`, `required for ${String(fields.op)}`)
  if (typeof value === 'string' || (nullable && value === null)) return value
  fail(`${path}.${name}`, nullable ? 'must be a string or null' : 'must be a string')
}

function validateOut(fields: Fields, op: OpKind, path: string, unknown: boolean): void {
  const out = fields.out
  if (unknown) {
    if (out !== undefined) fail(`${path}.out`, 'not allowed when unknown is true')
    return
  }
  const outPath = `${path}.out`
  switch (op) {
    case 'get':
      if (out === undefined) fail(outPath, 'required for a completed get')
      if (typeof out !== 'string' && out !== null) fail(outPath, 'must be a string or null')
      return
    case 'cas':
      if (out === undefined) fail(outPath, 'required for a completed cas')
      if (typeof out !== 'boolean') fail(outPath, 'must be true or false')
      return
    case 'append':
      if (out !== undefined && !(Number.isSafeInteger(out) && (out as number) >= 0)) {
        fail(outPath, 'must be an integer >= 0 (the new length)')
      }
      return
    case 'del':
      if (out !== undefined && out !== 0 && out !== 1) fail(outPath, 'must be 0 or 1')
      return
    case 'put':
      if (out !== undefined) fail(outPath, 'not allowed for put')
  }
}

function validateTimes(fields: Fields, path: string): boolean {
  requireInteger(fields, 'call', path)
  const unknown = fields.unknown
  if (unknown !== undefined && typeof unknown !== 'boolean') {
    fail(`${path}.unknown`, 'must be true or false')
  }
  if (unknown === true) {
    if (fields.return !== undefined) fail(`${path}.return`, 'not allowed when unknown is true')
    return true
  }
  if (fields.return === undefined) fail(`${path}.return`, 'required unless unknown is true')
  const returnTime = requireInteger(fields, 'return', path)
  if (returnTime < (fields.call as number)) fail(`${path}.return`, 'must be >= call')
  return false
}

function validateOperation(value: unknown, path: string): Operation {
  if (!isObject(value)) fail(path, 'must be an object')
  const op = value.op
  if (op === undefined) fail(`${path}.op`, 'required')
  if (typeof op !== 'string' || !opKinds.includes(op as OpKind)) {
    fail(`${path}.op`, `must be one of ${opKinds.join(', ')}`)
  }
  const kind = op as OpKind
  for (const name of Object.keys(value)) {
    if (commonFields.includes(name) || extraFields[kind].includes(name)) continue
    const known = name === 'value' || name === 'expected'
    fail(`${path}.${name}`, known ? `not allowed for ${kind}` : 'unknown field')
  }
  requireInteger(value, 'client', path, 0)
  if (value.key === undefined) fail(`${path}.key`, 'required')
  if (typeof value.key !== 'string') fail(`${path}.key`, 'must be a string')
  if (kind === 'put' || kind === 'append' || kind === 'cas')
    requireString(value, 'value', path, false)
  if (kind === 'cas') requireString(value, 'expected', path, true)
  const unknown = validateTimes(value, path)
  validateOut(value, kind, path, unknown)
  if (value.note !== undefined && typeof value.note !== 'string') {
    fail(`${path}.note`, 'must be a string')
  }
  return value as unknown as Operation
}

/** One client never has two operations in flight: sorted by call, each operation starts at or
 * after the previous one returned (equal times are allowed: a client on virtual time sends the
 * next request the instant it reads a reply), and nothing follows an unknown outcome. */
function validateClients(operations: readonly Operation[]): void {
  const byClient = new Map<number, number[]>()
  operations.forEach((operation, index) => {
    const list = byClient.get(operation.client)
    if (list === undefined) byClient.set(operation.client, [index])
    else list.push(index)
  })
  for (const [client, indexes] of byClient) {
    indexes.sort((a, b) => operations[a]!.call - operations[b]!.call || a - b)
    for (let i = 1; i < indexes.length; i++) {
      const before = operations[indexes[i - 1]!]!
      const after = operations[indexes[i]!]!
      const path = `operations[${indexes[i]}].call`
      const other = `operations[${indexes[i - 1]}]`
      if (before.return === undefined) {
        fail(path, `client ${client} still has ${other} in flight (its outcome is unknown)`)
      }
      if (after.call < before.return) {
        fail(path, `client ${client} still has ${other} in flight (until ${before.return})`)
      }
    }
  }
}

/** Validates an already-decoded value (e.g. a history the simulator built in memory). */
export function validateHistory(value: unknown): History {
  if (!isObject(value)) fail('(root)', 'must be an object with the field "operations"')
  for (const name of Object.keys(value)) {
    if (name !== 'operations') fail(name, 'unknown field')
  }
  const operations = value.operations
  if (operations === undefined) fail('operations', 'required')
  if (!Array.isArray(operations)) fail('operations', 'must be an array')
  const validated = operations.map((operation, index) =>
    validateOperation(operation, `operations[${index}]`),
  )
  validateClients(validated)
  return { operations: validated }
}

/** Decodes and validates a history file's text; throws InvalidHistoryError with the reason. */
export function parseHistory(json: string): History {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (error) {
    fail('(root)', `not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return validateHistory(value)
}
