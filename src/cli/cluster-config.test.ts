/* Cluster-mode options: flags and TOML keys (node-id, cluster-port, bootstrap, join,
 * peer-override), their address syntaxes, and the cross-option rules with clear errors. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig, type ConfigInputs } from './config.js'

function load(
  flags: ConfigInputs['flags'],
  file?: string,
): ReturnType<typeof loadConfig>['cluster'] {
  const inputs: ConfigInputs = {
    flags: file === undefined ? flags : { ...flags, config: 'c.toml' },
    env: {},
    readFile: () => file ?? '',
  }
  return loadConfig(inputs).cluster
}

describe('cluster options', () => {
  test('without node-id the server is single-node', () => {
    const cluster = load({})
    assert.equal(cluster.nodeId, null)
    assert.equal(cluster.bootstrap, false)
    assert.deepEqual(cluster.join, [])
    assert.equal(cluster.clusterHost, '127.0.0.1')
  })

  test('a bootstrap node from flags', () => {
    const cluster = load({ 'node-id': 'n1', 'cluster-port': '16379', bootstrap: true })
    assert.equal(cluster.nodeId, 'n1')
    assert.equal(cluster.clusterPort, 16379)
    assert.equal(cluster.bootstrap, true)
  })

  test('a joining node from TOML, with a join list and peer overrides', () => {
    const cluster = load(
      {},
      [
        'node-id = "n2"',
        'cluster-port = 16380',
        'join = ["127.0.0.1:16379", "10.0.0.2:16379"]',
        'peer-override = { n1 = "127.0.0.1:9001" }',
      ].join('\n'),
    )
    assert.deepEqual(cluster.join, [
      { host: '127.0.0.1', port: 16379 },
      { host: '10.0.0.2', port: 16379 },
    ])
    assert.deepEqual([...cluster.peerOverride], [['n1', { host: '127.0.0.1', port: 9001 }]])
  })

  test('comma-separated flags parse like the TOML lists', () => {
    const cluster = load({
      'node-id': 'n3',
      'cluster-port': '16381',
      join: '127.0.0.1:16379,127.0.0.1:16380',
      'peer-override': 'n1=127.0.0.1:9001,n2=127.0.0.1:9002',
      'cluster-advertise': '127.0.0.1:9003',
    })
    assert.equal(cluster.join.length, 2)
    assert.equal(cluster.peerOverride.get('n2')?.port, 9002)
    assert.deepEqual(cluster.clusterAdvertise, { host: '127.0.0.1', port: 9003 })
  })

  test('bootstrap and join are mutually exclusive', () => {
    assert.throws(
      () => load({ 'node-id': 'n1', 'cluster-port': '1', bootstrap: true, join: '127.0.0.1:2' }),
      (error: unknown) =>
        error instanceof ConfigError && /'bootstrap' and 'join' are mutually/.test(error.message),
    )
  })

  test('cluster mode needs a cluster port, and bootstrap or join needs a node id', () => {
    assert.throws(() => load({ 'node-id': 'n1', bootstrap: true }), /needs 'cluster-port'/)
    assert.throws(() => load({ 'cluster-port': '1', bootstrap: true }), /needs 'node-id'/)
  })

  test('bad names and addresses are reported with the option and value', () => {
    assert.throws(
      () => load({ 'node-id': 'n 1', 'cluster-port': '1' }),
      /invalid value for 'node-id' from flag --node-id: 'n 1'/,
    )
    assert.throws(
      () => load({ 'node-id': 'n1', 'cluster-port': '1', join: 'localhost' }),
      /invalid value for 'join'.*expected host:port/,
    )
    assert.throws(
      () => load({ 'node-id': 'n1', 'cluster-port': '1', 'peer-override': 'n2:1' }),
      /invalid value for 'peer-override'.*name=host:port/,
    )
  })
})
