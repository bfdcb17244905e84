/* `caskade cluster status` figures: RAFT NODES and INFO raft replies become rows whose lag is the
 * leader's last index minus the node's applied index; a silent node reads `unreachable`, and the
 * leader is the node that says it leads in the highest term. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RespReply } from '../io/resp-client.js'
import { parseInfoText } from '../io/resp-client.js'
import {
  buildClusterStatus,
  formatClusterStatus,
  formatTable,
  parseRaftInfo,
  parseRaftNodes,
  type RaftInfo,
  type RaftNodeEntry,
} from './cluster-table.js'

const bulk = (text: string): RespReply => ({ kind: 'bulk', value: Buffer.from(text) })

function nodesReply(rows: Array<[string, number, string, string, string]>): RespReply {
  return {
    kind: 'array',
    items: rows.map(([name, id, address, clusterAddress, kind]) => ({
      kind: 'array',
      items: [
        bulk(name),
        { kind: 'integer', value: id },
        bulk(address),
        bulk(clusterAddress),
        bulk(kind),
      ],
    })),
  }
}

function entry(name: string, port: number): RaftNodeEntry {
  const address = `127.0.0.1:${port}`
  return {
    name,
    raftId: port,
    address,
    clusterAddress: `127.0.0.1:${port + 10000}`,
    membership: 'voter',
  }
}

function info(fields: Partial<RaftInfo>): RaftInfo {
  return {
    role: 'follower',
    nodeName: '',
    term: 2,
    leaderName: 'n1',
    leaderAddress: '127.0.0.1:7000',
    commitIndex: 10,
    appliedIndex: 10,
    lastIndex: 10,
    voters: 3,
    learners: 0,
    ...fields,
  }
}

const entries = [entry('n1', 7000), entry('n2', 7001), entry('n3', 7002)]

describe('cluster status figures', () => {
  test('RAFT NODES rows are read in order; an error reply or odd shape throws', () => {
    const reply = nodesReply([
      ['n1', 77, '127.0.0.1:7000', '127.0.0.1:17000', 'voter'],
      ['n4', 78, '127.0.0.1:7003', '127.0.0.1:17003', 'learner'],
    ])
    assert.deepEqual(parseRaftNodes(reply), [
      {
        name: 'n1',
        raftId: 77,
        address: '127.0.0.1:7000',
        clusterAddress: '127.0.0.1:17000',
        membership: 'voter',
      },
      {
        name: 'n4',
        raftId: 78,
        address: '127.0.0.1:7003',
        clusterAddress: '127.0.0.1:17003',
        membership: 'learner',
      },
    ])
    assert.throws(
      () => parseRaftNodes({ kind: 'error', text: "ERR unknown command 'RAFT'" }),
      /unknown command/,
    )
    assert.throws(
      () => parseRaftNodes(nodesReply([['n1', 1, 'a:1', 'a:2', 'observer']])),
      /unexpected/,
    )
  })

  test('INFO raft fields become a RaftInfo; no role means not a cluster node', () => {
    const text = [
      '# Raft',
      'role:leader',
      'node_id:n1',
      'raft_id:123',
      'term:4',
      'leader_id:n1',
      'leader_addr:127.0.0.1:7000',
      'commit_index:41',
      'applied_index:40',
      'members:3',
      'learners:1',
      'last_index:42',
      'snapshot_index:0',
      '',
    ].join('\r\n')
    assert.deepEqual(parseRaftInfo(parseInfoText(text)), {
      role: 'leader',
      nodeName: 'n1',
      term: 4,
      leaderName: 'n1',
      leaderAddress: '127.0.0.1:7000',
      commitIndex: 41,
      appliedIndex: 40,
      lastIndex: 42,
      voters: 3,
      learners: 1,
    })
    assert.equal(parseRaftInfo(parseInfoText('# Server\r\nredis_version:7.0.15\r\n')), null)
  })

  test('lag is the leader last index minus applied; a silent node is unreachable', () => {
    const status = buildClusterStatus(
      entries,
      new Map([
        ['n1', info({ role: 'leader', lastIndex: 50, appliedIndex: 49, commitIndex: 49 })],
        ['n2', info({ appliedIndex: 45 })],
        ['n3', null],
      ]),
    )
    assert.deepEqual(status.leader, { name: 'n1', address: '127.0.0.1:7000', term: 2 })
    assert.deepEqual(
      status.rows.map((row) => row.lag),
      [1, 5, null],
    )
    assert.equal(
      formatClusterStatus(status),
      [
        'name  address         role      term  commit  applied          lag',
        'n1    127.0.0.1:7000  leader       2      49       49            1',
        'n2    127.0.0.1:7001  follower     2      10       45            5',
        'n3    127.0.0.1:7002  -            -       -        -  unreachable',
        'leader: n1 (127.0.0.1:7000), term 2',
        '',
      ].join('\n'),
    )
  })

  test('two nodes claiming to lead: the higher term wins; rows come in name order', () => {
    const status = buildClusterStatus(
      entries,
      new Map([
        ['n1', info({ role: 'leader', term: 2, lastIndex: 10 })],
        ['n2', info({ role: 'leader', term: 3, lastIndex: 12, appliedIndex: 12 })],
        ['n3', info({ term: 3, appliedIndex: 12 })],
      ]),
    )
    assert.equal(status.leader?.name, 'n2')
    const shuffled = buildClusterStatus(
      [entries[2], entries[0], entries[1]].filter((e) => e !== undefined),
      new Map(),
    )
    assert.deepEqual(
      shuffled.rows.map((row) => row.name),
      ['n1', 'n2', 'n3'],
    )
    assert.deepEqual(
      status.rows.map((row) => row.lag),
      [2, 0, 0],
    )
  })

  test('no leader among the answering nodes: no lag, and the last line says so', () => {
    const status = buildClusterStatus(
      entries,
      new Map([
        ['n1', null],
        ['n2', info({ role: 'candidate', term: 5 })],
        ['n3', info({ role: 'follower', term: 5 })],
      ]),
    )
    assert.equal(status.leader, null)
    assert.deepEqual(
      status.rows.map((row) => row.lag),
      [null, null, null],
    )
    assert.match(
      formatClusterStatus(status),
      /\nleader: none known \(no reachable node is leader\)\n$/,
    )
  })

  test('a table pads columns to the widest cell and aligns numbers right', () => {
    const table = formatTable(
      [{ title: 'name' }, { title: 'n', align: 'right' }],
      [
        ['a', '1'],
        ['longer', '100'],
      ],
    )
    assert.equal(table, 'name      n\na         1\nlonger  100')
  })
})
