/* Group membership: the voters (who elect and form quorums) and the learners (who only receive
 * the log), its change rules, and its encoding inside 'config' log entries. Invariant: a node is
 * a voter or a learner, never both; a change adds a learner, promotes one, or removes one node, so
 * any two consecutive memberships' majorities overlap (single-server changes, Raft thesis 4.1). */
import { assert } from '../core/assert.js'
import type { Membership, NodeId } from './types.js'

export type { Membership }

export type MembershipChange =
  | { readonly type: 'add-learner'; readonly nodeId: NodeId }
  | { readonly type: 'promote'; readonly nodeId: NodeId }
  | { readonly type: 'remove'; readonly nodeId: NodeId }

/** Nodes per role an encoded membership may carry (a sanity bound on decoding). */
const membersMax = 1024

export function checkMembership(membership: Membership): void {
  const all = [...membership.voters, ...membership.learners]
  assert(new Set(all).size === all.length, 'a node is a voter or a learner, once')
  assert(membership.voters.length <= membersMax, 'voters within bound')
  assert(membership.learners.length <= membersMax, 'learners within bound')
  for (const id of all) assert(Number.isSafeInteger(id) && id > 0, 'node ids are positive')
}

/** The membership after `change`, or why it is not allowed. */
export function applyMembershipChange(
  membership: Membership,
  change: MembershipChange,
): Membership | string {
  const { voters, learners } = membership
  const id = change.nodeId
  switch (change.type) {
    case 'add-learner':
      if (voters.includes(id) || learners.includes(id)) return 'already a member'
      return { voters, learners: sorted([...learners, id]) }
    case 'promote':
      if (!learners.includes(id)) return 'not a learner'
      return { voters: sorted([...voters, id]), learners: learners.filter((n) => n !== id) }
    case 'remove':
      if (learners.includes(id)) return { voters, learners: learners.filter((n) => n !== id) }
      if (!voters.includes(id)) return 'not a member'
      if (voters.length === 1) return 'cannot remove the last voter'
      return { voters: voters.filter((n) => n !== id), learners }
  }
}

function sorted(ids: NodeId[]): NodeId[] {
  return ids.sort((a, b) => a - b)
}

/**
 * u32 voter count, voter ids, u32 learner count, learner ids (big-endian; each id is 8 bytes,
 * high then low u32, because node ids are 53-bit: nodeIdOf hashes a node's name).
 */
export function encodeMembership(membership: Membership): Uint8Array {
  checkMembership(membership)
  const bytes = new Uint8Array(8 + (membership.voters.length + membership.learners.length) * 8)
  const view = new DataView(bytes.buffer)
  let offset = 0
  for (const list of [membership.voters, membership.learners]) {
    view.setUint32(offset, list.length)
    offset += 4
    for (const id of list) {
      view.setUint32(offset, Math.floor(id / 2 ** 32))
      view.setUint32(offset + 4, id >>> 0)
      offset += 8
    }
  }
  return bytes
}

export function decodeMembership(bytes: Uint8Array): Membership {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 0
  const readList = (): NodeId[] => {
    assert(offset + 4 <= bytes.byteLength, 'membership: truncated count')
    const length = view.getUint32(offset)
    offset += 4
    assert(length <= membersMax && offset + length * 8 <= bytes.byteLength, 'membership: length')
    const ids: NodeId[] = []
    for (let i = 0; i < length; i++, offset += 8) {
      ids.push(view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4))
    }
    return ids
  }
  const membership = { voters: readList(), learners: readList() }
  assert(offset === bytes.byteLength, 'membership: trailing bytes')
  checkMembership(membership)
  return membership
}
