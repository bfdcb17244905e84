/* `node dist/bench/cpu-profile.js FILE.cpuprofile [--top N]`: where a V8 CPU profile (written by
 * `node --cpu-prof`, e.g. of a cluster bench leader) spends its time: self time by function and by
 * file, as markdown. `summarizeProfile` is pure. Invariant: shares are of the sampled time, so
 * the rows of one table never add up to more than 100%. */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { markdownTable } from './report.js'
import { repoRoot } from './servers.js'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  selfMs: number
  share: number
}

export interface ProfileSummary {
  totalMs: number
  byFunction: SelfTime[]
  byFile: SelfTime[]
}

function fileOf(url: string): string {
  if (url.length === 0) return '(native/V8)'
  if (!url.startsWith('file://')) return url
  const path = fileURLToPath(url)
  const nodeModules = path.lastIndexOf('/node_modules/')
  if (nodeModules >= 0) return path.slice(nodeModules + 1)
  return relative(repoRoot, path)
}

function ranked(times: ReadonlyMap<string, number>, totalMs: number, top: number): SelfTime[] {
  return [...times]
    .sort((left, right) => right[1] - left[1])
    .slice(0, top)
    .map(([name, selfMs]) => ({ name, selfMs, share: totalMs > 0 ? selfMs / totalMs : 0 }))
}

/** Self time per function and per file; V8's idle and GC nodes keep their names. */
export function summarizeProfile(profile: CpuProfile, top: number): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  let totalUs = 0
  profile.samples.forEach((id, index) => {
    const deltaUs = Math.max(0, profile.timeDeltas[index] ?? 0)
    totalUs += deltaUs
    const frame = nodes.get(id)?.callFrame
    if (frame === undefined) return
    const file = fileOf(frame.url)
    const where = frame.url.length === 0 ? '' : ` ${file}:${frame.lineNumber + 1}`
    const name = `${frame.functionName || '(anonymous)'}${where}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + deltaUs / 1000)
    byFile.set(file, (byFile.get(file) ?? 0) + deltaUs / 1000)
  })
  const totalMs = totalUs / 1000
  return {
    totalMs,
    byFunction: ranked(byFunction, totalMs, top),
    byFile: ranked(byFile, totalMs, top),
  }
}

export function profileTables(summary: ProfileSummary): string {
  const rows = (times: readonly SelfTime[]): string[][] =>
    times.map((time) => [time.name, time.selfMs.toFixed(0), `${(time.share * 100).toFixed(1)}%`])
  return [
    `sampled ${(summary.totalMs / 1000).toFixed(1)} s`,
    '',
    markdownTable(['function', 'self ms', 'share'], rows(summary.byFunction)),
    '',
    markdownTable(['file', 'self ms', 'share'], rows(summary.byFile)),
    '',
  ].join('\n')
}

function main(argv: readonly string[]): number {
  const [file, flag, count] = argv
  if (file === undefined || (flag !== undefined && flag !== '--top')) {
    process.stderr.write('usage: node dist/bench/cpu-profile.js FILE.cpuprofile [--top N]\n')
    return 2
  }
  const top = count === undefined ? 25 : Number(count)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  process.stdout.write(profileTables(summarizeProfile(profile, top)))
  return 0
}

// Run as a script, not when a test imports the pure part.
const script = process.argv[1]
if (script !== undefined && pathToFileURL(script).href === import.meta.url) {
  process.exitCode = main(process.argv.slice(2))
}
