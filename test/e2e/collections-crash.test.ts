/* Crash test for collections: writers run HSET (one and several fields), HDEL, HINCRBY,
 * SADD/SREM, LPUSH/RPUSH (several values)/LPOP (with a count)/RPOP, ZADD/ZINCRBY/ZREM (when
 * COMMAND INFO knows ZADD) and MULTI/EXEC blocks mixing them with SET against a --fsync always
 * server, SIGKILLed at seeded random moments and restarted on its dir. Each writer owns its keys
 * and has at most one operation in flight, so after a restart every element must hold its
 * acknowledged state, except the in-flight operation's elements, which must all be applied or
 * all not (no EXEC, no multi-field write partial). SEED=n repeats a run. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis, ReplyError } from 'ioredis'
import { createRng } from '../../src/core/rng.js'
import type { Rng } from '../../src/core/ports.js'
import {
  makeTempDir,
  removeDir,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { connectAll, connectReady } from '../helpers/crash-client.js'

const writers = 4
const rounds = 4

/** One element's state: a hash field's value, '1' for a set member, a zset score, a whole list
 * as JSON (its one element is '', so a push or pop is all-or-nothing like an EXEC); null:
 * absent. */
type State = string | null

interface Change {
  id: string
  before: State
  after: State
}

interface Writer {
  index: number
  /** Acknowledged state of every element this writer ever sent, keyed by elementId. */
  model: Map<string, State>
  /** The changes of the operation sent but not acknowledged (empty when none). */
  pending: Change[]
  nextOp: number
  acked: number
  checked: number
  /** In-flight operations found whole after a restart, and found absent. */
  inFlightApplied: number
  inFlightLost: number
}

interface Op {
  changes: Change[]
  send: (redis: Redis) => Promise<unknown>
}

const keyOf = (writer: number, kind: 'h' | 's' | 'z' | 'l' | 'str'): string =>
  `cc{w${writer}}:${kind}`
const elementId = (key: string, element: string): string => `${key}\u0000${element}`
const counterField = 'n'

/** An acknowledged, present element of `key` whose element name starts with `prefix`, if any. */
function pickPresent(w: Writer, key: string, prefix: string, rng: Rng): string | undefined {
  const start = elementId(key, prefix)
  const candidates: string[] = []
  for (const [id, state] of w.model) if (state !== null && id.startsWith(start)) candidates.push(id)
  const id = candidates[rng.int(candidates.length)]
  return id?.slice(key.length + 1)
}

function change(w: Writer, key: string, element: string, after: State): Change {
  const id = elementId(key, element)
  return { id, before: w.model.get(id) ?? null, after }
}

/** The counter's next value: acknowledged <= value <= acknowledged + in-flight increment. */
function increment(w: Writer, by: number): Change {
  const current = w.model.get(elementId(keyOf(w.index, 'h'), counterField)) ?? '0'
  return change(w, keyOf(w.index, 'h'), counterField, String(Number(current) + by))
}

function hashOp(w: Writer, op: number, rng: Rng): Op {
  const key = keyOf(w.index, 'h')
  const roll = rng.int(3)
  const victim = pickPresent(w, key, 'f', rng)
  if (roll === 0 && victim !== undefined) {
    return { changes: [change(w, key, victim, null)], send: (r) => r.hdel(key, victim) }
  }
  if (roll === 1) {
    const by = 1 + rng.int(9)
    return { changes: [increment(w, by)], send: (r) => r.hincrby(key, counterField, by) }
  }
  const fields = Array.from({ length: 1 + rng.int(4) }, (_, i) => `f${op}.${i}`)
  const changes = fields.map((field) => change(w, key, field, `v${op}`))
  const args = fields.flatMap((field) => [field, `v${op}`])
  return { changes, send: (r) => r.hset(key, ...args) }
}

function setOp(w: Writer, op: number, rng: Rng): Op {
  const key = keyOf(w.index, 's')
  const victims = [pickPresent(w, key, 'm', rng), pickPresent(w, key, 'm', rng)]
  const members = [...new Set(victims.filter((m): m is string => m !== undefined))]
  if (rng.int(3) === 0 && members.length > 0) {
    return {
      changes: members.map((m) => change(w, key, m, null)),
      send: (r) => r.srem(key, ...members),
    }
  }
  const added = Array.from({ length: 1 + rng.int(4) }, (_, i) => `m${op}.${i}`)
  return { changes: added.map((m) => change(w, key, m, '1')), send: (r) => r.sadd(key, ...added) }
}

function zsetOp(w: Writer, op: number, rng: Rng): Op {
  const key = keyOf(w.index, 'z')
  const roll = rng.int(3)
  const member = pickPresent(w, key, 'z', rng)
  if (roll === 0 && member !== undefined) {
    return { changes: [change(w, key, member, null)], send: (r) => r.zrem(key, member) }
  }
  if (roll === 1 && member !== undefined) {
    const by = 1 + rng.int(9)
    const score = String(Number(w.model.get(elementId(key, member))) + by)
    return { changes: [change(w, key, member, score)], send: (r) => r.zincrby(key, by, member) }
  }
  const score = rng.int(1000)
  return {
    changes: [change(w, key, `z${op}`, String(score))],
    send: (r) => r.zadd(key, score, `z${op}`),
  }
}

/** The list as acknowledged, or as it is after the changes already planned. */
function listOf(w: Writer): string[] {
  const state = w.model.get(elementId(keyOf(w.index, 'l'), '')) ?? null
  return state === null ? [] : (JSON.parse(state) as string[])
}

function listChange(w: Writer, after: string[]): Change {
  return change(w, keyOf(w.index, 'l'), '', after.length === 0 ? null : JSON.stringify(after))
}

function listOp(w: Writer, op: number, rng: Rng): Op {
  const key = keyOf(w.index, 'l')
  const current = listOf(w)
  const roll = rng.int(4)
  if (roll === 0 || roll === 1) {
    const values = Array.from({ length: 1 + rng.int(3) }, (_, i) => `p${op}.${i}`)
    const after = roll === 0 ? [...values].reverse().concat(current) : current.concat(values)
    const send = (r: Redis): Promise<number> =>
      roll === 0 ? r.lpush(key, ...values) : r.rpush(key, ...values)
    return { changes: [listChange(w, after)], send }
  }
  if (roll === 2) {
    const count = 1 + rng.int(3)
    return { changes: [listChange(w, current.slice(count))], send: (r) => r.lpop(key, count) }
  }
  return { changes: [listChange(w, current.slice(0, -1))], send: (r) => r.rpop(key) }
}

/** An EXEC writing a unique marker to every key it touches, plus a counter step and removals. */
function execOp(w: Writer, op: number, rng: Rng, zsets: boolean): Op {
  const [h, s, z, str] = [
    keyOf(w.index, 'h'),
    keyOf(w.index, 's'),
    keyOf(w.index, 'z'),
    keyOf(w.index, 'str'),
  ]
  const marker = `x${op}`
  const by = 1 + rng.int(9)
  const removed = pickPresent(w, s, 'm', rng)
  const changes = [
    change(w, str, '', marker),
    change(w, h, marker, marker),
    increment(w, by),
    change(w, s, marker, '1'),
  ]
  if (removed !== undefined) changes.push(change(w, s, removed, null))
  if (zsets) changes.push(change(w, z, marker, String(op)))
  changes.push(listChange(w, listOf(w).concat(marker)))
  const send = async (redis: Redis): Promise<unknown> => {
    const multi = redis
      .multi()
      .set(str, marker)
      .hset(h, marker, marker)
      .hincrby(h, counterField, by)
    multi.sadd(s, marker)
    if (removed !== undefined) multi.srem(s, removed)
    if (zsets) multi.zadd(z, op, marker)
    multi.rpush(keyOf(w.index, 'l'), marker)
    const results = await multi.exec()
    assert.ok(results !== null, 'no WATCH, so EXEC never aborts')
    for (const [error] of results) if (error !== null) throw error
    return results
  }
  return { changes, send }
}

function nextOperation(w: Writer, rng: Rng, zsets: boolean): Op {
  const op = w.nextOp++
  const kinds = zsets ? 5 : 4
  const roll = rng.int(kinds)
  if (roll === 0) return execOp(w, op, rng, zsets)
  if (roll === 1) return hashOp(w, op, rng)
  if (roll === 2) return setOp(w, op, rng)
  if (roll === 3) return listOp(w, op, rng)
  return zsetOp(w, op, rng)
}

/** Sends operations one at a time until the connection dies; an error reply fails the test. */
async function runWriter(redis: Redis, w: Writer, rng: Rng, zsets: boolean): Promise<void> {
  try {
    for (;;) {
      const op = nextOperation(w, rng, zsets)
      w.pending = op.changes
      await op.send(redis)
      for (const { id, after } of op.changes) w.model.set(id, after)
      w.pending = []
      w.acked++
    }
  } catch (error) {
    if (error instanceof assert.AssertionError || error instanceof ReplyError) throw error
  } finally {
    redis.disconnect()
  }
}

/** Everything visible of a writer's keys, keyed by elementId. */
async function observe(redis: Redis, writer: number, zsets: boolean): Promise<Map<string, string>> {
  const seen = new Map<string, string>()
  const [h, s, z, str] = [
    keyOf(writer, 'h'),
    keyOf(writer, 's'),
    keyOf(writer, 'z'),
    keyOf(writer, 'str'),
  ]
  for (const [field, value] of Object.entries(await redis.hgetall(h))) {
    seen.set(elementId(h, field), value)
  }
  for (const member of await redis.smembers(s)) seen.set(elementId(s, member), '1')
  if (zsets) {
    const flat = await redis.zrange(z, 0, -1, 'WITHSCORES')
    for (let i = 0; i + 1 < flat.length; i += 2) {
      seen.set(elementId(z, flat[i] as string), flat[i + 1] as string)
    }
  }
  const list = await redis.lrange(keyOf(writer, 'l'), 0, -1)
  if (list.length > 0) seen.set(elementId(keyOf(writer, 'l'), ''), JSON.stringify(list))
  const value = await redis.get(str)
  if (value !== null) seen.set(elementId(str, ''), value)
  return seen
}

/** Checks one writer after a restart, then adopts what survived of its in-flight operation. */
async function verifyWriter(redis: Redis, w: Writer, zsets: boolean): Promise<void> {
  const seen = await observe(redis, w.index, zsets)
  const label = (id: string): string => `writer ${w.index} ${id.replace('\u0000', ' ')}`
  const pending = new Map(w.pending.map((c) => [c.id, c]))
  for (const id of seen.keys()) {
    assert.ok(w.model.has(id) || pending.has(id), `${label(id)}: never sent, yet visible`)
  }
  for (const [id, state] of w.model) {
    if (!pending.has(id)) assert.equal(seen.get(id) ?? null, state, `${label(id)}: acknowledged`)
  }
  const applied = w.pending.map((c) => {
    const now = seen.get(c.id) ?? null
    assert.ok(
      now === c.before || now === c.after,
      `${label(c.id)}: ${now} neither before nor after`,
    )
    return now === c.after
  })
  // An element the operation did not change says nothing; the others must agree.
  const telling = applied.filter((_, i) => w.pending[i]?.before !== w.pending[i]?.after)
  assert.ok(new Set(telling).size <= 1, `writer ${w.index}: in-flight operation partly visible`)
  if (telling[0] === true) w.inFlightApplied++
  if (telling[0] === false) w.inFlightLost++
  for (const c of w.pending) w.model.set(c.id, seen.get(c.id) ?? null)
  w.checked += w.model.size
  w.pending = []
}

async function verify(port: number, ws: Writer[], zsets: boolean): Promise<void> {
  const redis = await connectReady(port)
  try {
    for (const w of ws) await verifyWriter(redis, w, zsets)
  } finally {
    redis.disconnect()
  }
}

async function hasCommand(port: number, name: string): Promise<boolean> {
  const redis = await connectReady(port)
  try {
    const info = (await redis.call('COMMAND', 'INFO', name)) as unknown[]
    return Array.isArray(info) && info[0] !== null && info[0] !== undefined
  } finally {
    redis.disconnect()
  }
}

describe('collection crash safety', () => {
  test('after SIGKILL every acknowledged mutation is present and no EXEC is partial', async () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`collections crash test seed=${seed} (rerun with SEED=${seed})`)
    const rng = createRng(seed)
    const dir = makeTempDir('caskade-coll-crash-')
    const ws: Writer[] = Array.from({ length: writers }, (_, index) => ({
      index,
      model: new Map<string, State>(),
      pending: [],
      nextOp: 1,
      acked: 0,
      checked: 0,
      inFlightApplied: 0,
      inFlightLost: 0,
    }))
    let server: ServerProcess | undefined
    try {
      let zsets = false
      for (let round = 0; round < rounds; round++) {
        server = await startServerProcess({ dir, fsync: 'always' })
        if (round === 0) zsets = await hasCommand(server.port, 'ZADD')
        else await verify(server.port, ws, zsets)
        const before = ws.reduce((sum, w) => sum + w.acked, 0)
        const killAfterMs = 300 + rng.int(1500)
        // Connected before the kill timer starts: a client killed mid-handshake never settles.
        const clients = await connectAll(server.port, writers)
        const running = ws.map((w) => runWriter(clients[w.index] as Redis, w, rng, zsets))
        await new Promise((resolve) => setTimeout(resolve, killAfterMs))
        await server.crash()
        await Promise.all(running)
        const acked = ws.reduce((sum, w) => sum + w.acked, 0) - before
        console.log(`round ${round}: killed after ${killAfterMs} ms, ${acked} acknowledged ops`)
      }
      server = await startServerProcess({ dir, fsync: 'always' })
      await verify(server.port, ws, zsets)
      await server.stop()
      const acked = ws.reduce((sum, w) => sum + w.acked, 0)
      const sum = (of: (w: Writer) => number): number => ws.reduce((n, w) => n + of(w), 0)
      console.log(
        `sorted sets ${zsets ? 'on' : 'skipped (no ZADD in COMMAND INFO)'}: ${rounds} rounds, ` +
          `${acked} acknowledged ops, ${sum((w) => w.checked)} element checks after restarts, ` +
          `in-flight ops whole ${sum((w) => w.inFlightApplied)}, absent ${sum((w) => w.inFlightLost)}`,
      )
      assert.ok(acked > 0, 'the writers got acknowledgements before the kills')
    } catch (error) {
      console.log(`collections crash test FAILED with seed=${seed}`)
      throw error
    } finally {
      // A failed check leaves the server running; it would keep the test process alive.
      await server?.crash()
      removeDir(dir)
    }
  })
})
