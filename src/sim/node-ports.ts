/* One simulated machine's time: a Clock that drifts (its own rate against virtual time) and, per
 * process incarnation, Timers and an inbox that stop dead on a crash and wait out a pause.
 * Invariant: nothing of a killed incarnation ever runs again, and a paused one runs nothing until
 * it resumes, then runs what it missed in order (as a SIGSTOPped process would). */
import { assert } from '../core/assert.js'
import type { Clock, Timers } from '../core/ports.js'
import type { Scheduler } from './scheduler.js'

/** The Unix time virtual time 0 stands for (wall clocks need a plausible epoch). */
const wallEpochMs = 1_767_225_600_000

/** A machine clock running at `rate` virtual ms per ms (1: exact); survives process restarts. */
export class SimClock implements Clock {
  readonly #scheduler: Scheduler
  #rate = 1
  /** Local time at virtual time #baseMs. */
  #localAtBaseMs: number
  #baseMs: number

  constructor(scheduler: Scheduler, offsetMs: number) {
    this.#scheduler = scheduler
    this.#baseMs = scheduler.nowMs
    this.#localAtBaseMs = offsetMs
  }

  get rate(): number {
    return this.#rate
  }

  /** Changes the drift from now on (local time stays continuous and monotonic). */
  setRate(rate: number): void {
    assert(rate > 0, 'a clock runs forward')
    this.#localAtBaseMs = this.monotonicMs()
    this.#baseMs = this.#scheduler.nowMs
    this.#rate = rate
  }

  monotonicMs(): number {
    return this.#localAtBaseMs + (this.#scheduler.nowMs - this.#baseMs) * this.#rate
  }

  wallMs(): number {
    return Math.floor(wallEpochMs + this.monotonicMs())
  }

  /** Virtual ms until this clock has advanced by `localMs`. */
  virtualDelayMs(localMs: number): number {
    return localMs / this.#rate
  }
}

/** One process lifetime of a node: its timers, deferred work and message deliveries. */
export class NodeProcess {
  readonly #scheduler: Scheduler
  readonly #clock: SimClock
  #alive = true
  #pausedUntilMs = -1
  #held: (() => void)[] = []
  readonly timers: Timers

  constructor(scheduler: Scheduler, clock: SimClock) {
    this.#scheduler = scheduler
    this.#clock = clock
    this.timers = {
      every: (intervalMs, onFire) => this.#every(intervalMs, onFire),
      after: (delayMs, onFire) => this.#after(delayMs, onFire),
      defer: (onFire) => {
        this.#scheduler.after(0, () => this.run(onFire))
      },
    }
  }

  get alive(): boolean {
    return this.#alive
  }

  get paused(): boolean {
    return this.#pausedUntilMs > this.#scheduler.nowMs
  }

  /** Runs `work` in this process now, later if paused, never if it died. */
  run(work: () => void): void {
    if (!this.#alive) return
    if (this.#pausedUntilMs >= 0) this.#held.push(work)
    else work()
  }

  /** Runs `work` in this process after `delayMs` of virtual time. */
  runAfter(delayMs: number, work: () => void): void {
    this.#scheduler.after(delayMs, () => this.run(work))
  }

  /** Stops the process for `durationMs` of virtual time; what arrives meanwhile waits. */
  pause(durationMs: number): void {
    if (!this.#alive || this.#pausedUntilMs >= 0) return
    this.#pausedUntilMs = this.#scheduler.nowMs + durationMs
    this.#scheduler.after(durationMs, () => this.#resume())
  }

  /** The process is gone: nothing it scheduled runs again. */
  kill(): void {
    this.#alive = false
    this.#held = []
  }

  #resume(): void {
    this.#pausedUntilMs = -1
    const held = this.#held
    this.#held = []
    for (const work of held) this.run(work)
  }

  #after(delayMs: number, onFire: () => void): () => void {
    let cancelled = false
    const event = this.#scheduler.after(this.#clock.virtualDelayMs(delayMs), () =>
      this.run(() => {
        if (!cancelled) onFire()
      }),
    )
    return () => {
      cancelled = true
      event.cancelled = true
    }
  }

  #every(intervalMs: number, onFire: () => void): () => void {
    assert(intervalMs > 0, 'an interval is positive')
    let cancelled = false
    /** A fire is queued behind a pause: a stopped process catches up with one fire, not many. */
    let queued = false
    const fire = (): void => {
      queued = false
      if (!cancelled) onFire()
    }
    const schedule = (): void => {
      this.#scheduler.after(this.#clock.virtualDelayMs(intervalMs), () => {
        if (cancelled || !this.#alive) return
        schedule()
        if (queued) return
        queued = true
        this.run(fire)
      })
    }
    schedule()
    return () => {
      cancelled = true
    }
  }
}
