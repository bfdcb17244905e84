#!/usr/bin/env node
/* The `caskade` bin: `caskade server [options]`, `caskade inspect DIR`, `caskade --version`,
 * `caskade check-history FILE` (its exit code is the verdict: see cli/check-history.ts),
 * `caskade cluster start|status|add|remove|transfer-leader` (cli/cluster-command.ts).
 * Exit codes: 0 ok, 1 runtime failure (data dir locked or corrupt, listen failed, corruption found
 * by inspect), 2 usage or configuration error (printed as one line, never a stack trace). */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { createLogger } from '../obs/logger.js'
import { startServer, type RunningServer } from '../server/server.js'
import { caskadeVersion } from '../server/version.js'
import { ClusterStartError } from '../server/cluster-identity.js'
import { registerClusterCommand } from './cluster-command.js'
import { ConfigError, loadConfig, type OptionName } from './config.js'

const serverFlags: ReadonlyArray<{ option: OptionName; flags: string; description: string }> = [
  { option: 'port', flags: '--port <n>', description: 'TCP port (0 = any free port)' },
  { option: 'bind', flags: '--bind <addr>', description: 'address(es) to listen on' },
  { option: 'dir', flags: '--dir <path>', description: 'data directory' },
  { option: 'fsync', flags: '--fsync <policy>', description: 'always | everysec | no' },
  {
    option: 'log-level',
    flags: '--log-level <level>',
    description: 'debug|verbose|notice|warning',
  },
  { option: 'maxclients', flags: '--maxclients <n>', description: 'max connected clients' },
  {
    option: 'proto-max-bulk-len',
    flags: '--proto-max-bulk-len <size>',
    description: 'largest bulk string accepted (e.g. 512mb)',
  },
  {
    option: 'client-query-buffer-limit',
    flags: '--client-query-buffer-limit <size>',
    description: 'max unparsed bytes per client (e.g. 1gb)',
  },
  {
    option: 'client-output-buffer-limit',
    flags: '--client-output-buffer-limit <spec>',
    description: "Redis format, e.g. 'normal 256mb 0 0'",
  },
  { option: 'segment-size', flags: '--segment-size <size>', description: 'segment rotation size' },
  {
    option: 'merge-dead-ratio',
    flags: '--merge-dead-ratio <ratio>',
    description: 'merge when dead/total bytes reach this (0..1)',
  },
  {
    option: 'merge-dead-bytes-min',
    flags: '--merge-dead-bytes-min <size>',
    description: '...and at least this many dead bytes',
  },
  {
    option: 'timeout',
    flags: '--timeout <seconds>',
    description: 'close idle clients (0 = never)',
  },
  {
    option: 'enable-debug-command',
    flags: '--enable-debug-command <who>',
    description: 'who may run DEBUG: no | yes | local (loopback clients)',
  },
  {
    option: 'notify-keyspace-events',
    flags: '--notify-keyspace-events <classes>',
    description: "keyspace notifications, Redis's letters (e.g. KEA; empty = off)",
  },
  { option: 'node-id', flags: '--node-id <name>', description: "cluster mode: this node's name" },
  {
    option: 'cluster-port',
    flags: '--cluster-port <n>',
    description: 'cluster mode: the peer (Raft) port',
  },
  {
    option: 'cluster-host',
    flags: '--cluster-host <addr>',
    description: 'cluster mode: peer port bind and advertised address (default 127.0.0.1)',
  },
  {
    option: 'cluster-advertise',
    flags: '--cluster-advertise <host:port>',
    description: 'cluster mode: the peer address other nodes dial (e.g. a proxy)',
  },
  {
    option: 'bootstrap',
    flags: '--bootstrap',
    description: 'cluster mode: start a new cluster with this node as its first voter',
  },
  {
    option: 'join',
    flags: '--join <h:p,...>',
    description: "cluster mode: join through any member's cluster port",
  },
  {
    option: 'peer-override',
    flags: '--peer-override <name=h:p,...>',
    description: "test/dev: dial these peer addresses instead of the address book's",
  },
  {
    option: 'snapshot-interval',
    flags: '--snapshot-interval <entries>',
    description: 'cluster mode: applied log entries between keyspace snapshots (default 100000)',
  },
]

function camelCase(option: string): string {
  return option.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())
}

function fail(code: number, message: string): never {
  process.stderr.write(`caskade: ${message}\n`)
  process.exit(code)
}

async function runServer(options: Record<string, unknown>): Promise<void> {
  const flags: Record<string, unknown> = { config: options.config }
  for (const flag of serverFlags) flags[flag.option] = options[camelCase(flag.option)]
  let config
  try {
    config = loadConfig({ flags, env: process.env, readFile: (path) => readFileSync(path, 'utf8') })
  } catch (error) {
    if (error instanceof ConfigError) fail(2, error.message)
    throw error
  }
  const logger = createLogger({ level: config.logLevel })
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'fatal error: exiting')
    process.exit(1)
  })
  let server: RunningServer
  try {
    server = await startServer(config, { logger })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (error instanceof ClusterStartError) fail(2, message)
    logger.error({ dir: config.dir, port: config.port }, `cannot start: ${message}`)
    fail(1, message)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, `received ${signal}, shutting down`)
    void server.close()
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  await server.closed
  process.exit(0)
}

function buildProgram(): Command {
  const program = new Command()
  program
    .name('caskade')
    .description('A Redis-protocol key-value store on a crash-safe Bitcask engine')
    .version(caskadeVersion, '-v, --version')
    .exitOverride()
  const server = program.command('server').description('run the Redis-protocol server')
  for (const flag of serverFlags) server.option(flag.flags, flag.description)
  server.option('--config <file>', 'TOML config file (keys are the option names above)')
  server.action(async (options: Record<string, unknown>) => runServer(options))
  program
    .command('inspect')
    .description('check a data directory offline; exit 1 on corruption')
    .argument('<dir>', 'data directory')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      // Loaded on demand: the server never needs the offline checker.
      const { runInspect } = await import('./inspect.js')
      process.exitCode = await runInspect(dir, { json: options.json === true })
    })
  program
    .command('check-history')
    .description(
      'check a recorded history for linearizability; exit 0 yes, 1 no, 2 unknown, 3 invalid',
    )
    .argument('<file>', 'history file (JSON, docs/history-format.md)')
    .option('--time-limit <seconds>', 'answer unknown (exit 2) after this long', '60')
    .action(async (file: string, options: { timeLimit: string }) => {
      const { parseTimeLimitSeconds, runCheckHistory } = await import('./check-history.js')
      const timeLimitSeconds = parseTimeLimitSeconds(options.timeLimit)
      if (timeLimitSeconds === null) fail(2, `invalid --time-limit '${options.timeLimit}'`)
      process.exitCode = runCheckHistory(file, { timeLimitSeconds })
    })
  registerClusterCommand(program)
  return program
}

try {
  await buildProgram().parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2)
  throw error
}
