/* End to end: three replica hosts on the real Disk, real timers and clock, each wired to its own
 * peer transport on 127.0.0.1, form one Raft group. They elect a leader, commit writes (some
 * forwarded by followers over the transport's forward-write RPC), serve ReadIndex reads on every
 * node, and elect a new leader that keeps committing once the old one is stopped. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createRng } from '../../src/core/rng.js'
import { systemClock } from '../../src/io/clock.js'
import { nodeDisk } from '../../src/io/disk.js'
import { createPeerTransport } from '../../src/io/peer-transport.js'
import { nodeTimers } from '../../src/io/timers.js'
import type { NodeId } from '../../src/raft/types.js'
import { createReplicaHost } from '../../src/replica/host.js'
import {
  KvStateMachine,
  decodeKvReply,
  encodeKvCommand,
  encodeKvQuery,
  type KvReply,
} from '../../src/replica/kv-state-machine.js'
import { nodeIdOf } from '../../src/replica/node-id.js'
import type { PeerTransport } from '../../src/replica/peer-types.js'
import type { ReplicaHost, ReplicaResult } from '../../src/replica/types.js'
import { tempDirs } from '../helpers/engine-fixtures.js'

const makeDir = tempDirs('caskade-peer-cluster-')

interface Node {
  readonly id: NodeId
  readonly host: ReplicaHost
  readonly transport: PeerTransport
}

const call = (run: (done: (result: ReplicaResult) => void) => void): Promise<ReplicaResult> =>
  new Promise((resolve) => run(resolve))

function kv(result: ReplicaResult): KvReply {
  assert.ok(result.ok, `expected success, got ${JSON.stringify(result)}`)
  return decodeKvReply(result.reply)
}

async function startNode(id: NodeId, voters: NodeId[], root: string, ports: Map<NodeId, number>) {
  let host: ReplicaHost | null = null
  const transport = createPeerTransport({
    selfId: id,
    host: '127.0.0.1',
    port: 0,
    resolve: (peer) => {
      const port = ports.get(peer)
      return port === undefined ? null : { host: '127.0.0.1', port }
    },
    onRaftMessage: (message) => host?.receive(message),
    onRequest: (_from, request, respond) => {
      if (request.type !== 'forward-write' || host === null) {
        respond({ type: 'result', result: { ok: false, error: 'refused', reason: 'unsupported' } })
        return
      }
      const { clientId, sequence, ackedThrough, entry } = request
      host.write({ clientId, sequence, ackedThrough, command: entry }, (result) =>
        respond({ type: 'result', result }),
      )
    },
    timers: nodeTimers,
    clock: systemClock,
    rng: createRng(id),
  })
  ports.set(id, await transport.listen())
  host = createReplicaHost({
    groupId: 1,
    id,
    dir: path.join(root, String(id)),
    disk: nodeDisk,
    clock: systemClock,
    timers: nodeTimers,
    rng: createRng(id + 1),
    voters,
    stateMachine: new KvStateMachine(),
    send: (message) => transport.sendRaft(message),
    tickMs: 20,
    electionTicks: 10,
  })
  host.start()
  return { id, host, transport }
}

async function waitForLeader(nodes: readonly Node[], timeoutMs = 15_000): Promise<Node> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const leaders = nodes.filter((n) => n.host.status().role === 'leader')
    const leader = leaders[0]
    if (leaders.length === 1 && leader !== undefined) {
      const term = leader.host.status().term
      const agreed = nodes.every((n) => n.host.status().leaderId === leader.id)
      if (agreed && nodes.every((n) => n.host.status().term === term)) return leader
    }
    assert.ok(Date.now() < deadline, 'no leader elected in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('a Raft group over the peer transport', () => {
  it('elects a leader, commits writes, forwards, reads everywhere, and fails over', async () => {
    const root = makeDir()
    const ids = ['n1', 'n2', 'n3'].map(nodeIdOf)
    const ports = new Map<NodeId, number>()
    const nodes = await Promise.all(ids.map((id) => startNode(id, ids, root, ports)))
    try {
      const leader = await waitForLeader(nodes)
      for (let i = 1; i <= 20; i++) {
        const command = encodeKvCommand({ op: 'append', key: 'log', value: String(i % 10) })
        const result = await call((done) =>
          leader.host.write({ clientId: 1, sequence: i, ackedThrough: i - 1, command }, done),
        )
        assert.deepEqual(kv(result), { op: 'append', length: i })
      }
      // A follower relays a write to the leader over the transport's forward-write RPC.
      const follower = nodes.find((n) => n !== leader)
      assert.ok(follower)
      const entry = encodeKvCommand({ op: 'put', key: 'via', value: 'follower' })
      const forwarded = await follower.transport.request(
        leader.id,
        { type: 'forward-write', clientId: 2, sequence: 1, ackedThrough: 0, entry },
        2000,
      )
      assert.equal(forwarded.type, 'result')
      assert.deepEqual(forwarded.type === 'result' && kv(forwarded.result), { op: 'put' })
      // ReadIndex reads on every node (followers ask the leader over the transport).
      for (const node of nodes) {
        const log = await call((done) =>
          node.host.read(encodeKvQuery({ op: 'get', key: 'log' }), done),
        )
        assert.deepEqual(kv(log), { op: 'get', value: '12345678901234567890' })
        const via = await call((done) =>
          node.host.read(encodeKvQuery({ op: 'get', key: 'via' }), done),
        )
        assert.deepEqual(kv(via), { op: 'get', value: 'follower' })
      }
      // Stop the leader: the other two elect a new one over their links and keep committing.
      leader.host.stop()
      await leader.transport.close()
      const rest = nodes.filter((n) => n !== leader)
      const next = await waitForLeader(rest)
      const command = encodeKvCommand({ op: 'append', key: 'log', value: '!' })
      const after = await call((done) =>
        next.host.write({ clientId: 1, sequence: 21, ackedThrough: 20, command }, done),
      )
      assert.deepEqual(kv(after), { op: 'append', length: 21 })
      const stats = next.transport.stats().find((s) => s.id === leader.id)
      assert.ok(stats !== undefined && stats.sentMessages > 0)
    } finally {
      for (const node of nodes) {
        node.host.stop()
        await node.transport.close()
      }
    }
  })
})
