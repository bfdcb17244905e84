/* inspectDataDir on real directories: a healthy one adds up, flipped bytes and damaged hints
 * are reported with file and offset. */
import { test, describe, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nodeDisk } from '../io/disk.js'
import { systemClock } from '../io/clock.js'
import { nodeTimers } from '../io/timers.js'
import { openEngine } from './engine.js'
import { inspectDataDir } from './inspect.js'
import type { EngineOptions } from './types.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-inspect-'))
  dirs.push(dir)
  return dir
}

const options = (dir: string): EngineOptions => ({
  dir,
  disk: nodeDisk,
  clock: systemClock,
  timers: nodeTimers,
  fsync: 'no',
  segmentBytesMax: 2048,
  mergeDeadRatioMin: 0.5,
  mergeDeadBytesMin: 1024 * 1024 * 1024,
})
const b = (text: string): Buffer => Buffer.from(text)

async function populate(dir: string): Promise<void> {
  const engine = await openEngine(options(dir))
  for (let i = 0; i < 120; i++) engine.put(b(`key${i % 40}`), b(`value-${i}`.padEnd(32, '.')), 0)
  engine.put(b('ttl'), b('x'), 1_900_000_000_000)
  engine.delete(b('key3'))
  await engine.close()
}

describe('inspectDataDir', () => {
  test('a healthy directory: counts add up and nothing is wrong', async () => {
    const dir = tempDir()
    await populate(dir)
    const report = await inspectDataDir(nodeDisk, dir)
    assert.deepEqual(report.problems, [])
    assert.equal(report.keys, 40)
    assert.equal(report.keysWithExpiry, 1)
    assert.ok(report.segments.length > 2)
    assert.equal(report.hints.length, report.segments.length)
    assert.ok(report.hints.every((hint) => hint.valid && hint.origin === 'writer'))
    const records = report.segments.reduce((sum, segment) => sum + segment.records, 0)
    assert.equal(records, 122)
    assert.equal(
      report.segments.reduce((sum, s) => sum + s.tombstones, 0),
      1,
    )
    assert.equal(report.totalBytes, report.liveBytes + report.deadBytes)
    assert.ok(report.deadBytes > report.liveBytes)
    const reopened = await openEngine(options(dir))
    assert.equal(reopened.keyCount(), report.keys)
    assert.equal(reopened.stats().liveBytes, report.liveBytes)
    await reopened.close()
  })

  test('a flipped byte is reported with its file and the record offset', async () => {
    const dir = tempDir()
    await populate(dir)
    const second = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.data'))
      .sort()[1]!
    const file = path.join(dir, second)
    const bytes = fs.readFileSync(file)
    bytes[150]! ^= 0x01
    fs.writeFileSync(file, bytes)
    const report = await inspectDataDir(nodeDisk, dir)
    const problem = report.problems.find((p) => p.file === file)
    assert.ok(problem, JSON.stringify(report.problems))
    assert.ok(problem.offset <= 150 && problem.offset > 150 - 80)
    assert.match(problem.reason, /CRC/)
  })

  test('a damaged hint and leftovers are reported', async () => {
    const dir = tempDir()
    await populate(dir)
    const hint = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.hint'))
      .sort()[0]!
    const hintPath = path.join(dir, hint)
    const bytes = fs.readFileSync(hintPath)
    bytes[bytes.length - 1]! ^= 0xff
    fs.writeFileSync(hintPath, bytes)
    fs.writeFileSync(path.join(dir, '0000000777.data.merging'), 'x')
    const report = await inspectDataDir(nodeDisk, dir)
    assert.deepEqual(report.problems, [{ file: hintPath, offset: 0, reason: 'hint CRC mismatch' }])
    assert.equal(report.notes.length, 1)
    assert.match(report.notes[0]!, /0000000777\.data\.merging/)
  })
})
