/* The server's resolved configuration (what the CLI's loader produces and CONFIG GET/SET reads
 * and changes), its defaults, and Redis's value syntaxes: memory sizes with units ("1mb") and
 * client-output-buffer-limit ("normal 0 0 0 ..."). Pure parsing: no I/O here. */
import { limits } from '../core/limits.js'
import type { FsyncPolicy } from '../storage/types.js'
import type { RedisLogLevel } from '../obs/logger.js'
import { defaultClusterSettings, type ClusterSettings } from './cluster-config.js'

export interface OutputBufferLimit {
  /** Disconnect at once when pending reply bytes exceed this (0 = no limit). */
  hardBytes: number
  /** Disconnect when pending bytes stay above this for softSeconds (0 = no soft limit). */
  softBytes: number
  softSeconds: number
}

/** Redis keeps limits for three client classes; caskade enforces the `normal` one. */
export interface OutputBufferLimits {
  normal: OutputBufferLimit
  replica: OutputBufferLimit
  pubsub: OutputBufferLimit
}

export interface ServerConfig {
  port: number
  /** Addresses to listen on (Redis's `bind` is a space-separated list). */
  bind: string[]
  dir: string
  fsync: FsyncPolicy
  maxclients: number
  protoMaxBulkLen: number
  clientQueryBufferLimit: number
  clientOutputBufferLimit: OutputBufferLimits
  segmentBytes: number
  mergeDeadRatio: number
  mergeDeadBytesMin: number
  logLevel: RedisLogLevel
  /** Close a client idle for this many seconds (0 = never). */
  timeoutSeconds: number
  /** Redis's enable-debug-command: who may run DEBUG (it can freeze the server). */
  enableDebugCommand: DebugCommandPolicy
  /** The TOML file the config came from, if any (INFO config_file). */
  configFile: string | null
  /** notify-keyspace-events as NotifyClass bits (commands/notify.ts); 0 = off, Redis's default. */
  notifyKeyspaceEvents: number
  /** Cluster mode (Raft): node name, peer port, bootstrap/join (cluster-config.ts). */
  cluster: ClusterSettings
}

export const debugCommandPolicies = ['no', 'yes', 'local'] as const
export type DebugCommandPolicy = (typeof debugCommandPolicies)[number]

export const defaultOutputBufferLimits = (): OutputBufferLimits => ({
  normal: { hardBytes: limits.clientOutputBufferBytesMax, softBytes: 0, softSeconds: 0 },
  replica: { hardBytes: 256 * 1024 * 1024, softBytes: 64 * 1024 * 1024, softSeconds: 60 },
  pubsub: { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 },
})

export const defaultServerConfig = (): ServerConfig => ({
  port: 6379,
  bind: ['127.0.0.1'],
  dir: './caskade-data',
  fsync: 'everysec',
  maxclients: 10000,
  protoMaxBulkLen: limits.bulkBytesMax,
  clientQueryBufferLimit: limits.queryBufferBytesMax,
  clientOutputBufferLimit: defaultOutputBufferLimits(),
  segmentBytes: limits.segmentBytesDefault,
  mergeDeadRatio: 0.5,
  mergeDeadBytesMin: 64 * 1024 * 1024,
  logLevel: 'notice',
  timeoutSeconds: 0,
  enableDebugCommand: 'local',
  configFile: null,
  notifyKeyspaceEvents: 0,
  cluster: defaultClusterSettings(),
})

const memoryUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 * 1000,
  mb: 1024 * 1024,
  g: 1000 * 1000 * 1000,
  gb: 1024 * 1024 * 1024,
}

/** Redis memtoull: "100", "10kb", "1GB", "5m"; null when it is not a size. */
export function parseMemoryBytes(text: string): number | null {
  const match = /^(\d+)([a-zA-Z]*)$/.exec(text)
  if (match === null) return null
  const unit = memoryUnits[(match[2] ?? '').toLowerCase()]
  if (unit === undefined) return null
  const value = Number(match[1]) * unit
  return Number.isSafeInteger(value) ? value : null
}

/** Parses Redis's `class hard soft seconds [class hard soft seconds ...]`; throws a message. */
export function parseOutputBufferLimits(
  text: string,
  base: OutputBufferLimits,
): OutputBufferLimits {
  const words = text.split(/\s+/).filter((word) => word.length > 0)
  if (words.length % 4 !== 0) {
    throw new Error('Wrong number of arguments in buffer limit configuration.')
  }
  const result: OutputBufferLimits = {
    normal: { ...base.normal },
    replica: { ...base.replica },
    pubsub: { ...base.pubsub },
  }
  for (let i = 0; i < words.length; i += 4) {
    const className = (words[i] ?? '').toLowerCase()
    const key = className === 'slave' || className === 'replica' ? 'replica' : className
    if (key !== 'normal' && key !== 'replica' && key !== 'pubsub') {
      throw new Error('Invalid client class specified in buffer limit configuration.')
    }
    const hardBytes = parseMemoryBytes(words[i + 1] ?? '')
    const softBytes = parseMemoryBytes(words[i + 2] ?? '')
    const softSeconds = Number(words[i + 3])
    if (hardBytes === null || softBytes === null || !Number.isSafeInteger(softSeconds)) {
      throw new Error('Error in hard, soft or soft_seconds setting in buffer limit configuration.')
    }
    result[key] = { hardBytes, softBytes, softSeconds }
  }
  return result
}

export function formatOutputBufferLimits(value: OutputBufferLimits): string {
  const one = (limit: OutputBufferLimit): string =>
    `${limit.hardBytes} ${limit.softBytes} ${limit.softSeconds}`
  return `normal ${one(value.normal)} slave ${one(value.replica)} pubsub ${one(value.pubsub)}`
}
