/* The history format's validator: valid files round-trip, and every kind of invalid file is
 * rejected with the path of the offending field and a precise reason. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidHistoryError, parseHistory, validateHistory } from './index.js'

const put = { client: 0, op: 'put', key: 'x', value: '0-1', call: 0, return: 10 }
const get = { client: 1, op: 'get', key: 'x', call: 5, return: 8, out: null }

function rejects(history: unknown, message: string): void {
  assert.throws(
    () => parseHistory(JSON.stringify(history)),
    (error: unknown) => {
      assert.ok(error instanceof InvalidHistoryError)
      assert.equal(error.message, message)
      return true
    },
  )
}

function rejectsOperation(operation: Record<string, unknown>, message: string): void {
  rejects({ operations: [put, operation] }, message)
}

describe('history format: valid files', () => {
  test('the example of the format document parses to the same operations', () => {
    const operations = [
      put,
      get,
      { client: 0, op: 'append', key: 'x', value: 'a', call: 20, return: 30, out: 4 },
      {
        client: 1,
        op: 'cas',
        key: 'x',
        expected: '0-1a',
        value: '1-7',
        call: 31,
        return: 40,
        out: true,
      },
      { client: 0, op: 'del', key: 'x', call: 41, return: 45, out: 1 },
      { client: 3, op: 'put', key: 'x', value: '3-2', call: 45, unknown: true, note: 'timed out' },
    ]
    assert.deepEqual(parseHistory(JSON.stringify({ operations })), { operations })
  })

  test('optional fields: cas expected null, unknown false, outputs of append and del omitted', () => {
    const operations = [
      { client: 0, op: 'cas', key: 'x', expected: null, value: 'v', call: 0, return: 1, out: true },
      { client: 0, op: 'append', key: 'x', value: 'a', call: 1, return: 2, unknown: false },
      { client: 0, op: 'del', key: 'x', call: 2, return: 2 },
      { client: 1, op: 'get', key: 'x', call: 0, unknown: true },
    ]
    assert.deepEqual(validateHistory({ operations }), { operations })
  })

  test('a client may call again at the very time its previous operation returned', () => {
    const operations = [put, { ...get, client: 0, call: 10, return: 12 }]
    assert.equal(parseHistory(JSON.stringify({ operations })).operations.length, 2)
  })
})

describe('history format: invalid files name the field and the reason', () => {
  test('the document: JSON syntax, shape, and unknown top-level fields', () => {
    assert.throws(
      () => parseHistory('{"operations": ['),
      /^InvalidHistoryError: \(root\): not valid JSON: /,
    )
    rejects([], '(root): must be an object with the field "operations"')
    rejects({}, 'operations: required')
    rejects({ operations: {} }, 'operations: must be an array')
    rejects({ operations: [], version: 1 }, 'version: unknown field')
    rejects({ operations: [put, 3] }, 'operations[1]: must be an object')
  })

  test('missing, unknown and extra fields', () => {
    rejectsOperation({ ...get, color: 'red' }, 'operations[1].color: unknown field')
    rejectsOperation({ ...get, value: 'v' }, 'operations[1].value: not allowed for get')
    rejectsOperation({ ...put, expected: 'v' }, 'operations[1].expected: not allowed for put')
    rejectsOperation({ ...put, out: 'OK' }, 'operations[1].out: not allowed for put')
    const { client: _client, ...noClient } = get
    rejectsOperation(noClient, 'operations[1].client: required')
    const { op: _op, ...noOp } = get
    rejectsOperation(noOp, 'operations[1].op: required')
    const { key: _key, ...noKey } = get
    rejectsOperation(noKey, 'operations[1].key: required')
    const { call: _call, ...noCall } = get
    rejectsOperation(noCall, 'operations[1].call: required')
  })

  test('wrong types', () => {
    rejectsOperation({ ...get, client: -1 }, 'operations[1].client: must be an integer >= 0')
    rejectsOperation({ ...get, client: 1.5 }, 'operations[1].client: must be an integer >= 0')
    rejectsOperation(
      { ...get, op: 'incr' },
      'operations[1].op: must be one of get, put, append, cas, del',
    )
    rejectsOperation({ ...get, key: 7 }, 'operations[1].key: must be a string')
    rejectsOperation({ ...get, call: '5' }, 'operations[1].call: must be an integer')
    rejectsOperation({ ...get, call: 2 ** 60 }, 'operations[1].call: must be an integer')
    rejectsOperation({ ...get, return: 9.5 }, 'operations[1].return: must be an integer')
    rejectsOperation({ ...put, value: 1 }, 'operations[1].value: must be a string')
    rejectsOperation({ ...get, note: 1 }, 'operations[1].note: must be a string')
    rejectsOperation({ ...get, unknown: 'yes' }, 'operations[1].unknown: must be true or false')
  })

  test('return before call', () => {
    rejectsOperation({ ...get, call: 9, return: 8 }, 'operations[1].return: must be >= call')
  })

  test('op-specific required fields and outputs', () => {
    const { value: _value, ...putNoValue } = put
    rejectsOperation({ ...putNoValue, client: 2 }, 'operations[1].value: required for put')
    const cas = {
      client: 2,
      op: 'cas',
      key: 'x',
      expected: 'a',
      value: 'b',
      call: 0,
      return: 1,
      out: true,
    }
    const { expected: _expected, ...casNoExpected } = cas
    rejectsOperation(casNoExpected, 'operations[1].expected: required for cas')
    rejectsOperation({ ...cas, expected: 3 }, 'operations[1].expected: must be a string or null')
    const { out: _casOut, ...casNoOut } = cas
    rejectsOperation(casNoOut, 'operations[1].out: required for a completed cas')
    rejectsOperation({ ...cas, out: 1 }, 'operations[1].out: must be true or false')
    const { out: _getOut, ...getNoOut } = get
    rejectsOperation(getNoOut, 'operations[1].out: required for a completed get')
    rejectsOperation({ ...get, out: 3 }, 'operations[1].out: must be a string or null')
    const append = { client: 2, op: 'append', key: 'x', value: 'a', call: 0, return: 1 }
    rejectsOperation(
      { ...append, out: -1 },
      'operations[1].out: must be an integer >= 0 (the new length)',
    )
    const del = { client: 2, op: 'del', key: 'x', call: 0, return: 1 }
    rejectsOperation({ ...del, out: 2 }, 'operations[1].out: must be 0 or 1')
  })

  test('unknown and return mixed up', () => {
    const { return: _return, ...getNoReturn } = get
    rejectsOperation(getNoReturn, 'operations[1].return: required unless unknown is true')
    rejectsOperation(
      { ...getNoReturn, unknown: false },
      'operations[1].return: required unless unknown is true',
    )
    rejectsOperation(
      { ...get, unknown: true },
      'operations[1].return: not allowed when unknown is true',
    )
    rejectsOperation(
      { ...getNoReturn, unknown: true },
      'operations[1].out: not allowed when unknown is true',
    )
  })

  test('a client with two operations in flight', () => {
    rejects(
      { operations: [put, { ...get, client: 0, call: 9, return: 20 }] },
      'operations[1].call: client 0 still has operations[0] in flight (until 10)',
    )
    const { return: _return, ...unknownPut } = put
    rejects(
      {
        operations: [
          { ...get, client: 0, call: 50, return: 60 },
          { ...unknownPut, unknown: true },
        ],
      },
      'operations[0].call: client 0 still has operations[1] in flight (its outcome is unknown)',
    )
  })
})
