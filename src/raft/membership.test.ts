/* Unit tests of membership changes (one node at a time, never the last voter) and of the
 * encoding that config entries carry. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AssertionError } from '../core/assert.js'
import { applyMembershipChange, decodeMembership, encodeMembership } from './membership.js'

describe('raft membership', () => {
  test('a membership survives its encoding', () => {
    const membership = { voters: [1, 2, 3], learners: [70000] }
    assert.deepEqual(decodeMembership(encodeMembership(membership)), membership)
    // Node ids are 53-bit (nodeIdOf hashes the name): every bit survives the round trip.
    const wide = { voters: [2 ** 53 - 1, 5483297594987712], learners: [2 ** 32 + 7] }
    assert.deepEqual(decodeMembership(encodeMembership(wide)), wide)
    assert.deepEqual(decodeMembership(encodeMembership({ voters: [], learners: [] })), {
      voters: [],
      learners: [],
    })
  })

  test('a corrupt encoding is refused', () => {
    const bytes = encodeMembership({ voters: [1, 2], learners: [] })
    assert.throws(() => decodeMembership(bytes.subarray(0, bytes.length - 1)), AssertionError)
    const twice = encodeMembership({ voters: [1], learners: [] })
    // voters [1], then one learner: 1 again (8-byte ids)
    const learnerOne = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    const overlap = new Uint8Array([...twice.subarray(0, 12), ...learnerOne])
    assert.throws(() => decodeMembership(overlap), /voter or a learner/)
  })

  test('changes: add a learner, promote it, remove nodes, never the last voter', () => {
    const start = { voters: [1, 2], learners: [] }
    const added = applyMembershipChange(start, { type: 'add-learner', nodeId: 3 })
    assert.deepEqual(added, { voters: [1, 2], learners: [3] })
    assert.equal(
      applyMembershipChange(start, { type: 'add-learner', nodeId: 2 }),
      'already a member',
    )
    assert.equal(applyMembershipChange(start, { type: 'promote', nodeId: 3 }), 'not a learner')
    assert.ok(typeof added !== 'string')
    const promoted = applyMembershipChange(added, { type: 'promote', nodeId: 3 })
    assert.deepEqual(promoted, { voters: [1, 2, 3], learners: [] })
    assert.deepEqual(applyMembershipChange(added, { type: 'remove', nodeId: 3 }), start)
    assert.deepEqual(applyMembershipChange(start, { type: 'remove', nodeId: 1 }), {
      voters: [2],
      learners: [],
    })
    const single = { voters: [2], learners: [] }
    const last = applyMembershipChange(single, { type: 'remove', nodeId: 2 })
    assert.equal(last, 'cannot remove the last voter')
    assert.equal(applyMembershipChange(start, { type: 'remove', nodeId: 9 }), 'not a member')
  })
})
