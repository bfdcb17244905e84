/* Opt-in timing of the replicated write path, for diagnosis only: with CASKADE_PERF_TRACE=PREFIX
 * a node appends one line of stage timings (count, mean, p50, p99, max in ms) and event-loop delay
 * to PREFIX.<pid> every 5 s. Unset, the hooks are identity functions and cost nothing. */
import fs from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { BlockFile, Disk } from '../core/ports.js'
import type { StateMachine } from '../replica/types.js'

const prefix = process.env.CASKADE_PERF_TRACE ?? ''
const reportEveryMs = 5000
const samples = new Map<string, number[]>()

export const perfTraceEnabled = prefix !== ''

/** Records one duration of `stage` (no-op unless tracing). */
export function recordStage(stage: string, durationMs: number): void {
  if (!perfTraceEnabled) return
  let list = samples.get(stage)
  if (list === undefined) samples.set(stage, (list = []))
  list.push(durationMs)
}

/** Times `done`'s call from now on, under `stage`. */
export function timed<A extends unknown[]>(stage: string, done: (...args: A) => void) {
  if (!perfTraceEnabled) return done
  const startMs = performance.now()
  return (...args: A): void => {
    recordStage(stage, performance.now() - startMs)
    done(...args)
  }
}

function summary(list: number[]): string {
  const sorted = [...list].sort((a, b) => a - b)
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  const mean = list.reduce((sum, each) => sum + each, 0) / list.length
  const f = (ms: number): string => ms.toFixed(2)
  return `n=${list.length} mean=${f(mean)} p50=${f(at(0.5))} p99=${f(at(0.99))} max=${f(at(1))}`
}

function startReporting(): void {
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const path = `${prefix}.${process.pid}`
  setInterval(() => {
    const lines = [...samples].map(([stage, list]) => `  ${stage}: ${summary(list)}`)
    const ns = 1e6
    lines.push(
      `  loop-delay: mean=${(loop.mean / ns).toFixed(2)} p99=${(loop.percentile(99) / ns).toFixed(2)}` +
        ` max=${(loop.max / ns).toFixed(2)}`,
    )
    fs.appendFileSync(path, `${new Date().toISOString()}\n${lines.join('\n')}\n`)
    samples.clear()
    loop.reset()
  }, reportEveryMs).unref()
}

if (perfTraceEnabled) startReporting()

function tracedFile(file: BlockFile): BlockFile {
  return new Proxy(file, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver)
      if (typeof value !== 'function') return value
      if (key === 'syncSync') {
        return () => {
          const startMs = performance.now()
          target.syncSync()
          recordStage('fdatasync (blocking)', performance.now() - startMs)
        }
      }
      if (key === 'sync') {
        return async () => {
          const startMs = performance.now()
          await target.sync()
          recordStage('fdatasync (pool)', performance.now() - startMs)
        }
      }
      return (value as (...args: unknown[]) => unknown).bind(target)
    },
  })
}

/** `disk` with its files' syncs timed (itself unless tracing). */
export function traceDisk(disk: Disk): Disk {
  if (!perfTraceEnabled) return disk
  return {
    ...disk,
    openSync: (path, mode) => tracedFile(disk.openSync(path, mode)),
    open: async (path, mode) => tracedFile(await disk.open(path, mode)),
  }
}

/** `machine` with its snapshot() timed (itself unless tracing): a full dump runs on the loop. */
export function traceSnapshots(machine: StateMachine): StateMachine {
  if (!perfTraceEnabled) return machine
  return {
    apply: (command, index) => machine.apply(command, index),
    query: (query) => machine.query(query),
    restore: (data) => machine.restore(data),
    ...(machine.files === undefined ? {} : { files: machine.files }),
    snapshot: () => {
      const startMs = performance.now()
      const data = machine.snapshot()
      recordStage('state machine snapshot()', performance.now() - startMs)
      return data
    },
  }
}
