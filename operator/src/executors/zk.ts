import { AbiCoder, hexlify } from "ethers";
import type { Logger } from "pino";
import { loadModelDir, proveQuantized, type ModelDir } from "../../../verifier-gen/src/pipeline.js";
import { ConfigError } from "../errors.js";
import { encodeOutput } from "../optimistic/trace.js";
import type { Job } from "../store.js";
import type { ExecutionResult, Executor } from "./executor.js";
import { inputTensor, resolveInput } from "./input.js";

const abi = AbiCoder.defaultAbiCoder();
const ZK_PROOF = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";

/**
 * zk mode: runs the integer graph of a verifier-gen build and proves it with Groth16 in-process.
 * The submitted output is `abi.encode(int256[])` of the graph's last tensor, the proof
 * `abi.encode(ZkProof)` (IZkModule).
 */
export class ZkExecutor implements Executor {
  private readonly model: ModelDir;

  constructor(
    artifactsDir: string,
    private readonly log: Logger,
  ) {
    this.model = loadModelDir(artifactsDir);
    if (this.model.manifest.naive) {
      throw new ConfigError(
        `${artifactsDir}: a naive baseline build cannot serve requests (its verifier is not the model's)`,
      );
    }
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
    const proved = await proveQuantized(this.model, this.values(input));
    const { a, b, c } = proved.calldata;
    this.log.info(
      {
        requestId: job.requestId,
        output: proved.decoded.output,
        witnessMs: proved.timing.witnessMs,
        proveMs: proved.timing.proveMs,
      },
      "proved",
    );
    return {
      output: encodeOutput(proved.decoded.output),
      proof: abi.encode([ZK_PROOF], [{ input: hexlify(input), a, b, c }]),
    };
  }

  /** Tensor 0 for the request's input bytes. */
  private values(input: Uint8Array): number[] {
    return inputTensor(this.model.graph, input);
  }
}
