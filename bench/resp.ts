/* A small RESP2 client for the harness (PING, DBSIZE, INFO, CONFIG) and a reply parser that
 * answers null for "need more". Invariant: replies resolve in the order commands were sent.
 * Why: the harness must not depend on the client libraries whose behaviour it is measuring. */
import { connect, type Socket } from 'node:net'

const commandTimeoutMsDefault = 10_000
const crlf = Buffer.from('\r\n')

export type Reply =
  | { kind: 'simple'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bulk'; value: Buffer | null }
  | { kind: 'array'; items: Reply[] | null }

export interface Parsed {
  reply: Reply
  next: number
}

/** Parses one RESP2 reply at `offset`; null when `buffer` does not yet hold all of it. */
export function parseReply(buffer: Buffer, offset: number): Parsed | null {
  const lineEnd = buffer.indexOf(crlf, offset)
  if (lineEnd === -1) return null
  const type = String.fromCharCode(buffer[offset] ?? 0)
  const line = buffer.toString('utf8', offset + 1, lineEnd)
  const afterLine = lineEnd + 2
  switch (type) {
    case '+':
      return { reply: { kind: 'simple', text: line }, next: afterLine }
    case '-':
      return { reply: { kind: 'error', text: line }, next: afterLine }
    case ':':
      return { reply: { kind: 'integer', value: parseInteger(line) }, next: afterLine }
    case '$': {
      const length = parseLength(line)
      if (length === -1) return { reply: { kind: 'bulk', value: null }, next: afterLine }
      const end = afterLine + length
      if (end + 2 > buffer.length) return null
      return { reply: { kind: 'bulk', value: buffer.subarray(afterLine, end) }, next: end + 2 }
    }
    case '*':
      return parseArray(buffer, afterLine, parseLength(line))
    default:
      throw new Error(`bad RESP reply type byte ${JSON.stringify(type)}`)
  }
}

/** An integer reply may be negative (COMMAND INFO's arity of -3, TTL's -2). */
function parseInteger(text: string): number {
  const value = Number(text)
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`bad RESP integer ${text}`)
  }
  return value
}

function parseLength(text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < -1) throw new Error(`bad RESP length ${text}`)
  return value
}

function parseArray(buffer: Buffer, start: number, count: number): Parsed | null {
  if (count === -1) return { reply: { kind: 'array', items: null }, next: start }
  const items: Reply[] = []
  let next = start
  for (let index = 0; index < count; index += 1) {
    const item = parseReply(buffer, next)
    if (item === null) return null
    items.push(item.reply)
    next = item.next
  }
  return { reply: { kind: 'array', items }, next }
}

/** RESP2 encoding of one command. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`]
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`)
  return Buffer.from(parts.join(''))
}

interface Pending {
  resolve: (reply: Reply) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export class RespConnection {
  readonly #socket: Socket
  readonly #pending: Pending[] = []
  #unparsed: Buffer = Buffer.alloc(0)

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (error) => this.#failAll(error))
    socket.on('close', () => this.#failAll(new Error('connection closed')))
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host })
      socket.setNoDelay(true)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RespConnection(socket))
      })
    })
  }

  async command(args: readonly string[], timeoutMs = commandTimeoutMsDefault): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#failAll(new Error(`${args[0] ?? '?'}: no reply within ${timeoutMs} ms`))
        this.#socket.destroy()
      }, timeoutMs)
      this.#pending.push({ resolve, reject, timer })
      this.#socket.write(encodeCommand(args))
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    this.#unparsed = this.#unparsed.length === 0 ? chunk : Buffer.concat([this.#unparsed, chunk])
    let offset = 0
    for (;;) {
      let parsed: Parsed | null
      try {
        parsed = parseReply(this.#unparsed, offset)
      } catch (error) {
        this.#failAll(error instanceof Error ? error : new Error(String(error)))
        this.#socket.destroy()
        return
      }
      if (parsed === null) break
      offset = parsed.next
      const waiter = this.#pending.shift()
      if (waiter === undefined) continue
      clearTimeout(waiter.timer)
      // Copy: the reply outlives this read buffer once the caller keeps it.
      waiter.resolve(copyReply(parsed.reply))
    }
    this.#unparsed = this.#unparsed.subarray(offset)
  }

  #failAll(error: Error): void {
    for (const waiter of this.#pending.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
  }
}

function copyReply(reply: Reply): Reply {
  if (reply.kind === 'bulk' && reply.value !== null) {
    return { kind: 'bulk', value: Buffer.from(reply.value) }
  }
  if (reply.kind === 'array' && reply.items !== null) {
    return { kind: 'array', items: reply.items.map(copyReply) }
  }
  return reply
}

/** Runs one command on a fresh connection; for the few control commands of a bench run. */
export async function commandOnce(port: number, args: readonly string[]): Promise<Reply> {
  const connection = await RespConnection.connect(port)
  try {
    return await connection.command(args)
  } finally {
    connection.close()
  }
}

/** `INFO section` as a field map (`used_memory` → `"1234"`); empty if INFO is not supported. */
export async function infoFields(port: number, section: string): Promise<Map<string, string>> {
  const reply = await commandOnce(port, ['INFO', section])
  const fields = new Map<string, string>()
  if (reply.kind !== 'bulk' || reply.value === null) return fields
  for (const line of reply.value.toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return fields
}

export async function dbSize(port: number): Promise<number> {
  const reply = await commandOnce(port, ['DBSIZE'])
  if (reply.kind !== 'integer') throw new Error(`DBSIZE answered ${JSON.stringify(reply)}`)
  return reply.value
}
