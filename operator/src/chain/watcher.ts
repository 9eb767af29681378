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
  /** Blocks re-scanned when the chain under the cursor changed (a reorganisation). */
  rewindBlocks?: number;
}

/**
 * Delivers blocks' worth of events in order, from the persisted cursor to the chain head, then keeps
 * up by polling. `scan(from, to)` must be idempotent: the cursor moves only after it returns, so a
 * crash replays at most the last range, never skips one. The cursor keeps the hash of its block: when
 * the chain no longer has that block (a reorganisation), the watcher rewinds and scans again.
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
    const cursor = this.store.getCursorAt(stream);
    let from = (cursor?.block ?? startBlock - 1) + 1;
    if (cursor !== undefined && cursor.hash !== null) {
      const block = await withRetry("getBlock", () => this.provider.getBlock(cursor.block), retry, this.log);
      if (block === null || block.hash !== cursor.hash) {
        const rewind = this.options.rewindBlocks ?? Math.max(64, 4 * confirmations);
        from = Math.max(startBlock, cursor.block - rewind + 1);
        this.log.warn(
          { stream, block: cursor.block, had: cursor.hash, now: block?.hash, from },
          "reorganisation: rescanning",
        );
      }
    }
    while (from <= target) {
      const to = Math.min(from + batchBlocks - 1, target);
      await scan(from, to);
      const block = await withRetry("getBlock", () => this.provider.getBlock(to), retry, this.log);
      this.store.setCursor(stream, to, block?.hash ?? null);
      this.log.debug({ stream, from, to }, "scanned");
      from = to + 1;
    }
    return Math.max(from - 1, target);
  }
}
