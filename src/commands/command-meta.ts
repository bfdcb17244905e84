/* Redis 7.0.15's metadata for the commands caskade serves, beyond what a CommandSpec holds: ACL
 * categories, command tips, key specs and the COMMAND DOCS extras (history, doc flags, argument
 * trees). Copied from `COMMAND INFO` / `COMMAND DOCS` of redis-server 7.0.15 (CLIENT NO-TOUCH and
 * CLIENT SETINFO from Redis 7.2), so COMMAND replies match Redis byte for byte and redis-cli can
 * build its hints. A command missing here gets categories and a key spec derived from its spec. */

export type ArgumentType =
  | 'key'
  | 'string'
  | 'integer'
  | 'double'
  | 'pattern'
  | 'unix-time'
  | 'pure-token'
  | 'oneof'
  | 'block'

export interface ArgumentDoc {
  readonly name: string
  readonly type: ArgumentType
  readonly keySpecIndex?: number
  readonly token?: string
  readonly summary?: string
  readonly since?: string
  readonly deprecatedSince?: string
  readonly flags?: readonly string[]
  /** Only for 'oneof' and 'block'. */
  readonly arguments?: readonly ArgumentDoc[]
}

/** A key spec with begin_search "index" and find_keys "range" (all caskade needs so far). */
export interface KeySpec {
  readonly notes?: string
  readonly flags: readonly string[]
  /** begin_search index: position of the first key. */
  readonly index: number
  /** find_keys range: last key relative to the first (negative: counted from the end). */
  readonly lastKey: number
  readonly keyStep: number
  readonly limit: number
}

export interface CommandMeta {
  /** ACL categories without the '@', in Redis's order. */
  readonly acl: readonly string[]
  readonly tips?: readonly string[]
  readonly keySpecs?: readonly KeySpec[]
  readonly docFlags?: readonly string[]
  readonly deprecatedSince?: string
  readonly replacedBy?: string
  readonly history?: ReadonlyArray<readonly [version: string, change: string]>
  readonly arguments?: readonly ArgumentDoc[]
}

/** Keyed by full name ('get', 'client|list'). */
export const commandMeta: ReadonlyMap<string, CommandMeta> = new Map<string, CommandMeta>([
  [
    'get',
    {
      acl: ['read', 'string', 'fast'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'set',
    {
      acl: ['write', 'string', 'slow'],
      keySpecs: [
        {
          notes: 'RW and ACCESS due to the optional `GET` argument',
          flags: ['RW', 'access', 'update', 'variable_flags'],
          index: 1,
          lastKey: 0,
          keyStep: 1,
          limit: 0,
        },
      ],
      history: [
        ['2.6.12', 'Added the `EX`, `PX`, `NX` and `XX` options.'],
        ['6.0.0', 'Added the `KEEPTTL` option.'],
        ['6.2.0', 'Added the `GET`, `EXAT` and `PXAT` option.'],
        ['7.0.0', 'Allowed the `NX` and `GET` options to be used together.'],
      ],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'value', type: 'string' },
        {
          name: 'condition',
          type: 'oneof',
          since: '2.6.12',
          flags: ['optional'],
          arguments: [
            { name: 'nx', type: 'pure-token', token: 'NX' },
            { name: 'xx', type: 'pure-token', token: 'XX' },
          ],
        },
        { name: 'get', type: 'pure-token', token: 'GET', since: '6.2.0', flags: ['optional'] },
        {
          name: 'expiration',
          type: 'oneof',
          flags: ['optional'],
          arguments: [
            { name: 'seconds', type: 'integer', token: 'EX', since: '2.6.12' },
            { name: 'milliseconds', type: 'integer', token: 'PX', since: '2.6.12' },
            { name: 'unix-time-seconds', type: 'unix-time', token: 'EXAT', since: '6.2.0' },
            { name: 'unix-time-milliseconds', type: 'unix-time', token: 'PXAT', since: '6.2.0' },
            { name: 'keepttl', type: 'pure-token', token: 'KEEPTTL', since: '6.0.0' },
          ],
        },
      ],
    },
  ],
  [
    'setnx',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['OW', 'insert'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'setex',
    {
      acl: ['write', 'string', 'slow'],
      keySpecs: [{ flags: ['OW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'seconds', type: 'integer' },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'psetex',
    {
      acl: ['write', 'string', 'slow'],
      keySpecs: [{ flags: ['OW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'milliseconds', type: 'integer' },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'mget',
    {
      acl: ['read', 'string', 'fast'],
      tips: ['request_policy:multi_shard'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  [
    'mset',
    {
      acl: ['write', 'string', 'slow'],
      tips: ['request_policy:multi_shard', 'response_policy:all_succeeded'],
      keySpecs: [{ flags: ['OW', 'update'], index: 1, lastKey: -1, keyStep: 2, limit: 0 }],
      arguments: [
        {
          name: 'key_value',
          type: 'block',
          flags: ['multiple'],
          arguments: [
            { name: 'key', type: 'key', keySpecIndex: 0 },
            { name: 'value', type: 'string' },
          ],
        },
      ],
    },
  ],
  [
    'msetnx',
    {
      acl: ['write', 'string', 'slow'],
      tips: ['request_policy:multi_shard', 'response_policy:agg_min'],
      keySpecs: [{ flags: ['OW', 'insert'], index: 1, lastKey: -1, keyStep: 2, limit: 0 }],
      arguments: [
        {
          name: 'key_value',
          type: 'block',
          flags: ['multiple'],
          arguments: [
            { name: 'key', type: 'key', keySpecIndex: 0 },
            { name: 'value', type: 'string' },
          ],
        },
      ],
    },
  ],
  [
    'getset',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      docFlags: ['deprecated'],
      deprecatedSince: '6.2.0',
      replacedBy: '`SET` with the `!GET` argument',
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'getdel',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'delete'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'getex',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [
        {
          notes: 'RW and UPDATE because it changes the TTL',
          flags: ['RW', 'access', 'update'],
          index: 1,
          lastKey: 0,
          keyStep: 1,
          limit: 0,
        },
      ],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        {
          name: 'expiration',
          type: 'oneof',
          flags: ['optional'],
          arguments: [
            { name: 'seconds', type: 'integer', token: 'EX' },
            { name: 'milliseconds', type: 'integer', token: 'PX' },
            { name: 'unix-time-seconds', type: 'unix-time', token: 'EXAT' },
            { name: 'unix-time-milliseconds', type: 'unix-time', token: 'PXAT' },
            { name: 'persist', type: 'pure-token', token: 'PERSIST' },
          ],
        },
      ],
    },
  ],
  [
    'incr',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'decr',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'incrby',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'increment', type: 'integer' },
      ],
    },
  ],
  [
    'decrby',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'decrement', type: 'integer' },
      ],
    },
  ],
  [
    'incrbyfloat',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'access', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'increment', type: 'double' },
      ],
    },
  ],
  [
    'append',
    {
      acl: ['write', 'string', 'fast'],
      keySpecs: [{ flags: ['RW', 'insert'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'strlen',
    {
      acl: ['read', 'string', 'fast'],
      keySpecs: [{ flags: ['RO'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'getrange',
    {
      acl: ['read', 'string', 'slow'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'start', type: 'integer' },
        { name: 'end', type: 'integer' },
      ],
    },
  ],
  [
    'setrange',
    {
      acl: ['write', 'string', 'slow'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'offset', type: 'integer' },
        { name: 'value', type: 'string' },
      ],
    },
  ],
  [
    'substr',
    {
      acl: ['read', 'string', 'slow'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      docFlags: ['deprecated'],
      deprecatedSince: '2.0.0',
      replacedBy: '`GETRANGE`',
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'start', type: 'integer' },
        { name: 'end', type: 'integer' },
      ],
    },
  ],
  [
    'del',
    {
      acl: ['keyspace', 'write', 'slow'],
      tips: ['request_policy:multi_shard', 'response_policy:agg_sum'],
      keySpecs: [{ flags: ['RM', 'delete'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  [
    'unlink',
    {
      acl: ['keyspace', 'write', 'fast'],
      tips: ['request_policy:multi_shard', 'response_policy:agg_sum'],
      keySpecs: [{ flags: ['RM', 'delete'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  [
    'exists',
    {
      acl: ['keyspace', 'read', 'fast'],
      tips: ['request_policy:multi_shard', 'response_policy:agg_sum'],
      keySpecs: [{ flags: ['RO'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      history: [['3.0.3', 'Accepts multiple `key` arguments.']],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  [
    'type',
    {
      acl: ['keyspace', 'read', 'fast'],
      keySpecs: [{ flags: ['RO'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'rename',
    {
      acl: ['keyspace', 'write', 'slow'],
      keySpecs: [
        { flags: ['RW', 'access', 'delete'], index: 1, lastKey: 0, keyStep: 1, limit: 0 },
        { flags: ['OW', 'update'], index: 2, lastKey: 0, keyStep: 1, limit: 0 },
      ],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'newkey', type: 'key', keySpecIndex: 1 },
      ],
    },
  ],
  [
    'renamenx',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [
        { flags: ['RW', 'access', 'delete'], index: 1, lastKey: 0, keyStep: 1, limit: 0 },
        { flags: ['OW', 'insert'], index: 2, lastKey: 0, keyStep: 1, limit: 0 },
      ],
      history: [
        [
          '3.2.0',
          'The command no longer returns an error when source and destination names are the same.',
        ],
      ],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'newkey', type: 'key', keySpecIndex: 1 },
      ],
    },
  ],
  [
    'keys',
    {
      acl: ['keyspace', 'read', 'slow', 'dangerous'],
      tips: ['request_policy:all_shards', 'nondeterministic_output_order'],
      arguments: [{ name: 'pattern', type: 'pattern' }],
    },
  ],
  [
    'scan',
    {
      acl: ['keyspace', 'read', 'slow'],
      tips: ['nondeterministic_output', 'request_policy:special'],
      history: [['6.0.0', 'Added the `TYPE` subcommand.']],
      arguments: [
        { name: 'cursor', type: 'integer' },
        { name: 'pattern', type: 'pattern', token: 'MATCH', flags: ['optional'] },
        { name: 'count', type: 'integer', token: 'COUNT', flags: ['optional'] },
        { name: 'type', type: 'string', token: 'TYPE', since: '6.0.0', flags: ['optional'] },
      ],
    },
  ],
  [
    'randomkey',
    {
      acl: ['keyspace', 'read', 'slow'],
      tips: ['request_policy:all_shards', 'nondeterministic_output'],
    },
  ],
  [
    'expire',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'seconds', type: 'integer' },
        {
          name: 'condition',
          type: 'oneof',
          since: '7.0.0',
          flags: ['optional'],
          arguments: [
            { name: 'nx', type: 'pure-token', token: 'NX' },
            { name: 'xx', type: 'pure-token', token: 'XX' },
            { name: 'gt', type: 'pure-token', token: 'GT' },
            { name: 'lt', type: 'pure-token', token: 'LT' },
          ],
        },
      ],
    },
  ],
  [
    'pexpire',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'milliseconds', type: 'integer' },
        {
          name: 'condition',
          type: 'oneof',
          since: '7.0.0',
          flags: ['optional'],
          arguments: [
            { name: 'nx', type: 'pure-token', token: 'NX' },
            { name: 'xx', type: 'pure-token', token: 'XX' },
            { name: 'gt', type: 'pure-token', token: 'GT' },
            { name: 'lt', type: 'pure-token', token: 'LT' },
          ],
        },
      ],
    },
  ],
  [
    'expireat',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'unix-time-seconds', type: 'unix-time' },
        {
          name: 'condition',
          type: 'oneof',
          since: '7.0.0',
          flags: ['optional'],
          arguments: [
            { name: 'nx', type: 'pure-token', token: 'NX' },
            { name: 'xx', type: 'pure-token', token: 'XX' },
            { name: 'gt', type: 'pure-token', token: 'GT' },
            { name: 'lt', type: 'pure-token', token: 'LT' },
          ],
        },
      ],
    },
  ],
  [
    'pexpireat',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['7.0.0', 'Added options: `NX`, `XX`, `GT` and `LT`.']],
      arguments: [
        { name: 'key', type: 'key', keySpecIndex: 0 },
        { name: 'unix-time-milliseconds', type: 'unix-time' },
        {
          name: 'condition',
          type: 'oneof',
          since: '7.0.0',
          flags: ['optional'],
          arguments: [
            { name: 'nx', type: 'pure-token', token: 'NX' },
            { name: 'xx', type: 'pure-token', token: 'XX' },
            { name: 'gt', type: 'pure-token', token: 'GT' },
            { name: 'lt', type: 'pure-token', token: 'LT' },
          ],
        },
      ],
    },
  ],
  [
    'ttl',
    {
      acl: ['keyspace', 'read', 'fast'],
      tips: ['nondeterministic_output'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['2.8.0', 'Added the -2 reply.']],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'pttl',
    {
      acl: ['keyspace', 'read', 'fast'],
      tips: ['nondeterministic_output'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      history: [['2.8.0', 'Added the -2 reply.']],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'expiretime',
    {
      acl: ['keyspace', 'read', 'fast'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'pexpiretime',
    {
      acl: ['keyspace', 'read', 'fast'],
      keySpecs: [{ flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'persist',
    {
      acl: ['keyspace', 'write', 'fast'],
      keySpecs: [{ flags: ['RW', 'update'], index: 1, lastKey: 0, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0 }],
    },
  ],
  [
    'touch',
    {
      acl: ['keyspace', 'read', 'fast'],
      tips: ['request_policy:multi_shard', 'response_policy:agg_sum'],
      keySpecs: [{ flags: ['RO'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  [
    'copy',
    {
      acl: ['keyspace', 'write', 'slow'],
      keySpecs: [
        { flags: ['RO', 'access'], index: 1, lastKey: 0, keyStep: 1, limit: 0 },
        { flags: ['OW', 'update'], index: 2, lastKey: 0, keyStep: 1, limit: 0 },
      ],
      arguments: [
        { name: 'source', type: 'key', keySpecIndex: 0 },
        { name: 'destination', type: 'key', keySpecIndex: 1 },
        { name: 'destination-db', type: 'integer', token: 'DB', flags: ['optional'] },
        { name: 'replace', type: 'pure-token', token: 'REPLACE', flags: ['optional'] },
      ],
    },
  ],
  [
    'ping',
    {
      acl: ['fast', 'connection'],
      tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      arguments: [{ name: 'message', type: 'string', flags: ['optional'] }],
    },
  ],
  ['echo', { acl: ['fast', 'connection'], arguments: [{ name: 'message', type: 'string' }] }],
  [
    'hello',
    {
      acl: ['fast', 'connection'],
      history: [
        [
          '6.2.0',
          "`protover` made optional; when called without arguments the command reports the current connection's context.",
        ],
      ],
      arguments: [
        {
          name: 'arguments',
          type: 'block',
          flags: ['optional'],
          arguments: [
            { name: 'protover', type: 'integer' },
            {
              name: 'username_password',
              type: 'block',
              token: 'AUTH',
              flags: ['optional'],
              arguments: [
                { name: 'username', type: 'string' },
                { name: 'password', type: 'string' },
              ],
            },
            { name: 'clientname', type: 'string', token: 'SETNAME', flags: ['optional'] },
          ],
        },
      ],
    },
  ],
  ['select', { acl: ['fast', 'connection'], arguments: [{ name: 'index', type: 'integer' }] }],
  ['quit', { acl: ['fast', 'connection'] }],
  ['reset', { acl: ['fast', 'connection'] }],
  ['client', { acl: ['slow'] }],
  ['client|id', { acl: ['slow', 'connection'] }],
  [
    'client|setname',
    { acl: ['slow', 'connection'], arguments: [{ name: 'connection-name', type: 'string' }] },
  ],
  ['client|getname', { acl: ['slow', 'connection'] }],
  [
    'client|list',
    {
      acl: ['admin', 'slow', 'dangerous', 'connection'],
      tips: ['nondeterministic_output'],
      history: [
        ['2.8.12', 'Added unique client `id` field.'],
        ['5.0.0', 'Added optional `TYPE` filter.'],
        ['6.0.0', 'Added `user` field.'],
        [
          '6.2.0',
          'Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter.',
        ],
        ['7.0.0', 'Added `resp`, `multi-mem`, `rbs` and `rbp` fields.'],
        ['7.0.3', 'Added `ssub` field.'],
      ],
      arguments: [
        {
          name: 'normal_master_replica_pubsub',
          type: 'oneof',
          token: 'TYPE',
          since: '5.0.0',
          flags: ['optional'],
          arguments: [
            { name: 'normal', type: 'pure-token', token: 'NORMAL' },
            { name: 'master', type: 'pure-token', token: 'MASTER' },
            { name: 'replica', type: 'pure-token', token: 'REPLICA' },
            { name: 'pubsub', type: 'pure-token', token: 'PUBSUB' },
          ],
        },
        {
          name: 'id',
          type: 'block',
          token: 'ID',
          since: '6.2.0',
          flags: ['optional'],
          arguments: [{ name: 'client-id', type: 'integer', flags: ['multiple'] }],
        },
      ],
    },
  ],
  ['client|info', { acl: ['slow', 'connection'], tips: ['nondeterministic_output'] }],
  [
    'client|kill',
    {
      acl: ['admin', 'slow', 'dangerous', 'connection'],
      history: [
        ['2.8.12', 'Added new filter format.'],
        ['2.8.12', '`ID` option.'],
        ['3.2.0', 'Added `master` type in for `TYPE` option.'],
        [
          '5.0.0',
          'Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.',
        ],
        ['6.2.0', '`LADDR` option.'],
      ],
      arguments: [
        {
          name: 'filter',
          type: 'oneof',
          arguments: [
            { name: 'ip:port', type: 'string', deprecatedSince: '2.8.12' },
            {
              name: 'new-format',
              type: 'oneof',
              flags: ['multiple'],
              arguments: [
                {
                  name: 'client-id',
                  type: 'integer',
                  token: 'ID',
                  since: '2.8.12',
                  flags: ['optional'],
                },
                {
                  name: 'normal_master_slave_pubsub',
                  type: 'oneof',
                  token: 'TYPE',
                  since: '2.8.12',
                  flags: ['optional'],
                  arguments: [
                    { name: 'normal', type: 'pure-token', token: 'NORMAL' },
                    { name: 'master', type: 'pure-token', token: 'MASTER', since: '3.2.0' },
                    { name: 'slave', type: 'pure-token', token: 'SLAVE' },
                    { name: 'replica', type: 'pure-token', token: 'REPLICA', since: '5.0.0' },
                    { name: 'pubsub', type: 'pure-token', token: 'PUBSUB' },
                  ],
                },
                { name: 'username', type: 'string', token: 'USER', flags: ['optional'] },
                { name: 'ip:port', type: 'string', token: 'ADDR', flags: ['optional'] },
                {
                  name: 'ip:port',
                  type: 'string',
                  token: 'LADDR',
                  since: '6.2.0',
                  flags: ['optional'],
                },
                { name: 'yes/no', type: 'string', token: 'SKIPME', flags: ['optional'] },
              ],
            },
          ],
        },
      ],
    },
  ],
  [
    'client|no-evict',
    {
      acl: ['admin', 'slow', 'dangerous', 'connection'],
      arguments: [
        {
          name: 'enabled',
          type: 'oneof',
          arguments: [
            { name: 'on', type: 'pure-token', token: 'ON' },
            { name: 'off', type: 'pure-token', token: 'OFF' },
          ],
        },
      ],
    },
  ],
  [
    'client|no-touch',
    {
      acl: ['slow', 'connection'],
      arguments: [
        {
          name: 'enabled',
          type: 'oneof',
          arguments: [
            { name: 'on', type: 'pure-token', token: 'ON' },
            { name: 'off', type: 'pure-token', token: 'OFF' },
          ],
        },
      ],
    },
  ],
  [
    'client|setinfo',
    {
      acl: ['slow', 'connection'],
      arguments: [
        {
          name: 'attr',
          type: 'oneof',
          arguments: [
            { name: 'libname', type: 'string', token: 'LIB-NAME' },
            { name: 'libver', type: 'string', token: 'LIB-VER' },
          ],
        },
      ],
    },
  ],
  [
    'client|reply',
    {
      acl: ['slow', 'connection'],
      arguments: [
        {
          name: 'on_off_skip',
          type: 'oneof',
          arguments: [
            { name: 'on', type: 'pure-token', token: 'ON' },
            { name: 'off', type: 'pure-token', token: 'OFF' },
            { name: 'skip', type: 'pure-token', token: 'SKIP' },
          ],
        },
      ],
    },
  ],
  ['client|help', { acl: ['slow', 'connection'] }],
  [
    'auth',
    {
      acl: ['fast', 'connection'],
      history: [['6.0.0', 'Added ACL style (username and password).']],
      arguments: [
        { name: 'username', type: 'string', since: '6.0.0', flags: ['optional'] },
        { name: 'password', type: 'string' },
      ],
    },
  ],
  [
    'info',
    {
      acl: ['slow', 'dangerous'],
      tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'],
      history: [['7.0.0', 'Added support for taking multiple section arguments.']],
      arguments: [{ name: 'section', type: 'string', flags: ['optional', 'multiple'] }],
    },
  ],
  [
    'dbsize',
    {
      acl: ['keyspace', 'read', 'fast'],
      tips: ['request_policy:all_shards', 'response_policy:agg_sum'],
    },
  ],
  [
    'flushdb',
    {
      acl: ['keyspace', 'write', 'slow', 'dangerous'],
      tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      history: [
        ['4.0.0', 'Added the `ASYNC` flushing mode modifier.'],
        ['6.2.0', 'Added the `SYNC` flushing mode modifier.'],
      ],
      arguments: [
        {
          name: 'async',
          type: 'oneof',
          flags: ['optional'],
          arguments: [
            { name: 'async', type: 'pure-token', token: 'ASYNC', since: '4.0.0' },
            { name: 'sync', type: 'pure-token', token: 'SYNC', since: '6.2.0' },
          ],
        },
      ],
    },
  ],
  [
    'flushall',
    {
      acl: ['keyspace', 'write', 'slow', 'dangerous'],
      tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      history: [
        ['4.0.0', 'Added the `ASYNC` flushing mode modifier.'],
        ['6.2.0', 'Added the `SYNC` flushing mode modifier.'],
      ],
      arguments: [
        {
          name: 'async',
          type: 'oneof',
          flags: ['optional'],
          arguments: [
            { name: 'async', type: 'pure-token', token: 'ASYNC', since: '4.0.0' },
            { name: 'sync', type: 'pure-token', token: 'SYNC', since: '6.2.0' },
          ],
        },
      ],
    },
  ],
  ['time', { acl: ['fast'], tips: ['nondeterministic_output'] }],
  ['config', { acl: ['slow'] }],
  [
    'config|get',
    {
      acl: ['admin', 'slow', 'dangerous'],
      history: [['7.0.0', 'Added the ability to pass multiple pattern parameters in one call']],
      arguments: [
        {
          name: 'parameter',
          type: 'block',
          flags: ['multiple'],
          arguments: [{ name: 'parameter', type: 'string' }],
        },
      ],
    },
  ],
  [
    'config|set',
    {
      acl: ['admin', 'slow', 'dangerous'],
      tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'],
      history: [['7.0.0', 'Added the ability to set multiple parameters in one call.']],
      arguments: [
        {
          name: 'parameter_value',
          type: 'block',
          flags: ['multiple'],
          arguments: [
            { name: 'parameter', type: 'string' },
            { name: 'value', type: 'string' },
          ],
        },
      ],
    },
  ],
  ['config|resetstat', { acl: ['admin', 'slow', 'dangerous'] }],
  ['config|help', { acl: ['slow'] }],
  ['command', { acl: ['slow', 'connection'], tips: ['nondeterministic_output_order'] }],
  ['command|count', { acl: ['slow', 'connection'] }],
  [
    'command|list',
    {
      acl: ['slow', 'connection'],
      tips: ['nondeterministic_output_order'],
      arguments: [
        {
          name: 'filterby',
          type: 'oneof',
          token: 'FILTERBY',
          flags: ['optional'],
          arguments: [
            { name: 'module-name', type: 'string', token: 'MODULE' },
            { name: 'category', type: 'string', token: 'ACLCAT' },
            { name: 'pattern', type: 'pattern', token: 'PATTERN' },
          ],
        },
      ],
    },
  ],
  [
    'command|info',
    {
      acl: ['slow', 'connection'],
      tips: ['nondeterministic_output_order'],
      history: [['7.0.0', 'Allowed to be called with no argument to get info on all commands.']],
      arguments: [{ name: 'command-name', type: 'string', flags: ['optional', 'multiple'] }],
    },
  ],
  [
    'command|docs',
    {
      acl: ['slow', 'connection'],
      tips: ['nondeterministic_output_order'],
      arguments: [{ name: 'command-name', type: 'string', flags: ['optional', 'multiple'] }],
    },
  ],
  ['command|getkeys', { acl: ['slow', 'connection'] }],
  ['command|getkeysandflags', { acl: ['slow', 'connection'] }],
  ['command|help', { acl: ['slow', 'connection'] }],
  [
    'shutdown',
    {
      acl: ['admin', 'slow', 'dangerous'],
      history: [['7.0.0', 'Added the `NOW`, `FORCE` and `ABORT` modifiers.']],
      arguments: [
        {
          name: 'nosave_save',
          type: 'oneof',
          flags: ['optional'],
          arguments: [
            { name: 'nosave', type: 'pure-token', token: 'NOSAVE' },
            { name: 'save', type: 'pure-token', token: 'SAVE' },
          ],
        },
        { name: 'now', type: 'pure-token', token: 'NOW', since: '7.0.0', flags: ['optional'] },
        { name: 'force', type: 'pure-token', token: 'FORCE', since: '7.0.0', flags: ['optional'] },
        { name: 'abort', type: 'pure-token', token: 'ABORT', since: '7.0.0', flags: ['optional'] },
      ],
    },
  ],
  [
    'watch',
    {
      acl: ['fast', 'transaction'],
      keySpecs: [{ flags: ['RO'], index: 1, lastKey: -1, keyStep: 1, limit: 0 }],
      arguments: [{ name: 'key', type: 'key', keySpecIndex: 0, flags: ['multiple'] }],
    },
  ],
  ['debug', { acl: ['admin', 'slow', 'dangerous'], docFlags: ['syscmd'] }],
  ['lastsave', { acl: ['admin', 'fast', 'dangerous'], tips: ['nondeterministic_output'] }],
  ['save', { acl: ['admin', 'slow', 'dangerous'] }],
  [
    'bgsave',
    {
      acl: ['admin', 'slow', 'dangerous'],
      history: [['3.2.2', 'Added the `SCHEDULE` option.']],
      arguments: [
        {
          name: 'schedule',
          type: 'pure-token',
          token: 'SCHEDULE',
          since: '3.2.2',
          flags: ['optional'],
        },
      ],
    },
  ],
])
