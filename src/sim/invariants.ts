/* Raft's safety properties, checked while the simulation runs: Election Safety (one leader per
 * term), State Machine Safety (no two nodes apply different entries at one index), monotonic
 * commit and applied indexes per node (after a restart never below the snapshot), Log Matching
 * and Leader Completeness (over the logs the hosts expose). Invariant: the first violation is
 * kept, named after the property, and fails the seed; nothing here changes the cluster. */
import type { Entry, NodeId } from '../raft/index.js'
import type { ReplicaInspection, ReplicaStatus } from '../replica/types.js'

export class InvariantViolation extends Error {
  override name = 'InvariantViolation'
  readonly invariant: string
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`)
    this.invariant = invariant
  }
}

interface AppliedRecord {
  readonly term: number
  readonly kind: Entry['kind']
  readonly data: Uint8Array
  readonly firstAppliedMs: number
}

interface NodeProgress {
  commitIndex: number
  appliedIndex: number
  /** Index of the last entry this incarnation applied (or restored from a snapshot). */
  lastAppliedIndex: number
}

export class InvariantChecker {
  /** term -> the node that led it. */
  readonly #leaders = new Map<number, NodeId>()
  /** (node, term) -> virtual ms it became leader, for Leader Completeness. */
  readonly #leaderSinceMs = new Map<string, number>()
  readonly #applied = new Map<number, AppliedRecord>()
  readonly #progress = new Map<NodeId, NodeProgress>()
  readonly #now: () => number
  violation: InvariantViolation | null = null
  checks = 0

  constructor(now: () => number) {
    this.#now = now
  }

  #fail(invariant: string, detail: string): void {
    this.violation ??= new InvariantViolation(invariant, detail)
  }

  /** A new incarnation of `id` starts (from its durable state). */
  onStart(id: NodeId): void {
    this.#progress.delete(id)
  }

  /**
   * `id` rebuilt its Raft core from disk after a failed snapshot install: the commit index it
   * had learnt with the snapshot is forgotten (applied state is kept and stays checked).
   */
  onCoreRebuilt(id: NodeId): void {
    this.#progressOf(id).commitIndex = 0
  }

  onLeader(id: NodeId, term: number): void {
    const known = this.#leaders.get(term)
    if (known !== undefined && known !== id) {
      this.#fail('Election Safety', `nodes ${known} and ${id} both led term ${term}`)
    }
    this.#leaders.set(term, id)
    const key = `${id}/${term}`
    if (!this.#leaderSinceMs.has(key)) this.#leaderSinceMs.set(key, this.#now())
  }

  onSnapshotRestored(id: NodeId, index: number): void {
    const progress = this.#progressOf(id)
    if (index < progress.lastAppliedIndex) {
      this.#fail(
        'Monotonic Applied',
        `node ${id} restored snapshot ${index} after applying ${progress.lastAppliedIndex}`,
      )
    }
    progress.lastAppliedIndex = index
  }

  onApplied(id: NodeId, entry: Entry): void {
    const progress = this.#progressOf(id)
    if (progress.lastAppliedIndex > 0 && entry.index !== progress.lastAppliedIndex + 1) {
      this.#fail(
        'Monotonic Applied',
        `node ${id} applied ${entry.index} after ${progress.lastAppliedIndex}`,
      )
    }
    progress.lastAppliedIndex = entry.index
    const known = this.#applied.get(entry.index)
    if (known === undefined) {
      const record = {
        term: entry.term,
        kind: entry.kind,
        data: Uint8Array.from(entry.data),
        firstAppliedMs: this.#now(),
      }
      this.#applied.set(entry.index, record)
      return
    }
    if (
      known.term !== entry.term ||
      known.kind !== entry.kind ||
      !sameBytes(known.data, entry.data)
    ) {
      this.#fail(
        'State Machine Safety',
        `node ${id} applied ${describe(entry)} at ${entry.index}, another node ${describeRecord(known)}`,
      )
    }
  }

  /** Commit and applied only move forward within an incarnation, and never below the snapshot. */
  checkStatus(status: ReplicaStatus): void {
    this.checks++
    const progress = this.#progressOf(status.id)
    if (status.commitIndex < progress.commitIndex) {
      this.#fail(
        'Monotonic Commit',
        `node ${status.id} commit ${status.commitIndex} < ${progress.commitIndex}`,
      )
    }
    if (status.appliedIndex < progress.appliedIndex) {
      this.#fail(
        'Monotonic Applied',
        `node ${status.id} applied ${status.appliedIndex} < ${progress.appliedIndex}`,
      )
    }
    if (status.appliedIndex < status.snapshotIndex || status.commitIndex < status.appliedIndex) {
      this.#fail(
        'Monotonic Applied',
        `node ${status.id} snapshot ${status.snapshotIndex} <= applied ${status.appliedIndex} <= commit ${status.commitIndex} broken`,
      )
    }
    progress.commitIndex = status.commitIndex
    progress.appliedIndex = status.appliedIndex
    if (status.role === 'leader') this.onLeader(status.id, status.term)
  }

  /** Log Matching between every pair of logs, and Leader Completeness for every leader. */
  checkLogs(logs: readonly ReplicaInspection[]): void {
    for (let i = 0; i < logs.length; i++) {
      const a = logs[i]
      if (a === undefined) continue
      for (let j = i + 1; j < logs.length; j++) {
        const b = logs[j]
        if (b !== undefined) this.#checkLogMatching(a, b)
      }
      if (a.role === 'leader') this.#checkLeaderCompleteness(a)
    }
  }

  #checkLogMatching(a: ReplicaInspection, b: ReplicaInspection): void {
    // Walk the common range from the top: once two entries agree in term, all below must agree.
    const low = Math.max(firstIndexOf(a), firstIndexOf(b))
    const high = Math.min(a.lastIndex, b.lastIndex)
    let matched = false
    for (let index = high; index >= low; index--) {
      const x = entryAt(a, index)
      const y = entryAt(b, index)
      if (x === undefined || y === undefined) continue
      if (x.term === y.term) matched = true
      if (matched && (x.term !== y.term || x.kind !== y.kind || !sameBytes(x.data, y.data))) {
        this.#fail(
          'Log Matching',
          `nodes ${a.id} and ${b.id} differ at ${index} (${describe(x)} vs ${describe(y)}) below a common entry`,
        )
        return
      }
    }
  }

  #checkLeaderCompleteness(leader: ReplicaInspection): void {
    const since = this.#leaderSinceMs.get(`${leader.id}/${leader.term}`)
    if (since === undefined) return
    for (const [index, record] of this.#applied) {
      // Entries committed before this leader was elected must be in its log (or snapshot).
      if (record.firstAppliedMs >= since || index <= leader.snapshotIndex) continue
      const entry = entryAt(leader, index)
      if (
        entry === undefined ||
        entry.term !== record.term ||
        !sameBytes(entry.data, record.data)
      ) {
        this.#fail(
          'Leader Completeness',
          `leader ${leader.id} of term ${leader.term} lacks committed entry ${index} (term ${record.term})`,
        )
        return
      }
    }
  }

  #progressOf(id: NodeId): NodeProgress {
    let progress = this.#progress.get(id)
    if (progress === undefined) {
      progress = { commitIndex: 0, appliedIndex: 0, lastAppliedIndex: 0 }
      this.#progress.set(id, progress)
    }
    return progress
  }

  /** Indexes every node applied so far, with their terms (tests and convergence checks). */
  appliedTerms(): Map<number, number> {
    return new Map([...this.#applied].map(([index, record]) => [index, record.term]))
  }
}

function firstIndexOf(log: ReplicaInspection): number {
  return log.entries[0]?.index ?? log.lastIndex + 1
}

function entryAt(log: ReplicaInspection, index: number): Entry | undefined {
  const first = log.entries[0]
  if (first === undefined) return undefined
  return log.entries[index - first.index]
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function describe(entry: Entry): string {
  return `${entry.kind}@${entry.term} (${entry.data.byteLength} B)`
}

function describeRecord(record: AppliedRecord): string {
  return `applied ${record.kind}@${record.term} (${record.data.byteLength} B)`
}
