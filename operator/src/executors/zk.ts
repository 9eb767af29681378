import { AbiCoder, hexlify } from "ethers";
import type { Logger } from "pino";
import { loadModelDir, proveInput, type ModelDir } from "../../../verifier-gen/src/pipeline.js";
import { BadInputError, ExecutionError } from "../errors.js";
import type { Job } from "../store.js";
import type { ExecutionResult, Executor } from "./executor.js";
import { resolveInput } from "./input.js";

const abi = AbiCoder.defaultAbiCoder();
const ZK_PROOF = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";

/**
 * zk mode: runs the integer graph of a verifier-gen build and proves it with Groth16 in-process.
 * The submitted output is `abi.encode(uint256 label)`, the proof `abi.encode(ZkProof)` (IZkModule).
 */
export class ZkExecutor implements Executor {
  private readonly model: ModelDir;
  private readonly inputCount: number;

  constructor(
    artifactsDir: string,
    private readonly log: Logger,
  ) {
    this.model = loadModelDir(artifactsDir);
    if (this.model.manifest.output.kind !== "argmax") {
      throw new ExecutionError(`${artifactsDir}: the zk executor serves classifiers (argmax output)`);
    }
    this.inputCount = this.model.manifest.input.shape.reduce((a, b) => a * b, 1);
  }

  /** The model commitment of the artifacts, to compare with the registry before serving. */
  get modelHash(): string {
    return this.model.manifest.modelHash;
  }

  async check(job: Job): Promise<void> {
    this.values(await resolveInput(job));
  }

  async execute(job: Job): Promise<ExecutionResult> {
    const input = await resolveInput(job);
    const values = this.values(input);
    const proved = await proveInput(this.model, values);
    const label = proved.decoded.label;
    if (label === undefined) throw new ExecutionError(`request ${job.requestId}: the proof carries no label`);
    const { a, b, c } = proved.calldata;
    this.log.info(
      { requestId: job.requestId, label, witnessMs: proved.timing.witnessMs, proveMs: proved.timing.proveMs },
      "proved",
    );
    return {
      output: abi.encode(["uint256"], [label]),
      proof: abi.encode([ZK_PROOF], [{ input: hexlify(input), a, b, c }]),
    };
  }

  /** One byte per input value, each inside the circuit's input range. */
  private values(input: Uint8Array): number[] {
    const { lo, hi } = this.model.manifest.input;
    if (input.length !== this.inputCount) {
      throw new BadInputError(`input has ${input.length} values, the model needs ${this.inputCount}`);
    }
    const bad = input.findIndex((v) => v < lo || v > hi);
    if (bad >= 0) throw new BadInputError(`input value ${input[bad]} at index ${bad} is outside [${lo}, ${hi}]`);
    return Array.from(input);
  }
}
