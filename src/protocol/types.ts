/* Contracts of the protocol layer: what the parser hands the server and what handlers write
 * replies with. Implementations: resp-parser.ts and reply-writer.ts. */

export interface ParserLimits {
  bulkBytesMax: number
  multibulkLengthMax: number
  inlineBytesMax: number
}

/**
 * One command as parsed. `args[0]` is the command name. Every arg is a VIEW into the parser's
 * buffer, valid only until the next `feed()`: copy (Buffer.from) anything kept past that.
 */
export interface ParsedCommand {
  args: Buffer[]
}

export type ProtocolVersion = 2 | 3

/**
 * Accumulates reply bytes for one connection. All methods append to an internal buffer;
 * `take()` hands the bytes over. `string` arguments are UTF-8 text; pass a Buffer for binary
 * data. In RESP2 the RESP3-only shapes degrade the way Redis degrades them.
 */
export interface ReplyWriter {
  protocol: ProtocolVersion
  /** +OK */
  simple(text: string): void
  /** `-${code} ${message}`; `message` must not contain CR or LF (they become spaces). */
  error(code: string, message: string): void
  integer(value: number | bigint): void
  bulk(value: Buffer | string): void
  /** Null bulk: `$-1` in RESP2, `_` in RESP3. */
  nullBulk(): void
  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nullArray(): void
  arrayHeader(length: number): void
  /** RESP3 `%n`; RESP2 `*2n` (a flat key/value array). */
  mapHeader(pairs: number): void
  /** RESP3 `~n`; RESP2 `*n`. */
  setHeader(length: number): void
  /** RESP3 `>n`; RESP2 `*n` (pub/sub messages). */
  pushHeader(length: number): void
  /** RESP3 `,1.5`; RESP2 a bulk string formatted as Redis formats doubles (inf, -inf, nan). */
  double(value: number): void
  /** RESP3 `#t`/`#f`; RESP2 `:1`/`:0`. */
  boolean(value: boolean): void
  /** RESP3 `=len\r\ntxt:...`; RESP2 a bulk string. */
  verbatim(text: string, format?: string): void
  /** Bytes accumulated and not yet taken. */
  pendingBytes(): number
  /** Hands over everything accumulated (null if nothing) and starts a fresh buffer. */
  take(): Buffer | null
}
