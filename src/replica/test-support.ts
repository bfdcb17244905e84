/* Test harness for the replica host (not shipped): an in-memory Disk that loses unsynced bytes
 * on a crash (and can tear the last write), one manual clock and timer queue for every node, and
 * a cluster of hosts on a network of deferred deliveries with cuttable links. Invariant: all of
 * it is deterministic; time moves only when a test advances it. */
import { assert } from '../core/assert.js'
import type { BlockFile, Clock, Disk, Rng, Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import type { MembershipChange, NodeId, RaftMessage } from '../raft/index.js'
import { createReplicaHost } from './host.js'
import {
  KvStateMachine,
  decodeKvReply,
  encodeKvCommand,
  encodeKvQuery,
} from './kv-state-machine.js'
import type { KvCommand, KvReply } from './kv-state-machine.js'
import type { ReplicaHost, ReplicaOptions, ReplicaResult } from './types.js'

interface MemFile {
  data: Uint8Array
  length: number
  syncedLength: number
}

export class MemDisk implements Disk {
  readonly files = new Map<string, MemFile>()
  syncs = 0

  #file(path: string): MemFile {
    const file = this.files.get(path)
    if (file === undefined) throw new Error(`ENOENT: no such file, open '${path}'`)
    return file
  }

  openSync(path: string, mode: 'read' | 'append'): BlockFile {
    if (!this.files.has(path)) {
      if (mode === 'read') this.#file(path)
      this.files.set(path, { data: new Uint8Array(256), length: 0, syncedLength: 0 })
    }
    return this.#handle(path)
  }

  open(path: string, mode: 'read' | 'append'): Promise<BlockFile> {
    return Promise.resolve().then(() => this.openSync(path, mode))
  }

  #handle(path: string): BlockFile {
    let closed = false
    const file = (): MemFile => {
      assert(!closed, `${path} is closed`)
      return this.#file(path)
    }
    const appendSync = (bytes: Uint8Array): number => {
      const f = file()
      if (f.length + bytes.length > f.data.length) {
        const grown = new Uint8Array(Math.max(f.data.length * 2, f.length + bytes.length))
        grown.set(f.data.subarray(0, f.length))
        f.data = grown
      }
      f.data.set(bytes, f.length)
      f.length += bytes.length
      return f.length - bytes.length
    }
    const syncSync = (): void => {
      const f = file()
      f.syncedLength = f.length
      this.syncs++
    }
    const readSync = (offset: number, length: number, into: Buffer): number => {
      const f = file()
      const end = Math.min(f.length, offset + length)
      if (end <= offset) return 0
      into.set(f.data.subarray(offset, end))
      return end - offset
    }
    return {
      path,
      size: () => file().length,
      appendSync,
      append: (bytes) => Promise.resolve(appendSync(bytes)),
      syncSync,
      sync: () => Promise.resolve(syncSync()),
      readSync,
      read: (offset, length) => {
        const into = Buffer.alloc(length)
        return Promise.resolve(into.subarray(0, readSync(offset, length, into)))
      },
      truncate: (length) => {
        const f = file()
        f.length = Math.min(f.length, length)
        f.syncedLength = Math.min(f.syncedLength, length)
        return Promise.resolve()
      },
      close: () => {
        closed = true
        return Promise.resolve()
      },
      closeSync: () => {
        closed = true
      },
    }
  }

  list(dir: string): Promise<string[]> {
    return Promise.resolve(this.listSync(dir))
  }

  listSync(dir: string): string[] {
    const prefix = `${dir}/`
    // Subdirectories are implicit: the first part of a deeper file's path names one.
    const names = [...this.files.keys()]
      .filter((path) => path.startsWith(prefix))
      .map((path) => path.slice(prefix.length).split('/')[0] as string)
    return [...new Set(names)].sort()
  }

  exists(path: string): boolean {
    return this.files.has(path)
  }

  mkdirp(): void {}

  remove(path: string): Promise<void> {
    this.files.delete(path)
    for (const name of [...this.files.keys()])
      if (name.startsWith(`${path}/`)) this.files.delete(name)
    return Promise.resolve()
  }

  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.files.set(path, { data: data.slice(), length: data.length, syncedLength: data.length })
    return Promise.resolve()
  }

  readFileSync(path: string): Buffer {
    const f = this.#file(path)
    return Buffer.from(f.data.subarray(0, f.length))
  }

  readFile(path: string): Promise<Buffer> {
    return Promise.resolve().then(() => this.readFileSync(path))
  }

  rename(from: string, to: string): Promise<void> {
    this.renameSync(from, to)
    return Promise.resolve()
  }

  renameSync(from: string, to: string): void {
    this.files.set(to, this.#file(from))
    this.files.delete(from)
  }

  /** The new name shares the MemFile, as a hard link shares an inode. */
  link(existingPath: string, newPath: string): void {
    assert(!this.files.has(newPath), `${newPath} exists`)
    this.files.set(newPath, this.#file(existingPath))
  }

  syncDir(): Promise<void> {
    return Promise.resolve()
  }

  lockDir(): { release(): void } {
    return { release: () => undefined }
  }

  /** A power loss: every file keeps its synced bytes plus up to `tornBytes` of the rest. */
  crash(tornBytes = 0): void {
    for (const file of this.files.values()) {
      file.length = Math.min(file.length, file.syncedLength + tornBytes)
      file.syncedLength = file.length
    }
  }

  /** Bytes appended to `path` but not yet synced. */
  unsyncedBytes(path: string): number {
    const f = this.#file(path)
    return f.length - f.syncedLength
  }
}

interface Timer {
  dueMs: number
  readonly intervalMs: number
  readonly onFire: () => void
  cancelled: boolean
}

/** One virtual clock and timer queue: time moves only in advance(). */
export class ManualTime implements Clock, Timers {
  nowMs = 0
  #timers: Timer[] = []
  #deferred: (() => void)[] = []

  monotonicMs(): number {
    return this.nowMs
  }

  wallMs(): number {
    return 1_700_000_000_000 + this.nowMs
  }

  every(intervalMs: number, onFire: () => void): () => void {
    return this.#add(intervalMs, intervalMs, onFire)
  }

  after(delayMs: number, onFire: () => void): () => void {
    return this.#add(delayMs, 0, onFire)
  }

  #add(delayMs: number, intervalMs: number, onFire: () => void): () => void {
    const timer = { dueMs: this.nowMs + delayMs, intervalMs, onFire, cancelled: false }
    this.#timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  defer(onFire: () => void): void {
    this.#deferred.push(onFire)
  }

  /** Runs deferred work (and work it defers) until none is left. */
  drain(): void {
    for (let i = 0; i < 1_000_000 && this.#deferred.length > 0; i++) this.#deferred.shift()?.()
    assert(this.#deferred.length === 0, 'deferred work settles')
  }

  /** Moves time forward by `ms`, firing due timers in order and draining after each. */
  advance(ms: number): void {
    const endMs = this.nowMs + ms
    this.drain()
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled)
      const next = this.#timers.reduce<Timer | null>(
        (a, t) => (a === null || t.dueMs < a.dueMs ? t : a),
        null,
      )
      if (next === null || next.dueMs > endMs) break
      this.nowMs = next.dueMs
      if (next.intervalMs > 0) next.dueMs += next.intervalMs
      else next.cancelled = true
      next.onFire()
      this.drain()
    }
    this.nowMs = endMs
  }
}

export const testTickMs = 10
export const testGroupId = 3

export interface ClusterOptions {
  readonly ids: readonly NodeId[]
  readonly seed?: number
  readonly replica?: Partial<ReplicaOptions>
  /** Each node's disk (default: a MemDisk, which crash() can cut back to what was synced). */
  readonly disk?: (id: NodeId) => Disk
  /** The data directory of each node (default: /data/n<id>). */
  readonly dir?: (id: NodeId) => string
  /** Each new process's state machine (default: a fresh KvStateMachine). */
  readonly machine?: (id: NodeId, disk: Disk, dir: string) => KvStateMachine
  /** Faults drawn from the seed: drops, duplicates, and delays (which reorder). */
  readonly network?: { dropPercent: number; duplicatePercent: number; delayMsMax: number }
}

/** A group of hosts with their disks and state machines on one virtual clock and network. */
export class TestCluster {
  readonly time = new ManualTime()
  readonly disks = new Map<NodeId, Disk>()
  readonly machines = new Map<NodeId, KvStateMachine>()
  readonly hosts = new Map<NodeId, ReplicaHost>()
  readonly #cut = new Set<string>()
  readonly #options: ClusterOptions
  readonly #starts = new Map<NodeId, number>()
  readonly #networkRng: Rng
  /** Messages delivered, for tests that look at traffic. */
  readonly delivered: RaftMessage[] = []

  constructor(options: ClusterOptions) {
    this.#options = options
    this.#networkRng = createRng((options.seed ?? 1) * 31 + 17)
    for (const id of options.ids) this.start(id, options.ids)
  }

  /** Starts (or restarts) node `id` on its disk; `voters` only matter for a fresh directory. */
  start(id: NodeId, voters: readonly NodeId[] = this.#options.ids): ReplicaHost {
    assert(!this.hosts.has(id), `node ${id} is running`)
    const disk = this.disks.get(id) ?? this.#options.disk?.(id) ?? new MemDisk()
    this.disks.set(id, disk)
    const dir = this.#options.dir?.(id) ?? `/data/n${id}`
    const machine = this.#options.machine?.(id, disk, dir) ?? new KvStateMachine()
    this.machines.set(id, machine)
    const starts = (this.#starts.get(id) ?? 0) + 1
    this.#starts.set(id, starts)
    const host = createReplicaHost({
      groupId: testGroupId,
      id,
      dir,
      disk,
      clock: this.time,
      timers: this.time,
      rng: createRng((this.#options.seed ?? 1) * 7919 + id * 104729 + starts),
      voters,
      stateMachine: machine,
      send: (message) => this.#send(message),
      tickMs: testTickMs,
      ...this.#options.replica,
    })
    this.hosts.set(id, host)
    host.start()
    return host
  }

  #send(message: RaftMessage): void {
    if (this.#cut.has(`${message.from}-${message.to}`)) return
    const faults = this.#options.network
    const rng = this.#networkRng
    if (faults === undefined) return this.time.defer(() => this.#deliver(message))
    if (rng.int(100) < faults.dropPercent) return
    const copies = rng.int(100) < faults.duplicatePercent ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.time.after(rng.int(faults.delayMsMax + 1), () => this.#deliver(message))
    }
  }

  #deliver(message: RaftMessage): void {
    if (this.#cut.has(`${message.from}-${message.to}`)) return
    this.delivered.push(message)
    this.hosts.get(message.to)?.receive(message)
  }

  host(id: NodeId): ReplicaHost {
    const host = this.hosts.get(id)
    assert(host !== undefined, `node ${id} is not running`)
    return host
  }

  machine(id: NodeId): KvStateMachine {
    const machine = this.machines.get(id)
    assert(machine !== undefined, `no state machine for ${id}`)
    return machine
  }

  disk(id: NodeId): MemDisk {
    const disk = this.disks.get(id)
    assert(disk instanceof MemDisk, `no in-memory disk for ${id}`)
    return disk
  }

  /** A clean stop (pending requests answered 'unknown'); the disk keeps everything written. */
  stop(id: NodeId): void {
    this.host(id).stop()
    this.hosts.delete(id)
  }

  /** A power loss: stop, then the disk loses unsynced bytes (all but `tornBytes` of them). */
  crash(id: NodeId, tornBytes = 0): void {
    this.stop(id)
    this.disk(id).crash(tornBytes)
  }

  isolate(id: NodeId): void {
    for (const other of this.disks.keys()) {
      if (other === id) continue
      this.#cut.add(`${id}-${other}`)
      this.#cut.add(`${other}-${id}`)
    }
  }

  heal(): void {
    this.#cut.clear()
  }

  /** Advances time a tick at a time until `predicate` holds; fails after `maxMs`. */
  until(predicate: () => boolean, maxMs = 10_000): void {
    for (let elapsedMs = 0; !predicate(); elapsedMs += testTickMs) {
      assert(elapsedMs < maxMs, `condition not reached within ${maxMs} ms`)
      this.time.advance(testTickMs)
    }
  }

  /** The one leader of the highest term among running nodes, waiting for it if needed. */
  leader(maxMs = 10_000): NodeId {
    let leader: NodeId = 0
    this.until(() => {
      const leaders = [...this.hosts.values()]
        .map((host) => host.status())
        .filter((status) => status.role === 'leader')
        .sort((a, b) => b.term - a.term)
      leader = leaders[0]?.id ?? 0
      return leader !== 0
    }, maxMs)
    return leader
  }

  /** Issues a request and runs the clock until it is answered. */
  call(issue: (done: (result: ReplicaResult) => void) => void, maxMs = 10_000): ReplicaResult {
    let result: ReplicaResult | null = null
    issue((r) => {
      assert(result === null, 'a request is answered once')
      result = r
    })
    this.until(() => result !== null, maxMs)
    assert(result !== null, 'answered')
    return result
  }

  /** A write of a client with one write in flight (ackedThrough: the sequence before). */
  write(id: NodeId, clientId: number, sequence: number, command: KvCommand): ReplicaResult {
    const request = {
      clientId,
      sequence,
      ackedThrough: sequence - 1,
      command: encodeKvCommand(command),
    }
    return this.call((done) => this.host(id).write(request, done))
  }

  read(id: NodeId, key: string): ReplicaResult {
    return this.call((done) => this.host(id).read(encodeKvQuery({ op: 'get', key }), done))
  }

  changeMembership(id: NodeId, change: MembershipChange): ReplicaResult {
    return this.call((done) => this.host(id).changeMembership(change, done))
  }
}

/** The KvReply of a successful result (fails the test otherwise). */
export function kvReply(result: ReplicaResult): KvReply {
  assert(result.ok, `expected success, got ${JSON.stringify(result)}`)
  return decodeKvReply(result.reply)
}
