/* The pub/sub hub: the server-wide registry of channels and patterns -> subscribed clients, message
 * delivery, and keyspace notifications (which are messages on `__keyspace@0__:` channels).
 * Invariant: a client appears under a channel (pattern) exactly when that channel is in its own
 * set, and its session's subscribedChannels/subscribedPatterns are the sizes of those sets; every
 * delivery is written into the subscriber's reply writer and reported through onDeliver, so its
 * connection sends it under the same output-buffer limits as any reply. */
import { assert } from '../core/assert.js'
import { globMatch } from '../core/glob.js'
import type { ReplyWriter } from '../protocol/types.js'
import { NotifyClass, type KeyspaceNotifier } from './notify.js'
import type { ClientSession } from './types.js'

/** A subscriber as the hub sees it: the session (protocol, counts) and where replies go. */
export interface PubSubClient {
  readonly session: ClientSession
  readonly writer: ReplyWriter
}

/** Classic channels, or Redis 7's shard channels (SSUBSCRIBE/SPUBLISH: no pattern matching). */
export type ChannelKind = 'channel' | 'shard'

interface ClientState extends PubSubClient {
  /** Channel names (latin1, so any bytes round-trip) in subscription order. */
  readonly channels: Set<string>
  readonly shardChannels: Set<string>
  readonly patterns: Set<string>
}

interface PatternEntry {
  readonly pattern: Buffer
  readonly clients: Map<number, ClientState>
}

const keyspacePrefix = Buffer.from('__keyspace@0__:', 'latin1')
const keyeventPrefix = Buffer.from('__keyevent@0__:', 'latin1')
const messageBytes = Buffer.from('message', 'latin1')
const pmessageBytes = Buffer.from('pmessage', 'latin1')
const smessageBytes = Buffer.from('smessage', 'latin1')

export class PubSubHub implements KeyspaceNotifier {
  notifyFlags = 0
  /** Called after a message was written into a client's writer: the host must flush it. */
  onDeliver: (clientId: number) => void = () => undefined
  readonly #clients = new Map<number, ClientState>()
  readonly #channels = new Map<string, Map<number, ClientState>>()
  readonly #shardChannels = new Map<string, Map<number, ClientState>>()
  readonly #patterns = new Map<string, PatternEntry>()

  /** Subscribes; false when the client was already subscribed to `channel`. */
  subscribe(client: PubSubClient, channel: Buffer, kind: ChannelKind = 'channel'): boolean {
    const state = this.#stateOf(client)
    const name = channel.toString('latin1')
    const own = kind === 'channel' ? state.channels : state.shardChannels
    if (own.has(name)) return false
    own.add(name)
    const registry = this.#registry(kind)
    let subscribers = registry.get(name)
    if (subscribers === undefined) {
      subscribers = new Map()
      registry.set(name, subscribers)
    }
    subscribers.set(state.session.id, state)
    this.#syncCounts(state)
    return true
  }

  /** Unsubscribes; false when the client was not subscribed to `channel`. */
  unsubscribe(session: ClientSession, channel: Buffer, kind: ChannelKind = 'channel'): boolean {
    const state = this.#clients.get(session.id)
    const name = channel.toString('latin1')
    if (state === undefined) return false
    const own = kind === 'channel' ? state.channels : state.shardChannels
    if (!own.delete(name)) return false
    const registry = this.#registry(kind)
    const subscribers = registry.get(name)
    assert(subscribers !== undefined, 'a subscribed channel is registered')
    subscribers.delete(session.id)
    if (subscribers.size === 0) registry.delete(name)
    this.#syncCounts(state)
    return true
  }

  psubscribe(client: PubSubClient, pattern: Buffer): boolean {
    const state = this.#stateOf(client)
    const name = pattern.toString('latin1')
    if (state.patterns.has(name)) return false
    state.patterns.add(name)
    let entry = this.#patterns.get(name)
    if (entry === undefined) {
      entry = { pattern: Buffer.from(pattern), clients: new Map() }
      this.#patterns.set(name, entry)
    }
    entry.clients.set(state.session.id, state)
    this.#syncCounts(state)
    return true
  }

  punsubscribe(session: ClientSession, pattern: Buffer): boolean {
    const state = this.#clients.get(session.id)
    const name = pattern.toString('latin1')
    if (state === undefined || !state.patterns.delete(name)) return false
    const entry = this.#patterns.get(name)
    assert(entry !== undefined, 'a subscribed pattern is registered')
    entry.clients.delete(session.id)
    if (entry.clients.size === 0) this.#patterns.delete(name)
    this.#syncCounts(state)
    return true
  }

  /** The client's channels, in subscription order (UNSUBSCRIBE without arguments). */
  channelsOf(session: ClientSession, kind: ChannelKind = 'channel'): Buffer[] {
    const state = this.#clients.get(session.id)
    if (state === undefined) return []
    const own = kind === 'channel' ? state.channels : state.shardChannels
    return Array.from(own, (name) => Buffer.from(name, 'latin1'))
  }

  patternsOf(session: ClientSession): Buffer[] {
    const state = this.#clients.get(session.id)
    if (state === undefined) return []
    return Array.from(state.patterns, (name) => Buffer.from(name, 'latin1'))
  }

  /** Drops every subscription of a client without replies (RESET, disconnect). */
  removeClient(session: ClientSession): void {
    for (const channel of this.channelsOf(session)) this.unsubscribe(session, channel)
    for (const channel of this.channelsOf(session, 'shard')) {
      this.unsubscribe(session, channel, 'shard')
    }
    for (const pattern of this.patternsOf(session)) this.punsubscribe(session, pattern)
    this.#clients.delete(session.id)
  }

  /** Delivers to channel subscribers, then to matching patterns; returns the receivers. */
  publish(channel: Buffer, message: Buffer): number {
    let receivers = this.#publishExact(channel, message, 'channel')
    for (const entry of this.#patterns.values()) {
      if (!globMatch(entry.pattern, channel)) continue
      for (const state of entry.clients.values()) {
        const writer = state.writer
        const before = writer.pendingBytes()
        writer.pushHeader(4)
        writer.bulk(pmessageBytes)
        writer.bulk(entry.pattern)
        writer.bulk(channel)
        writer.bulk(message)
        this.#delivered(state, before)
        receivers++
      }
    }
    return receivers
  }

  /** SPUBLISH: shard channel subscribers only ('smessage'); returns the receivers. */
  publishShard(channel: Buffer, message: Buffer): number {
    return this.#publishExact(channel, message, 'shard')
  }

  #publishExact(channel: Buffer, message: Buffer, kind: ChannelKind): number {
    const subscribers = this.#registry(kind).get(channel.toString('latin1'))
    if (subscribers === undefined) return 0
    const kindBytes = kind === 'channel' ? messageBytes : smessageBytes
    for (const state of subscribers.values()) {
      const writer = state.writer
      const before = writer.pendingBytes()
      writer.pushHeader(3)
      writer.bulk(kindBytes)
      writer.bulk(channel)
      writer.bulk(message)
      this.#delivered(state, before)
    }
    return subscribers.size
  }

  /** PUBSUB (SHARD)CHANNELS: channels with at least one subscriber, optionally matching. */
  activeChannels(pattern: Buffer | null, kind: ChannelKind = 'channel'): Buffer[] {
    const result: Buffer[] = []
    for (const name of this.#registry(kind).keys()) {
      const channel = Buffer.from(name, 'latin1')
      if (pattern === null || globMatch(pattern, channel)) result.push(channel)
    }
    return result
  }

  /** PUBSUB NUMSUB: subscribers of one channel (pattern subscriptions not counted). */
  subscriberCount(channel: Buffer, kind: ChannelKind = 'channel'): number {
    return this.#registry(kind).get(channel.toString('latin1'))?.size ?? 0
  }

  /** INFO pubsub_channels (pubsubshard_channels for 'shard'). */
  channelCount(kind: ChannelKind = 'channel'): number {
    return this.#registry(kind).size
  }

  /** PUBSUB NUMPAT and INFO pubsub_patterns: distinct patterns with a subscriber. */
  patternCount(): number {
    return this.#patterns.size
  }

  /** Redis's notifyKeyspaceEvent: the keyspace message first, then the keyevent one. */
  notifyKeyspaceEvent(type: NotifyClass, event: string, key: Buffer): void {
    const flags = this.notifyFlags
    if ((flags & type) === 0) return
    if (this.#channels.size === 0 && this.#patterns.size === 0) return
    const eventBytes = Buffer.from(event, 'latin1')
    if ((flags & NotifyClass.Keyspace) !== 0) {
      this.publish(Buffer.concat([keyspacePrefix, key]), eventBytes)
    }
    if ((flags & NotifyClass.Keyevent) !== 0) {
      this.publish(Buffer.concat([keyeventPrefix, eventBytes]), key)
    }
  }

  /** The keyspace's listener: a key expired (lazily or actively). */
  readonly expired = (key: Buffer): void => {
    this.notifyKeyspaceEvent(NotifyClass.Expired, 'expired', key)
  }

  /** The keyspace's listener: a read lookup missed (class 'm'). */
  readonly missed = (key: Buffer): void => {
    this.notifyKeyspaceEvent(NotifyClass.KeyMiss, 'keymiss', key)
  }

  #stateOf(client: PubSubClient): ClientState {
    const id = client.session.id
    let state = this.#clients.get(id)
    if (state === undefined) {
      state = { ...client, channels: new Set(), shardChannels: new Set(), patterns: new Set() }
      this.#clients.set(id, state)
    }
    return state
  }

  #syncCounts(state: ClientState): void {
    const session = state.session
    session.subscribedChannels = state.channels.size
    session.subscribedPatterns = state.patterns.size
    session.subscribedShardChannels = state.shardChannels.size
    if (state.channels.size + state.patterns.size + state.shardChannels.size === 0) {
      this.#clients.delete(session.id)
    }
  }

  #registry(kind: ChannelKind): Map<string, Map<number, ClientState>> {
    return kind === 'channel' ? this.#channels : this.#shardChannels
  }

  #delivered(state: ClientState, bytesBefore: number): void {
    const session = state.session
    session.pushedBytes = (session.pushedBytes ?? 0) + state.writer.pendingBytes() - bytesBefore
    this.onDeliver(session.id)
  }
}
