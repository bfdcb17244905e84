/* A cluster node's identity in its data directory (DIR/cluster/identity.json: name, Raft id,
 * ports, host), written atomically at first start. Invariant: once written, a node's name and id
 * never change (its Raft log and every peer's membership refer to that id), so a restart with
 * another --node-id is refused instead of silently becoming a different node. */
import type { Disk } from '../core/ports.js'
import { nodeIdOf } from '../replica/node-id.js'
import type { NodeId } from '../raft/types.js'
import type { ClusterSettings } from './cluster-config.js'

export interface NodeIdentity {
  readonly name: string
  readonly id: NodeId
  readonly clusterPort: number
  readonly port: number
  readonly host: string
}

/** The cluster-mode layout of a data directory (design note section 1). */
export interface ClusterPaths {
  readonly root: string
  readonly identity: string
  readonly raft: string
  readonly state: string
  /** File snapshots of the replicated keyspace (frozen engine files). */
  readonly snapshots: string
}

export function clusterPathsOf(dir: string): ClusterPaths {
  const root = `${dir}/cluster`
  return {
    root,
    identity: `${root}/identity.json`,
    raft: `${root}/raft`,
    state: `${root}/state`,
    snapshots: `${root}/snapshots`,
  }
}

/** A start-up refusal: the CLI prints it and exits (no stack trace). */
export class ClusterStartError extends Error {
  override name = 'ClusterStartError'
}

export function readIdentity(disk: Disk, paths: ClusterPaths): NodeIdentity | null {
  if (!disk.exists(paths.identity)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(disk.readFileSync(paths.identity).toString('utf8'))
  } catch (error) {
    throw new ClusterStartError(`${paths.identity} is not valid JSON: ${(error as Error).message}`)
  }
  const record = parsed as Partial<Record<keyof NodeIdentity, unknown>>
  const { name, id, clusterPort, port, host } = record
  if (
    typeof name !== 'string' ||
    typeof id !== 'number' ||
    typeof clusterPort !== 'number' ||
    typeof port !== 'number' ||
    typeof host !== 'string' ||
    nodeIdOf(name) !== id
  ) {
    throw new ClusterStartError(`${paths.identity} does not hold a valid node identity`)
  }
  return { name, id, clusterPort, port, host }
}

/**
 * The identity to run with: the stored one (flags may change ports and host, never the name),
 * or a new one from the flags. `fresh` is true when nothing was stored yet.
 */
export function resolveIdentity(
  stored: NodeIdentity | null,
  settings: ClusterSettings,
  clientPort: number,
): { identity: NodeIdentity; fresh: boolean } {
  if (stored !== null) {
    if (settings.nodeId !== null && settings.nodeId !== stored.name) {
      throw new ClusterStartError(
        `this data directory belongs to node '${stored.name}', not '${settings.nodeId}'`,
      )
    }
    const identity: NodeIdentity = {
      ...stored,
      clusterPort: settings.clusterPort ?? stored.clusterPort,
      port: clientPort,
      host: settings.clusterHost,
    }
    return { identity, fresh: false }
  }
  if (settings.nodeId === null || settings.clusterPort === null) {
    throw new ClusterStartError('a new cluster node needs --node-id and --cluster-port')
  }
  const name = settings.nodeId
  const identity: NodeIdentity = {
    name,
    id: nodeIdOf(name),
    clusterPort: settings.clusterPort,
    port: clientPort,
    host: settings.clusterHost,
  }
  return { identity, fresh: true }
}

export async function writeIdentity(
  disk: Disk,
  paths: ClusterPaths,
  identity: NodeIdentity,
): Promise<void> {
  disk.mkdirp(paths.root)
  const text = `${JSON.stringify(identity, null, 2)}\n`
  await disk.writeFileAtomic(paths.identity, Buffer.from(text, 'utf8'))
}
