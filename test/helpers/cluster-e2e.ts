/* Small helpers the cluster end-to-end tests share: INFO raft as a field map, and a bounded wait
 * for a probe to answer. A wait always ends: it throws after its timeout, naming what it waited
 * for, so a test never hangs on a cluster that does not converge. */
import type { Redis } from 'ioredis'

export { freePort } from './differential.js'

export async function infoRaft(redis: Redis): Promise<Record<string, string>> {
  const fields: Record<string, string> = {}
  for (const line of (await redis.info('raft')).split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}

/** Polls `probe` every 50 ms until it answers non-null (a throw counts as null). */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => null)
    if (value !== null) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
