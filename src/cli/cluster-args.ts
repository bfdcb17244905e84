/* Argument validation for `caskade cluster ...`: node names, h:port:clusterPort addresses, and the
 * port/dir plan of a local cluster. Invariant: a plan only holds ports in 1..65535, no port twice.
 * Why: every mistake is reported as one clear line (exit 2) before a process is spawned. */
import path from 'node:path'
import { validNodeName } from '../replica/node-id.js'

/** A usage mistake: main prints the message (no stack) and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A local cluster's cluster (peer) port is its client port plus this. */
export const clusterPortOffset = 10_000
export const localNodesMax = 15
const portMax = 65_535

/** The name a node is known by (`--node-id`), as the server accepts it. */
export function parseNodeName(text: string, flag: string): string {
  if (!validNodeName(text)) {
    throw new UsageError(`invalid ${flag} '${text}' (expected 1 to 64 of A-Z a-z 0-9 _ -)`)
  }
  return text
}

export function parseIntegerArg(text: string, flag: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`invalid ${flag} '${text}' (expected an integer from ${min} to ${max})`)
  }
  return value
}

export function parsePortArg(text: string, flag: string): number {
  return parseIntegerArg(text, flag, 1, portMax)
}

export interface NodeAddressArg {
  host: string
  port: number
  clusterPort: number
}

/** `host:port:clusterPort`; the host may be a name, an IPv4 or a bracketed IPv6 address. */
export function parseNodeAddressArg(text: string, flag: string): NodeAddressArg {
  const expected = `invalid ${flag} '${text}' (expected host:port:clusterPort, e.g. 10.0.0.4:6379:16379)`
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):(\d+):(\d+)$/.exec(text)
  if (match === null) throw new UsageError(expected)
  const [, host = '', portText = '', clusterPortText = ''] = match
  const port = Number(portText)
  const clusterPort = Number(clusterPortText)
  for (const value of [port, clusterPort]) {
    if (!Number.isSafeInteger(value) || value < 1 || value > portMax) {
      throw new UsageError(`${expected}: ports are 1 to ${portMax}`)
    }
  }
  return { host, port, clusterPort }
}

export interface LocalNodePlan {
  name: string
  /** Client (Redis protocol) port. */
  port: number
  /** Peer (Raft) port. */
  clusterPort: number
  dir: string
}

export interface LocalClusterOptions {
  nodes: number
  basePort: number
  dir: string
}

/** n1..nN: client ports base+i, cluster ports base+10000+i, data in DIR/n1..DIR/nN. */
export function planLocalCluster(options: LocalClusterOptions): LocalNodePlan[] {
  const { nodes, basePort, dir } = options
  if (!Number.isSafeInteger(nodes) || nodes < 1 || nodes > localNodesMax) {
    throw new UsageError(`invalid --nodes '${nodes}' (expected 1 to ${localNodesMax})`)
  }
  const basePortMax = portMax - clusterPortOffset - (nodes - 1)
  if (!Number.isSafeInteger(basePort) || basePort < 1 || basePort > basePortMax) {
    throw new UsageError(
      `invalid --base-port '${basePort}' (with ${nodes} nodes: 1 to ${basePortMax}, ` +
        `so that the cluster ports base+${clusterPortOffset}+i stay below ${portMax + 1})`,
    )
  }
  return Array.from({ length: nodes }, (_unused, index) => ({
    name: `n${index + 1}`,
    port: basePort + index,
    clusterPort: basePort + clusterPortOffset + index,
    dir: path.join(dir, `n${index + 1}`),
  }))
}
