/* The replicated keyspace state machine: the same entries give the same replies and the same
 * snapshot bytes on every node (random commands included), a node restored from a snapshot then
 * fed the rest of the log ends where a node that applied everything is, apply time never goes
 * back, WATCH aborts by log index, tick entries expire keys, and the replies are the single
 * server's. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { commandTable } from '../commands/registry.js'
import { parseNotifyFlags } from '../commands/notify.js'
import { PubSubHub } from '../commands/pubsub-hub.js'
import { bulks, createHarness, makeSession } from '../commands/test-support.js'
import { createReplyWriter } from '../protocol/reply-writer.js'
import type { ProtocolVersion } from '../protocol/types.js'
import { encodeEntry, encodeQuery, type CommandEntry, type NodeAddress } from './command-entry.js'
import { MemoryEngine } from '../keyspace/memory-engine.js'
import {
  createKeyspaceStateMachine,
  keyspaceStateMachineOver,
  type KeyspaceStateMachine,
} from './keyspace-state-machine.js'
import { ManualTime, MemDisk } from './test-support.js'

const t0 = 1_700_000_000_000
const b = (text: string): Buffer => Buffer.from(text)
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')

interface Node {
  readonly machine: KeyspaceStateMachine
  readonly time: ManualTime
}

async function node(): Promise<Node> {
  const time = new ManualTime()
  const machine = await createKeyspaceStateMachine({
    disk: new MemDisk(),
    dir: '/state',
    clock: time,
    timers: time,
  })
  return { machine, time }
}

/** The state machine over the memory engine (no disk): the snapshot is logical, so it matches. */
function memoryNode(): Node {
  const time = new ManualTime()
  return { machine: keyspaceStateMachineOver(new MemoryEngine(), { clock: time }), time }
}

/** Applies entries from `firstIndex` on; returns the replies as text. */
function applyAll(target: Node, entries: readonly CommandEntry[], firstIndex = 1): string[] {
  const replies = entries.map((entry, i) =>
    text(target.machine.apply(encodeEntry(entry), firstIndex + i)),
  )
  target.time.drain() // the engine's deferred writes reach its disk
  return replies
}

function command(timeMs: number, ...argv: string[]): CommandEntry {
  return { kind: 'command', timeMs, protocol: 2, argv: argv.map(b) }
}

function query(target: Node, ...argv: string[]): string {
  return text(target.machine.query(encodeQuery({ protocol: 2, argv: argv.map(b) })))
}

// ---- A generator of command sequences over a few keys of every type -------------------------

// Mostly the right type for each family, sometimes another (WRONGTYPE, RENAME across types).
const key = fc.constantFrom('k1', 'k2', 'h1', 's1', 's2', 'z1')
const skey = fc.constantFrom('k1', 'k2', 'k1', 'k2', 'h1')
const hkey = fc.constantFrom('h1', 'h1', 'h1', 'k1')
const setKey = fc.constantFrom('s1', 's2', 's1', 's2', 'z1')
const zkey = fc.constantFrom('z1', 'z1', 'z1', 's1')
const member = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')
const members = fc.array(member, { minLength: 1, maxLength: 6 })
const small = fc.integer({ min: -3, max: 9 }).map(String)
const ttlMs = fc.integer({ min: 1, max: 800 }).map(String)

const writes: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(skey, member).map(([k, v]) => ['SET', k, v]),
  fc.tuple(skey, member, ttlMs).map(([k, v, ms]) => ['SET', k, v, 'PX', ms]),
  skey.map((k) => ['INCR', k]),
  fc.tuple(skey, member).map(([k, v]) => ['APPEND', k, v]),
  key.map((k) => ['DEL', k]),
  fc.tuple(hkey, member, small).map(([k, f, n]) => ['HSET', k, f, n]),
  fc.tuple(hkey, member, small).map(([k, f, n]) => ['HINCRBY', k, f, n]),
  fc.tuple(hkey, member).map(([k, f]) => ['HDEL', k, f]),
  fc.tuple(setKey, members).map(([k, m]) => ['SADD', k, ...m]),
  fc.tuple(setKey, members).map(([k, m]) => ['SADD', k, ...m]),
  fc.tuple(setKey, member).map(([k, m]) => ['SREM', k, m]),
  setKey.map((k) => ['SPOP', k]),
  fc.tuple(setKey, fc.integer({ min: 1, max: 4 })).map(([k, n]) => ['SPOP', k, String(n)]),
  setKey.map((k) => ['SRANDMEMBER', k]),
  fc.tuple(setKey, fc.integer({ min: -4, max: 4 })).map(([k, n]) => ['SRANDMEMBER', k, `${n}`]),
  fc.tuple(setKey, setKey, member).map(([s, d, m]) => ['SMOVE', s, d, m]),
  fc.tuple(zkey, small, member).map(([k, s, m]) => ['ZADD', k, s, m]),
  fc.tuple(zkey, small, member).map(([k, s, m]) => ['ZINCRBY', k, s, m]),
  fc.tuple(zkey, member).map(([k, m]) => ['ZREM', k, m]),
  zkey.map((k) => ['ZPOPMIN', k]),
  hkey.map((k) => ['HRANDFIELD', k]),
  fc.tuple(key, ttlMs).map(([k, ms]) => ['PEXPIRE', k, ms]),
  key.map((k) => ['PERSIST', k]),
  fc.tuple(key, key).map(([a, c]) => ['RENAME', a, c]),
  skey.map((k) => ['GET', k]),
  hkey.map((k) => ['HGETALL', k]),
  setKey.map((k) => ['SMEMBERS', k]),
  zkey.map((k) => ['ZRANGE', k, '0', '-1', 'WITHSCORES']),
  key.map((k) => ['PTTL', k]),
  fc.constant<string[]>(['DBSIZE']),
)

/** Commands whose reply is random (the single server's Rng differs from the entry's). */
const randomCommands = new Set(['SPOP', 'SRANDMEMBER', 'HRANDFIELD'])

type Step =
  | { readonly kind: 'command'; readonly delayMs: number; readonly argv: string[] }
  | { readonly kind: 'flush'; readonly delayMs: number }
  | { readonly kind: 'tick'; readonly delayMs: number }
  | {
      readonly kind: 'exec'
      readonly delayMs: number
      readonly watched: string[]
      readonly watchLag: number
      readonly commands: string[][]
    }

const delayMs = fc.integer({ min: -50, max: 300 }) // a new leader's clock may be behind
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('command' as const), delayMs, argv: writes }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), delayMs }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const), delayMs }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('exec' as const),
      delayMs,
      watched: fc.array(key, { maxLength: 2 }),
      watchLag: fc.integer({ min: 0, max: 4 }),
      commands: fc.array(writes, { minLength: 1, maxLength: 3 }),
    }),
  },
)

/** The entries of `steps`: times drift forward (sometimes back), WATCH a few entries behind. */
function entriesOf(steps: readonly Step[], protocol: ProtocolVersion = 2): CommandEntry[] {
  let timeMs = t0
  return steps.map((s, i): CommandEntry => {
    timeMs += s.delayMs
    switch (s.kind) {
      case 'command':
        return { kind: 'command', timeMs, protocol, argv: s.argv.map(b) }
      case 'flush':
        return { kind: 'command', timeMs, protocol, argv: [b('FLUSHALL')] }
      case 'tick':
        return { kind: 'tick', timeMs }
      case 'exec':
        return {
          kind: 'exec',
          timeMs,
          protocol,
          watchIndex: Math.max(0, i + 1 - s.watchLag),
          watched: s.watched.map(b),
          commands: s.commands.map((argv) => argv.map(b)),
        }
    }
  })
}

const steps = fc.array(step, { minLength: 30, maxLength: 100 })

describe('the keyspace state machine is deterministic', () => {
  test('two nodes fed the same entries give the same replies and snapshot bytes', async () => {
    await fc.assert(
      fc.asyncProperty(steps, fc.constantFrom(2 as const, 3 as const), async (s, protocol) => {
        const entries = entriesOf(s, protocol)
        const [a, c] = [await node(), await node()]
        assert.deepEqual(applyAll(a, entries), applyAll(c, entries))
        assert.deepEqual(a.machine.snapshot(), c.machine.snapshot())
        a.machine.close()
        c.machine.close()
      }),
      { seed: 11, numRuns: 25 },
    )
  })

  test('over the memory engine the snapshot bytes are the same as over Bitcask', async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (s) => {
        const entries = entriesOf(s).filter(
          (e) => e.kind !== 'command' || !randomCommands.has(e.argv[0]?.toString() ?? ''),
        )
        const [bitcask, memory] = [await node(), memoryNode()]
        applyAll(bitcask, entries)
        applyAll(memory, entries)
        assert.deepEqual(memory.machine.snapshot(), bitcask.machine.snapshot())
        bitcask.machine.close()
        memory.machine.close()
      }),
      { seed: 15, numRuns: 15 },
    )
  })

  test('a node restored from a snapshot then fed the rest ends where the others are', async () => {
    await fc.assert(
      fc.asyncProperty(steps, fc.nat(), async (s, cutSeed) => {
        const entries = entriesOf(s)
        const cut = cutSeed % entries.length
        const [full, restored] = [await node(), await node()]
        const before = applyAll(full, entries.slice(0, cut))
        assert.equal(before.length, cut)
        // The restored node had its own past (now replaced), as a lagging follower has.
        applyAll(restored, entries.slice(0, Math.floor(cut / 2)))
        restored.machine.restore(full.machine.snapshot())
        assert.deepEqual(restored.machine.snapshot(), full.machine.snapshot())
        const rest = entries.slice(cut)
        assert.deepEqual(applyAll(restored, rest, cut + 1), applyAll(full, rest, cut + 1))
        assert.deepEqual(restored.machine.snapshot(), full.machine.snapshot())
        full.machine.close()
        restored.machine.close()
      }),
      { seed: 12, numRuns: 30 },
    )
  })

  test('SPOP and SRANDMEMBER pick the same members on a node restored from a snapshot', async () => {
    // Removals leave holes in the full node's member slots; the restored node has none.
    const [full, restored] = [await node(), await node()]
    applyAll(full, [
      command(t0, 'SADD', 's', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
      command(t0, 'SREM', 's', 'a', 'c', 'e'),
      command(t0, 'HSET', 'h', 'f1', '1', 'f2', '2', 'f3', '3', 'f4', '4'),
      command(t0, 'HDEL', 'h', 'f1', 'f2'),
    ])
    restored.machine.restore(full.machine.snapshot())
    const picks = [
      ...Array.from({ length: 6 }, () => command(t0, 'SRANDMEMBER', 's')),
      ...Array.from({ length: 3 }, () => command(t0, 'HRANDFIELD', 'h')),
      ...Array.from({ length: 4 }, () => command(t0, 'SPOP', 's')),
    ]
    const expected = applyAll(full, picks, 5)
    assert.deepEqual(applyAll(restored, picks, 5), expected)
    assert.ok(new Set(expected.slice(0, 6)).size > 1, 'the picks vary with the entry index')
    full.machine.close()
    restored.machine.close()
  })

  test('queries (random ones included) change nothing later entries see', async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (s) => {
        const entries = entriesOf(s)
        const [reading, quiet] = [await node(), await node()]
        entries.forEach((entry, i) => {
          reading.machine.apply(encodeEntry(entry), i + 1)
          quiet.machine.apply(encodeEntry(entry), i + 1)
          for (const k of ['k1', 's1', 'z1']) {
            query(reading, 'GET', k)
            query(reading, 'SRANDMEMBER', k, '-2')
            query(reading, 'PTTL', k)
          }
          query(reading, 'RANDOMKEY')
          query(reading, 'KEYS', '*')
        })
        assert.deepEqual(reading.machine.snapshot(), quiet.machine.snapshot())
        reading.machine.close()
        quiet.machine.close()
      }),
      { seed: 13, numRuns: 12 },
    )
  })
})

describe('the keyspace state machine answers as the single server does', () => {
  test('the same non-random commands at the same times give the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(steps, fc.constantFrom(2 as const, 3 as const), async (s, protocol) => {
        const replicated = await node()
        const single = createHarness(commandTable, { protocol })
        let timeMs = t0
        let index = 0
        for (const st of s) {
          // The single server's clock never goes back either (apply time is a max).
          timeMs += Math.max(0, st.delayMs)
          if (st.kind !== 'command' && st.kind !== 'exec') continue
          const commands = st.kind === 'command' ? [st.argv] : st.commands
          if (commands.some((argv) => randomCommands.has(argv[0] as string))) continue
          if (commands.some((argv) => argv[0] === 'DBSIZE')) continue // expiry timing differs
          single.clock.nowMs = timeMs
          let expected: string
          let entry: CommandEntry
          if (st.kind === 'command') {
            expected = single.runArgs(st.argv)
            entry = { kind: 'command', timeMs, protocol, argv: st.argv.map(b) }
          } else {
            single.run('MULTI')
            for (const argv of st.commands) single.runArgs(argv)
            expected = single.run('EXEC')
            entry = {
              kind: 'exec',
              timeMs,
              protocol,
              watchIndex: index,
              watched: [],
              commands: st.commands.map((argv) => argv.map(b)),
            }
          }
          const actual = text(replicated.machine.apply(encodeEntry(entry), ++index))
          assert.equal(actual, expected, `${JSON.stringify(commands)} at ${timeMs - t0}`)
        }
        replicated.machine.close()
      }),
      { seed: 14, numRuns: 30 },
    )
  })

  test('queue-time errors abort an EXEC entry (EXECABORT), run-time errors are replies', async () => {
    const n = await node()
    const exec = (index: number, ...commands: string[][]): string =>
      text(
        n.machine.apply(
          encodeEntry({
            kind: 'exec',
            timeMs: t0,
            protocol: 2,
            watchIndex: index - 1,
            watched: [],
            commands: commands.map((argv) => argv.map(b)),
          }),
          index,
        ),
      )
    assert.equal(
      exec(1, ['SET', 'a', 'x'], ['GET']),
      '-EXECABORT Transaction discarded because of previous errors.\r\n',
    )
    assert.equal(query(n, 'EXISTS', 'a'), ':0\r\n')
    assert.equal(
      exec(2, ['SET', 'a', 'x'], ['INCR', 'a'], ['GET', 'a']),
      '*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nx\r\n',
    )
    assert.equal(
      exec(3, ['SET', 'b', '1'], ['CONFIG', 'SET', 'port', '1']),
      '-EXECABORT Transaction discarded because of previous errors.\r\n',
    )
    n.machine.close()
  })
})

describe('time, WATCH, expiry and the address book', () => {
  test('apply time is the highest entry time so far: a lagging leader clock cannot rewind it', async () => {
    const n = await node()
    applyAll(n, [command(t0 + 1000, 'SET', 'k', 'v', 'PX', '500')])
    assert.equal(n.machine.appliedTimeMs, t0 + 1000)
    applyAll(n, [command(t0 + 100, 'SET', 'other', 'v')], 2) // a new leader, 900 ms behind
    assert.equal(n.machine.appliedTimeMs, t0 + 1000)
    assert.equal(query(n, 'PTTL', 'k'), ':500\r\n')
    applyAll(n, [{ kind: 'tick', timeMs: t0 + 1501 }], 3)
    assert.equal(query(n, 'EXISTS', 'k'), ':0\r\n')
    n.machine.close()
  })

  test('an EXEC aborts when a watched key was written after its watch index, not before', async () => {
    const n = await node()
    applyAll(n, [command(t0, 'SET', 'w', '1'), command(t0, 'SET', 'other', '1')]) // indexes 1, 2
    const execAt = (index: number, watchIndex: number): string =>
      text(
        n.machine.apply(
          encodeEntry({
            kind: 'exec',
            timeMs: t0,
            protocol: 3,
            watchIndex,
            watched: [b('w')],
            commands: [[b('INCR'), b('w')]],
          }),
          index,
        ),
      )
    assert.equal(execAt(3, 0), '_\r\n') // watched at 0, written at 1: aborted (RESP3 null)
    assert.equal(execAt(4, 1), '*1\r\n:2\r\n') // watched after the write: runs (writes w at 4)
    assert.equal(execAt(5, 3), '_\r\n') // the EXEC at 4 wrote it
    applyAll(n, [command(t0, 'FLUSHALL')], 6)
    assert.equal(execAt(7, 5), '_\r\n') // FLUSHALL modified every key
    assert.equal(execAt(8, 7), '*1\r\n:1\r\n')
    n.machine.close()
  })

  test('WATCH bookkeeping is in the snapshot: a restored node aborts the same EXECs', async () => {
    const [a, c] = [await node(), await node()]
    applyAll(a, [command(t0, 'SET', 'w', '1'), command(t0, 'SET', 'x', '1')])
    c.machine.restore(a.machine.snapshot())
    const exec: CommandEntry = {
      kind: 'exec',
      timeMs: t0,
      protocol: 2,
      watchIndex: 1,
      watched: [b('x')],
      commands: [[b('GET'), b('w')]],
    }
    assert.deepEqual(applyAll(a, [exec], 3), ['*-1\r\n'])
    assert.deepEqual(applyAll(c, [exec], 3), ['*-1\r\n'])
    a.machine.close()
    c.machine.close()
  })

  test('tick entries expire keys at the tick time; dueExpiries tells the leader when', async () => {
    const n = await node()
    applyAll(n, [
      command(t0, 'SET', 'a', '1', 'PX', '100'),
      command(t0, 'SADD', 's', 'x'),
      command(t0, 'PEXPIRE', 's', '300'),
    ])
    assert.equal(n.machine.dueExpiries(t0 + 100), false) // expired only once now > expiry
    assert.equal(n.machine.dueExpiries(t0 + 101), true)
    assert.equal(query(n, 'DBSIZE'), ':2\r\n')
    applyAll(n, [{ kind: 'tick', timeMs: t0 + 150 }], 4)
    assert.equal(query(n, 'DBSIZE'), ':1\r\n')
    assert.equal(n.machine.dueExpiries(t0 + 250), false)
    assert.equal(n.machine.dueExpiries(t0 + 301), true)
    applyAll(n, [{ kind: 'tick', timeMs: t0 + 301 }], 5)
    assert.equal(query(n, 'DBSIZE'), ':0\r\n')
    assert.equal(n.machine.dueExpiries(t0 + 1_000_000), false)
    n.machine.close()
  })

  test('a refreshed TTL is not due at its old time', async () => {
    const n = await node()
    applyAll(n, [
      command(t0, 'SET', 'a', '1', 'PX', '100'),
      command(t0 + 50, 'PEXPIRE', 'a', '1000'),
    ])
    assert.equal(n.machine.dueExpiries(t0 + 200), false)
    assert.equal(n.machine.dueExpiries(t0 + 1051), true)
    n.machine.close()
  })

  test('address entries fill the address book, which snapshots carry', async () => {
    const [a, c] = [await node(), await node()]
    const n2: NodeAddress = { name: 'n2', host: '127.0.0.1', port: 6380, clusterPort: 16380 }
    const n1: NodeAddress = { name: 'n1', host: '127.0.0.1', port: 6379, clusterPort: 16379 }
    applyAll(a, [
      { kind: 'address', id: 22, address: n2 },
      { kind: 'address', id: 11, address: n1 },
    ])
    assert.deepEqual(
      [...a.machine.addressBook()],
      [
        [22, n2],
        [11, n1],
      ],
    )
    c.machine.restore(a.machine.snapshot())
    assert.deepEqual(
      new Map(c.machine.addressBook()),
      new Map([
        [11, n1],
        [22, n2],
      ]),
    )
    a.machine.close()
    c.machine.close()
  })

  test('per-node commands are refused in the log; a write is refused as a query', async () => {
    const n = await node()
    assert.match(
      applyAll(n, [command(t0, 'CLIENT', 'KILL', 'ID', '1')])[0] as string,
      /^-ERR 'client\|kill' acts on one node/,
    )
    assert.match(applyAll(n, [command(t0, 'SUBSCRIBE', 'c')], 2)[0] as string, /^-ERR 'subscribe'/)
    assert.equal(applyAll(n, [command(t0, 'PUBLISH', 'c', 'm')], 3)[0], ':0\r\n')
    assert.equal(query(n, 'SET', 'k', 'v'), "-ERR 'set' is not a read-only command\r\n")
    assert.equal(
      query(n, 'NOSUCH'),
      "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    )
    n.machine.close()
  })

  test('entries out of log order and undecodable entries are invariant failures', async () => {
    const n = await node()
    applyAll(n, [command(t0, 'SET', 'k', 'v')], 5)
    assert.throws(() => n.machine.apply(encodeEntry(command(t0, 'DEL', 'k')), 5), /log order/)
    assert.throws(() => n.machine.apply(Buffer.from('SET k v'), 6), /format version|kind/)
    n.machine.close()
  })
})

describe('pub/sub and the engine directory', () => {
  test('PUBLISH and keyspace notifications (expiry included) reach the hub at apply', () => {
    const pubsub = new PubSubHub()
    pubsub.notifyFlags = parseNotifyFlags('KEA') ?? 0
    const time = new ManualTime()
    const machine = keyspaceStateMachineOver(new MemoryEngine(), { clock: time, pubsub })
    const writer = createReplyWriter(2)
    const subscriber = { session: makeSession(42), writer }
    pubsub.subscribe(subscriber, b('news'))
    pubsub.subscribe(subscriber, b('__keyevent@0__:expired'))
    pubsub.subscribe(subscriber, b('__keyspace@0__:k'))
    writer.take()
    const n: Node = { machine, time }
    const replies = applyAll(n, [
      command(t0, 'PUBLISH', 'news', 'hello'),
      command(t0, 'SET', 'k', 'v', 'PX', '10'),
      { kind: 'tick', timeMs: t0 + 11 },
    ])
    assert.equal(replies[0], ':1\r\n')
    const pushed = writer.take()?.toString('latin1') ?? ''
    assert.deepEqual(bulks(pushed), [
      'message',
      'news',
      'hello',
      'message',
      '__keyspace@0__:k',
      'set',
      'message',
      '__keyspace@0__:k',
      'expire',
      'message',
      '__keyspace@0__:k',
      'expired',
      'message',
      '__keyevent@0__:expired',
      'k',
    ])
    machine.close()
  })

  test('the engine directory is wiped at creation: the state comes from Raft alone', async () => {
    const time = new ManualTime()
    const disk = new MemDisk()
    const options = { disk, dir: '/state', clock: time, timers: time }
    const first = await createKeyspaceStateMachine(options)
    applyAll({ machine: first, time }, [command(t0, 'SET', 'k', 'v')])
    first.close()
    time.drain()
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(disk.listSync('/state/live-1').some((name) => name.endsWith('.data')))
    const second = await createKeyspaceStateMachine(options)
    assert.equal(query({ machine: second, time }, 'DBSIZE'), ':0\r\n')
    second.close()
  })
})
