/* What a client and INFO raft see of a node latched by a failed Raft log write or fdatasync:
 * -MISCONF in Redis's words (adapted to the Raft log), and disk_error in INFO raft. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { noNode } from '../raft/index.js'
import type { ReplicaStatus } from '../replica/types.js'
import type { NodeIdentity } from './cluster-identity.js'
import { replyOf } from './cluster-router.js'
import { clusterStatusOf, raftInfoFields } from './cluster-status.js'

const disk = { ok: false, error: 'disk', reason: 'Input/output error' } as const

test('a latched node answers -MISCONF Errors writing to the Raft log: <strerror>', () => {
  const misconf = '-MISCONF Errors writing to the Raft log: Input/output error\r\n'
  assert.equal(replyOf({ result: disk, uncertain: false }, true).toString(), misconf)
  assert.equal(replyOf({ result: disk, uncertain: false }, false).toString(), misconf)
  // An earlier attempt of the same write had an unknown fate: that is what the client must hear.
  assert.match(replyOf({ result: disk, uncertain: true }, true).toString(), /^-UNCERTAIN /)
})

const identity: NodeIdentity = { name: 'n1', id: 7, clusterPort: 7001, port: 6001, host: 'h' }
const replica: ReplicaStatus = {
  id: 7,
  role: 'follower',
  term: 3,
  leaderId: noNode,
  commitIndex: 9,
  appliedIndex: 9,
  lastIndex: 9,
  snapshotIndex: 0,
  membership: { voters: [7, 8, 9], learners: [] },
}

test('INFO raft shows disk_error only once the log failed', () => {
  const fields = (status: ReplicaStatus): Map<string, unknown> =>
    new Map(raftInfoFields(clusterStatusOf({ identity, replica: status, addressBook: new Map() })))
  assert.equal(fields(replica).has('disk_error'), false)
  const latched = fields({ ...replica, diskError: 'Input/output error' })
  assert.equal(latched.get('disk_error'), 'Input/output error')
  assert.equal(latched.get('cluster_state'), 'ok')
})

test('a node in no membership it knows of is a waiting learner', () => {
  const status = clusterStatusOf({
    identity,
    replica: { ...replica, membership: { voters: [], learners: [] } },
    addressBook: new Map(),
  })
  assert.equal(status.role, 'learner')
  assert.equal(status.cluster_state, 'waiting')
})
