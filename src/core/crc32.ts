/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320; the zlib/PNG checksum) in pure
 * TypeScript, slice-by-8 over eight 256-entry tables. Pure so the storage core can checksum
 * records without node:zlib; result is an unsigned 32-bit integer, identical to zlib.crc32. */

const polynomialReflected = 0xedb88320
const sliceCount = 8

/** tables[k][b]: the CRC of byte b followed by k zero bytes; tables[0] is the classic table. */
const tables: Int32Array = buildTables()

function buildTables(): Int32Array {
  const all = new Int32Array(256 * sliceCount)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ polynomialReflected : crc >>> 1
    }
    all[byte] = crc
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = all[byte] as number
    for (let slice = 1; slice < sliceCount; slice++) {
      crc = (all[crc & 0xff] as number) ^ (crc >>> 8)
      all[slice * 256 + byte] = crc
    }
  }
  return all
}

/**
 * CRC-32 of `bytes[start, end)`, continuing from `previous` (the CRC of the bytes before, or 0),
 * so a checksum can be computed over pieces.
 */
export function crc32(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
  previous = 0,
): number {
  const t = tables
  let crc = ~previous
  let i = start
  const end8 = end - ((end - start) & 7)
  while (i < end8) {
    const low =
      crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
    crc =
      t[1792 + (low & 0xff)]! ^
      t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!
    i += 8
  }
  while (i < end) {
    crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
    i++
  }
  return ~crc >>> 0
}
