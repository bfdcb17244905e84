/* Test-only: builds histories from a random concurrent execution against the model, so they
 * are linearizable by construction: every operation takes effect at a linearization point
 * inside its [call, return] interval, and no client has two operations in flight. */
import type { Rng } from '../core/ports.js'
import { utf8ByteLength } from './model.js'
import type { History, OpKind, Operation } from './types.js'

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

export interface ClientPoolOptions {
  rng: Rng
  /** Clients running at once; a client whose request times out continues under a new id. */
  clients: number
  keys: number
  operations: number
  /** Fraction of operations whose outcome is unknown (half of them take effect). */
  unknownRate: number
  /** Upper bounds of the random think time, wait before the effect, and wait after it. */
  thinkMax: number
  latencyMax: number
}

interface PendingOperation {
  operation: Operation
  effectAt: number
  takesEffect: boolean
}

/** Applies `pending` at its linearization point and fills in its output. */
function applyAtEffect(pending: PendingOperation, states: Map<string, string | null>): void {
  const { operation } = pending
  const state = states.get(operation.key) ?? null
  let after = state
  switch (operation.op) {
    case 'get':
      operation.out = state
      break
    case 'put':
      after = operation.value
      break
    case 'append':
      after = (state ?? '') + operation.value
      operation.out = utf8ByteLength(after)
      break
    case 'cas':
      operation.out = state === operation.expected
      if (operation.out) after = operation.value
      break
    case 'del':
      operation.out = state === null ? 0 : 1
      after = null
  }
  if (operation.unknown === true) delete (operation as { out?: unknown }).out
  if (pending.takesEffect) states.set(operation.key, after)
}

function newOperation(options: ClientPoolOptions, client: number, call: number): Operation {
  const { rng } = options
  const kinds: readonly OpKind[] = ['get', 'get', 'put', 'append', 'cas', 'del']
  const key = `k${rng.int(options.keys)}`
  const value = `${client}-${call}`
  const kind = kinds[rng.int(kinds.length)]!
  if (kind === 'get' || kind === 'del') return { client, op: kind, key, call }
  if (kind !== 'cas') return { client, op: kind, key, value, call }
  // A guess at the current value: some other client's recent write, or absent.
  const guess = rng.int(3) === 0 ? null : `${rng.int(options.clients)}-${call - rng.int(50)}`
  return { client, op: 'cas', key, expected: guess, value, call, out: false }
}

/** A fixed pool of clients, each issuing one operation at a time with random latency. */
export function historyFromClientPool(options: ClientPoolOptions): History {
  const { rng } = options
  const pending: PendingOperation[] = []
  const clientIds = Array.from({ length: options.clients }, (_, i) => i)
  const freeAt = clientIds.map(() => 0)
  let nextClientId = options.clients
  for (let n = 0; n < options.operations; n++) {
    const slot = rng.int(options.clients)
    const call = freeAt[slot]! + rng.int(options.thinkMax + 1)
    const operation = newOperation(options, clientIds[slot]!, call)
    const effectAt = call + rng.int(options.latencyMax + 1)
    const returnAt = effectAt + rng.int(options.latencyMax + 1)
    const unknown = rng.float() < options.unknownRate
    if (unknown) {
      operation.unknown = true
      clientIds[slot] = nextClientId++
    } else operation.return = returnAt
    freeAt[slot] = returnAt
    pending.push({ operation, effectAt, takesEffect: !unknown || rng.int(2) === 0 })
  }
  const states = new Map<string, string | null>()
  const byEffect = [...pending].sort((a, b) => a.effectAt - b.effectAt)
  for (const item of byEffect) applyAtEffect(item, states)
  return { operations: pending.map((item) => item.operation) }
}
