/* COMMAND INFO/DOCS metadata of the blocking list commands, copied from redis-server 7.0.15 (the
 * blocking differential test checks it against the real thing). Handlers: list-blocking.ts. */
import type { SpecMeta } from './spec-meta.js'

/** BLMOVE and BRPOPLPUSH share Redis's summary text. */
const MOVE_SUMMARY =
  'Pop an element from a list, push it to another list and return it; ' +
  'or block until one is available'

export const listBlockingSpecMeta: readonly SpecMeta[] = [
  {
    name: 'blpop',
    arity: -3,
    flags: ['write', 'noscript', 'blocking'],
    firstKey: 1,
    lastKey: -2,
    keyStep: 1,
    summary: 'Remove and get the first element in a list, or block until one is available',
    since: '2.0.0',
    complexity: 'O(N) where N is the number of provided keys.',
  },
  {
    name: 'brpop',
    arity: -3,
    flags: ['write', 'noscript', 'blocking'],
    firstKey: 1,
    lastKey: -2,
    keyStep: 1,
    summary: 'Remove and get the last element in a list, or block until one is available',
    since: '2.0.0',
    complexity: 'O(N) where N is the number of provided keys.',
  },
  {
    name: 'blmove',
    arity: 6,
    flags: ['write', 'denyoom', 'noscript', 'blocking'],
    firstKey: 1,
    lastKey: 2,
    keyStep: 1,
    summary: MOVE_SUMMARY,
    since: '6.2.0',
    complexity: 'O(1)',
  },
  {
    name: 'brpoplpush',
    arity: 4,
    flags: ['write', 'denyoom', 'noscript', 'blocking'],
    firstKey: 1,
    lastKey: 2,
    keyStep: 1,
    summary: MOVE_SUMMARY,
    since: '2.2.0',
    complexity: 'O(1)',
  },
  {
    name: 'blmpop',
    arity: -5,
    flags: ['write', 'blocking', 'movablekeys'],
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    summary: 'Pop elements from a list, or block until one is available',
    since: '7.0.0',
    complexity:
      'O(N+M) where N is the number of provided keys and M is the number of elements returned.',
  },
]
