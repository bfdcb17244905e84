/* Performance sanity of the linearizability checker (not a test): a recorded-style history of
 * 10k operations over 10 keys from 8 concurrent clients with 2% timeouts, checked once cold and
 * then warm. Run: npx tsc -p tsconfig.json && node dist/bench/check-history.js [seed] */
import { performance } from 'node:perf_hooks'
import { checkHistory } from '../src/check/index.js'
import { historyFromClientPool } from '../src/check/test-support.js'
import { createRng } from '../src/core/rng.js'

const seed = Number(process.argv[2] ?? 1)
const history = historyFromClientPool({
  rng: createRng(seed),
  clients: 8,
  keys: 10,
  operations: 10_000,
  unknownRate: 0.02,
  thinkMax: 20,
  latencyMax: 40,
})
const clients = new Set(history.operations.map((operation) => operation.client)).size
console.log(`seed=${seed} operations=${history.operations.length} keys=10 client ids=${clients}`)
for (const run of ['cold', 'warm', 'warm']) {
  const cpu = process.cpuUsage()
  const startMs = performance.now()
  const result = checkHistory(history, { timeLimitMs: 60_000, now: () => performance.now() })
  const wallMs = performance.now() - startMs
  const cpuUsed = process.cpuUsage(cpu)
  const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000
  console.log(`${run}: ${result.verdict} wall=${wallMs.toFixed(0)} ms cpu=${cpuMs.toFixed(0)} ms`)
}
