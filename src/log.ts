import { pino } from 'pino';

/** The logging surface the core uses: structured fields first, then a message (pino's order). */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON lines on stdout, one object per event, as log collectors expect from a container. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'tilestamp' }, timestamp: pino.stdTimeFunctions.isoTime });
}
