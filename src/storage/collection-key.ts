/* Collection layout codec (pure), Kvrocks' versioned metadata: a collection's metadata record
 * sits under the user key and holds its version; each field or member is an element record keyed
 * `u32 userKeyLength | userKey | u64 version | field`. Invariant: a version is the seq of the
 * metadata record that created the collection, so it is unique per key for the data directory's
 * life; an element whose version is not its key's live version is dead (merge drops it). */
import { assert } from '../core/assert.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { limits } from '../core/limits.js'

const twoPow32 = 0x1_0000_0000
const lengthBytes = 4
const versionBytes = 8
export const metaValueBytes = versionBytes

/** Bytes of an element key beyond the user key and field. */
export const elementKeyOverheadBytes = lengthBytes + versionBytes

/** Redis's text when a string would exceed proto-max-bulk-len. */
export const valueTooLargeMessage = 'string exceeds maximum allowed size (proto-max-bulk-len)'

/** Throws the error putElement would for an element too big to store. Callers creating a
 * collection check first, so a refused element never leaves an empty collection behind. */
export function checkElementSize(userKey: Uint8Array, field: Uint8Array, value: Uint8Array): void {
  if (elementKeyOverheadBytes + userKey.length + field.length > limits.keyBytesMax) {
    throw new CaskadeError(ErrorCode.Err, 'field exceeds maximum allowed size')
  }
  if (value.length > limits.bulkBytesMax) {
    throw new CaskadeError(ErrorCode.Err, valueTooLargeMessage)
  }
}

export function encodeElementKey(userKey: Uint8Array, version: number, field: Uint8Array): Buffer {
  const key = Buffer.allocUnsafe(elementKeyOverheadBytes + userKey.length + field.length)
  key.writeUInt32LE(userKey.length, 0)
  key.set(userKey, lengthBytes)
  writeVersion(key, lengthBytes + userKey.length, version)
  key.set(field, elementKeyOverheadBytes + userKey.length)
  return key
}

export interface ElementKeyParts {
  userKey: Buffer
  version: number
  field: Buffer
}

/** Views into `key`; null when it is not a well-formed element key. */
export function decodeElementKey(key: Buffer): ElementKeyParts | null {
  if (key.length < elementKeyOverheadBytes) return null
  const userKeyBytes = key.readUInt32LE(0)
  const fieldStart = elementKeyOverheadBytes + userKeyBytes
  if (fieldStart > key.length) return null
  const versionAt = lengthBytes + userKeyBytes
  return {
    userKey: key.subarray(lengthBytes, versionAt),
    version: key.readUInt32LE(versionAt + 4) * twoPow32 + key.readUInt32LE(versionAt),
    field: key.subarray(fieldStart),
  }
}

export function encodeMetaValue(version: number): Buffer {
  const value = Buffer.allocUnsafe(metaValueBytes)
  writeVersion(value, 0, version)
  return value
}

/** The version in a metadata record's value, or -1 when the value is malformed. */
export function decodeMetaValue(value: Uint8Array): number {
  if (value.length !== metaValueBytes) return -1
  const view = Buffer.from(value.buffer, value.byteOffset, value.length)
  return view.readUInt32LE(4) * twoPow32 + view.readUInt32LE(0)
}

function writeVersion(target: Buffer, at: number, version: number): void {
  assert(Number.isSafeInteger(version) && version >= 0, 'a version is a safe non-negative integer')
  target.writeUInt32LE(version % twoPow32, at)
  target.writeUInt32LE(Math.floor(version / twoPow32), at + 4)
}
