/* `caskade cluster` argument checks: names, host:port:clusterPort, and the local cluster's port
 * and directory plan, each refused with one line that names the flag and the value. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import {
  UsageError,
  parseIntegerArg,
  parseNodeAddressArg,
  parseNodeName,
  planLocalCluster,
} from './cluster-args.js'

describe('cluster args', () => {
  test('node names are 1..64 of letters, digits, _ and -', () => {
    assert.equal(parseNodeName('n2', '--node-id'), 'n2')
    assert.equal(parseNodeName('db_east-1', '--to'), 'db_east-1')
    assert.throws(() => parseNodeName('', '--node-id'), UsageError)
    assert.throws(() => parseNodeName('a b', '--node-id'), /invalid --node-id 'a b'/)
    assert.throws(() => parseNodeName('x'.repeat(65), '--to'), /invalid --to/)
  })

  test('integers are decimal and within their range', () => {
    assert.equal(parseIntegerArg('3', '--nodes', 1, 15), 3)
    assert.throws(() => parseIntegerArg('0', '--nodes', 1, 15), /from 1 to 15/)
    assert.throws(() => parseIntegerArg('3.5', '--nodes', 1, 15), UsageError)
    assert.throws(() => parseIntegerArg('1e3', '--nodes', 1, 15000), UsageError)
    assert.throws(() => parseIntegerArg('-1', '--nodes', 1, 15), UsageError)
  })

  test('an address is host:port:clusterPort, IPv6 in brackets', () => {
    assert.deepEqual(parseNodeAddressArg('10.0.0.4:6379:16379', '--addr'), {
      host: '10.0.0.4',
      port: 6379,
      clusterPort: 16379,
    })
    assert.deepEqual(parseNodeAddressArg('db4.internal:7003:17003', '--addr'), {
      host: 'db4.internal',
      port: 7003,
      clusterPort: 17003,
    })
    assert.deepEqual(parseNodeAddressArg('[::1]:7003:17003', '--addr'), {
      host: '[::1]',
      port: 7003,
      clusterPort: 17003,
    })
    for (const bad of ['10.0.0.4:6379', 'h:0:1', 'h:1:65536', ':1:2', 'h:x:2', '::1:2:3']) {
      assert.throws(() => parseNodeAddressArg(bad, '--addr'), /invalid --addr/, bad)
    }
  })

  test('a local cluster: n1..nN on base+i, cluster ports base+10000+i, dirs DIR/nX', () => {
    assert.deepEqual(planLocalCluster({ nodes: 3, basePort: 7000, dir: 'data' }), [
      { name: 'n1', port: 7000, clusterPort: 17000, dir: path.join('data', 'n1') },
      { name: 'n2', port: 7001, clusterPort: 17001, dir: path.join('data', 'n2') },
      { name: 'n3', port: 7002, clusterPort: 17002, dir: path.join('data', 'n3') },
    ])
  })

  test('a plan whose cluster ports would pass 65535 is refused with the largest base', () => {
    assert.equal(
      planLocalCluster({ nodes: 3, basePort: 55533, dir: 'd' }).at(-1)?.clusterPort,
      65535,
    )
    assert.throws(
      () => planLocalCluster({ nodes: 3, basePort: 55534, dir: 'd' }),
      /invalid --base-port '55534' \(with 3 nodes: 1 to 55533/,
    )
    assert.throws(() => planLocalCluster({ nodes: 0, basePort: 7000, dir: 'd' }), /--nodes/)
    assert.throws(() => planLocalCluster({ nodes: 16, basePort: 7000, dir: 'd' }), /--nodes/)
  })
})
