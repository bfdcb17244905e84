/* Operating errors a user can see. `code` is the RESP error prefix, so the wire text is always
 * `-${code} ${message}`; messages copy Redis's own text where Redis has one because clients
 * match on it. Mapping to the wire happens in one place (protocol/reply-writer.ts). */

export const ErrorCode = {
  Err: 'ERR',
  WrongType: 'WRONGTYPE',
  NoAuth: 'NOAUTH',
  WrongPass: 'WRONGPASS',
  NoProto: 'NOPROTO',
  ExecAbort: 'EXECABORT',
  Moved: 'MOVED',
  Ask: 'ASK',
  TryAgain: 'TRYAGAIN',
  CrossSlot: 'CROSSSLOT',
  ClusterDown: 'CLUSTERDOWN',
  Busy: 'BUSY',
  Loading: 'LOADING',
  Corrupt: 'CORRUPT',
  Locked: 'LOCKED',
  Config: 'CONFIG',
  Io: 'IO',
  /** Writes refused after the disk failed a write or an fdatasync (Redis's AOF write error). */
  MisConf: 'MISCONF',
  /** CLIENT UNBLOCK id ERROR: the reply of the blocked client. */
  Unblocked: 'UNBLOCKED',
  /** Cluster mode: a write's outcome is unknown (leader lost, timeout); it may have applied. */
  Uncertain: 'UNCERTAIN',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class CaskadeError extends Error {
  override name = 'CaskadeError'
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Redis's exact texts for the errors clients and tests match on. */
export const RedisErrors = {
  syntax: 'syntax error',
  notInteger: 'value is not an integer or out of range',
  notFloat: 'value is not a valid float',
  overflow: 'increment or decrement would overflow',
  wrongType: 'Operation against a key holding the wrong kind of value',
  noSuchKey: 'no such key',
  invalidExpire: (command: string): string => `invalid expire time in '${command}' command`,
  wrongArity: (command: string): string => `wrong number of arguments for '${command}' command`,
  unknownCommand: (name: string, argsPreview: string): string =>
    `unknown command '${name}', with args beginning with: ${argsPreview}`,
  /** With code MISCONF; `reason` is strerror's text for the errno, as Redis prints it. */
  aofWriteError: (reason: string): string => `Errors writing to the AOF file: ${reason}`,
  /** With code MISCONF, cluster mode: the node's Raft log failed a write or an fdatasync. */
  raftLogWriteError: (reason: string): string => `Errors writing to the Raft log: ${reason}`,
  /** With code TRYAGAIN: cluster mode, no leader known, nothing was applied. */
  noLeader: 'no leader, try again',
  /** With code UNCERTAIN. */
  uncertainWrite: 'the write may or may not have been applied',
} as const

export const wrongTypeError = (): CaskadeError =>
  new CaskadeError(ErrorCode.WrongType, RedisErrors.wrongType)
export const syntaxError = (): CaskadeError => new CaskadeError(ErrorCode.Err, RedisErrors.syntax)
