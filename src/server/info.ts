/* The INFO sections the host owns (server, clients, memory, persistence, stats), with Redis 7.0's
 * field names so tools that parse INFO keep working; caskade-only figures (segments, live/dead
 * bytes, merges) are added under caskade_* names. Reads live state; builds nothing eagerly. */
import os from 'node:os'
import type { InfoField } from '../commands/types.js'
import type { Clock } from '../core/ports.js'
import type { Keyspace } from '../keyspace/types.js'
import type { StorageEngine } from '../storage/types.js'
import type { ServerConfig } from './config.js'
import { bytesToHuman, type ServerStats } from './stats.js'

export const redisCompatibleVersion = '7.0.15'

export interface InfoSources {
  readonly config: ServerConfig
  readonly stats: ServerStats
  readonly engine: StorageEngine
  readonly keyspace: Keyspace
  readonly clock: Clock
  readonly startedAtMonotonicMs: number
  readonly runId: string
  readonly caskadeVersion: string
  readonly executable: string
  listenPort(): number
  commandsProcessed(): number
  errorReplies(): number
  connectedClients(): number
  /** Highest used_memory seen so far; updated by the memory section. */
  peakMemoryBytes: number
  /** Channels and distinct patterns with a subscriber (0 where there is no pub/sub hub). */
  pubsubChannels?(): number
  pubsubPatterns?(): number
  pubsubShardChannels?(): number
  /** Cluster mode: the sections the node owns (raft, replication); null for the others. */
  clusterSection?(section: string): InfoField[] | null
}

function serverSection(sources: InfoSources): InfoField[] {
  const uptimeSeconds = Math.floor(
    (sources.clock.monotonicMs() - sources.startedAtMonotonicMs) / 1000,
  )
  return [
    ['redis_version', redisCompatibleVersion],
    ['caskade_version', sources.caskadeVersion],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', '0'],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${os.machine()}`],
    ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
    ['monotonic_clock', 'performance.now'],
    ['multiplexing_api', 'libuv'],
    ['node_version', process.versions.node],
    ['process_id', process.pid],
    ['process_supervised', 'no'],
    ['run_id', sources.runId],
    ['tcp_port', sources.listenPort()],
    ['server_time_usec', Math.floor(sources.clock.wallMs() * 1000)],
    ['uptime_in_seconds', uptimeSeconds],
    ['uptime_in_days', Math.floor(uptimeSeconds / 86400)],
    ['hz', 10],
    ['configured_hz', 10],
    ['executable', sources.executable],
    ['config_file', sources.config.configFile ?? ''],
    ['io_threads_active', 0],
  ]
}

function clientsSection(sources: InfoSources): InfoField[] {
  return [
    ['connected_clients', sources.connectedClients()],
    ['cluster_connections', 0],
    ['maxclients', sources.config.maxclients],
    ['client_recent_max_input_buffer', sources.stats.recentMaxInputBuffer],
    ['client_recent_max_output_buffer', sources.stats.recentMaxOutputBuffer],
    ['blocked_clients', 0],
    ['tracking_clients', 0],
    ['clients_in_timeout_table', 0],
  ]
}

function memorySection(sources: InfoSources): InfoField[] {
  const usage = process.memoryUsage()
  const used = usage.heapUsed + usage.external
  if (used > sources.peakMemoryBytes) sources.peakMemoryBytes = used
  const peak = sources.peakMemoryBytes
  const total = os.totalmem()
  return [
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', usage.rss],
    ['used_memory_rss_human', bytesToHuman(usage.rss)],
    ['used_memory_peak', peak],
    ['used_memory_peak_human', bytesToHuman(peak)],
    ['used_memory_peak_perc', `${((used / peak) * 100).toFixed(2)}%`],
    ['node_heap_total', usage.heapTotal],
    ['node_heap_used', usage.heapUsed],
    ['node_external', usage.external],
    ['node_array_buffers', usage.arrayBuffers],
    ['total_system_memory', total],
    ['total_system_memory_human', bytesToHuman(total)],
    ['maxmemory', 0],
    ['maxmemory_human', '0B'],
    ['maxmemory_policy', 'noeviction'],
    ['mem_allocator', 'v8'],
  ]
}

function persistenceSection(sources: InfoSources): InfoField[] {
  const engine = sources.engine.stats()
  const lastFsyncSeconds = Math.floor(engine.lastFsyncAtMs / 1000)
  const writeStatus = engine.lastWriteError === null ? 'ok' : 'err'
  return [
    ['loading', 0],
    ['async_loading', 0],
    ['rdb_changes_since_last_save', 0],
    ['rdb_bgsave_in_progress', 0],
    ['rdb_last_save_time', lastFsyncSeconds],
    ['aof_enabled', 1],
    ['aof_rewrite_in_progress', engine.mergeInProgress ? 1 : 0],
    ['aof_rewrite_scheduled', 0],
    ['aof_rewrites', engine.merges],
    ['aof_last_write_status', writeStatus],
    ['aof_last_bgrewrite_status', 'ok'],
    ['caskade_appendfsync', sources.config.fsync],
    ['caskade_segments', engine.segments],
    ['caskade_live_bytes', engine.liveBytes],
    ['caskade_dead_bytes', engine.deadBytes],
    ['caskade_pending_bytes', engine.pendingBytes],
    ['caskade_fsyncs', engine.fsyncs],
    ['caskade_last_fsync_time', lastFsyncSeconds],
    ['caskade_merges', engine.merges],
    ['caskade_merge_in_progress', engine.mergeInProgress ? 1 : 0],
    ['caskade_last_write_error', engine.lastWriteError ?? ''],
  ]
}

function statsSection(sources: InfoSources): InfoField[] {
  const stats = sources.stats
  const keyspace = sources.keyspace.stats()
  return [
    ['total_connections_received', stats.connectionsReceived],
    ['total_commands_processed', sources.commandsProcessed()],
    ['instantaneous_ops_per_sec', stats.opsPerSecond()],
    ['total_net_input_bytes', stats.netInputBytes],
    ['total_net_output_bytes', stats.netOutputBytes],
    ['instantaneous_input_kbps', stats.inputKbps().toFixed(2)],
    ['instantaneous_output_kbps', stats.outputKbps().toFixed(2)],
    ['rejected_connections', stats.rejectedConnections],
    ['expired_keys', keyspace.expiredKeys],
    ['evicted_keys', 0],
    ['evicted_clients', 0],
    ['keyspace_hits', keyspace.keyspaceHits],
    ['keyspace_misses', keyspace.keyspaceMisses],
    ['pubsub_channels', sources.pubsubChannels?.() ?? 0],
    ['pubsub_patterns', sources.pubsubPatterns?.() ?? 0],
    ['pubsubshard_channels', sources.pubsubShardChannels?.() ?? 0],
    ['total_error_replies', sources.errorReplies()],
    ['caskade_limit_disconnects', stats.limitDisconnects],
    ['total_reads_processed', stats.readsProcessed],
    ['total_writes_processed', stats.writesProcessed],
  ]
}

const sectionBuilders: Record<string, (sources: InfoSources) => InfoField[]> = {
  server: serverSection,
  clients: clientsSection,
  memory: memorySection,
  persistence: persistenceSection,
  stats: statsSection,
}

/** One section by its lowercase name, or null when the host does not own it. */
export function buildInfoSection(sources: InfoSources, section: string): InfoField[] | null {
  const cluster = sources.clusterSection?.(section.toLowerCase()) ?? null
  if (cluster !== null) return cluster
  const build = sectionBuilders[section.toLowerCase()]
  return build === undefined ? null : build(sources)
}
