import { AbiCoder, hexlify, keccak256 } from "ethers";
import { IInferenceVerifier__factory } from "../../../types/ethers-contracts/index.js";
import { encodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import type { Logger } from "pino";
import { loadModelDir, proveQuantized, type ModelDir } from "../../../verifier-gen/src/pipeline.js";
import { ConfigError } from "../errors.js";
import { encodeOutput } from "../optimistic/trace.js";
import type { Job } from "../store.js";
import { TermsRefusedError, decodeZkConfig, type Terms } from "../terms.js";
import type { ExecutionResult, Executor, TermsContext } from "./executor.js";
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
  /** Verifier code hashes this build's proofs were shown to verify under (or not). */
  private readonly verifiers = new Map<string, boolean>();

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

  /**
   * The verifier the request names must accept this build's proofs: a model owner can point the config at
   * a verifier with the right MODEL_HASH but another key, and every honest proof would then be refused.
   * Checked once per verifier code hash with a proof of a reference input, by a call (no transaction).
   */
  async checkTerms(terms: Terms, { provider }: TermsContext): Promise<void> {
    const { verifier, verifierCodeHash } = decodeZkConfig(terms.modeConfig);
    const known = this.verifiers.get(verifierCodeHash);
    if (known === true) return;
    if (known === false) throw new TermsRefusedError(`verifier ${verifier} does not accept this build's proofs`);
    const code = await provider.getCode(verifier);
    if (keccak256(code) !== verifierCodeHash) {
      throw new TermsRefusedError(`verifier ${verifier} does not have the code hash the config pins`);
    }
    const graph = this.model.graph;
    const reference = new Array<number>(graph.input.shape.reduce((a, b) => a * b, 1)).fill(graph.input.lo);
    const proved = await proveQuantized(this.model, reference);
    const { a, b, c } = proved.calldata;
    type Pair = [string, string];
    const accepts = await IInferenceVerifier__factory.connect(verifier, provider)
      .verifyInference(
        a as Pair,
        b as [Pair, Pair],
        c as Pair,
        encodeInputBytes(graph, reference),
        proved.decoded.output,
      )
      .catch(() => false);
    this.verifiers.set(verifierCodeHash, accepts);
    this.log.info({ verifier, verifierCodeHash, accepts }, "verifier checked against this build");
    if (!accepts) throw new TermsRefusedError(`verifier ${verifier} does not accept this build's proofs`);
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
