/* The lost-write check: an acknowledged write nothing could overwrite must be in the final value;
 * writes that a later or concurrent put, del, successful or unknown cas may have replaced are
 * not judged. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HistoryOperation } from './history.js'
import { findLostWrites } from './lost-writes.js'

const put = (value: string, call: number, ret?: number): HistoryOperation => ({
  client: 0,
  op: 'put',
  key: 'k',
  value,
  call,
  ...(ret === undefined ? { unknown: true } : { return: ret }),
})
const append = (value: string, call: number, ret: number): HistoryOperation => ({
  client: 1,
  op: 'append',
  key: 'k',
  value,
  call,
  return: ret,
})

test('an acknowledged append missing from the final value is reported', () => {
  const history = [put('0-1', 0, 10), append('1-1', 20, 30), append('1-2', 40, 50)]
  assert.deepEqual(findLostWrites(history, new Map([['k', '0-11-11-2']])), [])
  const lost = findLostWrites(history, new Map([['k', '0-11-2']]))
  assert.equal(lost.length, 1)
  assert.match(lost[0] ?? '', /append k "1-1"/)
  assert.equal(findLostWrites(history, new Map([['k', null]])).length, 3)
})

test('a write that a later or concurrent overwrite may have replaced is not judged', () => {
  const overwritten = [append('1-1', 20, 30), put('0-2', 25, 60)]
  assert.deepEqual(findLostWrites(overwritten, new Map([['k', '0-2']])), [])
  const unknownPut = [append('1-1', 20, 30), put('0-3', 0)]
  assert.deepEqual(findLostWrites(unknownPut, new Map([['k', '0-3']])), [])
  const failedCas: HistoryOperation = {
    client: 2,
    op: 'cas',
    key: 'k',
    expected: 'nope',
    value: '2-1',
    call: 40,
    return: 45,
    out: false,
  }
  assert.equal(findLostWrites([append('1-1', 20, 30), failedCas], new Map([['k', '']])).length, 1)
})
