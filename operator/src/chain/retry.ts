import type { Logger } from "pino";
import { classify } from "./errors.js";

export { isTransient } from "./errors.js";

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying transient failures (see chain/errors.ts) with exponential backoff; others are thrown. */
export async function withRetry<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy, log: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const failure = classify(error);
      if (attempt >= policy.attempts || failure.kind !== "transient") throw error;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      log.warn({ what, attempt, delay, reason: failure.summary }, "transient RPC failure, retrying");
      await sleep(delay);
    }
  }
}
