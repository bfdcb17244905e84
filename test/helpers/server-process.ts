/* Test helper: runs the real `caskade` bin as a child process on 127.0.0.1 (port 0, the bound port
 * read back from the "Ready to accept connections" log line) with a temp data dir, and stops it.
 * Every child is killed when the test process exits, so a failing test never leaks a server. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** dist/test/helpers/server-process.js -> dist/src/cli/main.js */
export const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

const readyMessage = 'Ready to accept connections'
/** Bounds a server that never starts, not a slow one: with a load average over 20 on 2 cores a
 * start was measured taking more than 15 s (node's startup, then recovery). */
const startTimeoutMs = 60_000
/** A SIGTERMed server that has not exited by then is SIGKILLed and the stop fails. */
const stopTimeoutMs = 15_000
const living = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL')
})

export function makeTempDir(prefix = 'caskade-e2e-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export interface ServerProcess {
  readonly port: number
  readonly dir: string
  readonly child: ChildProcess
  /** stdout lines so far (JSON log lines). */
  readonly lines: string[]
  readonly stderr: () => string
  /** Resolves with the exit code (null if killed by a signal) when the process ends. */
  readonly exited: Promise<number | null>
  /** SIGTERM and wait for the exit; rejects (after a SIGKILL) if it takes over 15 s. */
  stop(): Promise<number | null>
  /** SIGKILL (a crash) and wait for the exit. */
  crash(): Promise<void>
}

export interface StartOptions {
  dir?: string
  /** Extra CLI flags after `server`. */
  args?: string[]
  env?: Record<string, string>
  fsync?: 'always' | 'everysec' | 'no'
}

export async function startServerProcess(options: StartOptions = {}): Promise<ServerProcess> {
  const dir = options.dir ?? makeTempDir()
  const args = [cliPath, 'server', '--port', '0', '--bind', '127.0.0.1', '--dir', dir]
  if (options.fsync !== undefined) args.push('--fsync', options.fsync)
  args.push(...(options.args ?? []))
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  living.add(child)
  const lines: string[] = []
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      living.delete(child)
      resolve(code)
    })
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const port = await new Promise<number>((resolve, reject) => {
    let partial = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server not ready in ${startTimeoutMs} ms: ${stderr}\n${lines.join('\n')}`))
    }, startTimeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8')
      const parts = partial.split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        const parsed = parseLogLine(line)
        if (parsed?.msg === readyMessage && typeof parsed.port === 'number') {
          clearTimeout(timer)
          resolve(parsed.port)
        }
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before ready: ${stderr}\n${lines.join('\n')}`))
    })
  })
  return {
    port,
    dir,
    child,
    lines,
    stderr: () => stderr,
    exited,
    async stop(): Promise<number | null> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`server did not exit ${stopTimeoutMs} ms after SIGTERM: ${stderr}`))
        }, stopTimeoutMs)
      })
      try {
        return await Promise.race([exited, late])
      } finally {
        clearTimeout(timer)
      }
    },
    async crash(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

export function parseLogLine(line: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(line)
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `caskade ...args` to completion (for inspect, --version, config errors). */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    living.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`caskade ${args.join(' ')} timed out: ${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 15_000)
    child.once('exit', (code) => {
      living.delete(child)
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Sends raw bytes on a fresh socket and collects what comes back until the server closes the
 * connection or `idleMs` passes without data. `closed` tells which happened.
 */
export function rawExchange(
  port: number,
  payload: Buffer | string,
  idleMs = 300,
): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ data: Buffer.concat(chunks), closed })
    }
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => finish(false), idleMs)
    }
    socket.on('connect', () => {
      socket.write(payload)
      arm()
    })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      arm()
    })
    socket.on('end', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') finish(true)
      else reject(error)
    })
  })
}
