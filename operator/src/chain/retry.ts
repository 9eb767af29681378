import type { Logger } from "pino";

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

const TRANSIENT_CODES = new Set([
  "NETWORK_ERROR",
  "SERVER_ERROR",
  "TIMEOUT",
  "UNKNOWN_ERROR",
  "ECONNREFUSED",
  "ECONNRESET",
]);

/** Whether an error from ethers or the socket is worth retrying (the chain call itself may succeed later). */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /ECONNREFUSED|ECONNRESET|socket hang up|timeout|fetch failed|429|503|502/i.test(message);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying transient failures with exponential backoff; other errors are thrown at once. */
export async function withRetry<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy, log: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      log.warn({ what, attempt, delay, err: error }, "transient RPC failure, retrying");
      await sleep(delay);
    }
  }
}
