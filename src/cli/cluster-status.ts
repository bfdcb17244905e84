/* `caskade cluster status`: RAFT NODES on one node, then INFO raft on every member in parallel,
 * printed as a table (cluster-table.ts). Invariant: every network call is bounded by the timeout,
 * so a dead node shows as `unreachable` instead of hanging the command. Exit 0 iff a leader is
 * known. Why: this is the first thing an operator runs when something looks wrong. */
import {
  parseInfoText,
  respCommandOnce,
  type RespEndpoint,
  type RespReply,
} from '../io/resp-client.js'
import { formatHostPort, parseHostPort } from '../server/cluster-config.js'
import {
  buildClusterStatus,
  formatClusterStatus,
  parseRaftInfo,
  parseRaftNodes,
  type ClusterStatus,
  type RaftInfo,
} from './cluster-table.js'

/** A failure to report on stderr as one line (exit 1). */
export class ClusterCliError extends Error {
  override name = 'ClusterCliError'
}

export function describeEndpoint(endpoint: RespEndpoint): string {
  return formatHostPort(endpoint)
}

/** "host:port" (RAFT NODES, leader_addr) -> endpoint; null when it is not one. */
function endpointOfAddress(text: string): RespEndpoint | null {
  try {
    return parseHostPort(text)
  } catch {
    return null
  }
}

/** Runs one command on `endpoint`; unreachable or a dead connection -> ClusterCliError. */
export async function clusterCommand(
  endpoint: RespEndpoint,
  args: readonly string[],
  timeoutMs: number,
): Promise<RespReply> {
  try {
    return await respCommandOnce(endpoint, args, timeoutMs)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new ClusterCliError(`cannot reach ${describeEndpoint(endpoint)}: ${reason}`)
  }
}

/** INFO raft of one node; null when it does not answer (or answers without a raft section). */
export async function fetchRaftInfo(
  endpoint: RespEndpoint,
  timeoutMs: number,
): Promise<RaftInfo | null> {
  let reply: RespReply
  try {
    reply = await respCommandOnce(endpoint, ['INFO', 'raft'], timeoutMs)
  } catch {
    return null
  }
  if (reply.kind !== 'bulk' || reply.value === null) return null
  return parseRaftInfo(parseInfoText(reply.value.toString('utf8')))
}

export async function fetchClusterStatus(
  endpoint: RespEndpoint,
  timeoutMs: number,
): Promise<ClusterStatus> {
  const reply = await clusterCommand(endpoint, ['RAFT', 'NODES'], timeoutMs)
  let entries
  try {
    entries = parseRaftNodes(reply)
  } catch (error) {
    throw new ClusterCliError(
      `${describeEndpoint(endpoint)} is not a caskade cluster node ` +
        `(RAFT NODES: ${(error as Error).message})`,
    )
  }
  const infos = await Promise.all(
    entries.map(async (entry) => {
      const nodeEndpoint = endpointOfAddress(entry.address)
      return nodeEndpoint === null ? null : fetchRaftInfo(nodeEndpoint, timeoutMs)
    }),
  )
  return buildClusterStatus(
    entries,
    new Map(entries.map((entry, index) => [entry.name, infos[index] ?? null])),
  )
}

export interface StatusOptions {
  endpoint: RespEndpoint
  json: boolean
  timeoutMs: number
}

/** Prints the status; returns the exit code (0 leader known, 1 no leader). */
export async function runClusterStatus(options: StatusOptions): Promise<number> {
  const status = await fetchClusterStatus(options.endpoint, options.timeoutMs)
  if (options.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
  } else {
    process.stdout.write(formatClusterStatus(status))
  }
  return status.leader === null ? 1 : 0
}
