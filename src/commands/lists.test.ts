/* List commands through the dispatcher over the memory engine: one scenario per command family
 * for the behaviour a byte comparison with Redis (redis-differential.test.ts) does not show, or
 * shows only where redis-server is installed: keyspace events and their order, WATCH, RESP3 nils,
 * and lists under the generic key commands. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseNotifyFlags } from './notify.js'
import { commandTable } from './registry.js'
import { bulks, createHarness, type Harness } from './test-support.js'

/** A harness whose keyspace events (every class, 'new' included) are recorded once each, as
 * "event key" (the hub would publish each as a keyspace and a keyevent message). */
function withEvents(): { h: Harness; events: () => string[] } {
  const h = createHarness(commandTable)
  h.pubsub.notifyFlags = parseNotifyFlags('KEAn') ?? 0
  let seen: string[] = []
  h.pubsub.notifyKeyspaceEvent = (_type, event, key) => {
    seen.push(`${event} ${key.toString()}`)
  }
  const events = (): string[] => {
    const out = seen
    seen = []
    return out
  }
  return { h, events }
}

describe('list commands', () => {
  test('pushes and pops at both ends, with and without a count', () => {
    const h = createHarness(commandTable)
    assert.equal(h.run('lpush l b a'), ':2\r\n')
    assert.equal(h.run('rpush l c d e'), ':5\r\n')
    assert.deepEqual(bulks(h.run('lrange l 0 -1')), ['a', 'b', 'c', 'd', 'e'])
    assert.equal(h.run('lpop l'), '$1\r\na\r\n')
    assert.deepEqual(bulks(h.run('rpop l 2')), ['e', 'd'])
    assert.equal(h.run('lpop l 0'), '*0\r\n')
    assert.equal(h.run('lpushx missing v'), ':0\r\n')
    assert.equal(h.run('exists missing'), ':0\r\n')
    assert.deepEqual(bulks(h.run('lpop l 10')), ['b', 'c'])
    assert.equal(h.run('exists l'), ':0\r\n', 'an emptied list is gone')
    assert.equal(h.run('lpop l'), '$-1\r\n')
    assert.equal(h.run('lpop l 2'), '*-1\r\n')
  })

  test('RESP3 answers a missing list with the null type, with or without a count', () => {
    const h = createHarness(commandTable, { protocol: 3 })
    assert.equal(h.run('lpop none'), '_\r\n')
    assert.equal(h.run('rpop none 3'), '_\r\n')
    assert.equal(h.run('lmpop 1 none left'), '_\r\n')
    assert.equal(h.run('lindex none 0'), '_\r\n')
    assert.equal(h.run('lpos none x'), '_\r\n')
    assert.equal(h.run('lpos none x count 1'), '*0\r\n')
    assert.equal(h.run('lmove none dst left left'), '_\r\n')
  })

  test('LSET, LINSERT, LREM, LTRIM and LPOS with their errors', () => {
    const h = createHarness(commandTable)
    h.run('rpush l a b c a')
    assert.equal(h.run('lset l 1 B'), '+OK\r\n')
    assert.equal(h.run('lset l 4 x'), '-ERR index out of range\r\n')
    assert.equal(h.run('lset nokey 0 x'), '-ERR no such key\r\n')
    assert.equal(h.run('linsert l after B b2'), ':5\r\n')
    assert.equal(h.run('linsert l before zz x'), ':-1\r\n')
    assert.equal(h.run('linsert l around B x'), '-ERR syntax error\r\n')
    assert.equal(h.run('lpos l a rank -1'), ':4\r\n')
    assert.equal(h.run('lpos l a count 0'), '*2\r\n:0\r\n:4\r\n')
    assert.match(h.run('lpos l a rank 0'), /^-ERR RANK can't be zero/)
    assert.equal(h.run('lrem l -1 a'), ':1\r\n')
    assert.equal(h.run('ltrim l 1 -1'), '+OK\r\n')
    assert.deepEqual(bulks(h.run('lrange l 0 -1')), ['B', 'b2', 'c'])
    assert.equal(h.run('lindex l -1'), '$1\r\nc\r\n')
    assert.equal(h.run('set s v'), '+OK\r\n')
    assert.match(h.run('rpush s x'), /^-WRONGTYPE /)
    assert.match(h.run('lmove l s left left'), /^-WRONGTYPE /)
    assert.equal(h.run('llen l'), ':3\r\n', 'a refused LMOVE pops nothing')
  })

  test('LMOVE and RPOPLPUSH move between lists and rotate one list; LMPOP takes the first', () => {
    const h = createHarness(commandTable)
    h.run('rpush src 1 2 3')
    assert.equal(h.run('lmove src dst right left'), '$1\r\n3\r\n')
    assert.equal(h.run('rpoplpush src dst'), '$1\r\n2\r\n')
    assert.equal(h.run('lmove src src left right'), '$1\r\n1\r\n')
    assert.deepEqual(bulks(h.run('lrange dst 0 -1')), ['2', '3'])
    assert.equal(
      h.run('lmpop 3 none src dst right count 5'),
      '*2\r\n$3\r\nsrc\r\n*1\r\n$1\r\n1\r\n',
    )
    assert.equal(h.run('lmpop 2 src dst left'), '*2\r\n$3\r\ndst\r\n*1\r\n$1\r\n2\r\n')
    assert.equal(h.run('lmpop 0 dst left'), '-ERR numkeys should be greater than 0\r\n')
    assert.equal(h.run('lmpop 1 dst left count 0'), '-ERR count should be greater than 0\r\n')
  })

  test('keyspace events as Redis sends them, in its order', () => {
    const { h, events } = withEvents()
    h.run('rpush l a b')
    assert.deepEqual(events(), ['new l', 'rpush l'])
    h.run('lmove l dst right left')
    assert.deepEqual(events(), ['new dst', 'lpush dst', 'rpop l'])
    h.run('rpoplpush l dst')
    assert.deepEqual(events(), ['lpush dst', 'rpop l', 'del l'])
    h.run('lset dst 0 x')
    h.run('linsert dst after x y')
    h.run('lrem dst 0 y')
    h.run('lrem dst 0 nothing')
    h.run('ltrim dst 0 -1')
    assert.deepEqual(events(), ['lset dst', 'linsert dst', 'lrem dst', 'ltrim dst'])
    h.run('lmpop 1 dst left count 9')
    assert.deepEqual(events(), ['lpop dst', 'del dst'])
    h.run('lpushx dst v')
    h.run('lpop dst')
    assert.deepEqual(events(), [], 'nothing happened, nothing is sent')
  })

  test('a list write touches WATCH: EXEC aborts', () => {
    const h = createHarness(commandTable)
    h.run('rpush l a')
    for (const write of [
      'rpush l b',
      'lpop l',
      'lset l 0 z',
      'ltrim l 0 -1',
      'lmove l o left left',
    ]) {
      h.run('watch l')
      h.run(write)
      h.run('multi')
      h.run('llen l')
      assert.equal(h.run('exec'), '*-1\r\n', write)
      h.run('rpush l a')
    }
    h.run('watch l')
    h.run('lrem l 0 nothing')
    h.run('linsert l before nothing x')
    h.run('multi')
    h.run('llen l')
    assert.match(h.run('exec'), /^\*1\r\n:/, 'writes that changed nothing leave WATCH alone')
  })

  test('TYPE, SCAN TYPE, COPY, RENAME, EXPIRE and DEL treat a list as one key', () => {
    const h = createHarness(commandTable)
    h.run('rpush l 1 2 3')
    h.run('set s v')
    assert.equal(h.run('type l'), '+list\r\n')
    assert.equal(h.run('scan 0 type list'), '*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n')
    assert.equal(h.run('copy l l2'), ':1\r\n')
    h.run('rpush l2 4')
    assert.equal(h.run('rename l2 l3'), '+OK\r\n')
    assert.deepEqual(bulks(h.run('lrange l3 0 -1')), ['1', '2', '3', '4'])
    assert.deepEqual(bulks(h.run('lrange l 0 -1')), ['1', '2', '3'])
    assert.equal(h.run('expire l 10'), ':1\r\n')
    h.clock.nowMs += 11_000
    assert.equal(h.run('llen l'), ':0\r\n')
    assert.equal(h.run('rpush l fresh'), ':1\r\n', 'an expired list is not pushed onto')
    assert.equal(h.run('del l3 l'), ':2\r\n')
    assert.equal(h.run('lrange l3 0 -1'), '*0\r\n')
  })
})
