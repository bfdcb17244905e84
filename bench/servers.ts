/* The two sides of the comparison: how to launch caskade and redis-server (AOF, appendfsync
 * everysec, to match caskade's default --fsync everysec) on a free port in a fresh temp dir.
 * Invariant: both sides run with the same fsync policy, and the report prints it. */
import { spawnSync } from 'node:child_process'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  freePort,
  makeTempDir,
  removeTempDir,
  shellQuote,
  startServer,
  stopServerProcess,
  type RunningServer,
  type ServerSpec,
} from './procs.js'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const caskadeMain = join(repoRoot, 'dist', 'src', 'cli', 'main.js')
export const fsyncPolicy = 'everysec'
const serverStartTimeoutMs = 180_000

/** How to launch one side; `args` takes strings so the report can print placeholders. */
export interface ServerKind {
  label: string
  fsyncDescription: string
  command: string
  displayCommand: string
  args(port: string, dir: string): string[]
}

export function redisKind(label: string): ServerKind {
  return {
    label,
    fsyncDescription: `appendonly yes, appendfsync ${fsyncPolicy}`,
    command: 'redis-server',
    displayCommand: 'redis-server',
    args: (port, dir) =>
      ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'].concat([
        '--appendfsync',
        fsyncPolicy,
        '--dir',
        dir,
      ]),
  }
}

export function caskadeKind(): ServerKind {
  return {
    label: 'caskade',
    fsyncDescription: `--fsync ${fsyncPolicy}`,
    command: process.execPath,
    displayCommand: `node ${relative(repoRoot, caskadeMain)}`,
    args: (port, dir) =>
      [caskadeMain, 'server', '--port', port, '--bind', '127.0.0.1', '--dir', dir].concat([
        '--fsync',
        fsyncPolicy,
      ]),
  }
}

/** The launch command with PORT and DIR placeholders, as the report prints it. */
export function describeKind(kind: ServerKind): string {
  const args = kind.args('PORT', 'DIR').filter((arg) => arg !== caskadeMain)
  return [kind.displayCommand, ...args.map(shellQuote)].join(' ')
}

/** First line of `binary --version`, or null when it is not installed. */
export function installedVersion(binary: string): string | null {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  if (result.error !== undefined || result.status !== 0) return null
  return result.stdout.trim().split('\n')[0] ?? binary
}

/** Starts a server of `kind` on a free port in a fresh dir under `runDir`. */
export async function launch(kind: ServerKind, runDir: string): Promise<RunningServer> {
  const port = await freePort()
  const dir = makeTempDir(`${kind.label.replace(/\W+/g, '-')}-`, runDir)
  const spec: ServerSpec = {
    name: kind.label,
    command: kind.command,
    args: kind.args(String(port), dir),
    port,
    dir,
    logPath: `${dir}.log`,
    fsyncPolicy,
  }
  return startServer(spec, serverStartTimeoutMs)
}

/** The same server again on its port and data dir; `startupMs` is the restart time. */
export async function relaunch(server: RunningServer): Promise<RunningServer> {
  return startServer(server.spec, serverStartTimeoutMs)
}

export function isAlive(server: RunningServer): boolean {
  const { child } = server.tracked
  return child.exitCode === null && child.signalCode === null
}

export async function stop(server: RunningServer): Promise<void> {
  await stopServerProcess(server.tracked)
}

export async function shutdown(server: RunningServer): Promise<void> {
  await stopServerProcess(server.tracked)
  removeTempDir(server.spec.dir)
}
