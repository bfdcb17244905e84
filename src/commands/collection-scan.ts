/* What HSCAN, SSCAN and ZSCAN share (Redis's scanGenericCommand for a collection): the cursor is
 * parsed before the key is looked up, a missing key answers an empty page, then COUNT and MATCH;
 * a small collection that Redis keeps compact is returned whole with cursor 0, a larger one a page
 * at a time, and MATCH filters the page after it is taken. */
import { syntaxError } from '../core/errors.js'
import { globMatch } from '../core/glob.js'
import { argIs } from './args.js'
import { parseScanCursor } from './keys.js'
import { parseInt64OrThrow } from './strings.js'
import type { CommandContext } from './types.js'

const scanCountDefault = 10

export interface ScanOptions {
  count: number
  match: Buffer | null
}

export interface CollectionScan {
  readonly key: Buffer
  readonly cursor: number
  /** The collection's element count (> 0). */
  readonly size: number
  readonly options: ScanOptions
}

/** COUNT and MATCH (TYPE is for SCAN only). */
export function parseScanOptions(args: readonly Buffer[], start: number): ScanOptions {
  const options: ScanOptions = { count: scanCountDefault, match: null }
  for (let i = start; i < args.length; i += 2) {
    const value = args[i + 1]
    if (value === undefined) throw syntaxError()
    if (argIs(args[i], 'count')) {
      const count = parseInt64OrThrow(value)
      if (count < 1) throw syntaxError()
      options.count = Number(count)
    } else if (argIs(args[i], 'match')) {
      options.match = value.length === 1 && value[0] === 0x2a ? null : value
    } else {
      throw syntaxError()
    }
  }
  return options
}

/**
 * `XSCAN key cursor [MATCH p] [COUNT n]`: null once it replied (the key is absent: an empty page);
 * `sizeOf` looks the key up (a read lookup that throws WRONGTYPE) and answers 0 when it is absent.
 */
export function startCollectionScanOrReply(
  ctx: CommandContext,
  args: readonly Buffer[],
  sizeOf: (key: Buffer) => number,
): CollectionScan | null {
  const cursor = parseScanCursor(args[2] as Buffer)
  const key = args[1] as Buffer
  const size = sizeOf(key)
  if (size === 0) {
    ctx.reply.arrayHeader(2)
    ctx.reply.bulk('0')
    ctx.reply.arrayHeader(0)
    return null
  }
  return { key, cursor, size, options: parseScanOptions(args, 3) }
}

/** `whole`: the collection returned at once (cursor 0), or null to take a page of fields. */
export function scanPage(
  ctx: CommandContext,
  scan: CollectionScan,
  whole: Buffer[] | null,
): { items: Buffer[]; next: number } {
  let items = whole
  let next = 0
  if (items === null) {
    const page = ctx.keyspace.scanFields(scan.key, scan.cursor, scan.options.count)
    items = page.fields
    next = page.cursor
  }
  const match = scan.options.match
  if (match !== null) items = items.filter((item) => globMatch(match, item))
  return { items, next }
}
