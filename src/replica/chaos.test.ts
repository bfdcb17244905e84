import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import type { Rng } from '../core/ports.js'
import { decodeKvReply, encodeKvCommand, encodeKvQuery } from './kv-state-machine.js'
import type { ReadMode, ReplicaResult } from './types.js'
import { TestCluster, kvReply, testTickMs } from './test-support.js'

/** A client appending unique tokens, retrying each (same sequence) until it is acknowledged. */
interface Client {
  readonly id: number
  sequence: number
  inFlight: boolean
  /** Its current sequence was sent and is not acknowledged yet (its fate may be unknown). */
  unacknowledged: boolean
  target: number
  readonly acknowledged: string[]
}

const ids = [1, 2, 3]
const token = (client: Client): string => `c${client.id}.${client.sequence};`

function issue(cluster: TestCluster, client: Client, rng: Rng): void {
  const host = cluster.hosts.get(client.target)
  if (host === undefined) {
    client.target = ids[rng.int(ids.length)] ?? 1
    return
  }
  client.inFlight = true
  client.unacknowledged = true
  const sent = token(client)
  const command = encodeKvCommand({ op: 'append', key: 'log', value: sent })
  const ackedThrough = client.sequence - 1
  host.write(
    { clientId: client.id, sequence: client.sequence, ackedThrough, command },
    (result) => {
      client.inFlight = false
      settle(client, result, sent, rng)
    },
  )
}

function settle(client: Client, result: ReplicaResult, sent: string, rng: Rng): void {
  if (result.ok) {
    assert.equal(decodeKvReply(result.reply).op, 'append')
    client.acknowledged.push(sent)
    client.sequence++
    client.unacknowledged = false
  } else if (result.error === 'not-leader' && result.leaderId !== 0) {
    client.target = result.leaderId
  } else {
    assert.notEqual(result.error, 'stale', 'a client never sends a sequence it had answered')
    client.target = ids[rng.int(ids.length)] ?? 1
  }
}

/** One random fault or repair: crash (tearing up to 40 bytes), restart, isolate, heal. */
function fault(cluster: TestCluster, rng: Rng): void {
  const id = ids[rng.int(ids.length)] ?? 1
  const roll = rng.int(10)
  const running = cluster.hosts.has(id)
  if (roll < 2 && running && cluster.hosts.size === ids.length) cluster.crash(id, rng.int(40))
  else if (roll < 5 && !running) cluster.start(id)
  else if (roll < 6) cluster.isolate(id)
  else if (roll < 8) cluster.heal()
}

/**
 * A reader at a random node: every value it reads must hold every append acknowledged before
 * the read was issued (a stale read would miss one).
 */
function read(cluster: TestCluster, clients: readonly Client[], rng: Rng, seed: number): void {
  const host = cluster.hosts.get(ids[rng.int(ids.length)] ?? 1)
  if (host === undefined) return
  const mustSee = clients.flatMap((client) => client.acknowledged)
  host.read(encodeKvQuery({ op: 'get', key: 'log' }), (result) => {
    if (!result.ok) return
    const reply = decodeKvReply(result.reply)
    const value = reply.op === 'get' ? (reply.value ?? '') : ''
    for (const sent of mustSee) assert.ok(value.includes(sent), `seed ${seed}: stale read`)
    readsChecked++
  })
}

let readsChecked = 0

function runSeed(seed: number, readMode: ReadMode, unsafeLocalReads = false): void {
  const rng = createRng(seed)
  const cluster = new TestCluster({
    ids,
    seed,
    replica: { snapshotEveryEntries: 15, logTailEntries: 3, readMode, unsafeLocalReads },
    network: { dropPercent: 5, duplicatePercent: 5, delayMsMax: 25 },
  })
  const clients: Client[] = [11, 12, 13].map((id) => ({
    id,
    sequence: 1,
    inFlight: false,
    unacknowledged: false,
    target: 1,
    acknowledged: [],
  }))
  for (let step = 0; step < 300; step++) {
    if (rng.int(8) === 0) fault(cluster, rng)
    for (const client of clients) if (!client.inFlight) issue(cluster, client, rng)
    if (rng.int(2) === 0) read(cluster, clients, rng, seed)
    cluster.time.advance(testTickMs)
  }
  // Liveness: repair everything, let each client finish its last write, then converge.
  cluster.heal()
  for (const id of ids) if (!cluster.hosts.has(id)) cluster.start(id)
  const settled = (c: Client): boolean => !c.inFlight && !c.unacknowledged
  cluster.until(() => {
    for (const client of clients)
      if (!client.inFlight && !settled(client)) issue(cluster, client, rng)
    return clients.every(settled)
  }, 60_000)
  const leader = cluster.leader()
  const value = kvReply(cluster.read(leader, 'log'))
  assert.equal(value.op, 'get')
  const log = value.op === 'get' ? (value.value ?? '') : ''
  const tokens = log.split(';').filter((t) => t !== '')
  assert.equal(new Set(tokens).size, tokens.length, `seed ${seed}: a token applied twice`)
  // Every write was retried until acknowledged, so the log holds exactly the acknowledged ones,
  // each client's in its own order.
  for (const client of clients) {
    const mine = tokens.filter((t) => t.startsWith(`c${client.id}.`)).map((t) => `${t};`)
    assert.deepEqual(mine, client.acknowledged, `seed ${seed}: client ${client.id}'s appends`)
  }
  cluster.until(() => new Set(ids.map((id) => cluster.machine(id).digest())).size === 1, 30_000)
}

describe('replica host under crashes, torn writes, partitions and a lossy network', () => {
  it('loses no acknowledged append, applies none twice, reads none stale (read-index)', () => {
    readsChecked = 0
    for (let seed = 1; seed <= 15; seed++) runSeed(seed, 'read-index')
    assert.ok(readsChecked > 200, `${readsChecked} reads checked`)
  })

  it('the stale-read check has teeth: it catches unsafeLocalReads', () => {
    assert.throws(() => {
      for (let seed = 1; seed <= 30; seed++) runSeed(seed, 'read-index', true)
    }, /stale read/)
  })

  it('the same with lease reads', () => {
    readsChecked = 0
    for (let seed = 1; seed <= 15; seed++) runSeed(seed, 'lease')
    assert.ok(readsChecked > 200, `${readsChecked} reads checked`)
  })
})
