/* What the simulator runs: caskade's real replica host with its KV state machine, and the real
 * linearizability checker. Kept apart from run.ts so the simulator's machinery stays testable
 * on its own. The checker's time limit uses the real clock: it bounds wall time, not the run. */
import { checkHistory, describeViolation, parseHistory } from '../check/index.js'
import { createReplicaHost } from '../replica/host.js'
import {
  KvStateMachine,
  decodeKvReply,
  encodeKvCommand,
  encodeKvQuery,
} from '../replica/kv-state-machine.js'
import type { SimDeps } from './run.js'
import { ShelfKvStateMachine } from './snapshot-shelf.js'

export function caskadeDeps(options: {
  checkTimeLimitMs: number
  /** KV machines with file snapshots (captured and fetched asynchronously) instead of bytes. */
  fileSnapshots?: boolean
}): SimDeps {
  return {
    // The cluster nodes' path: fdatasync off the loop, heartbeats not waiting behind it.
    createHost: (options) => createReplicaHost({ ...options, syncOffLoop: true }),
    createStateMachine: (context) =>
      options.fileSnapshots === true ? new ShelfKvStateMachine(context) : new KvStateMachine(),
    codec: {
      encodeCommand: encodeKvCommand,
      encodeQuery: encodeKvQuery,
      decodeReply: decodeKvReply,
    },
    checkHistory: (historyJson) => {
      const result = checkHistory(parseHistory(historyJson), {
        timeLimitMs: options.checkTimeLimitMs,
        now: () => performance.now(),
      })
      const detail =
        result.violation === null ? result.verdict : describeViolation(result.violation)
      return { verdict: result.verdict, detail }
    },
  }
}
