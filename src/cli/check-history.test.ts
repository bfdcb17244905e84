/* End to end: `caskade check-history FILE` answers with its exit code (0 linearizable, 1 not,
 * 2 unknown at the time limit, 3 invalid file) and prints what a reader needs to act on it. */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { makeTempDir, removeDir, runCli } from '../../test/helpers/server-process.js'
import type { Operation } from '../check/index.js'

const dir = makeTempDir('caskade-check-')
after(() => removeDir(dir))

function historyFile(name: string, content: unknown): string {
  const file = path.join(dir, name)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

const valid: Operation[] = [
  { client: 0, op: 'put', key: 'x', value: '0-1', call: 0, return: 10 },
  { client: 1, op: 'get', key: 'x', call: 5, return: 8, out: null },
  { client: 0, op: 'append', key: 'x', value: 'a', call: 20, return: 30, out: 4 },
  { client: 2, op: 'put', key: 'y', value: '2-1', call: 21, unknown: true },
]

describe('caskade check-history', () => {
  test('exit 0 for a linearizable history', async () => {
    const result = await runCli(['check-history', historyFile('ok.json', { operations: valid })])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^linearizable \(4 operations on 2 keys, \d+ ms\)\n$/)
  })

  test('exit 1 naming the key and the operations that cannot be linearized', async () => {
    const stale: Operation[] = [
      ...valid,
      { client: 1, op: 'get', key: 'x', call: 40, return: 50, out: '0-1' },
    ]
    const result = await runCli(['check-history', historyFile('stale.json', { operations: stale })])
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stdout, /^not linearizable \(5 operations on 2 keys/)
    assert.match(result.stdout, /failing keys \(1\): "x"\n/)
    assert.match(result.stdout, /after it the key holds "0-1a"\./)
    assert.match(
      result.stdout,
      /None of these can be linearized next:\n {2}operations\[4\] client 1 get => "0-1" \[40, 50\]/,
    )
  })

  test('exit 2 when the time limit runs out', async () => {
    const operations: Operation[] = []
    for (let client = 0; client < 16; client++) {
      operations.push({
        client,
        op: 'append',
        key: 'x',
        value: `${client}-1`,
        call: 0,
        return: 100,
      })
    }
    operations.push({ client: 99, op: 'get', key: 'x', call: 200, return: 210, out: 'impossible' })
    const file = historyFile('hard.json', { operations })
    const result = await runCli(['check-history', file, '--time-limit', '0.2'])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stdout, /^unknown: the time limit of 0.2 s ran out/)
    assert.match(result.stdout, /undecided keys \(1\): "x" \(time limit\)\n/)
  })

  test('exit 3 with the reason for a file that is not a valid history', async () => {
    const operations = [...valid, { client: 3, op: 'get', key: 'x', call: 9, return: 8, out: null }]
    const invalid = await runCli(['check-history', historyFile('bad.json', { operations })])
    assert.equal(invalid.code, 3)
    assert.match(
      invalid.stderr,
      /is not a valid history: operations\[4\]\.return: must be >= call\n/,
    )
    const notJson = await runCli(['check-history', historyFile('text.json', 'hello')])
    assert.equal(notJson.code, 3)
    assert.match(notJson.stderr, /is not a valid history: \(root\): not valid JSON/)
    const missing = await runCli(['check-history', path.join(dir, 'absent.json')])
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /cannot read .*absent\.json/)
  })

  test('a bad --time-limit is a usage error', async () => {
    const file = historyFile('ok2.json', { operations: valid })
    const result = await runCli(['check-history', file, '--time-limit', '-1'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /invalid --time-limit '-1'/)
  })
})
