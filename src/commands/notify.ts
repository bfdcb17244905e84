/* Keyspace notifications: the event classes of `notify-keyspace-events` (Redis's flag letters
 * and texts), and the one call every write handler makes after a change, notifyKeyspaceEvent.
 * Invariant: with no class enabled (the default) a notification costs one bit test and
 * allocates nothing, because SET and friends call it on their hot path. */
import type { CommandContext } from './types.js'

/** Redis's NOTIFY_* bits (server.h); the values only matter inside caskade. */
export const NotifyClass = {
  Keyspace: 1 << 0,
  Keyevent: 1 << 1,
  Generic: 1 << 2,
  String: 1 << 3,
  List: 1 << 4,
  Set: 1 << 5,
  Hash: 1 << 6,
  Zset: 1 << 7,
  Expired: 1 << 8,
  Evicted: 1 << 9,
  Stream: 1 << 10,
  KeyMiss: 1 << 11,
  Module: 1 << 12,
  New: 1 << 13,
} as const
export type NotifyClass = (typeof NotifyClass)[keyof typeof NotifyClass]

/** 'A': every class except key-miss and new, as Redis's NOTIFY_ALL. */
const notifyAll =
  NotifyClass.Generic |
  NotifyClass.String |
  NotifyClass.List |
  NotifyClass.Set |
  NotifyClass.Hash |
  NotifyClass.Zset |
  NotifyClass.Expired |
  NotifyClass.Evicted |
  NotifyClass.Stream |
  NotifyClass.Module

/** Letter -> class, in the order Redis prints them (keyspaceEventsFlagsToString). */
const classLetters: ReadonlyArray<[string, number]> = [
  ['g', NotifyClass.Generic],
  ['$', NotifyClass.String],
  ['l', NotifyClass.List],
  ['s', NotifyClass.Set],
  ['h', NotifyClass.Hash],
  ['z', NotifyClass.Zset],
  ['x', NotifyClass.Expired],
  ['e', NotifyClass.Evicted],
  ['t', NotifyClass.Stream],
  ['d', NotifyClass.Module],
  ['n', NotifyClass.New],
]

/** Redis's reason text when a letter is unknown (inside CONFIG SET's error). */
export const invalidNotifyFlagsMessage = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

/** Redis's keyspaceEventsStringToFlags; null when a character is not a class letter. */
export function parseNotifyFlags(text: string): number | null {
  let flags = 0
  for (const letter of text) {
    if (letter === 'A') flags |= notifyAll
    else if (letter === 'K') flags |= NotifyClass.Keyspace
    else if (letter === 'E') flags |= NotifyClass.Keyevent
    else if (letter === 'm') flags |= NotifyClass.KeyMiss
    else {
      const found = classLetters.find(([candidate]) => candidate === letter)
      if (found === undefined) return null
      flags |= found[1]
    }
  }
  return flags
}

/** Redis's keyspaceEventsFlagsToString: 'A' hides 'n' (as Redis 7.0 prints it), then K E m. */
export function formatNotifyFlags(flags: number): string {
  let text = ''
  if ((flags & notifyAll) === notifyAll) text = 'A'
  else for (const [letter, bit] of classLetters) if ((flags & bit) !== 0) text += letter
  if ((flags & NotifyClass.Keyspace) !== 0) text += 'K'
  if ((flags & NotifyClass.Keyevent) !== 0) text += 'E'
  if ((flags & NotifyClass.KeyMiss) !== 0) text += 'm'
  return text
}

/** What a notification is sent through: the server's pub/sub hub (pubsub-hub.ts). */
export interface KeyspaceNotifier {
  /** The enabled classes; 0 when notifications are off. */
  readonly notifyFlags: number
  /** Publishes `__keyspace@0__:<key>` and/or `__keyevent@0__:<event>` as the flags allow. */
  notifyKeyspaceEvent(type: NotifyClass, event: string, key: Buffer): void
}

/**
 * Redis's notifyKeyspaceEvent, the API for every command family: call it after the change, with
 * the class of the command's type (String for strings, Hash for hashes, Set for sets, Generic for
 * DEL/EXPIRE/RENAME...) and Redis's event name. A no-op without a notifier or with the class off.
 */
export function notifyKeyspaceEvent(
  ctx: CommandContext,
  type: NotifyClass,
  event: string,
  key: Buffer,
): void {
  const notifier = ctx.pubsub
  if (notifier === undefined || (notifier.notifyFlags & type) === 0) return
  notifier.notifyKeyspaceEvent(type, event, key)
}

/**
 * True when 'new' events are on and `key` does not exist yet: call it BEFORE a write that may
 * create the key, then notifyNewKey after it (Redis sends 'new' from dbAdd, before the command's
 * own event). The lookup happens only when 'n' is enabled, so the common path stays free.
 */
export function keyWillBeNew(ctx: CommandContext, key: Buffer): boolean {
  const notifier = ctx.pubsub
  if (notifier === undefined || (notifier.notifyFlags & NotifyClass.New) === 0) return false
  return !ctx.keyspace.has(key)
}

/** Sends 'new' (if enabled) for a key the caller just created (keyWillBeNew said so). */
export function notifyNewKey(ctx: CommandContext, key: Buffer, created: boolean): void {
  if (created) notifyKeyspaceEvent(ctx, NotifyClass.New, 'new', key)
}
