/* A tiny RESP2 client for caskade's own tools (the `caskade cluster` commands): connect with a
 * timeout, send commands, get replies in order. Invariant: every command settles exactly once, by a
 * reply, the connection's failure or its timeout. Why: ioredis is only a dev dependency, and an
 * admin tool must answer "unreachable" quickly instead of retrying forever. */
import { connect, type Socket } from 'node:net'

const crlf = Buffer.from('\r\n')

export type RespReply =
  | { kind: 'simple'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bulk'; value: Buffer | null }
  | { kind: 'array'; items: RespReply[] | null }

interface ParsedReply {
  reply: RespReply
  next: number
}

/** Parses one RESP2 reply at `offset`; null when `buffer` does not hold all of it yet. The bulk
 * values are views into `buffer`: the client copies them before handing them out. */
export function parseRespReply(buffer: Buffer, offset: number): ParsedReply | null {
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
      return { reply: { kind: 'integer', value: parseIntegerText(line) }, next: afterLine }
    case '$': {
      const length = parseLengthText(line)
      if (length === -1) return { reply: { kind: 'bulk', value: null }, next: afterLine }
      const end = afterLine + length
      if (end + 2 > buffer.length) return null
      return { reply: { kind: 'bulk', value: buffer.subarray(afterLine, end) }, next: end + 2 }
    }
    case '*':
      return parseArrayItems(buffer, afterLine, parseLengthText(line))
    default:
      throw new Error(`bad RESP reply type byte ${JSON.stringify(type)}`)
  }
}

function parseIntegerText(text: string): number {
  const value = Number(text)
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(`bad RESP integer ${text}`)
  }
  return value
}

function parseLengthText(text: string): number {
  const value = Number(text)
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < -1) {
    throw new Error(`bad RESP length ${text}`)
  }
  return value
}

function parseArrayItems(buffer: Buffer, start: number, count: number): ParsedReply | null {
  if (count === -1) return { reply: { kind: 'array', items: null }, next: start }
  const items: RespReply[] = []
  let next = start
  for (let index = 0; index < count; index += 1) {
    const item = parseRespReply(buffer, next)
    if (item === null) return null
    items.push(item.reply)
    next = item.next
  }
  return { reply: { kind: 'array', items }, next }
}

/** RESP2 multibulk encoding of one command. */
export function encodeRespCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`]
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`)
  return Buffer.from(parts.join(''))
}

function copyReply(reply: RespReply): RespReply {
  if (reply.kind === 'bulk' && reply.value !== null) {
    return { kind: 'bulk', value: Buffer.from(reply.value) }
  }
  if (reply.kind === 'array' && reply.items !== null) {
    return { kind: 'array', items: reply.items.map(copyReply) }
  }
  return reply
}

export interface RespEndpoint {
  host: string
  port: number
}

interface Waiter {
  resolve: (reply: RespReply) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export class RespClient {
  readonly #socket: Socket
  readonly #waiters: Waiter[] = []
  #unparsed: Buffer = Buffer.alloc(0)
  #failure: Error | null = null

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (error) => this.#fail(error))
    socket.on('close', () => this.#fail(new Error('connection closed')))
  }

  /** Connects to `endpoint`; rejects after `timeoutMs` (a dead host must not hang the tool). */
  static async connect(endpoint: RespEndpoint, timeoutMs: number): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no connection within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.setNoDelay(true)
        resolve(new RespClient(socket))
      })
    })
  }

  /** Sends one command; an error reply resolves (kind 'error'), a dead connection rejects. */
  async command(args: readonly string[], timeoutMs: number): Promise<RespReply> {
    if (this.#failure !== null) throw this.#failure
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new Error(`${args[0] ?? '?'}: no reply within ${timeoutMs} ms`))
        this.#socket.destroy()
      }, timeoutMs)
      this.#waiters.push({ resolve, reject, timer })
      this.#socket.write(encodeRespCommand(args))
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    this.#unparsed = this.#unparsed.length === 0 ? chunk : Buffer.concat([this.#unparsed, chunk])
    let offset = 0
    for (;;) {
      let parsed: ParsedReply | null
      try {
        parsed = parseRespReply(this.#unparsed, offset)
      } catch (error) {
        this.#fail(error instanceof Error ? error : new Error(String(error)))
        this.#socket.destroy()
        return
      }
      if (parsed === null) break
      offset = parsed.next
      const waiter = this.#waiters.shift()
      if (waiter === undefined) continue
      clearTimeout(waiter.timer)
      waiter.resolve(copyReply(parsed.reply))
    }
    this.#unparsed = this.#unparsed.subarray(offset)
  }

  #fail(error: Error): void {
    this.#failure ??= error
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
  }
}

/** Connects, runs one command, closes; `timeoutMs` bounds the connect and the reply each. */
export async function respCommandOnce(
  endpoint: RespEndpoint,
  args: readonly string[],
  timeoutMs: number,
): Promise<RespReply> {
  const client = await RespClient.connect(endpoint, timeoutMs)
  try {
    return await client.command(args, timeoutMs)
  } finally {
    client.close()
  }
}

/** An INFO reply's `field:value` lines as a map (section headers and blank lines skipped). */
export function parseInfoText(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return fields
}
