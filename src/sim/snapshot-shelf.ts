/* File snapshots in the simulator: each node's "shelf" of frozen snapshots (durable: it survives
 * crashes, like the engine's hard-linked segments) and a KV state machine whose snapshots live
 * there. Capture freezes the state at the call and lands on the shelf after a delay; install
 * fetches from the source's shelf after a delay and fails if the source is down, cut off or no
 * longer has it. Invariant: a snapshot name fixes its content (the state after the command
 * applied at `lastApply`, the same on every node), so copies on several shelves never differ. */
import { assert } from '../core/assert.js'
import type { Rng, Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import type { NodeId } from '../raft/index.js'
import { KvStateMachine } from '../replica/kv-state-machine.js'
import { readLatestSnapshot } from '../replica/log-store.js'
import { snapshotMachineBytes } from '../replica/snapshot-codec.js'
import type { FileSnapshots } from '../replica/types.js'
import type { SimDisk } from './disk.js'

/** What a node's state machine may use: its disk and directory, its process's timers. */
export interface MachineContext {
  readonly id: NodeId
  readonly dir: string
  readonly disk: SimDisk
  readonly timers: Timers
  readonly incarnation: number
  /** Whether this node's process still runs (a crashed node serves no snapshot). */
  readonly alive: () => boolean
  readonly shelf: SnapshotShelf
}

/** Virtual ms a capture takes to be durable, and an install to fetch its files: [min, max). */
export interface ShelfDelays {
  readonly captureMs: readonly [number, number]
  readonly installMs: readonly [number, number]
}

export const defaultShelfDelays: ShelfDelays = { captureMs: [5, 60], installMs: [50, 400] }

interface Descriptor {
  readonly name: string
  readonly lastApply: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function encodeDescriptor(descriptor: Descriptor): Uint8Array {
  return encoder.encode(JSON.stringify(descriptor))
}

function decodeDescriptor(bytes: Uint8Array): Descriptor {
  return JSON.parse(decoder.decode(bytes)) as Descriptor
}

export class SnapshotShelf {
  readonly #shelves = new Map<NodeId, Map<string, Uint8Array>>()
  readonly #alive = new Map<NodeId, () => boolean>()
  readonly #linked: (from: NodeId, to: NodeId) => boolean
  readonly stats = { captures: 0, installs: 0, installFailures: 0, deleted: 0 }

  /** `linked`: whether `to` can reach `from` now (both directions, the fetch is a round trip). */
  constructor(linked: (from: NodeId, to: NodeId) => boolean = () => true) {
    this.#linked = linked
  }

  of(id: NodeId): Map<string, Uint8Array> {
    let shelf = this.#shelves.get(id)
    if (shelf === undefined) {
      shelf = new Map()
      this.#shelves.set(id, shelf)
    }
    return shelf
  }

  /** The current process of `id` (a crash makes `alive` false until the next registers). */
  register(id: NodeId, alive: () => boolean): void {
    this.#alive.set(id, alive)
  }

  /** Snapshot `name` from `source`'s shelf for `to`, or null (source down, cut off, deleted). */
  fetch(source: NodeId, to: NodeId, name: string): Uint8Array | null {
    if (this.#alive.get(source)?.() !== true || !this.#linked(source, to)) return null
    return this.#shelves.get(source)?.get(name) ?? null
  }
}

/** The simulator's KV machine with file snapshots on the shelf (see the file comment). */
export class ShelfKvStateMachine extends KvStateMachine {
  readonly files: FileSnapshots
  /** Commands applied by this incarnation (a restart replays only the log after the snapshot). */
  appliedCommands = 0
  readonly #context: MachineContext
  readonly #delays: ShelfDelays
  readonly #rng: Rng
  /** Index of the last command applied (or of the snapshot's): names the state. */
  #lastApply = 0
  /** The snapshot this state is exactly (opened or installed from it, nothing applied since). */
  #held: string | null = null

  constructor(context: MachineContext, delays: ShelfDelays = defaultShelfDelays) {
    super()
    this.#context = context
    this.#delays = delays
    this.#rng = createRng(context.id * 7919 + context.incarnation * 104729)
    context.shelf.register(context.id, context.alive)
    this.files = {
      capture: () => this.#capture(),
      install: (descriptor, source) => this.#install(decodeDescriptor(descriptor), source),
      holds: (descriptor) => this.#held === decodeDescriptor(descriptor).name,
      retain: (descriptors) => this.#retain(descriptors),
    }
    this.#openLatest()
  }

  /** `index` is optional only to match KvStateMachine's signature; the host always gives it. */
  override apply(command: Uint8Array, index?: number): Uint8Array {
    assert(index !== undefined, 'a file-snapshot machine is told the applied index')
    this.appliedCommands++
    this.#lastApply = index
    this.#held = null
    return super.apply(command)
  }

  /** Opens the state from the log's snapshot, as a node does before its host starts. */
  #openLatest(): void {
    const { disk, dir, shelf, id } = this.#context
    const snapshot = readLatestSnapshot(disk, dir)
    if (snapshot === null) return
    const descriptor = decodeDescriptor(snapshotMachineBytes(snapshot.data))
    const bytes = shelf.of(id).get(descriptor.name)
    assert(bytes !== undefined, `n${id} keeps the files of its log's snapshot ${descriptor.name}`)
    this.#load(descriptor, bytes)
  }

  #load(descriptor: Descriptor, bytes: Uint8Array): void {
    this.restore(bytes)
    this.#lastApply = descriptor.lastApply
    this.#held = descriptor.name
  }

  #delay([min, max]: readonly [number, number]): number {
    return min + this.#rng.int(max - min)
  }

  /** Resolves inside the node's process, counted as async I/O so the runner drains it now. */
  #settle(work: () => void): void {
    void this.#context.disk.async(work)
  }

  #capture(): Promise<Uint8Array> {
    const descriptor = { name: `a${this.#lastApply}`, lastApply: this.#lastApply }
    const frozen = this.snapshot()
    const { timers, shelf, id } = this.#context
    return new Promise((resolve) => {
      timers.after(this.#delay(this.#delays.captureMs), () => {
        shelf.of(id).set(descriptor.name, frozen)
        shelf.stats.captures++
        this.#settle(() => resolve(encodeDescriptor(descriptor)))
      })
    })
  }

  #install(descriptor: Descriptor, source: NodeId): Promise<void> {
    const { timers, shelf, id } = this.#context
    return new Promise((resolve, reject) => {
      timers.after(this.#delay(this.#delays.installMs), () => {
        const bytes = shelf.fetch(source, id, descriptor.name)
        if (bytes === null) {
          shelf.stats.installFailures++
          this.#settle(() => reject(new Error(`snapshot ${descriptor.name} not at n${source}`)))
          return
        }
        shelf.of(id).set(descriptor.name, bytes)
        this.#load(descriptor, bytes)
        shelf.stats.installs++
        this.#settle(resolve)
      })
    })
  }

  #retain(descriptors: readonly Uint8Array[]): void {
    const keep = new Set(descriptors.map((bytes) => decodeDescriptor(bytes).name))
    const { shelf, id } = this.#context
    const own = shelf.of(id)
    for (const name of own.keys()) {
      if (keep.has(name)) continue
      own.delete(name)
      shelf.stats.deleted++
    }
  }
}
