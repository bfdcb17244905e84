/* Test helper: redis-cli (Debian's redis-tools) as the e2e tests drive it. Invariant: a test that
 * needs it asks hasRedisCli() first and skips where it is missing; every call is bounded in time
 * so a hung redis-cli fails the test instead of stalling the run. */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const redisCliTimeoutMs = 10_000

export function hasRedisCli(): boolean {
  try {
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** `redis-cli -p <port> ...args`; resolves with its stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...args], {
    timeout: redisCliTimeoutMs,
  })
  return stdout
}
