/* Tests of the INFO raft reader: the fields the harness needs, nulls for a node that is still
 * starting, and when a restarted follower counts as caught up. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { caughtUp, raftStatusOf } from './raft-info.js'

const leaderFields = new Map([
  ['role', 'leader'],
  ['node_id', 'n1'],
  ['raft_id', '12345'],
  ['term', '3'],
  ['leader_id', 'n1'],
  ['leader_addr', '127.0.0.1:7000'],
  ['commit_index', '120'],
  ['applied_index', '120'],
  ['members', '3'],
])

test('INFO raft fields become a typed status', () => {
  assert.deepEqual(raftStatusOf(leaderFields), {
    role: 'leader',
    nodeId: 'n1',
    term: 3,
    leaderId: 'n1',
    leaderAddr: '127.0.0.1:7000',
    commitIndex: 120,
    appliedIndex: 120,
    members: 3,
  })
})

test('missing or malformed fields read as null, not as 0 or empty', () => {
  const status = raftStatusOf(
    new Map([
      ['role', 'candidate'],
      ['term', 'x'],
      ['leader_id', ''],
    ]),
  )
  assert.equal(status.role, 'candidate')
  assert.equal(status.term, null)
  assert.equal(status.leaderId, null)
  assert.equal(status.commitIndex, null)
})

test('a follower has caught up once it applied what the leader committed', () => {
  const leader = raftStatusOf(leaderFields)
  const behind = raftStatusOf(new Map([['applied_index', '119']]))
  const level = raftStatusOf(new Map([['applied_index', '120']]))
  assert.equal(caughtUp(behind, leader), false)
  assert.equal(caughtUp(level, leader), true)
  assert.equal(caughtUp(raftStatusOf(new Map()), leader), false)
})
