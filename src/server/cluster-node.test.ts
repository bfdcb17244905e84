/* The cluster node in one process (real disk in temp dirs, real timers, the loopback transport):
 * bootstrap plus two joins make three voters, a follower forwards a write that is applied once,
 * every member reads it, a new leader takes over when the leader stops, and a stopped node
 * restarts from its data directory alone. */
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PubSubHub } from '../commands/pubsub-hub.js'
import { createRng } from '../core/rng.js'
import { systemClock } from '../io/clock.js'
import { nodeDisk } from '../io/disk.js'
import { nodeTimers } from '../io/timers.js'
import { createLogger, createSilentLogger } from '../obs/logger.js'
import { encodeEntry, encodeQuery } from '../replica/command-entry.js'
import { createKeyspaceStateMachine } from '../replica/keyspace-state-machine.js'
import type { ReplicaResult } from '../replica/types.js'
import { LoopbackNetwork } from '../../test/helpers/loopback-transport.js'
import { defaultClusterSettings, type ClusterSettings } from './cluster-config.js'
import { startClusterNode, type ClusterNode } from './cluster-node.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caskade-cluster-node-'))
  dirs.push(dir)
  return dir
}

function start(
  network: LoopbackNetwork,
  dir: string,
  settings: Partial<ClusterSettings>,
  seed: number,
): Promise<ClusterNode> {
  return startClusterNode({
    settings: { ...defaultClusterSettings(), ...settings },
    dir,
    clientPort: 6000 + seed,
    disk: nodeDisk,
    clock: systemClock,
    timers: nodeTimers,
    rng: createRng(seed),
    logger:
      process.env.CLUSTER_DEBUG === undefined
        ? createSilentLogger()
        : createLogger({ level: 'verbose' }),
    pubsub: new PubSubHub(),
    createStateMachine: createKeyspaceStateMachine,
    createTransport: (options) => network.create(options),
  })
}

let describeNodes = (): string => ''
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describeNodes()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const call = (run: (done: (r: ReplicaResult) => void) => void): Promise<ReplicaResult> =>
  new Promise((resolve) => run(resolve))

const text = (result: ReplicaResult): string =>
  result.ok ? Buffer.from(result.reply).toString('latin1') : `failure ${JSON.stringify(result)}`

const argv = (...words: string[]): Buffer[] => words.map((word) => Buffer.from(word))

function leaderOf(nodes: readonly ClusterNode[]): ClusterNode | undefined {
  return nodes.find((node) => node.status().role === 'leader')
}

describe('cluster node (in process)', () => {
  test('bootstrap + 2 joins -> 3 voters; a forwarded write applies once and reads everywhere', async () => {
    const network = new LoopbackNetwork()
    const n1 = await start(network, tempDir(), { nodeId: 'n1', clusterPort: 0, bootstrap: true }, 1)
    const join = [{ host: '127.0.0.1', port: n1.identity.clusterPort }]
    const n2 = await start(network, tempDir(), { nodeId: 'n2', clusterPort: 0, join }, 2)
    const n3 = await start(network, tempDir(), { nodeId: 'n3', clusterPort: 0, join }, 3)
    const nodes = [n1, n2, n3]
    describeNodes = () => JSON.stringify(nodes.map((node) => node.status()))
    try {
      await until('3 voters', () => nodes.every((node) => node.status().members === 3))
      assert.equal(leaderOf(nodes), n1)
      assert.equal(n2.status().leader_id, 'n1')
      const command = encodeEntry({
        kind: 'command',
        timeMs: 1,
        protocol: 2,
        argv: argv('INCR', 'c'),
      })
      const request = { clientId: 77, sequence: 1, ackedThrough: 0, command }
      assert.equal(text(await call((done) => n2.write(request, done))), ':1\r\n')
      // A retry of the same (clientId, sequence) gets the first reply, not a second increment.
      assert.equal(text(await call((done) => n3.write(request, done))), ':1\r\n')
      const query = encodeQuery({ protocol: 2, argv: argv('GET', 'c') })
      for (const node of nodes) {
        assert.equal(text(await call((done) => node.read(query, done))), '$1\r\n1\r\n')
      }
      assert.deepEqual([...n1.stateMachine.addressBook().values()].map((a) => a.name).sort(), [
        'n1',
        'n2',
        'n3',
      ])
    } finally {
      await Promise.all(nodes.map((node) => node.close()))
    }
  })

  test('the leader stops: a new leader; a restarted node needs only its data dir', async () => {
    const network = new LoopbackNetwork()
    const dir1 = tempDir()
    const n1 = await start(network, dir1, { nodeId: 'n1', clusterPort: 0, bootstrap: true }, 11)
    const join = [{ host: '127.0.0.1', port: n1.identity.clusterPort }]
    const n2 = await start(network, tempDir(), { nodeId: 'n2', clusterPort: 0, join }, 12)
    const n3 = await start(network, tempDir(), { nodeId: 'n3', clusterPort: 0, join }, 13)
    let nodes = [n1, n2, n3]
    describeNodes = () => JSON.stringify(nodes.map((node) => node.status()))
    try {
      await until('3 voters', () => nodes.every((node) => node.status().members === 3))
      const set = encodeEntry({
        kind: 'command',
        timeMs: 1,
        protocol: 2,
        argv: argv('SET', 'k', 'v'),
      })
      assert.equal(
        text(
          await call((done) =>
            n1.write({ clientId: 5, sequence: 1, ackedThrough: 0, command: set }, done),
          ),
        ),
        '+OK\r\n',
      )
      await n1.close()
      nodes = [n2, n3]
      await until('a new leader', () => leaderOf(nodes) !== undefined)
      const restarted = await start(network, dir1, { clusterPort: n1.identity.clusterPort }, 14)
      nodes = [restarted, n2, n3]
      assert.equal(restarted.identity.name, 'n1')
      const query = encodeQuery({ protocol: 2, argv: argv('GET', 'k') })
      await until(
        'n1 caught up',
        () => restarted.status().applied_index >= n2.status().commit_index,
      )
      assert.equal(text(await call((done) => restarted.read(query, done))), '$1\r\nv\r\n')
    } finally {
      await Promise.all(nodes.map((node) => node.close()))
    }
  })
})
