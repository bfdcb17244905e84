/* The pure half of `caskade cluster status`: reads RAFT NODES and INFO raft replies into rows
 * (role, term, commit, applied, lag) and lays them out as a text table. Invariant: lag is the
 * leader's last index minus the node's applied index, and only a node that answered has one.
 * Why: the I/O (cluster-status.ts) stays a thin loop, and every figure here is unit-tested. */
import type { RespReply } from '../io/resp-client.js'

/** One member as `RAFT NODES` lists it: [name, raftId, "host:port", "host:clusterPort", kind]. */
export interface RaftNodeEntry {
  name: string
  raftId: number
  address: string
  clusterAddress: string
  membership: 'voter' | 'learner'
}

/** The INFO raft fields the tools read (cluster-design.md section 4). */
export interface RaftInfo {
  role: string
  nodeName: string
  term: number
  leaderName: string
  leaderAddress: string
  commitIndex: number
  appliedIndex: number
  lastIndex: number
  voters: number
  learners: number
}

function replyText(reply: RespReply | undefined): string | null {
  if (reply?.kind === 'bulk' && reply.value !== null) return reply.value.toString('utf8')
  if (reply?.kind === 'simple') return reply.text
  if (reply?.kind === 'integer') return String(reply.value)
  return null
}

function parseRaftNodeEntry(reply: RespReply): RaftNodeEntry {
  if (reply.kind !== 'array' || reply.items === null || reply.items.length < 5) {
    throw new Error(`unexpected RAFT NODES entry ${JSON.stringify(reply)}`)
  }
  const [name, raftId, address, clusterAddress, membership] = reply.items.map(replyText)
  const id = Number(raftId)
  if (
    name === null ||
    name === undefined ||
    !Number.isSafeInteger(id) ||
    typeof address !== 'string' ||
    typeof clusterAddress !== 'string' ||
    (membership !== 'voter' && membership !== 'learner')
  ) {
    throw new Error(`unexpected RAFT NODES entry ${JSON.stringify(reply.items.map(replyText))}`)
  }
  return { name, raftId: id, address, clusterAddress, membership }
}

/** `RAFT NODES` reply -> members; throws on an error reply or a shape it does not know. */
export function parseRaftNodes(reply: RespReply): RaftNodeEntry[] {
  if (reply.kind === 'error') throw new Error(reply.text)
  if (reply.kind !== 'array' || reply.items === null) {
    throw new Error(`unexpected RAFT NODES reply ${JSON.stringify(reply)}`)
  }
  return reply.items.map(parseRaftNodeEntry)
}

function integerField(fields: ReadonlyMap<string, string>, name: string): number {
  const value = Number(fields.get(name))
  return Number.isSafeInteger(value) ? value : 0
}

/** INFO raft fields -> RaftInfo; null when there is no `role` (not a cluster node). */
export function parseRaftInfo(fields: ReadonlyMap<string, string>): RaftInfo | null {
  const role = fields.get('role')
  if (role === undefined) return null
  return {
    role,
    nodeName: fields.get('node_id') ?? '',
    term: integerField(fields, 'term'),
    leaderName: fields.get('leader_id') ?? '',
    leaderAddress: fields.get('leader_addr') ?? '',
    commitIndex: integerField(fields, 'commit_index'),
    appliedIndex: integerField(fields, 'applied_index'),
    lastIndex: integerField(fields, 'last_index'),
    voters: integerField(fields, 'members'),
    learners: integerField(fields, 'learners'),
  }
}

export interface StatusRow {
  name: string
  address: string
  membership: 'voter' | 'learner'
  /** null: the node did not answer. */
  info: RaftInfo | null
  /** Leader's last index minus this node's applied index; null if unreachable or no leader. */
  lag: number | null
}

export interface ClusterStatus {
  rows: StatusRow[]
  leader: { name: string; address: string; term: number } | null
}

/** Rows in name order (n2 before n10). The leader is the answering node that says it leads, in
 * the highest term if several do (a deposed leader may not know yet). */
export function buildClusterStatus(
  entries: readonly RaftNodeEntry[],
  infos: ReadonlyMap<string, RaftInfo | null>,
): ClusterStatus {
  let leader: { entry: RaftNodeEntry; info: RaftInfo } | null = null
  for (const entry of entries) {
    const info = infos.get(entry.name) ?? null
    if (info?.role !== 'leader') continue
    if (leader === null || info.term > leader.info.term) leader = { entry, info }
  }
  const byName = [...entries].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
  const rows = byName.map((entry): StatusRow => {
    const info = infos.get(entry.name) ?? null
    const lag =
      info === null || leader === null
        ? null
        : Math.max(0, leader.info.lastIndex - info.appliedIndex)
    return { name: entry.name, address: entry.address, membership: entry.membership, info, lag }
  })
  return {
    rows,
    leader:
      leader === null
        ? null
        : { name: leader.entry.name, address: leader.entry.address, term: leader.info.term },
  }
}

export interface TableColumn {
  title: string
  align?: 'left' | 'right'
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function formatTable(columns: readonly TableColumn[], rows: readonly string[][]): string {
  const widths = columns.map((column, index) =>
    Math.max(column.title.length, ...rows.map((row) => (row[index] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? ''
        const width = widths[index] ?? 0
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width)
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((column) => column.title)), ...rows.map(line)].join('\n')
}

const statusColumns: TableColumn[] = [
  { title: 'name' },
  { title: 'address' },
  { title: 'role' },
  { title: 'term', align: 'right' },
  { title: 'commit', align: 'right' },
  { title: 'applied', align: 'right' },
  { title: 'lag', align: 'right' },
]

function statusCells(row: StatusRow): string[] {
  const { info } = row
  if (info === null) return [row.name, row.address, '-', '-', '-', '-', 'unreachable']
  return [
    row.name,
    row.address,
    info.role,
    String(info.term),
    String(info.commitIndex),
    String(info.appliedIndex),
    row.lag === null ? '-' : String(row.lag),
  ]
}

/** The table plus a last line naming the leader (or saying none is known). */
export function formatClusterStatus(status: ClusterStatus): string {
  const table = formatTable(statusColumns, status.rows.map(statusCells))
  const { leader } = status
  const leaderLine =
    leader === null
      ? 'leader: none known (no reachable node is leader)'
      : `leader: ${leader.name} (${leader.address}), term ${leader.term}`
  return `${table}\n${leaderLine}\n`
}
