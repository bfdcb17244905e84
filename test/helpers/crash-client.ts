/* The ioredis client the crash tests drive a server with: it never queues, retries or resends, so
 * a SIGKILL shows up as a failed command (an unknown outcome), never as a write sent twice. Every
 * wait here settles: a client whose connection ends before `ready` rejects, and a ref'd timer
 * bounds the rest, so a test fails with a message instead of being cancelled by node:test. */
import { Redis } from 'ioredis'

/** Generous: only a stuck connection reaches it, never a slow-but-working one under CI load. */
export const readyTimeoutMs = 30_000

export function connectWithoutRetries(port: number): Redis {
  return new Redis({
    port,
    host: '127.0.0.1',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    autoResendUnfulfilledCommands: false,
  })
}

/**
 * Resolves when the client is ready. Rejects when its connection ends first (with retries off an
 * ended client never becomes ready, and holds no handle that would keep the wait alive) or after
 * `timeoutMs` on a ref'd timer.
 */
export function whenReady(redis: Redis, timeoutMs = readyTimeoutMs): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    let lastError = ''
    const onError = (error: Error): void => {
      lastError = `: ${error.message}`
    }
    const settle = (error?: Error): void => {
      clearTimeout(timer)
      redis.off('ready', onReady).off('end', onEnd).off('error', onError)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onReady = (): void => settle()
    const onEnd = (): void =>
      settle(new Error(`connection to port ${portOf(redis)} ended before ready${lastError}`))
    const timer = setTimeout(() => {
      redis.disconnect()
      settle(new Error(`client for port ${portOf(redis)} not ready in ${timeoutMs} ms${lastError}`))
    }, timeoutMs)
    redis.once('ready', onReady).once('end', onEnd).on('error', onError)
    if (redis.status === 'end') onEnd()
  })
}

/**
 * `count` ready no-retry clients, connected before the test starts its kill timer so that no
 * client can be mid-handshake at the kill. If any cannot connect, all are disconnected.
 */
export async function connectAll(port: number, count: number): Promise<Redis[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => connectReady(port)))
  const clients: Redis[] = []
  for (const result of settled) if (result.status === 'fulfilled') clients.push(result.value)
  const failed = settled.find((result) => result.status === 'rejected')
  if (failed === undefined) return clients
  for (const redis of clients) redis.disconnect()
  throw failed.reason
}

/** A no-retry client that is ready; disconnected and rejected if it cannot get there. */
export async function connectReady(port: number): Promise<Redis> {
  const redis = connectWithoutRetries(port)
  // After the kill every command fails with this; the writers see it as a rejected command.
  redis.on('error', () => undefined)
  try {
    await whenReady(redis)
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

function portOf(redis: Redis): number | undefined {
  return redis.options.port
}
