import { readFile } from "node:fs/promises";
import path from "node:path";
import { AbiCoder, computeAddress, keccak256 } from "ethers";
import type { Logger } from "pino";
import type { IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { IntOnnxRunner, emitIntOnnx } from "../../../verifier-gen/src/intonnx.js";
import { modelCommitment } from "../../../verifier-gen/src/merkle.js";
import { ModelTree, commitTrace, encodeOutput, type TraceCommitment } from "../optimistic/trace.js";
import { ExecutionError } from "../errors.js";
import { requireDisputableGraph } from "../optimistic/model.js";
import type { Job } from "../store.js";
import { decodeSamplingConfig } from "../sampling/config.js";
import { TermsRefusedError, type Terms } from "../terms.js";
import type { ExecutionResult, Executor, TermsContext } from "./executor.js";
import { inputTensor, resolveInput } from "./input.js";

const abi = AbiCoder.defaultAbiCoder();

/** What one party commits to and later reveals. */
export interface Opening {
  /** The output bytes: `abi.encode(int256[])` of the graph's last tensor. */
  output: string;
  salt: string;
}

/** The commitment of ISamplingModule / the SamplingModule: keccak256(abi.encode(requestId, party, keccak256(output), salt)). */
export function samplingCommitment(requestId: bigint, party: string, opening: Opening): string {
  return keccak256(
    abi.encode(
      ["uint256", "address", "bytes32", "bytes32"],
      [requestId, party, keccak256(opening.output), opening.salt],
    ),
  );
}

/**
 * spML mode: runs the canonical integer graph of a verifier-gen build with onnxruntime-node (the int64 ONNX
 * the build emitted, bit-exact with the reference interpreter) and answers `abi.encode(int256[])` of the last
 * tensor, the output encoding of every mode.
 *
 * As the assigned operator's executor it submits only a commitment (`output` empty, `proof =
 * abi.encode(bytes32 commitment)`); the salt is derived from the operator's key and the request, so the
 * opening can be recomputed after a restart without storing a secret: `opening()` re-runs the model.
 * Samplers and validators use `infer()` and `salt()` directly.
 */
export class SamplingExecutor implements Executor {
  private constructor(
    readonly graph: IntGraph,
    private readonly runner: IntOnnxRunner,
    readonly modelHash: string,
    private readonly privateKey: string,
    private readonly log: Logger,
  ) {}

  private modelTree: ModelTree | undefined;

  static async create(artifactsDir: string, privateKey: string, log: Logger): Promise<SamplingExecutor> {
    let graph: IntGraph;
    let manifest: { modelHash: string };
    try {
      graph = JSON.parse(await readFile(path.join(artifactsDir, "intgraph.json"), "utf8")) as IntGraph;
      manifest = JSON.parse(await readFile(path.join(artifactsDir, "manifest.json"), "utf8")) as { modelHash: string };
    } catch (cause) {
      throw new ExecutionError(`${artifactsDir}: not a verifier-gen build`, { cause });
    }
    const commitment = modelCommitment(graph);
    const committed = commitment.modelHash;
    if (committed !== manifest.modelHash) {
      throw new ExecutionError(
        `${artifactsDir}: intgraph.json commits to ${committed}, manifest to ${manifest.modelHash}`,
      );
    }
    // A mismatch can go to the deterministic arbitrator: every element must be disputable there, exactly.
    requireDisputableGraph(graph, commitment.depth, artifactsDir);
    // The integer ONNX is emitted here from the committed graph, never taken from the build: a model owner's
    // shipped model.int.onnx that differed from its graph would make honest samplers disagree with the chain.
    const runner = await IntOnnxRunner.create(graph, emitIntOnnx(graph));
    return new SamplingExecutor(graph, runner, committed, privateKey, log);
  }

  /** The address whose commitments this executor makes (the operator's). */
  get address(): string {
    return computeAddress(this.privateKey);
  }

  async check(job: Job): Promise<void> {
    this.values(await resolveInput(job));
  }

  /** A's reveal must land inside the reveal window, or A is slashed as if it cheated. */
  async checkTerms(terms: Terms, { policy }: TermsContext): Promise<void> {
    const config = decodeSamplingConfig(terms.modeConfig);
    if (config.revealWindow < policy.minWindowSeconds) {
      throw new TermsRefusedError(
        `reveal window ${config.revealWindow} s is below this operator's ${policy.minWindowSeconds} s`,
      );
    }
  }

  /** Assigned operator: commits to the output; nothing of it leaves the operator before the reveal. */
  async execute(job: Job): Promise<ExecutionResult> {
    const opening = await this.opening(job);
    const commitment = samplingCommitment(job.requestId, this.address, opening);
    this.log.info({ requestId: job.requestId, commitment }, "committed");
    return { output: "0x", proof: abi.encode(["bytes32"], [commitment]) };
  }

  /** The assigned operator's output and salt for a request (recomputed, deterministic). */
  async opening(job: Pick<Job, "requestId" | "input" | "inputHash" | "inputURI">): Promise<Opening> {
    return { output: await this.infer(job), salt: this.salt("operator", job.requestId) };
  }

  /** Runs the model on the request's input: `abi.encode(int256[])` of the last tensor. */
  async infer(job: Pick<Job, "requestId" | "input" | "inputHash" | "inputURI">): Promise<string> {
    const values = this.values(await resolveInput(job));
    const started = performance.now();
    const trace = await this.runner.run(values);
    const last = trace.tensors[trace.tensors.length - 1];
    if (last === undefined) throw new ExecutionError(`request ${job.requestId}: the model produced no output`);
    this.log.debug({ requestId: job.requestId, output: trace.output, ms: performance.now() - started }, "inferred");
    return encodeOutput(last);
  }

  /**
   * The execution trace of the request's input under the reference interpreter, committed as in optimistic
   * mode (what this party posts and reveals when its output is arbitrated by the OptimisticArbitrator).
   */
  trace(input: Uint8Array): TraceCommitment {
    return commitTrace(this.graph, this.values(input));
  }

  /** The model commitment tree (one-step proofs of the OptimisticArbitrator); built on first use. */
  get tree(): ModelTree {
    this.modelTree ??= new ModelTree(this.graph);
    return this.modelTree;
  }

  /** A secret, reproducible salt per duty and id: keccak256 of the operator key, the duty and the id. */
  salt(duty: string, id: bigint): string {
    return keccak256(
      abi.encode(["string", "bytes32", "string", "uint256"], ["veriml.sampling.salt", this.privateKey, duty, id]),
    );
  }

  async release(): Promise<void> {
    await this.runner.release();
  }

  /** Tensor 0 for the request's input bytes. */
  private values(input: Uint8Array): number[] {
    return inputTensor(this.graph, input);
  }
}
