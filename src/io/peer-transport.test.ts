/* The peer transport on real sockets (127.0.0.1, ephemeral ports): Raft messages between two and
 * three nodes, reconnection to a restarted peer, the breaker on a dead peer, the queue bound,
 * RPC round trips and timeouts, and a peer sending garbage being cut off while the node lives. */
import { describe, it, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import type { Clock } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import type { NodeId, RaftMessage } from '../raft/types.js'
import type {
  PeerRequest,
  PeerResponse,
  PeerTransport,
  PeerTransportOptions,
} from '../replica/peer-types.js'
import { systemClock } from './clock.js'
import { createPeerTransport } from './peer-transport.js'
import { nodeTimers } from './timers.js'

interface TestNode {
  readonly id: NodeId
  readonly transport: PeerTransport
  readonly port: number
  readonly inbox: RaftMessage[]
}

type OnRequest = PeerTransportOptions['onRequest']

const ports = new Map<NodeId, number>()
const open: PeerTransport[] = []

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
  ports.clear()
})

async function startNode(
  id: NodeId,
  extra: { port?: number; onRequest?: OnRequest; queueBytesMax?: number; clock?: Clock } = {},
): Promise<TestNode> {
  const inbox: RaftMessage[] = []
  const transport = createPeerTransport({
    selfId: id,
    host: '127.0.0.1',
    port: extra.port ?? 0,
    resolve: (peer) => {
      const port = ports.get(peer)
      return port === undefined ? null : { host: '127.0.0.1', port }
    },
    onRaftMessage: (message) => inbox.push(message),
    onRequest: extra.onRequest ?? (() => undefined),
    timers: nodeTimers,
    clock: extra.clock ?? systemClock,
    rng: createRng(id),
    ...(extra.queueBytesMax === undefined ? {} : { queueBytesMax: extra.queueBytesMax }),
  })
  open.push(transport)
  const port = await transport.listen()
  ports.set(id, port)
  return { id, transport, port, inbox }
}

/** Time that stands still: an open breaker stays open (it turns half-open by the clock). */
const frozenClock: Clock = { monotonicMs: () => 0, wallMs: () => 0 }

function heartbeat(from: NodeId, to: NodeId, commit: number): RaftMessage {
  return { type: 'heartbeat', groupId: 1, from, to, term: 1, commit, readRound: 0 }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const statsOf = (node: TestNode, peer: NodeId) => {
  const row = node.transport.stats().find((s) => s.id === peer)
  assert.ok(row, `stats for ${peer}`)
  return row
}

/** Opens the link (a request unsent when its timeout fires fails 'busy', not 'unknown'). */
async function connected(node: TestNode, peer: NodeId): Promise<void> {
  node.transport.sendRaft(heartbeat(node.id, peer, 0))
  await waitFor('the link to connect', () => statsOf(node, peer).state === 'connected')
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  await new Promise((resolve) => server.close(resolve))
  return address.port
}

async function sendUntilBreakerOpens(node: TestNode, peer: NodeId): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    node.transport.sendRaft(heartbeat(node.id, peer, i))
    if (statsOf(node, peer).breaker === 'open') return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  assert.fail('the breaker did not open')
}

describe('peer transport', () => {
  it("the hello carries the dialer's address: a node that knows nobody can answer", async () => {
    const learned: Array<[NodeId, unknown]> = []
    const lonely = createPeerTransport({
      selfId: 2,
      host: '127.0.0.1',
      port: 0,
      resolve: () => null,
      onRaftMessage: () => undefined,
      onRequest: () => undefined,
      onPeerAddress: (id, address) => learned.push([id, address]),
      timers: nodeTimers,
      clock: systemClock,
      rng: createRng(2),
    })
    open.push(lonely)
    ports.set(2, await lonely.listen())
    const address = { name: 'n1', host: '127.0.0.1', port: 6001, clusterPort: 7001 }
    const dialer = createPeerTransport({
      selfId: 1,
      host: '127.0.0.1',
      port: 0,
      resolve: (peer) => (peer === 2 ? { host: '127.0.0.1', port: ports.get(2)! } : null),
      onRaftMessage: () => undefined,
      onRequest: () => undefined,
      advertise: () => address,
      timers: nodeTimers,
      clock: systemClock,
      rng: createRng(1),
    })
    open.push(dialer)
    await dialer.listen()
    dialer.sendRaft(heartbeat(1, 2, 0))
    await waitFor('the hello', () => learned.length === 1)
    assert.deepEqual(learned, [[1, address]])
  })

  it('two nodes exchange Raft messages both ways, in order, with counts', async () => {
    const a = await startNode(11)
    const b = await startNode(22)
    for (let i = 1; i <= 100; i++) a.transport.sendRaft(heartbeat(11, 22, i))
    for (let i = 1; i <= 50; i++) b.transport.sendRaft(heartbeat(22, 11, i))
    await waitFor('all messages', () => b.inbox.length === 100 && a.inbox.length === 50)
    assert.deepEqual(
      b.inbox.map((m) => (m.type === 'heartbeat' ? m.commit : -1)),
      Array.from({ length: 100 }, (_, i) => i + 1),
    )
    assert.deepEqual(a.inbox[0], heartbeat(22, 11, 1))
    const ab = statsOf(a, 22)
    assert.equal(ab.state, 'connected')
    assert.equal(ab.breaker, 'closed')
    assert.equal(ab.sentMessages, 100)
    assert.equal(ab.receivedMessages, 50)
    assert.equal(ab.droppedMessages, 0)
    assert.equal(ab.address, `127.0.0.1:${b.port}`)
  })

  it('three nodes: every node reaches every other, entries and snapshot chunks intact', async () => {
    const nodes = await Promise.all([1, 2, 3].map((id) => startNode(id)))
    const append: RaftMessage = {
      type: 'append',
      groupId: 1,
      from: 1,
      to: 2,
      term: 4,
      prevLogIndex: 9,
      prevLogTerm: 3,
      commit: 9,
      entries: [{ term: 4, index: 10, kind: 'command', data: new Uint8Array([1, 2, 3]) }],
    }
    const chunk: RaftMessage = {
      type: 'snapshot',
      groupId: 1,
      from: 1,
      to: 3,
      term: 4,
      snapshotIndex: 9,
      snapshotTerm: 3,
      voters: [1, 2, 3],
      learners: [],
      totalBytes: 200_000,
      offset: 0,
      data: new Uint8Array(200_000).fill(7),
    }
    nodes[0]?.transport.sendRaft(append)
    nodes[0]?.transport.sendRaft(chunk)
    for (const from of nodes) {
      for (const to of nodes) if (from !== to) from.transport.sendRaft(heartbeat(from.id, to.id, 0))
    }
    await waitFor('every message', () =>
      nodes.every((n) => n.inbox.length === (n.id === 1 ? 2 : 3)),
    )
    assert.deepEqual(nodes[1]?.inbox[0], append)
    assert.deepEqual(nodes[2]?.inbox[0], chunk)
  })

  it('reconnects to a peer that restarts on the same port', async () => {
    const a = await startNode(1)
    const b = await startNode(2)
    a.transport.sendRaft(heartbeat(1, 2, 1))
    await waitFor('first delivery', () => b.inbox.length === 1)
    await b.transport.close()
    const b2 = await startNode(2, { port: b.port })
    // Raft resends until heard; so does this test (sends while down may be lost).
    for (let i = 2; b2.inbox.length === 0; i++) {
      a.transport.sendRaft(heartbeat(1, 2, i))
      await new Promise((resolve) => setTimeout(resolve, 20))
      assert.ok(i < 250, 'the restarted peer was not reached in 5 s')
    }
    assert.ok(statsOf(a, 2).reconnects >= 1)
    assert.equal(statsOf(a, 2).state, 'connected')
  })

  it('a dead peer opens the breaker, after which sends cost no dial', async () => {
    const a = await startNode(1, { clock: frozenClock })
    ports.set(9, await deadPort())
    await sendUntilBreakerOpens(a, 9)
    const before = statsOf(a, 9)
    for (let i = 0; i < 500; i++) a.transport.sendRaft(heartbeat(1, 9, i))
    const after = statsOf(a, 9)
    assert.equal(after.reconnects, before.reconnects, 'no dial while open')
    assert.equal(after.droppedMessages, before.droppedMessages + 500)
    assert.equal(after.queuedBytes, 0)
    // An RPC to it fails at once, having never reached a socket.
    const response = await a.transport.request(9, { type: 'status' }, 10_000)
    assert.deepEqual(response, { type: 'result', result: { ok: false, error: 'busy' } })
  })

  it('an RPC to a peer that cannot be dialed fails at once as busy (nothing was sent)', async () => {
    const a = await startNode(1)
    ports.set(8, await deadPort())
    const busy: PeerResponse = { type: 'result', result: { ok: false, error: 'busy' } }
    const started = Date.now()
    assert.deepEqual(await a.transport.request(8, { type: 'status' }, 10_000), busy)
    assert.deepEqual(await a.transport.request(77, { type: 'status' }, 10_000), busy) // no address
    assert.ok(Date.now() - started < 5000)
  })

  it('a peer with no address yet is not a failure: once resolvable, it connects and delivers', async () => {
    // Frozen time: a breaker opened here would never turn half-open, so the link would stay dead.
    const a = await startNode(1, { clock: frozenClock })
    const b = await startNode(2)
    ports.delete(2)
    for (let i = 0; i < 20; i++) {
      a.transport.sendRaft(heartbeat(1, 2, i))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const busy: PeerResponse = { type: 'result', result: { ok: false, error: 'busy' } }
    assert.deepEqual(await a.transport.request(2, { type: 'status' }, 10_000), busy)
    const unresolved = statsOf(a, 2)
    assert.equal(unresolved.breaker, 'closed')
    assert.equal(unresolved.state, 'idle')
    assert.equal(unresolved.droppedMessages, 20)
    assert.equal(unresolved.queuedBytes, 0)
    assert.equal(b.inbox.length, 0)
    // The address becomes known (say its address entry applied): the next send dials it.
    ports.set(2, b.port)
    a.transport.sendRaft(heartbeat(1, 2, 100))
    await waitFor('delivery once resolvable', () => b.inbox.length === 1)
    assert.deepEqual(b.inbox[0], heartbeat(1, 2, 100))
    assert.equal(statsOf(a, 2).state, 'connected')
    assert.equal(statsOf(a, 2).breaker, 'closed')
  })

  it('a half-open probe that succeeds closes the breaker', async () => {
    const a = await startNode(1)
    const port = await deadPort()
    ports.set(2, port)
    await sendUntilBreakerOpens(a, 2)
    const b = await startNode(2, { port })
    for (let i = 0; b.inbox.length === 0; i++) {
      a.transport.sendRaft(heartbeat(1, 2, i))
      await new Promise((resolve) => setTimeout(resolve, 20))
      assert.ok(i < 250, 'the revived peer was not reached')
    }
    assert.equal(statsOf(a, 2).breaker, 'closed')
  })

  it('the per-peer queue is bounded by bytes: overflow drops and counts; RPCs fail at once', async () => {
    const a = await startNode(1, { queueBytesMax: 4096 })
    const b = await startNode(2)
    const big = (i: number): RaftMessage => ({
      type: 'append',
      groupId: 1,
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex: i,
      prevLogTerm: 1,
      commit: 0,
      entries: [{ term: 1, index: i + 1, kind: 'command', data: new Uint8Array(200) }],
    })
    // One turn: the link is still connecting, so everything waits in the queue.
    for (let i = 0; i < 100; i++) a.transport.sendRaft(big(i))
    const entry = new Uint8Array(1000)
    const write: PeerRequest = {
      type: 'forward-write',
      clientId: 1,
      sequence: 1,
      ackedThrough: 0,
      entry,
    }
    const rpc = await a.transport.request(2, write, 5000)
    assert.deepEqual(rpc, { type: 'result', result: { ok: false, error: 'busy' } })
    const dropped = statsOf(a, 2).droppedMessages
    assert.ok(dropped > 50 && dropped < 100, `dropped ${dropped}`)
    await waitFor('queued ones delivered', () => b.inbox.length === 100 - (dropped - 1))
    assert.equal(statsOf(a, 2).queuedBytes, 0)
  })

  it('request/response: a forward-write round trip, status and a join by address', async () => {
    const seen: { from: NodeId | null; request: PeerRequest }[] = []
    const b = await startNode(2, {
      onRequest: (from, request, respond) => {
        seen.push({ from, request })
        if (request.type === 'forward-write') {
          const reply = new Uint8Array([...request.entry].reverse())
          respond({ type: 'result', result: { ok: true, reply } })
        } else if (request.type === 'status') {
          respond({ type: 'status', status: { role: 'leader', term: 3 } })
        } else {
          respond({ type: 'result', result: { ok: false, error: 'not-leader', leaderId: 7 } })
        }
      },
    })
    const a = await startNode(1)
    const entry = new Uint8Array([1, 2, 3])
    const write: PeerRequest = {
      type: 'forward-write',
      clientId: 99,
      sequence: 5,
      ackedThrough: 4,
      entry,
    }
    const answers = await Promise.all([
      a.transport.request(2, write, 2000),
      a.transport.request(2, { type: 'status' }, 2000),
    ])
    assert.deepEqual(answers, [
      { type: 'result', result: { ok: true, reply: new Uint8Array([3, 2, 1]) } },
      { type: 'status', status: { role: 'leader', term: 3 } },
    ] satisfies PeerResponse[])
    assert.deepEqual(seen[0], { from: 1, request: write })
    const address = { name: 'n1', host: '127.0.0.1', port: 6379, clusterPort: 16379 }
    const join = await a.transport.request(
      { host: '127.0.0.1', port: b.port },
      { type: 'join', name: 'n1', id: 1, address },
      2000,
    )
    assert.deepEqual(join, {
      type: 'result',
      result: { ok: false, error: 'not-leader', leaderId: 7 },
    })
  })

  it('an RPC that gets no answer resolves unknown after its timeout', async () => {
    await startNode(2, { onRequest: () => undefined })
    const a = await startNode(1)
    await connected(a, 2)
    const started = Date.now()
    const response = await a.transport.request(2, { type: 'status' }, 150)
    assert.deepEqual(response, { type: 'result', result: { ok: false, error: 'unknown' } })
    assert.ok(Date.now() - started >= 140)
    assert.equal(statsOf(a, 2).breaker, 'closed', 'one timeout does not open the breaker')
  })

  it('three RPC timeouts in a row open the breaker (a peer that accepts but never answers)', async () => {
    await startNode(2, { onRequest: () => undefined })
    const a = await startNode(1, { clock: frozenClock })
    await connected(a, 2)
    for (let i = 0; i < 3; i++) {
      const response = await a.transport.request(2, { type: 'status' }, 30)
      assert.deepEqual(response, { type: 'result', result: { ok: false, error: 'unknown' } })
    }
    assert.equal(statsOf(a, 2).breaker, 'open')
    const reconnects = statsOf(a, 2).reconnects
    a.transport.sendRaft(heartbeat(1, 2, 1))
    assert.equal(statsOf(a, 2).droppedMessages, 1)
    assert.equal(statsOf(a, 2).reconnects, reconnects)
  })

  it('a peer whose Raft messages claim another sender is disconnected', async () => {
    const b = await startNode(2)
    const a = await startNode(1)
    a.transport.sendRaft(heartbeat(3, 2, 1)) // from 3 over node 1's connection
    await waitFor('the message to go out', () => statsOf(a, 2).sentMessages === 1)
    await waitFor('the link to be dropped', () => statsOf(a, 2).state !== 'connected')
    assert.equal(b.inbox.length, 0)
  })

  it('a peer sending garbage is disconnected and the node keeps serving', async () => {
    const b = await startNode(2)
    const a = await startNode(1)
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0, 0, 0, 3, 2, 9, 9]), // a Raft frame before any hello
      Buffer.from([0, 0, 0, 1, 77]), // an unknown frame type
    ]) {
      const socket = connect({ host: '127.0.0.1', port: b.port })
      socket.on('error', () => undefined)
      const closed = new Promise((resolve) => socket.on('close', resolve))
      socket.write(garbage)
      await closed
    }
    a.transport.sendRaft(heartbeat(1, 2, 1))
    await waitFor('a healthy peer still gets through', () => b.inbox.length === 1)
  })
})
