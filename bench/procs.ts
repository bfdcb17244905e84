/* Processes and temp dirs of one bench run: every child the harness starts and every temp dir it
 * makes is registered here and is killed/removed on normal exit, on an error and on Ctrl-C.
 * Why: a leaked redis-server on a shared 2-core machine skews every later measurement. */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RespConnection } from './resp.js'

const serverStopTimeoutMs = 60_000
const pingPollIntervalMs = 2
const logTailBytes = 2_000

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()
let signalHandlersInstalled = false

/** Kills every tracked child and removes every temp dir; synchronous so it can run at exit. */
export function cleanupAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/** Ctrl-C, SIGTERM and SIGHUP clean up and exit 130/143/129; plain exit cleans up too. */
export function installCleanupHandlers(onSignal: () => void): void {
  if (signalHandlersInstalled) return
  signalHandlersInstalled = true
  process.on('exit', cleanupAll)
  const signalExitCodes: ReadonlyArray<[NodeJS.Signals, number]> = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]
  for (const [signal, exitCode] of signalExitCodes) {
    process.on(signal, () => {
      onSignal()
      process.stderr.write(`\n[bench] ${signal}: stopping servers, removing temp dirs\n`)
      cleanupAll()
      process.exit(exitCode)
    })
  }
}

/** A fresh dir `<parent>/<prefix>XXXXXX`, removed at exit if the run does not remove it first. */
export function makeTempDir(prefix: string, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** A free loopback port: bind port 0, read the port, release it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('could not read the probe port'))
      })
    })
  })
}

/** A tracked child; `exited` settles when it exits (whoever killed it). */
export interface Tracked {
  child: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function spawnTracked(
  command: string,
  args: readonly string[],
  options: { stdio: 'pipe' | { logPath: string } },
): Tracked {
  let logFd: number | null = null
  let stdio: 'pipe' | ['ignore', number, number] = 'pipe'
  if (options.stdio !== 'pipe') {
    logFd = openSync(options.stdio.logPath, 'a')
    stdio = ['ignore', logFd, logFd]
  }
  const child = spawn(command, args, { stdio })
  if (logFd !== null) closeSync(logFd)
  children.add(child)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => {
      children.delete(child)
      resolve({ code: null, signal: null })
    })
    child.once('exit', (code, signal) => {
      children.delete(child)
      resolve({ code, signal })
    })
  })
  return { child, exited }
}

/** How to start one server under test; `args` must make it listen on `port` in `dir`. */
export interface ServerSpec {
  name: string
  command: string
  args: readonly string[]
  port: number
  dir: string
  logPath: string
  fsyncPolicy: string
}

export interface RunningServer {
  spec: ServerSpec
  tracked: Tracked
  pid: number
  /** Milliseconds from spawn to the first +PONG (a -LOADING reply does not count). */
  startupMs: number
}

export function serverCommandLine(spec: ServerSpec): string {
  return [spec.command, ...spec.args].map(shellQuote).join(' ')
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

function logTail(logPath: string): string {
  try {
    const text = readFileSync(logPath, 'utf8')
    return text.slice(-logTailBytes)
  } catch {
    return '(no log)'
  }
}

/** Spawns the server and waits for its first +PONG; fails with the log tail if it dies. */
export async function startServer(spec: ServerSpec, timeoutMs: number): Promise<RunningServer> {
  const { logPath } = spec
  const startedAtMs = performance.now()
  const tracked = spawnTracked(spec.command, spec.args, { stdio: { logPath } })
  let exitedEarly = false
  void tracked.exited.then(() => (exitedEarly = true))
  const deadlineMs = startedAtMs + timeoutMs
  while (!exitedEarly) {
    if (performance.now() > deadlineMs) {
      await stopServerProcess(tracked)
      throw new Error(
        `${spec.name} did not answer PING within ${timeoutMs} ms:\n${logTail(logPath)}`,
      )
    }
    if (await pingOnce(spec.port)) {
      const startupMs = performance.now() - startedAtMs
      const pid = tracked.child.pid
      if (pid === undefined) throw new Error(`${spec.name} has no pid`)
      return { spec, tracked, pid, startupMs }
    }
    await sleep(pingPollIntervalMs)
  }
  throw new Error(`${spec.name} exited before answering PING:\n${logTail(logPath)}`)
}

async function pingOnce(port: number): Promise<boolean> {
  let connection: RespConnection | null = null
  try {
    connection = await RespConnection.connect(port)
    const reply = await connection.command(['PING'])
    return reply.kind === 'simple' && reply.text === 'PONG'
  } catch {
    return false
  } finally {
    connection?.close()
  }
}

/** SIGTERM (both servers flush their log on it), then SIGKILL if it takes too long. */
export async function stopServerProcess(tracked: Tracked): Promise<void> {
  const { child } = tracked
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = new AbortController()
  const outcome = await Promise.race([
    tracked.exited,
    sleep(serverStopTimeoutMs, null, { signal: timer.signal }).catch(() => undefined),
  ])
  timer.abort()
  if (outcome === null) {
    child.kill('SIGKILL')
    await tracked.exited
  }
}

/** VmRSS of a live process in bytes, from /proc (Linux only; null elsewhere). */
export function residentBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
    return match?.[1] === undefined ? null : Number(match[1]) * 1024
  } catch {
    return null
  }
}
