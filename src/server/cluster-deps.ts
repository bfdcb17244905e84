/* The real factories of cluster mode: the Bitcask-backed replicated keyspace and the TCP peer
 * transport. Kept apart so the single-node server never loads them (the CLI imports this file
 * only when it starts a cluster node). */
import { createPeerTransport } from '../io/peer-transport.js'
import { createKeyspaceStateMachine } from '../replica/keyspace-state-machine.js'
import type { ClusterDeps } from './cluster-server.js'

export const realClusterDeps: ClusterDeps = {
  createStateMachine: createKeyspaceStateMachine,
  createTransport: createPeerTransport,
}
