/* The pure Raft core of one group member: election (randomized timeouts, PreVote, CheckQuorum),
 * log replication (batched, windowed, fast backtracking), ReadIndex and lease reads, leadership
 * transfer, snapshot catch-up (chunked InstallSnapshot) and single-server membership changes.
 * Input by tick()/step()/propose()/readIndex(), output by ready(), confirmation by advance().
 * Invariants (asserted): the term never decreases, at most one vote per term, commit never moves
 * back, committed entries are never truncated, a leader never overwrites its own log, applied <=
 * committed. No I/O, time or randomness except the given Rng. */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/ports.js'
import { resolveRaftConfig, type RaftConfig, type RaftOptions } from './config.js'
import { LeaderLease } from './lease.js'
import { RaftLog } from './log.js'
import {
  applyMembershipChange,
  checkMembership,
  decodeMembership,
  encodeMembership,
  type MembershipChange,
} from './membership.js'
import { Progress } from './progress.js'
import { entryBytes } from './storage.js'
import { ReadTracker } from './read-tracker.js'
import {
  noNode,
  type AppendMessage,
  type AppendResponse,
  type Entry,
  type GroupId,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponse,
  type Membership,
  type NodeId,
  type ProposeResult,
  type RaftMessage,
  type ReadState,
  type Ready,
  type Snapshot,
  type SnapshotMessage,
  type SnapshotResponse,
  type Role,
  type SoftState,
  type VoteMessage,
} from './types.js'

/** A snapshot being received: chunks from one leader, of one snapshot, in order. */
interface IncomingSnapshot {
  readonly snapshotIndex: number
  readonly from: NodeId
  readonly term: number
  readonly totalBytes: number
  readonly chunks: Uint8Array[]
  receivedBytes: number
}

export interface RaftStatus {
  readonly id: NodeId
  readonly groupId: GroupId
  readonly term: number
  readonly vote: NodeId
  readonly leaderId: NodeId
  readonly role: Role
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  readonly transferee: NodeId
}

export class Raft {
  readonly #id: NodeId
  readonly #groupId: GroupId
  #voters: readonly NodeId[]
  #learners: readonly NodeId[]
  /** The newest config entry this leader appended; no new change until it is applied. */
  #pendingConfigIndex = 0
  readonly #config: RaftConfig
  readonly #rng: Rng
  readonly #log: RaftLog
  #term: number
  #vote: NodeId
  #leaderId: NodeId = noNode
  #role: Role = 'follower'
  #electionElapsed = 0
  #heartbeatElapsed = 0
  /** Ticks since this node became leader; peers' lastHeardTick is measured against it. */
  #leaderTicks = 0
  #randomizedElectionTimeout = 0
  #votes = new Map<NodeId, boolean>()
  #progress = new Map<NodeId, Progress>()
  #transferee: NodeId = noNode
  /** Proposals of this leadership not yet committed, for the uncommitted-bytes bound. */
  #uncommitted: { index: number; sizeBytes: number }[] = []
  #uncommittedBytes = 0
  /** Proposals or a commit advanced since the last flush: broadcast appends once per Ready. */
  #appendPending = false
  readonly #reads: ReadTracker
  /** readOnly 'lease-based' only: the leader's lease from acknowledged heartbeat rounds. */
  readonly #lease: LeaderLease | null
  /**
   * Lease mode: ticks left during which this restarted node ignores campaigns, because before the
   * crash it may have promised a leader (by acknowledging its heartbeat) not to vote for a while.
   */
  #restartQuietTicks = 0
  #messages: RaftMessage[] = []
  #readStates: ReadState[] = []
  #persistedHardState: HardState
  #reportedSoftState: SoftState = { leaderId: noNode, role: 'follower' }
  #outstanding: Ready | null = null
  /** Follower: InstallSnapshot chunks received so far (lost on restart: the leader resends). */
  #incoming: IncomingSnapshot | null = null

  constructor(options: RaftOptions) {
    this.#config = resolveRaftConfig(options)
    this.#id = options.id
    this.#groupId = options.groupId
    const membership = { voters: options.voters, learners: options.learners ?? [] }
    checkMembership(membership)
    this.#voters = [...membership.voters].sort((a, b) => a - b)
    this.#learners = [...membership.learners].sort((a, b) => a - b)
    this.#rng = options.rng
    const hardState = options.storage.initialHardState()
    this.#term = hardState.term
    this.#vote = hardState.vote
    this.#persistedHardState = hardState
    this.#log = new RaftLog({
      storage: options.storage,
      committed: hardState.commit,
      applied: options.applied ?? 0,
    })
    this.#reads = new ReadTracker(this.#config.pendingReadsMax)
    const leaseBased = this.#config.readOnly === 'lease-based'
    this.#lease = leaseBased ? new LeaderLease(this.#config) : null
    // A node that never had a term never acknowledged a leader, so it promised nothing.
    if (leaseBased && hardState.term > 0) this.#restartQuietTicks = this.#config.electionTicks
    this.#becomeFollower(this.#term, noNode)
  }

  get id(): NodeId {
    return this.#id
  }

  status(): RaftStatus {
    return {
      id: this.#id,
      groupId: this.#groupId,
      term: this.#term,
      vote: this.#vote,
      leaderId: this.#leaderId,
      role: this.#role,
      commit: this.#log.committed,
      applied: this.#log.applied,
      lastIndex: this.#log.lastIndex(),
      transferee: this.#transferee,
    }
  }

  /** The leader's view of a follower (tests and metrics); undefined on a non-leader. */
  progressOf(id: NodeId): Readonly<Progress> | undefined {
    return this.#role === 'leader' ? this.#progress.get(id) : undefined
  }

  /** Every entry in the log, stable and unstable (tests and checkers). */
  entries(): Entry[] {
    const log = this.#log
    return log.slice(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
  }

  // ---- input ------------------------------------------------------------------------------

  /** One logical tick: election timeout for followers, heartbeats and CheckQuorum for leaders. */
  tick(): void {
    if (this.#restartQuietTicks > 0) this.#restartQuietTicks--
    if (this.#role === 'leader') this.#tickLeader()
    else this.#tickElection()
  }

  /** Starts an election now (as if the election timeout fired). */
  campaign(): void {
    this.#hup(false)
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.#role !== 'leader') return { ok: false, reason: 'not-leader' }
    if (this.#transferee !== noNode) return { ok: false, reason: 'transferring' }
    const entry: Entry = {
      term: this.#term,
      index: this.#log.lastIndex() + 1,
      kind: 'command',
      data,
    }
    const sizeBytes = entryBytes(entry)
    const overBudget = this.#uncommittedBytes + sizeBytes > this.#config.uncommittedBytesMax
    if (overBudget && this.#uncommittedBytes > 0) {
      return { ok: false, reason: 'too-many-uncommitted' }
    }
    this.#appendAsLeader(entry)
    return { ok: true, index: entry.index, term: entry.term }
  }

  /**
   * Asks for a linearizable read: a ReadState with `requestId` appears in a later Ready once the
   * read may be served at its index. Without a leader (or with too many pending) it is dropped:
   * the host times out and retries, as it must for a lost message anyway.
   */
  readIndex(requestId: number): void {
    if (this.#role === 'leader') {
      this.#leaderRead(this.#id, requestId)
    } else if (this.#leaderId !== noNode) {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: this.#leaderId,
        term: 0,
        type: 'read-index',
        requestId,
      })
    }
  }

  /** Hands leadership to `target` once it has caught up; aborted after an election timeout. */
  transferLeadership(target: NodeId): boolean {
    if (this.#role !== 'leader') return false
    if (target === this.#id || !this.#voters.includes(target)) return false
    if (this.#transferee === target) return true
    this.#transferee = target
    this.#electionElapsed = 0
    const progress = this.#progress.get(target)
    assert(progress !== undefined, 'a voter has progress')
    if (progress.match === this.#log.lastIndex()) this.#sendTimeoutNow(target)
    else this.#sendAppend(target, true)
    return true
  }

  abortLeadershipTransfer(): void {
    this.#transferee = noNode
  }

  /** The membership as of the applied index (what a snapshot taken now must record). */
  membership(): Membership {
    return { voters: this.#voters, learners: this.#learners }
  }

  /**
   * Proposes one membership change as a 'config' entry; it takes effect on each node when that
   * node applies it. One change at a time, and a learner is promoted only once it holds the
   * committed log, so a new voter never stalls the quorum it joins.
   */
  proposeMembershipChange(change: MembershipChange): ProposeResult {
    if (this.#role !== 'leader') return { ok: false, reason: 'not-leader' }
    if (this.#transferee !== noNode) return { ok: false, reason: 'transferring' }
    if (this.#pendingConfigIndex > this.#log.applied) {
      return { ok: false, reason: 'config-change-pending' }
    }
    const next = applyMembershipChange(this.membership(), change)
    if (typeof next === 'string') return { ok: false, reason: 'invalid-change' }
    if (change.type === 'promote') {
      const progress = this.#progress.get(change.nodeId)
      if (progress === undefined || progress.match < this.#log.committed) {
        return { ok: false, reason: 'learner-behind' }
      }
    }
    const index = this.#log.lastIndex() + 1
    const data = encodeMembership(next)
    this.#appendAsLeader({ term: this.#term, index, kind: 'config', data })
    this.#pendingConfigIndex = index
    return { ok: true, index, term: this.#term }
  }

  /** Adopts an applied membership: progress for new members, none for removed ones. */
  #applyMembership(membership: Membership): void {
    checkMembership(membership)
    this.#voters = [...membership.voters]
    this.#learners = [...membership.learners]
    if (!this.#voters.includes(this.#transferee)) this.#transferee = noNode
    if (this.#role !== 'leader') return
    if (!this.#voters.includes(this.#id)) {
      // A removed leader steps down; not being a voter, it never campaigns again.
      this.#becomeFollower(this.#term, noNode)
      return
    }
    const members = [...this.#voters, ...this.#learners]
    for (const id of members) {
      if (this.#progress.has(id)) continue
      const progress = this.#newProgress(this.#log.lastIndex() + 1)
      progress.lastHeardTick = this.#leaderTicks
      this.#progress.set(id, progress)
      this.#appendPending = true
    }
    for (const id of this.#progress.keys()) if (!members.includes(id)) this.#progress.delete(id)
    // A smaller quorum may already hold more entries, and confirm pending reads.
    if (this.#maybeCommit()) this.#appendPending = true
    this.#releaseConfirmedReads()
  }

  step(message: RaftMessage): void {
    assert(message.groupId === this.#groupId, 'message for another group')
    assert(message.to === this.#id, 'message for another node')
    if (message.type === 'read-index') {
      if (this.#role === 'leader') this.#leaderRead(message.from, message.requestId)
      return
    }
    if (message.type === 'read-index-response') {
      this.#readStates.push({ requestId: message.requestId, index: message.index })
      return
    }
    if (!this.#stepTerm(message)) return
    if (message.type === 'vote' || message.type === 'pre-vote') {
      this.#handleVote(message)
    } else if (this.#role === 'leader') {
      this.#stepLeader(message)
    } else if (this.#role === 'follower') {
      this.#stepFollower(message)
    } else {
      this.#stepCandidate(message)
    }
  }

  // ---- output -----------------------------------------------------------------------------

  /** Whether ready() has work; batches pending proposals and reads into messages first. */
  hasReady(): boolean {
    this.#flush()
    const log = this.#log
    return (
      this.#softStateChanged() ||
      this.#hardStateChanged() ||
      log.unstableEntries().length > 0 ||
      this.#messages.length > 0 ||
      this.#readStates.length > 0 ||
      log.pendingSnapshot !== null ||
      Math.min(log.committed, log.stableLastIndex()) > log.applied
    )
  }

  /** The work to do now, or null; call advance(ready) before the next ready(). */
  ready(): Ready | null {
    assert(this.#outstanding === null, 'advance() the previous Ready first')
    if (!this.hasReady()) return null
    const hardState = this.#hardStateChanged() ? this.#hardState() : null
    if (hardState !== null) this.#checkHardState(hardState)
    const entries = [...this.#log.unstableEntries()]
    const snapshot = this.#log.pendingSnapshot
    const ready: Ready = {
      softState: this.#softStateChanged() ? this.#softState() : null,
      hardState,
      snapshot,
      entries,
      messages: this.#messages,
      committed: this.#log.nextCommitted(this.#config.applyBytesMax),
      readStates: this.#readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        (hardState !== null &&
          (hardState.term !== this.#persistedHardState.term ||
            hardState.vote !== this.#persistedHardState.vote)),
    }
    this.#messages = []
    this.#readStates = []
    this.#outstanding = ready
    return ready
  }

  /**
   * While the outstanding Ready is being persisted: takes the queued messages that depend on no
   * unpersisted state (sendableBeforePersist; none while term or vote is not yet persisted), so
   * heartbeats and the leader's appends never wait behind a slow disk. Proposals batch first.
   */
  takeSendable(): RaftMessage[] {
    this.#flush()
    const persisted = this.#persistedHardState
    if (this.#term !== persisted.term || this.#vote !== persisted.vote) return []
    const taken: RaftMessage[] = []
    const kept: RaftMessage[] = []
    for (const message of this.#messages) {
      ;(sendableBeforePersist(message) ? taken : kept).push(message)
    }
    this.#messages = kept
    return taken
  }

  advance(ready: Ready): void {
    assert(ready === this.#outstanding, 'advance() takes the last Ready')
    this.#outstanding = null
    if (ready.hardState !== null) this.#persistedHardState = ready.hardState
    if (ready.softState !== null) this.#reportedSoftState = ready.softState
    if (ready.snapshot !== null) this.#log.snapshotStable(ready.snapshot)
    const lastEntry = ready.entries[ready.entries.length - 1]
    if (lastEntry !== undefined) this.#log.stableTo(lastEntry.index, lastEntry.term)
    const lastCommitted = ready.committed[ready.committed.length - 1]
    if (lastCommitted !== undefined) this.#log.appliedTo(lastCommitted.index)
    for (const entry of ready.committed) {
      if (entry.kind === 'config') this.#applyMembership(decodeMembership(entry.data))
    }
    if (this.#role === 'leader') {
      const self = this.#progress.get(this.#id)
      assert(self !== undefined, 'the leader tracks itself')
      if (self.maybeUpdate(this.#log.stableLastIndex()) && this.#maybeCommit()) {
        this.#appendPending = true
      }
    }
  }

  /** What goes to disk never undoes what is there: term, vote of a term, commit only move on. */
  #checkHardState(next: HardState): void {
    const persisted = this.#persistedHardState
    assert(next.term >= persisted.term, `term never decreases (${persisted.term} -> ${next.term})`)
    assert(
      next.term > persisted.term || persisted.vote === noNode || persisted.vote === next.vote,
      `one vote per term (term ${next.term}: ${persisted.vote} -> ${next.vote})`,
    )
    assert(
      next.commit >= persisted.commit,
      `commit never moves back (${persisted.commit} -> ${next.commit})`,
    )
  }

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed }
  }

  #hardStateChanged(): boolean {
    const persisted = this.#persistedHardState
    return (
      persisted.term !== this.#term ||
      persisted.vote !== this.#vote ||
      persisted.commit !== this.#log.committed
    )
  }

  #softState(): SoftState {
    return { leaderId: this.#leaderId, role: this.#role }
  }

  #softStateChanged(): boolean {
    const reported = this.#reportedSoftState
    return reported.leaderId !== this.#leaderId || reported.role !== this.#role
  }

  /** Turns proposals and read requests gathered since the last Ready into one round each. */
  #flush(): void {
    if (this.#role !== 'leader') return
    if (this.#appendPending) {
      this.#appendPending = false
      for (const id of this.#progress.keys()) if (id !== this.#id) this.#sendAppend(id, true)
    }
    const round = this.#reads.startRoundIfPending()
    if (round !== 0) {
      this.#lease?.roundStarted(round, this.#leaderTicks)
      this.#broadcastHeartbeat()
    }
  }

  // ---- roles ------------------------------------------------------------------------------

  #reset(term: number): void {
    assert(term >= this.#term, `term never decreases (${this.#term} -> ${term})`)
    if (term !== this.#term) {
      this.#term = term
      this.#vote = noNode
    }
    this.#leaderId = noNode
    this.#electionElapsed = 0
    this.#heartbeatElapsed = 0
    const ticks = this.#config.electionTicks
    this.#randomizedElectionTimeout = ticks + this.#rng.int(ticks)
    this.#votes.clear()
    this.#progress.clear()
    this.#transferee = noNode
    this.#uncommitted = []
    this.#uncommittedBytes = 0
    this.#appendPending = false
    this.#reads.reset()
    this.#lease?.reset()
  }

  #becomeFollower(term: number, leaderId: NodeId): void {
    this.#reset(term)
    this.#role = 'follower'
    this.#leaderId = leaderId
  }

  #becomePreCandidate(): void {
    // PreVote: poll at term + 1 without touching our term or vote, so a node that cannot win
    // (partitioned, or behind) never forces the cluster into a new term.
    assert(this.#role !== 'leader', 'a leader does not pre-campaign')
    this.#role = 'pre-candidate'
    this.#votes.clear()
    this.#leaderId = noNode
  }

  #becomeCandidate(): void {
    assert(this.#role !== 'leader', 'a leader does not campaign')
    this.#reset(this.#term + 1)
    assert(this.#vote === noNode, 'a new term starts with no vote')
    this.#vote = this.#id
    this.#role = 'candidate'
  }

  #becomeLeader(): void {
    assert(this.#role === 'candidate', 'only a candidate becomes leader')
    this.#reset(this.#term)
    this.#role = 'leader'
    this.#leaderId = this.#id
    this.#leaderTicks = 0
    const next = this.#log.lastIndex() + 1
    for (const id of [...this.#voters, ...this.#learners]) {
      const progress = this.#newProgress(next)
      if (id === this.#id) {
        progress.match = this.#log.stableLastIndex()
        progress.becomeReplicate()
        progress.next = next
      }
      this.#progress.set(id, progress)
    }
    // The empty entry of this term: committing it commits everything before it (Figure 8), and
    // until it commits a ReadIndex would not know the latest commit index.
    const noop: Entry = { term: this.#term, index: next, kind: 'noop', data: new Uint8Array(0) }
    this.#appendAsLeader(noop)
    // The log may hold a config entry not yet applied; wait for everything up to here first.
    this.#pendingConfigIndex = noop.index
  }

  #newProgress(next: number): Progress {
    return new Progress({
      next,
      inflightMessagesMax: this.#config.inflightMessagesMax,
      inflightBytesMax: this.#config.inflightBytesMax,
    })
  }

  #appendAsLeader(entry: Entry): void {
    // Leader Append-Only: a leader only ever adds entries of its own term at the end of its log.
    assert(this.#role === 'leader', 'only a leader appends as leader')
    assert(entry.index === this.#log.lastIndex() + 1, 'a leader never overwrites its own log')
    assert(entry.term === this.#term, 'a leader appends entries of its own term')
    this.#log.append([entry])
    const sizeBytes = entryBytes(entry)
    this.#uncommitted.push({ index: entry.index, sizeBytes })
    this.#uncommittedBytes += sizeBytes
    this.#appendPending = true
  }

  // ---- election ---------------------------------------------------------------------------

  #tickElection(): void {
    this.#electionElapsed++
    if (this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0
      // A non-voter never campaigns, but after a timeout without a word from its leader it stops
      // deferring to it, so it can vote for a candidate that counts it as a voter already (a
      // promotion it has not applied yet). Otherwise it would ignore every campaign forever.
      if (!this.#voters.includes(this.#id)) this.#leaderId = noNode
      this.#hup(false)
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++
    this.#electionElapsed++
    this.#leaderTicks++
    if (this.#config.checkQuorum && !this.#quorumActive()) {
      this.#becomeFollower(this.#term, noNode)
      return
    }
    if (this.#electionElapsed >= this.#config.electionTicks) {
      // A transfer that has not completed within an election timeout is abandoned.
      this.#electionElapsed = 0
      this.#transferee = noNode
    }
    if (this.#heartbeatElapsed >= this.#config.heartbeatTicks) {
      this.#heartbeatElapsed = 0
      // Lease mode: every heartbeat is a round of its own, so its acks renew the lease from now.
      if (this.#lease !== null)
        this.#lease.roundStarted(this.#reads.startRound(), this.#leaderTicks)
      this.#broadcastHeartbeat()
    }
  }

  /**
   * CheckQuorum: has a majority answered within the last election timeout? Checked every tick, so
   * a leader cut off from its quorum steps down exactly one election timeout after it last heard
   * from one (etcd checks once per timeout, which can take up to two).
   */
  #quorumActive(): boolean {
    let active = 0
    for (const id of this.#voters) {
      const progress = this.#progress.get(id)
      assert(progress !== undefined, 'a voter has progress')
      const silentTicks = this.#leaderTicks - progress.lastHeardTick
      if (id === this.#id || silentTicks < this.#config.electionTicks) active++
    }
    return active >= this.#quorum()
  }

  #quorum(): number {
    return Math.floor(this.#voters.length / 2) + 1
  }

  #hup(transfer: boolean): void {
    if (this.#role === 'leader' || !this.#voters.includes(this.#id)) return
    if (this.#config.preVote && !transfer) {
      this.#becomePreCandidate()
      this.#campaign('pre-vote', false)
    } else {
      this.#becomeCandidate()
      this.#campaign('vote', transfer)
    }
  }

  #campaign(type: 'vote' | 'pre-vote', transfer: boolean): void {
    const term = type === 'pre-vote' ? this.#term + 1 : this.#term
    if (this.#poll(this.#id, true) === 'won') {
      this.#onElectionWon()
      return
    }
    for (const id of this.#voters) {
      if (id === this.#id) continue
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: id,
        term: term,
        type,
        lastLogIndex: this.#log.lastIndex(),
        lastLogTerm: this.#log.lastTerm(),
        transfer,
      })
    }
  }

  #poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.#voters.includes(from)) return 'pending' // a learner's vote does not count
    if (!this.#votes.has(from)) this.#votes.set(from, granted)
    let grantedCount = 0
    let rejectedCount = 0
    for (const vote of this.#votes.values()) {
      if (vote) grantedCount++
      else rejectedCount++
    }
    if (grantedCount >= this.#quorum()) return 'won'
    if (rejectedCount >= this.#quorum()) return 'lost'
    return 'pending'
  }

  #onElectionWon(): void {
    if (this.#role === 'pre-candidate') {
      this.#becomeCandidate()
      this.#campaign('vote', false)
    } else {
      this.#becomeLeader()
    }
  }

  /** Term rules common to every role; returns false if the message must be dropped. */
  #stepTerm(message: RaftMessage): boolean {
    if (message.term > this.#term) {
      if (message.type === 'vote' || message.type === 'pre-vote') {
        // A node that heard from a leader within the election timeout ignores campaigns: this
        // stops a rejoining or flapping node from deposing a healthy leader (with CheckQuorum).
        const inLease =
          (this.#config.checkQuorum &&
            this.#leaderId !== noNode &&
            this.#electionElapsed < this.#config.electionTicks) ||
          this.#restartQuietTicks > 0
        if (inLease && !message.transfer) return false
      }
      const keepTerm =
        message.type === 'pre-vote' || (message.type === 'pre-vote-response' && !message.reject)
      if (!keepTerm) {
        const fromLeader =
          message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot'
        this.#becomeFollower(message.term, fromLeader ? message.from : noNode)
      }
      return true
    }
    if (message.term < this.#term) {
      if (
        message.type === 'append' ||
        message.type === 'heartbeat' ||
        message.type === 'snapshot'
      ) {
        // A stale leader (e.g. partitioned, with PreVote stopping our campaigns from reaching it
        // at a higher term) learns the current term from this answer and steps down.
        this.#send({
          groupId: this.#groupId,
          from: this.#id,
          to: message.from,
          term: this.#term,
          ...rejectHint(0, 0, 0),
        })
      } else if (message.type === 'pre-vote') {
        this.#send({
          groupId: this.#groupId,
          from: this.#id,
          to: message.from,
          term: this.#term,
          type: 'pre-vote-response',
          reject: true,
        })
      }
      return false
    }
    return true
  }

  #handleVote(message: VoteMessage): void {
    const canVote =
      this.#vote === message.from ||
      (this.#vote === noNode && this.#leaderId === noNode) ||
      (message.type === 'pre-vote' && message.term > this.#term)
    const type = message.type === 'vote' ? 'vote-response' : 'pre-vote-response'
    if (canVote && this.#log.isUpToDate(message.lastLogIndex, message.lastLogTerm)) {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: message.from,
        term: message.term,
        type,
        reject: false,
      })
      if (message.type === 'vote') {
        assert(this.#vote === noNode || this.#vote === message.from, 'one vote per term')
        this.#electionElapsed = 0
        this.#vote = message.from
      }
    } else {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: message.from,
        term: this.#term,
        type,
        reject: true,
      })
    }
  }

  #stepCandidate(message: RaftMessage): void {
    switch (message.type) {
      case 'append':
        this.#becomeFollower(this.#term, message.from)
        this.#handleAppend(message)
        return
      case 'heartbeat':
        this.#becomeFollower(this.#term, message.from)
        this.#handleHeartbeat(message)
        return
      case 'snapshot':
        this.#becomeFollower(this.#term, message.from)
        this.#handleSnapshotChunk(message)
        return
      case 'vote-response':
      case 'pre-vote-response': {
        const expected = this.#role === 'candidate' ? 'vote-response' : 'pre-vote-response'
        if (message.type !== expected) return
        const outcome = this.#poll(message.from, !message.reject)
        if (outcome === 'won') this.#onElectionWon()
        else if (outcome === 'lost') this.#becomeFollower(this.#term, noNode)
        return
      }
      default:
        return
    }
  }

  #stepFollower(message: RaftMessage): void {
    switch (message.type) {
      case 'append':
        this.#electionElapsed = 0
        this.#leaderId = message.from
        this.#handleAppend(message)
        return
      case 'heartbeat':
        this.#electionElapsed = 0
        this.#leaderId = message.from
        this.#handleHeartbeat(message)
        return
      case 'snapshot':
        this.#electionElapsed = 0
        this.#leaderId = message.from
        this.#handleSnapshotChunk(message)
        return
      case 'timeout-now':
        this.#hup(true)
        return
      default:
        return
    }
  }

  // ---- replication: follower side ---------------------------------------------------------

  #handleAppend(message: AppendMessage): void {
    assert(this.#role === 'follower', 'only a follower takes appends (a leader never overwrites)')
    const log = this.#log
    if (message.prevLogIndex < log.committed) {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: message.from,
        term: this.#term,
        ...accept(log.committed),
      })
      return
    }
    const lastNewIndex = log.maybeAppend({
      prevIndex: message.prevLogIndex,
      prevTerm: message.prevLogTerm,
      commit: message.commit,
      entries: message.entries,
    })
    if (lastNewIndex !== null) {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: message.from,
        term: this.#term,
        ...accept(lastNewIndex),
      })
      return
    }
    // Fast backtracking: tell the leader the last position whose term is <= its prevLogTerm, so
    // it skips every entry of a divergent term in one round trip.
    const probeFrom = Math.min(message.prevLogIndex, log.lastIndex())
    const hint = log.findConflictByTerm(probeFrom, message.prevLogTerm)
    this.#send({
      groupId: this.#groupId,
      from: this.#id,
      to: message.from,
      term: this.#term,
      ...rejectHint(message.prevLogIndex, hint.index, hint.term),
    })
  }

  /**
   * Assembles InstallSnapshot chunks in order (a chunk out of place is answered with how much we
   * hold, so the leader resumes from there) and restores from the whole snapshot.
   */
  #handleSnapshotChunk(message: SnapshotMessage): void {
    const log = this.#log
    if (message.snapshotIndex <= log.committed) {
      this.#incoming = null
      this.#send({ ...this.#responseHeader(message.from), ...accept(log.committed) })
      return
    }
    const fits = message.totalBytes <= this.#config.snapshotBytesMax
    if (message.offset === 0 && !this.#continuesIncoming(message) && fits) {
      this.#incoming = {
        snapshotIndex: message.snapshotIndex,
        from: message.from,
        term: message.term,
        totalBytes: message.totalBytes,
        chunks: [],
        receivedBytes: 0,
      }
    }
    const incoming = this.#incoming
    if (incoming === null || !this.#continuesIncoming(message)) {
      this.#sendSnapshotResponse(message, 0)
      return
    }
    if (incoming.receivedBytes !== message.offset) {
      this.#sendSnapshotResponse(message, incoming.receivedBytes)
      return
    }
    // Copy: the chunk is a view into a transport buffer that does not outlive this call.
    incoming.chunks.push(message.data.slice())
    incoming.receivedBytes += message.data.byteLength
    if (incoming.receivedBytes < message.totalBytes) {
      this.#sendSnapshotResponse(message, incoming.receivedBytes)
      return
    }
    this.#incoming = null
    const data = Buffer.concat(incoming.chunks)
    const snapshot: Snapshot = {
      index: message.snapshotIndex,
      term: message.snapshotTerm,
      membership: { voters: message.voters, learners: message.learners },
      data,
    }
    if (log.matchTerm(snapshot.index, snapshot.term)) {
      log.commitTo(snapshot.index)
    } else {
      log.restore(snapshot)
      this.#applyMembership(snapshot.membership)
    }
    this.#send({ ...this.#responseHeader(message.from), ...accept(log.committed) })
  }

  /**
   * Whether the chunk belongs to the transfer under way: the same snapshot from the same leader.
   * What we hold of it only grows (until a restart loses it), so the leader can trust our offsets,
   * and a duplicate of chunk 0 does not start it over.
   */
  #continuesIncoming(message: SnapshotMessage): boolean {
    const incoming = this.#incoming
    return (
      incoming !== null &&
      incoming.snapshotIndex === message.snapshotIndex &&
      incoming.from === message.from &&
      incoming.term === message.term &&
      incoming.totalBytes === message.totalBytes
    )
  }

  #sendSnapshotResponse(message: SnapshotMessage, offset: number): void {
    this.#send({
      ...this.#responseHeader(message.from),
      type: 'snapshot-response',
      snapshotIndex: message.snapshotIndex,
      offset,
    })
  }

  #responseHeader(to: NodeId): { groupId: GroupId; from: NodeId; to: NodeId; term: number } {
    return { groupId: this.#groupId, from: this.#id, to, term: this.#term }
  }

  #handleHeartbeat(message: HeartbeatMessage): void {
    // The leader sends min(commit, our match), so this never passes the end of our log.
    this.#log.commitTo(message.commit)
    this.#send({
      groupId: this.#groupId,
      from: this.#id,
      to: message.from,
      term: this.#term,
      type: 'heartbeat-response',
      readRound: message.readRound,
    })
  }

  // ---- replication: leader side -----------------------------------------------------------

  #stepLeader(message: RaftMessage): void {
    if (message.type === 'append-response') this.#handleAppendResponse(message)
    else if (message.type === 'heartbeat-response') this.#handleHeartbeatResponse(message)
    else if (message.type === 'snapshot-response') this.#handleSnapshotResponse(message)
  }

  #handleAppendResponse(message: AppendResponse): void {
    const progress = this.#progress.get(message.from)
    if (progress === undefined) return
    progress.lastHeardTick = this.#leaderTicks
    if (message.reject) {
      let matchHint = message.hintIndex
      if (message.hintTerm > 0) {
        matchHint = this.#log.findConflictByTerm(message.hintIndex, message.hintTerm).index
      }
      if (progress.maybeDecrTo(message.index, matchHint)) {
        if (progress.state === 'replicate') progress.becomeProbe()
        this.#sendAppend(message.from, true)
      }
      return
    }
    const wasPaused = progress.paused()
    const probeMatched = progress.state === 'probe' && progress.match === message.index
    if (!progress.maybeUpdate(message.index) && !probeMatched) return
    if (progress.state === 'snapshot') {
      // Installed (or the follower caught up another way): resume appending after it.
      if (progress.match < (progress.snapshot?.index ?? 0)) return
      progress.becomeReplicate()
    } else if (progress.state === 'probe') progress.becomeReplicate()
    else progress.inflights.freeLE(message.index)
    if (this.#maybeCommit()) this.#appendPending = true
    else if (wasPaused && !this.#appendPending) this.#sendAppend(message.from, true)
    while (this.#sendAppend(message.from, false)) {
      // Pipelining: fill the in-flight window.
    }
    if (message.from === this.#transferee && progress.match === this.#log.lastIndex()) {
      this.#sendTimeoutNow(message.from)
    }
  }

  #handleSnapshotResponse(message: SnapshotResponse): void {
    const progress = this.#progress.get(message.from)
    if (progress === undefined) return
    progress.lastHeardTick = this.#leaderTicks
    if (progress.state !== 'snapshot' || progress.snapshot?.index !== message.snapshotIndex) return
    // The follower says how much it holds: send the next chunk, or resend from there (after a lost
    // chunk, or from 0 after the follower restarted and lost its partial copy). An offset behind
    // ours is a stale duplicate, and ours again while a chunk is out adds nothing: without these
    // two rules every duplicate would multiply into more chunks and more answers.
    const restart = message.offset === 0
    if (message.offset < progress.snapshotOffset && !restart) return
    if (message.offset === progress.snapshotOffset && progress.probeSent) return
    progress.snapshotOffset = message.offset
    progress.probeSent = false
    this.#sendAppend(message.from, true)
  }

  #handleHeartbeatResponse(message: HeartbeatResponse): void {
    const progress = this.#progress.get(message.from)
    if (progress === undefined) return
    progress.lastHeardTick = this.#leaderTicks
    progress.probeSent = false
    // A full window of lost appends would stall the follower forever; free one slot per
    // heartbeat so the next append finds the gap and the follower drops back to probing.
    if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirst()
    if (progress.match < this.#log.lastIndex()) this.#sendAppend(message.from, true)
    this.#lease?.acknowledged(message.from, message.readRound)
    if (message.readRound > progress.readRoundAcked) {
      progress.readRoundAcked = message.readRound
      this.#releaseConfirmedReads()
    }
  }

  /** Sends the next batch to `to`; returns false if paused or (unless asked) nothing to send. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.#progress.get(to)
    assert(progress !== undefined, 'append to a voter')
    if (progress.paused()) return false
    const log = this.#log
    const prevLogIndex = progress.next - 1
    const prevLogTerm = log.term(prevLogIndex)
    if (progress.state === 'snapshot' || prevLogTerm === null) {
      // The entries this follower needs are compacted: it must install a snapshot instead.
      if (progress.state !== 'snapshot') progress.becomeSnapshot(log.storedSnapshot())
      this.#sendSnapshotChunk(to, progress)
      return true
    }
    const entries =
      progress.next <= log.lastIndex()
        ? log.slice(progress.next, log.lastIndex() + 1, this.#config.messageBytesMax)
        : []
    if (entries.length === 0 && !sendIfEmpty) return false
    let sizeBytes = 0
    for (const entry of entries) sizeBytes += entryBytes(entry)
    this.#send({
      groupId: this.#groupId,
      from: this.#id,
      to: to,
      term: this.#term,
      type: 'append',
      prevLogIndex,
      prevLogTerm,
      entries,
      commit: log.committed,
    })
    progress.sentEntries({
      entryCount: entries.length,
      lastIndex: prevLogIndex + entries.length,
      sizeBytes,
    })
    return true
  }

  #sendSnapshotChunk(to: NodeId, progress: Progress): void {
    // Starting (or restarting) a transfer picks the newest snapshot; a transfer under way keeps
    // its snapshot so every chunk comes from the same bytes.
    if (progress.snapshotOffset === 0) progress.snapshot = this.#log.storedSnapshot()
    const snapshot = progress.snapshot
    assert(snapshot !== null, 'snapshot state has a snapshot')
    const offset = progress.snapshotOffset
    const end = Math.min(offset + this.#config.snapshotChunkBytes, snapshot.data.byteLength)
    this.#send({
      groupId: this.#groupId,
      from: this.#id,
      to,
      term: this.#term,
      type: 'snapshot',
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      voters: snapshot.membership.voters,
      learners: snapshot.membership.learners,
      totalBytes: snapshot.data.byteLength,
      offset,
      data: snapshot.data.subarray(offset, end),
    })
    progress.probeSent = true
  }

  #broadcastHeartbeat(): void {
    for (const [id, progress] of this.#progress) {
      if (id === this.#id) continue
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: id,
        term: this.#term,
        type: 'heartbeat',
        commit: Math.min(progress.match, this.#log.committed),
        readRound: this.#reads.round,
      })
    }
  }

  #sendTimeoutNow(to: NodeId): void {
    // The target's campaign overrides the voters' promises, and the message may arrive late.
    this.#lease?.revoke()
    this.#send({
      groupId: this.#groupId,
      from: this.#id,
      to: to,
      term: this.#term,
      type: 'timeout-now',
    })
  }

  /** Commits the highest index a quorum matches, if it is from this term (Figure 8). */
  #maybeCommit(): boolean {
    const matches = this.#voters.map((id) => this.#progress.get(id)?.match ?? 0)
    matches.sort((a, b) => b - a)
    const quorumMatch = matches[this.#quorum() - 1]
    assert(quorumMatch !== undefined, 'a quorum of matches')
    const wasCommittedInTerm = this.#log.term(this.#log.committed) === this.#term
    if (!this.#log.maybeCommit(quorumMatch, this.#term)) return false
    while (this.#uncommitted.length > 0) {
      const oldest = this.#uncommitted[0]
      assert(oldest !== undefined, 'dense queue')
      if (oldest.index > this.#log.committed) break
      this.#uncommitted.shift()
      this.#uncommittedBytes -= oldest.sizeBytes
    }
    if (!wasCommittedInTerm) {
      for (const read of this.#reads.takeWaiting()) this.#leaderRead(read.origin, read.requestId)
    }
    return true
  }

  // ---- ReadIndex --------------------------------------------------------------------------

  #leaderRead(origin: NodeId, requestId: number): void {
    const committed = this.#log.committed
    if (this.#log.term(committed) !== this.#term) {
      // A new leader does not yet know the commit index of its predecessor's term.
      this.#reads.wait({ origin, requestId })
      return
    }
    const leaseHolds = this.#lease?.holds(this.#leaderTicks, this.#voters, this.#id) ?? false
    if (this.#voters.length === 1 || leaseHolds) {
      this.#answerRead(origin, requestId, committed)
      return
    }
    // No lease (or 'safe' mode): confirm leadership with a heartbeat round first.
    this.#reads.add({ origin, requestId, index: committed })
  }

  #releaseConfirmedReads(): void {
    const released = this.#reads.release((round) => {
      let acks = 0
      for (const id of this.#voters) {
        if (id === this.#id || (this.#progress.get(id)?.readRoundAcked ?? 0) >= round) acks++
      }
      return acks >= this.#quorum()
    })
    for (const read of released) this.#answerRead(read.origin, read.requestId, read.index)
  }

  #answerRead(origin: NodeId, requestId: number, index: number): void {
    if (origin === this.#id) {
      this.#readStates.push({ requestId, index })
    } else {
      this.#send({
        groupId: this.#groupId,
        from: this.#id,
        to: origin,
        term: 0,
        type: 'read-index-response',
        requestId,
        index,
      })
    }
  }

  // ---- messages ---------------------------------------------------------------------------

  #send(message: RaftMessage): void {
    assert(message.to !== this.#id, 'no messages to self')
    this.#messages.push(message)
  }
}

function accept(index: number): Omit<AppendResponse, 'groupId' | 'from' | 'to' | 'term'> {
  return { type: 'append-response', reject: false, index, hintIndex: 0, hintTerm: 0 }
}

function rejectHint(
  index: number,
  hintIndex: number,
  hintTerm: number,
): Omit<AppendResponse, 'groupId' | 'from' | 'to' | 'term'> {
  return { type: 'append-response', reject: true, index, hintIndex, hintTerm }
}

/**
 * Messages that acknowledge nothing unpersisted: a leader's appends (the leader counts itself
 * only for entries it has synced, so they may go out in parallel with its own write), snapshot
 * chunks, heartbeats and their answers, ReadIndex traffic. Never append or snapshot responses
 * (they promise durable entries) nor votes (they promise a durable term and vote).
 */
export function sendableBeforePersist(message: RaftMessage): boolean {
  switch (message.type) {
    case 'append':
    case 'snapshot':
    case 'heartbeat':
    case 'heartbeat-response':
    case 'read-index':
    case 'read-index-response':
      return true
    default:
      return false
  }
}
