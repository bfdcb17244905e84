/* Cost of a storage-engine checkpoint (issue 5's file snapshots) on the real disk: N keys of 100
 * bytes written, then checkpoint(): the synchronous part (rotate + hard links: the event-loop
 * stall) and the time until durable; then 10,000 more writes and a second checkpoint (the steady
 * state: its stall grows with the writes since the last one, not with the key count); then
 * opening an engine on a linked copy (hints only).
 * Run after a build: `node dist/bench/checkpoint.js [keys]` (default 100,000). */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openEngine } from '../src/storage/engine.js'
import type { EngineOptions } from '../src/storage/types.js'
import { benchEngineOptions } from './engine-options.js'

const keys = Number(process.argv[2] ?? 100_000)
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-checkpoint-bench-'))

const options = (dir: string): EngineOptions =>
  benchEngineOptions(dir, {
    fsync: 'everysec',
    segmentBytesMax: 64 * 1024 * 1024,
    mergeDeadBytesMin: 64 * 1024 * 1024,
  })

async function main(): Promise<void> {
  const live = await openEngine(options(path.join(root, 'live')))
  const value = Buffer.alloc(100, 'v')
  for (let i = 0; i < keys; i++) live.put(Buffer.from(`key:${i}`), value, 0)
  await live.flushAndSync()
  // Writes after the last checkpoint, so this one rotates a segment still being sealed.
  for (let i = 0; i < 1000; i++) live.put(Buffer.from(`key:${i}`), value, 0)
  const frozenDir = path.join(root, 'frozen')
  const startMs = performance.now()
  const pending = live.checkpoint(frozenDir)
  const syncMs = performance.now() - startMs
  const files = await pending
  const durableMs = performance.now() - startMs
  for (let i = 0; i < 10_000; i++) live.put(Buffer.from(`key:${i * 7}`), value, 0)
  const nextStartMs = performance.now()
  const nextPending = live.checkpoint(path.join(root, 'frozen-next'))
  const nextSyncMs = performance.now() - nextStartMs
  await nextPending
  const nextDurableMs = performance.now() - nextStartMs
  const copyDir = path.join(root, 'copy')
  fs.mkdirSync(copyDir)
  for (const file of files)
    fs.linkSync(path.join(frozenDir, file.name), path.join(copyDir, file.name))
  const openStartMs = performance.now()
  const copy = await openEngine(options(copyDir))
  const openMs = performance.now() - openStartMs
  const bytes = files.reduce((sum, file) => sum + file.bytes, 0)
  console.log(
    `keys=${keys} files=${files.length} frozenBytes=${bytes} ` +
      `checkpointSyncMs=${syncMs.toFixed(2)} checkpointDurableMs=${durableMs.toFixed(1)} ` +
      `next: checkpointSyncMs=${nextSyncMs.toFixed(2)} checkpointDurableMs=${nextDurableMs.toFixed(1)} ` +
      `copyKeys=${copy.keyCount()} openCopyMs=${openMs.toFixed(1)}`,
  )
  await copy.close()
  await live.close()
}

main()
  .catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => fs.rmSync(root, { recursive: true, force: true }))
