/* An in-memory StorageEngine: the full contract of src/storage/types.ts over a Map, for tests and
 * embedded use without a disk. Invariant: a live key keeps its slot until it is deleted, so the
 * slot-index SCAN cursor returns every key present for a whole scan at least once (as Bitcask). */
import { assert } from '../core/assert.js'
import { FieldIndex } from '../storage/field-index.js'
import { RecordKind, isCollectionKind } from '../storage/record-codec.js'
import type { EngineStats, FsyncPolicy, ScanPage, StorageEngine } from '../storage/types.js'

/** Redis's dictScan visits at most COUNT*10 buckets per call while looking for COUNT keys. */
const scanSlotsPerCountMax = 10
/** Random draws on sparse slots before falling back to a linear probe. */
const randomDrawsMax = 16

export class MemoryEngine implements StorageEngine {
  /** key (latin1) -> slot */
  #slotByKey = new Map<string, number>()
  #keys: (string | undefined)[] = []
  #values: (Buffer | undefined)[] = []
  #expiresAtMs: number[] = []
  /** RecordKind per slot; collections keep their fields in #collections. */
  #kinds: number[] = []
  #collections = new Map<string, FieldIndex<Buffer>>()
  /** collectionVersion's ids, one per collection created. */
  #versions = new WeakMap<FieldIndex<Buffer>, number>()
  #versionNext = 1
  #freeSlots: number[] = []
  #keysWithExpiry = 0
  #closed = false
  #groupDepth = 0

  get(key: Buffer): Buffer | null {
    const slot = this.#slotByKey.get(key.toString('latin1'))
    if (slot === undefined) return null
    return Buffer.from(this.#values[slot] as Buffer)
  }

  has(key: Buffer): boolean {
    return this.#slotByKey.has(key.toString('latin1'))
  }

  expiresAtMs(key: Buffer): number | null {
    const slot = this.#slotByKey.get(key.toString('latin1'))
    return slot === undefined ? null : (this.#expiresAtMs[slot] as number)
  }

  valueLength(key: Buffer): number | null {
    const slot = this.#slotByKey.get(key.toString('latin1'))
    return slot === undefined ? null : (this.#values[slot] as Buffer).length
  }

  put(key: Buffer, value: Buffer, expiresAtMs: number): void {
    this.#putKind(key, value, expiresAtMs, RecordKind.string)
  }

  #putKind(key: Buffer, value: Buffer, expiresAtMs: number, kind: number): void {
    assert(!this.#closed, 'put on a closed engine')
    assert(Number.isFinite(expiresAtMs), 'expiresAtMs is finite')
    const name = key.toString('latin1')
    let slot = this.#slotByKey.get(name)
    if (slot === undefined) {
      slot = this.#allocateSlot(name)
    } else if (this.#expiresAtMs[slot] !== 0) {
      this.#keysWithExpiry--
    }
    this.#values[slot] = Buffer.from(value)
    this.#kinds[slot] = kind
    this.#collections.delete(name)
    if (isCollectionKind(kind)) {
      const fields = new FieldIndex<Buffer>()
      this.#versions.set(fields, this.#versionNext++)
      this.#collections.set(name, fields)
    }
    this.#expiresAtMs[slot] = expiresAtMs
    if (expiresAtMs !== 0) this.#keysWithExpiry++
  }

  delete(key: Buffer): boolean {
    assert(!this.#closed, 'delete on a closed engine')
    const name = key.toString('latin1')
    const slot = this.#slotByKey.get(name)
    if (slot === undefined) return false
    if (this.#expiresAtMs[slot] !== 0) this.#keysWithExpiry--
    this.#slotByKey.delete(name)
    this.#collections.delete(name)
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#expiresAtMs[slot] = 0
    this.#freeSlots.push(slot)
    return true
  }

  setExpiry(key: Buffer, expiresAtMs: number): boolean {
    assert(Number.isFinite(expiresAtMs), 'expiresAtMs is finite')
    const slot = this.#slotByKey.get(key.toString('latin1'))
    if (slot === undefined) return false
    if (this.#expiresAtMs[slot] !== 0) this.#keysWithExpiry--
    this.#expiresAtMs[slot] = expiresAtMs
    if (expiresAtMs !== 0) this.#keysWithExpiry++
    return true
  }

  clear(): void {
    this.#slotByKey.clear()
    this.#collections.clear()
    this.#kinds = []
    this.#keys = []
    this.#values = []
    this.#expiresAtMs = []
    this.#freeSlots = []
    this.#keysWithExpiry = 0
  }

  /** Nothing reaches a disk, so every group is trivially all-or-nothing; pairs are checked. */
  beginGroup(): void {
    this.#groupDepth++
  }

  endGroup(): void {
    assert(this.#groupDepth > 0, 'endGroup matches a beginGroup')
    this.#groupDepth--
  }

  kindOf(key: Buffer): number | null {
    const slot = this.#slotByKey.get(key.toString('latin1'))
    return slot === undefined ? null : (this.#kinds[slot] as number)
  }

  createCollection(key: Buffer, kind: number, expiresAtMs: number): void {
    assert(isCollectionKind(kind), 'a collection kind')
    this.#putKind(key, Buffer.alloc(0), expiresAtMs, kind)
  }

  collectionVersion(key: Buffer): number {
    const fields = this.#collections.get(key.toString('latin1'))
    return fields === undefined ? -1 : (this.#versions.get(fields) ?? -1)
  }

  elementCount(key: Buffer): number {
    return this.#collections.get(key.toString('latin1'))?.size ?? 0
  }

  getElement(key: Buffer, field: Buffer): Buffer | null {
    const value = this.#collectionOf(key).get(field.toString('latin1'))
    return value === undefined ? null : Buffer.from(value)
  }

  hasElement(key: Buffer, field: Buffer): boolean {
    return this.#collectionOf(key).has(field.toString('latin1'))
  }

  putElement(key: Buffer, field: Buffer, value: Buffer): boolean {
    return this.#collectionOf(key).set(field.toString('latin1'), Buffer.from(value))
  }

  deleteElement(key: Buffer, field: Buffer): boolean {
    return this.#collectionOf(key).delete(field.toString('latin1')) !== undefined
  }

  elementFields(key: Buffer): Buffer[] {
    const fields = this.#collections.get(key.toString('latin1'))?.fields() ?? []
    return Array.from(fields, (field) => Buffer.from(field, 'latin1'))
  }

  scanElements(key: Buffer, cursor: number, count: number): ScanPage {
    const keys: Buffer[] = []
    if (!Number.isSafeInteger(cursor) || cursor < 0) return { cursor: 0, keys }
    const next = this.#collectionOf(key).scan(cursor, count, (field) => {
      keys.push(Buffer.from(field, 'latin1'))
    })
    return { cursor: next, keys }
  }

  randomElement(key: Buffer, pick: (bound: number) => number): Buffer | null {
    const field = this.#collectionOf(key).random(pick)
    return field === null ? null : Buffer.from(field, 'latin1')
  }

  #collectionOf(key: Buffer): FieldIndex<Buffer> {
    const collection = this.#collections.get(key.toString('latin1'))
    assert(collection !== undefined, 'element access on a key holding a collection')
    return collection
  }

  keyCount(): number {
    return this.#slotByKey.size
  }

  scan(cursor: number, count: number): ScanPage {
    assert(count >= 1, 'scan count is positive')
    const slotCount = this.#keys.length
    const keys: Buffer[] = []
    if (!Number.isSafeInteger(cursor) || cursor < 0 || cursor >= slotCount) {
      return { cursor: 0, keys }
    }
    const visitLimit = Math.min(slotCount, cursor + count * scanSlotsPerCountMax)
    let slot = cursor
    while (slot < visitLimit && keys.length < count) {
      const name = this.#keys[slot]
      if (name !== undefined) keys.push(Buffer.from(name, 'latin1'))
      slot++
    }
    return { cursor: slot >= slotCount ? 0 : slot, keys }
  }

  randomKey(pick: (bound: number) => number): Buffer | null {
    const slotCount = this.#keys.length
    if (this.#slotByKey.size === 0) return null
    for (let draw = 0; draw < randomDrawsMax; draw++) {
      const name = this.#keys[pick(slotCount)]
      if (name !== undefined) return Buffer.from(name, 'latin1')
    }
    const start = pick(slotCount)
    for (let step = 0; step < slotCount; step++) {
      const name = this.#keys[(start + step) % slotCount]
      if (name !== undefined) return Buffer.from(name, 'latin1')
    }
    assert(false, 'a non-empty engine has a live slot')
  }

  forEachExpiring(visit: (key: Buffer, expiresAtMs: number) => void): void {
    for (let slot = 0; slot < this.#keys.length; slot++) {
      const name = this.#keys[slot]
      const expiresAtMs = this.#expiresAtMs[slot] as number
      if (name !== undefined && expiresAtMs !== 0) visit(Buffer.from(name, 'latin1'), expiresAtMs)
    }
  }

  hasUndurableWrites(): boolean {
    return false
  }

  /** Memory is as durable as it gets: `done` runs at once. */
  whenDurable(done: (error?: Error) => void): void {
    done()
  }

  /** Every policy is already met by memory, so a switch changes nothing that can be observed. */
  setFsyncPolicy(policy: FsyncPolicy): void {
    assert(policy === 'always' || policy === 'everysec' || policy === 'no', 'a known fsync policy')
  }

  flushAndSync(): Promise<void> {
    return Promise.resolve()
  }

  startMerge(): boolean {
    return false
  }

  stats(): EngineStats {
    return {
      keys: this.#slotByKey.size,
      keysWithExpiry: this.#keysWithExpiry,
      segments: 0,
      liveBytes: 0,
      deadBytes: 0,
      pendingBytes: 0,
      fsyncs: 0,
      lastFsyncAtMs: 0,
      merges: 0,
      mergeInProgress: false,
      lastWriteError: null,
    }
  }

  close(): Promise<void> {
    this.#closed = true
    return Promise.resolve()
  }

  #allocateSlot(name: string): number {
    const slot = this.#freeSlots.pop() ?? this.#keys.length
    this.#keys[slot] = name
    this.#expiresAtMs[slot] = 0
    this.#slotByKey.set(name, slot)
    return slot
  }
}

export function createMemoryEngine(): StorageEngine {
  return new MemoryEngine()
}
