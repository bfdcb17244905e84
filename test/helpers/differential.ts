/* Test helper for the differential tests (src/commands/redis-differential, src/server/blocking- and
 * pubsub-differential): a throwaway redis-server on a free loopback port, a caskade server in
 * process, and the raw RESP framing both sides are read with. Invariant: each server this starts
 * is stopped by its stop(), and redis-server runs with no persistence (no files left behind). */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { defaultServerConfig } from '../../src/server/config.js'
import { startServer } from '../../src/server/server.js'

const startAttempts = 100
const startPollMs = 50

/** The differential tests skip without a redis-server to compare against. */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0

/** RESP2 multibulk encoding of one command. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Byte length of the RESP value starting at `offset`, or -1 if it is not complete yet. */
export function respValueEnd(buf: Buffer, offset: number): number {
  if (offset >= buf.length) return -1
  const lineEnd = buf.indexOf('\r\n', offset)
  if (lineEnd === -1) return -1
  const type = String.fromCharCode(buf[offset] as number)
  const header = Number(buf.toString('latin1', offset + 1, lineEnd))
  const afterLine = lineEnd + 2
  if ('+-:_,#('.includes(type)) return afterLine
  if ('$=!'.includes(type)) {
    if (header < 0) return afterLine
    return afterLine + header + 2 <= buf.length ? afterLine + header + 2 : -1
  }
  if (header < 0) return afterLine
  const children = type === '%' || type === '|' ? header * 2 : header
  let next = afterLine
  for (let i = 0; i < children && next !== -1; i++) next = respValueEnd(buf, next)
  return next
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

export interface TestServer {
  readonly port: number
  stop(): Promise<void>
}

/** A redis-server without persistence on a free port, once it accepts connections. */
export async function startRedisServer(): Promise<TestServer> {
  const port = await freePort()
  const args = ['--port', String(port), '--save', '', '--appendonly', 'no']
  const redis = spawn('redis-server', args, { stdio: 'ignore' })
  const stop = (): Promise<void> => {
    redis.kill()
    return Promise.resolve()
  }
  for (let attempt = 0; attempt < startAttempts; attempt++) {
    if (await accepts(port)) return { port, stop }
    await sleep(startPollMs)
  }
  await stop()
  throw new Error('redis-server did not start')
}

/** A caskade server in this process, default config, port 0, in a fresh temp dir. */
export async function startCaskadeInProcess(dirPrefix: string): Promise<TestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), dirPrefix))
  const server = await startServer({ ...defaultServerConfig(), port: 0, dir })
  return {
    port: server.port,
    stop: async () => {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface ServerPair {
  readonly redis: TestServer
  readonly caskade: TestServer
}

/** Both sides of a differential suite (call inside describe): started before its tests, stopped
 * after; read `redis` and `caskade` from the returned object inside the tests. */
export function serverPairAround(dirPrefix: string): ServerPair {
  const pair = {} as { redis: TestServer; caskade: TestServer }
  before(async () => {
    pair.caskade = await startCaskadeInProcess(dirPrefix)
    pair.redis = await startRedisServer()
  })
  after(async () => {
    await pair.redis.stop()
    await pair.caskade.stop()
  })
  return pair
}
