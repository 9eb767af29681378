import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Creates the root logger. Only entry points (CLI, scripts) call this; library code receives a logger
 * and derives namespaced children with `logger.child({ ns: "..." })`.
 */
export function createRootLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { app: "veriml-operator" } }, destination ?? process.stdout);
}
