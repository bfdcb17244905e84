/* One Disk port compliance suite, run against the real nodeDisk (in a temp directory) and the
 * simulated SimDisk: whatever a host relies on must behave the same on both, or the simulator
 * would prove things about a disk that does not exist. */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Disk } from '../core/ports.js'
import { nodeDisk } from '../io/disk.js'
import { SimDisk } from './disk.js'

interface Subject {
  readonly disk: Disk
  /** A fresh, existing, empty directory. */
  readonly dir: () => string
}

const tempRoots: string[] = []
after(() => {
  for (const root of tempRoots) fs.rmSync(root, { recursive: true, force: true })
})

const subjects: Record<string, () => Subject> = {
  nodeDisk: () => ({
    disk: nodeDisk,
    dir: () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-port-'))
      tempRoots.push(dir)
      return dir
    },
  }),
  SimDisk: () => {
    const disk = new SimDisk()
    let next = 0
    return {
      disk,
      dir: () => {
        const dir = `/port/${++next}`
        disk.mkdirp(dir)
        return dir
      },
    }
  },
}

for (const [name, make] of Object.entries(subjects)) {
  describe(`Disk port compliance: ${name}`, () => {
    test('appends land in order, sync and async alike; reads past the end are short', async () => {
      const { disk, dir } = make()
      const file = disk.openSync(path.join(dir(), 'f'), 'append')
      assert.equal(file.size(), 0)
      assert.equal(file.appendSync(Buffer.from('abc')), 0)
      const pending = [file.append(Buffer.from('de')), file.append(Buffer.from('fgh'))]
      assert.deepEqual(await Promise.all(pending), [3, 5])
      assert.equal(file.appendSync(Buffer.from('ij')), 8)
      file.syncSync()
      await file.sync()
      const into = Buffer.alloc(16)
      assert.equal(file.readSync(2, 6, into), 6)
      assert.equal(into.toString('latin1', 0, 6), 'cdefgh')
      assert.equal(file.readSync(8, 10, into), 2)
      assert.equal((await file.read(0, 100)).toString(), 'abcdefghij')
      await file.truncate(4)
      assert.equal(file.size(), 4)
      assert.equal(file.appendSync(Buffer.from('Z')), 4)
      assert.equal((await file.read(0, 100)).toString(), 'abcdZ')
      await file.close()
    })

    test('a reopened file keeps its size; read mode needs an existing file', async () => {
      const { disk, dir } = make()
      const filePath = path.join(dir(), 'f')
      assert.throws(() => disk.openSync(filePath, 'read'), { code: 'ENOENT' })
      const first = await disk.open(filePath, 'append')
      first.appendSync(Buffer.from('12345'))
      first.closeSync()
      const again = disk.openSync(filePath, 'append')
      assert.equal(again.size(), 5)
      again.closeSync()
      assert.equal(disk.openSync(filePath, 'read').size(), 5)
      assert.equal(disk.readFileSync(filePath).toString(), '12345')
      assert.equal((await disk.readFile(filePath)).toString(), '12345')
    })

    test('directories: mkdirp, sorted listing, atomic replace, rename, remove, exists', async () => {
      const { disk, dir } = make()
      const root = dir()
      disk.mkdirp(path.join(root, 'sub', 'deeper'))
      assert.equal(disk.exists(path.join(root, 'sub', 'deeper')), true)
      await disk.writeFileAtomic(path.join(root, 'b'), Buffer.from('one'))
      await disk.writeFileAtomic(path.join(root, 'b'), Buffer.from('two'))
      disk.openSync(path.join(root, 'a'), 'append').closeSync()
      assert.deepEqual(disk.listSync(root), ['a', 'b', 'sub'])
      assert.deepEqual(await disk.list(root), ['a', 'b', 'sub'])
      assert.equal(disk.readFileSync(path.join(root, 'b')).toString(), 'two')
      await disk.rename(path.join(root, 'b'), path.join(root, 'c'))
      assert.equal(disk.exists(path.join(root, 'b')), false)
      assert.equal(disk.readFileSync(path.join(root, 'c')).toString(), 'two')
      const renamed = disk.openSync(path.join(root, 'a'), 'append')
      renamed.appendSync(Buffer.from('new'))
      renamed.closeSync()
      disk.renameSync(path.join(root, 'a'), path.join(root, 'c')) // replaces c at once
      assert.equal(disk.exists(path.join(root, 'a')), false)
      assert.equal(disk.readFileSync(path.join(root, 'c')).toString(), 'new')
      await disk.remove(path.join(root, 'c'))
      await disk.remove(path.join(root, 'never-existed'))
      assert.equal(disk.exists(path.join(root, 'c')), false)
      assert.throws(() => disk.readFileSync(path.join(root, 'c')), { code: 'ENOENT' })
    })

    test('a directory lock is exclusive until released', () => {
      const { disk, dir } = make()
      const root = dir()
      const lock = disk.lockDir(root)
      assert.throws(() => disk.lockDir(root), { code: 'LOCKED' })
      lock.release()
      disk.lockDir(root).release()
    })

    test('a hard link names the same file: appends show through both names', async () => {
      const { disk, dir } = make()
      const root = dir()
      const original = path.join(root, 'orig')
      const linked = path.join(root, 'sub', 'link')
      disk.mkdirp(path.join(root, 'sub'))
      const file = disk.openSync(original, 'append')
      file.appendSync(Buffer.from('abc'))
      disk.link(original, linked)
      file.appendSync(Buffer.from('de'))
      await file.sync()
      const through = disk.openSync(linked, 'read')
      assert.equal(through.size(), 5)
      assert.equal((await through.read(0, 10)).toString(), 'abcde')
      through.closeSync()
      file.closeSync()
      // Removing or atomically replacing one name leaves the other's content as it was.
      await disk.writeFileAtomic(original, Buffer.from('new'))
      assert.equal(disk.readFileSync(linked).toString(), 'abcde')
      await disk.remove(original)
      assert.equal(disk.readFileSync(linked).toString(), 'abcde')
      assert.deepEqual(disk.listSync(path.join(root, 'sub')), ['link'])
    })

    test('link refuses an existing target and a missing source', async () => {
      const { disk, dir } = make()
      const root = dir()
      await disk.writeFileAtomic(path.join(root, 'a'), Buffer.from('1'))
      await disk.writeFileAtomic(path.join(root, 'b'), Buffer.from('2'))
      assert.throws(() => disk.link(path.join(root, 'a'), path.join(root, 'b')), {
        code: 'EEXIST',
      })
      assert.throws(() => disk.link(path.join(root, 'x'), path.join(root, 'y')), {
        code: 'ENOENT',
      })
      assert.throws(() => disk.link(path.join(root, 'a'), path.join(root, 'no', 'y')), {
        code: 'ENOENT',
      })
      assert.equal(disk.readFileSync(path.join(root, 'b')).toString(), '2')
    })

    test('syncDir resolves on a directory and rejects on a missing one', async () => {
      const { disk, dir } = make()
      const root = dir()
      disk.mkdirp(path.join(root, 'sub'))
      await disk.syncDir(root)
      await disk.syncDir(path.join(root, 'sub'))
      await assert.rejects(disk.syncDir(path.join(root, 'missing')), { code: 'ENOENT' })
    })
  })
}

describe('SimDisk hard links under power loss', () => {
  test('both names keep exactly the synced bytes: one content, torn once', () => {
    const disk = new SimDisk()
    disk.mkdirp('/d')
    const file = disk.openSync('/d/a', 'append')
    file.appendSync(Buffer.from('synced'))
    file.syncSync()
    disk.link('/d/a', '/d/b')
    file.appendSync(Buffer.from('-lost'))
    assert.equal(disk.unsyncedBytes(), 5)
    disk.crash(null)
    assert.equal(disk.readFileSync('/d/a').toString(), 'synced')
    assert.equal(disk.readFileSync('/d/b').toString(), 'synced')
    const again = disk.openSync('/d/b', 'append')
    again.appendSync(Buffer.from('!'))
    assert.equal(disk.readFileSync('/d/a').toString(), 'synced!')
  })
})
