/* A 3-node etcd cluster on loopback for the cluster bench: free client and peer ports, one temp
 * data dir per member under the run dir, started together (static bootstrap) and ready when every
 * member's /health says true. Invariant: every process is tracked by procs.ts, so it dies with the
 * run even on Ctrl-C; `stopEtcdCluster` stops the members and removes their dirs. */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  freePort,
  makeTempDir,
  removeTempDir,
  shellQuote,
  spawnTracked,
  stopServerProcess,
  type Tracked,
} from './procs.js'
import { installedVersion } from './servers.js'

const healthPollIntervalMs = 100
const healthRequestTimeoutMs = 1_000

export interface EtcdMember {
  name: string
  clientUrl: string
  peerUrl: string
  dir: string
  logPath: string
  tracked: Tracked
}

export interface EtcdCluster {
  members: EtcdMember[]
  /** The launch command of the first member with ports and dirs as placeholders (report). */
  commandLine: string
  version: string
}

/** `etcd --version`'s first line, or null when the etcd binary is not installed. */
export function etcdVersion(): string | null {
  return installedVersion('etcd')
}

function memberArgs(
  member: { name: string; clientUrl: string; peerUrl: string; dir: string },
  initialCluster: string,
  token: string,
): string[] {
  return [
    ['--name', member.name, '--data-dir', member.dir],
    ['--listen-client-urls', member.clientUrl, '--advertise-client-urls', member.clientUrl],
    ['--listen-peer-urls', member.peerUrl, '--initial-advertise-peer-urls', member.peerUrl],
    ['--initial-cluster', initialCluster, '--initial-cluster-token', token],
    ['--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'warn'],
  ].flat()
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, {
      signal: AbortSignal.timeout(healthRequestTimeoutMs),
    })
    const body = (await response.json()) as { health?: unknown }
    return body.health === 'true' || body.health === true
  } catch {
    return false
  }
}

/** Starts `size` members and waits until each reports healthy (a leader is elected). */
export async function startEtcdCluster(options: {
  size: number
  runDir: string
  timeoutMs: number
}): Promise<EtcdCluster> {
  const version = etcdVersion()
  if (version === null) throw new Error('etcd is not installed (apt-get install -y etcd-server)')
  const planned = []
  for (let index = 1; index <= options.size; index += 1) {
    const name = `e${index}`
    const dir = makeTempDir(`etcd-${name}-`, options.runDir)
    const clientUrl = `http://127.0.0.1:${await freePort()}`
    const peerUrl = `http://127.0.0.1:${await freePort()}`
    planned.push({ name, clientUrl, peerUrl, dir, logPath: `${dir}.log` })
  }
  const initialCluster = planned.map((member) => `${member.name}=${member.peerUrl}`).join(',')
  const token = `caskade-bench-${process.pid}-${Date.now()}`
  const members = planned.map((member) => ({
    ...member,
    tracked: spawnTracked('etcd', memberArgs(member, initialCluster, token), {
      stdio: { logPath: member.logPath },
    }),
  }))
  const cluster: EtcdCluster = {
    members,
    commandLine: describeEtcdCommand(options.size),
    version,
  }
  await waitHealthy(cluster, options.timeoutMs)
  return cluster
}

async function waitHealthy(cluster: EtcdCluster, timeoutMs: number): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs
  for (const member of cluster.members) {
    while (!(await healthy(member.clientUrl))) {
      const { child } = member.tracked
      if (child.exitCode !== null || child.signalCode !== null) {
        await stopEtcdCluster(cluster)
        throw new Error(`etcd member ${member.name} exited (see ${member.logPath})`)
      }
      if (performance.now() > deadlineMs) {
        await stopEtcdCluster(cluster)
        throw new Error(`etcd member ${member.name} not healthy within ${timeoutMs} ms`)
      }
      await sleep(healthPollIntervalMs)
    }
  }
}

export function describeEtcdCommand(size: number): string {
  const urls = Array.from({ length: size }, (_unused, index) => `e${index + 1}=PEER_URL`)
  const placeholder = {
    name: 'e1',
    clientUrl: 'CLIENT_URL',
    peerUrl: 'PEER_URL',
    dir: join('DIR', 'e1'),
  }
  return ['etcd', ...memberArgs(placeholder, urls.join(','), 'TOKEN')].map(shellQuote).join(' ')
}

export async function stopEtcdCluster(cluster: EtcdCluster): Promise<void> {
  await Promise.all(cluster.members.map((member) => stopServerProcess(member.tracked)))
  for (const member of cluster.members) removeTempDir(member.dir)
}
