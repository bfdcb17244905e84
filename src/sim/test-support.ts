/* Shared pieces of the simulator's tests: the real dependencies and a config builder with the
 * full fault mix. Not shipped (package.json excludes test-support). */
import { caskadeDeps } from './caskade-deps.js'
import { faultKinds } from './faults.js'
import { defaultSimConfig, type SimConfig, type SimResult } from './run.js'

export const deps = caskadeDeps({ checkTimeLimitMs: 20_000 })
/** The same with file-snapshot state machines (async capture, followers fetch files). */
export const fileDeps = caskadeDeps({ checkTimeLimitMs: 20_000, fileSnapshots: true })

export function simConfig(overrides: Partial<SimConfig> & { seed: number }): SimConfig {
  return { ...defaultSimConfig, faults: [...faultKinds], ...overrides }
}

/** A failure as one readable message: the seed, what failed, and the last events. */
export function explain(result: SimResult): string {
  const failure = result.failure
  if (failure === null) return `seed ${result.seed} passed`
  return [
    `seed ${result.seed} failed: ${failure.kind}: ${failure.message}`,
    `replay: npm run sim -- --seed ${result.seed} --seeds 1`,
    ...result.traceLines,
  ].join('\n')
}
