/* Test-only: builds histories from a random concurrent execution against the model, so they
 * are linearizable by construction. Each operation takes effect at its linearization point
 * (10 time units apart, in list order), inside an interval drawn around that point, and by a
 * client that has no other operation in flight. */
import { utf8ByteLength } from './model.js'
import type { History, Operation } from './types.js'

export interface Action {
  /** Index into the key set. */
  key: number
  kind: 'get' | 'put' | 'append' | 'cas' | 'del'
  /** Picks among the clients free at the linearization point. */
  clientPick: number
  /** How long before / after the linearization point the call / return happens. */
  callBefore: number
  returnAfter: number
  /** 'effect': unknown outcome that took effect; 'lost': unknown, never took effect. */
  outcome: 'ok' | 'effect' | 'lost'
  /** For cas: whether `expected` is the current value. */
  casHits: boolean
}

interface Client {
  id: number
  lastReturn: number
}

const stepTime = 10

export function historyFromActions(actions: readonly Action[], options: { keys: number }): History {
  const states = new Map<string, string | null>()
  const clients: Client[] = []
  let nextClient = 0
  let sequence = 0
  const operations: Operation[] = []
  actions.forEach((action, i) => {
    const at = (i + 1) * stepTime
    const free = clients.filter((client) => client.lastReturn <= at)
    let client = free[action.clientPick % Math.max(1, free.length)]
    if (client === undefined || action.clientPick % 7 === 6) {
      client = { id: nextClient++, lastReturn: Number.NEGATIVE_INFINITY }
      clients.push(client)
    }
    const key = `k${action.key % options.keys}`
    const state = states.get(key) ?? null
    const value = `${client.id}-${sequence++}`
    const call = Math.max(client.lastReturn, at - action.callBefore)
    const base = { client: client.id, key, call }
    let operation: Operation
    let after = state
    switch (action.kind) {
      case 'get':
        operation = { ...base, op: 'get', out: state }
        break
      case 'put':
        operation = { ...base, op: 'put', value }
        after = value
        break
      case 'append':
        after = (state ?? '') + value
        operation = { ...base, op: 'append', value, out: utf8ByteLength(after) }
        break
      case 'cas': {
        const expected = action.casHits ? state : state === null ? `never-${value}` : null
        after = expected === state ? value : state
        operation = { ...base, op: 'cas', expected, value, out: expected === state }
        break
      }
      case 'del':
        operation = { ...base, op: 'del', out: state === null ? 0 : 1 }
        after = null
    }
    if (action.outcome === 'ok') {
      operation.return = at + action.returnAfter
      client.lastReturn = operation.return
      states.set(key, after)
    } else {
      delete (operation as { out?: unknown }).out
      operation.unknown = true
      // The client gives up on this id: it never calls again.
      client.lastReturn = Number.POSITIVE_INFINITY
      if (action.outcome === 'effect') states.set(key, after)
    }
    operations.push(operation)
  })
  return { operations }
}
