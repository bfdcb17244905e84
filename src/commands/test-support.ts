/* Test support for command handlers: a hand-moved clock, inert timers, a recording ServerHost and
 * a harness that runs commands through a real dispatcher, keyspace (over the memory engine) and
 * reply writer, returning the exact RESP bytes. No I/O: tests stay deterministic. */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { globMatch } from '../core/glob.js'
import type { Clock, Timers } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { createKeyspace } from '../keyspace/keyspace.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import type { Keyspace } from '../keyspace/types.js'
import type { ProtocolVersion, ReplyWriter } from '../protocol/types.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { BlockingRegistry } from './blocking.js'
import { createDispatcher, type Dispatcher } from './dispatch.js'
import { PubSubHub } from './pubsub-hub.js'
import type {
  ClientKillFilter,
  ClientSession,
  CommandContext,
  CommandSpec,
  ConfigRegistry,
  InfoField,
  ServerHost,
} from './types.js'

/** 2023-11-14T22:13:20Z, a fixed wall time for tests. */
export const testEpochMs = 1_700_000_000_000

export class ManualClock implements Clock {
  nowMs = testEpochMs
  monotonicMs(): number {
    return this.nowMs - testEpochMs
  }
  wallMs(): number {
    return this.nowMs
  }
}

/** Timers that never fire: active expiry stays off, so tests see lazy expiry only. */
export const inertTimers: Timers = {
  every: () => () => undefined,
  after: () => () => undefined,
  defer: () => undefined,
}

export function makeSession(id: number, overrides: Partial<ClientSession> = {}): ClientSession {
  return {
    id,
    addr: `127.0.0.1:${50000 + id}`,
    laddr: '127.0.0.1:6379',
    createdAtMs: testEpochMs,
    name: null,
    libName: null,
    libVersion: null,
    protocol: 2,
    closeAfterReply: false,
    lastCommand: 'NULL',
    lastInteractionMs: testEpochMs,
    ...overrides,
  }
}

/** CONFIG over a map, with Redis's text for an unknown parameter. */
export class MapConfig implements ConfigRegistry {
  readonly values = new Map<string, string>([
    ['port', '6379'],
    ['maxclients', '10000'],
    ['appendfsync', 'everysec'],
  ])
  get(patterns: readonly string[]): Array<[string, string]> {
    return [...this.values].filter(([name]) =>
      patterns.some((pattern) => globMatch(Buffer.from(pattern), Buffer.from(name), true)),
    )
  }
  set(pairs: ReadonlyArray<[string, string]>): void {
    for (const [name] of pairs) {
      if (!this.values.has(name)) {
        const message = `Unknown option or number of arguments for CONFIG SET - '${name}'`
        throw new CaskadeError(ErrorCode.Err, message)
      }
    }
    for (const [name, value] of pairs) this.values.set(name, value)
  }
}

/** A ServerHost that records what commands asked of it. */
export class FakeHost implements ServerHost {
  readonly config = new MapConfig()
  readonly sessions: ClientSession[] = []
  readonly killed: Array<{ filter: ClientKillFilter; caller: number }> = []
  readonly shutdowns: Array<{ abort: boolean }> = []
  readonly sleptMs: number[] = []
  readonly sections = new Map<string, InfoField[]>()
  statsResets = 0

  clients(): readonly ClientSession[] {
    return this.sessions
  }
  clientListExtras(client: ClientSession): Array<[string, string | number]> {
    return [
      ['fd', 8 + client.id],
      ['qbuf', 26],
      ['qbuf-free', 20448],
      ['omem', 0],
    ]
  }
  killClients(filter: ClientKillFilter, caller: ClientSession): number {
    this.killed.push({ filter, caller: caller.id })
    return this.sessions.filter((session) => {
      if (filter.skipMe && session.id === caller.id) return false
      if (filter.id !== undefined && session.id !== filter.id) return false
      if (filter.addr !== undefined && session.addr !== filter.addr) return false
      return filter.laddr === undefined || session.laddr === filter.laddr
    }).length
  }
  infoSection(section: string): InfoField[] | null {
    return this.sections.get(section) ?? null
  }
  shutdown(options: { abort: boolean }): void {
    if (options.abort) throw new CaskadeError(ErrorCode.Err, 'No shutdown in progress.')
    this.shutdowns.push(options)
  }
  sleepBlocking(ms: number): void {
    this.sleptMs.push(ms)
  }
  resetStats(): void {
    this.statsResets++
  }
}

/** What every connection of one test world shares (tests with several clients). */
export interface ClientWorld {
  readonly keyspace: Keyspace
  readonly clock: Clock
  readonly host: FakeHost
  readonly pubsub: PubSubHub
  readonly blocking?: BlockingRegistry
}

export interface WorldClient {
  readonly session: ClientSession
  readonly reply: ReplyWriter
  readonly ctx: CommandContext
}

/** One more connection in `world`: its session (listed by the host), reply writer and context. */
export function addClient(world: ClientWorld, id: number, protocol: ProtocolVersion): WorldClient {
  const session = makeSession(id, { protocol })
  world.host.sessions.push(session)
  const reply = createReplyWriter(protocol)
  const { keyspace, clock, host, pubsub } = world
  const shared = { keyspace, clock, rng: createRng(1), reply, client: session, host, pubsub }
  const ctx: CommandContext =
    world.blocking === undefined ? shared : { ...shared, blocking: world.blocking }
  return { session, reply, ctx }
}

export interface Harness {
  readonly clock: ManualClock
  readonly host: FakeHost
  readonly keyspace: Keyspace
  readonly dispatcher: Dispatcher
  readonly session: ClientSession
  readonly ctx: CommandContext
  /** The harness's own pub/sub hub (the keyspace reports expirations to it). */
  readonly pubsub: PubSubHub
  /** Runs one command (args split on single spaces) and returns the reply bytes as latin1. */
  run(line: string): string
  /** Runs one command given as separate arguments. */
  runArgs(args: ReadonlyArray<string | Buffer>): string
}

export function createHarness(
  table: ReadonlyMap<string, CommandSpec>,
  options: { protocol?: ProtocolVersion; clientId?: number } = {},
): Harness {
  const clock = new ManualClock()
  const host = new FakeHost()
  const pubsub = new PubSubHub()
  const keyspace = createKeyspace({
    engine: new MemoryEngine(),
    clock,
    timers: inertTimers,
    events: pubsub,
  })
  const dispatcher = createDispatcher(table)
  const protocol = options.protocol ?? 2
  const world = { keyspace, clock, host, pubsub }
  const { session, reply, ctx } = addClient(world, options.clientId ?? 7, protocol)
  const runArgs = (args: ReadonlyArray<string | Buffer>): string => {
    dispatcher.execute(
      ctx,
      args.map((arg) => (typeof arg === 'string' ? Buffer.from(arg) : arg)),
    )
    // The server does the same after each command: the writer follows the session's protocol.
    if (reply.protocol !== session.protocol) reply.protocol = session.protocol
    return reply.take()?.toString('latin1') ?? ''
  }
  return {
    clock,
    host,
    keyspace,
    dispatcher,
    session,
    ctx,
    pubsub,
    run: (line) => runArgs(line.split(' ')),
    runArgs,
  }
}

/** Handlers called directly (no dispatcher, no stats) over a memory engine and a ManualClock;
 * `run` returns the reply as latin1 text, with a thrown CaskadeError written as Redis would. */
export function handlerHarness(
  specs: readonly CommandSpec[],
  protocol: ProtocolVersion = 2,
): {
  run: (...args: Array<string | Buffer>) => string
  clock: ManualClock
  engine: MemoryEngine
  keyspace: Keyspace
} {
  const byName = new Map(specs.map((spec) => [spec.name, spec]))
  const clock = new ManualClock()
  const engine = new MemoryEngine()
  const keyspace = createKeyspace({ engine, clock, timers: inertTimers, rng: createRng(1) })
  const run = (...args: Array<string | Buffer>): string => {
    const reply = createReplyWriter(protocol)
    const ctx: CommandContext = {
      keyspace,
      clock,
      rng: createRng(2),
      reply,
      client: makeSession(1),
      host: new FakeHost(),
    }
    const spec = byName.get(String(args[0]).toLowerCase())
    if (spec === undefined) throw new Error(`no handler for ${String(args[0])}`)
    try {
      spec.handler(
        ctx,
        args.map((arg) => (typeof arg === 'string' ? Buffer.from(arg) : arg)),
      )
    } catch (error) {
      if (!(error instanceof CaskadeError)) throw error
      reply.error(error.code, error.message)
    }
    return reply.take()?.toString('latin1') ?? '<no reply>'
  }
  return { run, clock, engine, keyspace }
}

/** Bulk strings of a RESP2 reply, in order (for replies a byte comparison cannot decide). */
export function bulks(reply: string): string[] {
  const out: string[] = []
  const pattern = /\$(\d+)\r\n/g
  for (let match = pattern.exec(reply); match !== null; match = pattern.exec(reply)) {
    const start = match.index + match[0].length
    out.push(reply.slice(start, start + Number(match[1])))
    pattern.lastIndex = start + Number(match[1]) + 2
  }
  return out
}
