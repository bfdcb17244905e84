/* The cluster-mode settings of `caskade server` (--node-id, --cluster-port, --bootstrap, --join,
 * --peer-override, --cluster-host, --cluster-advertise, --snapshot-interval) and the parsing of
 * their address syntaxes. Pure: no I/O. Invariant: a parsed address has a non-empty host and a
 * port in 1..65535. */

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface ClusterSettings {
  /** This node's name ([A-Za-z0-9_-]{1,64}); null: taken from the identity file on restart. */
  readonly nodeId: string | null
  /** The peer (Raft) port; null: taken from the identity file on restart. */
  readonly clusterPort: number | null
  /** The address the peer port binds to and, without --cluster-advertise, advertises. */
  readonly clusterHost: string
  /** The peer address other nodes are told to dial (a proxy in fault tests); null: bound one. */
  readonly clusterAdvertise: HostPort | null
  /** Start a new cluster with this node as its only voter. */
  readonly bootstrap: boolean
  /** Join through any of these members' peer ports. */
  readonly join: readonly HostPort[]
  /** Test/dev: dial these peer addresses (by node name) instead of the address book's. */
  readonly peerOverride: ReadonlyMap<string, HostPort>
  /** Applied entries between file snapshots of the replicated keyspace (the log is cut there). */
  readonly snapshotEveryEntries: number
}

/**
 * At bench load (~20k writes/s) a snapshot every 5 s or so: the log stays a few tens of MiB and a
 * restart replays at most this many entries, while each snapshot (a segment rotation and hard
 * links, off the loop) stays rare enough that the engine's small segments merge away.
 */
export const defaultSnapshotEveryEntries = 100_000

export const nodeNamePattern = /^[A-Za-z0-9_-]{1,64}$/

export const defaultClusterSettings = (): ClusterSettings => ({
  nodeId: null,
  clusterPort: null,
  clusterHost: '127.0.0.1',
  clusterAdvertise: null,
  bootstrap: false,
  join: [],
  peerOverride: new Map(),
  snapshotEveryEntries: defaultSnapshotEveryEntries,
})

/** True when the flags ask for cluster mode (a restart may also find it in the data dir). */
export function wantsClusterMode(settings: ClusterSettings): boolean {
  return settings.nodeId !== null || settings.bootstrap || settings.join.length > 0
}

/** "host:port" (IPv6 as "[::1]:port"); throws a message naming what is wrong. */
export function parseHostPort(text: string): HostPort {
  const trimmed = text.trim()
  const colon = trimmed.lastIndexOf(':')
  if (colon <= 0) throw new Error(`expected host:port, got '${trimmed}'`)
  let host = trimmed.slice(0, colon)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const portText = trimmed.slice(colon + 1)
  const port = Number(portText)
  if (host.length === 0 || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`expected host:port with a port in 1..65535, got '${trimmed}'`)
  }
  return { host, port }
}

/** "h:p,h:p" or an array of "h:p" (TOML). */
export function parseHostPortList(value: string | readonly string[]): HostPort[] {
  const parts = typeof value === 'string' ? value.split(',') : value
  const list = parts.filter((part) => part.trim().length > 0).map(parseHostPort)
  if (list.length === 0) throw new Error('expected at least one host:port')
  return list
}

/** "n2=127.0.0.1:7001,n3=127.0.0.1:7002" or a TOML table { n2 = "127.0.0.1:7001" }. */
export function parsePeerOverrides(
  value: string | Readonly<Record<string, string>>,
): Map<string, HostPort> {
  const pairs: Array<[string, string]> =
    typeof value === 'string'
      ? value
          .split(',')
          .filter((part) => part.trim().length > 0)
          .map((part) => {
            const eq = part.indexOf('=')
            if (eq <= 0) throw new Error(`expected name=host:port, got '${part.trim()}'`)
            return [part.slice(0, eq).trim(), part.slice(eq + 1)]
          })
      : Object.entries(value)
  const result = new Map<string, HostPort>()
  for (const [name, address] of pairs) {
    if (!nodeNamePattern.test(name)) throw new Error(`invalid node name '${name}'`)
    result.set(name, parseHostPort(address))
  }
  return result
}

export function formatHostPort(address: HostPort): string {
  return address.host.includes(':')
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`
}
