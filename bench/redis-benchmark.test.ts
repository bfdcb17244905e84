/* Tests of the redis-benchmark wrapper: its command line and the parsing of Redis 7 and Redis 6
 * CSV output. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { phaseNamed } from './phases.js'
import { benchmarkCommandLine, parseBenchmarkCsv } from './redis-benchmark.js'

const redis7Csv = [
  '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",' +
    '"p99_latency_ms","max_latency_ms"',
  '"SET","153846.16","0.204","0.072","0.183","0.343","0.599","1.391"',
  '"MSET (10 keys)","80971.66","0.562","0.128","0.519","0.959","1.255","2.271"',
  '',
].join('\n')

test('Redis 7 CSV rows carry the rate and every latency column', () => {
  const rows = parseBenchmarkCsv(redis7Csv)
  assert.deepEqual(rows[0], {
    test: 'SET',
    requestsPerSecond: 153846.16,
    avgMs: 0.204,
    minMs: 0.072,
    p50Ms: 0.183,
    p95Ms: 0.343,
    p99Ms: 0.599,
    maxMs: 1.391,
  })
  assert.equal(rows[1]?.test, 'MSET (10 keys)')
  assert.equal(rows[1]?.p99Ms, 1.255)
})

test('Redis 6 CSV has only the rate, so the latencies are null', () => {
  const rows = parseBenchmarkCsv('"test","rps"\n"GET","100000.00"\n')
  assert.equal(rows.length, 1)
  assert.equal(rows[0]?.requestsPerSecond, 100000)
  assert.equal(rows[0]?.p50Ms, null)
})

test('output without the CSV header, or noise lines, yields no rows', () => {
  assert.deepEqual(parseBenchmarkCsv('WARNING: Could not fetch server CONFIG\n'), [])
  const noisy = `WARNING: Could not fetch server CONFIG\n${redis7Csv}Error from server: ERR x\n`
  assert.equal(parseBenchmarkCsv(noisy).length, 2)
})

test('the command line is the one the task specifies, one test per run', () => {
  const incr = phaseNamed('incr')
  assert.ok(incr !== undefined)
  const line = benchmarkCommandLine('PORT', {
    phase: incr,
    pipeline: 16,
    requests: 500_000,
    clients: 50,
    keyspace: 1_000_000,
  })
  assert.equal(
    line,
    'redis-benchmark -h 127.0.0.1 -p PORT -c 50 -n 500000 -r 1000000 -t incr -P 16 --csv',
  )
})

test('a custom-command phase has no -t and ends the line with its command', () => {
  const zrange = phaseNamed('zrange')
  assert.ok(zrange !== undefined)
  const line = benchmarkCommandLine('PORT', {
    phase: zrange,
    pipeline: 1,
    requests: 1000,
    clients: 50,
    keyspace: 1_000_000,
  })
  assert.equal(
    line,
    'redis-benchmark -h 127.0.0.1 -p PORT -c 50 -n 1000 -r 1000000 -P 1 --csv ' +
      'ZRANGE bench:zset 5000 5099 WITHSCORES',
  )
})
