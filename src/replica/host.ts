/* The replica host: one node's member of one Raft group. It recovers the durable log, ticks the
 * core, and drives its Ready loop once per event-loop turn (persist with one fdatasync, run off
 * the loop while stepping and ticking go on, then send, apply, advance), answering writes when
 * their entry applies and reads when their ReadIndex is applied. Invariant: no message leaves
 * before the state it depends on is durable (sendableBeforePersist: heartbeats and a leader's
 * appends depend on none), and every request is answered exactly once. Pure: ports only. */
import { assert } from '../core/assert.js'
import {
  MemoryStorage,
  Raft,
  noNode,
  sendableBeforePersist,
  type Entry,
  type Membership,
  type MembershipChange,
  type ProposeResult,
  type RaftMessage,
  type Ready,
  type Snapshot,
} from '../raft/index.js'
import { replicaDefaults, resolveReplicaConfig, type ReplicaConfig } from './config.js'
import { LogStore, type RecoveredLog } from './log-store.js'
import { PendingProposals, PendingReads } from './pending.js'
import { loadStorage } from './recovery.js'
import { SessionTable, checkRequestWindow, decodeEnvelope, encodeEnvelope } from './sessions.js'
import {
  decodeState,
  encodeSessions,
  encodeState,
  encodeStateParts,
  snapshotMachineBytes,
} from './snapshot-codec.js'
import type {
  ReplicaEvent,
  ReplicaHost,
  ReplicaInspection,
  ReplicaOptions,
  ReplicaResult,
  ReplicaStatus,
  WriteRequest,
} from './types.js'

type Done = (result: ReplicaResult) => void

/**
 * A file capture (state machines with `files`): what it froze is known at the call (applied
 * index, membership and sessions as of then); the descriptor comes when the files are durable.
 */
interface Capture {
  readonly index: number
  readonly membership: Membership
  readonly sessions: Uint8Array
  descriptor: Uint8Array | null
}

/** What exists only while the host runs (between start() and stop()). */
interface Running {
  readonly raft: Raft
  readonly storage: MemoryStorage
  readonly log: LogStore
  readonly cancelTick: () => void
}

export function createReplicaHost(options: ReplicaOptions): ReplicaHost {
  return new Host(options)
}

class Host implements ReplicaHost {
  readonly id: number
  readonly #options: ReplicaOptions
  readonly #config: ReplicaConfig
  readonly #sessions: SessionTable
  readonly #proposals = new PendingProposals()
  readonly #reads: PendingReads
  #running: Running | null = null
  /** The last run's state, kept after stop() so status() and inspect() still answer. */
  #lastRun: Running | null = null
  #stopped = false
  #readyScheduled = false
  /** An fdatasync of the last Ready is running: no new Ready until it is done. */
  #syncing = false
  /** A file snapshot's install holds the last Ready (persisted only once the files are in). */
  #installing = false
  /** The sender of the last InstallSnapshot chunk: where a file install fetches from. */
  #snapshotSource: number = noNode
  /** The file capture in flight, or done and waiting for an idle turn to become the snapshot. */
  #capture: Capture | null = null
  /** Ticks to wait after a failed capture before the next one (a failing disk is not hammered). */
  #captureBackoffTicks = 0
  /** What retain() was last told (snapshot indexes), so it is told only of changes. */
  #retainedKey = ''
  /** Term and vote as on disk: messages that promise them wait while they are not. */
  #durable: { term: number; vote: number } = { term: 0, vote: 0 }
  #nextRequestId = 0
  #reported: { role: string; term: number; leaderId: number; members: string } = {
    role: '',
    term: -1,
    leaderId: -1,
    members: '',
  }

  constructor(options: ReplicaOptions) {
    this.id = options.id
    this.#options = options
    this.#config = resolveReplicaConfig(options)
    this.#sessions = new SessionTable(this.#config.sessionsMax)
    this.#reads = new PendingReads(this.#config.electionTicks)
  }

  start(): void {
    assert(this.#running === null && !this.#stopped, 'a host starts once')
    const { store, recovered } = this.#openLog()
    // The core starts at the snapshot's index: only the log after it is applied again.
    if (recovered.snapshot !== null) this.#restore(recovered.snapshot, 'start')
    const cancelTick = this.#options.timers.every(this.#options.tickMs, () => this.#tick())
    this.#running = this.#newCore(store, recovered, recovered.snapshot?.index ?? 0, cancelTick)
    this.#lastRun = this.#running
    this.#reportChanges(this.#running.raft)
    this.#retainSnapshots(this.#running)
    this.#scheduleReady()
  }

  #openLog(): { store: LogStore; recovered: RecoveredLog } {
    const o = this.#options
    return LogStore.open(o.disk, o.dir, { voters: o.voters, learners: o.learners ?? [] })
  }

  /** A Raft core over the recovered log, whose state machine has applied through `applied`. */
  #newCore(
    store: LogStore,
    recovered: RecoveredLog,
    applied: number,
    cancelTick: () => void,
  ): Running {
    const o = this.#options
    const storage = loadStorage(recovered)
    this.#durable = { term: recovered.hardState.term, vote: recovered.hardState.vote }
    const raft = new Raft({
      groupId: o.groupId,
      id: o.id,
      voters: recovered.membership.voters,
      learners: recovered.membership.learners,
      storage,
      rng: o.rng,
      applied,
      electionTicks: this.#config.electionTicks,
      heartbeatTicks: this.#config.heartbeatTicks,
      readOnly: this.#config.readMode === 'lease' ? 'lease-based' : 'safe',
      ...(o.leaseDriftTicks === undefined ? {} : { leaseDriftTicks: o.leaseDriftTicks }),
    })
    return { raft, storage, log: store, cancelTick }
  }

  /**
   * A file install failed: its Ready (snapshot, hard state, entries) was never persisted, so the
   * core is rebuilt from disk with the state machine as it was (applied where it was). Pending
   * requests fail 'unknown'; the leader resends the snapshot (we now answer its chunks from 0).
   */
  #rebuild(running: Running): void {
    const applied = running.raft.status().applied
    running.log.close()
    this.#proposals.failUpTo()
    this.#reads.failAll()
    const { store, recovered } = this.#openLog()
    assert(
      applied >= (recovered.snapshot?.index ?? 0) && applied <= recovered.hardState.commit,
      'the rebuilt log holds what the state machine applied',
    )
    this.#running = this.#newCore(store, recovered, applied, running.cancelTick)
    this.#lastRun = this.#running
    this.#retainedKey = ''
    this.#reportChanges(this.#running.raft)
  }

  stop(): void {
    const running = this.#running
    this.#stopped = true
    this.#running = null
    if (running === null) return
    running.cancelTick()
    running.log.close()
    this.#proposals.failUpTo()
    this.#reads.failAll()
  }

  receive(message: RaftMessage): void {
    const running = this.#running
    if (running === null) return
    // A misrouted message is the network's mistake, not an invariant of ours: drop it.
    if (message.to !== this.id || message.groupId !== this.#options.groupId) return
    if (message.type === 'snapshot') {
      // While a file install holds its Ready, a newer snapshot must not replace the one being
      // installed (the core would then never mark it applied): drop it, the leader resends.
      if (this.#installing) return
      this.#snapshotSource = message.from
    }
    running.raft.step(message)
    this.#scheduleReady()
  }

  write(request: WriteRequest, done: Done): void {
    // The apply enforces the same rule; refusing here keeps a bad request out of the log.
    const window = checkRequestWindow(request.sequence, request.ackedThrough)
    if (window.kind === 'stale') return done({ ok: false, error: 'stale' })
    if (window.kind === 'beyond-window') return done({ ok: false, error: 'busy' })
    const envelope = encodeEnvelope(request)
    this.#propose(done, (raft) => raft.propose(envelope))
  }

  changeMembership(change: MembershipChange, done: Done): void {
    this.#propose(done, (raft) => raft.proposeMembershipChange(change))
  }

  #propose(done: Done, propose: (raft: Raft) => ProposeResult): void {
    const running = this.#running
    if (running === null) return done(notLeader(noNode))
    if (this.#proposals.size >= replicaDefaults.pendingProposalsMax) {
      return done({ ok: false, error: 'busy' })
    }
    const result = propose(running.raft)
    if (result.ok) {
      this.#proposals.add(result.index, result.term, done)
      this.#scheduleReady()
    } else if (result.reason === 'not-leader') {
      done(notLeader(running.raft.status().leaderId))
    } else if (result.reason === 'invalid-change') {
      done({ ok: false, error: 'refused', reason: 'not a valid change of the membership' })
    } else {
      done({ ok: false, error: 'busy' })
    }
  }

  read(query: Uint8Array, done: Done): void {
    const running = this.#running
    if (running === null) return done(notLeader(noNode))
    const { role, leaderId } = running.raft.status()
    if (this.#options.unsafeLocalReads === true) {
      // TEST ONLY, and wrong by design: a deposed leader that does not know it answers stale.
      if (role !== 'leader') return done(notLeader(leaderId))
      return done({ ok: true, reply: this.#options.stateMachine.query(query) })
    }
    if (leaderId === noNode) return done(notLeader(noNode))
    if (this.#reads.size >= replicaDefaults.pendingReadsMax) {
      return done({ ok: false, error: 'busy' })
    }
    const requestId = ++this.#nextRequestId
    this.#reads.add(requestId, query, done)
    running.raft.readIndex(requestId)
    this.#scheduleReady()
  }

  transferLeadership(target: number): boolean {
    const running = this.#running
    if (running === null) return false
    const started = running.raft.transferLeadership(target)
    this.#scheduleReady()
    return started
  }

  matchIndexOf(id: number): number | null {
    return this.#running?.raft.progressOf(id)?.match ?? null
  }

  status(): ReplicaStatus {
    const running = this.#lastRun
    assert(running !== null, 'status() of a started host')
    const raft = running.raft.status()
    return {
      id: this.id,
      role: raft.role,
      term: raft.term,
      leaderId: raft.leaderId,
      commitIndex: raft.commit,
      appliedIndex: raft.applied,
      lastIndex: raft.lastIndex,
      snapshotIndex: running.storage.snapshot().index,
      membership: running.raft.membership(),
    }
  }

  inspect(): ReplicaInspection {
    const running = this.#lastRun
    assert(running !== null, 'inspect() of a started host')
    const snapshot = running.storage.snapshot()
    return {
      ...this.status(),
      entries: running.raft.entries().filter((entry) => entry.index > snapshot.index),
      snapshotTerm: snapshot.term,
    }
  }

  // ---- the loop ---------------------------------------------------------------------------

  #tick(): void {
    const running = this.#running
    if (running === null) return
    running.raft.tick()
    this.#reads.tick()
    if (this.#captureBackoffTicks > 0) this.#captureBackoffTicks--
    this.#retainSnapshots(running)
    this.#scheduleReady()
  }

  /** Once per turn: every request of this turn shares one Ready and one fdatasync. */
  #scheduleReady(): void {
    if (this.#readyScheduled) return
    this.#readyScheduled = true
    this.#options.timers.defer(() => {
      this.#readyScheduled = false
      this.#processReady()
    })
  }

  #processReady(): void {
    const running = this.#running
    if (running === null) return
    if (this.#syncing || this.#installing) {
      // The disk (or a file install) has the last Ready: only what depends on nothing
      // unpersisted may go meanwhile.
      for (const message of running.raft.takeSendable()) this.#options.send(message)
      return
    }
    for (let round = 0; round < replicaDefaults.readyRoundsPerTurn; round++) {
      const ready = running.raft.ready()
      if (ready === null) {
        this.#maybeSnapshot(running)
        return
      }
      this.#handleReady(running, ready)
      if (this.#running !== running || this.#syncing || this.#installing) return
    }
    this.#scheduleReady()
  }

  /**
   * Persist, send, apply, advance. A Ready that needs an fdatasync writes its records now and
   * syncs on the disk's own thread while the loop keeps stepping and ticking: its messages that
   * depend on nothing unpersisted go at once, committed entries (durable on a quorum already) are
   * applied at once, and the rest (append and vote answers) go only once the sync is done.
   */
  #handleReady(running: Running, ready: Ready): void {
    if (ready.snapshot !== null && this.#options.stateMachine.files !== undefined) {
      return this.#installFiles(running, ready)
    }
    if (ready.snapshot !== null) {
      this.#installSnapshot(running, ready)
      this.#durableTermVote(ready)
      return this.#finishReady(running, ready, ready.messages, true)
    }
    running.log.append(ready.hardState, ready.entries)
    if (!ready.mustSync) return this.#finishReady(running, ready, ready.messages, true)
    if (this.#options.syncOffLoop !== true) {
      running.log.sync()
      this.#durableTermVote(ready)
      return this.#finishReady(running, ready, ready.messages, true)
    }
    const held = this.#sendSendable(ready)
    this.#applyCommitted(ready)
    this.#syncing = true
    running.log.syncAsync().then(
      () => {
        this.#syncing = false
        if (this.#running !== running) return
        this.#durableTermVote(ready)
        this.#finishReady(running, ready, held, false)
        this.#scheduleReady()
      },
      (error: unknown) => {
        // A failed fdatasync leaves durability unknown: stop the process, as a failed sync did.
        if (this.#running !== running) return
        this.#options.timers.defer(() => {
          throw error instanceof Error ? error : new Error(String(error))
        })
      },
    )
  }

  /** Sends the Ready's messages that depend on nothing it persists; returns the others. */
  #sendSendable(ready: Ready): RaftMessage[] {
    const termVoteDurable =
      ready.hardState === null ||
      (ready.hardState.term === this.#durable.term && ready.hardState.vote === this.#durable.vote)
    const held: RaftMessage[] = []
    for (const message of ready.messages) {
      if (termVoteDurable && sendableBeforePersist(message)) this.#options.send(message)
      else held.push(message)
    }
    return held
  }

  /**
   * A file snapshot from the leader: the machine fetches its files (from the sender of the last
   * chunk) while the Ready is held as during an async fdatasync (heartbeats and their answers go
   * on, so no election starts); once installed it is persisted and the Ready finishes. A failed
   * install persisted nothing: the core is rebuilt from disk.
   */
  #installFiles(running: Running, ready: Ready): void {
    const files = this.#options.stateMachine.files
    const snapshot = ready.snapshot
    assert(files !== undefined && snapshot !== null, 'a file snapshot Ready')
    assert(this.#snapshotSource !== noNode, 'a received snapshot has a sender')
    const held = this.#sendSendable(ready)
    this.#installing = true
    files.install(snapshotMachineBytes(snapshot.data), this.#snapshotSource).then(
      () => {
        this.#installing = false
        if (this.#running !== running) return
        this.#installSnapshot(running, ready)
        this.#durableTermVote(ready)
        this.#finishReady(running, ready, held, true)
        assert(
          running.raft.status().applied === snapshot.index,
          'the installed snapshot is applied',
        )
        this.#retainSnapshots(running)
        this.#scheduleReady()
      },
      () => {
        this.#installing = false
        if (this.#running !== running) return
        this.#rebuild(running)
        const source = this.#snapshotSource
        this.#options.onEvent?.({ kind: 'snapshot-install-failed', index: snapshot.index, source })
        this.#scheduleReady()
      },
    )
  }

  /** Records, once the Ready's state is on disk, what it made durable. */
  #durableTermVote(ready: Ready): void {
    if (ready.hardState !== null) {
      this.#durable = { term: ready.hardState.term, vote: ready.hardState.vote }
    }
  }

  #applyCommitted(ready: Ready): void {
    for (const entry of ready.committed) this.#apply(entry)
    for (const readState of ready.readStates) {
      this.#reads.onReadState(readState.requestId, readState.index)
    }
  }

  /** The Ready's state is durable: the in-memory log takes it, the rest goes out, then advance. */
  #finishReady(
    running: Running,
    ready: Ready,
    messages: readonly RaftMessage[],
    applyNow: boolean,
  ): void {
    const { raft, storage } = running
    if (ready.snapshot === null) {
      storage.append(ready.entries)
      if (ready.hardState !== null) storage.setHardState(ready.hardState)
    }
    for (const message of messages) this.#options.send(message)
    if (applyNow) this.#applyCommitted(ready)
    raft.advance(ready)
    this.#reportChanges(raft)
    if (raft.status().role !== 'leader') this.#proposals.failUpTo()
    this.#reads.serve(raft.status().applied, (query) => this.#options.stateMachine.query(query))
  }

  /** A snapshot from the leader replaces our log and state: durable first, then restored. */
  #installSnapshot(running: Running, ready: Ready): void {
    const snapshot = ready.snapshot
    assert(snapshot !== null, 'a Ready with a snapshot')
    const hardState = ready.hardState ?? running.storage.initialHardState()
    running.log.saveSnapshot(snapshot, {
      baseIndex: snapshot.index,
      baseTerm: snapshot.term,
      hardState,
      entries: ready.entries,
    })
    running.storage.applySnapshot(snapshot)
    running.storage.append(ready.entries)
    running.storage.setHardState(hardState)
    this.#restore(snapshot, 'install')
    // Proposals at or below the snapshot were never applied here: their fate is unknown to us.
    this.#proposals.failUpTo(snapshot.index)
  }

  /**
   * The sessions from the snapshot, and the state machine's state: restored from bytes, or for
   * file snapshots already installed (install) or opened by the caller before start (checked).
   */
  #restore(snapshot: Snapshot, when: 'start' | 'install'): void {
    const machine = decodeState(snapshot.data, this.#sessions)
    const files = this.#options.stateMachine.files
    if (files === undefined) this.#options.stateMachine.restore(machine)
    else if (when === 'start') {
      assert(files.holds(machine), "the state machine is opened from the log's snapshot")
    }
    this.#options.onEvent?.({ kind: 'snapshot-restored', index: snapshot.index })
  }

  #apply(entry: Entry): void {
    if (entry.kind === 'command') {
      const result = this.#applyCommand(entry)
      this.#proposals.settle(entry.index, entry.term, () => result)
    } else {
      this.#proposals.settle(entry.index, entry.term, () => ({ ok: true, reply: entry.data }))
    }
    this.#options.onApplied?.(entry)
  }

  /**
   * Exactly once: a duplicate gets the first reply; a sequence at or below the client's
   * ackedThrough, or beyond the replies its session may keep, is not applied.
   */
  #applyCommand(entry: Entry): ReplicaResult {
    const envelope = decodeEnvelope(entry.data)
    const check = this.#sessions.admit(envelope)
    switch (check.kind) {
      case 'duplicate':
        return { ok: true, reply: check.reply }
      case 'stale':
        return { ok: false, error: 'stale' }
      case 'beyond-window':
        return { ok: false, error: 'busy' }
      case 'new': {
        const reply = this.#options.stateMachine.apply(envelope.command, entry.index)
        this.#sessions.record(envelope, reply, entry.index)
        return { ok: true, reply }
      }
    }
  }

  /** Snapshots the applied state every snapshotEveryEntries and compacts the log behind it. */
  #maybeSnapshot(running: Running): void {
    if (this.#options.stateMachine.files !== undefined) return this.#maybeCapture(running)
    const { raft, storage } = running
    const applied = raft.status().applied
    if (applied - storage.snapshot().index < this.#config.snapshotEveryEntries) return
    const data = encodeState(this.#sessions, this.#options.stateMachine.snapshot())
    this.#saveSnapshot(running, storage.createSnapshot(applied, data, raft.membership()))
  }

  /**
   * File snapshots: starts a capture (one at a time), and at an idle turn (no Ready held, so
   * the log file is not being synced) turns a finished one into the Raft snapshot, unless a
   * newer snapshot was installed meanwhile (then it is dropped).
   */
  #maybeCapture(running: Running): void {
    const files = this.#options.stateMachine.files
    assert(files !== undefined, 'a file-snapshot machine')
    const { raft, storage } = running
    const capture = this.#capture
    if (capture?.descriptor != null) {
      this.#capture = null
      if (capture.index > storage.snapshot().index) {
        const data = encodeStateParts(capture.sessions, capture.descriptor)
        this.#saveSnapshot(running, storage.createSnapshot(capture.index, data, capture.membership))
      }
      // Saved or dropped (a newer snapshot was installed meanwhile): its files are told either way.
      return this.#retainSnapshots(running)
    }
    const applied = raft.status().applied
    const due = applied - storage.snapshot().index >= this.#config.snapshotEveryEntries
    if (capture !== null || !due || this.#captureBackoffTicks > 0) return
    const taken: Capture = {
      index: applied,
      membership: raft.membership(),
      sessions: encodeSessions(this.#sessions),
      descriptor: null,
    }
    this.#capture = taken
    files.capture().then(
      (descriptor) => {
        if (this.#capture !== taken || this.#running === null) return
        taken.descriptor = descriptor
        this.#retainSnapshots(this.#running)
        this.#scheduleReady()
      },
      () => {
        // No snapshot made: tried again an election timeout later.
        if (this.#capture !== taken) return
        this.#capture = null
        this.#captureBackoffTicks = this.#config.electionTicks
      },
    )
  }

  /** Saves `snapshot` (just created in storage) and compacts the log behind it. */
  #saveSnapshot(running: Running, snapshot: Snapshot): void {
    const { storage, log } = running
    const applied = snapshot.index
    const baseIndex = Math.max(storage.firstIndex() - 1, applied - this.#config.logTailEntries)
    const lastIndex = storage.lastIndex()
    log.saveSnapshot(snapshot, {
      baseIndex,
      baseTerm: storage.term(baseIndex),
      hardState: storage.initialHardState(),
      entries: baseIndex < lastIndex ? storage.entries(baseIndex + 1, lastIndex + 1, Infinity) : [],
    })
    storage.compact(baseIndex)
    this.#options.onEvent?.({ kind: 'snapshot-saved', index: applied })
  }

  /**
   * Tells a file-snapshot machine which snapshots it must keep: the log's, the ones this leader
   * is sending, and a finished capture not yet saved. Told again only when that changes.
   */
  #retainSnapshots(running: Running): void {
    const files = this.#options.stateMachine.files
    if (files === undefined) return
    const { raft, storage } = running
    const needed = new Map<string, Snapshot>()
    const add = (snapshot: Snapshot | null | undefined): void => {
      if (snapshot === null || snapshot === undefined || snapshot.index === 0) return
      needed.set(`${snapshot.index}/${snapshot.term}/${snapshot.data.byteLength}`, snapshot)
    }
    add(storage.snapshot())
    const { voters, learners } = raft.membership()
    for (const id of [...voters, ...learners]) add(raft.progressOf(id)?.snapshot)
    const captured = this.#capture?.descriptor ?? null
    const key = [...needed.keys(), `c${captured === null ? '' : this.#capture?.index}`]
      .sort()
      .join(',')
    if (key === this.#retainedKey) return
    this.#retainedKey = key
    // Decoded only when the set changed: a snapshot's session table may be large.
    const descriptors = [...needed.values()].map((snapshot) => snapshotMachineBytes(snapshot.data))
    if (captured !== null) descriptors.push(captured)
    files.retain(descriptors)
  }

  #reportChanges(raft: Raft): void {
    const { role, term, leaderId } = raft.status()
    const membership = raft.membership()
    const members = membershipKey(membership)
    const reported = this.#reported
    const emit = (event: ReplicaEvent): void => this.#options.onEvent?.(event)
    if (role !== reported.role || term !== reported.term || leaderId !== reported.leaderId) {
      emit({ kind: 'role', role, term, leaderId })
    }
    if (members !== reported.members) emit({ kind: 'membership', membership })
    this.#reported = { role, term, leaderId, members }
  }
}

function notLeader(leaderId: number): ReplicaResult {
  return { ok: false, error: 'not-leader', leaderId }
}

function membershipKey(membership: Membership): string {
  return `${membership.voters.join(',')}|${membership.learners.join(',')}`
}
