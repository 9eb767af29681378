import type { Logger } from "pino";
import type { SamplingModule } from "../../../types/ethers-contracts/index.js";
import { isTransient, withRetry } from "../chain/retry.js";
import { SamplingExecutor, samplingCommitment } from "../executors/sampling.js";
import {
  MODE_SAMPLING,
  Phase,
  RequestStatus,
  chainTime,
  requestInput,
  samplingModule,
  sendAndWait,
} from "../sampling/chain.js";
import type { Role, RoleContext } from "./role.js";
import { executorKey } from "./worker.js";

interface SamplerRow {
  request_id: string;
  state: string;
}

/**
 * The `sampler` role (spML operator B): watches SamplerDrawn events naming this operator, re-executes the
 * request independently, commits before anything of A's output is public, reveals, and pushes the
 * request to its verdict (timeouts, arbitration result, market finalize) so the verification fee is paid.
 * Restart-safe: every step re-reads the module's state; the salt is derived from the operator key and
 * the request, so a commitment made before a crash can still be opened.
 */
export class Sampler implements Role {
  readonly name = "sampler";
  private readonly log: Logger;
  private module: SamplingModule | undefined;

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.log.child({ ns: "sampler" });
    ctx.store.database.exec(`
      CREATE TABLE IF NOT EXISTS sampler_jobs (
        request_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        note TEXT,
        updated_at INTEGER NOT NULL
      );
    `);
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    this.module ??= await samplingModule(this.ctx);
    const module = this.module;
    const events = await withRetry(
      "getLogs SamplerDrawn",
      () => module.queryFilter(module.filters.SamplerDrawn(undefined, this.ctx.address), fromBlock, toBlock),
      this.ctx.retry,
      this.log,
    );
    const insert = this.ctx.store.database.prepare(
      "INSERT OR IGNORE INTO sampler_jobs (request_id, state, updated_at) VALUES (?, 'drawn', ?)",
    );
    for (const event of events) {
      const added = Number(insert.run(event.args.requestId.toString(), Date.now()).changes) === 1;
      if (added) {
        this.ctx.metrics.inc("sampler_draws");
        this.log.info({ requestId: event.args.requestId }, "drawn as sampler");
      }
    }
  }

  async work(): Promise<void> {
    const rows = this.ctx.store.database
      .prepare("SELECT request_id, state FROM sampler_jobs WHERE state = 'drawn' ORDER BY CAST(request_id AS INTEGER)")
      .all() as unknown as SamplerRow[];
    for (const row of rows) {
      const requestId = BigInt(row.request_id);
      try {
        const done = await this.advance(requestId);
        if (done) this.setState(requestId, "done");
      } catch (error) {
        if (isTransient(error)) {
          this.log.warn({ requestId, err: error }, "transient failure; will retry");
          continue;
        }
        this.ctx.metrics.inc("sampling_failed");
        this.log.error({ requestId, err: error }, "sampler step failed; will retry");
      }
    }
  }

  /** One step; returns true once nothing is left for this sampler to do. */
  private async advance(requestId: bigint): Promise<boolean> {
    const module = this.module!;
    const me = this.ctx.address.toLowerCase();
    const job = await module.getJob(requestId);
    const mine = job.sampler.toLowerCase() === me;
    const now = await chainTime(this.ctx);

    if (job.phase === Phase.SamplerDrawn) {
      if (!mine) return true; // replaced after a no-show
      if (now >= job.deadline) return false; // too late: whoever advances slashes us; nothing to send
      const input = await requestInput(this.ctx, requestId);
      const executor = this.ctx.executors.get(executorKey(input.modelId, MODE_SAMPLING));
      if (!(executor instanceof SamplingExecutor)) {
        this.setState(requestId, "skipped", `model ${input.modelId} not served in sampling mode`);
        return false;
      }
      const output = await executor.infer(input);
      const salt = executor.salt("sampler", requestId);
      const commitment = samplingCommitment(requestId, this.ctx.address, { output, salt });
      await sendAndWait(this.ctx, "commitSampler", () =>
        module.commitSampler.populateTransaction(requestId, commitment),
      );
      this.ctx.metrics.inc("sampler_commits");
      return false;
    }
    if (!mine) return true;
    if (job.phase === Phase.Revealing && !job.samplerRevealed && now < job.deadline) {
      const input = await requestInput(this.ctx, requestId);
      const executor = this.ctx.executors.get(executorKey(input.modelId, MODE_SAMPLING));
      if (!(executor instanceof SamplingExecutor)) return false;
      const output = await executor.infer(input);
      await sendAndWait(this.ctx, "reveal", () =>
        module.reveal.populateTransaction(requestId, output, executor.salt("sampler", requestId)),
      );
      this.ctx.metrics.inc("sampler_reveals");
      return false;
    }
    if (job.phase !== Phase.Final) {
      if (await module.canAdvance(requestId))
        await sendAndWait(this.ctx, "advance", () => module.advance.populateTransaction(requestId));
      return false;
    }
    // Final: make sure the market settles (A may be gone), so the fee is credited.
    const request = await this.ctx.market.getRequest(requestId);
    if (request.status === RequestStatus.Submitted) {
      await sendAndWait(this.ctx, "finalize", () => this.ctx.market.finalize.populateTransaction(requestId));
    }
    return true;
  }

  private setState(requestId: bigint, state: string, note?: string): void {
    this.ctx.store.database
      .prepare("UPDATE sampler_jobs SET state = ?, note = ?, updated_at = ? WHERE request_id = ?")
      .run(state, note ?? null, Date.now(), requestId.toString());
  }
}
