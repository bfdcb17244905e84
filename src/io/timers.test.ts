/* nodeTimers fire and cancel, and never keep a process alive; systemClock sanity. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { systemClock } from './clock.js'
import { nodeTimers } from './timers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

describe('nodeTimers', () => {
  test('a delay beyond 2^31-1 ms waits instead of firing at once (BLPOP with a huge timeout)', async () => {
    let fired = false
    const cancel = nodeTimers.after(2 ** 31 + 1000, () => {
      fired = true
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    cancel()
    assert.equal(fired, false)
  })

  test('after, every and defer fire; cancel stops them', async () => {
    const fired: string[] = []
    // The port's timers are unref'd: hold the loop open while waiting for them.
    const keepAlive = setTimeout(() => {}, 10000)
    await new Promise<void>((resolve) => {
      nodeTimers.defer(() => fired.push('defer'))
      const cancelled = nodeTimers.after(1, () => fired.push('cancelled'))
      cancelled()
      let ticks = 0
      const stop = nodeTimers.every(1, () => {
        ticks++
        if (ticks === 3) {
          stop()
          fired.push('every x3')
          nodeTimers.after(5, () => resolve())
        }
      })
    })
    clearTimeout(keepAlive)
    assert.deepEqual(fired, ['defer', 'every x3'])
  })

  test('interval and delay timers do not keep the process alive', () => {
    const timersModule = path.join(here, 'timers.js')
    const script = `
      const { nodeTimers } = await import(${JSON.stringify(timersModule)})
      nodeTimers.every(1000, () => {})
      nodeTimers.after(60000, () => {})
      nodeTimers.defer(() => console.log('deferred ran'))`
    const started = Date.now()
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 10000,
      encoding: 'utf8',
    })
    assert.equal(child.status, 0)
    assert.equal(child.stdout.trim(), 'deferred ran')
    assert.ok(Date.now() - started < 9000)
  })
})

describe('systemClock', () => {
  test('monotonic time never goes back; wall time is Unix ms', () => {
    const first = systemClock.monotonicMs()
    const second = systemClock.monotonicMs()
    assert.ok(second >= first)
    const wall = systemClock.wallMs()
    assert.ok(Math.abs(wall - Date.now()) < 1000)
    assert.ok(wall > 1_700_000_000_000)
  })
})
