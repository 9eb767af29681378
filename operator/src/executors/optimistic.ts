import type { Logger } from "pino";
import { loadOptimisticModel, requireDisputable, type OptimisticModel } from "../optimistic/model.js";
import { commitTrace, encodeSubmissionProof, outputOf } from "../optimistic/trace.js";
import type { Job } from "../store.js";
import { TermsRefusedError, decodeOptimisticConfig, type Terms } from "../terms.js";
import type { ExecutionResult, Executor, TermsContext } from "./executor.js";
import { inputTensor, resolveInput } from "./input.js";

/**
 * optimistic mode: runs the integer graph with the reference interpreter and submits its last tensor
 * (`abi.encode(int256[])`) with a commitment to the whole trace (`abi.encode(OptimisticProof)`,
 * IOptimisticModule). The same model serves the challenger role, which re-executes other operators'
 * results and plays disputes. A model with an element the chain cannot recompute is refused at start.
 */
export class OptimisticExecutor implements Executor {
  readonly model: OptimisticModel;

  constructor(
    artifactsDir: string,
    private readonly log: Logger,
  ) {
    this.model = loadOptimisticModel(artifactsDir);
    requireDisputable(this.model);
  }

  get modelHash(): string {
    return this.model.modelHash;
  }

  async check(job: Job): Promise<void> {
    this.values(await resolveInput(job));
  }

  /** A dispute clock too short to answer every move in time would lose an honest result on time. */
  async checkTerms(terms: Terms, { policy }: TermsContext): Promise<void> {
    const config = decodeOptimisticConfig(terms.modeConfig);
    if (config.clock < policy.minClockSeconds) {
      throw new TermsRefusedError(
        `dispute clock ${config.clock} s is below this operator's ${policy.minClockSeconds} s`,
      );
    }
  }

  async execute(job: Job): Promise<ExecutionResult> {
    const c = commitTrace(this.model.graph, this.values(await resolveInput(job)));
    const output = outputOf(c);
    this.log.info({ requestId: job.requestId, output: c.trace.output, traceRoot: c.traceRoot }, "executed");
    return { output, proof: encodeSubmissionProof(c) };
  }

  /** Tensor 0 for the request's input bytes. */
  values(input: Uint8Array): number[] {
    return inputTensor(this.model.graph, input);
  }
}
