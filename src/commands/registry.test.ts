import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { derivedAclCategories } from './command-docs.js'
import { commandMeta } from './command-meta.js'
import { buildCommandTable, commandTable } from './registry.js'
import type { CommandSpec } from './types.js'

function spec(overrides: Partial<CommandSpec>): CommandSpec {
  return {
    name: 'x',
    arity: 1,
    flags: [],
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    group: 'generic',
    summary: '',
    since: '1.0.0',
    complexity: 'O(1)',
    handler: (ctx) => ctx.reply.simple('OK'),
    ...overrides,
  }
}

/** The legacy (first, last, step) Redis derives from index/range key specs. */
function legacyRange(name: string): [number, number, number] | null {
  const keySpecs = commandMeta.get(name)?.keySpecs ?? []
  if (keySpecs.length === 0) return [0, 0, 0]
  let first = 0
  let last = 0
  let step = 0
  for (const keySpec of keySpecs) {
    const specLast = keySpec.lastKey >= 0 ? keySpec.index + keySpec.lastKey : keySpec.lastKey
    if (first === 0) {
      ;[first, last, step] = [keySpec.index, specLast, keySpec.keyStep]
    } else if (keySpec.index === last + 1 && keySpec.keyStep === step && last >= 0) {
      last = specLast
    } else {
      return null
    }
  }
  return [first, last, step]
}

describe('registry', () => {
  test('rejects duplicate names', () => {
    assert.throws(() => buildCommandTable([[spec({ name: 'a' })], [spec({ name: 'a' })]]), {
      name: 'AssertionError',
      message: 'a: duplicate command name',
    })
  })

  test('rejects arity 0, uppercase names and impossible key positions', () => {
    const bad: Array<Partial<CommandSpec>> = [
      { arity: 0 },
      { name: 'Get' },
      { firstKey: 1, lastKey: 1, keyStep: 0, arity: 2 },
      { firstKey: 2, lastKey: 2, keyStep: 1, arity: 2 },
      { firstKey: 1, lastKey: 3, keyStep: 1, arity: 3 },
      { firstKey: 1, lastKey: -1, keyStep: 1, arity: 3 },
      { firstKey: 0, lastKey: 1, keyStep: 1, arity: 3 },
      { name: 'a|b' },
    ]
    for (const overrides of bad) {
      assert.throws(() => buildCommandTable([[spec(overrides)]]), AssertionError)
    }
  })

  test('checks containers: arity -1/-2, subcommands named container|sub', () => {
    const sub = spec({ name: 'c|s', arity: 2 })
    assert.doesNotThrow(() =>
      buildCommandTable([[spec({ name: 'c', arity: -2, subcommands: [sub] })]]),
    )
    assert.throws(
      () => buildCommandTable([[spec({ name: 'c', arity: 2, subcommands: [sub] })]]),
      AssertionError,
    )
    assert.throws(
      () =>
        buildCommandTable([
          [spec({ name: 'c', arity: -2, subcommands: [spec({ name: 'd|s', arity: 2 })] })],
        ]),
      AssertionError,
    )
    assert.throws(
      () => buildCommandTable([[spec({ name: 'c', arity: -2, subcommands: [sub, sub] })]]),
      AssertionError,
    )
  })

  test('the real table holds every family', () => {
    for (const name of ['get', 'set', 'del', 'expire', 'ping', 'hello', 'client', 'info']) {
      assert.ok(commandTable.has(name), name)
    }
    for (const name of ['command', 'config', 'dbsize', 'flushall', 'shutdown', 'debug']) {
      assert.ok(commandTable.has(name), name)
    }
  })

  test("every spec's key positions agree with Redis's key specs for it", () => {
    for (const command of commandTable.values()) {
      for (const one of [command, ...(command.subcommands ?? [])]) {
        if (!commandMeta.has(one.name)) continue
        assert.deepEqual(
          [one.firstKey, one.lastKey, one.keyStep],
          legacyRange(one.name),
          `${one.name} key positions`,
        )
      }
    }
  })

  test('categories derived from flags and group match Redis for ordinary commands', () => {
    // Commands without metadata (a new family) get derived categories; check the derivation.
    for (const name of ['get', 'set', 'mget', 'incr', 'del', 'exists', 'expire', 'ttl', 'ping']) {
      const command = commandTable.get(name)
      assert.ok(command !== undefined, name)
      assert.deepEqual(
        derivedAclCategories(command),
        commandMeta.get(name)?.acl,
        `${name} categories`,
      )
    }
  })
})
