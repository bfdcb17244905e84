/* Storage cost of collections on the Bitcask engine, in bytes appended to the data files: one
 * HSET on a hash of N fields against one SET, and deleting that hash. Run after a build:
 * `node dist/bench/collection-cost.js [fields]` (default 1,000,000). Prints one line per case. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { systemClock } from '../src/io/clock.js'
import { nodeTimers } from '../src/io/timers.js'
import { createKeyspace } from '../src/keyspace/keyspace.js'
import { openEngine } from '../src/storage/engine.js'
import { recordBytes } from '../src/storage/record-codec.js'
import { benchEngineOptions } from './engine-options.js'

const fields = Number(process.argv[2] ?? 1_000_000)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-collection-cost-'))

const dataBytes = (): number =>
  fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)

async function main(): Promise<void> {
  const engine = await openEngine(
    benchEngineOptions(dir, {
      fsync: 'no',
      segmentBytesMax: 256 * 1024 * 1024,
      mergeDeadBytesMin: 1024 * 1024 * 1024,
    }),
  )
  const keyspace = createKeyspace({ engine, clock: systemClock, timers: nodeTimers })
  const b = (text: string): Buffer => Buffer.from(text)
  const fillStartedMs = performance.now()
  for (let i = 0; i < fields; i++) keyspace.setField(b('big'), 'hash', b(`field:${i}`), b(`v${i}`))
  await engine.flushAndSync()
  const fillMs = performance.now() - fillStartedMs
  console.log(`filled hash of ${fields} fields: ${dataBytes()} bytes in ${fillMs.toFixed(0)} ms`)
  const measure = async (label: string, act: () => void): Promise<void> => {
    const before = dataBytes()
    const startedNs = process.hrtime.bigint()
    act()
    const elapsedUs = Number(process.hrtime.bigint() - startedNs) / 1000
    await engine.flushAndSync()
    console.log(`${label}: ${dataBytes() - before} bytes appended, ${elapsedUs.toFixed(1)} us`)
  }
  const value = b('new-value')
  await measure('HSET big field:12345 (existing field)', () => {
    keyspace.setField(b('big'), 'hash', b('field:12345'), value)
  })
  await measure('HSET big field:new (new field)', () => {
    keyspace.setField(b('big'), 'hash', b('field:new'), value)
  })
  await measure('SET str:12345 (string)', () => keyspace.set(b('str:12345'), value))
  await measure(`DEL big (${fields + 1} fields)`, () => keyspace.delete(b('big')))
  console.log(`a record header is ${recordBytes(0, 0)} bytes; DEL big is one tombstone`)
  keyspace.close()
  await engine.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

await main()
