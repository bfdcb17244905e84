/* Tests of the CPU profile summary: self time is summed per function and per file from the
 * samples' time deltas, ranked, and shown as shares of the sampled time. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { test } from 'node:test'
import { profileTables, summarizeProfile, type CpuProfile } from './cpu-profile.js'
import { repoRoot } from './servers.js'

const hostUrl = pathToFileURL(join(repoRoot, 'dist/src/replica/host.js')).href
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3] },
    { id: 2, callFrame: { functionName: 'append', url: hostUrl, lineNumber: 9 } },
    { id: 3, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
  ],
  samples: [2, 2, 3, 2],
  timeDeltas: [1000, 2000, 1000, 0],
}

test('self time per function and per file, ranked, as shares of the sampled time', () => {
  const summary = summarizeProfile(profile, 10)
  assert.equal(summary.totalMs, 4)
  assert.deepEqual(summary.byFunction, [
    { name: 'append dist/src/replica/host.js:10', selfMs: 3, share: 0.75 },
    { name: '(garbage collector)', selfMs: 1, share: 0.25 },
  ])
  assert.deepEqual(
    summary.byFile.map((time) => time.name),
    ['dist/src/replica/host.js', '(native/V8)'],
  )
  assert.deepEqual(summarizeProfile(profile, 1).byFunction.length, 1)
})

test('the tables print milliseconds and percentages', () => {
  const text = profileTables(summarizeProfile(profile, 10))
  assert.match(text, /^sampled 0\.0 s\n/)
  assert.match(text, /\| append dist\/src\/replica\/host\.js:10 \| 3 \| 75\.0% \|/)
})
