/* The ioredis client the crash tests drive a server with: it never queues, retries or resends, so
 * a SIGKILL shows up as a failed command (an unknown outcome), never as a write sent twice. */
import { Redis } from 'ioredis'

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

export async function whenReady(redis: Redis): Promise<void> {
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()))
}
