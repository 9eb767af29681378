import { AbiCoder } from "ethers";
import type { Logger } from "pino";
import { BadInputError, ConfigError } from "../errors.js";
import { loadOptimisticModel, type OptimisticModel } from "../optimistic/model.js";
import { commitTrace, encodeSubmissionProof } from "../optimistic/trace.js";
import type { Job } from "../store.js";
import type { ExecutionResult, Executor } from "./executor.js";
import { resolveInput } from "./input.js";

const abi = AbiCoder.defaultAbiCoder();

/**
 * optimistic mode: runs the integer graph with the reference interpreter and submits the label with
 * a commitment to the whole trace (`abi.encode(OptimisticProof)`, IOptimisticModule). The same model
 * serves the challenger role, which re-executes other operators' results and plays disputes.
 */
export class OptimisticExecutor implements Executor {
  readonly model: OptimisticModel;

  constructor(
    artifactsDir: string,
    private readonly log: Logger,
  ) {
    this.model = loadOptimisticModel(artifactsDir);
    if (this.model.graph.output.kind !== "argmax") {
      throw new ConfigError(`${artifactsDir}: the optimistic executor serves classifiers (argmax output)`);
    }
  }

  get modelHash(): string {
    return this.model.modelHash;
  }

  async check(job: Job): Promise<void> {
    this.values(await resolveInput(job));
  }

  async execute(job: Job): Promise<ExecutionResult> {
    const values = this.values(await resolveInput(job));
    const c = commitTrace(this.model.graph, values);
    const label = c.trace.output[0]!;
    this.log.info({ requestId: job.requestId, label, traceRoot: c.traceRoot }, "executed");
    return { output: abi.encode(["uint256"], [label]), proof: encodeSubmissionProof(c) };
  }

  /** One byte per input value, inside the graph's input range. */
  values(input: Uint8Array): number[] {
    const { lo, hi } = this.model.graph.input;
    if (input.length !== this.model.tensorSizes[0]) {
      throw new BadInputError(`input has ${input.length} values, the model needs ${this.model.tensorSizes[0]}`);
    }
    const bad = input.findIndex((v) => v < lo || v > hi);
    if (bad >= 0) throw new BadInputError(`input value ${input[bad]} at index ${bad} is outside [${lo}, ${hi}]`);
    return Array.from(input);
  }
}
