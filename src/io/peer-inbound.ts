/* One inbound peer connection: a peer dialed us to send Raft messages and requests. The first
 * frame must be a hello naming the sender; then Raft frames go to onRaftMessage and requests to
 * onRequest, whose responses return on this same connection, batched per event-loop turn.
 * Invariant: a malformed or out-of-protocol frame closes this connection only (CORRUPT is the
 * only error caught: anything else is a programmer error and must surface). */
import type { Socket } from 'node:net'
import type { NodeId, RaftMessage } from '../raft/types.js'
import { FrameReader } from '../replica/frame-reader.js'
import { decodeFrameBody, encodeResponseFrame, type PeerFrame } from '../replica/peer-codec.js'
import type { NodeAddress, PeerLogger, PeerTransportOptions } from '../replica/peer-types.js'
import { corruptFrame, isCorruptFrame } from '../replica/wire-reader.js'

export interface InboundContext {
  readonly selfId: NodeId
  readonly logger: PeerLogger | undefined
  readonly onRaftMessage: (message: RaftMessage) => void
  readonly onRequest: PeerTransportOptions['onRequest']
  /** The dialer's hello named its address. */
  readonly onPeerAddress: (id: NodeId, address: NodeAddress) => void
  /** Counts a message received from `from` (stats). */
  readonly countReceived: (from: NodeId) => void
  readonly scheduleFlush: (connection: InboundConnection) => void
  readonly closed: (connection: InboundConnection) => void
}

export class InboundConnection {
  readonly #socket: Socket
  readonly #context: InboundContext
  readonly #reader = new FrameReader()
  /** undefined: no hello yet; null: an anonymous caller (hello id 0). */
  #peer: NodeId | null | undefined = undefined
  #out: Uint8Array[] = []
  #open = true

  constructor(socket: Socket, context: InboundContext) {
    this.#socket = socket
    this.#context = context
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#data(chunk))
    socket.on('error', () => undefined) // 'close' follows
    socket.on('close', () => {
      this.#open = false
      context.closed(this)
    })
  }

  destroy(): void {
    this.#open = false
    this.#socket.destroy()
  }

  /** Writes the responses of this turn in one write. */
  flush(): void {
    if (!this.#open || this.#out.length === 0) return
    const only = this.#out.length === 1 ? this.#out[0] : undefined
    this.#socket.write(only ?? Buffer.concat(this.#out))
    this.#out = []
  }

  #data(chunk: Buffer): void {
    if (!this.#open) return
    try {
      this.#reader.push(chunk, (body) => this.#dispatch(decodeFrameBody(body)))
    } catch (error) {
      if (!isCorruptFrame(error)) throw error
      this.#context.logger?.warn(
        { peer: this.#peer ?? null, error: error.message },
        'peer connection: bad frame, closing it',
      )
      this.destroy()
    }
  }

  #dispatch(frame: PeerFrame): void {
    // A frame after destroy() (same chunk) stops the reader rather than being served.
    if (!this.#open) throw corruptFrame('connection closed')
    if (this.#peer === undefined) {
      if (frame.type !== 'hello') throw corruptFrame('the first frame must be a hello')
      this.#peer = frame.id === 0 ? null : frame.id
      if (frame.id !== 0 && frame.address !== null) {
        this.#context.onPeerAddress(frame.id, frame.address)
      }
      return
    }
    const peer = this.#peer
    if (peer !== null) this.#context.countReceived(peer)
    switch (frame.type) {
      case 'raft':
        this.#raft(peer, frame.message)
        return
      case 'request':
        this.#request(peer, frame.requestId, frame)
        return
      default:
        throw corruptFrame(`a ${frame.type} frame on an inbound connection`)
    }
  }

  #raft(peer: NodeId | null, message: RaftMessage): void {
    if (peer === null || message.from !== peer)
      throw corruptFrame('a Raft message not from its sender')
    // A message for another id (an address reused by a new node) is stale: never step it.
    if (message.to !== this.#context.selfId) return
    this.#context.onRaftMessage(message)
  }

  #request(
    peer: NodeId | null,
    requestId: number,
    frame: Extract<PeerFrame, { type: 'request' }>,
  ): void {
    let answered = false
    this.#context.onRequest(peer, frame.request, (response) => {
      if (answered || !this.#open) return
      answered = true
      this.#out.push(encodeResponseFrame(requestId, response))
      this.#context.scheduleFlush(this)
    })
  }
}
