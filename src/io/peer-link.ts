/* One outbound peer link: the TCP connection this node dials to one peer (or one address), its
 * bounded send queue, reconnect backoff, circuit breaker and the RPCs awaiting answers on it.
 * Invariants: queued + socket-buffered bytes stay under queueBytesMax (a Raft message over it is
 * dropped and counted, an RPC over it fails at once); an RPC resolves exactly once; while the
 * breaker is open a send does no I/O at all, so a dead peer costs nothing on the hot path. A peer
 * whose address is not known yet is not a failed peer: it never opens the breaker, and every send
 * asks for the address again, so the link connects as soon as one is known. */
import { connect, type Socket } from 'node:net'
import type { Clock, Rng, Timers } from '../core/ports.js'
import type { NodeId } from '../raft/types.js'
import { FrameReader } from '../replica/frame-reader.js'
import { decodeFrameBody, encodeHello, type PeerFrame } from '../replica/peer-codec.js'
import type {
  BreakerState,
  NodeAddress,
  PeerLinkState,
  PeerLogger,
  PeerResponse,
  PeerStats,
} from '../replica/peer-types.js'
import { corruptFrame, isCorruptFrame } from '../replica/wire-reader.js'

export const peerLinkLimits = {
  backoffMinMs: 50,
  backoffMaxMs: 2000,
  /** Failed dials or RPC timeouts in a row that open the breaker. */
  breakerFailuresMax: 3,
  /** A dial that has not connected by then failed (a black-holed SYN waits minutes otherwise). */
  connectTimeoutMs: 1000,
  queueBytesMax: 16 * 1024 * 1024,
} as const

export interface PeerLinkContext {
  readonly selfId: NodeId
  readonly timers: Timers
  readonly clock: Clock
  readonly rng: Rng
  readonly logger: PeerLogger | undefined
  readonly queueBytesMax: number
  /** This node's advertised address for the hello (null: none). */
  readonly helloAddress: () => NodeAddress | null
  /** Asks for flush() once the current callback is done (one batched write per link). */
  readonly scheduleFlush: (link: PeerLink) => void
}

export type PeerTarget = { readonly host: string; readonly port: number }

interface QueuedFrame {
  readonly frame: Uint8Array
  /** 0: a Raft message. */
  readonly requestId: number
}

interface PendingRpc {
  readonly resolve: (response: PeerResponse) => void
  readonly cancelTimeout: () => void
  written: boolean
  /** When it was written (monotonic ms), to tell a silent peer from a slow answer. */
  writtenAtMs: number
}

const busy: PeerResponse = { type: 'result', result: { ok: false, error: 'busy' } }
const unknown: PeerResponse = { type: 'result', result: { ok: false, error: 'unknown' } }

export class PeerLink {
  readonly id: NodeId | null
  readonly #target: () => PeerTarget | null
  readonly #context: PeerLinkContext
  #address = ''
  #socket: Socket | null = null
  #state: PeerLinkState = 'idle'
  #breaker: BreakerState = 'closed'
  #openUntilMs = 0
  #failures = 0
  #lastResponseMs = -1
  #attempt = 0
  #cancelBackoff: (() => void) | null = null
  #queue: QueuedFrame[] = []
  #queuedBytes = 0
  readonly #pending = new Map<number, PendingRpc>()
  #closed = false
  /** The last dial found no address (logged once per such stretch, not once per send). */
  #unresolved = false
  #dials = 0
  #sent = 0
  #dropped = 0
  #reconnects = 0

  /** `target` is asked at every dial (a peer's address may change between dials). */
  constructor(id: NodeId | null, target: () => PeerTarget | null, context: PeerLinkContext) {
    this.id = id
    this.#target = target
    this.#context = context
  }

  sendRaft(frame: Uint8Array): void {
    if (!this.#enqueue({ frame, requestId: 0 })) this.#dropped += 1
  }

  request(requestId: number, frame: Uint8Array, timeoutMs: number): Promise<PeerResponse> {
    return new Promise((resolve) => {
      const cancelTimeout = this.#context.timers.after(timeoutMs, () => this.#timedOut(requestId))
      this.#pending.set(requestId, { resolve, cancelTimeout, written: false, writtenAtMs: 0 })
      if (!this.#enqueue({ frame, requestId })) {
        this.#dropped += 1
        this.#settle(requestId, busy)
      }
    })
  }

  /** Writes everything queued in one write, if connected. */
  flush(): void {
    const socket = this.#socket
    if (this.#state !== 'connected' || socket === null || this.#queue.length === 0) return
    const nowMs = this.#context.clock.monotonicMs()
    // One write per turn: a copy of small frames costs less than a writev entry per frame.
    const only = this.#queue.length === 1 ? this.#queue[0]?.frame : undefined
    socket.write(
      only ??
        Buffer.concat(
          this.#queue.map((item) => item.frame),
          this.#queuedBytes,
        ),
    )
    for (const { requestId } of this.#queue) {
      const pending = requestId === 0 ? undefined : this.#pending.get(requestId)
      if (pending === undefined) continue
      pending.written = true
      pending.writtenAtMs = nowMs
    }
    this.#sent += this.#queue.length
    this.#queue = []
    this.#queuedBytes = 0
  }

  close(): void {
    this.#closed = true
    this.#cancelBackoff?.()
    this.#cancelBackoff = null
    this.#dropQueue()
    for (const [requestId, pending] of this.#pending) {
      this.#settle(requestId, pending.written ? unknown : busy)
    }
    this.#socket?.destroy()
    this.#socket = null
    this.#state = 'idle'
  }

  stats(receivedMessages: number): PeerStats {
    return {
      id: this.id,
      address: this.#address,
      state: this.#state,
      breaker: this.#breakerNow(),
      queuedBytes: this.#queuedBytes + (this.#socket?.writableLength ?? 0),
      sentMessages: this.#sent,
      receivedMessages,
      droppedMessages: this.#dropped,
      reconnects: this.#reconnects,
    }
  }

  /** Open turns half-open once its backoff has passed (checked lazily: no timer needed). */
  #breakerNow(): BreakerState {
    if (this.#breaker === 'open' && this.#context.clock.monotonicMs() >= this.#openUntilMs) {
      this.#breaker = 'half-open'
    }
    return this.#breaker
  }

  #enqueue(item: QueuedFrame): boolean {
    if (this.#closed || this.#breakerNow() === 'open') return false
    const buffered = this.#queuedBytes + (this.#socket?.writableLength ?? 0)
    if (buffered + item.frame.byteLength > this.#context.queueBytesMax) return false
    this.#queue.push(item)
    this.#queuedBytes += item.frame.byteLength
    if (this.#state === 'connected') this.#context.scheduleFlush(this)
    else if (this.#state === 'idle') this.#dial()
    return true
  }

  #settle(requestId: number, response: PeerResponse): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    this.#pending.delete(requestId)
    pending.cancelTimeout()
    pending.resolve(response)
  }

  #timedOut(requestId: number): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    if (!pending.written) this.#unqueue(requestId)
    this.#settle(requestId, pending.written ? unknown : busy)
    // Only silence counts against the peer: a request that reached it and saw no answer to
    // anything since (a slow answer while others arrive is a busy peer, not a dead one).
    if (pending.written && this.#lastResponseMs <= pending.writtenAtMs) {
      this.#failed('request timed out')
    }
  }

  #unqueueAndSettle(requestId: number): void {
    this.#unqueue(requestId)
    this.#settle(requestId, busy)
  }

  /** Takes an unsent request back out of the queue: it must never run after failing. */
  #unqueue(requestId: number): void {
    const index = this.#queue.findIndex((item) => item.requestId === requestId)
    if (index < 0) return
    const [item] = this.#queue.splice(index, 1)
    this.#queuedBytes -= item?.frame.byteLength ?? 0
  }

  #dropQueue(): void {
    for (const { requestId } of this.#queue) {
      if (requestId === 0) this.#dropped += 1
      else this.#settle(requestId, busy)
    }
    this.#queue = []
    this.#queuedBytes = 0
  }

  #dial(): void {
    const target = this.#target()
    if (target === null) return this.#noAddress()
    if (this.#unresolved) {
      this.#unresolved = false
      this.#context.logger?.info({ peer: this.id }, 'peer link: address known')
    }
    this.#address = `${target.host}:${target.port}`
    if (this.#dials > 0) this.#reconnects += 1
    this.#dials += 1
    this.#state = 'connecting'
    const socket = connect({ host: target.host, port: target.port })
    socket.setNoDelay(true)
    this.#socket = socket
    this.#watch(socket)
  }

  /** No address to dial: what waits is dropped now (Raft resends; a request fails 'busy' and its
   * caller retries), the breaker and backoff are left alone, and the link stays idle so the next
   * send resolves again (a cheap lookup) instead of waiting out a breaker meant for dead peers. */
  #noAddress(): void {
    this.#dropQueue()
    this.#state = 'idle'
    if (this.#unresolved) return
    this.#unresolved = true
    this.#context.logger?.info({ peer: this.id }, 'peer link: no address known yet')
  }

  #watch(socket: Socket): void {
    let connected = false
    const cancelConnectTimeout = this.#context.timers.after(peerLinkLimits.connectTimeoutMs, () =>
      socket.destroy(),
    )
    const reader = new FrameReader()
    socket.on('connect', () => {
      cancelConnectTimeout()
      connected = true
      this.#connected(socket)
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (body) => this.#received(decodeFrameBody(body)))
      } catch (error) {
        if (!isCorruptFrame(error)) throw error
        this.#context.logger?.warn({ peer: this.id, error: error.message }, 'peer link: bad frame')
        socket.destroy()
      }
    })
    socket.on('error', () => undefined) // 'close' follows and handles it
    socket.on('close', () => {
      cancelConnectTimeout()
      if (this.#socket !== socket) return
      this.#socket = null
      this.#disconnected(connected, connected ? 'connection lost' : 'dial failed')
    })
  }

  #connected(socket: Socket): void {
    this.#state = 'connected'
    this.#breaker = 'closed'
    this.#failures = 0
    this.#attempt = 0
    this.#context.logger?.info({ peer: this.id, address: this.#address }, 'peer link connected')
    socket.write(encodeHello(this.#context.selfId, this.#context.helloAddress()))
    this.flush()
  }

  #received(frame: PeerFrame): void {
    if (frame.type !== 'response') throw corruptFrame(`a ${frame.type} frame on an outbound link`)
    this.#failures = 0
    this.#lastResponseMs = this.#context.clock.monotonicMs()
    this.#settle(frame.requestId, frame.response)
  }

  #disconnected(wasConnected: boolean, reason: string): void {
    for (const [requestId, pending] of this.#pending) {
      if (pending.written) this.#settle(requestId, unknown)
      // A failed dial fails waiting requests at once (the caller retries, maybe elsewhere).
      else if (!wasConnected) this.#unqueueAndSettle(requestId)
    }
    if (this.#closed) return
    if (wasConnected) this.#context.logger?.info({ peer: this.id, reason }, 'peer link lost')
    else this.#failed(reason)
    if (this.#breaker !== 'open') this.#backoff()
  }

  /** A failed dial or timed-out request; enough in a row (or a failed probe) opens the breaker. */
  #failed(reason: string): void {
    this.#failures += 1
    const probeFailed = this.#breaker === 'half-open'
    if (!probeFailed && this.#failures < peerLinkLimits.breakerFailuresMax) return
    const delayMs = this.#backoffDelayMs()
    this.#breaker = 'open'
    this.#openUntilMs = this.#context.clock.monotonicMs() + delayMs
    this.#dropQueue()
    this.#cancelBackoff?.()
    this.#cancelBackoff = null
    this.#state = 'idle'
    const socket = this.#socket
    this.#socket = null
    socket?.destroy()
    for (const [requestId, pending] of this.#pending) {
      if (pending.written) this.#settle(requestId, unknown)
    }
    if (!probeFailed) {
      this.#context.logger?.info({ peer: this.id, reason, delayMs }, 'peer link breaker open')
    }
  }

  #backoff(): void {
    this.#state = 'backoff'
    this.#cancelBackoff = this.#context.timers.after(this.#backoffDelayMs(), () => {
      this.#cancelBackoff = null
      this.#state = 'idle'
      if (this.#queue.length > 0) this.#dial()
    })
  }

  /** Jittered exponential: 50 ms doubling to 2 s, each delay in [ceiling / 2, ceiling]. */
  #backoffDelayMs(): number {
    const { backoffMinMs, backoffMaxMs } = peerLinkLimits
    const ceilingMs = Math.min(backoffMaxMs, backoffMinMs * 2 ** this.#attempt)
    this.#attempt = Math.min(this.#attempt + 1, 16)
    return Math.max(backoffMinMs, Math.round(ceilingMs * (0.5 + this.#context.rng.float() / 2)))
  }
}
