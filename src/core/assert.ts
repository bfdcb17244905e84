/* Invariant checks that stay on in production. An AssertionError is a programmer error: it is
 * never caught by command handlers; the top level logs it and exits, because continuing with a
 * broken invariant risks corrupting acknowledged data. */

export class AssertionError extends Error {
  override name = 'AssertionError'
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}
