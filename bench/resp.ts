/* The harness's RESP2 client: src/io/resp-client.ts's reply reader and client (one RESP reader
 * serves caskade's tools and the bench), with the bench's defaults and INFO/DBSIZE helpers.
 * Why: the harness must not depend on the client libraries whose behaviour it is measuring. */
import {
  RespClient,
  encodeRespCommand,
  parseInfoText,
  parseRespReply,
  type RespReply,
} from '../src/io/resp-client.js'

const timeoutMsDefault = 10_000

export type Reply = RespReply
export const parseReply = parseRespReply
export const encodeCommand = encodeRespCommand

/** A RespClient with the bench's defaults: 127.0.0.1, 10 s to connect and per reply. */
export class RespConnection {
  readonly #client: RespClient

  private constructor(client: RespClient) {
    this.#client = client
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    return new RespConnection(await RespClient.connect({ host, port }, timeoutMsDefault))
  }

  async command(args: readonly string[], timeoutMs = timeoutMsDefault): Promise<Reply> {
    return this.#client.command(args, timeoutMs)
  }

  close(): void {
    this.#client.close()
  }
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
  if (reply.kind !== 'bulk' || reply.value === null) return new Map()
  return parseInfoText(reply.value.toString('utf8'))
}

export async function dbSize(port: number): Promise<number> {
  const reply = await commandOnce(port, ['DBSIZE'])
  if (reply.kind !== 'integer') throw new Error(`DBSIZE answered ${JSON.stringify(reply)}`)
  return reply.value
}
