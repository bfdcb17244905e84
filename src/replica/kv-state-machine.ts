/* A small string key-value state machine for the host's tests and the simulator: put, append,
 * compare-and-set, delete and get, with JSON encodings of commands, queries and replies.
 * Invariant: apply() is deterministic (no clock, no randomness), and a malformed command is
 * answered with an error reply, identically on every node, never by throwing. */
import { crc32 } from '../core/crc32.js'
import type { StateMachine } from './types.js'

export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'append'; key: string; value: string }
  | { op: 'cas'; key: string; expected: string | null; value: string }
  | { op: 'del'; key: string }

export type KvQuery = { op: 'get'; key: string }

export type KvReply =
  | { op: 'put' }
  | { op: 'append'; length: number }
  | { op: 'cas'; swapped: boolean }
  | { op: 'del'; deleted: 0 | 1 }
  | { op: 'get'; value: string | null }
  | { op: 'error'; message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encodeJson(command)
}

export function encodeKvQuery(query: KvQuery): Uint8Array {
  return encodeJson(query)
}

export function encodeKvReply(reply: KvReply): Uint8Array {
  return encodeJson(reply)
}

export function decodeKvReply(bytes: Uint8Array): KvReply {
  return JSON.parse(decoder.decode(bytes)) as KvReply
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes))
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** The command in `bytes`, or null if it is not a well-formed KvCommand. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand | null {
  const c = parseObject(bytes)
  if (c === null || typeof c.key !== 'string') return null
  const { key, value } = c
  if (c.op === 'del') return { op: 'del', key }
  if (typeof value !== 'string') return null
  if (c.op === 'put' || c.op === 'append') return { op: c.op, key, value }
  if (c.op === 'cas' && (typeof c.expected === 'string' || c.expected === null)) {
    return { op: 'cas', key, expected: c.expected, value }
  }
  return null
}

export class KvStateMachine implements StateMachine {
  #data = new Map<string, string>()

  apply(command: Uint8Array): Uint8Array {
    return encodeKvReply(this.#apply(decodeKvCommand(command)))
  }

  #apply(command: KvCommand | null): KvReply {
    if (command === null) return { op: 'error', message: 'ERR malformed command' }
    const data = this.#data
    switch (command.op) {
      case 'put':
        data.set(command.key, command.value)
        return { op: 'put' }
      case 'append': {
        const value = (data.get(command.key) ?? '') + command.value
        data.set(command.key, value)
        return { op: 'append', length: value.length }
      }
      case 'cas': {
        if ((data.get(command.key) ?? null) !== command.expected)
          return { op: 'cas', swapped: false }
        data.set(command.key, command.value)
        return { op: 'cas', swapped: true }
      }
      case 'del':
        return { op: 'del', deleted: data.delete(command.key) ? 1 : 0 }
    }
  }

  query(query: Uint8Array): Uint8Array {
    const q = parseObject(query)
    if (q?.op !== 'get' || typeof q.key !== 'string') {
      return encodeKvReply({ op: 'error', message: 'ERR malformed query' })
    }
    return encodeKvReply({ op: 'get', value: this.#data.get(q.key) ?? null })
  }

  /** Sorted [key, value] pairs: the same state always gives the same bytes. */
  snapshot(): Uint8Array {
    const pairs = [...this.#data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return encodeJson(pairs)
  }

  restore(data: Uint8Array): void {
    this.#data = new Map(JSON.parse(decoder.decode(data)) as [string, string][])
  }

  /** A short fingerprint of the whole state, for convergence checks across replicas. */
  digest(): string {
    const bytes = this.snapshot()
    return `${this.#data.size}:${crc32(bytes).toString(16).padStart(8, '0')}`
  }

  /** The value at `key` (tests and checkers; not a linearizable read). */
  get(key: string): string | null {
    return this.#data.get(key) ?? null
  }
}
