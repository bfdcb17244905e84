/* The replica host on the real Disk port (node:fs): the same scenarios as the in-memory tests,
 * proving the log store's file handling (create, append, fdatasync, rewrite, delete) on a real
 * file system. Lives outside src/replica because that folder is fenced off from node:fs. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { nodeDisk } from '../../src/io/disk.js'
import { TestCluster, kvReply } from '../../src/replica/test-support.js'
import { tempDirs } from '../helpers/engine-fixtures.js'

const makeDir = tempDirs('caskade-replica-')

describe('replica host on the real disk', () => {
  it('writes, snapshots, compacts and restarts from its directories', async () => {
    const root = makeDir()
    const cluster = new TestCluster({
      ids: [1, 2, 3],
      disk: () => nodeDisk,
      dir: (id) => path.join(root, `n${id}`),
      replica: { snapshotEveryEntries: 10, logTailEntries: 2 },
    })
    const leader = cluster.leader()
    for (let i = 1; i <= 25; i++) {
      cluster.write(leader, 1, i, { op: 'append', key: 'log', value: String(i % 10) })
    }
    // Old files are removed asynchronously (best effort): wait for it, boundedly.
    const leaderDir = path.join(root, `n${leader}`)
    const count = (prefix: string): number =>
      fs.readdirSync(leaderDir).filter((f) => f.startsWith(prefix)).length
    for (let i = 0; i < 500 && count('raft-') > 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const files = fs.readdirSync(leaderDir).join(' ')
    assert.equal(count('raft-log-'), 1, files)
    assert.equal(count('raft-snap-'), 1, files)
    for (const id of [1, 2, 3]) cluster.stop(id)
    for (const id of [1, 2, 3]) cluster.start(id)
    const next = cluster.leader()
    assert.deepEqual(kvReply(cluster.read(next, 'log')), {
      op: 'get',
      value: '1234567890123456789012345',
    })
    for (const id of [1, 2, 3]) cluster.stop(id)
  })
})
