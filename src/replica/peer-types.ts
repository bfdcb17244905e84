/* The peer transport's contract (design note section 3): the requests nodes send each other
 * besides Raft messages, their responses, a node's addresses, and the transport's interface.
 * Invariant: plain data only, so peer-codec.ts can encode every value of these types. */
import type { Clock, Rng, Timers } from '../core/ports.js'
import type { NodeId, RaftMessage } from '../raft/types.js'
import type { ReplicaFailure, ReplicaResult } from './types.js'

/** Where a node serves clients (host:port) and peers (host:clusterPort). */
export interface NodeAddress {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly clusterPort: number
}

/** A member as a join answer lists it. */
export interface PeerMember {
  readonly id: NodeId
  readonly address: NodeAddress
  readonly voter: boolean
}

export type AdminOp = 'remove' | 'transfer' | 'add-learner' | 'promote'

/** JSON-able data (status answers). */
export type PeerJson =
  string | number | boolean | null | readonly PeerJson[] | { readonly [key: string]: PeerJson }

export type PeerRequest =
  /** A follower relays a client's write; the leader runs host.write and answers 'result'. */
  | {
      readonly type: 'forward-write'
      readonly clientId: number
      readonly sequence: number
      readonly ackedThrough: number
      readonly entry: Uint8Array
    }
  /** A new node asks to join: 'joined' from the leader, or 'result' not-leader elsewhere. */
  | {
      readonly type: 'join'
      readonly name: string
      readonly id: NodeId
      readonly address: NodeAddress
    }
  | { readonly type: 'status' }
  | { readonly type: 'admin'; readonly op: AdminOp; readonly id: NodeId }
  /**
   * Bytes [offset, offset + length) of `file` in the snapshot directory `dirName`: answered
   * 'snapshot-chunk', or 'result' refused (bad name, no such file, past its end, length over
   * 1 MiB, an anonymous caller).
   */
  | {
      readonly type: 'snapshot-read'
      readonly dirName: string
      readonly file: string
      readonly offset: number
      readonly length: number
    }

export type PeerResponse =
  | { readonly type: 'result'; readonly result: ReplicaResult }
  | {
      readonly type: 'joined'
      readonly leaderId: NodeId
      readonly members: readonly PeerMember[]
    }
  | { readonly type: 'status'; readonly status: PeerJson }
  | { readonly type: 'snapshot-chunk'; readonly data: Uint8Array }

/** The slice of the process logger (pino) the transport uses. */
export interface PeerLogger {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  debug(fields: object, message: string): void
}

/** Where to dial a peer; null: unknown for now (sends to it are dropped). */
export type PeerResolver = (id: NodeId) => { host: string; port: number } | null

export interface PeerTransportOptions {
  readonly selfId: NodeId
  readonly host: string
  /** 0: an ephemeral port (tests); listen() resolves with the bound one. */
  readonly port: number
  /** Asked at every dial, so a changed address is picked up at the next reconnect. */
  readonly resolve: PeerResolver
  readonly onRaftMessage: (message: RaftMessage) => void
  /** `from`: the caller's NodeId from its hello, null for an anonymous caller (id 0). */
  readonly onRequest: (
    from: NodeId | null,
    request: PeerRequest,
    respond: (response: PeerResponse) => void,
  ) => void
  readonly logger?: PeerLogger
  readonly timers: Timers
  readonly clock: Clock
  readonly rng: Rng
  /** Bytes queued per peer before Raft messages are dropped and RPCs fail (default 16 MiB). */
  readonly queueBytesMax?: number
  /** This node's advertised address, sent in the hello of every connection it dials. */
  readonly advertise?: () => NodeAddress | null
  /** A dialer's hello gave its address (the peer's own word about where it is reached). */
  readonly onPeerAddress?: (id: NodeId, address: NodeAddress) => void
}

export type PeerLinkState = 'idle' | 'connecting' | 'connected' | 'backoff'
export type BreakerState = 'closed' | 'open' | 'half-open'

/** One outbound link's figures (a peer by id, or an address dialed by request()). */
export interface PeerStats {
  readonly id: NodeId | null
  /** `host:port` last dialed ('' before the first dial). */
  readonly address: string
  readonly state: PeerLinkState
  readonly breaker: BreakerState
  readonly queuedBytes: number
  readonly sentMessages: number
  /** Messages received from this peer over its inbound connections (Raft and RPC). */
  readonly receivedMessages: number
  readonly droppedMessages: number
  readonly reconnects: number
}

export interface PeerTransport {
  /** Binds host:port; resolves with the bound port. */
  listen(): Promise<number>
  /** Never blocks, never throws: a message that cannot be queued is dropped and counted. */
  sendRaft(message: RaftMessage): void
  /**
   * Never rejects. A request that never reached a socket (no address, breaker open, queue full,
   * closed) resolves `{ type: 'result', result: { ok: false, error: 'busy' } }`; one that was
   * written but got no answer in time (or lost its connection) resolves `error: 'unknown'`.
   */
  request(
    to: NodeId | { host: string; port: number },
    request: PeerRequest,
    timeoutMs: number,
  ): Promise<PeerResponse>
  stats(): PeerStats[]
  /** Closes the server and every connection; pending requests resolve 'unknown' or 'busy'. */
  close(): Promise<void>
}

/** The failure result a request resolves with when the transport could not deliver it. */
export type TransportFailure = Extract<ReplicaFailure, { error: 'busy' | 'unknown' }>
