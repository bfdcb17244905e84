/* The process logger: pino writing JSON lines to stdout (or a given fd/stream), with Redis's log
 * level names (debug, verbose, notice, warning) mapped onto pino's. One logger per process; the
 * server and CLI take it as a dependency so tests and the embedded API can pass a silent one. */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino'

export type Logger = PinoLogger
export const redisLogLevels = ['debug', 'verbose', 'notice', 'warning'] as const
export type RedisLogLevel = (typeof redisLogLevels)[number]

const pinoLevelOf: Record<RedisLogLevel, string> = {
  debug: 'trace',
  verbose: 'debug',
  notice: 'info',
  warning: 'warn',
}

export function isRedisLogLevel(value: string): value is RedisLogLevel {
  return (redisLogLevels as readonly string[]).includes(value)
}

export interface LoggerOptions {
  level: RedisLogLevel
  /** Defaults to a synchronous writer on stdout, so no line is lost when the process exits. */
  destination?: DestinationStream
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true })
  return pino(
    {
      level: pinoLevelOf[options.level],
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  )
}

/** A logger that drops everything (tests, the embedded API by default). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' })
}

/** Applies a Redis log level to a live logger (CONFIG SET loglevel). */
export function setLogLevel(logger: Logger, level: RedisLogLevel): void {
  logger.level = pinoLevelOf[level]
}
