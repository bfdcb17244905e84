/* A tiny in-memory network of Raft cores for tests: each node's Ready is handled as the replica
 * host will (persist, then send, then apply, then advance), messages wait in one FIFO queue, and
 * links can be cut. Invariant: a node never sees a message before its sender persisted the Ready
 * that produced it. Not shipped (package.json excludes test-support). */
import { assert } from '../core/assert.js'
import { createRng } from '../core/rng.js'
import type { RaftOptions } from './config.js'
import { Raft } from './raft.js'
import { MemoryStorage } from './storage.js'
import type { Entry, Membership, NodeId, RaftMessage, ReadState, Ready } from './types.js'

export const testGroupId = 7

export type NodeOptions = Omit<RaftOptions, 'groupId' | 'id' | 'voters' | 'storage' | 'rng'>

export interface TestNode {
  raft: Raft
  readonly storage: MemoryStorage
  /** The state machine: entries applied, in order; survives restarts (it is durable). */
  applied: Entry[]
  /** The membership as of `applied` (durable with the state machine; used on restart). */
  membership: Membership
  readonly readStates: ReadState[]
}

export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>()
  /** Every node ever added, in order (members or not). */
  readonly ids: NodeId[]
  /** Messages sent and not yet delivered or dropped, in send order. */
  queue: RaftMessage[] = []
  /** Directed links that drop every message, as "from-to". */
  readonly #cutLinks = new Set<string>()
  readonly #seed: number
  readonly #options: NodeOptions
  readonly #compaction: { every: number; tail: number } | null
  /** Hook for invariant checks; called after every Ready a node handles. */
  onReady: (id: NodeId, ready: Ready) => void = () => undefined

  constructor(options: {
    count: number
    seed: number
    node: NodeOptions
    /** Snapshot every `every` applied entries, keeping `tail` entries of log behind it. */
    compaction?: { every: number; tail: number }
  }) {
    this.ids = Array.from({ length: options.count }, (_, i) => i + 1)
    this.#seed = options.seed
    this.#options = options.node
    this.#compaction = options.compaction ?? null
    const membership = { voters: [...this.ids], learners: [] }
    for (const id of this.ids) this.#addNode(id, membership)
  }

  #addNode(id: NodeId, membership: Membership): void {
    const storage = new MemoryStorage()
    const raft = this.#newRaft(id, storage, 0, membership)
    this.nodes.set(id, { raft, storage, applied: [], readStates: [], membership })
  }

  /** A new, empty node that knows no members yet: it joins once a leader adds it as a learner. */
  addNode(id: NodeId): void {
    assert(!this.nodes.has(id), `node ${id} exists`)
    this.ids.push(id)
    this.#addNode(id, { voters: [], learners: [] })
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id)
    assert(node !== undefined, `no node ${id}`)
    return node
  }

  /** A crash and restart: unpersisted state is lost, the durable state machine keeps its place. */
  restart(id: NodeId): void {
    const node = this.node(id)
    node.raft = this.#newRaft(id, node.storage, this.appliedIndex(id), node.membership)
    this.queue = this.queue.filter((message) => message.to !== id)
  }

  #newRaft(id: NodeId, storage: MemoryStorage, applied: number, membership: Membership): Raft {
    return new Raft({
      ...this.#options,
      groupId: testGroupId,
      id,
      voters: membership.voters,
      learners: membership.learners,
      storage,
      rng: createRng(this.#seed * 1000 + id),
      applied,
    })
  }

  /** Handles one Ready of `id` the way the replica host does; returns it (null: nothing). */
  handleReady(id: NodeId): Ready | null {
    const node = this.node(id)
    const ready = node.raft.ready()
    if (ready === null) return null
    if (ready.snapshot !== null) {
      node.storage.applySnapshot(ready.snapshot)
      node.applied = decodeStateMachine(ready.snapshot.data)
    }
    if (ready.hardState !== null) node.storage.setHardState(ready.hardState)
    node.storage.append(ready.entries)
    for (const message of ready.messages) {
      if (!this.#cutLinks.has(`${message.from}-${message.to}`)) this.queue.push(message)
    }
    for (const entry of ready.committed) node.applied.push(entry)
    for (const readState of ready.readStates) node.readStates.push(readState)
    node.raft.advance(ready)
    node.membership = node.raft.membership()
    this.onReady(id, ready)
    const snapshotIndex = node.storage.snapshot().index
    if (
      this.#compaction !== null &&
      this.appliedIndex(id) - snapshotIndex >= this.#compaction.every
    ) {
      this.compact(id, this.#compaction.tail)
    }
    return ready
  }

  appliedIndex(id: NodeId): number {
    const applied = this.node(id).applied
    return applied[applied.length - 1]?.index ?? 0
  }

  /** Snapshots the state machine at its applied index and drops the log before it, but `tail`. */
  compact(id: NodeId, tail: number): void {
    const node = this.node(id)
    const index = this.appliedIndex(id)
    node.storage.createSnapshot(index, encodeStateMachine(node.applied), node.membership)
    node.storage.compact(index - tail)
  }

  /** Delivers (or drops) queued messages matching the filter, in order; returns those taken. */
  take(filter: (message: RaftMessage) => boolean): RaftMessage[] {
    const taken = this.queue.filter(filter)
    this.queue = this.queue.filter((message) => !filter(message))
    return taken
  }

  deliver(message: RaftMessage): void {
    if (this.#cutLinks.has(`${message.from}-${message.to}`)) return
    this.node(message.to).raft.step(message)
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue
      this.#cutLinks.add(`${id}-${other}`)
      this.#cutLinks.add(`${other}-${id}`)
    }
  }

  /** Cuts every link between the groups (links inside a group stay as they are). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const group of groups) {
      for (const id of group) {
        for (const other of this.ids) {
          if (!group.includes(other)) {
            this.#cutLinks.add(`${id}-${other}`)
            this.#cutLinks.add(`${other}-${id}`)
          }
        }
      }
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.#cutLinks.add(`${from}-${to}`)
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cutLinks.has(`${from}-${to}`)
  }

  heal(): void {
    this.#cutLinks.clear()
  }

  /** Handles Readies and delivers messages until nothing moves; `visit` sees each step. */
  stabilize(visit: (event: StabilizeEvent) => void = () => undefined): void {
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      let moved = false
      for (const id of this.ids) {
        const ready = this.handleReady(id)
        if (ready !== null) {
          moved = true
          visit({ kind: 'ready', id, ready })
        }
      }
      const messages = this.queue
      this.queue = []
      for (const message of messages) {
        moved = true
        visit({ kind: 'deliver', message })
        this.deliver(message)
      }
      if (!moved) return
    }
    assert(false, 'the network did not stabilize')
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).raft.status().role === 'leader')
  }
}

export type StabilizeEvent =
  { kind: 'ready'; id: NodeId; ready: Ready } | { kind: 'deliver'; message: RaftMessage }

/** A livelock guard for stabilize(); real scenarios settle in a few dozen rounds. */
const stabilizeRoundsMax = 10_000

/** The test state machine's snapshot encoding: its applied entries as JSON. */
export function encodeStateMachine(applied: readonly Entry[]): Uint8Array {
  const plain = applied.map((e) => ({ ...e, data: Buffer.from(e.data).toString('base64') }))
  return Buffer.from(JSON.stringify(plain))
}

export function decodeStateMachine(data: Uint8Array): Entry[] {
  const plain = JSON.parse(Buffer.from(data).toString()) as (Omit<Entry, 'data'> & {
    data: string
  })[]
  return plain.map((e) => ({ ...e, data: Buffer.from(e.data, 'base64') }))
}
