/* ServerHost: what the command layer may ask of the server (clients, CLIENT KILL, INFO sections,
 * CONFIG, SHUTDOWN, DEBUG SLEEP). It holds no state of its own; it reads the server's connection
 * map, so CLIENT LIST and INFO always describe the connections that exist right now. */
import type { ClientKillFilter, ClientSession, InfoField, ServerHost } from '../commands/types.js'
import { CaskadeError, ErrorCode } from '../core/errors.js'
import type { Timers } from '../core/ports.js'
import type { LiveConfigRegistry } from './config-registry.js'
import type { Connection } from './connection.js'
import { buildInfoSection, type InfoSources } from './info.js'
import type { ServerStats } from './stats.js'

export interface HostParts {
  config: LiveConfigRegistry
  connections: ReadonlyMap<number, Connection>
  info: InfoSources
  timers: Timers
  stats: ServerStats
  /** Starts the server's shutdown; returns at once. */
  shutdown: () => void
}

function matchesKillFilter(session: ClientSession, filter: ClientKillFilter): boolean {
  if (filter.id !== undefined && session.id !== filter.id) return false
  if (filter.addr !== undefined && session.addr !== filter.addr) return false
  if (filter.laddr !== undefined && session.laddr !== filter.laddr) return false
  return true
}

/** Blocks the whole thread, like Redis's DEBUG SLEEP blocks its event loop. */
function sleepThread(ms: number): void {
  if (ms <= 0) return
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export function createServerHost(parts: HostParts): ServerHost {
  return {
    config: parts.config,
    clients(): readonly ClientSession[] {
      return Array.from(parts.connections.values(), (connection) => connection.session)
    },
    clientListExtras(client: ClientSession): Array<[string, string | number]> {
      return parts.connections.get(client.id)?.listExtras() ?? []
    },
    killClients(filter: ClientKillFilter, caller: ClientSession): number {
      let matched = 0
      for (const connection of parts.connections.values()) {
        const session = connection.session
        if (filter.skipMe && session.id === caller.id) continue
        if (!matchesKillFilter(session, filter)) continue
        matched++
        if (session.id === caller.id) session.closeAfterReply = true
        else parts.timers.defer(() => connection.kill())
      }
      return matched
    },
    infoSection(section: string): InfoField[] | null {
      return buildInfoSection(parts.info, section)
    },
    shutdown(options: { abort: boolean }): void {
      // caskade shuts down at once (no wait for replicas), so there is never one to abort.
      if (options.abort) throw new CaskadeError(ErrorCode.Err, 'No shutdown in progress.')
      parts.shutdown()
    },
    sleepBlocking(ms: number): void {
      sleepThread(ms)
    },
    resetStats(): void {
      parts.stats.reset()
    },
  }
}
