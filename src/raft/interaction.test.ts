/* Runs the golden interaction scripts in testdata/: each block is a command, `----`, and the
 * expected trace. REWRITE=1 rewrites the expected traces from the actual ones (review the diff).
 * The commands drive a TestNetwork step by step, so every message of a scenario is visible
 * (`hold` and `release` delay messages past later ones, to reorder them). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestNetwork, type NodeOptions } from './test-support.js'
import { decodeMembership, type MembershipChange } from './membership.js'
import type { Entry, Membership, NodeId, RaftMessage, Ready } from './types.js'

const testdataDir = join(import.meta.dirname, '..', '..', '..', 'src', 'raft', 'testdata')

interface Block {
  readonly comments: string[]
  readonly command: string
  readonly expected: string
}

function parseScript(text: string): Block[] {
  const blocks: Block[] = []
  const lines = text.split('\n')
  let comments: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      comments.push(line)
      continue
    }
    assert.equal(lines[i + 1], '----', `line ${i + 2}: expected ---- after a command`)
    const expected: string[] = []
    for (i += 2; i < lines.length && (lines[i] ?? '') !== ''; i++) expected.push(lines[i] ?? '')
    blocks.push({ comments, command: line, expected: expected.join('\n') })
    comments = []
  }
  return blocks
}

function renderScript(blocks: readonly Block[], outputs: readonly string[]): string {
  return blocks
    .map((block, i) => [...block.comments, block.command, '----', outputs[i] ?? ''].join('\n'))
    .join('\n\n')
    .concat('\n')
}

export function formatEntry(entry: Entry): string {
  const body =
    entry.kind === 'noop'
      ? 'noop'
      : entry.kind === 'config'
        ? formatMembership(decodeMembership(entry.data))
        : JSON.stringify(Buffer.from(entry.data).toString())
  return `${entry.index}/${entry.term}:${body}`
}

export function formatMessage(message: RaftMessage): string {
  const head = `${message.from}->${message.to} ${message.type} t${message.term}`
  switch (message.type) {
    case 'append': {
      const entries = message.entries.map(formatEntry).join(' ')
      return `${head} prev=${message.prevLogIndex}/${message.prevLogTerm} commit=${message.commit} [${entries}]`
    }
    case 'append-response':
      return message.reject
        ? `${head} reject index=${message.index} hint=${message.hintIndex}/${message.hintTerm}`
        : `${head} ok index=${message.index}`
    case 'vote':
    case 'pre-vote':
      return `${head} last=${message.lastLogIndex}/${message.lastLogTerm}${message.transfer ? ' transfer' : ''}`
    case 'vote-response':
    case 'pre-vote-response':
      return `${head} ${message.reject ? 'rejected' : 'granted'}`
    case 'heartbeat':
      return `${head} commit=${message.commit} round=${message.readRound}`
    case 'heartbeat-response':
      return `${head} round=${message.readRound}`
    case 'snapshot':
      return `${head} snapshot=${message.snapshotIndex}/${message.snapshotTerm} bytes=${message.offset}+${message.data.byteLength}/${message.totalBytes}`
    case 'snapshot-response':
      return `${head} snapshot=${message.snapshotIndex} offset=${message.offset}`
    case 'timeout-now':
      return head
    case 'read-index':
      return `${head} id=${message.requestId}`
    case 'read-index-response':
      return `${head} id=${message.requestId} index=${message.index}`
  }
}

function formatReady(network: TestNetwork, id: NodeId, ready: Ready): string[] {
  const lines: string[] = []
  const soft = ready.softState
  if (soft !== null) lines.push(`${id}: role=${soft.role} leader=${soft.leaderId}`)
  if (ready.snapshot !== null) {
    lines.push(`${id}: install snapshot ${ready.snapshot.index}/${ready.snapshot.term}`)
  }
  const hard = ready.hardState
  if (hard !== null)
    lines.push(`${id}: hard term=${hard.term} vote=${hard.vote} commit=${hard.commit}`)
  if (ready.entries.length > 0)
    lines.push(`${id}: persist ${ready.entries.map(formatEntry).join(' ')}`)
  if (ready.committed.length > 0)
    lines.push(`${id}: apply ${ready.committed.map(formatEntry).join(' ')}`)
  for (const read of ready.readStates)
    lines.push(`${id}: read id=${read.requestId} index=${read.index}`)
  for (const message of ready.messages) {
    const dropped = network.isCut(message.from, message.to) ? ' (dropped)' : ''
    lines.push(`${formatMessage(message)}${dropped}`)
  }
  return lines
}

function formatMembership(membership: Membership): string {
  return `config(voters=${membership.voters.join(',')} learners=${membership.learners.join(',')})`
}

function formatStatus(network: TestNetwork, id: NodeId): string {
  const s = network.node(id).raft.status()
  return `${id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leaderId} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}`
}

type Args = { positional: string[]; named: Map<string, string> }

function parseArgs(words: readonly string[]): Args {
  const positional: string[] = []
  const named = new Map<string, string>()
  for (const word of words) {
    const eq = word.indexOf('=')
    if (eq > 0) named.set(word.slice(0, eq), word.slice(eq + 1))
    else positional.push(word)
  }
  return { positional, named }
}

const ids = (args: Args): NodeId[] => args.positional.map(Number)
const numberArg = (args: Args, name: string, fallback: number): number =>
  Number(args.named.get(name) ?? fallback)
const boolArg = (args: Args, name: string, fallback: boolean): boolean =>
  (args.named.get(name) ?? String(fallback)) === 'true'

function messageFilter(args: Args): (message: RaftMessage) => boolean {
  const from = args.named.get('from')
  const to = args.named.get('to')
  const type = args.named.get('type')
  return (message) =>
    (from === undefined || message.from === Number(from)) &&
    (to === undefined || message.to === Number(to)) &&
    (type === undefined || message.type === type)
}

class Interpreter {
  network: TestNetwork | null = null
  /** Messages taken out of the queue by `hold`, to be delivered late (reordered) by `release`. */
  held: RaftMessage[] = []

  get net(): TestNetwork {
    assert.ok(this.network !== null, 'add-nodes first')
    return this.network
  }

  run(command: string): string {
    const [name, ...words] = command.split(/\s+/)
    const args = parseArgs(words)
    const lines = this.#dispatch(name ?? '', args)
    return lines.length === 0 ? 'ok' : lines.join('\n')
  }

  #dispatch(name: string, args: Args): string[] {
    switch (name) {
      case 'add-nodes':
        return this.#addNodes(args)
      case 'write-log':
        return this.#writeLog(args)
      case 'campaign':
        for (const id of ids(args)) this.net.node(id).raft.campaign()
        return []
      case 'tick':
        for (const id of ids(args)) {
          for (let i = 0; i < numberArg(args, 'count', 1); i++) this.net.node(id).raft.tick()
        }
        return []
      case 'propose': {
        const [id, text] = args.positional
        const result = this.net.node(Number(id)).raft.propose(Buffer.from(text ?? ''))
        return [
          result.ok ? `ok index=${result.index} term=${result.term}` : `rejected ${result.reason}`,
        ]
      }
      case 'read-index':
        this.net.node(Number(args.positional[0])).raft.readIndex(Number(args.positional[1]))
        return []
      case 'transfer': {
        const [id, target] = ids(args)
        return [String(this.net.node(id ?? 0).raft.transferLeadership(target ?? 0))]
      }
      case 'process-ready':
        return ids(args).flatMap((id) => {
          const ready = this.net.handleReady(id)
          return ready === null ? [] : formatReady(this.net, id, ready)
        })
      case 'deliver':
        return this.net.take(messageFilter(args)).flatMap((message) => {
          const cut = this.net.isCut(message.from, message.to)
          this.net.deliver(message)
          return cut ? [`${formatMessage(message)} (dropped)`] : []
        })
      case 'drop':
        return this.net.take(messageFilter(args)).map((m) => `dropped ${formatMessage(m)}`)
      case 'hold': {
        const taken = this.net.take(messageFilter(args))
        this.held.push(...taken)
        return taken.map((m) => `held ${formatMessage(m)}`)
      }
      case 'release': {
        const filter = messageFilter(args)
        const released = this.held.filter(filter)
        this.held = this.held.filter((message) => !filter(message))
        this.net.queue.push(...released)
        return released.map((m) => `released ${formatMessage(m)}`)
      }
      case 'stabilize':
        return this.#stabilize()
      case 'run':
        return this.#runTicks(numberArg(args, 'ticks', 1))
      default:
        return this.#dispatchTopology(name, args)
    }
  }

  #dispatchTopology(name: string, args: Args): string[] {
    switch (name) {
      case 'isolate':
        for (const id of ids(args)) this.net.isolate(id)
        return []
      case 'partition':
        this.net.partition(args.positional.map((group) => group.split(',').map(Number)))
        return []
      case 'heal':
        this.net.heal()
        return []
      case 'restart':
        for (const id of ids(args)) this.net.restart(id)
        return []
      case 'compact':
        for (const id of ids(args)) this.net.compact(id, numberArg(args, 'tail', 0))
        return ids(args).map((id) => {
          const storage = this.net.node(id).storage
          return `${id}: snapshot ${storage.snapshot().index}, log ${storage.firstIndex()}..${storage.lastIndex()}`
        })
      case 'status':
        return (args.positional.length > 0 ? ids(args) : this.net.ids).map((id) =>
          formatStatus(this.net, id),
        )
      case 'log':
        return (args.positional.length > 0 ? ids(args) : this.net.ids).map(
          (id) => `${id}: ${this.net.node(id).raft.entries().map(formatEntry).join(' ')}`,
        )
      case 'add-node':
        for (const id of ids(args)) this.net.addNode(id)
        return []
      case 'change': {
        const [id, type, node] = args.positional
        if (type !== 'add-learner' && type !== 'promote' && type !== 'remove') {
          throw new Error(`unknown change ${type}`)
        }
        const change: MembershipChange = { type, nodeId: Number(node) }
        const result = this.net.node(Number(id)).raft.proposeMembershipChange(change)
        return [
          result.ok ? `ok index=${result.index} term=${result.term}` : `rejected ${result.reason}`,
        ]
      }
      case 'members':
        return (args.positional.length > 0 ? ids(args) : this.net.ids).map(
          (id) => `${id}: ${formatMembership(this.net.node(id).raft.membership())}`,
        )
      case 'queue':
        return this.net.queue.map(formatMessage)
      default:
        throw new Error(`unknown command ${name}`)
    }
  }

  #addNodes(args: Args): string[] {
    const node: NodeOptions = {
      electionTicks: numberArg(args, 'election', 10),
      heartbeatTicks: numberArg(args, 'heartbeat', 1),
      preVote: boolArg(args, 'prevote', true),
      checkQuorum: boolArg(args, 'checkquorum', true),
      readOnly: args.named.get('readonly') === 'lease-based' ? 'lease-based' : 'safe',
      leaseDriftTicks: numberArg(args, 'drift', 2),
      messageBytesMax: numberArg(args, 'msgbytes', 1024 * 1024),
      inflightMessagesMax: numberArg(args, 'inflight', 256),
      snapshotChunkBytes: numberArg(args, 'chunkbytes', 1024),
    }
    const count = Number(args.positional[0])
    this.network = new TestNetwork({ count, seed: numberArg(args, 'seed', 1), node })
    return []
  }

  /** Replaces a node's durable state with a log of the given terms, then restarts it. */
  #writeLog(args: Args): string[] {
    const id = Number(args.positional[0])
    const node = this.net.node(id)
    const terms = (args.named.get('terms') ?? '')
      .split(',')
      .filter((t) => t !== '')
      .map(Number)
    const entries: Entry[] = terms.map((term, i) => ({
      term,
      index: i + 1,
      kind: 'command',
      data: Buffer.from(`e${i + 1}t${term}`),
    }))
    node.storage.append(entries)
    node.storage.setHardState({
      term: numberArg(args, 'term', terms[terms.length - 1] ?? 0),
      vote: numberArg(args, 'vote', 0),
      commit: numberArg(args, 'commit', 0),
    })
    this.net.restart(id)
    return [`${id}: ${node.raft.entries().map(formatEntry).join(' ')}`]
  }

  #stabilize(): string[] {
    const lines: string[] = []
    this.net.stabilize((event) => {
      if (event.kind === 'ready') lines.push(...formatReady(this.net, event.id, event.ready))
    })
    return lines
  }

  /** Ticks every node `ticks` times, stabilizing after each; reports only role changes. */
  #runTicks(ticks: number): string[] {
    const lines: string[] = []
    for (let tick = 1; tick <= ticks; tick++) {
      for (const id of this.net.ids) this.net.node(id).raft.tick()
      this.net.stabilize((event) => {
        if (event.kind !== 'ready' || event.ready.softState === null) return
        const { role, leaderId } = event.ready.softState
        const term = event.ready.hardState?.term ?? this.net.node(event.id).raft.status().term
        lines.push(`tick ${tick}: ${event.id} is ${role} at term ${term} (leader ${leaderId})`)
      })
    }
    return lines
  }
}

describe('raft interaction scripts', () => {
  const files = readdirSync(testdataDir).filter((file) => file.endsWith('.txt'))
  for (const file of files.sort()) {
    test(file.replace(/\.txt$/, '').replaceAll('-', ' '), () => {
      const path = join(testdataDir, file)
      const blocks = parseScript(readFileSync(path, 'utf8'))
      const interpreter = new Interpreter()
      const outputs = blocks.map((block) => interpreter.run(block.command))
      if (process.env.REWRITE === '1') {
        writeFileSync(path, renderScript(blocks, outputs))
        return
      }
      blocks.forEach((block, i) => {
        assert.equal(outputs[i], block.expected, `${file}: ${block.command}`)
      })
    })
  }
})
