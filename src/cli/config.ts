/* Configuration loading for `caskade server`: one zod schema per option with its default, merged
 * flags > CASKADE_* environment > TOML file > defaults. Invariant: a bad value is reported with
 * its option name, the source it came from and the value itself, before anything starts. */
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'
import { redisLogLevels } from '../obs/logger.js'
import {
  defaultOutputBufferLimits,
  debugCommandPolicies,
  defaultServerConfig,
  parseMemoryBytes,
  parseOutputBufferLimits,
  type ServerConfig,
} from '../server/config.js'
import { invalidNotifyFlagsMessage, parseNotifyFlags } from '../commands/notify.js'
import {
  nodeNamePattern,
  parseHostPort,
  parseHostPortList,
  parsePeerOverrides,
  type ClusterSettings,
} from '../server/cluster-config.js'

/** A configuration mistake: main prints the message (no stack) and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const oneMiB = 1024 * 1024

function sizeSchema(min: number) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const bytes = typeof value === 'number' ? value : parseMemoryBytes(value.trim())
      if (bytes === null || !Number.isSafeInteger(bytes) || bytes < 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a size such as 1048576, 64mb or 1gb' })
        return z.NEVER
      }
      return bytes
    })
    .pipe(z.number().min(min, { message: `must be at least ${min} bytes` }))
}

function integerSchema(min: number, max: number) {
  return z.coerce
    .number({ message: 'expected an integer' })
    .int({ message: 'expected an integer' })
    .min(min, { message: `must be between ${min} and ${max}` })
    .max(max, { message: `must be between ${min} and ${max}` })
}

const defaults = defaultServerConfig()

/** A parser that throws a message becomes a zod transform reporting that message. */
function parsedBy<In, Out>(parse: (value: In) => Out) {
  return (value: In, ctx: z.RefinementCtx): Out => {
    try {
      return parse(value)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  }
}

/** Commander gives a boolean flag as true; env and TOML may say "yes"/"true"/true. */
const booleanSchema = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value
  const lower = value.trim().toLowerCase()
  if (['true', 'yes', '1'].includes(lower)) return true
  if (['false', 'no', '0'].includes(lower)) return false
  ctx.addIssue({ code: 'custom', message: 'expected true or false' })
  return z.NEVER
})

/** Every option: its schema (with default) keyed by its flag/TOML name. */
export const optionSchemas = {
  port: integerSchema(0, 65535).default(defaults.port),
  bind: z
    .union([z.string(), z.array(z.string())])
    .transform((value) =>
      (Array.isArray(value) ? value : value.split(/\s+/)).filter((part) => part.length > 0),
    )
    .pipe(z.array(z.string()).min(1, { message: 'expected at least one address' }))
    .default(defaults.bind),
  dir: z.string().min(1, { message: 'must not be empty' }).default(defaults.dir),
  fsync: z.enum(['always', 'everysec', 'no']).default(defaults.fsync),
  'log-level': z.enum(redisLogLevels).default(defaults.logLevel),
  maxclients: integerSchema(1, 1_000_000).default(defaults.maxclients),
  'proto-max-bulk-len': sizeSchema(oneMiB).default(defaults.protoMaxBulkLen),
  'client-query-buffer-limit': sizeSchema(oneMiB).default(defaults.clientQueryBufferLimit),
  'client-output-buffer-limit': z
    .string()
    .transform((value, ctx) => {
      try {
        return parseOutputBufferLimits(value, defaultOutputBufferLimits())
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message })
        return z.NEVER
      }
    })
    .default(defaultOutputBufferLimits()),
  'segment-size': sizeSchema(4096).default(defaults.segmentBytes),
  'merge-dead-ratio': z.coerce
    .number({ message: 'expected a number' })
    .min(0, { message: 'must be between 0 and 1' })
    .max(1, { message: 'must be between 0 and 1' })
    .default(defaults.mergeDeadRatio),
  'merge-dead-bytes-min': sizeSchema(0).default(defaults.mergeDeadBytesMin),
  timeout: integerSchema(0, 2147483647).default(defaults.timeoutSeconds),
  'enable-debug-command': z.enum(debugCommandPolicies).default(defaults.enableDebugCommand),
  'notify-keyspace-events': z
    .string()
    .transform((value, ctx) => {
      const flags = parseNotifyFlags(value)
      if (flags !== null) return flags
      ctx.addIssue({ code: 'custom', message: invalidNotifyFlagsMessage })
      return z.NEVER
    })
    .default(defaults.notifyKeyspaceEvents),
  'node-id': z
    .string()
    .regex(nodeNamePattern, { message: 'expected 1 to 64 of A-Z a-z 0-9 _ -' })
    .optional(),
  'cluster-port': integerSchema(0, 65535).optional(),
  'cluster-host': z
    .string()
    .min(1, { message: 'must not be empty' })
    .default(defaults.cluster.clusterHost),
  'cluster-advertise': z.string().transform(parsedBy(parseHostPort)).optional(),
  bootstrap: booleanSchema.default(false),
  join: z
    .union([z.string(), z.array(z.string())])
    .transform(parsedBy(parseHostPortList))
    .optional(),
  'peer-override': z
    .union([z.string(), z.record(z.string(), z.string())])
    .transform(parsedBy(parsePeerOverrides))
    .optional(),
  'snapshot-interval': integerSchema(1, 1_000_000_000).default(
    defaults.cluster.snapshotEveryEntries,
  ),
} as const

export type OptionName = keyof typeof optionSchemas
type ParsedOptions = { [K in OptionName]: z.output<(typeof optionSchemas)[K]> }
export const optionNames = Object.keys(optionSchemas) as OptionName[]

/** CASKADE_ + the option name in upper snake case: log-level -> CASKADE_LOG_LEVEL. */
export function envNameOf(option: string): string {
  return `CASKADE_${option.toUpperCase().replace(/-/g, '_')}`
}

export type Source =
  { kind: 'flag' } | { kind: 'env'; name: string } | { kind: 'file'; path: string }

function describeSource(source: Source, option: string): string {
  if (source.kind === 'flag') return `flag --${option}`
  if (source.kind === 'env') return `environment variable ${source.name}`
  return `config file ${source.path}`
}

export interface ConfigInputs {
  /** Flag values by option name (commander's values; undefined when not given). */
  flags: Partial<Record<OptionName | 'config', unknown>>
  env: Readonly<Record<string, string | undefined>>
  readFile: (path: string) => string
}

function readTomlFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  let table: Record<string, unknown>
  try {
    table = parseToml(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid TOML: ${(error as Error).message}`)
  }
  for (const key of Object.keys(table)) {
    if (!(optionNames as string[]).includes(key)) {
      throw new ConfigError(`unknown option '${key}' in config file ${path}`)
    }
  }
  return table
}

function pickValue(
  option: OptionName,
  inputs: ConfigInputs,
  file: { path: string; table: Record<string, unknown> } | null,
): { value: unknown; source: Source } | null {
  const flag = inputs.flags[option]
  if (flag !== undefined) return { value: flag, source: { kind: 'flag' } }
  const envName = envNameOf(option)
  const envValue = inputs.env[envName]
  if (envValue !== undefined && envValue !== '') {
    return { value: envValue, source: { kind: 'env', name: envName } }
  }
  if (file !== null && option in file.table) {
    return { value: file.table[option], source: { kind: 'file', path: file.path } }
  }
  return null
}

function validateOption(option: OptionName, picked: { value: unknown; source: Source }): unknown {
  const result = optionSchemas[option].safeParse(picked.value)
  if (result.success) return result.data
  const reason = result.error.issues[0]?.message ?? 'invalid value'
  const shown = typeof picked.value === 'string' ? picked.value : JSON.stringify(picked.value)
  throw new ConfigError(
    `invalid value for '${option}' from ${describeSource(picked.source, option)}: ` +
      `'${shown}' (${reason})`,
  )
}

/** Merges the sources and validates every option; throws ConfigError naming key/source/value. */
export function loadConfig(inputs: ConfigInputs): ServerConfig {
  const configFlag = inputs.flags.config
  const configPath =
    typeof configFlag === 'string' ? configFlag : (inputs.env[envNameOf('config')] ?? null)
  const file =
    configPath === null || configPath === ''
      ? null
      : { path: configPath, table: readTomlFile(configPath, inputs.readFile) }
  const values: Partial<Record<OptionName, unknown>> = {}
  for (const option of optionNames) {
    const picked = pickValue(option, inputs, file)
    values[option] =
      picked === null ? optionSchemas[option].parse(undefined) : validateOption(option, picked)
  }
  // Every option was validated by its own schema above, so the shape holds by construction.
  const parsed = values as ParsedOptions
  return {
    port: parsed.port,
    bind: parsed.bind,
    dir: parsed.dir,
    fsync: parsed.fsync,
    maxclients: parsed.maxclients,
    protoMaxBulkLen: parsed['proto-max-bulk-len'],
    clientQueryBufferLimit: parsed['client-query-buffer-limit'],
    clientOutputBufferLimit: parsed['client-output-buffer-limit'],
    segmentBytes: parsed['segment-size'],
    mergeDeadRatio: parsed['merge-dead-ratio'],
    mergeDeadBytesMin: parsed['merge-dead-bytes-min'],
    logLevel: parsed['log-level'],
    timeoutSeconds: parsed.timeout,
    enableDebugCommand: parsed['enable-debug-command'],
    configFile: file?.path ?? null,
    notifyKeyspaceEvents: parsed['notify-keyspace-events'],
    cluster: clusterSettingsOf(parsed),
  }
}

/** Cross-option rules of cluster mode, checked once every option is valid on its own. */
function clusterSettingsOf(parsed: ParsedOptions): ClusterSettings {
  const nodeId = parsed['node-id'] ?? null
  const clusterPort = parsed['cluster-port'] ?? null
  const join = parsed.join ?? []
  if (parsed.bootstrap && join.length > 0) {
    throw new ConfigError("options 'bootstrap' and 'join' are mutually exclusive")
  }
  if ((parsed.bootstrap || join.length > 0) && nodeId === null) {
    throw new ConfigError(`option '${parsed.bootstrap ? 'bootstrap' : 'join'}' needs 'node-id'`)
  }
  if (nodeId !== null && clusterPort === null) {
    throw new ConfigError("cluster mode ('node-id') needs 'cluster-port'")
  }
  return {
    nodeId,
    clusterPort,
    clusterHost: parsed['cluster-host'],
    clusterAdvertise: parsed['cluster-advertise'] ?? null,
    bootstrap: parsed.bootstrap,
    join,
    peerOverride: parsed['peer-override'] ?? new Map(),
    snapshotEveryEntries: parsed['snapshot-interval'],
  }
}
