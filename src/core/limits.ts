/* Every bound in one place, named, with Redis's default where Redis has one. Config options
 * override the ones marked configurable; the rest are hard limits that protect memory. */

export const limits = {
  /** Redis proto-max-bulk-len default (configurable). */
  bulkBytesMax: 512 * 1024 * 1024,
  /** Redis PROTO_INLINE_MAX_SIZE: an inline command line longer than this is a protocol error. */
  inlineBytesMax: 64 * 1024,
  /** Redis 7 refuses a multibulk count above INT_MAX ("invalid multibulk length"). */
  multibulkLengthMax: 2147483647,
  /** Redis client-query-buffer-limit default (configurable). */
  queryBufferBytesMax: 1024 * 1024 * 1024,
  /** Per-client pending reply bytes before the client is disconnected (configurable). */
  clientOutputBufferBytesMax: 256 * 1024 * 1024,
  /** Bitcask key length: keys live in the in-memory keydir, so keep them sane. */
  keyBytesMax: 64 * 1024 * 1024,
  /** Default segment size before rotation (configurable). */
  segmentBytesDefault: 256 * 1024 * 1024,
  /** Client name length like Redis's CLIENT SETNAME (no hard limit there; we bound it). */
  clientNameBytesMax: 4096,
  /**
   * Argument bytes one MULTI may queue (Redis bounds it only through client memory limits): the
   * queue is held in memory and EXEC's records go to disk as one group inside one segment.
   */
  transactionQueuedBytesMax: 1024 * 1024 * 1024,
} as const
