/* The dataset loader: SETs exactly key:0000000 .. key:<keyCount-1> with fixed-size values over one
 * pipelined connection, with a bounded number of batches in flight. Invariant: every reply is
 * +OK, else the load fails. Why: redis-benchmark -r picks keys at random, so never all of them. */
import { connect, type Socket } from 'node:net'

const keyDigits = 7
export const keyCountMax = 10 ** keyDigits
const batchCommandsDefault = 1_000
const inflightBatchesMax = 8

export function loaderKey(index: number): string {
  return `key:${String(index).padStart(keyDigits, '0')}`
}

/** Counts one-line replies (+OK / -ERR ...) across chunk boundaries; remembers the first error. */
export class LineReplyCounter {
  received = 0
  firstError: string | null = null
  #atLineStart = true
  #errorLine: string | null = null

  feed(chunk: Buffer): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.#atLineStart) {
        const first = chunk[offset]
        if (first !== 0x2b /* + */ && this.firstError === null) this.#errorLine = ''
        this.#atLineStart = false
      }
      const newline = chunk.indexOf(0x0a, offset)
      const end = newline === -1 ? chunk.length : newline
      if (this.#errorLine !== null) this.#errorLine += chunk.toString('utf8', offset, end)
      if (newline === -1) return
      this.received += 1
      if (this.#errorLine !== null) {
        this.firstError = this.#errorLine.trimEnd()
        this.#errorLine = null
      }
      this.#atLineStart = true
      offset = newline + 1
    }
  }
}

/** The bytes of SET commands for keys [first, first + count). */
export function encodeSetBatch(options: { first: number; count: number; value: Buffer }): Buffer {
  const { first, count, value } = options
  const keyLength = loaderKey(0).length
  const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$${keyLength}\r\n`)
  const middle = Buffer.from(`\r\n$${value.length}\r\n`)
  const commandLength = head.length + keyLength + middle.length + value.length + 2
  const batch = Buffer.allocUnsafe(commandLength * count)
  let at = 0
  for (let index = first; index < first + count; index += 1) {
    at += head.copy(batch, at)
    const key = loaderKey(index)
    at += batch.write(key, at, 'latin1')
    at += middle.copy(batch, at)
    const valueStart = at
    at += value.copy(batch, at)
    // The key's digits at the front of each value, so no two values are the same bytes.
    batch.write(key.slice(-keyDigits), valueStart, Math.min(keyDigits, value.length), 'latin1')
    at += batch.write('\r\n', at, 'latin1')
  }
  return batch
}

export interface LoadOptions {
  port: number
  keyCount: number
  valueBytes: number
  batchCommands?: number
  onProgress?: (keysAcknowledged: number) => void
}

/** Loads the dataset; resolves when every SET is acknowledged with +OK. */
export async function loadSequentialKeys(options: LoadOptions): Promise<void> {
  const { port, keyCount, valueBytes } = options
  if (!Number.isSafeInteger(keyCount) || keyCount < 0 || keyCount > keyCountMax) {
    throw new Error(`keyCount must be between 0 and ${keyCountMax}`)
  }
  const batchCommands = options.batchCommands ?? batchCommandsDefault
  const value = Buffer.alloc(valueBytes, 'v')
  const socket = await openSocket(port)
  const counter = new LineReplyCounter()
  let wake: (() => void) | null = null
  let failure: Error | null = null
  const nudge = (): void => {
    const resume = wake
    wake = null
    resume?.()
  }
  socket.on('data', (chunk: Buffer) => {
    counter.feed(chunk)
    options.onProgress?.(counter.received)
    nudge()
  })
  socket.on('error', (error) => {
    failure = error
    nudge()
  })
  socket.on('close', () => {
    failure ??= new Error(`connection closed after ${counter.received} replies`)
    nudge()
  })
  const waitUntil = async (predicate: () => boolean): Promise<void> => {
    while (!predicate()) {
      if (failure !== null) throw failure
      if (counter.firstError !== null) throw new Error(`SET failed: ${counter.firstError}`)
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  try {
    let sent = 0
    while (sent < keyCount) {
      const count = Math.min(batchCommands, keyCount - sent)
      await waitUntil(() => sent - counter.received < inflightBatchesMax * batchCommands)
      socket.write(encodeSetBatch({ first: sent, count, value }))
      sent += count
    }
    await waitUntil(() => counter.received >= keyCount)
    if (counter.firstError !== null) throw new Error(`SET failed: ${counter.firstError}`)
  } finally {
    socket.destroy()
  }
}

async function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
  })
}
