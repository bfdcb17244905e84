/* INFO: assembles Redis 7.0's section text. The host owns server/clients/memory/persistence/stats
 * (and cpu if it has one); the command layer owns what it counts itself: commandstats,
 * errorstats, keyspace, and the fixed single-node replication/cluster/modules sections.
 * Invariant: sections appear in Redis's order whatever order they were asked in. */
import { activeDispatcher, type Dispatcher } from './dispatch.js'
import type { CommandContext, CommandSpec, InfoField } from './types.js'

interface SectionDef {
  readonly name: string
  readonly title: string
  /** Part of INFO / INFO default. */
  readonly inDefault: boolean
}

/** Redis 7.0's sections in its output order. */
const sections: readonly SectionDef[] = [
  { name: 'server', title: 'Server', inDefault: true },
  { name: 'clients', title: 'Clients', inDefault: true },
  { name: 'memory', title: 'Memory', inDefault: true },
  { name: 'persistence', title: 'Persistence', inDefault: true },
  { name: 'stats', title: 'Stats', inDefault: true },
  { name: 'replication', title: 'Replication', inDefault: true },
  { name: 'cpu', title: 'CPU', inDefault: true },
  { name: 'modules', title: 'Modules', inDefault: true },
  { name: 'commandstats', title: 'Commandstats', inDefault: false },
  { name: 'errorstats', title: 'Errorstats', inDefault: true },
  { name: 'cluster', title: 'Cluster', inDefault: true },
  // caskade's own: present only in cluster mode (the host provides it; otherwise left out).
  { name: 'raft', title: 'Raft', inDefault: true },
  { name: 'keyspace', title: 'Keyspace', inDefault: true },
]

/** Which sections `INFO args...` asks for (unknown names are ignored, as Redis does). */
export function requestedSections(args: readonly Buffer[]): Set<string> {
  const wanted = new Set<string>()
  const addAll = (defaultOnly: boolean): void => {
    for (const section of sections) if (!defaultOnly || section.inDefault) wanted.add(section.name)
  }
  if (args.length <= 1) addAll(true)
  for (let i = 1; i < args.length; i++) {
    const name = (args[i] as Buffer).toString('latin1').toLowerCase()
    if (name === 'default') addAll(true)
    else if (name === 'all' || name === 'everything') addAll(false)
    else wanted.add(name)
  }
  return wanted
}

function commandStatsFields(dispatcher: Dispatcher | null): InfoField[] {
  if (dispatcher === null) return []
  const fields: InfoField[] = []
  for (const stats of dispatcher.commandStats()) {
    if (stats.calls === 0 && stats.rejectedCalls === 0 && stats.failedCalls === 0) continue
    const usec = Math.round(stats.usec)
    const perCall = stats.calls === 0 ? 0 : usec / stats.calls
    fields.push([
      `cmdstat_${stats.name}`,
      `calls=${stats.calls},usec=${usec},usec_per_call=${perCall.toFixed(2)},` +
        `rejected_calls=${stats.rejectedCalls},failed_calls=${stats.failedCalls}`,
    ])
  }
  return fields
}

/** Redis keeps error counts in a radix tree, so they come out sorted by code. */
function errorStatsFields(dispatcher: Dispatcher | null): InfoField[] {
  if (dispatcher === null) return []
  const codes = [...dispatcher.errorStats().keys()].sort()
  return codes.map((code) => [`errorstat_${code}`, `count=${dispatcher.errorStats().get(code)}`])
}

/** One db line when the database has keys; caskade does not sample TTLs, so avg_ttl is 0. */
function keyspaceFields(ctx: CommandContext): InfoField[] {
  const stats = ctx.keyspace.stats()
  if (stats.keys === 0) return []
  return [['db0', `keys=${stats.keys},expires=${stats.keysWithExpiry},avg_ttl=0`]]
}

const replicationFields: readonly InfoField[] = [
  ['role', 'master'],
  ['connected_slaves', 0],
  ['master_failover_state', 'no-failover'],
  ['master_repl_offset', 0],
  ['second_repl_offset', -1],
  ['repl_backlog_active', 0],
  ['repl_backlog_size', 0],
  ['repl_backlog_first_byte_offset', 0],
  ['repl_backlog_histlen', 0],
]

/** The fields of one section, or null when nobody provides it (then it is left out). */
function sectionFields(ctx: CommandContext, name: string): readonly InfoField[] | null {
  switch (name) {
    case 'commandstats':
      return commandStatsFields(activeDispatcher())
    case 'errorstats':
      return errorStatsFields(activeDispatcher())
    case 'keyspace':
      // A cluster node's keys live in its replicated state machine, which its host reports.
      return ctx.host.infoSection('keyspace') ?? keyspaceFields(ctx)
    case 'modules':
      return []
    case 'cluster':
      return [['cluster_enabled', 0]]
    case 'replication':
      return ctx.host.infoSection(name) ?? replicationFields
    default:
      return ctx.host.infoSection(name)
  }
}

/** The INFO text: "# Title\r\nname:value\r\n..." with a blank line between sections. */
export function renderInfo(ctx: CommandContext, wanted: ReadonlySet<string>): string {
  let text = ''
  for (const section of sections) {
    if (!wanted.has(section.name)) continue
    const fields = sectionFields(ctx, section.name)
    if (fields === null) continue
    if (text !== '') text += '\r\n'
    text += `# ${section.title}\r\n`
    for (const [name, value] of fields) {
      // A value is one line (an I/O error message could carry a newline).
      text += `${name}:${String(value).replace(/[\r\n]/g, ' ')}\r\n`
    }
  }
  return text
}

export const infoCommand: CommandSpec = {
  name: 'info',
  arity: -1,
  flags: ['loading', 'stale'],
  firstKey: 0,
  lastKey: 0,
  keyStep: 0,
  group: 'server',
  summary: 'Get information and statistics about the server',
  since: '1.0.0',
  complexity: 'O(1)',
  handler: (ctx, args) => ctx.reply.verbatim(renderInfo(ctx, requestedSections(args))),
}
