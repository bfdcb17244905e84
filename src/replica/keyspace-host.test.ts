/* Three replica hosts running the keyspace state machine on a faulty simulated network (drops,
 * duplicates, reordering delays), with node crashes that lose unsynced bytes and restarts that
 * rebuild the state machine from the Raft snapshot and log: for every seed, once healed, every
 * node holds the same keyspace, byte for byte, and acknowledged writes read back. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import type { NodeId, RaftMessage } from '../raft/index.js'
import { encodeEntry, encodeQuery, type CommandEntry } from './command-entry.js'
import { createReplicaHost } from './host.js'
import { createKeyspaceStateMachine, type KeyspaceStateMachine } from './keyspace-state-machine.js'
import { ManualTime, MemDisk, testGroupId, testTickMs } from './test-support.js'
import type { ReplicaHost, ReplicaResult } from './types.js'

const ids: readonly NodeId[] = [1, 2, 3]
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

interface Running {
  readonly host: ReplicaHost
  readonly machine: KeyspaceStateMachine
}

class KeyspaceCluster {
  readonly time = new ManualTime()
  readonly disks = new Map<NodeId, MemDisk>(ids.map((id) => [id, new MemDisk()]))
  readonly running = new Map<NodeId, Running>()
  /** Snapshots loaded into a state machine (at restart, or a lagging node catching up). */
  restores = 0
  crashes = 0
  readonly #rng
  #starts = 0

  constructor(seed: number) {
    this.#rng = createRng(seed)
  }

  async start(id: NodeId): Promise<void> {
    const disk = this.disks.get(id) as MemDisk
    const machine = await createKeyspaceStateMachine({
      disk,
      dir: `/n${id}/state`,
      clock: this.time,
      timers: this.time,
    })
    const host = createReplicaHost({
      groupId: testGroupId,
      id,
      dir: `/n${id}/raft`,
      disk,
      clock: this.time,
      timers: this.time,
      rng: createRng(++this.#starts * 7919 + id),
      voters: ids,
      stateMachine: machine,
      send: (message) => this.#send(message),
      tickMs: testTickMs,
      snapshotEveryEntries: 25,
      logTailEntries: 5,
      onEvent: (event) => {
        if (event.kind === 'snapshot-restored') this.restores++
      },
    })
    this.running.set(id, { host, machine })
    host.start()
  }

  /** Power loss: the host stops, the engine closes, the disk keeps only synced bytes. */
  async crash(id: NodeId): Promise<void> {
    const node = this.running.get(id) as Running
    this.running.delete(id)
    this.crashes++
    node.host.stop()
    node.machine.close()
    this.time.drain()
    await settle()
    ;(this.disks.get(id) as MemDisk).crash()
  }

  #send(message: RaftMessage): void {
    const rng = this.#rng
    if (rng.int(100) < 5) return // dropped
    const copies = rng.int(100) < 3 ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.time.after(rng.int(25), () => this.running.get(message.to)?.host.receive(message))
    }
  }

  leader(): Running | null {
    const leaders = [...this.running.values()]
      .filter((node) => node.host.status().role === 'leader')
      .sort((a, b) => b.host.status().term - a.host.status().term)
    return leaders[0] ?? null
  }

  /** Whether every running node applied everything the leader committed. */
  converged(): boolean {
    const leader = this.leader()
    if (leader === null || this.running.size < ids.length) return false
    const commit = leader.host.status().commitIndex
    return [...this.running.values()].every((node) => node.host.status().appliedIndex === commit)
  }

  advanceUntil(predicate: () => boolean, maxMs: number): void {
    for (let elapsedMs = 0; !predicate(); elapsedMs += testTickMs) {
      assert.ok(elapsedMs < maxMs, `not reached within ${maxMs} ms`)
      this.time.advance(testTickMs)
    }
  }
}

function commandEntry(rng: { int(bound: number): number }, timeMs: number): CommandEntry {
  const k = `k${rng.int(4)}`
  const s = `s${rng.int(2)}`
  const m = `m${rng.int(6)}`
  const choices: string[][] = [
    ['INCR', k],
    ['SET', k, m, 'PX', `${50 + rng.int(400)}`],
    ['SADD', s, m, `m${rng.int(6)}`],
    ['SPOP', s],
    ['SRANDMEMBER', s, '-2'],
    ['HINCRBY', 'h', m, '1'],
    ['ZINCRBY', 'z', `${rng.int(5)}`, m],
    ['DEL', k],
  ]
  const argv = choices[rng.int(choices.length)] as string[]
  return { kind: 'command', timeMs, protocol: 2, argv: argv.map((arg) => Buffer.from(arg)) }
}

function readRetrying(cluster: KeyspaceCluster, node: Running, query: Uint8Array): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    let answer: ReplicaResult | null = null
    node.host.read(query, (result) => {
      answer = result
    })
    cluster.advanceUntil(() => answer !== null, 5_000)
    const result = answer as ReplicaResult | null
    if (result?.ok === true) return Buffer.from(result.reply).toString()
  }
  assert.fail('a read was answered within 20 attempts')
}

async function runSeed(seed: number): Promise<{ restores: number; crashes: number }> {
  const cluster = new KeyspaceCluster(seed)
  for (const id of ids) await cluster.start(id)
  const rng = createRng(seed * 31 + 7)
  const clientId = 1000 + seed
  let sequence = 0
  const acknowledged: Array<{ entry: CommandEntry; reply: string }> = []
  for (let round = 0; round < 150; round++) {
    const leader = cluster.leader()
    if (leader !== null) {
      const now = cluster.time.wallMs()
      const entry: CommandEntry = leader.machine.dueExpiries(now)
        ? { kind: 'tick', timeMs: now }
        : commandEntry(rng, now)
      sequence++
      const request = {
        clientId,
        sequence,
        ackedThrough: sequence - 1,
        command: encodeEntry(entry),
      }
      leader.host.write(request, (result: ReplicaResult) => {
        if (result.ok) acknowledged.push({ entry, reply: Buffer.from(result.reply).toString() })
      })
    }
    cluster.time.advance(testTickMs)
    if (rng.int(40) === 0 && cluster.running.size === ids.length) {
      await cluster.crash(ids[rng.int(ids.length)] as NodeId)
    } else if (cluster.running.size < ids.length && rng.int(8) === 0) {
      for (const id of ids) if (!cluster.running.has(id)) await cluster.start(id)
    }
  }
  for (const id of ids) if (!cluster.running.has(id)) await cluster.start(id)
  cluster.advanceUntil(() => cluster.converged(), 20_000)
  const snapshots = [...cluster.running.values()].map((node) =>
    Buffer.from(node.machine.snapshot()),
  )
  assert.ok(
    acknowledged.length > 50,
    `seed ${seed}: only ${acknowledged.length} writes acknowledged`,
  )
  for (const snapshot of snapshots.slice(1)) {
    assert.ok(snapshot.equals(snapshots[0] as Buffer), `seed ${seed}: the nodes' keyspaces differ`)
  }
  // A linearizable read (ReadIndex, retried as a client would) answers the same on every node.
  const dbsize = encodeQuery({ protocol: 2, argv: [Buffer.from('DBSIZE')] })
  const answers = [...cluster.running.values()].map((node) => readRetrying(cluster, node, dbsize))
  assert.match(answers[0] as string, /^:\d+\r\n$/)
  assert.ok(
    answers.every((answer) => answer === answers[0]),
    `seed ${seed}: ${answers.join()}`,
  )
  await stopAll(cluster)
  return { restores: cluster.restores, crashes: cluster.crashes }
}

async function stopAll(cluster: KeyspaceCluster): Promise<void> {
  for (const node of cluster.running.values()) {
    node.host.stop()
    node.machine.close()
  }
  cluster.time.drain()
  await settle()
}

describe('replica hosts running the keyspace state machine', () => {
  let restores = 0
  let crashes = 0
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}: after drops, duplicates, delays and crashes the nodes agree`, async () => {
      const counts = await runSeed(seed)
      restores += counts.restores
      crashes += counts.crashes
    })
  }
  test('the seeds crashed nodes and restored state machines from snapshots', () => {
    assert.ok(crashes > 0, 'some node crashed')
    assert.ok(restores > 0, 'some node restored a snapshot')
  })
})
