/* Tests of the process helpers: a server counts as started at its first +PONG (not at -LOADING),
 * a server that dies early fails with its log, and stopping one ends its process. */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  cleanupAll,
  freePort,
  makeTempDir,
  removeTempDir,
  residentBytes,
  shellQuote,
  startServer,
  stopServerProcess,
  type ServerSpec,
} from './procs.js'

/** A tiny RESP server in a child node: -LOADING for its first `loadingReplies` PINGs. */
const fakeServerScript = `
const net = require('node:net')
let loading = Number(process.argv[2])
net.createServer((socket) => socket.on('data', () => {
  socket.write(loading > 0 ? '-LOADING Redis is loading the dataset\\r\\n' : '+PONG\\r\\n')
  loading -= 1
})).listen(Number(process.argv[1]), '127.0.0.1')
`

const runDir = makeTempDir('caskade-bench-test-')
after(() => cleanupAll())

async function fakeSpec(args: string[]): Promise<ServerSpec> {
  const port = await freePort()
  const dir = makeTempDir('server-', runDir)
  return {
    name: 'fake',
    command: process.execPath,
    args: ['-e', fakeServerScript, String(port), ...args],
    port,
    dir,
    logPath: join(runDir, `fake-${port}.log`),
    fsyncPolicy: 'no',
  }
}

test('a server is up at its first +PONG, after -LOADING, and stops on SIGTERM', async () => {
  const running = await startServer(await fakeSpec(['3']), 10_000)
  assert.ok(running.startupMs > 0)
  assert.ok((residentBytes(running.pid) ?? 1) > 0)
  await stopServerProcess(running.tracked)
  const { signal } = await running.tracked.exited
  assert.equal(signal, 'SIGTERM')
  assert.equal(residentBytes(running.pid), null)
})

test('a server that exits before answering fails with the tail of its log', async () => {
  const spec = await fakeSpec([])
  const crashing = { ...spec, args: ['-e', 'console.error("boom: bad flag"); process.exit(2)'] }
  await assert.rejects(startServer(crashing, 10_000), /exited before answering PING:\n.*boom/s)
})

test('temp dirs are removed on request', () => {
  const dir = makeTempDir('gone-', runDir)
  assert.ok(existsSync(dir))
  removeTempDir(dir)
  assert.ok(!existsSync(dir))
})

test('shellQuote leaves plain words alone and quotes the rest', () => {
  assert.equal(shellQuote('--port'), '--port')
  assert.equal(shellQuote(''), "''")
  assert.equal(shellQuote("it's"), `'it'\\''s'`)
})
