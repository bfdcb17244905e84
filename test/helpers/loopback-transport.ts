/* Test helper: an in-process PeerTransport network (no sockets): every transport registers its
 * host:port, Raft messages and requests are delivered on a later turn, and a closed or unknown
 * endpoint behaves like a refused dial ('busy') or a lost connection ('unknown'). Lets the
 * cluster node be tested in one process before (and independently of) the TCP transport. */
import type { NodeId, RaftMessage } from '../../src/raft/types.js'
import type {
  PeerRequest,
  PeerResponse,
  PeerStats,
  PeerTransport,
  PeerTransportOptions,
} from '../../src/replica/peer-types.js'

interface Endpoint {
  readonly options: PeerTransportOptions
  open: boolean
}

const busy: PeerResponse = { type: 'result', result: { ok: false, error: 'busy' } }
const unknown: PeerResponse = { type: 'result', result: { ok: false, error: 'unknown' } }

export class LoopbackNetwork {
  readonly #endpoints = new Map<string, Endpoint>()
  #nextPort = 40000
  /** Directed links currently cut ("from->to" node ids). */
  readonly cut = new Set<string>()

  create(options: PeerTransportOptions): PeerTransport {
    const endpoint: Endpoint = { options, open: false }
    let address = ''
    const deliverLater = (fn: () => void): void => {
      setImmediate(fn)
    }
    const lookup = (to: NodeId | { host: string; port: number }): Endpoint | null => {
      const where = typeof to === 'number' ? options.resolve(to) : to
      if (where === null) return null
      const target = this.#endpoints.get(`${where.host}:${where.port}`)
      if (target === undefined || !target.open) return null
      if (this.cut.has(`${options.selfId}->${target.options.selfId}`)) return null
      return target
    }
    return {
      listen: () => {
        const port = options.port === 0 ? this.#nextPort++ : options.port
        address = `${options.host}:${port}`
        this.#endpoints.set(address, endpoint)
        endpoint.open = true
        return Promise.resolve(port)
      },
      sendRaft: (message: RaftMessage) => {
        const target = lookup(message.to)
        if (target !== null)
          deliverLater(() => target.open && target.options.onRaftMessage(message))
      },
      request: (to, request: PeerRequest, timeoutMs: number) =>
        new Promise<PeerResponse>((resolve) => {
          const target = lookup(to)
          if (target === null) return resolve(busy)
          const timer = setTimeout(() => resolve(unknown), timeoutMs)
          deliverLater(() =>
            target.options.onRequest(options.selfId, request, (response) => {
              clearTimeout(timer)
              resolve(endpoint.open ? response : unknown)
            }),
          )
        }),
      stats: (): PeerStats[] => [],
      close: () => {
        endpoint.open = false
        this.#endpoints.delete(address)
        return Promise.resolve()
      },
    }
  }
}
