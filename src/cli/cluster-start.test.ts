/* The launcher's pure parts: when a local cluster counts as formed (every node answers, one
 * leader all agree on, N voters, no learners), the banner a user reads, and the RAFT commands
 * that `cluster add|remove|transfer-leader` send. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { adminCommandArgs } from './cluster-admin.js'
import { planLocalCluster } from './cluster-args.js'
import { clusterConverged, dialHostOf, formatStartBanner } from './cluster-start.js'
import type { RaftInfo } from './cluster-table.js'

function info(role: string, fields: Partial<RaftInfo> = {}): RaftInfo {
  return {
    role,
    nodeName: '',
    term: 1,
    leaderName: 'n1',
    leaderAddress: '127.0.0.1:7000',
    commitIndex: 5,
    appliedIndex: 5,
    lastIndex: 5,
    voters: 3,
    learners: 0,
    ...fields,
  }
}

describe('cluster start', () => {
  test('formed: all answer, one leader everyone names, N voters and no learners', () => {
    assert.equal(clusterConverged([info('leader'), info('follower'), info('follower')], 3), true)
    assert.equal(clusterConverged([info('leader'), info('follower'), null], 3), false)
    const learner = info('learner')
    assert.equal(clusterConverged([info('leader'), info('follower'), learner], 3), false)
    const stillTwo = [info('leader', { voters: 2 }), info('follower'), info('follower')]
    assert.equal(clusterConverged(stillTwo, 3), false)
    const oneLearnerLeft = [info('leader', { learners: 1 }), info('follower'), info('follower')]
    assert.equal(clusterConverged(oneLearnerLeft, 3), false)
    const disagree = [info('leader'), info('follower'), info('follower', { leaderName: 'n2' })]
    assert.equal(clusterConverged(disagree, 3), false)
    const noLeaderYet = [
      info('candidate', { leaderName: '' }),
      info('follower', { leaderName: '' }),
    ]
    assert.equal(clusterConverged(noLeaderYet, 2), false)
  })

  test('the banner lists the nodes and says how to connect and where the logs are', () => {
    const plans = planLocalCluster({ nodes: 2, basePort: 7000, dir: 'cluster-data' })
    const banner = formatStartBanner(
      plans.map((plan, index) => ({
        plan,
        role: index === 0 ? 'leader' : 'follower',
        pid: 100 + index,
      })),
      { dir: 'cluster-data', host: '127.0.0.1', logs: 'files', leader: 'n1', term: 1 },
    )
    assert.equal(
      banner,
      [
        'cluster ready: 2 nodes in cluster-data, leader n1 (term 1)',
        '',
        'name  client port  cluster port  role      pid  dir',
        'n1           7000         17000  leader    100  cluster-data/n1',
        'n2           7001         17001  follower  101  cluster-data/n2',
        '',
        'Connect any Redis client to any node (a follower forwards writes to the leader):',
        '  redis-cli -p 7000',
        "  new Redis({ host: '127.0.0.1', port: 7000 })   // ioredis",
        'Status: caskade cluster status --port 7000',
        'Logs:   cluster-data/n1.log, cluster-data/n2.log (--logs stdout shows them here)',
        'Press Ctrl-C to stop every node.',
        '',
      ].join('\n'),
    )
  })

  test('a wildcard bind is dialled on loopback', () => {
    assert.equal(dialHostOf('0.0.0.0'), '127.0.0.1')
    assert.equal(dialHostOf('::'), '127.0.0.1')
    assert.equal(dialHostOf('10.0.0.4'), '10.0.0.4')
  })

  test('add, remove and transfer-leader send RAFT ADD, REMOVE and TRANSFER', () => {
    const address = { host: '10.0.0.4', port: 6379, clusterPort: 16379 }
    assert.deepEqual(adminCommandArgs({ op: 'add', name: 'n4', address }), [
      'RAFT',
      'ADD',
      'n4',
      '10.0.0.4:6379:16379',
    ])
    assert.deepEqual(adminCommandArgs({ op: 'remove', name: 'n2' }), ['RAFT', 'REMOVE', 'n2'])
    assert.deepEqual(adminCommandArgs({ op: 'transfer', name: 'n3' }), ['RAFT', 'TRANSFER', 'n3'])
  })
})
