/* Tests of the cluster bench's and failover runs' options: defaults from the issue (20 s per
 * phase, 50 in flight, 20 trials), overrides, and rejection of nonsense values. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseClusterBenchOptions, parseFailoverOptions } from './cluster-options.js'

test('the cluster bench defaults to 20 s per phase, 50 in flight, 100 B values, etcd on', () => {
  assert.deepEqual(parseClusterBenchOptions([]), {
    seconds: 20,
    warmupSeconds: 2,
    inFlight: 50,
    valueBytes: 100,
    keys: 10_000,
    etcd: true,
    cpuProfDir: null,
  })
})

test('the cluster bench takes seconds, in-flight, --no-etcd and a profile dir', () => {
  const options = parseClusterBenchOptions([
    '--seconds',
    '5',
    '--in-flight',
    '1_00',
    '--no-etcd',
    '--cpu-prof',
    '/tmp/prof',
  ])
  assert.equal(options.seconds, 5)
  assert.equal(options.inFlight, 100)
  assert.equal(options.etcd, false)
  assert.equal(options.cpuProfDir, '/tmp/prof')
})

test('counts must be positive integers, and the cluster must have an odd size >= 3', () => {
  const quiet = { writeErr: (): void => undefined }
  for (const argv of [
    ['--seconds', '0'],
    ['--in-flight', '2.5'],
    ['--seconds', 'x'],
  ]) {
    assert.throws(() => parseClusterBenchOptions(argv, quiet), /positive integer/, argv.join(' '))
  }
  assert.throws(() => parseFailoverOptions(['--nodes', '4'], quiet), /odd and at least 3/)
})

test('failover defaults to 20 trials on 3 nodes and takes --trials', () => {
  assert.deepEqual(parseFailoverOptions([]), {
    trials: 20,
    nodes: 3,
    steadyMs: 1_000,
    trialTimeoutMs: 30_000,
  })
  assert.equal(parseFailoverOptions(['--trials', '3']).trials, 3)
})
