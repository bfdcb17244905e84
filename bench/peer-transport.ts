/* `node dist/bench/peer-transport.js`: the peer transport alone on loopback. Raft append messages
 * (one 100-byte entry each) streamed one way, and forward-write RPCs with 50 in flight answered
 * at once by the other side: messages/s, MB/s, requests/s and round-trip p50/p99. */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createRng } from '../src/core/rng.js'
import { systemClock } from '../src/io/clock.js'
import { createPeerTransport } from '../src/io/peer-transport.js'
import { nodeTimers } from '../src/io/timers.js'
import type { RaftMessage } from '../src/raft/types.js'
import type { PeerTransport, PeerTransportOptions } from '../src/replica/peer-types.js'

const messages = 200_000
const burst = 500
const requests = 50_000
const inFlight = 50

async function pair(
  onRaft: PeerTransportOptions['onRaftMessage'],
): Promise<[PeerTransport, PeerTransport]> {
  const ports = new Map<number, number>()
  const make = (selfId: number): PeerTransport =>
    createPeerTransport({
      selfId,
      host: '127.0.0.1',
      port: 0,
      resolve: (id) => ({ host: '127.0.0.1', port: ports.get(id) ?? 0 }),
      onRaftMessage: onRaft,
      onRequest: (_from, request, respond) => {
        const reply = request.type === 'forward-write' ? request.entry : new Uint8Array()
        respond({ type: 'result', result: { ok: true, reply } })
      },
      timers: nodeTimers,
      clock: systemClock,
      rng: createRng(selfId),
    })
  const a = make(1)
  const b = make(2)
  ports.set(1, await a.listen())
  ports.set(2, await b.listen())
  return [a, b]
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

function append(index: number, data: Uint8Array): RaftMessage {
  const entries = [{ term: 1, index: index + 1, kind: 'command' as const, data }]
  return {
    type: 'append',
    groupId: 1,
    from: 1,
    to: 2,
    term: 1,
    prevLogIndex: index,
    prevLogTerm: 1,
    commit: index,
    entries,
  }
}

async function raftStream(): Promise<void> {
  let received = 0
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  const [a, b] = await pair(() => {
    received += 1
    if (received === messages) done()
  })
  const data = new Uint8Array(100)
  const cpu = process.cpuUsage()
  const started = performance.now()
  for (let sent = 0; sent < messages; sent += burst) {
    for (let i = sent; i < sent + burst; i++) a.sendRaft(append(i, data))
    await nextTurn()
  }
  await finished
  const seconds = (performance.now() - started) / 1000
  const cpuUs = cpuMicros(cpu)
  const frameBytes = 5 + 1 + 32 + 24 + 4 + 21 + 100
  const dropped = a.stats().reduce((sum, s) => sum + s.droppedMessages, 0)
  console.log(
    `raft appends: ${messages} in ${seconds.toFixed(2)} s = ${Math.round(messages / seconds)} msg/s, ` +
      `${((messages * frameBytes) / seconds / 1e6).toFixed(1)} MB/s, ` +
      `${(cpuUs / messages).toFixed(2)} CPU µs/msg (both ends), dropped ${dropped}`,
  )
  await Promise.all([a.close(), b.close()])
}

async function rpcs(): Promise<void> {
  const [a, b] = await pair(() => undefined)
  const entry = new Uint8Array(100)
  const latenciesMs: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next += 1
      const started = performance.now()
      const response = await a.request(
        2,
        { type: 'forward-write', clientId: 1, sequence: next, ackedThrough: next - 1, entry },
        5000,
      )
      if (response.type !== 'result' || !response.result.ok) throw new Error('request failed')
      latenciesMs.push(performance.now() - started)
    }
  }
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  const seconds = (performance.now() - started) / 1000
  const cpuUs = cpuMicros(cpu)
  latenciesMs.sort((x, y) => x - y)
  const at = (q: number): string =>
    (latenciesMs[Math.floor(q * (latenciesMs.length - 1))] ?? 0).toFixed(3)
  console.log(
    `forward-write RPCs (${inFlight} in flight): ${Math.round(requests / seconds)} req/s, ` +
      `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ` +
      `${(cpuUs / requests).toFixed(2)} CPU µs/request (both ends)`,
  )
  await Promise.all([a.close(), b.close()])
}

await raftStream()
await rpcs()
