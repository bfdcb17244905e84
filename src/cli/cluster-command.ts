/* `caskade cluster start|status|add|remove|transfer-leader`: the flags, their validation
 * (cluster-args.ts) and the exit codes: 0 ok, 1 failure (printed on stderr as one line), 2 usage.
 * Why a file of its own: main.ts only registers it, and the launcher loads on demand. */
import type { Command } from 'commander'
import type { RespEndpoint } from '../io/resp-client.js'
import {
  UsageError,
  parseIntegerArg,
  parseNodeAddressArg,
  parseNodeName,
  parsePortArg,
} from './cluster-args.js'
import { runClusterAdmin, type AdminRequest } from './cluster-admin.js'
import { ClusterCliError, runClusterStatus } from './cluster-status.js'

const secondsMax = 3600

async function exitWith(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action()
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof ClusterCliError)) throw error
    process.stderr.write(`caskade: ${error.message}\n`)
    process.exitCode = error instanceof UsageError ? 2 : 1
  }
}

interface EndpointFlags {
  host: string
  port: string
  timeout: string
}

function endpointOf(flags: EndpointFlags): RespEndpoint {
  if (flags.host.length === 0) throw new UsageError('invalid --host (empty)')
  return { host: flags.host, port: parsePortArg(flags.port, '--port') }
}

function timeoutMsOf(flags: EndpointFlags): number {
  return parseIntegerArg(flags.timeout, '--timeout', 1, secondsMax) * 1000
}

/** --host/--port/--timeout on a subcommand that talks to one node. */
function withEndpoint(command: Command): Command {
  return command
    .option('--host <host>', 'any node of the cluster', '127.0.0.1')
    .option('--port <port>', "that node's client port", '7000')
    .option('--timeout <seconds>', 'give up on a node after this long', '2')
}

async function admin(flags: EndpointFlags, request: AdminRequest, waitMs = 0): Promise<number> {
  return runClusterAdmin({
    endpoint: endpointOf(flags),
    request,
    timeoutMs: timeoutMsOf(flags),
    transferWaitMs: waitMs,
  })
}

interface StartFlags {
  nodes: string
  basePort: string
  dir: string
  bind: string
  logs: string
  logLevel?: string
  waitTimeout: string
  stopTimeout: string
}

async function start(flags: StartFlags): Promise<number> {
  if (flags.logs !== 'files' && flags.logs !== 'stdout') {
    throw new UsageError(`invalid --logs '${flags.logs}' (expected files or stdout)`)
  }
  // Loaded on demand: only the launcher spawns and supervises processes.
  const { runClusterStart } = await import('./cluster-start.js')
  const code = await runClusterStart({
    nodes: parseIntegerArg(flags.nodes, '--nodes', 1, 15),
    basePort: parsePortArg(flags.basePort, '--base-port'),
    dir: flags.dir,
    bind: flags.bind,
    logs: flags.logs,
    logLevel: flags.logLevel ?? null,
    waitTimeoutMs: parseIntegerArg(flags.waitTimeout, '--wait-timeout', 1, secondsMax) * 1000,
    graceMs: parseIntegerArg(flags.stopTimeout, '--stop-timeout', 1, secondsMax) * 1000,
  })
  // Every node is reaped by now; exit even if a stray handle would keep the loop alive.
  process.exit(code)
}

function registerStart(cluster: Command): void {
  cluster
    .command('start')
    .description('run a local cluster of N server processes until Ctrl-C')
    .option('--nodes <n>', 'how many nodes (n1..nN)', '3')
    .option('--base-port <port>', 'client ports base+i, cluster ports base+10000+i', '7000')
    .option(
      '--dir <path>',
      'data directory (DIR/n1..DIR/nN); an existing one restarts',
      './cluster-data',
    )
    .option('--bind <addr>', 'address every node listens on', '127.0.0.1')
    .option('--logs <where>', "nodes' logs: files (DIR/nX.log) or stdout (prefixed)", 'files')
    .option('--log-level <level>', "the nodes' --log-level")
    .option('--wait-timeout <seconds>', 'fail when the cluster has not formed by then', '30')
    .option(
      '--stop-timeout <seconds>',
      'SIGKILL a node still running this long after SIGTERM',
      '10',
    )
    .action(async (flags: StartFlags) => exitWith(async () => start(flags)))
}

function registerAdmin(cluster: Command): void {
  withEndpoint(cluster.command('add'))
    .description('add a node: it joins as a learner and becomes a voter once caught up')
    .requiredOption('--node-id <name>', 'the new node name')
    .requiredOption('--addr <host:port:clusterPort>', 'its client and cluster addresses')
    .action(async (flags: EndpointFlags & { nodeId: string; addr: string }) =>
      exitWith(async () => {
        const name = parseNodeName(flags.nodeId, '--node-id')
        return admin(flags, { op: 'add', name, address: parseNodeAddressArg(flags.addr, '--addr') })
      }),
    )
  withEndpoint(cluster.command('remove'))
    .description('remove a node from the cluster')
    .requiredOption('--node-id <name>', 'the node to remove')
    .action(async (flags: EndpointFlags & { nodeId: string }) =>
      exitWith(async () =>
        admin(flags, { op: 'remove', name: parseNodeName(flags.nodeId, '--node-id') }),
      ),
    )
  withEndpoint(cluster.command('transfer-leader'))
    .description('make another voter the leader; waits until it leads')
    .requiredOption('--to <name>', 'the node to lead')
    .option('--wait <seconds>', 'fail if it does not lead within this long', '5')
    .action(async (flags: EndpointFlags & { to: string; wait: string }) =>
      exitWith(async () => {
        const waitMs = parseIntegerArg(flags.wait, '--wait', 1, secondsMax) * 1000
        return admin(flags, { op: 'transfer', name: parseNodeName(flags.to, '--to') }, waitMs)
      }),
    )
}

export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run and manage a replicated cluster')
  registerStart(cluster)
  withEndpoint(cluster.command('status'))
    .description("every node's role, term, commit/applied index and lag; exit 1 if no leader")
    .option('--json', 'print JSON')
    .action(async (flags: EndpointFlags & { json?: boolean }) =>
      exitWith(async () =>
        runClusterStatus({
          endpoint: endpointOf(flags),
          json: flags.json === true,
          timeoutMs: timeoutMsOf(flags),
        }),
      ),
    )
  registerAdmin(cluster)
}
