/* The host with a file-snapshot state machine (StateMachine.files): captures run off the loop
 * and become the Raft snapshot once durable, a follower's install holds its Ready (heartbeats
 * flow, no election) and a failed one leaves nothing persisted, and a restart opens the machine
 * from the log's snapshot and applies only the entries after it. Captures and installs finish
 * when the test says so, to force the races. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Disk } from '../core/ports.js'
import type { NodeId } from '../raft/index.js'
import { KvStateMachine, encodeKvCommand } from './kv-state-machine.js'
import { readLatestSnapshot } from './log-store.js'
import { snapshotMachineBytes } from './snapshot-codec.js'
import { runTicks as run } from '../../test/helpers/replica-group.js'
import { TestCluster, testTickMs } from './test-support.js'
import type { FileSnapshots, ReplicaResult } from './types.js'

type Shelves = Map<NodeId, Map<string, Uint8Array>>

interface Descriptor {
  readonly name: string
  readonly lastApply: number
}

const encode = (d: Descriptor): Uint8Array => new TextEncoder().encode(JSON.stringify(d))
const decode = (bytes: Uint8Array): Descriptor =>
  JSON.parse(new TextDecoder().decode(bytes)) as Descriptor

interface PendingInstall {
  readonly source: NodeId
  readonly name: string
  finish(ok: boolean): void
}

/** A KV machine whose snapshots sit on a per-node shelf; auto* off: the test finishes them. */
class FileKv extends KvStateMachine {
  readonly files: FileSnapshots
  appliedCommands = 0
  autoCapture = true
  autoInstall = true
  /** Captures still to reject (no snapshot made). */
  failCaptures = 0
  readonly pendingCaptures: (() => void)[] = []
  readonly pendingInstalls: PendingInstall[] = []
  /** Every install started, by its source. */
  readonly installSources: NodeId[] = []
  retained: string[] = []
  readonly #id: NodeId
  readonly #shelves: Shelves
  readonly #up: (id: NodeId) => boolean
  #lastApply = 0
  #held: string | null = null

  constructor(id: NodeId, shelves: Shelves, up: (id: NodeId) => boolean) {
    super()
    this.#id = id
    this.#shelves = shelves
    this.#up = up
    this.files = {
      capture: () => this.#capture(),
      install: (descriptor, source) => this.#install(decode(descriptor), source),
      holds: (descriptor) => this.#held === decode(descriptor).name,
      retain: (descriptors) => this.#retain(descriptors.map((d) => decode(d).name)),
    }
  }

  get shelf(): Map<string, Uint8Array> {
    let shelf = this.#shelves.get(this.#id)
    if (shelf === undefined) {
      shelf = new Map<string, Uint8Array>()
      this.#shelves.set(this.#id, shelf)
    }
    return shelf
  }

  /** Opens the state from the log's snapshot (what a node does before starting its host). */
  openFrom(disk: Disk, dir: string): this {
    const snapshot = readLatestSnapshot(disk, dir)
    if (snapshot === null) return this
    const descriptor = decode(snapshotMachineBytes(snapshot.data))
    const bytes = this.shelf.get(descriptor.name)
    assert.ok(bytes !== undefined, `the shelf keeps ${descriptor.name}`)
    this.#load(descriptor, bytes)
    return this
  }

  override apply(command: Uint8Array, index?: number): Uint8Array {
    this.appliedCommands++
    this.#lastApply = index ?? 0
    this.#held = null
    return super.apply(command)
  }

  #load(descriptor: Descriptor, bytes: Uint8Array): void {
    this.restore(bytes)
    this.#lastApply = descriptor.lastApply
    this.#held = descriptor.name
  }

  #capture(): Promise<Uint8Array> {
    const descriptor = { name: `a${this.#lastApply}`, lastApply: this.#lastApply }
    const frozen = this.snapshot()
    if (this.failCaptures > 0) {
      this.failCaptures--
      return Promise.reject(new Error('capture failed'))
    }
    return new Promise((resolve) => {
      const finish = (): void => {
        this.shelf.set(descriptor.name, frozen)
        resolve(encode(descriptor))
      }
      if (this.autoCapture) finish()
      else this.pendingCaptures.push(finish)
    })
  }

  #install(descriptor: Descriptor, source: NodeId): Promise<void> {
    this.installSources.push(source)
    return new Promise((resolve, reject) => {
      const finish = (ok: boolean): void => {
        const bytes = this.#up(source) ? this.#shelves.get(source)?.get(descriptor.name) : undefined
        if (!ok || bytes === undefined) return reject(new Error('files not to be had'))
        this.shelf.set(descriptor.name, bytes)
        this.#load(descriptor, bytes)
        resolve()
      }
      if (this.autoInstall) finish(true)
      else this.pendingInstalls.push({ source, name: descriptor.name, finish })
    })
  }

  #retain(names: readonly string[]): void {
    this.retained = [...names]
    for (const name of this.shelf.keys()) if (!names.includes(name)) this.shelf.delete(name)
  }
}

const ids = [1, 2, 3]
const electionMs = 10 * testTickMs

function fileCluster(): { cluster: TestCluster; machine: (id: NodeId) => FileKv } {
  const shelves: Shelves = new Map()
  const cluster: TestCluster = new TestCluster({
    ids,
    replica: { syncOffLoop: true, snapshotEveryEntries: 5, logTailEntries: 2 },
    machine: (id, disk, dir) =>
      new FileKv(id, shelves, (source) => cluster.hosts.has(source)).openFrom(disk, dir),
  })
  const machine = (id: NodeId): FileKv => {
    const found = cluster.machine(id)
    assert.ok(found instanceof FileKv)
    return found
  }
  return { cluster, machine }
}

async function leaderOf(cluster: TestCluster): Promise<NodeId> {
  const find = (): NodeId | undefined =>
    [...cluster.hosts.values()].find((host) => host.status().role === 'leader')?.id
  await run(cluster, 5000, () => find() !== undefined)
  const leader = find()
  assert.ok(leader !== undefined, 'a leader is elected')
  return leader
}

let nextSequence = 1

/** `count` puts through the leader, each answered before the next. */
async function puts(cluster: TestCluster, count: number, key = 'k'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const leader = await leaderOf(cluster)
    const sequence = nextSequence++
    const command = encodeKvCommand({ op: 'put', key, value: `v${sequence}` })
    let result: ReplicaResult | null = null
    const request = { clientId: 9, sequence, ackedThrough: sequence - 1, command }
    cluster.host(leader).write(request, (r) => (result = r))
    await run(cluster, 2000, () => result !== null)
    assert.ok((result as ReplicaResult | null)?.ok === true, `put ${sequence} applied`)
  }
}

function terms(cluster: TestCluster): number[] {
  return [...cluster.hosts.values()].map((host) => host.status().term)
}

describe('replica host with file snapshots', () => {
  it('a lagging follower fetches for many election timeouts: heartbeats flow, no election', async () => {
    const { cluster, machine } = fileCluster()
    const leader = await leaderOf(cluster)
    const lagging = ids.find((id) => id !== leader) ?? 0
    cluster.isolate(lagging)
    await puts(cluster, 20)
    assert.ok(cluster.host(leader).status().snapshotIndex >= 15, 'the leader compacted its log')
    machine(lagging).autoInstall = false
    const before = terms(cluster)
    cluster.heal()
    await run(cluster, 1000, () => machine(lagging).pendingInstalls.length > 0)
    assert.equal(machine(lagging).pendingInstalls.length, 1)
    await run(cluster, 10 * electionMs)
    assert.deepEqual(terms(cluster), before, 'no election while the follower fetches')
    assert.equal(cluster.host(lagging).status().role, 'follower')
    assert.equal(cluster.host(lagging).status().leaderId, leader)
    assert.equal(machine(lagging).pendingInstalls.length, 1, 'one install at a time')
    machine(lagging).pendingInstalls.shift()?.finish(true)
    await puts(cluster, 3)
    await run(cluster, 200)
    assert.equal(machine(lagging).get('k'), machine(leader).get('k'))
    assert.equal(
      cluster.host(lagging).status().appliedIndex,
      cluster.host(leader).status().appliedIndex,
    )
    assert.ok(cluster.host(lagging).status().snapshotIndex >= 15, 'the installed snapshot is saved')
    assert.deepEqual(terms(cluster), before)
  })

  it('an install that fails persists nothing; the new leader sends its own and it succeeds', async () => {
    const { cluster, machine } = fileCluster()
    const leader = await leaderOf(cluster)
    const lagging = ids.find((id) => id !== leader) ?? 0
    cluster.isolate(lagging)
    await puts(cluster, 20)
    const stateBefore = machine(lagging).get('k')
    const appliedBefore = cluster.host(lagging).status().appliedIndex
    machine(lagging).autoInstall = false
    cluster.heal()
    await run(cluster, 1000, () => machine(lagging).pendingInstalls.length > 0)
    const first = machine(lagging).pendingInstalls.shift()
    assert.equal(first?.source, leader)
    cluster.stop(leader) // the source goes away: its files cannot be had
    first?.finish(true)
    await run(cluster, 50)
    assert.equal(machine(lagging).get('k'), stateBefore, 'the state is unchanged')
    assert.equal(cluster.host(lagging).status().appliedIndex, appliedBefore)
    assert.equal(cluster.host(lagging).status().snapshotIndex, 0, 'nothing was persisted')
    machine(lagging).autoInstall = true
    const newLeader = await leaderOf(cluster)
    assert.notEqual(newLeader, leader)
    await puts(cluster, 2)
    await run(cluster, 300)
    assert.deepEqual(machine(lagging).installSources.slice(-1), [newLeader])
    assert.equal(machine(lagging).get('k'), machine(newLeader).get('k'))
    assert.ok(cluster.host(lagging).status().snapshotIndex >= 15)
  })

  it('a capture that finishes after an install of a newer snapshot is dropped', async () => {
    const { cluster, machine } = fileCluster()
    const leader = await leaderOf(cluster)
    const lagging = ids.find((id) => id !== leader) ?? 0
    machine(lagging).autoCapture = false
    await puts(cluster, 6)
    await run(cluster, 100)
    assert.equal(machine(lagging).pendingCaptures.length, 1, 'the follower started a capture')
    cluster.isolate(lagging)
    await puts(cluster, 20)
    cluster.heal()
    await run(cluster, 1000, () => cluster.host(lagging).status().snapshotIndex > 0)
    const installed = cluster.host(lagging).status().snapshotIndex
    assert.ok(installed >= 20, `installed the leader's snapshot (${installed})`)
    assert.equal(machine(lagging).pendingCaptures.length, 1, 'no second capture meanwhile')
    machine(lagging).pendingCaptures.shift()?.()
    await run(cluster, 100)
    assert.equal(cluster.host(lagging).status().snapshotIndex, installed, 'the old capture dropped')
    assert.ok(!machine(lagging).shelf.has('a7'), "the dropped capture's files are not retained")
    await puts(cluster, 3)
    await run(cluster, 200)
    assert.equal(machine(lagging).get('k'), machine(leader).get('k'))
  })

  it('a failed capture makes no snapshot; one is made later', async () => {
    const { cluster, machine } = fileCluster()
    const leader = await leaderOf(cluster)
    machine(leader).failCaptures = 1
    await puts(cluster, 6)
    await run(cluster, 50)
    assert.equal(machine(leader).failCaptures, 0, 'the capture was tried')
    assert.equal(cluster.host(leader).status().snapshotIndex, 0)
    await run(cluster, 2 * electionMs)
    await puts(cluster, 1)
    await run(cluster, 50)
    assert.ok(cluster.host(leader).status().snapshotIndex >= 6, 'captured after the backoff')
  })

  it('a restart opens the machine from the snapshot and applies only the entries after it', async () => {
    const { cluster, machine } = fileCluster()
    await leaderOf(cluster)
    await puts(cluster, 23)
    await run(cluster, 200)
    const leader = await leaderOf(cluster)
    const follower = ids.find((id) => id !== leader) ?? 0
    cluster.stop(follower)
    const host = cluster.start(follower)
    const { snapshotIndex, appliedIndex } = host.status()
    assert.ok(snapshotIndex >= 20, `restarted from snapshot ${snapshotIndex}`)
    assert.equal(appliedIndex, snapshotIndex, 'the core starts at the snapshot')
    await run(cluster, 200)
    const applied = host.status().appliedIndex
    const replayed = host
      .inspect()
      .entries.filter((e) => e.kind === 'command' && e.index > snapshotIndex && e.index <= applied)
    assert.ok(replayed.length > 0, 'the log after the snapshot holds commands')
    assert.equal(machine(follower).appliedCommands, replayed.length, 'only those are applied')
    assert.equal(machine(follower).get('k'), machine(leader).get('k'))
  })

  it("start() refuses a machine that does not hold the log's snapshot", async () => {
    const shelves: Shelves = new Map()
    let open = true
    const cluster: TestCluster = new TestCluster({
      ids,
      replica: { syncOffLoop: true, snapshotEveryEntries: 5, logTailEntries: 2 },
      machine: (id, disk, dir) => {
        const kv = new FileKv(id, shelves, () => true)
        return open ? kv.openFrom(disk, dir) : kv
      },
    })
    await puts(cluster, 8)
    await run(cluster, 200)
    cluster.stop(2)
    open = false
    assert.throws(() => cluster.start(2), /opened from the log's snapshot/)
  })
})
