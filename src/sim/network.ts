/* The simulated network between replicas: every message gets a seeded delay, and may be dropped,
 * duplicated or held back long enough to overtake later ones; directed links can be cut (a
 * partition is a set of cut links). Invariant: every choice comes from the run's Rng, so the same
 * seed delivers the same messages at the same virtual times. */
import type { Rng } from '../core/ports.js'
import type { NodeId, RaftMessage } from '../raft/index.js'
import type { Scheduler } from './scheduler.js'

export interface NetworkConditions {
  /** Probability that a message is lost. */
  dropRate: number
  /** Probability that a message is delivered twice (each copy with its own delay). */
  duplicateRate: number
  /** Probability that a message is held back for up to `reorderDelayMsMax`. */
  reorderRate: number
  delayMsMin: number
  delayMsMax: number
  reorderDelayMsMax: number
}

export const calmNetwork: NetworkConditions = {
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  delayMsMin: 1,
  delayMsMax: 3,
  reorderDelayMsMax: 0,
}

export interface NetworkStats {
  sent: number
  delivered: number
  dropped: number
  duplicated: number
}

export class SimNetwork {
  readonly #scheduler: Scheduler
  readonly #rng: Rng
  readonly #deliver: (message: RaftMessage) => void
  conditions: NetworkConditions = { ...calmNetwork }
  /** Cut directed links, "from>to", each with the number of faults holding it cut. */
  readonly #cuts = new Map<string, number>()
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 }

  constructor(options: {
    scheduler: Scheduler
    rng: Rng
    deliver: (message: RaftMessage) => void
  }) {
    this.#scheduler = options.scheduler
    this.#rng = options.rng
    this.#deliver = options.deliver
  }

  send(message: RaftMessage): void {
    this.stats.sent++
    if (this.isCut(message.from, message.to) || this.#chance(this.conditions.dropRate)) {
      this.stats.dropped++
      return
    }
    this.#schedule(message)
    if (this.#chance(this.conditions.duplicateRate)) {
      this.stats.duplicated++
      this.#schedule(message)
    }
  }

  /** A one-way delay drawn like a message's (clients' requests and replies use it too). */
  delayMs(): number {
    const { delayMsMin, delayMsMax, reorderRate, reorderDelayMsMax } = this.conditions
    let delay = delayMsMin + this.#rng.float() * (delayMsMax - delayMsMin)
    if (this.#chance(reorderRate)) delay += this.#rng.float() * reorderDelayMsMax
    return delay
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return (this.#cuts.get(`${from}>${to}`) ?? 0) > 0
  }

  /** Cuts the directed links; each cut must be undone by exactly one restore() of the same list. */
  cut(links: readonly (readonly [NodeId, NodeId])[]): void {
    for (const [from, to] of links) {
      const key = `${from}>${to}`
      this.#cuts.set(key, (this.#cuts.get(key) ?? 0) + 1)
    }
  }

  restore(links: readonly (readonly [NodeId, NodeId])[]): void {
    for (const [from, to] of links) {
      const key = `${from}>${to}`
      const count = (this.#cuts.get(key) ?? 0) - 1
      if (count > 0) this.#cuts.set(key, count)
      else this.#cuts.delete(key)
    }
  }

  healAll(): void {
    this.#cuts.clear()
    this.conditions = { ...calmNetwork }
  }

  #schedule(message: RaftMessage): void {
    this.#scheduler.after(this.delayMs(), () => {
      // A link cut while the message was in flight loses it (the connection broke).
      if (this.isCut(message.from, message.to)) {
        this.stats.dropped++
        return
      }
      this.stats.delivered++
      this.#deliver(message)
    })
  }

  #chance(probability: number): boolean {
    return probability > 0 && this.#rng.float() < probability
  }
}
