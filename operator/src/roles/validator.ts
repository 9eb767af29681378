import type { Role } from "./role.js";

/**
 * A role made of duties that share one block cursor: each scan range goes to every duty (scans are
 * idempotent), then every duty works. A failing duty is logged by the runtime and never starves the next
 * one's turn in a later iteration. Used by `validator` (spML votes, PoQ scoring) and by `worker` (the
 * generic worker plus the spML reveal duty of the assigned operator).
 */
export class CompositeRole implements Role {
  constructor(
    readonly name: string,
    private readonly duties: readonly Role[],
  ) {}

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    for (const duty of this.duties) await duty.scan(fromBlock, toBlock);
  }

  async drain(): Promise<void> {
    for (const duty of this.duties) await duty.drain?.();
  }

  async work(): Promise<void> {
    let failure: unknown;
    for (const duty of this.duties) {
      try {
        await duty.work();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
