/** Minimal pino-compatible logger interface: library code takes one, never creates one. */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}
export interface Logger {
  info: LogFn;
  warn: LogFn;
  debug: LogFn;
  error: LogFn;
}
const noop = (() => undefined) as LogFn;
/** A logger that drops everything (the default for library calls). */
export const silentLogger: Logger = { info: noop, warn: noop, debug: noop, error: noop };
