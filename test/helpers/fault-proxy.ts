/* A fault-injecting TCP proxy (127.0.0.1:port -> target) for the cluster fault tests: one per
 * directed node pair. Each direction (forward: dialer -> target, backward: target -> dialer)
 * passes, delays or discards bytes, switchable at run time. Invariant: a connection never forwards
 * a byte after it discarded one in that direction (it is destroyed when forwarding resumes), so a
 * framed peer stream is either whole or cut, never spliced; and delayed bytes keep their order. */
import net from 'node:net'

/** What one direction does with the bytes it reads. */
export type DirectionMode =
  | { kind: 'pass' }
  | { kind: 'delay'; delayMs: number }
  /** Read and throw away (a black hole: the sender's TCP sees nothing wrong). */
  | { kind: 'drop' }

export interface ProxyMode {
  forward: DirectionMode
  backward: DirectionMode
  /** Destroy every connection and every new one at once (a refused/reset link). */
  reset: boolean
}

export const passMode: ProxyMode = {
  forward: { kind: 'pass' },
  backward: { kind: 'pass' },
  reset: false,
}

export interface ProxyStats {
  /** Connections accepted so far. */
  accepted: number
  /** Connections currently open. */
  open: number
  forwardedBytes: { forward: number; backward: number }
  discardedBytes: { forward: number; backward: number }
}

export interface FaultProxy {
  readonly port: number
  readonly mode: ProxyMode
  setMode(mode: ProxyMode): void
  pass(): void
  /** Both directions discard (a partition). */
  drop(): void
  /** Both directions delay every chunk by `delayMs`. */
  delay(delayMs: number): void
  /** Bytes of one direction are discarded while the other flows. */
  block(direction: 'forward' | 'backward'): void
  /** Close every connection and refuse new ones until the mode changes. */
  reset(): void
  stats(): ProxyStats
  close(): Promise<void>
}

type Direction = 'forward' | 'backward'

interface Pipe {
  readonly direction: Direction
  readonly to: net.Socket
  /** Chunks waiting for their time, in arrival order. */
  readonly queue: { dueMs: number; chunk: Buffer }[]
  timer: NodeJS.Timeout | null
  /** A byte was discarded: forwarding must never resume on this connection. */
  tainted: boolean
}

interface Link {
  readonly client: net.Socket
  readonly upstream: net.Socket
  readonly pipes: Record<Direction, Pipe>
}

export interface FaultProxyOptions {
  targetHost?: string
  targetPort: number
  /** Listen port; 0 (default) picks a free one. */
  port?: number
}

function newPipe(direction: Direction, to: net.Socket): Pipe {
  return { direction, to, queue: [], timer: null, tainted: false }
}

function pump(pipe: Pipe): void {
  pipe.timer = null
  const nowMs = performance.now()
  while (pipe.queue.length > 0 && pipe.queue[0]!.dueMs <= nowMs) {
    const head = pipe.queue.shift()!
    if (!pipe.to.destroyed) pipe.to.write(head.chunk)
  }
  const next = pipe.queue[0]
  if (next !== undefined) {
    pipe.timer = setTimeout(() => pump(pipe), Math.max(0, next.dueMs - nowMs))
  }
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1'
  let mode: ProxyMode = passMode
  const links = new Set<Link>()
  const stats = {
    accepted: 0,
    forwardedBytes: { forward: 0, backward: 0 },
    discardedBytes: { forward: 0, backward: 0 },
  }

  const destroyLink = (link: Link): void => {
    for (const pipe of Object.values(link.pipes)) {
      if (pipe.timer !== null) clearTimeout(pipe.timer)
      pipe.queue.length = 0
    }
    link.client.destroy()
    link.upstream.destroy()
    links.delete(link)
  }

  const onChunk = (link: Link, pipe: Pipe, chunk: Buffer): void => {
    const directionMode = mode[pipe.direction]
    if (directionMode.kind === 'drop') {
      pipe.tainted = true
      stats.discardedBytes[pipe.direction] += chunk.length
      return
    }
    if (pipe.tainted) {
      destroyLink(link)
      return
    }
    stats.forwardedBytes[pipe.direction] += chunk.length
    const delayMs = directionMode.kind === 'delay' ? directionMode.delayMs : 0
    if (delayMs === 0 && pipe.queue.length === 0) {
      pipe.to.write(chunk)
      return
    }
    const last = pipe.queue[pipe.queue.length - 1]
    const dueMs = Math.max(performance.now() + delayMs, last?.dueMs ?? 0)
    pipe.queue.push({ dueMs, chunk })
    if (pipe.timer === null) pump(pipe)
  }

  const server = net.createServer((client) => {
    stats.accepted++
    if (mode.reset) {
      client.destroy()
      return
    }
    const upstream = net.connect({ host: targetHost, port: options.targetPort })
    const link: Link = {
      client,
      upstream,
      pipes: { forward: newPipe('forward', upstream), backward: newPipe('backward', client) },
    }
    links.add(link)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.on('data', (chunk: Buffer) => onChunk(link, link.pipes.forward, chunk))
    upstream.on('data', (chunk: Buffer) => onChunk(link, link.pipes.backward, chunk))
    for (const socket of [client, upstream]) {
      socket.on('error', () => destroyLink(link))
      socket.on('close', () => destroyLink(link))
    }
  })

  const setMode = (next: ProxyMode): void => {
    mode = next
    for (const link of [...links]) {
      const resumes = (direction: Direction): boolean =>
        link.pipes[direction].tainted && next[direction].kind !== 'drop'
      // A direction that discarded bytes and would forward again: cut the stream instead.
      if (next.reset || resumes('forward') || resumes('backward')) destroyLink(link)
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP port')
  const drop: DirectionMode = { kind: 'drop' }
  const pass: DirectionMode = { kind: 'pass' }

  return {
    port: address.port,
    get mode() {
      return mode
    },
    setMode,
    pass: () => setMode(passMode),
    drop: () => setMode({ forward: drop, backward: drop, reset: false }),
    delay: (delayMs) => {
      const delayed: DirectionMode = { kind: 'delay', delayMs }
      setMode({ forward: delayed, backward: delayed, reset: false })
    },
    block: (direction) =>
      setMode({
        forward: direction === 'forward' ? drop : pass,
        backward: direction === 'backward' ? drop : pass,
        reset: false,
      }),
    reset: () => setMode({ ...passMode, reset: true }),
    stats: () => ({
      accepted: stats.accepted,
      open: links.size,
      forwardedBytes: { ...stats.forwardedBytes },
      discardedBytes: { ...stats.discardedBytes },
    }),
    close: async () => {
      for (const link of [...links]) destroyLink(link)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
