/* The real peer transport (design note section 3): a server socket peers dial, and one outbound
 * PeerLink per peer this node sends to (Raft messages and RPCs), each with its own queue, backoff
 * and breaker. Writes of one callback (one Ready) go out as one write per connection.
 * Invariant: sendRaft never blocks or throws, request never rejects, and nothing a peer sends can
 * stop this process (a bad frame closes that one connection). */
import { createServer, type Server, type Socket } from 'node:net'
import type { NodeId, RaftMessage } from '../raft/types.js'
import { encodeRaftFrame, encodeRequestFrame } from '../replica/peer-codec.js'
import type {
  PeerRequest,
  PeerResponse,
  PeerStats,
  PeerTransport,
  PeerTransportOptions,
} from '../replica/peer-types.js'
import { isCorruptFrame } from '../replica/wire-reader.js'
import { InboundConnection } from './peer-inbound.js'
import { PeerLink, peerLinkLimits, type PeerLinkContext, type PeerTarget } from './peer-link.js'

export type { PeerTransport } from '../replica/peer-types.js'

export function createPeerTransport(options: PeerTransportOptions): PeerTransport {
  return new Transport(options)
}

interface Flushable {
  flush(): void
}

const busy: PeerResponse = { type: 'result', result: { ok: false, error: 'busy' } }

class Transport implements PeerTransport {
  readonly #options: PeerTransportOptions
  readonly #server: Server
  readonly #linkContext: PeerLinkContext
  /** Links by peer id; links to bare addresses (a join before ids are known) by host:port. */
  readonly #links = new Map<NodeId, PeerLink>()
  readonly #addressLinks = new Map<string, PeerLink>()
  readonly #inbound = new Set<InboundConnection>()
  readonly #received = new Map<NodeId, number>()
  readonly #dirty = new Set<Flushable>()
  #flushScheduled = false
  #nextRequestId = 1
  #closed = false

  constructor(options: PeerTransportOptions) {
    this.#options = options
    this.#linkContext = {
      selfId: options.selfId,
      timers: options.timers,
      clock: options.clock,
      rng: options.rng,
      logger: options.logger,
      queueBytesMax: options.queueBytesMax ?? peerLinkLimits.queueBytesMax,
      helloAddress: () => options.advertise?.() ?? null,
      scheduleFlush: (link) => this.#scheduleFlush(link),
    }
    this.#server = createServer((socket) => this.#accept(socket))
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen({ host: this.#options.host, port: this.#options.port }, () => {
        this.#server.off('error', reject)
        const address = this.#server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : 0)
      })
    })
  }

  sendRaft(message: RaftMessage): void {
    if (this.#closed || message.to === this.#options.selfId) return
    let frame: Uint8Array
    try {
      frame = encodeRaftFrame(message)
    } catch (error) {
      if (!isCorruptFrame(error)) throw error
      this.#options.logger?.warn({ to: message.to, error: error.message }, 'peer: unsendable')
      return
    }
    this.#linkTo(message.to).sendRaft(frame)
  }

  request(to: NodeId | PeerTarget, request: PeerRequest, timeoutMs: number): Promise<PeerResponse> {
    if (this.#closed) return Promise.resolve(busy)
    const requestId = this.#nextRequestId++
    const link = typeof to === 'number' ? this.#linkTo(to) : this.#linkToAddress(to)
    return link.request(requestId, encodeRequestFrame(requestId, request), timeoutMs)
  }

  stats(): PeerStats[] {
    const rows: PeerStats[] = []
    for (const [id, link] of this.#links) rows.push(link.stats(this.#received.get(id) ?? 0))
    for (const link of this.#addressLinks.values()) rows.push(link.stats(0))
    for (const [id, count] of this.#received) {
      if (!this.#links.has(id)) rows.push(inboundOnlyStats(id, count))
    }
    return rows
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    for (const link of [...this.#links.values(), ...this.#addressLinks.values()]) link.close()
    for (const connection of this.#inbound) connection.destroy()
    this.#inbound.clear()
    return new Promise((resolve) => {
      if (!this.#server.listening) resolve()
      else this.#server.close(() => resolve())
    })
  }

  #linkTo(id: NodeId): PeerLink {
    let link = this.#links.get(id)
    if (link === undefined) {
      link = new PeerLink(id, () => this.#options.resolve(id), this.#linkContext)
      this.#links.set(id, link)
    }
    return link
  }

  #linkToAddress(target: PeerTarget): PeerLink {
    const key = `${target.host}:${target.port}`
    let link = this.#addressLinks.get(key)
    if (link === undefined) {
      const fixed = { host: target.host, port: target.port }
      link = new PeerLink(null, () => fixed, this.#linkContext)
      this.#addressLinks.set(key, link)
    }
    return link
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    const connection = new InboundConnection(socket, {
      selfId: this.#options.selfId,
      logger: this.#options.logger,
      onRaftMessage: this.#options.onRaftMessage,
      onRequest: this.#options.onRequest,
      onPeerAddress: (id, address) => this.#options.onPeerAddress?.(id, address),
      countReceived: (from) => this.#received.set(from, (this.#received.get(from) ?? 0) + 1),
      scheduleFlush: (target) => this.#scheduleFlush(target),
      closed: (target) => this.#inbound.delete(target),
    })
    this.#inbound.add(connection)
  }

  #scheduleFlush(target: Flushable): void {
    this.#dirty.add(target)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    // A microtask, not the next turn: every message the current callback sends (one Ready's)
    // leaves in one write per link, without waiting a loop iteration behind other I/O.
    queueMicrotask(() => {
      this.#flushScheduled = false
      const targets = [...this.#dirty]
      this.#dirty.clear()
      for (const each of targets) each.flush()
    })
  }
}

function inboundOnlyStats(id: NodeId, receivedMessages: number): PeerStats {
  return {
    id,
    address: '',
    state: 'idle',
    breaker: 'closed',
    queuedBytes: 0,
    sentMessages: 0,
    receivedMessages,
    droppedMessages: 0,
    reconnects: 0,
  }
}
