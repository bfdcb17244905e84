/* Node identity: names are validated, ids are stable, safe, non-zero and spread out. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { nodeIdOf, validNodeName } from './node-id.js'

test('valid node names are 1..64 of [A-Za-z0-9_-]', () => {
  for (const name of ['n1', 'node_2', 'A-b', 'x'.repeat(64)])
    assert.equal(validNodeName(name), true)
  for (const name of ['', 'x'.repeat(65), 'n 1', 'n.1', 'nœud', 'a:b']) {
    assert.equal(validNodeName(name), false, name)
  }
})

test('nodeIdOf is FNV-1a 64 of the UTF-8 name, low 53 bits, stable across runs', () => {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; its low 53 bits:
  assert.equal(nodeIdOf('a'), Number(0xaf63dc4c8601ec8cn & ((1n << 53n) - 1n)))
  assert.equal(nodeIdOf('n1'), nodeIdOf('n1'))
  const ids = new Set<number>()
  for (let i = 0; i < 1000; i++) {
    const id = nodeIdOf(`n${i}`)
    assert.ok(Number.isSafeInteger(id) && id > 0)
    ids.add(id)
  }
  assert.equal(ids.size, 1000)
})

test('nodeIdOf refuses an invalid name', () => {
  assert.throws(() => nodeIdOf('bad name'))
})
