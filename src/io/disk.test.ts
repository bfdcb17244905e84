/* nodeDisk: block file semantics (ordered appends, pread, truncate), directory helpers, and the
 * LOCK file against live, dead and SIGKILLed holders. */
import { test, describe, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { nodeDisk } from './disk.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caskade-disk-'))
  dirs.push(dir)
  return dir
}

describe('nodeDisk block files', () => {
  test('appends land in order at the tracked end, sync and async alike', async () => {
    const file = nodeDisk.openSync(path.join(tempDir(), 'f'), 'append')
    assert.equal(file.size(), 0)
    assert.equal(file.appendSync(Buffer.from('abc')), 0)
    const pending = [file.append(Buffer.from('de')), file.append(Buffer.from('fgh'))]
    assert.equal(file.appendSync(Buffer.from('ij')), 8)
    assert.deepEqual(await Promise.all(pending), [3, 5])
    assert.equal(file.size(), 10)
    await file.sync()
    file.syncSync()
    const into = Buffer.alloc(16)
    assert.equal(file.readSync(2, 6, into), 6)
    assert.equal(into.toString('latin1', 0, 6), 'cdefgh')
    assert.equal(file.readSync(8, 10, into), 2, 'a read past the end is short')
    assert.equal((await file.read(0, 10)).toString(), 'abcdefghij')
    await file.truncate(4)
    assert.equal(file.size(), 4)
    assert.equal(file.appendSync(Buffer.from('Z')), 4)
    assert.equal((await file.read(0, 100)).toString(), 'abcdZ')
    await file.close()
    await file.close()
  })

  test('reopening keeps the size; read mode requires the file', async () => {
    const dir = tempDir()
    const filePath = path.join(dir, 'f')
    const first = await nodeDisk.open(filePath, 'append')
    first.appendSync(Buffer.from('12345'))
    first.closeSync()
    const again = nodeDisk.openSync(filePath, 'append')
    assert.equal(again.size(), 5)
    assert.equal(again.appendSync(Buffer.from('6')), 5)
    again.closeSync()
    const reader = nodeDisk.openSync(filePath, 'read')
    assert.equal(reader.size(), 6)
    assert.throws(() => reader.appendSync(Buffer.from('x')))
    reader.closeSync()
    assert.throws(() => nodeDisk.openSync(path.join(dir, 'missing'), 'read'), /ENOENT/)
  })

  test('directory helpers: mkdirp, list sorted, exists, atomic write, rename, remove', async () => {
    const dir = path.join(tempDir(), 'a', 'b')
    nodeDisk.mkdirp(dir)
    await nodeDisk.writeFileAtomic(path.join(dir, 'z'), Buffer.from('zz'))
    await nodeDisk.writeFileAtomic(path.join(dir, 'y'), Buffer.from('first'))
    await nodeDisk.writeFileAtomic(path.join(dir, 'y'), Buffer.from('second'))
    assert.deepEqual(nodeDisk.listSync(dir), ['y', 'z'])
    assert.deepEqual(await nodeDisk.list(dir), ['y', 'z'])
    assert.equal(nodeDisk.readFileSync(path.join(dir, 'y')).toString(), 'second')
    await nodeDisk.rename(path.join(dir, 'y'), path.join(dir, 'x'))
    assert.equal((await nodeDisk.readFile(path.join(dir, 'x'))).toString(), 'second')
    assert.equal(nodeDisk.exists(path.join(dir, 'y')), false)
    await nodeDisk.remove(path.join(dir, 'x'))
    await nodeDisk.remove(path.join(dir, 'never-existed'))
    assert.deepEqual(nodeDisk.listSync(dir), ['z'])
  })
})

describe('nodeDisk.lockDir', () => {
  test('refuses a second lock while held, naming dir and pid; release frees it', () => {
    const dir = tempDir()
    const lock = nodeDisk.lockDir(dir)
    assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`)
    assert.throws(
      () => nodeDisk.lockDir(dir),
      (error: unknown) =>
        error instanceof CaskadeError &&
        error.code === ErrorCode.Locked &&
        error.message.includes(dir) &&
        error.message.includes(String(process.pid)),
    )
    lock.release()
    assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false)
    nodeDisk.lockDir(dir).release()
  })

  test('takes over the lock of a process that died', () => {
    const dir = tempDir()
    const child = spawnSync(process.execPath, ['-e', 'process.exit(0)'])
    assert.equal(child.status, 0)
    fs.writeFileSync(path.join(dir, 'LOCK'), `${child.pid}\n`)
    const lock = nodeDisk.lockDir(dir)
    assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), `${process.pid}\n`)
    lock.release()
  })

  test('a lock held by another live process is refused', async () => {
    const dir = tempDir()
    const diskModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'disk.js')
    const script = `
      const { nodeDisk } = await import(${JSON.stringify(diskModule)})
      nodeDisk.lockDir(${JSON.stringify(dir)})
      console.log('locked')
      setTimeout(() => {}, 30000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script])
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => resolve())
        child.on('exit', () => reject(new Error('child exited early')))
      })
      assert.throws(
        () => nodeDisk.lockDir(dir),
        (error: unknown) =>
          error instanceof CaskadeError && error.message.includes(String(child.pid)),
      )
    } finally {
      child.kill('SIGKILL')
    }
    await new Promise((resolve) => child.on('exit', resolve))
    // SIGKILLed: the lock file remains, stale, and is taken over.
    nodeDisk.lockDir(dir).release()
  })
})
