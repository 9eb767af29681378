import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { OperatorStore } from "../store.js";
import { type RetryPolicy, withRetry } from "./retry.js";

export interface WatcherOptions {
  /** Name of the cursor in the store. */
  stream: string;
  startBlock: number;
  batchBlocks: number;
  confirmations: number;
  retry: RetryPolicy;
}

/**
 * Delivers blocks' worth of events in order, from the persisted cursor to the chain head, then keeps
 * up by polling. `scan(from, to)` must be idempotent: the cursor moves only after it returns, so a
 * crash replays at most the last range, never skips one.
 */
export class BlockRangeWatcher {
  constructor(
    private readonly provider: Provider,
    private readonly store: OperatorStore,
    private readonly options: WatcherOptions,
    private readonly log: Logger,
  ) {}

  /** Scans everything up to the current head; returns the last block scanned. */
  async catchUp(scan: (fromBlock: number, toBlock: number) => Promise<void>): Promise<number> {
    const { stream, startBlock, batchBlocks, confirmations, retry } = this.options;
    const head = await withRetry("blockNumber", () => this.provider.getBlockNumber(), retry, this.log);
    const target = head - confirmations;
    let from = (this.store.getCursor(stream) ?? startBlock - 1) + 1;
    while (from <= target) {
      const to = Math.min(from + batchBlocks - 1, target);
      await scan(from, to);
      this.store.setCursor(stream, to);
      this.log.debug({ stream, from, to }, "scanned");
      from = to + 1;
    }
    return Math.max(from - 1, target);
  }
}
