/* The history clients against single-node servers (a single node must be linearizable too):
 * plain, through a fault proxy that black-holes the link now and then (timeouts -> unknown
 * writes), across a SIGKILL and restart with --fsync always; and the control: two unreplicated
 * servers behind one client pool are caught as not linearizable. Seeds: SEED=n repeats a run. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRng } from '../../src/core/rng.js'
import { checkHistory } from '../../src/check/index.js'
import { startServerProcess, removeDir } from '../helpers/server-process.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { HistoryLog, startHistoryClients } from '../helpers/history-clients.js'
import { assertLinearizable, readEverywhere } from '../helpers/history-check.js'

const keys = ['k0', 'k1', 'k2', 'k3']

function seedFor(name: string): number {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
  console.log(`${name}: seed=${seed} (rerun with SEED=${seed})`)
  return seed
}

/** A fake node: SET -> UNCERTAIN, APPEND -> TRYAGAIN, DEL -> 0, GET -> nil, anything else +OK. */
async function startFakeNode(): Promise<{ port: number; close: () => Promise<void> }> {
  const replies: Record<string, string> = {
    SET: '-UNCERTAIN the write may or may not have been applied\r\n',
    APPEND: '-TRYAGAIN no leader, try again\r\n',
    DEL: ':0\r\n',
    GET: '$-1\r\n',
  }
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let pending = ''
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1')
      // Each command is one RESP array of bulk strings: *N, then $len + arg per element.
      for (;;) {
        const lines = pending.split('\r\n')
        const count = Number(lines[0]?.slice(1))
        if (!(count > 0) || lines.length < 1 + 2 * count + 1) return
        const name = lines[2]!.toUpperCase()
        pending = lines.slice(1 + 2 * count).join('\r\n')
        socket.write(replies[name] ?? '+OK\r\n')
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('history clients: how error replies map to the history', () => {
  test('UNCERTAIN is an unknown write under a fresh client id; TRYAGAIN is left out', async () => {
    const node = await startFakeNode()
    try {
      const log = new HistoryLog()
      const clients = startHistoryClients({
        ports: () => [node.port],
        clients: 2,
        keys,
        rng: createRng(7),
        log,
        cas: false,
      })
      // A bounded history: every SET is an unknown write, and the checker's search grows
      // exponentially with unknown writes that a nil read must place after itself or never.
      const deadline = Date.now() + 300
      while (Date.now() < deadline && log.operations.length < 24) await sleep(5)
      await clients.stop()
      const puts = log.operations.filter((op) => op.op === 'put')
      assert.ok(
        puts.length > 0 && puts.every((op) => op.unknown === true && op.note === 'UNCERTAIN'),
      )
      assert.equal(log.operations.filter((op) => op.op === 'append').length, 0)
      assert.equal(clients.counts.fail, clients.counts.errors.TRYAGAIN)
      assert.ok(clients.counts.fail > 0)
      const ids = puts.map((op) => op.client)
      assert.equal(new Set(ids).size, ids.length, 'each unknown write ends its client id')
      const result = checkHistory(log.history(), {
        timeLimitMs: 10_000,
        now: () => performance.now(),
      })
      assert.equal(result.verdict, 'linearizable')
    } finally {
      await node.close()
    }
  })
})

describe('history clients on a single node', () => {
  test('concurrent GET/SET/APPEND/CAS/DEL on one server are linearizable', async () => {
    const seed = seedFor('single')
    const server = await startServerProcess()
    try {
      const log = new HistoryLog()
      const clients = startHistoryClients({
        ports: () => [server.port],
        clients: 6,
        keys,
        rng: createRng(seed),
        log,
      })
      await sleep(1500)
      await clients.stop()
      await readEverywhere({ ports: [server.port], keys, log, readonly: false })
      const report = assertLinearizable(log.history(), 'single-node', `seed=${seed}`)
      assert.equal(clients.counts.info, 0, JSON.stringify(clients.counts))
      assert.ok(clients.counts.ok > 100, `${clients.counts.ok} operations completed`)
      const swaps = log.operations.filter((op) => op.op === 'cas' && op.out === true).length
      assert.ok(swaps > 0, 'some compare-and-sets swapped')
      assert.equal(report.unknown, 0)
    } finally {
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('a link that black-holes now and then gives unknown writes, still linearizable', async () => {
    const seed = seedFor('single-proxy')
    const server = await startServerProcess()
    const proxy = await startFaultProxy({ targetPort: server.port })
    try {
      const log = new HistoryLog()
      const clients = startHistoryClients({
        ports: () => [proxy.port],
        clients: 6,
        keys,
        rng: createRng(seed),
        log,
        commandTimeoutMs: 200,
      })
      for (let round = 0; round < 4; round++) {
        await sleep(300)
        proxy.drop()
        await sleep(300)
        proxy.pass()
      }
      await sleep(300)
      await clients.stop()
      await readEverywhere({ ports: [server.port], keys, log, readonly: false })
      const report = assertLinearizable(log.history(), 'single-node-proxy', `seed=${seed}`)
      assert.ok(report.unknown > 0, 'the drops made some outcomes unknown')
      assert.ok(clients.counts.ok > 100, JSON.stringify(clients.counts))
    } finally {
      await proxy.close()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('SIGKILL and restart with --fsync always keep the history linearizable', async () => {
    const seed = seedFor('single-kill')
    let server = await startServerProcess({ fsync: 'always' })
    let port = server.port
    const log = new HistoryLog()
    const clients = startHistoryClients({
      ports: () => [port],
      clients: 6,
      keys,
      rng: createRng(seed),
      log,
    })
    try {
      await sleep(700)
      await server.crash()
      await sleep(200)
      server = await startServerProcess({ dir: server.dir, fsync: 'always' })
      port = server.port
      await sleep(700)
      await clients.stop()
      await readEverywhere({ ports: [server.port], keys, log, readonly: false })
      assertLinearizable(log.history(), 'single-node-kill', `seed=${seed}`)
      assert.ok(clients.counts.ok > 50, JSON.stringify(clients.counts))
    } finally {
      await clients.stop()
      await server.stop()
      removeDir(server.dir)
    }
  })

  test('control: two unreplicated servers behind one pool are not linearizable', async () => {
    const seed = seedFor('control')
    const servers = [await startServerProcess(), await startServerProcess()]
    try {
      const log = new HistoryLog()
      const clients = startHistoryClients({
        ports: () => servers.map((server) => server.port),
        clients: 4,
        keys,
        rng: createRng(seed),
        log,
      })
      await sleep(800)
      await clients.stop()
      const result = checkHistory(log.history(), {
        timeLimitMs: 30_000,
        now: () => performance.now(),
      })
      assert.equal(result.verdict, 'not-linearizable', `seed=${seed}`)
    } finally {
      for (const server of servers) {
        await server.stop()
        removeDir(server.dir)
      }
    }
  })
})
