/* `caskade server` in cluster mode: the client listener and connections of the single-node server
 * (per-node commands run on a node-local, empty in-memory keyspace that nothing writes to), with
 * a CommandRouter sending keyspace commands through the cluster node. Invariant: no client
 * command runs before the router is attached (earlier connections are refused), so no write can
 * land in the node-local keyspace instead of the Raft log. */
import { BlockingRegistry } from '../commands/blocking.js'
import { PubSubHub } from '../commands/pubsub-hub.js'
import type { InfoField } from '../commands/types.js'
import type { Clock, Disk, Rng, Timers } from '../core/ports.js'
import { createKeyspace } from '../keyspace/keyspace.js'
import { createMemoryEngine } from '../keyspace/memory-engine.js'
import type { Logger } from '../obs/logger.js'
import type { CreateKeyspaceStateMachine } from './cluster-node.js'
import type { PeerTransport, PeerTransportOptions } from '../replica/peer-types.js'
import { startClusterNode, type ClusterNode } from './cluster-node.js'
import { createClusterRouter } from './cluster-router.js'
import { ClusterBlocking } from './cluster-blocking.js'
import { raftInfoFields, replicationInfoFields } from './cluster-status.js'
import type { ServerConfig } from './config.js'
import { CaskadeServer, type RunningServer } from './server.js'
import { caskadeVersion } from './version.js'

export interface ClusterDeps {
  readonly createStateMachine: CreateKeyspaceStateMachine
  readonly createTransport: (options: PeerTransportOptions) => PeerTransport
}

/** What the server asks of its cluster node: INFO sections and the shutdown. */
export interface ClusterAttachment {
  infoSection(section: string): InfoField[] | null
  close(): Promise<void>
}

/** INFO keyspace from the replicated state as of this node's last applied entry, in the single
 * server's shape (commands/info.ts: caskade samples no TTLs, so avg_ttl is 0 there too). */
function keyspaceInfoFields(node: ClusterNode): InfoField[] {
  const { keys, keysWithExpiry } = node.stateMachine.keyspaceStats()
  return keys === 0 ? [] : [['db0', `keys=${keys},expires=${keysWithExpiry},avg_ttl=0`]]
}

/** INFO sections from the node, and its shutdown (which releases the data directory). */
function attachmentOf(node: ClusterNode, lock: { release(): void }): ClusterAttachment {
  return {
    infoSection: (section) => {
      if (section === 'raft') return raftInfoFields(node.status())
      if (section === 'replication') return replicationInfoFields(node.statusSources())
      if (section === 'keyspace') return keyspaceInfoFields(node)
      return null
    },
    close: async () => {
      await node.close()
      lock.release()
    },
  }
}

interface Ports {
  disk: Disk
  clock: Clock
  timers: Timers
  logger: Logger
  rng: Rng
}

export async function startClusterServer(
  config: ServerConfig,
  ports: Ports,
  deps: ClusterDeps,
): Promise<RunningServer> {
  const { disk, clock, timers, logger, rng } = ports
  // The Raft log has no lock of its own: one process per data directory, held until exit.
  const lock = disk.lockDir(config.dir)
  const engine = createMemoryEngine()
  const pubsub = new PubSubHub()
  const keyspace = createKeyspace({ engine, clock, timers, events: pubsub })
  // Blocked clients of this node: the registry keeps their state (CLIENT UNBLOCK, INFO), the
  // cluster side retries their attempts when the applied stream writes their keys.
  const blocking = new BlockingRegistry(timers)
  const clusterBlocking = new ClusterBlocking({ registry: blocking, clock, timers })
  const server = new CaskadeServer({
    config,
    engine,
    keyspace,
    pubsub,
    blocking,
    clock,
    timers,
    rng,
    logger,
  })
  server.expectCluster()
  let node: ClusterNode
  try {
    await server.listen()
    node = await startClusterNode({
      settings: config.cluster,
      dir: config.dir,
      clientPort: server.port,
      disk,
      clock,
      timers,
      rng,
      logger,
      pubsub,
      onKeyModified: clusterBlocking.keyModified,
      serverHost: server.host,
      createStateMachine: deps.createStateMachine,
      createTransport: deps.createTransport,
    })
  } catch (error) {
    await server.close()
    lock.release()
    throw error
  }
  const router = createClusterRouter({
    node,
    dispatcher: server.dispatcher,
    blocking: clusterBlocking,
    clock,
    timers,
    rng,
  })
  server.attachCluster(attachmentOf(node, lock), router)
  const { name, id, clusterPort } = node.identity
  logger.info(
    { version: caskadeVersion, node: name, raftId: id, port: server.port, clusterPort },
    'caskade started in cluster mode',
  )
  logger.info({ port: server.port, clusterPort }, 'Ready to accept connections')
  return server
}
