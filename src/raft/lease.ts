/* The leader lease of readOnly 'lease-based': when each heartbeat round started (in the leader's
 * ticks) and the newest round start each voter acknowledged. Invariant: the lease holds at tick
 * `now` only if a quorum acknowledged rounds started after `now - durationTicks`, where
 * durationTicks = electionTicks - leaseDriftTicks.
 *
 * Why that is safe. A follower that receives a heartbeat resets its election clock and, with
 * CheckQuorum, neither grants a (pre-)vote nor campaigns until it has ticked electionTicks more
 * times. The round started before it arrived, so counting from the round's start (not the ack's
 * arrival) under-estimates the follower's promise. No other leader can be elected while a quorum
 * keeps that promise, so the commit index is the newest one. The promise is measured on the
 * follower's clock and the lease on the leader's: the CLOCK-DRIFT ASSUMPTION is that over one
 * election timeout no node ticks more than leaseDriftTicks - 1 times beyond the leader (one more
 * tick is lost to quantization: a follower's first tick after a heartbeat may come at once). Voters
 * that restart forget their promise, so in this mode a restarted node with a term ignores
 * campaigns for its first election timeout (see Raft). A leader that sent TimeoutNow revokes its
 * lease for good: the target campaigns with the transfer flag, which voters grant despite their
 * promise. */
import { assert } from '../core/assert.js'
import type { NodeId } from './types.js'

export class LeaderLease {
  readonly #durationTicks: number
  /** Start ticks of the rounds from #firstRound on (consecutive rounds, oldest first). */
  #startTicks: number[] = []
  #firstRound = 0
  /** Per voter, the start tick of the newest round it acknowledged. */
  readonly #ackedStartTick = new Map<NodeId, number>()
  #revoked = false

  constructor(options: { electionTicks: number; leaseDriftTicks: number }) {
    this.#durationTicks = options.electionTicks - options.leaseDriftTicks
    assert(this.#durationTicks > 0, 'a lease is shorter than the election timeout')
  }

  /** A new leadership: no round acknowledged yet, nothing revoked. */
  reset(): void {
    this.#startTicks = []
    this.#firstRound = 0
    this.#ackedStartTick.clear()
    this.#revoked = false
  }

  /** TimeoutNow was sent: voters may elect its target at once, so no lease until we step down. */
  revoke(): void {
    this.#revoked = true
  }

  /** Heartbeat round `round` went out at leader tick `nowTick`; rounds too old to help drop. */
  roundStarted(round: number, nowTick: number): void {
    const last = this.#firstRound + this.#startTicks.length - 1
    if (this.#startTicks.length === 0) this.#firstRound = round
    else assert(round === last + 1, `lease rounds are consecutive (${last} then ${round})`)
    this.#startTicks.push(nowTick)
    let stale = 0
    while (stale < this.#startTicks.length - 1) {
      const start = this.#startTicks[stale]
      assert(start !== undefined, 'dense rounds')
      if (start + this.#durationTicks > nowTick) break
      stale++
    }
    if (stale > 0) {
      this.#startTicks.splice(0, stale)
      this.#firstRound += stale
    }
  }

  /** `from` acknowledged heartbeat round `round` (duplicates and reordering are harmless). */
  acknowledged(from: NodeId, round: number): void {
    const start = this.#startTicks[round - this.#firstRound]
    if (start === undefined || round < this.#firstRound) return
    if (start > (this.#ackedStartTick.get(from) ?? -1)) this.#ackedStartTick.set(from, start)
  }

  /** Whether the lease holds at `nowTick`: a quorum of `voters` (counting `self`) promised. */
  holds(nowTick: number, voters: readonly NodeId[], self: NodeId): boolean {
    if (this.#revoked) return false
    const starts = voters.map((id) =>
      id === self ? nowTick : (this.#ackedStartTick.get(id) ?? -1),
    )
    starts.sort((a, b) => b - a)
    const quorumStart = starts[Math.floor(voters.length / 2)]
    return (
      quorumStart !== undefined && quorumStart >= 0 && nowTick < quorumStart + this.#durationTicks
    )
  }
}
