/* A simulated client: one operation at a time on a small key set with unique values, sent to the
 * node it believes leads (or a random one), following not-leader hints, retrying a write under the
 * same session sequence (so the replicas apply it once) until a definite reply or it gives up.
 * Invariant: an operation is recorded once, as completed only with a definite reply; a write that
 * may have happened without a reply is recorded unknown and the client continues under a new id. */
import { assert } from '../core/assert.js'
import type { Rng } from '../core/ports.js'
import { noNode, type NodeId } from '../raft/index.js'
import type { ReplicaResult, WriteRequest } from '../replica/types.js'
import {
  historyTime,
  type HistoryOperation,
  type HistoryRecorder,
  type KvCodec,
  type KvCommandShape,
  type KvReplyShape,
} from './history.js'
import type { Scheduler } from './scheduler.js'

/** How a client reaches the replicas (requests and replies cross the simulated network). */
export interface ClientTransport {
  write(to: NodeId, request: WriteRequest, onReply: (result: ReplicaResult) => void): void
  read(to: NodeId, query: Uint8Array, onReply: (result: ReplicaResult) => void): void
  /** The nodes a client may try (the current members). */
  targets(): readonly NodeId[]
}

export interface ClientTiming {
  /** One attempt's reply deadline. */
  attemptTimeoutMs: number
  /** Attempts per operation before the client gives up on it... */
  attemptsMax: number
  /** ...or virtual ms since its call after which it starts no new attempt. */
  operationDeadlineMs: number
  /** Pause before a retry after a refusal (busy, not-leader without a hint). */
  retryBackoffMs: number
  /** Think time between operations, uniform in [0, thinkMsMax). */
  thinkMsMax: number
}

export const defaultClientTiming: ClientTiming = {
  attemptTimeoutMs: 400,
  attemptsMax: 40,
  operationDeadlineMs: 2500,
  retryBackoffMs: 25,
  thinkMsMax: 30,
}

export interface ClientOptions {
  readonly sessionId: number
  readonly keys: readonly string[]
  readonly scheduler: Scheduler
  readonly rng: Rng
  readonly transport: ClientTransport
  readonly codec: KvCodec
  readonly history: HistoryRecorder
  readonly timing: ClientTiming
  /** A reply the client cannot make sense of fails the run (an error reply, a wrong kind). */
  readonly fail: (message: string) => void
}

type Operation =
  { kind: 'write'; command: KvCommandShape; sequence: number } | { kind: 'read'; key: string }

interface InFlight {
  readonly operation: Operation
  readonly callMs: number
  attempts: number
  /** Some attempt may have reached a leader: without a definite reply the outcome is unknown. */
  maybeApplied: boolean
}

export class SimClient {
  readonly #options: ClientOptions
  #historyId: number
  #sequence = 0
  #valueSeq = 0
  #leaderGuess: NodeId = noNode
  #current: InFlight | null = null
  /** Bumped per attempt: a reply or timeout of an older attempt is ignored. */
  #attemptToken = 0
  #running = false
  /** Called when the operation of readOnce() ends (null: the client's own loop continues). */
  #onDone: ((ok: boolean) => void) | null = null
  /** Last value this client saw per key: cas expects it, so some swaps succeed. */
  readonly #lastSeen = new Map<string, string | null>()
  completed = 0
  unknown = 0
  /** The value the last completed read returned. */
  lastRead: string | null = null
  /** Writes that got a definite reply after an attempt whose fate was unknown (a retry). */
  retriedWrites = 0

  constructor(options: ClientOptions) {
    this.#options = options
    this.#historyId = options.history.newClientId()
  }

  get idle(): boolean {
    return this.#current === null
  }

  start(): void {
    this.#running = true
    this.#scheduleNext()
  }

  /** Issues no new operation; the one in flight still completes or gives up. */
  stop(): void {
    this.#running = false
  }

  /** Reads `key` once (the final reads of the liveness phase); `done(true)`: see lastRead. */
  readOnce(key: string, done: (ok: boolean) => void): void {
    assert(this.#current === null, 'one operation at a time')
    this.#begin({ kind: 'read', key }, done)
  }

  #scheduleNext(): void {
    if (!this.#running) return
    const { scheduler, rng, timing } = this.#options
    scheduler.after(rng.float() * timing.thinkMsMax, () => {
      if (this.#running && this.#current === null) this.#begin(this.#nextOperation(), null)
    })
  }

  #nextOperation(): Operation {
    const { rng, keys } = this.#options
    const key = keys[rng.int(keys.length)] ?? 'k'
    const roll = rng.int(100)
    if (roll < 40) return { kind: 'read', key }
    const value = `${this.#options.sessionId}-${++this.#valueSeq}`
    const sequence = ++this.#sequence
    if (roll < 60) return { kind: 'write', command: { op: 'put', key, value }, sequence }
    if (roll < 80) return { kind: 'write', command: { op: 'append', key, value }, sequence }
    if (roll < 92) {
      const expected = this.#lastSeen.get(key) ?? null
      return { kind: 'write', command: { op: 'cas', key, expected, value }, sequence }
    }
    return { kind: 'write', command: { op: 'del', key }, sequence }
  }

  #begin(operation: Operation, onDone: ((ok: boolean) => void) | null): void {
    this.#onDone = onDone
    this.#current = {
      operation,
      callMs: this.#options.scheduler.nowMs,
      attempts: 0,
      maybeApplied: false,
    }
    this.#attempt()
  }

  #pickTarget(): NodeId {
    const targets = this.#options.transport.targets()
    if (this.#leaderGuess !== noNode && targets.includes(this.#leaderGuess))
      return this.#leaderGuess
    const target = targets[this.#options.rng.int(targets.length)]
    assert(target !== undefined, 'a client has a node to talk to')
    return target
  }

  #attempt(): void {
    const current = this.#current
    assert(current !== null, 'an attempt belongs to an operation')
    const { timing: limits, scheduler: clock } = this.#options
    if (
      current.attempts >= limits.attemptsMax ||
      clock.nowMs - current.callMs >= limits.operationDeadlineMs
    ) {
      return this.#giveUp(`gave up after ${current.attempts} attempts`)
    }
    current.attempts++
    const token = ++this.#attemptToken
    const target = this.#pickTarget()
    const { scheduler, transport, codec, timing } = this.#options
    const timeout = scheduler.after(timing.attemptTimeoutMs, () => {
      if (token !== this.#attemptToken) return
      this.#attemptToken++
      this.#leaderGuess = noNode
      if (current.operation.kind === 'write') current.maybeApplied = true
      this.#attempt()
    })
    const onReply = (result: ReplicaResult): void => {
      if (token !== this.#attemptToken) return
      this.#attemptToken++
      timeout.cancelled = true
      this.#onResult(current, target, result)
    }
    const operation = current.operation
    if (operation.kind === 'read') {
      transport.read(target, codec.encodeQuery({ op: 'get', key: operation.key }), onReply)
    } else {
      const request = {
        clientId: this.#options.sessionId,
        sequence: operation.sequence,
        // One write at a time: every earlier one was answered (or given up on as unknown).
        ackedThrough: operation.sequence - 1,
        command: codec.encodeCommand(operation.command),
      }
      transport.write(target, request, onReply)
    }
  }

  #onResult(current: InFlight, target: NodeId, result: ReplicaResult): void {
    const { scheduler, timing } = this.#options
    if (result.ok) {
      this.#leaderGuess = target
      return this.#complete(current, this.#options.codec.decodeReply(result.reply))
    }
    switch (result.error) {
      case 'not-leader':
        this.#leaderGuess = result.leaderId === target ? noNode : result.leaderId
        break
      case 'unknown':
        if (current.operation.kind === 'write') current.maybeApplied = true
        break
      case 'busy':
      case 'disk':
        break
      case 'refused':
        this.#options.fail(`client ${this.#options.sessionId}: write refused: ${result.reason}`)
        return
      case 'stale':
        // Only a sequence at or below ackedThrough is stale: this client never sends one.
        this.#options.fail(`client ${this.#options.sessionId}: a write was stale`)
        return
    }
    const delayMs =
      result.error === 'not-leader' && this.#leaderGuess !== noNode ? 0 : timing.retryBackoffMs
    scheduler.after(delayMs, () => {
      if (this.#current === current) this.#attempt()
    })
  }

  #complete(current: InFlight, reply: KvReplyShape): void {
    const operation = current.operation
    const base = {
      client: this.#historyId,
      call: historyTime(current.callMs),
      return: historyTime(this.#options.scheduler.nowMs),
    }
    const record =
      operation.kind === 'read'
        ? this.#readRecord(operation.key, reply, base)
        : this.#writeRecord(operation.command, reply, base)
    if (record === null) return
    if (current.maybeApplied) this.retriedWrites++
    this.#options.history.record(record)
    this.completed++
    this.#finish(true)
  }

  #readRecord(
    key: string,
    reply: KvReplyShape,
    base: Pick<HistoryOperation, 'client' | 'call' | 'return'>,
  ): HistoryOperation | null {
    if (reply.op !== 'get') return this.#unexpected(reply)
    this.#lastSeen.set(key, reply.value)
    this.lastRead = reply.value
    return { ...base, op: 'get', key, out: reply.value }
  }

  #writeRecord(
    command: KvCommandShape,
    reply: KvReplyShape,
    base: Pick<HistoryOperation, 'client' | 'call' | 'return'>,
  ): HistoryOperation | null {
    if (reply.op !== command.op) return this.#unexpected(reply)
    switch (command.op) {
      case 'put':
        this.#lastSeen.set(command.key, command.value)
        return { ...base, op: 'put', key: command.key, value: command.value }
      case 'append':
        this.#lastSeen.delete(command.key)
        return {
          ...base,
          op: 'append',
          key: command.key,
          value: command.value,
          ...(reply.op === 'append' ? { out: reply.length } : {}),
        }
      case 'cas': {
        const swapped = reply.op === 'cas' && reply.swapped
        if (swapped) this.#lastSeen.set(command.key, command.value)
        return {
          ...base,
          op: 'cas',
          key: command.key,
          expected: command.expected,
          value: command.value,
          out: swapped,
        }
      }
      case 'del':
        this.#lastSeen.set(command.key, null)
        return {
          ...base,
          op: 'del',
          key: command.key,
          ...(reply.op === 'del' ? { out: reply.deleted } : {}),
        }
    }
  }

  #unexpected(reply: KvReplyShape): null {
    this.#options.fail(
      `client ${this.#options.sessionId}: unexpected reply ${JSON.stringify(reply)}`,
    )
    this.#current = null
    return null
  }

  #giveUp(note: string): void {
    const current = this.#current
    assert(current !== null, 'giving up on an operation')
    const operation = current.operation
    const call = historyTime(current.callMs)
    const client = this.#historyId
    if (operation.kind === 'read') {
      this.#options.history.record({
        client,
        op: 'get',
        key: operation.key,
        call,
        unknown: true,
        note,
      })
    } else if (current.maybeApplied) {
      this.#options.history.record({
        client,
        call,
        unknown: true,
        note,
        ...commandFields(operation.command),
      })
    }
    // A write never accepted by anyone did not happen: it needs no record at all.
    this.unknown++
    this.#historyId = this.#options.history.newClientId()
    this.#finish(false)
  }

  #finish(ok: boolean): void {
    this.#current = null
    const onDone = this.#onDone
    this.#onDone = null
    if (onDone !== null) onDone(ok)
    else this.#scheduleNext()
  }
}

function commandFields(
  command: KvCommandShape,
): Pick<HistoryOperation, 'op' | 'key' | 'value' | 'expected'> {
  switch (command.op) {
    case 'put':
    case 'append':
      return { op: command.op, key: command.key, value: command.value }
    case 'cas':
      return { op: 'cas', key: command.key, expected: command.expected, value: command.value }
    case 'del':
      return { op: 'del', key: command.key }
  }
}
