/* `caskade inspect DIR`: runs the storage layer's offline check and prints it for a human (or as
 * JSON). Exit status is the verdict: 0 when no problem was found, 1 when any record, hint or file
 * is damaged (each problem printed with its file and byte offset) or the dir cannot be read. */
import { nodeDisk } from '../io/disk.js'
import { inspectDataDir } from '../storage/inspect.js'
import type { InspectReport } from '../storage/types.js'

function formatReport(report: InspectReport): string {
  const lines: string[] = [`data dir ${report.dir}`]
  lines.push(`segments: ${report.segments.length}`)
  for (const segment of report.segments) {
    lines.push(
      `  ${segment.file}  bytes=${segment.bytes} records=${segment.records} ` +
        `keys=${segment.keys} live=${segment.liveBytes} dead=${segment.deadBytes} ` +
        `tombstones=${segment.tombstones} clear-markers=${segment.clearMarkers}`,
    )
  }
  lines.push(`hints: ${report.hints.length}`)
  for (const hint of report.hints) {
    lines.push(
      `  ${hint.file}  entries=${hint.entries} valid=${hint.valid ? 'yes' : 'no'} ` +
        `origin=${hint.origin}`,
    )
  }
  lines.push(
    `keys: ${report.keys} (with expiry: ${report.keysWithExpiry})  bytes: ${report.totalBytes} ` +
      `live: ${report.liveBytes} dead: ${report.deadBytes}`,
  )
  for (const note of report.notes) lines.push(`note: ${note}`)
  if (report.problems.length === 0) {
    lines.push('problems: none')
  } else {
    lines.push(`problems: ${report.problems.length}`)
    for (const problem of report.problems) {
      lines.push(`  PROBLEM ${problem.file} at offset ${problem.offset}: ${problem.reason}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** Prints the report; returns the process exit code. */
export async function runInspect(dir: string, options: { json: boolean }): Promise<number> {
  if (!nodeDisk.exists(dir)) {
    process.stderr.write(`caskade: data directory ${dir} does not exist\n`)
    return 1
  }
  let report: InspectReport
  try {
    report = await inspectDataDir(nodeDisk, dir)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`caskade: cannot inspect ${dir}: ${message}\n`)
    return 1
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report))
  return report.problems.length === 0 ? 0 : 1
}
