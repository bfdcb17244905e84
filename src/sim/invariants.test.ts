/* The invariant checks can fail: each Raft property, fed a violation by hand, is reported under
 * its name, while the legal histories around it (restarts, snapshots, re-applying) pass. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry } from '../raft/index.js'
import type { ReplicaInspection } from '../replica/types.js'
import { InvariantChecker } from './invariants.js'

/** The violated invariant's name (a function, so TypeScript does not narrow across calls). */
function violated(checker: InvariantChecker): string | null {
  return checker.violation?.invariant ?? null
}

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, kind: 'command', data: Buffer.from(text) }
}

function inspection(id: number, role: ReplicaInspection['role'], term: number, entries: Entry[]) {
  const last = entries[entries.length - 1]?.index ?? 0
  return {
    id,
    role,
    term,
    leaderId: 0,
    commitIndex: 0,
    appliedIndex: 0,
    lastIndex: last,
    snapshotIndex: 0,
    snapshotTerm: 0,
    membership: { voters: [1, 2, 3], learners: [] },
    entries,
  } satisfies ReplicaInspection
}

function status(id: number, commitIndex: number, appliedIndex: number, snapshotIndex = 0) {
  return { ...inspection(id, 'follower', 1, []), commitIndex, appliedIndex, snapshotIndex }
}

test('Election Safety: two leaders of one term', () => {
  const checker = new InvariantChecker(() => 0)
  checker.onLeader(1, 3)
  checker.onLeader(1, 3)
  checker.onLeader(2, 4)
  assert.equal(violated(checker), null)
  checker.onLeader(3, 4)
  assert.equal(violated(checker), 'Election Safety')
})

test('State Machine Safety: two nodes apply different entries at one index', () => {
  const checker = new InvariantChecker(() => 0)
  checker.onApplied(1, entry(1, 1))
  checker.onApplied(2, entry(1, 1))
  checker.onStart(2) // a restart re-applies what it had applied: fine
  checker.onApplied(2, entry(1, 1))
  assert.equal(violated(checker), null)
  checker.onApplied(3, entry(1, 1, 'other'))
  assert.equal(violated(checker), 'State Machine Safety')
})

test('Monotonic applied: no gaps or rewinds within an incarnation, snapshots jump ahead', () => {
  const ok = new InvariantChecker(() => 0)
  ok.onApplied(1, entry(1, 1))
  ok.onSnapshotRestored(1, 5)
  ok.onApplied(1, entry(6, 1))
  assert.equal(violated(ok), null)
  const gap = new InvariantChecker(() => 0)
  gap.onApplied(1, entry(1, 1))
  gap.onApplied(1, entry(3, 1))
  assert.equal(violated(gap), 'Monotonic Applied')
})

test('Monotonic commit: a commit index moving back, or applied below the snapshot', () => {
  const checker = new InvariantChecker(() => 0)
  checker.checkStatus(status(1, 5, 4))
  checker.onStart(1) // after a restart the commit index may restart lower
  checker.checkStatus(status(1, 2, 2, 2))
  assert.equal(violated(checker), null)
  checker.checkStatus(status(1, 1, 1, 0))
  assert.equal(violated(checker), 'Monotonic Commit')
  const below = new InvariantChecker(() => 0)
  below.checkStatus(status(1, 5, 3, 4))
  assert.equal(violated(below), 'Monotonic Applied')
})

test('Log Matching: logs that agree at an index must agree on everything before it', () => {
  const checker = new InvariantChecker(() => 0)
  const a = inspection(1, 'follower', 2, [entry(1, 1), entry(2, 1), entry(3, 2)])
  const diverged = inspection(2, 'follower', 2, [entry(1, 1), entry(2, 2, 'x')])
  checker.checkLogs([a, diverged])
  assert.equal(violated(checker), null, 'a divergent suffix is allowed')
  const broken = inspection(3, 'follower', 2, [entry(1, 1, 'y'), entry(2, 1), entry(3, 2)])
  checker.checkLogs([a, broken])
  assert.equal(violated(checker), 'Log Matching')
})

test('Leader Completeness: a leader elected after a commit must hold the entry', () => {
  let nowMs = 0
  const checker = new InvariantChecker(() => nowMs)
  checker.onApplied(1, entry(1, 1))
  checker.onApplied(1, entry(2, 1))
  nowMs = 10
  checker.onLeader(2, 2)
  checker.checkLogs([inspection(2, 'leader', 2, [entry(1, 1), entry(2, 1), entry(3, 2)])])
  assert.equal(violated(checker), null)
  checker.onLeader(3, 3)
  checker.checkLogs([inspection(3, 'leader', 3, [entry(1, 1)])])
  assert.equal(violated(checker), 'Leader Completeness')
})
