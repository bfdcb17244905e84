/* Engine checkpoints (DiskEngine.checkpoint), on the simulated disk and on the real one: a copy
 * made of the frozen files (hard-linked into a fresh directory) opens as exactly the state at the
 * call, from hints alone, without ever writing to a frozen file; the live engine goes on
 * unaffected; a crash before the promise resolves leaves the live engine recoverable; frequent
 * checkpoints do not grow the segment count (small-segment merges). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { AssertionError } from '../core/assert.js'
import type { Disk, Rng } from '../core/ports.js'
import { createRng } from '../core/rng.js'
import { systemClock } from '../io/clock.js'
import { nodeDisk } from '../io/disk.js'
import { nodeTimers } from '../io/timers.js'
import { SimDisk } from '../sim/disk.js'
import {
  durable,
  forwardFile,
  forwardingDisk,
  tempDirs,
  wrapDiskFiles,
} from '../../test/helpers/engine-fixtures.js'
import { openEngine } from './engine.js'
import { RecordKind, isCollectionKind } from './record-codec.js'
import type {
  CheckpointFile,
  DiskEngine,
  EngineOptions,
  StorageEngine,
  StorageEvent,
} from './types.js'

const b = (text: string): Buffer => Buffer.from(text, 'latin1')
const tempDir = tempDirs('caskade-ckpt-')

interface Subject {
  readonly disk: Disk
  /** A fresh path that does not exist yet, whose parent does. */
  readonly freshPath: () => string
  readonly sim: SimDisk | null
}

const subjects: Record<string, () => Subject> = {
  SimDisk: () => {
    const sim = new SimDisk()
    sim.mkdirp('/t')
    let next = 0
    return { disk: sim, sim, freshPath: () => `/t/${++next}` }
  },
  nodeDisk: () => {
    const root = tempDir()
    let next = 0
    return { disk: nodeDisk, sim: null, freshPath: () => path.join(root, String(++next)) }
  },
}

function options(disk: Disk, dir: string, overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    dir,
    disk,
    clock: systemClock,
    timers: nodeTimers,
    fsync: 'always',
    segmentBytesMax: 4096,
    mergeDeadRatioMin: 0.5,
    mergeDeadBytesMin: 1024 * 1024 * 1024,
    ...overrides,
  }
}

/** Fresh paths under `root` (which must exist). */
function makeFreshPaths(root: string): () => string {
  let next = 0
  return () => `${root}/copy${++next}`
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function waitMergeDone(engine: StorageEngine): Promise<void> {
  for (let turn = 0; engine.stats().mergeInProgress; turn++) {
    assert.ok(turn < 100_000, 'the merge finishes')
    await nextTurn()
  }
}

/** Every key with its kind, expiry and value or fields: the whole observable state. */
function dump(engine: StorageEngine): Map<string, string> {
  const state = new Map<string, string>()
  let cursor = 0
  do {
    const page = engine.scan(cursor, 100)
    for (const key of page.keys) {
      const kind = engine.kindOf(key) ?? -1
      const expiresAtMs = engine.expiresAtMs(key)
      const content = isCollectionKind(kind)
        ? engine
            .elementFields(key)
            .map((field) => [field.toString('latin1'), engine.getElement(key, field)?.toString()])
            .sort()
        : engine.get(key)?.toString('latin1')
      state.set(key.toString('latin1'), JSON.stringify({ kind, expiresAtMs, content }))
    }
    cursor = page.cursor
  } while (cursor !== 0)
  return state
}

interface ModelEntry {
  kind: number
  expiresAtMs: number
  value: string
  fields: Map<string, string> | null
}

function modelDump(model: Map<string, ModelEntry>): Map<string, string> {
  const state = new Map<string, string>()
  for (const [key, entry] of model) {
    const content = entry.fields === null ? entry.value : [...entry.fields].sort()
    const description = { kind: entry.kind, expiresAtMs: entry.expiresAtMs, content }
    state.set(key, JSON.stringify(description))
  }
  return state
}

/** The model of a dump (to go on writing through an engine opened on a copy). */
function modelOf(state: Map<string, string>): Map<string, ModelEntry> {
  const model = new Map<string, ModelEntry>()
  for (const [key, description] of state) {
    const { kind, expiresAtMs, content } = JSON.parse(description) as {
      kind: number
      expiresAtMs: number
      content: string | Array<[string, string]>
    }
    const fields = typeof content === 'string' ? null : new Map(content)
    model.set(key, { kind, expiresAtMs, value: typeof content === 'string' ? content : '', fields })
  }
  return model
}

/** Random writes through the engine, mirrored in `model`; FLUSHALL and groups included. */
function randomWrites(
  engine: StorageEngine,
  model: Map<string, ModelEntry>,
  rng: Rng,
  count: number,
) {
  const value = (): string => 'v'.repeat(rng.int(3) === 0 ? 200 + rng.int(200) : rng.int(20))
  const put = (key: string): void => {
    const text = value() + String(rng.int(1000))
    engine.put(b(key), b(text), 0)
    model.set(key, { kind: RecordKind.string, expiresAtMs: 0, value: text, fields: null })
  }
  for (let i = 0; i < count; i++) {
    const roll = rng.int(1000)
    const key = `k${rng.int(120)}`
    const hash = `h${rng.int(20)}`
    if (roll < 400) put(key)
    else if (roll < 500) {
      assert.equal(engine.delete(b(key)), model.delete(key))
    } else if (roll < 580) {
      const expiresAtMs = rng.int(2) === 0 ? 0 : 4_000_000_000_000 + rng.int(1000)
      const entry = model.get(key)
      assert.equal(engine.setExpiry(b(key), expiresAtMs), entry !== undefined)
      if (entry !== undefined) entry.expiresAtMs = expiresAtMs
    } else if (roll < 850) {
      let entry = model.get(hash)
      if (entry === undefined || entry.fields === null || rng.int(20) === 0) {
        engine.createCollection(b(hash), RecordKind.hash, 0)
        entry = { kind: RecordKind.hash, expiresAtMs: 0, value: '', fields: new Map() }
        model.set(hash, entry)
      }
      const field = `f${rng.int(30)}`
      const text = value()
      engine.putElement(b(hash), b(field), b(text))
      entry.fields?.set(field, text)
    } else if (roll < 950) {
      const entry = model.get(hash)
      if (entry?.fields == null) continue
      const field = `f${rng.int(30)}`
      assert.equal(engine.deleteElement(b(hash), b(field)), entry.fields.delete(field))
      // As the keyspace does: an emptied collection is deleted.
      if (entry.fields.size === 0) assert.equal(engine.delete(b(hash)), model.delete(hash))
    } else if (roll < 997) {
      engine.beginGroup()
      for (let k = 0; k < 3; k++) put(`k${rng.int(120)}`)
      engine.endGroup()
    } else {
      engine.clear()
      model.clear()
    }
  }
}

/** Bytes of every frozen file, by name (also checks the sizes the checkpoint reported). */
function readFrozen(disk: Disk, dir: string, files: readonly CheckpointFile[]) {
  const bytes = new Map<string, Buffer>()
  for (const file of files) {
    const content = disk.readFileSync(path.join(dir, file.name))
    assert.equal(content.length, file.bytes, `${file.name}: size as reported`)
    bytes.set(file.name, content)
  }
  assert.deepEqual(disk.listSync(dir), files.map((file) => file.name).sort())
  return bytes
}

/** Opens an engine on a fresh directory holding links to the frozen files (as a restore does). */
async function openCopy(
  subject: Subject,
  frozenDir: string,
  files: readonly CheckpointFile[],
  events: StorageEvent[] = [],
): Promise<{ engine: DiskEngine; dir: string }> {
  const dir = subject.freshPath()
  subject.disk.mkdirp(dir)
  for (const file of files)
    subject.disk.link(path.join(frozenDir, file.name), path.join(dir, file.name))
  const engine = await openEngine({
    ...options(subject.disk, dir),
    onEvent: (event) => events.push(event),
  })
  return { engine, dir }
}

for (const [name, make] of Object.entries(subjects)) {
  describe(`checkpoint: ${name}`, () => {
    test('a copy of the frozen files is exactly the state at the call; live goes on', async () => {
      const subject = make()
      const { disk } = subject
      const rng = createRng(name.length * 7919)
      const model = new Map<string, ModelEntry>()
      const live = await openEngine(options(disk, subject.freshPath()))
      randomWrites(live, model, rng, 1500)
      assert.deepEqual(dump(live), modelDump(model))
      const frozenDir = subject.freshPath()
      const expected = dump(live)
      const pending = live.checkpoint(frozenDir)
      // Writes, a forced merge and rotations go on while and after it completes.
      randomWrites(live, model, rng, 300)
      const files = await pending
      assert.ok(files.some((file) => file.name.endsWith('.data')))
      const frozen = readFrozen(disk, frozenDir, files)
      randomWrites(live, model, rng, 800)
      live.startMerge()
      await waitMergeDone(live)
      randomWrites(live, model, rng, 800)
      await live.flushAndSync()
      assert.deepEqual(dump(live), modelDump(model), 'the live engine is unaffected')
      assert.deepEqual(readFrozen(disk, frozenDir, files), frozen, 'live writes kept off them')

      const events: StorageEvent[] = []
      const copy = await openCopy(subject, frozenDir, files, events)
      assert.deepEqual(dump(copy.engine), expected)
      const recovered = events.find((event) => event.kind === 'recovered')
      assert.ok(recovered?.kind === 'recovered')
      const frozenSegments = files.filter((file) => file.name.endsWith('.data')).length
      assert.equal(recovered.fromHints, frozenSegments, 'opened from hints only')
      assert.equal(recovered.segments, frozenSegments + 1, 'and appends to a new segment')
      assert.equal(events.filter((event) => event.kind === 'torn-tail-truncated').length, 0)
      // Writes, a merge and rotations through the reopened copy never touch the frozen files.
      const copyModel = modelOf(expected)
      randomWrites(copy.engine, copyModel, rng, 1500)
      copy.engine.startMerge()
      await waitMergeDone(copy.engine)
      assert.deepEqual(dump(copy.engine), modelDump(copyModel))
      await copy.engine.close()
      assert.deepEqual(readFrozen(disk, frozenDir, files), frozen, 'the copy wrote elsewhere')
      await live.close()
    })

    test('an empty engine freezes into an empty directory that opens empty', async () => {
      const subject = make()
      const live = await openEngine(options(subject.disk, subject.freshPath()))
      const frozenDir = subject.freshPath()
      assert.deepEqual(await live.checkpoint(frozenDir), [])
      assert.deepEqual(subject.disk.listSync(frozenDir), [])
      live.put(b('later'), b('1'), 0)
      const copy = await openCopy(subject, frozenDir, [])
      assert.equal(copy.engine.keyCount(), 0)
      await copy.engine.close()
      // Everything deleted: the frozen tombstones keep the copy empty.
      live.delete(b('later'))
      const emptied = subject.freshPath()
      const files = await live.checkpoint(emptied)
      const again = await openCopy(subject, emptied, files)
      assert.equal(again.engine.keyCount(), 0)
      await again.engine.close()
      await live.close()
    })

    test('refused inside an atomic group and into an existing directory', async () => {
      const subject = make()
      const live = await openEngine(options(subject.disk, subject.freshPath()))
      live.put(b('a'), b('1'), 0)
      live.beginGroup()
      await assert.rejects(live.checkpoint(subject.freshPath()), AssertionError)
      live.endGroup()
      const existing = subject.freshPath()
      subject.disk.mkdirp(existing)
      await assert.rejects(live.checkpoint(existing), /already exists/)
      await live.close()
    })

    test('segments stay few over many checkpoints with writes between', async () => {
      const subject = make()
      const rng = createRng(42)
      const model = new Map<string, ModelEntry>()
      // Only the small-segment trigger can merge: no dead-byte trigger, every segment small.
      const segmentBytesMax = 1024 * 1024
      const live = await openEngine(options(subject.disk, subject.freshPath(), { segmentBytesMax }))
      const rounds = subject.sim !== null ? 200 : 60
      let segmentsMax = 0
      let files: readonly CheckpointFile[] = []
      let frozenDir = ''
      let expected = new Map<string, string>()
      for (let round = 0; round < rounds; round++) {
        randomWrites(live, model, rng, 15)
        frozenDir = subject.freshPath()
        expected = dump(live)
        files = await live.checkpoint(frozenDir)
        await nextTurn()
        segmentsMax = Math.max(segmentsMax, live.stats().segments)
      }
      await waitMergeDone(live)
      assert.ok(live.stats().merges > 0, 'small segments were merged')
      assert.ok(segmentsMax <= 40, `at most 40 segments at once (saw ${segmentsMax})`)
      assert.deepEqual(dump(live), modelDump(model))
      const copy = await openCopy(subject, frozenDir, files)
      assert.deepEqual(dump(copy.engine), expected)
      await copy.engine.close()
      await live.close()
    })
  })
}

/** Delays every fdatasync while `held`, so seals stay running. */
function gatedDisk(inner: Disk): { disk: Disk; release(): void; waiting(): number } {
  const gate = { held: true, waiters: [] as Array<() => void> }
  const disk = wrapDiskFiles(inner, (file) => ({
    sync: async () => {
      if (gate.held) await new Promise<void>((resume) => gate.waiters.push(resume))
      await file.sync()
    },
  }))
  return {
    disk,
    release: () => {
      gate.held = false
      for (const resume of gate.waiters.splice(0)) resume()
    },
    waiting: () => gate.waiters.length,
  }
}

/** A disk for one process: after kill() every call through it (and its files) fails. */
function killableDisk(inner: Disk): { disk: Disk; kill(): void } {
  const state = { alive: true }
  const check = (): void => {
    if (!state.alive) throw Object.assign(new Error('EIO: the process is gone'), { code: 'EIO' })
  }
  const guard = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, key, receiver) {
        const member = Reflect.get(object, key, receiver) as unknown
        if (typeof member !== 'function') return member
        return (...args: unknown[]) => {
          check()
          const result = (member as (...a: unknown[]) => unknown).apply(object, args)
          if (!(result instanceof Promise)) return result
          return (result as Promise<unknown>).then((value) => {
            check()
            return value
          })
        }
      },
    })
  const disk = forwardingDisk(inner, (file) => guard(forwardFile(file)))
  return { disk: guard(disk), kill: () => (state.alive = false) }
}

describe('checkpoint while seals run, and crashes', () => {
  for (const [name, make] of Object.entries(subjects)) {
    test(`${name}: segments whose seal is still running are frozen with their hints`, async () => {
      const subject = make()
      const gated = gatedDisk(subject.disk)
      const live = await openEngine(options(gated.disk, subject.freshPath(), { fsync: 'no' }))
      const model = new Map<string, ModelEntry>()
      randomWrites(live, model, createRng(7), 600)
      const frozenDir = subject.freshPath()
      const expected = dump(live)
      let resolved = false
      const pending = live.checkpoint(frozenDir).then((files) => {
        resolved = true
        return files
      })
      for (let turn = 0; turn < 5; turn++) await nextTurn()
      assert.equal(resolved, false, 'waits for the seals to fsync')
      assert.ok(gated.waiting() > 0)
      gated.release()
      const files = await pending
      assert.ok(files.filter((file) => file.name.endsWith('.hint')).length > 1)
      const copy = await openCopy(subject, frozenDir, files)
      assert.deepEqual(dump(copy.engine), expected)
      await copy.engine.close()
      await live.close()
    })
  }

  for (const [name, make] of Object.entries(subjects)) {
    test(`${name}: a checkpoint while a merge deletes its inputs revives nothing`, async () => {
      const subject = make()
      // Holds the deletion of segment 2's files: 2 (the tombstone) has left the table, 3 not yet.
      const gate = { held: true, blocked: 0, resume: [] as Array<() => void> }
      const disk: Disk = {
        ...forwardingDisk(subject.disk, (file) => file),
        remove: async (filePath) => {
          if (gate.held && path.basename(filePath).startsWith('0000000002.')) {
            gate.blocked++
            await new Promise<void>((resume) => gate.resume.push(resume))
          }
          await subject.disk.remove(filePath)
        },
      }
      const live = await openEngine(options(disk, subject.freshPath()))
      live.put(b('k'), b('doomed'), 0)
      live.put(b('j'), b('1'), 0)
      live.put(b('j'), b('2'), 0)
      await live.checkpoint(subject.freshPath()) // seals segment 1; active is 2
      assert.equal(live.startMerge(), true) // segment 1 into output 3
      await waitMergeDone(live)
      assert.equal(live.delete(b('k')), true) // the tombstone, in segment 2 (older than 3)
      live.put(b('kept'), b('yes'), 0)
      await live.checkpoint(subject.freshPath()) // seals segment 2; active is 4
      assert.equal(live.startMerge(), true) // segments 2 and 3; the tombstone is dropped
      for (let turn = 0; gate.blocked === 0; turn++) {
        assert.ok(turn < 10_000, 'the merge reaches the deletion of segment 3')
        await nextTurn()
      }
      const frozenDir = subject.freshPath()
      const expected = dump(live)
      const files = await live.checkpoint(frozenDir)
      gate.held = false
      for (const resume of gate.resume.splice(0)) resume()
      await waitMergeDone(live)
      const copy = await openCopy(subject, frozenDir, files)
      assert.deepEqual(dump(copy.engine), expected)
      assert.equal(copy.engine.get(b('k')), null)
      assert.ok(!files.some((file) => file.name.startsWith('0000000003.')), 'retired: left out')
      await copy.engine.close()
      await live.close()
    })
  }

  test('SimDisk: a crash before the checkpoint resolves leaves the live engine whole', async () => {
    const sim = new SimDisk()
    sim.mkdirp('/c')
    const rng = createRng(99)
    for (let run = 0; run < 20; run++) {
      const proc = killableDisk(sim)
      const dir = `/c/live${run}`
      const live = await openEngine(options(proc.disk, dir))
      const model = new Map<string, ModelEntry>()
      randomWrites(live, model, rng, 400)
      await durable(live)
      const acknowledged = modelDump(model)
      const pending = live.checkpoint(`/c/frozen${run}`)
      const later = 1 + rng.int(50)
      for (let i = 0; i < later; i++) live.put(b(`after${i}`), b(`late${i}`), 0)
      for (let turn = rng.int(40); turn > 0; turn--) await Promise.resolve()
      proc.kill()
      sim.crash(rng)
      await pending.catch(() => undefined)
      await live.close().catch(() => undefined)
      const reopened = await openEngine(options(killableDisk(sim).disk, dir))
      const state = dump(reopened)
      for (const [key, description] of state) {
        if (!key.startsWith('after')) continue
        // Not acknowledged: each may or may not have survived, but never garbled.
        const { content } = JSON.parse(description) as { content: string }
        assert.equal(content, `late${key.slice('after'.length)}`)
        state.delete(key)
      }
      assert.deepEqual(state, acknowledged, `run ${run}: every acknowledged write survived`)
      await reopened.close()
    }
  })

  test('SimDisk: after a crash (active segment recovered unhinted) and from a copy', async () => {
    const sim = new SimDisk()
    sim.mkdirp('/r')
    const rng = createRng(3)
    const model = new Map<string, ModelEntry>()
    const first = killableDisk(sim)
    const crashed = await openEngine(options(first.disk, '/r/live', { segmentBytesMax: 64 * 1024 }))
    randomWrites(crashed, model, rng, 300)
    await durable(crashed)
    first.kill()
    sim.crash(null)
    await crashed.close().catch(() => undefined)
    // Reopened, it appends to the recovered segment (no hint), deletes included.
    const live = await openEngine(options(sim, '/r/live', { segmentBytesMax: 64 * 1024 }))
    assert.deepEqual(dump(live), modelDump(model))
    randomWrites(live, model, rng, 200)
    const expected = dump(live)
    const subject: Subject = { disk: sim, sim, freshPath: makeFreshPaths('/r') }
    const files = await live.checkpoint('/r/frozen')
    const copy = await openCopy(subject, '/r/frozen', files)
    assert.deepEqual(dump(copy.engine), expected)
    // A checkpoint of the engine opened on a copy: links of links, same state.
    randomWrites(copy.engine, model, rng, 200)
    const again = dump(copy.engine)
    const second = await copy.engine.checkpoint('/r/frozen2')
    await copy.engine.close()
    const copy2 = await openCopy(subject, '/r/frozen2', second)
    assert.deepEqual(dump(copy2.engine), again)
    await copy2.engine.close()
    await live.close()
  })

  test('SimDisk: a crash after the checkpoint resolved keeps the frozen state', async () => {
    const sim = new SimDisk()
    sim.mkdirp('/c')
    const proc = killableDisk(sim)
    const live = await openEngine(options(proc.disk, '/c/live', { fsync: 'no' }))
    const model = new Map<string, ModelEntry>()
    randomWrites(live, model, createRng(5), 900)
    const expected = dump(live)
    const files = await live.checkpoint('/c/frozen')
    randomWrites(live, model, createRng(6), 300)
    proc.kill()
    sim.crash(createRng(1))
    await live.close().catch(() => undefined)
    const subject: Subject = { disk: sim, sim, freshPath: () => '/c/copy' }
    const copy = await openCopy(subject, '/c/frozen', files)
    assert.deepEqual(dump(copy.engine), expected)
    await copy.engine.close()
  })
})
