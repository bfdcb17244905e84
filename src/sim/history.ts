/* The clients' history, exactly in the shared format (docs: /work/shared/history-format.md):
 * one record per operation with its call and return times in virtual microseconds. Invariant:
 * history client ids are never reused, so one id never has two operations in flight; a client
 * that gave up on an operation continues under a fresh id. Also the KV command shapes the clients
 * speak (structurally the replica's KvCommand/KvQuery/KvReply). */

export type KvCommandShape =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'append'; readonly key: string; readonly value: string }
  | {
      readonly op: 'cas'
      readonly key: string
      readonly expected: string | null
      readonly value: string
    }
  | { readonly op: 'del'; readonly key: string }

export type KvQueryShape = { readonly op: 'get'; readonly key: string }

export type KvReplyShape =
  | { readonly op: 'put' }
  | { readonly op: 'append'; readonly length: number }
  | { readonly op: 'cas'; readonly swapped: boolean }
  | { readonly op: 'del'; readonly deleted: 0 | 1 }
  | { readonly op: 'get'; readonly value: string | null }
  | { readonly op: 'error'; readonly message: string }

/** How the clients encode requests and decode replies (the replica's KV state machine codec). */
export interface KvCodec {
  encodeCommand(command: KvCommandShape): Uint8Array
  encodeQuery(query: KvQueryShape): Uint8Array
  decodeReply(reply: Uint8Array): KvReplyShape
}

export interface HistoryOperation {
  client: number
  op: 'get' | 'put' | 'append' | 'cas' | 'del'
  key: string
  value?: string
  expected?: string | null
  call: number
  return?: number
  out?: string | null | boolean | number
  unknown?: boolean
  note?: string
}

export class HistoryRecorder {
  readonly operations: HistoryOperation[] = []
  #nextClientId = 0

  /** A fresh history client id. */
  newClientId(): number {
    return this.#nextClientId++
  }

  record(operation: HistoryOperation): void {
    this.operations.push(operation)
  }

  /** The history file's content, operations ordered by call time. */
  toJson(): string {
    const operations = [...this.operations].sort((a, b) => a.call - b.call || a.client - b.client)
    return `{\n  "operations": [\n${operations.map((o) => `    ${JSON.stringify(o)}`).join(',\n')}\n  ]\n}\n`
  }
}

/** Virtual milliseconds as the history's integer microseconds. */
export function historyTime(virtualMs: number): number {
  return Math.round(virtualMs * 1000)
}
