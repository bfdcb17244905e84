/* `caskade cluster add|remove|transfer-leader`: one RAFT ADD/REMOVE/TRANSFER sent to any node (a
 * follower forwards it to the leader), its result printed. Invariant: exit 0 only when the node
 * answered +OK (and, for a transfer, the leadership visibly moved); errors go to stderr, exit 1.
 * Why: scripts chain these commands and must be able to trust the exit code. */
import type { RespEndpoint } from '../io/resp-client.js'
import type { NodeAddressArg } from './cluster-args.js'
import {
  ClusterCliError,
  clusterCommand,
  describeEndpoint,
  fetchRaftInfo,
} from './cluster-status.js'

export type AdminRequest =
  | { op: 'add'; name: string; address: NodeAddressArg }
  | { op: 'remove'; name: string }
  | { op: 'transfer'; name: string }

const transferPollIntervalMs = 100

/** The RAFT command for a request (cluster-design.md section 4). */
export function adminCommandArgs(request: AdminRequest): string[] {
  switch (request.op) {
    case 'add': {
      const { host, port, clusterPort } = request.address
      return ['RAFT', 'ADD', request.name, `${host}:${port}:${clusterPort}`]
    }
    case 'remove':
      return ['RAFT', 'REMOVE', request.name]
    case 'transfer':
      return ['RAFT', 'TRANSFER', request.name]
  }
}

function successMessage(request: AdminRequest): string {
  switch (request.op) {
    case 'add':
      return (
        `${request.name} added as a learner; the leader makes it a voter once it has caught up ` +
        `(start it with: caskade server --node-id ${request.name} ` +
        `--port ${request.address.port} --cluster-port ${request.address.clusterPort} ` +
        `--cluster-host ${request.address.host} --dir DIR: the leader contacts it)`
      )
    case 'remove':
      return `${request.name} removed from the cluster`
    case 'transfer':
      return `leadership transfer to ${request.name} requested`
  }
}

export interface AdminOptions {
  endpoint: RespEndpoint
  request: AdminRequest
  timeoutMs: number
  /** How long a transfer may take to show in INFO raft before the command fails. */
  transferWaitMs: number
}

async function waitForLeader(options: AdminOptions, name: string): Promise<string> {
  const deadlineMs = performance.now() + options.transferWaitMs
  let lastLeader = 'nobody'
  for (;;) {
    const info = await fetchRaftInfo(options.endpoint, options.timeoutMs)
    if (info !== null && info.leaderName === name) {
      return `leader is now ${name} (term ${info.term})`
    }
    if (info !== null && info.leaderName !== '') lastLeader = info.leaderName
    if (performance.now() >= deadlineMs) {
      throw new ClusterCliError(
        `RAFT TRANSFER ${name} was accepted, but after ${options.transferWaitMs} ms ` +
          `${describeEndpoint(options.endpoint)} still reports ${lastLeader} as leader`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, transferPollIntervalMs))
  }
}

/** Sends the request and prints the outcome; returns the exit code (0) or throws. */
export async function runClusterAdmin(options: AdminOptions): Promise<number> {
  const args = adminCommandArgs(options.request)
  const reply = await clusterCommand(options.endpoint, args, options.timeoutMs)
  if (reply.kind === 'error') {
    throw new ClusterCliError(
      `${args.slice(0, 2).join(' ')} ${options.request.name}: ${reply.text}`,
    )
  }
  if (reply.kind !== 'simple' || reply.text !== 'OK') {
    throw new ClusterCliError(`${args.join(' ')}: unexpected reply ${JSON.stringify(reply)}`)
  }
  process.stdout.write(`${successMessage(options.request)}\n`)
  if (options.request.op === 'transfer') {
    process.stdout.write(`${await waitForLeader(options, options.request.name)}\n`)
  }
  return 0
}
