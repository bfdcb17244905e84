/* nodeDisk: block file semantics (ordered appends, pread, truncate), directory helpers, and the
 * LOCK file against live, dead and SIGKILLed holders, replayed takeover interleavings (simulated
 * pids over the real fs) and a race of real processes for one stale lock. */
import { test, describe, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import { lockDirWith, nodeDisk, nodeLockFs } from './disk.js'
import type { LockFs } from './disk.js'

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

/** Simulated processes over the real fs: `pid` is one of ours, `live` says who is alive. */
const deadPid = 999_999_999
function simulatedFs(pid: number, live: ReadonlySet<number>): LockFs {
  return { ...nodeLockFs(pid), isAlive: (other) => live.has(other) }
}

/** Runs `interrupt` once, right after the first call of `op` on a path ending in `suffix`. */
function interruptAfter(
  lockFs: LockFs,
  op: 'read' | 'link',
  suffix: string,
  interrupt: () => void,
): LockFs {
  let fired = false
  const fire = (filePath: string): void => {
    if (fired || !filePath.endsWith(suffix)) return
    fired = true
    interrupt()
  }
  return {
    ...lockFs,
    read: (filePath) => {
      const found = lockFs.read(filePath)
      if (op === 'read') fire(filePath)
      return found
    },
    link: (existingPath, newPath) => {
      lockFs.link(existingPath, newPath)
      if (op === 'link') fire(newPath)
    },
  }
}

function isLocked(error: unknown): boolean {
  return error instanceof CaskadeError && error.code === ErrorCode.Locked
}

describe('lock takeover interleavings', () => {
  const live = new Set([101, 102, 103])

  test('A and B both read the dead pid, A takes over first: B fails, A keeps LOCK', () => {
    const dir = tempDir()
    const lockPath = path.join(dir, 'LOCK')
    fs.writeFileSync(lockPath, `${deadPid}\n`)
    let lockA: { release(): void } | undefined
    const fsB = interruptAfter(simulatedFs(102, live), 'read', '/LOCK', () => {
      assert.equal(fs.readFileSync(lockPath, 'utf8'), `${deadPid}\n`, 'B read the dead pid')
      lockA = lockDirWith(dir, simulatedFs(101, live))
    })
    assert.throws(
      () => lockDirWith(dir, fsB),
      (error) => isLocked(error) && /101/.test(String(error)),
    )
    assert.ok(lockA !== undefined)
    assert.equal(fs.readFileSync(lockPath, 'utf8'), '101\n', "A's fresh lock survived B")
    lockA.release()
    assert.deepEqual(fs.readdirSync(dir), [], 'no claim or temp file is left behind')
  })

  test('B holds the takeover claim when A arrives: A fails on the live claimant, B wins', () => {
    const dir = tempDir()
    const lockPath = path.join(dir, 'LOCK')
    fs.writeFileSync(lockPath, `${deadPid}\n`)
    let failureA: unknown
    const fsB = interruptAfter(
      simulatedFs(102, live),
      'link',
      '.takeover-' + inodeOf(lockPath),
      () => {
        try {
          lockDirWith(dir, simulatedFs(101, live)).release()
        } catch (error) {
          failureA = error
        }
      },
    )
    const lockB = lockDirWith(dir, fsB)
    assert.ok(isLocked(failureA) && /102/.test(`${String(failureA)}`), 'A saw claimant 102')
    assert.equal(fs.readFileSync(lockPath, 'utf8'), '102\n')
    lockB.release()
    assert.deepEqual(fs.readdirSync(dir), [])
  })

  test('a newcomer links LOCK while the taker has just removed the stale one: one holder', () => {
    const dir = tempDir()
    const lockPath = path.join(dir, 'LOCK')
    fs.writeFileSync(lockPath, `${deadPid}\n`)
    let lockC: { release(): void } | undefined
    // B reads LOCK under its claim (still stale) and will unlink it; C slips in right after.
    const baseB = simulatedFs(102, live)
    let fired = false
    const fsB: LockFs = {
      ...baseB,
      unlink: (filePath) => {
        baseB.unlink(filePath)
        if (filePath !== lockPath || fired) return
        fired = true
        lockC = lockDirWith(dir, simulatedFs(103, live))
      },
    }
    assert.throws(
      () => lockDirWith(dir, fsB),
      (error) => isLocked(error) && /103/.test(String(error)),
    )
    assert.ok(lockC !== undefined)
    assert.equal(fs.readFileSync(lockPath, 'utf8'), '103\n')
    lockC.release()
  })

  test('a claimant that died mid-takeover is itself taken over', () => {
    const dir = tempDir()
    const lockPath = path.join(dir, 'LOCK')
    fs.writeFileSync(lockPath, `${deadPid}\n`)
    const claimPath = `${lockPath}.takeover-${inodeOf(lockPath)}`
    fs.writeFileSync(claimPath, `${deadPid - 1}\n`)
    const lock = lockDirWith(dir, simulatedFs(101, live))
    assert.equal(fs.readFileSync(lockPath, 'utf8'), '101\n')
    lock.release()
    lock.release()
    assert.deepEqual(fs.readdirSync(dir), [], 'the dead claim went with the takeover')
  })

  test('a live claimant blocks the takeover; a torn (empty) LOCK counts as stale', () => {
    const dir = tempDir()
    const lockPath = path.join(dir, 'LOCK')
    fs.writeFileSync(lockPath, '')
    const claimPath = `${lockPath}.takeover-${inodeOf(lockPath)}`
    fs.writeFileSync(claimPath, '103\n')
    assert.throws(
      () => lockDirWith(dir, simulatedFs(101, live)),
      (error) => isLocked(error),
    )
    fs.rmSync(claimPath)
    lockDirWith(dir, simulatedFs(101, live)).release()
  })
})

function inodeOf(filePath: string): string {
  return fs.statSync(filePath, { bigint: true }).ino.toString()
}

test('eight processes race for one stale lock: exactly one wins', async () => {
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'LOCK'), `${deadPid}\n`)
  const go = path.join(tempDir(), 'go')
  const diskModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'disk.js')
  const script = `
    import fs from 'node:fs'
    const { nodeDisk } = await import(${JSON.stringify(diskModule)})
    const nap = new Int32Array(new SharedArrayBuffer(4))
    console.log('ready')
    const giveUpAt = Date.now() + 10000
    while (!fs.existsSync(${JSON.stringify(go)}) && Date.now() < giveUpAt) {
      Atomics.wait(nap, 0, 0, 1)
    }
    try {
      nodeDisk.lockDir(${JSON.stringify(dir)})
      console.log('won')
    } catch (error) {
      console.log('lost:' + error.code)
    }
    process.stdin.resume()
    process.stdin.on('end', () => process.exit(0))`
  const children = Array.from({ length: 8 }, () =>
    spawn(process.execPath, ['--input-type=module', '-e', script]),
  )
  try {
    const outputs = children.map((child) => linesOf(child))
    await Promise.all(outputs.map((output) => output.nth(1)))
    fs.writeFileSync(go, '')
    const results = await Promise.all(outputs.map((output) => output.nth(2)))
    assert.equal(results.filter((result) => result === 'won').length, 1, results.join(' '))
    assert.equal(results.filter((result) => result === 'lost:LOCKED').length, 7, results.join(' '))
    const winner = children[results.indexOf('won')]
    assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), `${winner?.pid}\n`)
  } finally {
    for (const child of children) child.stdin.end()
    const exits = children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.on('exit', resolve)),
    )
    await Promise.all(exits)
  }
})

/** A child's stdout lines; nth(n) resolves with line n (1-based), rejects if it exits first. */
function linesOf(child: ReturnType<typeof spawn>): { nth(n: number): Promise<string> } {
  let out = ''
  const waiters: (() => void)[] = []
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    for (const wake of waiters) wake()
  })
  const exited = new Promise<never>((_, reject) => {
    child.on('exit', () => reject(new Error(`child exited early; its output: ${out}`)))
  })
  exited.catch(() => {})
  return {
    nth: (n) =>
      Promise.race([
        exited,
        new Promise<string>((resolve) => {
          const check = (): void => {
            const lines = out.split('\n')
            if (lines.length > n) resolve(lines[n - 1] ?? '')
          }
          waiters.push(check)
          check()
        }),
      ]),
  }
}
