/* caskade's own version, read once from package.json (which ships with the package), so INFO,
 * HELLO's caskade fields and `caskade --version` can never disagree with the release. */
import { readFileSync } from 'node:fs'

function readVersion(): string {
  // dist/src/server/version.js -> package root is three levels up.
  const url = new URL('../../../package.json', import.meta.url)
  const parsed = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }
  return typeof parsed.version === 'string' ? parsed.version : '0.0.0'
}

export const caskadeVersion: string = readVersion()
