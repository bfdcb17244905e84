/* Membership upkeep of one cluster node: joining through --join (retry with backoff; any member
 * relays the join to its leader), the leader's side of a join (address entry, then learner), the
 * leader's promotion of caught-up learners, this node's own address entry, and one log line per
 * role or membership change. Invariant: at most one of each proposal is in flight at a time, so
 * a slow leader is never flooded with duplicate membership changes. */
import type { Timers } from '../core/ports.js'
import type { Logger } from '../obs/logger.js'
import { noNode, type NodeId } from '../raft/index.js'
import type { NodeAddress } from '../replica/command-entry.js'
import { nodeIdOf } from '../replica/node-id.js'
import type { PeerRequest, PeerResponse, PeerTransport } from '../replica/peer-types.js'
import type { ReplicaEvent, ReplicaHost, ReplicaResult } from '../replica/types.js'
import type { ClusterSettings, HostPort } from './cluster-config.js'
import type { NodeIdentity } from './cluster-identity.js'
import type { KeyspaceStateMachine } from '../replica/keyspace-state-machine.js'

/** How often the upkeep loop looks at the membership. */
const upkeepIntervalMs = 100
const joinTimeoutMs = 2000
const joinBackoffMinMs = 100
const joinBackoffMaxMs = 2000

type JoinRequest = Extract<PeerRequest, { type: 'join' }>

/** The parts of the node the upkeep uses (the node passes itself). */
export interface MembershipNode {
  readonly identity: NodeIdentity
  readonly host: ReplicaHost
  readonly stateMachine: KeyspaceStateMachine
  readonly transport: PeerTransport
  admin(op: 'promote' | 'add-learner', id: NodeId, done: (result: ReplicaResult) => void): void
  proposeAddress(id: NodeId, address: NodeAddress, done: (result: ReplicaResult) => void): void
}

export class ClusterMembership {
  readonly #node: MembershipNode
  readonly #logger: Logger
  readonly #timers: Timers
  readonly #clock: { monotonicMs(): number }
  readonly #settings: ClusterSettings
  /** Peer addresses known before their address entry applies (join requests and answers). */
  readonly #pending = new Map<NodeId, NodeAddress>()
  #join: readonly HostPort[] = []
  #joined = false
  #joinAttempt = 0
  #joinInFlight = false
  #nextJoinAtMs = 0
  #promoteInFlight = false
  #addressInFlight = false
  /** A new node waiting to be contacted: run once it is a member (writes its identity). */
  #onMember: (() => Promise<void>) | null = null

  constructor(
    node: MembershipNode,
    parts: {
      logger: Logger
      timers: Timers
      clock: { monotonicMs(): number }
      settings: ClusterSettings
    },
  ) {
    this.#node = node
    this.#logger = parts.logger
    this.#timers = parts.timers
    this.#clock = parts.clock
    this.#settings = parts.settings
  }

  /** Starts the upkeep loop; returns its cancel function. */
  start(join: readonly HostPort[]): () => void {
    this.#join = join
    return this.#timers.every(upkeepIntervalMs, () => this.#upkeep())
  }

  /** The advertised address of this node (a proxy address with --cluster-advertise). */
  ownAddress(): NodeAddress {
    const { name, host, port, clusterPort } = this.#node.identity
    const advertised = this.#settings.clusterAdvertise
    return {
      name,
      host: advertised?.host ?? host,
      port,
      clusterPort: advertised?.port ?? clusterPort,
    }
  }

  /** A peer's hello named its address: it is dialed there until the address book knows it. */
  learnAddress(id: NodeId, address: NodeAddress): void {
    if (id === this.#node.identity.id || nodeIdOf(address.name) !== id) return
    this.#pending.set(id, address)
  }

  /** A new node with neither --bootstrap nor --join: says so, and runs `onMember` once added. */
  awaitMembership(onMember: () => Promise<void>): void {
    this.#onMember = onMember
    const { name } = this.#node.identity
    this.#logger.warn(
      { node: name, address: this.ownAddress() },
      `raft: ${name} is in no cluster yet: waiting for a member to contact it ` +
        `(RAFT ADD ${name} host:port:clusterPort on a member, or restart with --join)`,
    )
  }

  pendingAddressOf(id: NodeId): NodeAddress | null {
    return this.#pending.get(id) ?? null
  }

  nameOf(id: NodeId): string {
    if (id === noNode) return ''
    if (id === this.#node.identity.id) return this.#node.identity.name
    return this.#node.stateMachine.addressBook().get(id)?.name ?? this.#pending.get(id)?.name ?? ''
  }

  onEvent(event: ReplicaEvent): void {
    switch (event.kind) {
      case 'role':
        this.#logger.info(
          {
            role: event.role,
            term: event.term,
            leader: this.nameOf(event.leaderId) || null,
            leaderId: event.leaderId,
          },
          `raft: ${this.#node.identity.name} is ${event.role} at term ${event.term}`,
        )
        return
      case 'membership':
        this.#logger.info(
          {
            voters: event.membership.voters.map((id) => this.nameOf(id) || id),
            learners: event.membership.learners.map((id) => this.nameOf(id) || id),
          },
          'raft: membership changed',
        )
        return
      case 'snapshot-saved':
      case 'snapshot-restored':
        this.#logger.info({ index: event.index }, `raft: ${event.kind}`)
        return
      case 'disk-error':
        this.#logger.error(
          { error: event.error.message, reason: event.reason },
          'raft: the Raft log failed a write or fdatasync: this node stops taking part ' +
            '(writes refused with MISCONF) until it is restarted',
        )
        return
    }
  }

  /** A join request: handled by the leader, relayed to it by any other member. */
  onJoin(request: JoinRequest, respond: (response: PeerResponse) => void): void {
    const refuse = (reason: string): void =>
      respond({ type: 'result', result: { ok: false, error: 'refused', reason } })
    if (nodeIdOf(request.name) !== request.id) return refuse('node id does not match its name')
    this.#pending.set(request.id, request.address)
    const { role, leaderId } = this.#node.host.status()
    if (role === 'leader') return this.#admit(request, respond)
    if (leaderId === noNode) {
      return respond({ type: 'result', result: { ok: false, error: 'not-leader', leaderId } })
    }
    void this.#node.transport.request(leaderId, request, joinTimeoutMs).then(respond)
  }

  /** Leader: the joiner's address entry first (so every node can dial it), then a learner. */
  #admit(request: JoinRequest, respond: (response: PeerResponse) => void): void {
    const fail = (result: ReplicaResult): void => respond({ type: 'result', result })
    const addLearner = (): void => {
      const { voters, learners } = this.#node.host.status().membership
      if (voters.includes(request.id) || learners.includes(request.id)) {
        return respond(this.#joinedAnswer())
      }
      this.#node.admin('add-learner', request.id, (result) => {
        if (!result.ok) return fail(result)
        this.#logger.info({ node: request.name, id: request.id }, 'raft: added a learner')
        respond(this.#joinedAnswer())
      })
    }
    if (sameAddress(this.#node.stateMachine.addressBook().get(request.id), request.address)) {
      return addLearner()
    }
    this.#node.proposeAddress(request.id, request.address, (result) =>
      result.ok ? addLearner() : fail(result),
    )
  }

  #joinedAnswer(): PeerResponse {
    const status = this.#node.host.status()
    const book = new Map(this.#node.stateMachine.addressBook())
    for (const [id, address] of this.#pending) if (!book.has(id)) book.set(id, address)
    // A fresh leader may not have applied its own address entry yet: the joiner must still learn
    // where to answer it, or its replies to the leader have nowhere to go.
    if (!book.has(this.#node.identity.id)) book.set(this.#node.identity.id, this.ownAddress())
    const members = [...status.membership.voters, ...status.membership.learners]
      .map((id) => ({ id, address: book.get(id), voter: status.membership.voters.includes(id) }))
      .filter((m): m is { id: NodeId; address: NodeAddress; voter: boolean } => !!m.address)
    return { type: 'joined', leaderId: status.leaderId, members }
  }

  #upkeep(): void {
    const status = this.#node.host.status()
    const self = this.#node.identity.id
    const member =
      status.membership.voters.includes(self) || status.membership.learners.includes(self)
    if (!member && !this.#joined && this.#join.length > 0) this.#tryJoin()
    if (member && this.#onMember !== null) this.#becameMember(this.#onMember)
    if (status.leaderId !== noNode && member) this.#checkOwnAddress()
    if (status.role === 'leader') this.#promoteCaughtUp(status.commitIndex)
  }

  #becameMember(onMember: () => Promise<void>): void {
    this.#onMember = null
    const leader = this.nameOf(this.#node.host.status().leaderId) || null
    onMember().then(
      () => this.#logger.info({ leader }, 'raft: contacted by the cluster: a member now'),
      (error: unknown) =>
        this.#logger.error({ error: String(error) }, 'raft: writing the node identity failed'),
    )
  }

  #tryJoin(): void {
    const nowMs = this.#clock.monotonicMs()
    if (this.#joinInFlight || nowMs < this.#nextJoinAtMs) return
    const target = this.#join[this.#joinAttempt % this.#join.length] as HostPort
    const attempt = ++this.#joinAttempt
    this.#joinInFlight = true
    const { name, id } = this.#node.identity
    const request: JoinRequest = { type: 'join', name, id, address: this.ownAddress() }
    void this.#node.transport.request(target, request, joinTimeoutMs).then((response) => {
      this.#joinInFlight = false
      if (response.type === 'joined') {
        for (const m of response.members) this.#pending.set(m.id, m.address)
        this.#joined = true
        this.#logger.info(
          { via: `${target.host}:${target.port}`, leaderId: response.leaderId },
          'raft: joined the cluster as a learner',
        )
        return
      }
      const backoffMs = Math.min(joinBackoffMaxMs, joinBackoffMinMs * 2 ** Math.min(attempt, 5))
      this.#nextJoinAtMs = this.#clock.monotonicMs() + backoffMs
      this.#logger.debug({ via: `${target.host}:${target.port}`, response }, 'raft: join retry')
    })
  }

  /** Every member keeps its own address entry current (ports may change across restarts). */
  #checkOwnAddress(): void {
    if (this.#addressInFlight) return
    const own = this.ownAddress()
    const known = this.#node.stateMachine.addressBook().get(this.#node.identity.id)
    if (sameAddress(known, own)) return
    this.#addressInFlight = true
    this.#node.proposeAddress(this.#node.identity.id, own, (result) => {
      this.#addressInFlight = false
      if (result.ok) this.#logger.info({ address: own }, 'raft: address entry applied')
    })
  }

  /** Leader: a learner whose log matches the commit index becomes a voter. */
  #promoteCaughtUp(commitIndex: number): void {
    if (this.#promoteInFlight) return
    const learners = this.#node.host.status().membership.learners
    const ready = learners.find((id) => (this.#node.host.matchIndexOf(id) ?? -1) >= commitIndex)
    if (ready === undefined) return
    this.#promoteInFlight = true
    this.#node.admin('promote', ready, (result) => {
      this.#promoteInFlight = false
      if (result.ok) this.#logger.info({ node: this.nameOf(ready), id: ready }, 'raft: promoted')
    })
  }
}

function sameAddress(a: NodeAddress | undefined, b: NodeAddress): boolean {
  return (
    a !== undefined &&
    a.name === b.name &&
    a.host === b.host &&
    a.port === b.port &&
    a.clusterPort === b.clusterPort
  )
}
