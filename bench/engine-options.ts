/* Storage-engine options on the real ports (node disk, system clock, node timers) for the
 * storage benches: each bench names only what it measures under (fsync policy, segment size,
 * when merges start); merges wait for half the bytes dead, as the server's default. */
import { systemClock } from '../src/io/clock.js'
import { nodeDisk } from '../src/io/disk.js'
import { nodeTimers } from '../src/io/timers.js'
import type { EngineOptions } from '../src/storage/types.js'

export type BenchEngineTuning = Pick<
  EngineOptions,
  'fsync' | 'segmentBytesMax' | 'mergeDeadBytesMin'
>

export function benchEngineOptions(dir: string, tuning: BenchEngineTuning): EngineOptions {
  return {
    dir,
    disk: nodeDisk,
    clock: systemClock,
    timers: nodeTimers,
    mergeDeadRatioMin: 0.5,
    ...tuning,
  }
}
