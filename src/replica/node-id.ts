/* Node identity: a node's NAME (what operators type, `--node-id n1`) and the numeric Raft id every
 * node derives from it the same way. Invariant: nodeIdOf is a pure function of the name's UTF-8
 * bytes and never returns noNode (0), so ids agree cluster-wide without any coordination. */
import { assert } from '../core/assert.js'
import type { NodeId } from '../raft/types.js'

const nodeNamePattern = /^[A-Za-z0-9_-]{1,64}$/
const fnvOffsetBasis = 0xcbf29ce484222325n
const fnvPrime = 0x100000001b3n
const mask64 = (1n << 64n) - 1n
const mask53 = (1n << 53n) - 1n
const encoder = new TextEncoder()

/** A node name is 1 to 64 of [A-Za-z0-9_-] (safe in file names, log lines and CLI flags). */
export function validNodeName(name: string): boolean {
  return nodeNamePattern.test(name)
}

/** FNV-1a 64-bit of the UTF-8 name, low 53 bits (a safe integer), or 1 when that is 0. */
export function nodeIdOf(name: string): NodeId {
  assert(validNodeName(name), 'a node name is 1..64 of [A-Za-z0-9_-]')
  let hash = fnvOffsetBasis
  for (const byte of encoder.encode(name)) {
    hash = ((hash ^ BigInt(byte)) * fnvPrime) & mask64
  }
  const id = Number(hash & mask53)
  return id === 0 ? 1 : id
}
