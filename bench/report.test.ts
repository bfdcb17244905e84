/* Tests of the bench report: medians, number formats and the tables' shape, including how a
 * failed or missing measurement is shown. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  datasetTable,
  emptyCell,
  formatLatency,
  formatOps,
  formatRatio,
  median,
  throughputTable,
  type DatasetResult,
} from './report.js'

describe('median', () => {
  test('of an odd count is the middle value, of an even count the mean of the middle two', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 3, 2]), 2.5)
    assert.equal(median([]), null)
  })
})

describe('throughput cells', () => {
  test('show the median rate, p50/p99 and the caskade/redis ratio', () => {
    const caskade = {
      requestsPerSecond: [50_000, 40_000, 60_000],
      p50Ms: [0.2, 0.3, 0.25],
      p99Ms: [1, 2, 3],
      errors: [],
    }
    const redis = { requestsPerSecond: [100_000], p50Ms: [0.1], p99Ms: [0.5], errors: [] }
    assert.equal(formatOps(caskade), '50,000')
    assert.equal(formatLatency(caskade), '0.250 / 2.000')
    assert.equal(formatRatio(caskade, redis), '0.50x')
  })

  test('a failed cell says failed and has no ratio; a missing redis says n/a', () => {
    const failed = { ...emptyCell(), errors: ['caskade, set -P 1: the server exited'] }
    const fine = { ...emptyCell(), requestsPerSecond: [1] }
    assert.equal(formatOps(failed), 'failed')
    assert.equal(formatLatency(failed), 'failed')
    assert.equal(formatRatio(fine, failed), 'n/a')
    assert.equal(formatOps(null), 'n/a')
    assert.equal(formatRatio(fine, null), 'n/a')
  })

  test('the table has a header, a rule and one line per row', () => {
    const cell = { requestsPerSecond: [1000], p50Ms: [0.1], p99Ms: [0.2], errors: [] }
    const table = throughputTable([
      { command: 'SET', pipeline: 1, caskade: cell, redis: cell },
      { command: 'GET', pipeline: 16, caskade: cell, redis: null },
    ])
    const lines = table.split('\n')
    assert.equal(lines.length, 4)
    assert.match(lines[0] ?? '', /^\| command \| pipeline \| caskade ops\/s \| redis ops\/s/)
    assert.equal(lines[2], '| SET | 1 | 1,000 | 1,000 | 1.00x | 0.100 / 0.200 | 0.100 / 0.200 |')
    assert.equal(lines[3], '| GET | 16 | 1,000 | n/a | n/a | 0.100 / 0.200 | n/a |')
  })
})

test('the dataset table shows sizes in MiB and the median restart time', () => {
  const result: DatasetResult = {
    server: 'redis',
    fsyncPolicy: 'appendfsync everysec',
    keysLoaded: 1_000_000,
    loadMs: 2500,
    dbSizeAfterLoad: 1_000_000,
    rssIdleBytes: 8 * 1024 * 1024,
    rssLoadedBytes: 150 * 1024 * 1024,
    usedMemoryBytes: null,
    restartMs: [900, 700, 800.26],
    dbSizeAfterRestart: 1_000_000,
    error: null,
  }
  const row = datasetTable([result]).split('\n')[2]
  assert.equal(
    row,
    '| redis | appendfsync everysec | 1,000,000 | 2.5 | 1,000,000 | 8.0 MiB | 150.0 MiB | n/a ' +
      '| 800.3 | 900, 700, 800 | 1,000,000 |',
  )
})
