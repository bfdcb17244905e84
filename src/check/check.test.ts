/* Hand-written histories: each classic anomaly (stale read, lost append, reverted unknown write,
 * a cas that swapped on a wrong value, a client's own order) is reported as not linearizable on
 * the right key, and valid histories with concurrency, unknown outcomes, nulls, dels and cas on
 * an absent key are accepted. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkHistory, describeViolation, type CheckResult, type Operation } from './index.js'

const never = { timeLimitMs: 60_000, now: (): number => 0 }

function check(operations: Operation[]): CheckResult {
  return checkHistory({ operations }, never)
}

/** A completed operation: `[call, return]`. */
function at(
  client: number,
  call: number,
  ret: number,
): { client: number; call: number; return: number } {
  return { client, call, return: ret }
}

function assertViolation(result: CheckResult, key: string, unplacedIndex: number): void {
  assert.equal(result.verdict, 'not-linearizable')
  assert.equal(result.violation?.key, key, describeViolation(result.violation!))
  const unplaced = result.violation.unplaced.map((op) => op.index)
  assert.ok(unplaced.includes(unplacedIndex), `operations[${unplacedIndex}] in ${unplaced.join()}`)
}

/** A busy, linearizable key next to the faulty one, so the verdict must name the right key. */
const bystander: Operation[] = [
  { ...at(8, 0, 10), op: 'put', key: 'y', value: '8-1' },
  { ...at(9, 5, 50), op: 'get', key: 'y', out: '8-1' },
]

describe('checker: anomalies are caught on the right key', () => {
  test('a stale read: a get returns a value overwritten before it was called', () => {
    const result = check([
      ...bystander,
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(0, 20, 30), op: 'put', key: 'x', value: '0-2' },
      { ...at(1, 40, 50), op: 'get', key: 'x', out: '0-1' },
    ])
    assertViolation(result, 'x', 4)
    assert.deepEqual(
      result.keys.map((key) => [key.key, key.verdict]),
      [
        ['x', 'not-linearizable'],
        ['y', 'linearizable'],
      ],
    )
    assert.equal(result.violation?.stateAfterPrefix, '0-2')
  })

  test('a lost append: a later read misses an acknowledged append', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'append', key: 'x', value: 'a' },
      { ...at(1, 20, 30), op: 'append', key: 'x', value: 'b' },
      ...bystander,
      { ...at(2, 40, 50), op: 'get', key: 'x', out: 'b' },
    ])
    assertViolation(result, 'x', 4)
  })

  test('a lost append seen through the length APPEND returned', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'append', key: 'x', value: 'a' },
      { ...at(1, 20, 30), op: 'append', key: 'x', value: 'b', out: 1 },
    ])
    assertViolation(result, 'x', 1)
  })

  test('a reverted unknown write: its effect is seen, then unseen', () => {
    const result = check([
      { client: 1, call: 0, unknown: true, op: 'put', key: 'x', value: '1-1' },
      { ...at(2, 10, 20), op: 'get', key: 'x', out: '1-1' },
      { ...at(2, 30, 40), op: 'get', key: 'x', out: null },
      ...bystander,
    ])
    assertViolation(result, 'x', 2)
  })

  test('a cas that succeeded although the key held another value', () => {
    const result = check([
      ...bystander,
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 20, 30), op: 'cas', key: 'x', expected: '9-9', value: '1-1', out: true },
    ])
    assertViolation(result, 'x', 3)
  })

  test('a cas that failed although the key held the expected value', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 20, 30), op: 'cas', key: 'x', expected: '0-1', value: '1-1', out: false },
    ])
    assertViolation(result, 'x', 1)
  })

  test("a client's next operation called the instant the previous returned comes after it", () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(0, 10, 10), op: 'get', key: 'x', out: null },
    ])
    assertViolation(result, 'x', 1)
  })

  test('a del that reports removing an absent key', () => {
    const result = check([{ ...at(0, 0, 10), op: 'del', key: 'x', out: 1 }])
    assertViolation(result, 'x', 0)
  })

  test('the report names the prefix, the value after it and the operations left over', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 20, 30), op: 'get', key: 'x', out: '7-7' },
    ])
    assert.equal(
      describeViolation(result.violation!),
      [
        'key "x" is not linearizable.',
        'The longest linearizable prefix has 1 operation(s):',
        '  operations[0] client 0 put "0-1" [0, 10]',
        'after it the key holds "0-1".',
        'None of these can be linearized next:',
        '  operations[1] client 1 get => "7-7" [20, 30]',
      ].join('\n'),
    )
  })
})

describe('checker: valid histories are accepted', () => {
  test('the example of the format document', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 5, 8), op: 'get', key: 'x', out: null },
      { ...at(0, 20, 30), op: 'append', key: 'x', value: 'a', out: 4 },
      { ...at(1, 31, 40), op: 'cas', key: 'x', expected: '0-1a', value: '1-7', out: true },
      { ...at(0, 41, 45), op: 'del', key: 'x', out: 1 },
      { client: 3, op: 'put', key: 'x', value: '3-2', call: 45, unknown: true, note: 'timed out' },
    ])
    assert.deepEqual(result, {
      verdict: 'linearizable',
      keys: [{ key: 'x', verdict: 'linearizable', operations: 6 }],
      violation: null,
    })
  })

  test('concurrent writes may take effect in either order', () => {
    const result = check([
      { ...at(0, 0, 100), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 10, 20), op: 'put', key: 'x', value: '1-1' },
      { ...at(2, 30, 40), op: 'get', key: 'x', out: '1-1' },
      { ...at(2, 50, 60), op: 'get', key: 'x', out: '0-1' },
      { ...at(3, 5, 95), op: 'get', key: 'x', out: null },
    ])
    assert.equal(result.verdict, 'linearizable')
  })

  test('an unknown write may take effect long after its call, or never', () => {
    const result = check([
      { client: 3, call: 0, unknown: true, op: 'put', key: 'x', value: '3-1' },
      { client: 4, call: 0, unknown: true, op: 'append', key: 'x', value: '4-1' },
      { client: 5, call: 1, unknown: true, op: 'del', key: 'x' },
      { ...at(0, 100, 110), op: 'get', key: 'x', out: null },
      { ...at(0, 120, 130), op: 'get', key: 'x', out: '3-1' },
      { ...at(0, 140, 150), op: 'put', key: 'x', value: '0-2' },
      { ...at(0, 160, 170), op: 'get', key: 'x', out: '0-2' },
    ])
    assert.equal(result.verdict, 'linearizable')
  })

  test('an unknown read constrains nothing', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { client: 1, call: 20, unknown: true, op: 'get', key: 'x' },
      { ...at(2, 30, 40), op: 'get', key: 'x', out: '0-1' },
    ])
    assert.deepEqual(result.keys, [{ key: 'x', verdict: 'linearizable', operations: 2 }])
  })

  test('an unknown cas swaps only if the value matched when it took effect', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { client: 1, call: 20, unknown: true, op: 'cas', key: 'x', expected: '0-1', value: '1-1' },
      { ...at(2, 30, 40), op: 'get', key: 'x', out: '1-1' },
    ])
    assert.equal(result.verdict, 'linearizable')
    const wrong = check([
      { ...at(0, 0, 10), op: 'put', key: 'x', value: '0-1' },
      { client: 1, call: 20, unknown: true, op: 'cas', key: 'x', expected: '5-5', value: '1-1' },
      { ...at(2, 30, 40), op: 'get', key: 'x', out: '1-1' },
    ])
    assertViolation(wrong, 'x', 2)
  })

  test('nulls and dels: absent keys read null, del reports 0 or 1', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'get', key: 'x', out: null },
      { ...at(0, 20, 30), op: 'del', key: 'x', out: 0 },
      { ...at(0, 40, 50), op: 'put', key: 'x', value: '0-1' },
      { ...at(1, 60, 70), op: 'del', key: 'x', out: 1 },
      { ...at(1, 80, 90), op: 'del', key: 'x' },
      { ...at(0, 100, 110), op: 'get', key: 'x', out: null },
      { ...at(0, 120, 130), op: 'append', key: 'x', value: 'é', out: 2 },
    ])
    assert.equal(result.verdict, 'linearizable')
  })

  test('cas with expected null creates an absent key, and fails on a present one', () => {
    const result = check([
      { ...at(0, 0, 10), op: 'cas', key: 'x', expected: null, value: '0-1', out: true },
      { ...at(1, 20, 30), op: 'cas', key: 'x', expected: null, value: '1-1', out: false },
      { ...at(1, 40, 50), op: 'get', key: 'x', out: '0-1' },
    ])
    assert.equal(result.verdict, 'linearizable')
  })

  test('an unknown write that never took effect stays pending through a long history', () => {
    const operations: Operation[] = [
      { ...at(0, 0, 2), op: 'put', key: 'x', value: 'v0' },
      { client: 9, call: 3, unknown: true, op: 'append', key: 'x', value: '9-1' },
    ]
    for (let i = 1; i < 5000; i++) {
      const call = 10 * i
      const swap = {
        op: 'cas',
        key: 'x',
        expected: `v${i - 1}`,
        value: `v${i}`,
        out: true,
      } as const
      operations.push({ ...at(0, call, call + 5), ...swap })
    }
    assert.equal(check(operations).verdict, 'linearizable')
    operations.push({ ...at(0, 60_000, 60_010), op: 'get', key: 'x', out: 'v4999' })
    operations.push({ ...at(0, 60_020, 60_030), op: 'get', key: 'x', out: 'v4999' })
    assert.equal(check(operations).verdict, 'linearizable')
    operations.push({ ...at(0, 60_040, 60_050), op: 'get', key: 'x', out: 'v4999' + '9-1' })
    operations.push({ ...at(0, 60_060, 60_070), op: 'get', key: 'x', out: 'v4999' })
    assertViolation(check(operations), 'x', 5004)
  })

  test('an empty history is linearizable', () => {
    assert.deepEqual(check([]), { verdict: 'linearizable', keys: [], violation: null })
  })
})

describe('checker: the time limit', () => {
  /** 16 concurrent appends of distinct values, then a read nothing can explain: proving that
   * takes the search through every order of the appends. */
  function adversarial(appends: number): Operation[] {
    const operations: Operation[] = []
    for (let client = 0; client < appends; client++) {
      operations.push({ ...at(client, client, 1000), op: 'append', key: 'x', value: `${client}-1` })
    }
    operations.push({ ...at(appends, 2000, 2010), op: 'get', key: 'x', out: 'impossible' })
    return operations
  }

  test('a search that cannot finish in time answers unknown instead of hanging', () => {
    let clockReads = 0
    const result = checkHistory(
      { operations: adversarial(16) },
      { timeLimitMs: 20, now: () => clockReads++ },
    )
    assert.equal(result.verdict, 'unknown')
    assert.deepEqual(result.keys, [
      { key: 'x', verdict: 'unknown', operations: 17, reason: 'time limit' },
    ])
    assert.ok(clockReads >= 20 && clockReads < 30, `stopped at the deadline (${clockReads} reads)`)
  })

  test('a search that outgrows its memo bound answers unknown instead of exhausting the heap', () => {
    const result = checkHistory(
      { operations: adversarial(16) },
      { timeLimitMs: 60_000, now: () => 0, memoEntriesMax: 5000 },
    )
    assert.equal(result.verdict, 'unknown')
    assert.deepEqual(result.keys, [
      { key: 'x', verdict: 'unknown', operations: 17, reason: 'memory limit' },
    ])
  })

  test('keys left when time runs out are unknown; a proven violation still wins', () => {
    let clockReads = 0
    const operations: Operation[] = [
      ...adversarial(16),
      { ...at(90, 0, 10), op: 'get', key: 'a', out: 'never-written' },
    ]
    const result = checkHistory({ operations }, { timeLimitMs: 10, now: () => clockReads++ })
    assert.equal(result.verdict, 'not-linearizable')
    assert.equal(result.violation?.key, 'a')
    assert.deepEqual(
      result.keys.map((key) => key.verdict),
      ['not-linearizable', 'unknown'],
    )
  })
})
