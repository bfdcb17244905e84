/* Tests of the cluster bench's and failover runs' report: ratios against etcd's row of the same
 * operation, the target verdicts, failed rows, failover medians and error grouping. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  clusterTable,
  errorKind,
  failoverSummaryLine,
  failoverTable,
  summarizeFailover,
  verdictLines,
  type ClusterRow,
  type FailoverTrial,
} from './cluster-report.js'
import type { LoadResult } from './load.js'

function load(opsPerSecond: number, p50Ms: number, p99Ms: number): LoadResult {
  return {
    operations: opsPerSecond * 20,
    errors: 0,
    errorSamples: [],
    elapsedMs: 20_000,
    opsPerSecond,
    p50Ms,
    p99Ms,
    maxMs: p99Ms * 2,
  }
}

function row(
  system: ClusterRow['system'],
  label: string,
  op: ClusterRow['op'],
  result: LoadResult | null,
): ClusterRow {
  return { system, label, op, result, error: result === null ? 'did not start' : null }
}

const rows: ClusterRow[] = [
  row('caskade', 'caskade, SET to the leader', 'write', load(4_000, 8, 20)),
  row('caskade', 'caskade, GET on the leader', 'read', load(1_000, 30, 90)),
  row('etcd', 'etcd, put', 'write', load(2_000, 20, 60)),
  row('etcd', 'etcd, get', 'read', load(2_000, 20, 60)),
]

describe('the cluster table', () => {
  test('shows each row with its rate, latencies and its ratio to etcd for the same op', () => {
    const lines = clusterTable(rows).split('\n')
    assert.equal(lines.length, 6)
    assert.match(lines[0] ?? '', /^\| system \| op \| ops\/s \| p50 ms \| p99 ms \| errors \|/)
    assert.equal(
      lines[2],
      '| caskade, SET to the leader | write | 4,000 | 8.00 | 20.00 | 0 | 2.00x |',
    )
    assert.equal(
      lines[3],
      '| caskade, GET on the leader | read | 1,000 | 30.00 | 90.00 | 0 | 0.50x |',
    )
    assert.equal(lines[4], '| etcd, put | write | 2,000 | 20.00 | 60.00 | 0 |  |')
  })

  test('a failed row says failed, and a caskade row without etcd has no ratio', () => {
    const failed = row('caskade', 'caskade, SET to the leader', 'write', null)
    const alone = row('caskade', 'caskade, GET on the leader', 'read', load(10, 1, 2))
    const lines = clusterTable([failed, alone]).split('\n')
    assert.equal(
      lines[2],
      '| caskade, SET to the leader | write | failed | n/a | n/a | n/a | n/a |',
    )
    assert.equal(lines[3], '| caskade, GET on the leader | read | 10 | 1.00 | 2.00 | 0 | n/a |')
  })
})

describe('the verdict against issue 5', () => {
  test('writes need 1.5x etcd and reads 1x, both at a p99 no higher than etcd', () => {
    assert.deepEqual(verdictLines(rows), [
      "- writes (caskade, SET to the leader): 2.00x etcd's ops/s, p99 20.00 vs 60.00 ms: met " +
        '(target >= 1.5x at equal or lower p99)',
      "- reads (caskade, GET on the leader): 0.50x etcd's ops/s, p99 90.00 vs 60.00 ms: NOT met " +
        '(target >= 1.0x at equal or lower p99)',
    ])
  })

  test('a fast write with a worse p99 is not met, and no etcd means no comparison', () => {
    const slowTail = [rows[0], rows[2]].map((r) => r as ClusterRow)
    slowTail[0] = row('caskade', 'caskade, SET', 'write', load(9_000, 1, 61))
    assert.match(verdictLines(slowTail)[0] ?? '', /4\.50x .*: NOT met/)
    assert.deepEqual(verdictLines([rows[0] as ClusterRow]), [
      '- writes (caskade, SET to the leader): no comparison (target >= 1.5x at equal or lower p99)',
    ])
  })
})

describe('failover trials', () => {
  const trial = (n: number, failoverMs: number | null, error: string | null): FailoverTrial => ({
    trial: n,
    killed: 'n1',
    newLeader: 'n2',
    failoverMs,
    catchUpMs: 40,
    failures: { ECONNREFUSED: 1, TRYAGAIN: 3 },
    laterFailures: {},
    error,
  })

  test('median, worst and best come from the successful trials only', () => {
    const trials = [trial(1, 900, null), trial(2, 1_400, null), trial(3, 700, null)]
    assert.deepEqual(summarizeFailover(trials), {
      trials: 3,
      succeeded: 3,
      medianMs: 900,
      worstMs: 1_400,
      bestMs: 700,
    })
    assert.equal(
      failoverSummaryLine(summarizeFailover(trials)),
      '- 3/3 trials: median 900.00 ms, worst 1400.00 ms, best 700.00 ms: met ' +
        '(target: median < 1500 ms)',
    )
  })

  test('a failed trial shows as failed and the target is then not met', () => {
    const trials = [trial(1, 500, null), trial(2, null, 'no write acknowledged')]
    assert.match(failoverSummaryLine(summarizeFailover(trials)), /^- 1\/2 trials: .*NOT met/)
    const lines = failoverTable(trials).split('\n')
    const failures = '3x TRYAGAIN; 1x ECONNREFUSED | none'
    assert.equal(lines[2], `| 1 | n1 | n2 | 500.00 | 40.00 | ${failures} |`)
    assert.equal(lines[3], `| 2 | n1 | n2 | failed | 40.00 | ${failures} |`)
  })

  test('write errors group by their RESP code, socket code or timeout', () => {
    assert.equal(errorKind('TRYAGAIN no leader, try again'), 'TRYAGAIN')
    assert.equal(errorKind('UNCERTAIN the write may or may not have been applied'), 'UNCERTAIN')
    assert.equal(errorKind('connect ECONNREFUSED 127.0.0.1:40123'), 'ECONNREFUSED')
    assert.equal(errorKind('Command timed out'), 'timeout')
    assert.equal(
      errorKind('ERR sequence 70 is older than the last'),
      'ERR sequence N is older than the last',
    )
    assert.equal(errorKind('Reached the max retries per request limit (which is 0).'), 'connection')
    assert.equal(
      errorKind("Stream isn't writeable and enableOfflineQueue options is false"),
      'connection',
    )
  })
})
