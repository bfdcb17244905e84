/* Shared fixtures for the keyspace-over-Bitcask tests: a hand-moved wall clock whose
 * active-expiry timer fires on tick(), a keyspace opened on the real engine in a temp dir, a clean
 * shutdown, and a runner that calls command handlers directly. Outside src/keyspace/ because that
 * folder is fenced off from node:fs and the real ports. */
import assert from 'node:assert/strict'
import { CaskadeError } from '../../src/core/errors.js'
import type { Timers } from '../../src/core/ports.js'
import { createRng } from '../../src/core/rng.js'
import type {
  ClientSession,
  CommandContext,
  CommandSpec,
  ServerHost,
} from '../../src/commands/types.js'
import { createKeyspace, type EngineKeyspace } from '../../src/keyspace/keyspace.js'
import { createReplyWriter } from '../../src/protocol/reply-writer.js'
import { openEngine } from '../../src/storage/engine.js'
import type { StorageEngine } from '../../src/storage/types.js'
import { engineOptions } from './engine-fixtures.js'

/** Where every ManualTime starts (Unix ms). */
export const manualTimeStartMs = 1_700_000_000_000
const t0 = manualTimeStartMs

/** Wall time moved by hand for expiry; the active-expiry timer fired by hand. */
export class ManualTime implements Timers {
  nowMs = t0
  #cycles: Array<() => void> = []
  readonly clock = {
    monotonicMs: (): number => this.nowMs - t0,
    wallMs: (): number => this.nowMs,
  }
  every(_intervalMs: number, onFire: () => void): () => void {
    this.#cycles.push(onFire)
    return () => {
      this.#cycles = this.#cycles.filter((cycle) => cycle !== onFire)
    }
  }
  after(): () => void {
    throw new Error('unused')
  }
  defer(): void {
    throw new Error('unused')
  }
  tick(deltaMs: number): void {
    this.nowMs += deltaMs
    for (const cycle of this.#cycles) cycle()
  }
}

/** The engine (fsync always, 64 KiB segments so tests rotate) with a keyspace on `time`. */
export async function withKeyspace(
  dir: string,
  time: ManualTime,
): Promise<{ engine: StorageEngine; keyspace: EngineKeyspace }> {
  const engine = await openEngine(engineOptions(dir, { segmentBytesMax: 64 * 1024 }))
  const keyspace = createKeyspace({ engine, clock: time.clock, timers: time, rng: createRng(1) })
  return { engine, keyspace }
}

export async function shutdown(engine: StorageEngine, keyspace: EngineKeyspace): Promise<void> {
  keyspace.close()
  await engine.flushAndSync()
  await engine.close()
}

/** Runs one command's handler (RESP2) and returns its reply; errors become error replies. */
export function commandRunner(
  specList: readonly CommandSpec[],
): (keyspace: EngineKeyspace, time: ManualTime, ...args: string[]) => string {
  const specs = new Map(specList.map((spec) => [spec.name, spec]))
  return (keyspace, time, ...args) => {
    const reply = createReplyWriter(2)
    const ctx: CommandContext = {
      keyspace,
      clock: time.clock,
      rng: createRng(2),
      reply,
      client: {} as ClientSession,
      host: {} as ServerHost,
    }
    const spec = specs.get(String(args[0]))
    assert.ok(spec !== undefined)
    try {
      spec.handler(
        ctx,
        args.map((arg) => Buffer.from(arg)),
      )
    } catch (error) {
      if (!(error instanceof CaskadeError)) throw error
      reply.error(error.code, error.message)
    }
    return reply.take()?.toString('latin1') ?? ''
  }
}
