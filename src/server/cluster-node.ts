/* One cluster node: the replica host on real ports, the replicated keyspace state machine and the
 * peer transport, wired together (Raft messages both ways, peer RPCs for forwarded writes, joins,
 * admin and status). Invariant: a client write reaches the log only through host.write on the
 * leader, with the client's (clientId, sequence), so any retry or forward is applied at most
 * once; this node's own entries (address, tick) use its own session the same way. */
import type { PubSubHub } from '../commands/pubsub-hub.js'
import type { ServerHost } from '../commands/types.js'
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import type { Logger } from '../obs/logger.js'
import { timed, traceSnapshots } from '../io/perf-trace.js'
import { noNode, type MembershipChange, type NodeId } from '../raft/index.js'
import { encodeEntry, type CommandEntry, type NodeAddress } from '../replica/command-entry.js'
import { createReplicaHost } from '../replica/host.js'
import { replicaDefaults } from '../replica/config.js'
import { readLatestSnapshot } from '../replica/log-store.js'
import { snapshotMachineBytes } from '../replica/snapshot-codec.js'
import { fetchDefaults, type FetchChunk } from '../replica/snapshot-files-fetch.js'
import { SessionClient } from '../replica/session-client.js'
import type {
  KeyspaceStateMachineOptions,
  KeyspaceStateMachine,
} from '../replica/keyspace-state-machine.js'
import type {
  AdminOp,
  PeerRequest,
  PeerResponse,
  PeerTransport,
  PeerTransportOptions,
} from '../replica/peer-types.js'
import type { ReplicaHost, ReplicaResult, WriteRequest } from '../replica/types.js'
import type { ClusterSettings } from './cluster-config.js'
import {
  clusterPathsOf,
  readIdentity,
  resolveIdentity,
  writeIdentity,
  type NodeIdentity,
} from './cluster-identity.js'
import { ClusterMembership } from './cluster-membership.js'
import { clusterStatusOf, type ClusterStatus, type StatusSources } from './cluster-status.js'

export type CreateKeyspaceStateMachine = (
  options: KeyspaceStateMachineOptions,
) => Promise<KeyspaceStateMachine>

/** Design note section 4: timing defaults. */
export const clusterTiming = {
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  /** The leader proposes a tick entry this often while expiries are due. */
  expiryTickMs: 100,
  /** A forwarded write or admin request waits this long for the leader's answer. */
  forwardTimeoutMs: 2000,
  /** How often the node checks whether the log after the snapshot has been replayed. */
  replayCheckMs: 50,
} as const

/** The single Raft group until sharding lands (DESIGN.md: group ids exist from the start). */
const groupId = 1

export type Done = (result: ReplicaResult) => void

export interface ClusterNodeOptions {
  readonly settings: ClusterSettings
  /** The server's data directory (the node uses DIR/cluster/). */
  readonly dir: string
  /** The client port actually bound. */
  readonly clientPort: number
  readonly disk: Disk
  readonly clock: Clock
  readonly timers: Timers
  readonly rng: Rng
  readonly logger: Logger
  readonly pubsub: PubSubHub
  /** The node's server host (CONFIG, INFO... inside entries); omitted: the state machine's. */
  readonly serverHost?: ServerHost
  /** Keys written by applied entries (null: all, a snapshot): the blocked clients' wake-up. */
  readonly onKeyModified?: (key: Buffer | null) => void
  readonly createStateMachine: CreateKeyspaceStateMachine
  readonly createTransport: (options: PeerTransportOptions) => PeerTransport
}

export interface ClusterNode {
  readonly identity: NodeIdentity
  readonly clock: Clock
  readonly timers: Timers
  readonly host: ReplicaHost
  readonly stateMachine: KeyspaceStateMachine
  /** A client write: run on the leader, forwarded by a follower (same session and sequence). */
  write(request: WriteRequest, done: Done): void
  /** A linearizable read (ReadIndex, on any member). */
  read(query: Uint8Array, done: Done): void
  /** A membership or leadership change, run on the leader (forwarded by a follower). */
  admin(op: AdminOp, id: NodeId, done: Done): void
  /** Proposes an address-book entry through this node's own session. */
  proposeAddress(id: NodeId, address: NodeAddress, done: Done): void
  statusSources(): StatusSources & { matchIndexOf(id: NodeId): number | null }
  status(): ClusterStatus
  /** Stops the host, the loops and the transport, and closes the state machine. */
  close(): Promise<void>
}

/** Snapshot files are pulled from the node that sent the snapshot (peer RPC 'snapshot-read'). */
function chunkFetcher(transport: () => PeerTransport): FetchChunk {
  return async (source, dirName, file, offset, length) => {
    const request: PeerRequest = { type: 'snapshot-read', dirName, file, offset, length }
    const response = await transport().request(source, request, fetchDefaults.chunkTimeoutMs)
    if (response.type === 'snapshot-chunk') return Buffer.from(response.data)
    const reason =
      response.type === 'result' && !response.result.ok
        ? response.result.error === 'refused'
          ? response.result.reason
          : response.result.error
        : response.type
    throw new Error(`snapshot-read from node ${source} failed: ${reason}`)
  }
}

export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { disk, settings } = options
  const paths = clusterPathsOf(options.dir)
  const resolved = resolveIdentity(readIdentity(disk, paths), settings, options.clientPort)
  disk.mkdirp(paths.root)
  // The machine opens from the log's snapshot; the host then replays only the log after it.
  const latest = readLatestSnapshot(disk, paths.raft)
  let node: Node | null = null
  const stateMachine = await options.createStateMachine({
    disk,
    dir: paths.state,
    snapshotsDir: paths.snapshots,
    ...(latest === null ? {} : { descriptor: snapshotMachineBytes(latest.data) }),
    fetchChunk: chunkFetcher(() => (node as Node).transport),
    rng: options.rng,
    clock: options.clock,
    timers: options.timers,
    hashSeed: [options.rng.int(2 ** 32), options.rng.int(2 ** 32)],
    pubsub: options.pubsub,
    ...(options.serverHost === undefined ? {} : { host: options.serverHost }),
    logger: options.logger,
    ...(options.onKeyModified === undefined ? {} : { onKeyModified: options.onKeyModified }),
  })
  node = new Node(options, resolved.identity, stateMachine)
  // A new node with neither --bootstrap nor --join waits for a member to contact it (after a
  // RAFT ADD); its identity is written once it is a member, so a mistaken start binds nothing.
  const waiting = resolved.fresh && !settings.bootstrap && settings.join.length === 0
  try {
    const clusterPort = await node.transport.listen()
    node.identity = { ...node.identity, clusterPort }
    if (!waiting) await writeIdentity(disk, paths, node.identity)
    node.start(paths.raft, resolved.fresh && settings.bootstrap)
    if (waiting) node.whenMember(() => writeIdentity(disk, paths, node.identity))
  } catch (error) {
    await node.close()
    throw error
  }
  return node
}

class Node implements ClusterNode {
  identity: NodeIdentity
  readonly clock: Clock
  readonly timers: Timers
  readonly host: ReplicaHost
  readonly stateMachine: KeyspaceStateMachine
  readonly transport: PeerTransport
  readonly #options: ClusterNodeOptions
  readonly #membership: ClusterMembership
  /** This node's own session for the entries it proposes itself (address, tick). */
  readonly #session: SessionClient
  #tickInFlight = false
  #started = false
  #closing: Promise<void> | null = null
  readonly #cancels: Array<() => void> = []

  constructor(options: ClusterNodeOptions, identity: NodeIdentity, sm: KeyspaceStateMachine) {
    this.#options = options
    this.identity = identity
    this.clock = options.clock
    this.timers = options.timers
    this.stateMachine = sm
    this.#session = new SessionClient(randomClientId(options.rng))
    this.transport = options.createTransport({
      selfId: identity.id,
      host: options.settings.clusterHost,
      port: identity.clusterPort,
      resolve: (id) => this.#resolvePeer(id),
      // Peers may talk before start() created the host: Raft retries what is dropped here.
      onRaftMessage: (message) => {
        if (this.#started) this.host.receive(message)
      },
      onRequest: (from, request, respond) => this.#onRequest(from, request, respond),
      logger: options.logger,
      timers: options.timers,
      clock: options.clock,
      rng: options.rng,
      advertise: () => this.#membership.ownAddress(),
      onPeerAddress: (id, address) => this.#membership.learnAddress(id, address),
    })
    // The host is created at start(), once the bound peer port is known; until then it is unset.
    this.host = undefined as unknown as ReplicaHost
    this.#membership = new ClusterMembership(this, options)
  }

  start(raftDir: string, bootstrap: boolean): void {
    const o = this.#options
    const host = createReplicaHost({
      groupId,
      id: this.identity.id,
      dir: raftDir,
      disk: o.disk,
      clock: o.clock,
      timers: o.timers,
      rng: o.rng,
      // A bootstrap node is its single-voter group; a joiner knows no voters until it is sent
      // the log (ignored by a restart: the membership is then recovered from the log).
      voters: bootstrap ? [this.identity.id] : [],
      stateMachine: traceSnapshots(this.stateMachine),
      send: (message) => this.transport.sendRaft(message),
      tickMs: clusterTiming.tickMs,
      electionTicks: clusterTiming.electionTicks,
      heartbeatTicks: clusterTiming.heartbeatTicks,
      readMode: 'read-index',
      snapshotEveryEntries: o.settings.snapshotEveryEntries,
      logTailEntries: Math.min(replicaDefaults.logTailEntries, o.settings.snapshotEveryEntries),
      // A slow disk must not hold heartbeats (issue 5): the fdatasync runs on libuv's pool.
      syncOffLoop: true,
      onEvent: (event) => this.#membership.onEvent(event),
    })
    ;(this as { host: ReplicaHost }).host = host
    host.start()
    this.#started = true
    this.#logReplay()
    this.#cancels.push(o.timers.every(clusterTiming.expiryTickMs, () => this.#maybeTick()))
    this.#cancels.push(this.#membership.start(o.settings.join))
  }

  /** Logs once the log found at start is applied: how many entries after the snapshot that was
   * (the state machine was opened from the snapshot, so these are all a restart replays). */
  #logReplay(): void {
    const startedMs = this.clock.monotonicMs()
    const { snapshotIndex, lastIndex } = this.host.status()
    const cancel = this.timers.every(clusterTiming.replayCheckMs, () => {
      if (this.host.status().appliedIndex < lastIndex) return
      cancel()
      this.#options.logger.info(
        {
          snapshotIndex,
          entries: lastIndex - snapshotIndex,
          durationMs: this.clock.monotonicMs() - startedMs,
        },
        'replayed the log after the snapshot',
      )
    })
    this.#cancels.push(cancel)
  }

  write(request: WriteRequest, written: Done): void {
    const done = timed('write: accepted -> result', written)
    if (!this.#started) return done({ ok: false, error: 'not-leader', leaderId: noNode })
    const { role, leaderId } = this.host.status()
    if (role === 'leader' || leaderId === noNode || leaderId === this.identity.id) {
      return this.host.write(request, done)
    }
    const forward: PeerRequest = {
      type: 'forward-write',
      clientId: request.clientId,
      sequence: request.sequence,
      ackedThrough: request.ackedThrough,
      entry: request.command,
    }
    this.#requestLeader(leaderId, forward, done)
  }

  read(query: Uint8Array, done: Done): void {
    if (!this.#started) return done({ ok: false, error: 'not-leader', leaderId: noNode })
    this.host.read(query, done)
  }

  admin(op: AdminOp, id: NodeId, done: Done): void {
    const { role, leaderId, diskError } = this.host.status()
    if (diskError !== undefined) return done({ ok: false, error: 'disk', reason: diskError })
    if (role === 'leader') return this.#adminLocal(op, id, done)
    if (leaderId === noNode) return done({ ok: false, error: 'not-leader', leaderId: noNode })
    this.#requestLeader(leaderId, { type: 'admin', op, id }, done)
  }

  proposeAddress(id: NodeId, address: NodeAddress, done: Done): void {
    this.#proposeOwn({ kind: 'address', id, address }, done)
  }

  /** Runs `write` once this node is in its group's membership (a node that waited for it). */
  whenMember(write: () => Promise<void>): void {
    this.#membership.awaitMembership(write)
  }

  statusSources(): StatusSources & { matchIndexOf(id: NodeId): number | null } {
    return {
      identity: this.identity,
      replica: this.host.status(),
      addressBook: this.stateMachine.addressBook(),
      matchIndexOf: (id) => this.host.matchIndexOf(id),
    }
  }

  status(): ClusterStatus {
    return clusterStatusOf(this.statusSources())
  }

  close(): Promise<void> {
    if (this.#closing === null) this.#closing = this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    for (const cancel of this.#cancels.splice(0)) cancel()
    // The host's log is fsynced per Ready; stop() answers every pending request 'unknown'.
    if (this.#started) this.host.stop()
    await this.transport.close()
    this.stateMachine.close()
  }

  /** A ReplicaHost's changeMembership / transferLeadership, on this (leader) node. */
  #adminLocal(op: AdminOp, id: NodeId, done: Done): void {
    if (op === 'transfer') {
      if (id === this.identity.id) return done({ ok: true, reply: new Uint8Array(0) })
      if (this.host.transferLeadership(id)) return done({ ok: true, reply: new Uint8Array(0) })
      return done({ ok: false, error: 'refused', reason: 'not a voter of this group' })
    }
    const change: MembershipChange = { type: op, nodeId: id }
    this.host.changeMembership(change, done)
  }

  #requestLeader(leaderId: NodeId, request: PeerRequest, done: Done): void {
    void this.transport
      .request(leaderId, request, clusterTiming.forwardTimeoutMs)
      .then((response) => {
        done(response.type === 'result' ? response.result : { ok: false, error: 'unknown' })
      })
  }

  /** Entries this node proposes itself: its own session, a new sequence each. */
  #proposeOwn(entry: CommandEntry, done: Done): void {
    const session = this.#session
    if (!session.canStart) return done({ ok: false, error: 'busy' })
    const sequence = session.next()
    const { clientId, ackedThrough } = session
    this.write({ clientId, sequence, ackedThrough, command: encodeEntry(entry) }, (result) => {
      session.answered(sequence)
      done(result)
    })
  }

  /** The leader advances time and expires keys deterministically through 'tick' entries. */
  #maybeTick(): void {
    if (this.#tickInFlight || this.host.status().role !== 'leader') return
    const nowMs = this.#options.clock.wallMs()
    if (!this.stateMachine.dueExpiries(nowMs)) return
    this.#tickInFlight = true
    this.#proposeOwn({ kind: 'tick', timeMs: nowMs }, () => {
      this.#tickInFlight = false
    })
  }

  #resolvePeer(id: NodeId): { host: string; port: number } | null {
    const address = this.stateMachine.addressBook().get(id) ?? this.#membership.pendingAddressOf(id)
    if (address === null) return null
    const overridden = this.#options.settings.peerOverride.get(address.name)
    return overridden ?? { host: address.host, port: address.clusterPort }
  }

  #onRequest(
    from: NodeId | null,
    request: PeerRequest,
    respond: (response: PeerResponse) => void,
  ): void {
    const result = (r: ReplicaResult): void => respond({ type: 'result', result: r })
    if (!this.#started) return result({ ok: false, error: 'not-leader', leaderId: noNode })
    switch (request.type) {
      case 'forward-write':
        if (this.host.status().role !== 'leader') {
          return result({ ok: false, error: 'not-leader', leaderId: this.#leaderHint() })
        }
        return this.host.write(
          {
            clientId: request.clientId,
            sequence: request.sequence,
            ackedThrough: request.ackedThrough,
            command: request.entry,
          },
          result,
        )
      case 'admin':
        if (this.host.status().role !== 'leader') {
          return result({ ok: false, error: 'not-leader', leaderId: this.#leaderHint() })
        }
        return this.#adminLocal(request.op, request.id, result)
      case 'join':
        return this.#membership.onJoin(request, respond)
      case 'status':
        return respond({ type: 'status', status: { ...this.status() } })
      case 'snapshot-read':
        return this.#onSnapshotRead(from, request, respond)
    }
  }

  /** A peer pulls a snapshot file's chunk (untrusted: the state machine checks the names). */
  #onSnapshotRead(
    from: NodeId | null,
    request: Extract<PeerRequest, { type: 'snapshot-read' }>,
    respond: (response: PeerResponse) => void,
  ): void {
    const refuse = (reason: string): void =>
      respond({ type: 'result', result: { ok: false, error: 'refused', reason } })
    if (from === null) return refuse('snapshot-read needs a node id')
    this.stateMachine.readSnapshotChunk(request).then(
      (data) => respond({ type: 'snapshot-chunk', data }),
      (error: unknown) => refuse(error instanceof Error ? error.message : String(error)),
    )
  }

  #leaderHint(): NodeId {
    return this.#started ? this.host.status().leaderId : noNode
  }
}

/** A random 53-bit session id (never 0). */
export function randomClientId(rng: Rng): number {
  const high = rng.int(1 << 21)
  const low = rng.int(2 ** 32)
  return high * 2 ** 32 + low || 1
}
