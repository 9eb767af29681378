import type { Logger } from "pino";
import type { SamplingModule } from "../../../types/ethers-contracts/index.js";
import { isTransient } from "../chain/retry.js";
import { SamplingExecutor } from "../executors/sampling.js";
import { MODE_SAMPLING, Phase, chainTime, samplingModule, sendAndWait } from "../sampling/chain.js";
import type { Job } from "../store.js";
import type { Role, RoleContext } from "./role.js";
import { executorKey } from "./worker.js";

/**
 * The assigned operator's side of spML, next to the generic Worker (which claims, submits the commitment
 * and finalizes once the module is final): takes the sampling decision when the randomness is ready,
 * reveals once the request is unsampled or the sampler has committed, and pushes timeouts. Every step
 * re-reads the module's state, and the opening is recomputed from the model and the operator's key, so a
 * restart needs no state of its own.
 */
export class SamplingOperatorDuty implements Role {
  readonly name = "worker:sampling";
  private readonly log: Logger;
  private module: SamplingModule | undefined;

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.log.child({ ns: "sampling-operator" });
  }

  async scan(): Promise<void> {
    // The worker records the requests; this duty works from its jobs.
  }

  async work(): Promise<void> {
    const jobs = this.ctx.store.pendingJobs().filter((j) => j.mode === MODE_SAMPLING && j.state === "submitted");
    for (const job of jobs) {
      try {
        await this.advance(job);
      } catch (error) {
        if (!isTransient(error)) this.ctx.metrics.inc("sampling_failed");
        this.log.warn({ requestId: job.requestId, err: error }, "sampling step failed; will retry");
      }
    }
  }

  private async advance(job: Job): Promise<void> {
    this.module ??= await samplingModule(this.ctx);
    const module = this.module;
    const state = await module.getJob(job.requestId);
    if (state.operator.toLowerCase() !== this.ctx.address.toLowerCase() || state.phase === Phase.Final) return;
    const phase = state.phase;
    const now = await chainTime(this.ctx);
    const canReveal =
      (phase === Phase.Unsampled || phase === Phase.Revealing) && !state.operatorRevealed && now < state.deadline;
    if (canReveal) {
      const executor = this.ctx.executors.get(executorKey(job.modelId, job.mode));
      if (!(executor instanceof SamplingExecutor)) return;
      const { output, salt } = await executor.opening(job);
      await sendAndWait(this.ctx, "reveal", () => module.reveal.populateTransaction(job.requestId, output, salt));
      this.ctx.metrics.inc("sampling_reveals");
      return;
    }
    if (await module.canAdvance(job.requestId)) {
      await sendAndWait(this.ctx, "advance", () => module.advance.populateTransaction(job.requestId));
    }
  }
}
