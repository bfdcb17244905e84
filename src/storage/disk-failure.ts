/* How the engine names and classifies a failed write or fdatasync: Redis's MISCONF error with
 * strerror's text for the errno (clients and tests match on Redis's wording), and which write
 * errors a later retry can fix (a full disk or quota) versus those that latch the engine. */
import { CaskadeError, ErrorCode, RedisErrors } from '../core/errors.js'

/** glibc's strerror() for the errnos a data directory can plausibly hit. */
const strerrorByCode: Readonly<Record<string, string>> = {
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EIO: 'Input/output error',
  EROFS: 'Read-only file system',
  EBADF: 'Bad file descriptor',
  EFBIG: 'File too large',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EINVAL: 'Invalid argument',
  ENXIO: 'No such device or address',
  ENODEV: 'No such device',
  EUCLEAN: 'Structure needs cleaning',
  ESTALE: 'Stale file handle',
  ENOMEM: 'Cannot allocate memory',
}

/**
 * Write errors that leave the file as it was and that freeing space can fix. Anything else (EIO
 * above all) may have cost pages the kernel already accepted, so it latches the engine.
 */
const retryableWriteCodes: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT'])

const errnoPrefix = /^(E[A-Z0-9]+):/

/** The errno name of a Node fs error (`code`, else the "ENOSPC: ..." message prefix), or null. */
export function errnoCodeOf(error: Error): string | null {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code.length > 0) return code
  return errnoPrefix.exec(error.message)?.[1] ?? null
}

/** strerror's text for the error's errno, else the error's own message. */
export function describeDiskError(error: Error): string {
  const code = errnoCodeOf(error)
  return (code === null ? undefined : strerrorByCode[code]) ?? error.message
}

export function isRetryableWriteError(error: Error): boolean {
  const code = errnoCodeOf(error)
  return code !== null && retryableWriteCodes.has(code)
}

/** `-MISCONF Errors writing to the AOF file: <strerror>`, Redis's refusal after a disk error. */
export function misconfError(cause: Error): CaskadeError {
  const message = RedisErrors.aofWriteError(describeDiskError(cause))
  return new CaskadeError(ErrorCode.MisConf, message, { cause })
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
