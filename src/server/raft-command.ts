/* caskade's own RAFT command (cluster mode): NODES, STATUS, ADD, REMOVE, TRANSFER. Admin changes
 * run on the leader (a follower forwards them as PeerRequest 'admin'). Invariant: RAFT ADD makes
 * the address entry durable before the learner exists, so every member can dial the new node by
 * the time the leader starts replicating to it. */
import { ErrorCode, RedisErrors } from '../core/errors.js'
import type { ProtocolVersion, ReplyWriter } from '../protocol/types.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { NodeId } from '../raft/index.js'
import { nodeIdOf, validNodeName } from '../replica/node-id.js'
import type { AdminOp } from '../replica/peer-types.js'
import type { ReplicaResult } from '../replica/types.js'
import type { ClusterNode } from './cluster-node.js'
import { raftInfoFields, raftNodeRows } from './cluster-status.js'
import { retrying } from './cluster-retry.js'
import { misconfReply } from './cluster-router.js'

const adminRetryWindowMs = 3000

function reply(protocol: ProtocolVersion, write: (writer: ReplyWriter) => void): Buffer {
  const writer = createReplyWriter(protocol)
  write(writer)
  return writer.take() ?? Buffer.alloc(0)
}

const errorReply = (message: string, code: string = ErrorCode.Err): Buffer =>
  Buffer.from(`-${code} ${message}\r\n`)

export function runRaftCommand(
  node: ClusterNode,
  protocol: ProtocolVersion,
  args: readonly Buffer[],
  done: (reply: Buffer) => void,
): void {
  const sub = (args[1]?.toString('latin1') ?? '').toUpperCase()
  const arg = (i: number): string => args[i]?.toString('utf8') ?? ''
  const arityOk = (n: number): boolean => args.length === n
  if (sub === 'NODES' && arityOk(2)) return done(nodesReply(node, protocol))
  if (sub === 'STATUS' && arityOk(2)) return done(statusReply(node, protocol))
  if ((sub === 'REMOVE' || sub === 'TRANSFER') && arityOk(3)) {
    if (!validNodeName(arg(2))) return done(errorReply(`invalid node name '${arg(2)}'`))
    const op: AdminOp = sub === 'REMOVE' ? 'remove' : 'transfer'
    return adminOp(node, op, nodeIdOf(arg(2)), done)
  }
  if (sub === 'ADD' && arityOk(4)) return add(node, arg(2), arg(3), done)
  if (sub === '' || ['NODES', 'STATUS', 'REMOVE', 'TRANSFER', 'ADD'].includes(sub)) {
    return done(errorReply(RedisErrors.wrongArity(`raft|${sub.toLowerCase()}`)))
  }
  done(errorReply(`unknown subcommand '${arg(1)}'. Try RAFT NODES, STATUS, ADD, REMOVE, TRANSFER.`))
}

function nodesReply(node: ClusterNode, protocol: ProtocolVersion): Buffer {
  const rows = raftNodeRows(node.statusSources())
  return reply(protocol, (writer) => {
    writer.arrayHeader(rows.length)
    for (const [name, id, clientAddr, peerAddr, kind] of rows) {
      writer.arrayHeader(5)
      writer.bulk(name)
      writer.integer(id)
      writer.bulk(clientAddr)
      writer.bulk(peerAddr)
      writer.bulk(kind)
    }
  })
}

function statusReply(node: ClusterNode, protocol: ProtocolVersion): Buffer {
  const fields = raftInfoFields(node.status())
  return reply(protocol, (writer) => {
    writer.mapHeader(fields.length)
    for (const [name, value] of fields) {
      writer.bulk(name)
      if (typeof value === 'number') writer.integer(value)
      else writer.bulk(value)
    }
  })
}

/** RAFT ADD name host:port:clusterPort: the address entry, then a learner (promoted later). */
function add(node: ClusterNode, name: string, spec: string, done: (reply: Buffer) => void): void {
  const match = /^(.+):(\d+):(\d+)$/.exec(spec)
  if (!validNodeName(name)) return done(errorReply(`invalid node name '${name}'`))
  const port = Number(match?.[2])
  const clusterPort = Number(match?.[3])
  if (match === null || !validPort(port) || !validPort(clusterPort)) {
    return done(errorReply(`expected host:port:clusterPort, got '${spec}'`))
  }
  const id = nodeIdOf(name)
  const address = { name, host: match[1] as string, port, clusterPort }
  retrying(
    { clock: node.clock, timers: node.timers, windowMs: adminRetryWindowMs, retryUnknown: true },
    (attemptDone) => node.proposeAddress(id, address, attemptDone),
    (outcome) => {
      if (!outcome.result.ok) return done(adminReply(outcome.result))
      adminOp(node, 'add-learner', id, done)
    },
  )
}

function adminOp(node: ClusterNode, op: AdminOp, id: NodeId, done: (reply: Buffer) => void): void {
  retrying(
    { clock: node.clock, timers: node.timers, windowMs: adminRetryWindowMs, retryUnknown: false },
    (attemptDone) => node.admin(op, id, attemptDone),
    (outcome) => done(adminReply(outcome.result)),
  )
}

function adminReply(result: ReplicaResult): Buffer {
  if (result.ok) return Buffer.from('+OK\r\n')
  if (result.error === 'refused') return errorReply(result.reason)
  if (result.error === 'disk') return misconfReply(result.reason)
  if (result.error === 'unknown') return errorReply(RedisErrors.uncertainWrite, ErrorCode.Uncertain)
  return errorReply(RedisErrors.noLeader, ErrorCode.TryAgain)
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535
}
