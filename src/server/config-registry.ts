/* CONFIG GET/SET over the live ServerConfig with Redis's parameter names, value syntaxes and
 * exact error texts. SET is all-or-nothing: every pair is validated against a copy before any is
 * applied; then `onApplied` lets the server push live values (limits, fsync, log level). */
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { globMatch } from '../core/glob.js'
import {
  formatNotifyFlags,
  invalidNotifyFlagsMessage,
  parseNotifyFlags,
} from '../commands/notify.js'
import type { ConfigRegistry } from '../commands/types.js'
import { isRedisLogLevel, redisLogLevels } from '../obs/logger.js'
import {
  formatOutputBufferLimits,
  parseMemoryBytes,
  parseOutputBufferLimits,
  type ServerConfig,
} from './config.js'

/** Parses `value` into `config` or throws an Error whose message is Redis's reason text. */
type Setter = (config: ServerConfig, value: string) => void

interface ConfigEntry {
  name: string
  get: (config: ServerConfig) => string
  /** Absent for immutable parameters. */
  set?: Setter
}

const int64Max = '9223372036854775807'

function parseIntegerIn(value: string, min: number, max: number, maxText = String(max)): number {
  if (!/^-?\d+$/.test(value)) throw new Error("argument couldn't be parsed into an integer")
  const parsed = Number(value)
  if (parsed < min || parsed > max) {
    throw new Error(`argument must be between ${min} and ${maxText} inclusive`)
  }
  return parsed
}

function parseMemoryIn(value: string, min: number): number {
  const parsed = parseMemoryBytes(value)
  if (parsed === null) throw new Error('argument must be a memory value')
  if (parsed < min) throw new Error(`argument must be between ${min} and ${int64Max} inclusive`)
  return parsed
}

function parseOneOf<T extends string>(value: string, allowed: readonly T[]): T {
  const lower = value.toLowerCase()
  const found = allowed.find((option) => option === lower)
  if (found === undefined) {
    throw new Error(`argument(s) must be one of the following: ${allowed.join(', ')}`)
  }
  return found
}

const fsyncPolicies = ['everysec', 'always', 'no'] as const
const oneMiB = 1024 * 1024

const entries: readonly ConfigEntry[] = [
  { name: 'port', get: (c) => String(c.port) },
  { name: 'bind', get: (c) => c.bind.join(' ') },
  { name: 'dir', get: (c) => c.dir },
  {
    name: 'appendfsync',
    get: (c) => c.fsync,
    set: (c, v) => {
      c.fsync = parseOneOf(v, fsyncPolicies)
    },
  },
  { name: 'appendonly', get: () => 'yes' },
  { name: 'save', get: () => '' },
  { name: 'databases', get: () => '1' },
  { name: 'maxmemory', get: () => '0' },
  { name: 'maxmemory-policy', get: () => 'noeviction' },
  {
    name: 'maxclients',
    get: (c) => String(c.maxclients),
    set: (c, v) => {
      c.maxclients = parseIntegerIn(v, 1, Number.MAX_SAFE_INTEGER)
    },
  },
  {
    name: 'proto-max-bulk-len',
    get: (c) => String(c.protoMaxBulkLen),
    set: (c, v) => {
      c.protoMaxBulkLen = parseMemoryIn(v, oneMiB)
    },
  },
  {
    name: 'client-query-buffer-limit',
    get: (c) => String(c.clientQueryBufferLimit),
    set: (c, v) => {
      c.clientQueryBufferLimit = parseMemoryIn(v, oneMiB)
    },
  },
  {
    name: 'client-output-buffer-limit',
    get: (c) => formatOutputBufferLimits(c.clientOutputBufferLimit),
    set: (c, v) => {
      c.clientOutputBufferLimit = parseOutputBufferLimits(v, c.clientOutputBufferLimit)
    },
  },
  { name: 'segment-size', get: (c) => String(c.segmentBytes) },
  { name: 'merge-dead-ratio', get: (c) => String(c.mergeDeadRatio) },
  { name: 'merge-dead-bytes-min', get: (c) => String(c.mergeDeadBytesMin) },
  {
    name: 'loglevel',
    get: (c) => c.logLevel,
    set: (c, v) => {
      const level = v.toLowerCase()
      if (!isRedisLogLevel(level)) parseOneOf(v, redisLogLevels)
      else c.logLevel = level
    },
  },
  { name: 'enable-debug-command', get: (c) => c.enableDebugCommand },
  {
    name: 'notify-keyspace-events',
    get: (c) => formatNotifyFlags(c.notifyKeyspaceEvents),
    set: (c, v) => {
      const flags = parseNotifyFlags(v)
      if (flags === null) throw new Error(invalidNotifyFlagsMessage)
      c.notifyKeyspaceEvents = flags
    },
  },
  {
    name: 'timeout',
    get: (c) => String(c.timeoutSeconds),
    set: (c, v) => {
      c.timeoutSeconds = parseIntegerIn(v, 0, 2147483647)
    },
  },
]

function setFailed(name: string, reason: string): CaskadeError {
  return new CaskadeError(
    ErrorCode.Err,
    `CONFIG SET failed (possibly related to argument '${name}') - ${reason}`,
  )
}

function copyConfig(config: ServerConfig): ServerConfig {
  return structuredClone(config)
}

/** Validates every pair on a copy; returns the names changed, in order. Throws Redis's text. */
function validatePairs(
  entryByName: ReadonlyMap<string, ConfigEntry>,
  draft: ServerConfig,
  pairs: ReadonlyArray<[string, string]>,
): ConfigEntry[] {
  const seen = new Set<string>()
  const changed: ConfigEntry[] = []
  for (const [rawName] of pairs) {
    const name = rawName.toLowerCase()
    const entry = entryByName.get(name)
    if (entry === undefined) {
      throw new CaskadeError(
        ErrorCode.Err,
        `Unknown option or number of arguments for CONFIG SET - '${rawName}'`,
      )
    }
    if (entry.set === undefined) throw setFailed(name, "can't set immutable config")
    if (seen.has(name)) throw setFailed(name, 'duplicate parameter')
    seen.add(name)
    changed.push(entry)
  }
  pairs.forEach(([, value], index) => {
    const entry = changed[index] as ConfigEntry
    try {
      entry.set?.(draft, value)
    } catch (error) {
      throw setFailed(entry.name, error instanceof Error ? error.message : String(error))
    }
  })
  return changed
}

export interface LiveConfigRegistry extends ConfigRegistry {
  /** The live configuration object; mutated in place by a successful SET. */
  readonly current: ServerConfig
}

export interface ConfigRegistryOptions {
  /** False when the engine cannot change its fsync policy live: appendfsync is then immutable. */
  fsyncSettable: boolean
}

export function createConfigRegistry(
  config: ServerConfig,
  onApplied: (names: readonly string[]) => void,
  options: ConfigRegistryOptions = { fsyncSettable: true },
): LiveConfigRegistry {
  const entryByName = new Map(
    entries.map((entry) => {
      const immutable = entry.name === 'appendfsync' && !options.fsyncSettable
      return [entry.name, immutable ? { name: entry.name, get: entry.get } : entry]
    }),
  )
  return {
    current: config,
    get(patterns: readonly string[]): Array<[string, string]> {
      const compiled = patterns.map((pattern) => Buffer.from(pattern))
      const result: Array<[string, string]> = []
      for (const entry of entries) {
        const subject = Buffer.from(entry.name)
        if (compiled.some((pattern) => globMatch(pattern, subject, true))) {
          result.push([entry.name, entry.get(config)])
        }
      }
      return result
    },
    set(pairs: ReadonlyArray<[string, string]>): void {
      const draft = copyConfig(config)
      const changed = validatePairs(entryByName, draft, pairs)
      Object.assign(config, draft)
      onApplied(changed.map((entry) => entry.name))
    },
  }
}
