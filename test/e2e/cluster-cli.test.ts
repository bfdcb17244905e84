/* End to end: `caskade cluster start|status|transfer-leader` on real processes. A 3-node cluster
 * starts on free ports in a temp dir, status shows one leader and 3 voters, a write through n2 is
 * read on n3, transfer-leader moves the leader, SIGTERM to the launcher stops every node (no
 * orphan pids), and started again on the same dir the nodes come back with their data. Plus the
 * refusals that need no cluster: a taken port, usage errors, a non-cluster server. */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { Redis } from 'ioredis'
import {
  cliPath,
  makeTempDir,
  removeDir,
  runCli,
  startServerProcess,
} from '../helpers/server-process.js'

const readyTimeoutMs = 40_000
const dirs: string[] = []
after(() => {
  for (const dir of dirs) removeDir(dir)
})

function tempDir(): string {
  const dir = makeTempDir('caskade-cluster-cli-')
  dirs.push(dir)
  return dir
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      probe.close(() => resolve(true)),
    )
  })
}

/** A base port whose client ports base..base+n-1 and cluster ports base+10000+i are all free. */
async function freeBasePort(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    const ports = Array.from({ length: nodes }, (_unused, i) => [
      base + i,
      base + 10_000 + i,
    ]).flat()
    const free = await Promise.all(ports.map(portFree))
    if (free.every(Boolean)) return base
  }
  throw new Error('no free base port found')
}

/** True when this build's server knows cluster mode (the `node` branch has landed). */
async function serverHasClusterMode(): Promise<boolean> {
  const help = await runCli(['server', '--help'])
  return help.stdout.includes('--node-id') && help.stdout.includes('--bootstrap')
}

interface Launcher {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function launch(args: string[]): Launcher {
  const child = spawn(process.execPath, [cliPath, 'cluster', 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

async function untilReady(launcher: Launcher): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs
  while (!launcher.stdout().includes('Press Ctrl-C')) {
    if (launcher.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`launcher not ready:\n${launcher.stdout()}\n${launcher.stderr()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

interface BannerRow {
  name: string
  port: number
  role: string
  pid: number
}

function bannerRows(stdout: string): BannerRow[] {
  const rows: BannerRow[] = []
  for (const match of stdout.matchAll(/^(n\d+)\s+(\d+)\s+\d+\s+(\w+)\s+(\d+)\s/gm)) {
    const [, name = '', port = '', role = '', pid = ''] = match
    rows.push({ name, port: Number(port), role, pid: Number(pid) })
  }
  return rows
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function statusRows(stdout: string): Map<string, string> {
  const roles = new Map<string, string>()
  for (const match of stdout.matchAll(/^(n\d+)\s+\S+\s+(\w+)\s/gm)) {
    roles.set(match[1] ?? '', match[2] ?? '')
  }
  return roles
}

describe('caskade cluster', () => {
  test('start refuses a port that is taken, naming it, and starts nothing', async () => {
    const base = await freeBasePort(2)
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(base + 10_001, '127.0.0.1', resolve))
    const dir = tempDir()
    try {
      const result = await runCli([
        'cluster',
        'start',
        '--nodes',
        '2',
        '--base-port',
        String(base),
        '--dir',
        dir,
      ])
      assert.equal(result.code, 1, result.stderr)
      assert.match(result.stderr, new RegExp(`port ${base + 10_001} \\(n2's cluster port\\)`))
      assert.match(result.stderr, /already in use/)
      assert.equal(existsSync(path.join(dir, 'n1.log')), false)
    } finally {
      blocker.close()
    }
  })

  test('usage errors exit 2 with one line', async () => {
    const result = await runCli(['cluster', 'start', '--nodes', '0'])
    assert.equal(result.code, 2)
    assert.equal(result.stderr, "caskade: invalid --nodes '0' (expected an integer from 1 to 15)\n")
    const remove = await runCli(['cluster', 'remove', '--node-id', 'a b'])
    assert.equal(remove.code, 2)
  })

  test('status on a closed port or a single-node server fails clearly (exit 1)', async () => {
    const base = await freeBasePort(1)
    const closed = await runCli(['cluster', 'status', '--port', String(base)])
    assert.equal(closed.code, 1)
    assert.match(closed.stderr, new RegExp(`cannot reach 127.0.0.1:${base}: .*ECONNREFUSED`))
    const single = await startServerProcess()
    try {
      const result = await runCli(['cluster', 'status', '--port', String(single.port)])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /is not a caskade cluster node \(RAFT NODES: ERR unknown command/)
    } finally {
      await single.stop()
      removeDir(single.dir)
    }
  })

  test('3 nodes: status, a write via n2 read on n3, transfer-leader, SIGTERM stops all, restart', async (t) => {
    if (!(await serverHasClusterMode())) {
      t.skip('the server has no cluster mode in this build (branch node not merged)')
      return
    }
    const base = await freeBasePort(3)
    const dir = tempDir()
    const launcher = launch(['--nodes', '3', '--base-port', String(base), '--dir', dir])
    try {
      await untilReady(launcher)
      const rows = bannerRows(launcher.stdout())
      assert.deepEqual(
        rows.map((row) => [row.name, row.port]),
        [
          ['n1', base],
          ['n2', base + 1],
          ['n3', base + 2],
        ],
      )
      assert.equal(rows.filter((row) => row.role === 'leader').length, 1)

      const status = await runCli(['cluster', 'status', '--port', String(base + 1)])
      assert.equal(status.code, 0, status.stderr)
      const roles = statusRows(status.stdout)
      assert.deepEqual([...roles.keys()].sort(), ['n1', 'n2', 'n3'])
      assert.equal([...roles.values()].filter((role) => role === 'leader').length, 1)
      assert.equal([...roles.values()].filter((role) => role === 'follower').length, 2)
      const leader = [...roles].find(([, role]) => role === 'leader')?.[0] ?? ''
      assert.match(status.stdout, new RegExp(`^leader: ${leader} \\(`, 'm'))
      const json = await runCli(['cluster', 'status', '--port', String(base + 2), '--json'])
      const parsed = JSON.parse(json.stdout) as {
        rows: Array<{ membership: string; lag: number | null }>
        leader: { name: string } | null
      }
      assert.deepEqual(
        parsed.rows.map((row) => row.membership),
        ['voter', 'voter', 'voter'],
      )
      assert.equal(parsed.leader?.name, leader)

      const n2 = new Redis({ port: base + 1, host: '127.0.0.1' })
      const n3 = new Redis({ port: base + 2, host: '127.0.0.1' })
      try {
        assert.equal(await n2.set('greeting', 'hello from n2'), 'OK')
        assert.equal(await n3.get('greeting'), 'hello from n2')
      } finally {
        n2.disconnect()
        n3.disconnect()
      }

      const target = ['n1', 'n2', 'n3'].find((name) => name !== leader) ?? ''
      const transfer = await runCli([
        'cluster',
        'transfer-leader',
        '--port',
        String(base),
        '--to',
        target,
      ])
      assert.equal(transfer.code, 0, transfer.stderr)
      assert.match(transfer.stdout, new RegExp(`leader is now ${target}`))
      const after = await runCli(['cluster', 'status', '--port', String(base)])
      assert.equal(statusRows(after.stdout).get(target), 'leader', after.stdout)

      launcher.child.kill('SIGTERM')
      assert.equal(await launcher.exited, 0, launcher.stderr())
      assert.match(launcher.stdout(), /all nodes stopped/)
      for (const row of rows) assert.equal(alive(row.pid), false, `${row.name} (pid ${row.pid})`)
    } finally {
      await stopLauncher(launcher)
    }

    // Started again on the same dir, the nodes restart from their identities with their data.
    const again = launch(['--nodes', '3', '--base-port', String(base), '--dir', dir])
    try {
      await untilReady(again)
      assert.equal(bannerRows(again.stdout()).length, 3)
      const n1 = new Redis({ port: base, host: '127.0.0.1' })
      try {
        assert.equal(await n1.get('greeting'), 'hello from n2')
      } finally {
        n1.disconnect()
      }
      const otherPorts = await runCli([
        'cluster',
        'start',
        '--base-port',
        String(base + 100),
        '--dir',
        dir,
      ])
      assert.equal(otherPorts.code, 1)
      assert.match(otherPorts.stderr, /identity\.json belongs to node n1 with client port/)
    } finally {
      await stopLauncher(again)
    }
    assert.equal(await again.exited, 0, again.stderr())
  })
})

/** SIGTERM the launcher and wait; then make sure no node it started survives. */
async function stopLauncher(launcher: Launcher): Promise<void> {
  if (launcher.child.exitCode === null) launcher.child.kill('SIGTERM')
  const timer = setTimeout(() => launcher.child.kill('SIGKILL'), 20_000)
  await launcher.exited
  clearTimeout(timer)
  for (const row of bannerRows(launcher.stdout())) {
    if (alive(row.pid)) process.kill(row.pid, 'SIGKILL')
  }
}
