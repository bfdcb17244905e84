/* The simulated disk: a crash keeps exactly the synced bytes (plus, when torn, a prefix of the
 * unsynced tail), atomic writes and synced truncations are durable, and the directory helpers
 * behave like nodeDisk's. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../core/rng.js'
import { SimDisk } from './disk.js'

function text(disk: SimDisk, path: string): string {
  return disk.readFileSync(path).toString()
}

test('a crash loses unsynced appends and keeps synced ones', () => {
  const disk = new SimDisk()
  disk.mkdirp('/d')
  const file = disk.openSync('/d/log', 'append')
  assert.equal(file.appendSync(Buffer.from('synced|')), 0)
  file.syncSync()
  assert.equal(file.appendSync(Buffer.from('lost')), 7)
  assert.equal(file.size(), 11)
  assert.equal(text(disk, '/d/log'), 'synced|lost', 'unsynced bytes are readable before a crash')
  assert.equal(disk.unsyncedBytes(), 4)
  disk.crash(null)
  assert.equal(text(disk, '/d/log'), 'synced|')
  assert.equal(disk.unsyncedBytes(), 0)
  assert.equal(disk.openSync('/d/log', 'append').size(), 7)
})

test('a torn crash keeps a prefix of the unsynced tail, never more', () => {
  const rng = createRng(42)
  const seen = new Set<number>()
  for (let i = 0; i < 50; i++) {
    const disk = new SimDisk()
    disk.mkdirp('/d')
    const file = disk.openSync('/d/log', 'append')
    file.appendSync(Buffer.from('ok'))
    file.syncSync()
    file.appendSync(Buffer.from('abcdef'))
    disk.crash(rng)
    const after = text(disk, '/d/log')
    assert.ok('okabcdef'.startsWith(after) && after.startsWith('ok'), after)
    seen.add(after.length)
  }
  assert.ok(seen.size > 3, 'tears land at different places')
})

test('an unsynced truncation is undone by a crash; a synced one is kept', async () => {
  const disk = new SimDisk()
  disk.mkdirp('/d')
  const file = await disk.open('/d/log', 'append')
  await file.append(Buffer.from('0123456789'))
  await file.sync()
  await file.truncate(4)
  file.appendSync(Buffer.from('x'))
  assert.equal(text(disk, '/d/log'), '0123x')
  disk.crash(createRng(1))
  assert.equal(text(disk, '/d/log'), '0123456789')
  const again = disk.openSync('/d/log', 'append')
  await again.truncate(3)
  again.syncSync()
  disk.crash(null)
  assert.equal(text(disk, '/d/log'), '012')
})

test('writeFileAtomic and rename are durable; reads, lists and missing files', async () => {
  const disk = new SimDisk()
  disk.mkdirp('/data/n1')
  await disk.writeFileAtomic('/data/n1/state', Buffer.from('v1'))
  const log = disk.openSync('/data/n1/a.log', 'append')
  log.appendSync(Buffer.from('hello'))
  log.syncSync()
  await disk.rename('/data/n1/a.log', '/data/n1/b.log')
  disk.crash(null)
  assert.equal(text(disk, '/data/n1/state'), 'v1')
  assert.deepEqual(disk.listSync('/data/n1'), ['b.log', 'state'])
  assert.deepEqual(await disk.list('/data'), ['n1'])
  assert.equal(disk.exists('/data/n1/b.log'), true)
  const into = Buffer.alloc(8)
  assert.equal(disk.openSync('/data/n1/b.log', 'read').readSync(1, 8, into), 4)
  assert.equal(into.toString('latin1', 0, 4), 'ello')
  assert.equal((await disk.readFile('/data/n1/b.log')).toString(), 'hello')
  await disk.remove('/data/n1/b.log')
  assert.equal(disk.exists('/data/n1/b.log'), false)
  assert.throws(() => disk.openSync('/data/n1/b.log', 'read'), { code: 'ENOENT' })
  assert.throws(() => disk.readFileSync('/nope'), { code: 'ENOENT' })
  assert.throws(() => disk.openSync('/missing-dir/f', 'append'), { code: 'ENOENT' })
})

test('a directory lock is exclusive until released or the machine crashes', () => {
  const disk = new SimDisk()
  disk.mkdirp('/d')
  const lock = disk.lockDir('/d')
  assert.throws(() => disk.lockDir('/d'), { code: 'LOCKED' })
  lock.release()
  disk.lockDir('/d')
  disk.crash(null)
  disk.lockDir('/d').release()
})
