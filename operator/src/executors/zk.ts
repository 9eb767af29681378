import { AbiCoder, Contract, hexlify, keccak256, type BigNumberish, type BytesLike, type Provider } from "ethers";
import type { Logger } from "pino";
import {
  batchOf,
  loadModelDir,
  loadVerifierArtifact,
  proveBatch,
  proveBatchRequests,
  proveQuantized,
  proveRequest,
  type ModelDir,
} from "../../../verifier-gen/src/pipeline.js";
import { encodeInputBytes } from "../../../verifier-gen/src/encoding.js";
import { ConfigError, ExecutionError } from "../errors.js";
import { encodeOutput } from "../optimistic/trace.js";
import type { Job } from "../store.js";
import { TermsRefusedError, decodeZkConfig, type Terms } from "../terms.js";
import type { BatchPolicy, BatchResult, ExecutionResult, Executor } from "./executor.js";
import { inputTensor, resolveInput } from "./input.js";

const abi = AbiCoder.defaultAbiCoder();
/** ABI of IZkModule.ZkProof: one request's proof. */
export const ZK_PROOF_TYPE = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";
/** ABI of IZkModule.ZkBatchProof: a batch circuit's proof over its k slots. */
export const ZK_BATCH_PROOF_TYPE =
  "tuple(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes[] inputs, int256[][] outputs)";

/** A Groth16 proof as the verifiers take it (b in EIP-197 order). */
export interface Groth16Calldata {
  a: readonly BigNumberish[];
  b: readonly (readonly BigNumberish[])[];
  c: readonly BigNumberish[];
}

/** `proof` of fulfill / submitResult for one request: abi.encode(ZkProof). */
export function encodeZkProof(input: BytesLike, p: Groth16Calldata): string {
  return abi.encode([ZK_PROOF_TYPE], [{ input: hexlify(input), a: p.a, b: p.b, c: p.c }]);
}

/**
 * `proof` of fulfillBatch: abi.encode(ZkBatchProof) with one input and output per slot (all k of them: the
 * requests first, in the order of the request ids, then padding, e.g. copies of a real slot).
 */
export function encodeZkBatchProof(
  p: Groth16Calldata,
  slots: readonly { input: BytesLike; output: readonly BigNumberish[] }[],
): string {
  return abi.encode(
    [ZK_BATCH_PROOF_TYPE],
    [{ a: p.a, b: p.b, c: p.c, inputs: slots.map((s) => hexlify(s.input)), outputs: slots.map((s) => s.output) }],
  );
}
const VERIFY_INFERENCE =
  "function verifyInference(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes input, int256[] output) view returns (bool)";
const VERIFY_INFERENCES =
  "function verifyInferences(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes[] inputs, int256[][] outputs) view returns (bool)";
const inputSize = (g: ModelDir["graph"]): number => g.input.shape.reduce((x, y) => x * y, 1);

/** How long a request may wait for others to share its proof, when the config does not say. */
export const DEFAULT_BATCH_WINDOW_MS = 2_000;

/**
 * The batching of a build as configured: none for a single-inference build (batch options there are a config
 * mistake), and for a batch build a window and a max of at most its batch size.
 */
export function batchPolicyFor(
  build: string,
  batchSize: number,
  configured: { batchWindowMs?: number | undefined; maxBatch?: number | undefined },
): BatchPolicy | undefined {
  if (batchSize === 1) {
    if (configured.batchWindowMs !== undefined || configured.maxBatch !== undefined) {
      throw new ConfigError(`${build}: batchWindowMs / maxBatch need a batch build (this one proves one request)`);
    }
    return undefined;
  }
  if (configured.maxBatch !== undefined && configured.maxBatch > batchSize) {
    throw new ConfigError(`${build}: maxBatch ${configured.maxBatch} exceeds the build's batch size ${batchSize}`);
  }
  return { windowMs: configured.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS, max: configured.maxBatch ?? batchSize };
}

/**
 * zk mode: runs the integer graph of a verifier-gen build and proves it with Groth16 in-process.
 * The submitted output is `abi.encode(int256[])` of the graph's last tensor, the proof
 * `abi.encode(ZkProof)` (IZkModule). A batch build (manifest `batch: k`, k > 1) proves k requests at once
 * (`executeBatch`, for fulfillBatch: `abi.encode(ZkBatchProof)`); its verifier takes no single proof.
 */
export class ZkExecutor implements Executor {
  private readonly model: ModelDir;
  /** keccak256 of this build's compiled verifier (verifier.json): the only verifier it serves under. */
  readonly verifierCodeHash: string;
  /** Requests one proof covers (the build's batch; its verifier's BATCH_SIZE). */
  readonly batchSize: number;
  /** A batch build's batching (undefined for a single-inference build). */
  readonly batchPolicy: BatchPolicy | undefined;
  /** zk results settle in the transaction that proves them (see Executor.instant). */
  readonly instant: "open" | "claim";

  constructor(
    artifactsDir: string,
    private readonly log: Logger,
    settlement: "open" | "claim" = "open",
    batching: { batchWindowMs?: number | undefined; maxBatch?: number | undefined } = {},
  ) {
    this.instant = settlement;
    this.model = loadModelDir(artifactsDir);
    try {
      // Recomputed from the bytecode: the recorded hash is only the build's own word.
      this.verifierCodeHash = keccak256(loadVerifierArtifact(artifactsDir).deployedBytecode);
    } catch (cause) {
      throw new ConfigError(`${artifactsDir}: no compiled verifier to check requests against`, { cause });
    }
    this.batchSize = batchOf(this.model.manifest);
    this.batchPolicy = batchPolicyFor(artifactsDir, this.batchSize, batching);
    if (this.batchPolicy !== undefined && settlement === "claim") {
      throw new ConfigError(
        `${artifactsDir}: a batch build settles open requests with fulfillBatch; zkSettlement "claim" is not supported for it`,
      );
    }
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
   * The verifier the request names must be this build's own: a model owner can point the config at a
   * verifier with the right MODEL_HASH but another key or other logic (refusing proofs, or only in
   * transactions), and every honest proof would then fail and the operator be slashed as a no-show. The
   * build records its verifier's exact bytecode (verifier.json), so only that code hash is accepted.
   */
  async checkTerms(terms: Terms): Promise<void> {
    const { verifier, verifierCodeHash } = decodeZkConfig(terms.modeConfig);
    if (verifierCodeHash !== this.verifierCodeHash) {
      throw new TermsRefusedError(
        `verifier ${verifier} has code hash ${verifierCodeHash}, not this build's ${this.verifierCodeHash}`,
      );
    }
  }

  /**
   * Proves a probe input (every value at the one nearest 0) and asks the registered verifier, by eth_call,
   * whether it accepts the proof: ties the served circuit and proving key to the verifier on chain.
   */
  async selfTest(modeConfig: string, provider: Provider): Promise<void> {
    const { verifier } = decodeZkConfig(modeConfig);
    const { lo, hi } = this.model.graph.input;
    const probe = new Array<number>(inputSize(this.model.graph)).fill(Math.min(hi, Math.max(lo, 0)));
    const input = hexlify(encodeInputBytes(this.model.graph, probe));
    let accepted: boolean;
    if (this.batchSize === 1) {
      const proved = await proveQuantized(this.model, probe);
      const { a, b, c } = proved.calldata;
      const contract = new Contract(verifier, [VERIFY_INFERENCE], provider);
      accepted = (await contract
        .getFunction("verifyInference")(a, b, c, input, proved.decoded.output)
        .catch(() => false)) as boolean;
    } else {
      const proved = await proveBatch(
        this.model,
        Array.from({ length: this.batchSize }, () => probe),
      );
      const { a, b, c } = proved.calldata;
      const contract = new Contract(verifier, [VERIFY_INFERENCES], provider);
      accepted = (await contract
        .getFunction("verifyInferences")(
          a,
          b,
          c,
          proved.decoded.map(() => input),
          proved.decoded.map((d) => d.output),
        )
        .catch(() => false)) as boolean;
    }
    if (!accepted) {
      throw new TermsRefusedError(
        `the registered verifier ${verifier} refuses this build's proofs (another key or circuit)`,
      );
    }
    this.log.info({ verifier }, "self-test: the registered verifier accepts this build's proofs");
  }

  async execute(job: Job): Promise<ExecutionResult> {
    if (this.batchSize > 1) {
      throw new ExecutionError(
        `a batch-${this.batchSize} build proves requests in batches (fulfillBatch), not one by one`,
      );
    }
    const input = await resolveInput(job);
    this.values(input); // a wrong length is the request's fault (BadInputError), not the prover's
    // The request's own bytes: a sha256 build's proof is for exactly them (its input signal is their hash).
    const proved = await proveRequest(this.model, input);
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
      proof: encodeZkProof(input, { a, b, c }),
    };
  }

  /**
   * One proof of 1..batchSize requests (ascending request ids: slot s is jobs[s]); the slots past them are
   * padding, copies of slot 0 (every slot is a full inference the verifier checks, and a copy is one it
   * already accepts). Throws BadInputError when a request's input cannot be served (checked beforehand by
   * `check`, so only an input that changed under its URI).
   */
  async executeBatch(jobs: readonly Job[]): Promise<BatchResult> {
    if (jobs.length === 0 || jobs.length > this.batchSize) {
      throw new ExecutionError(`a batch of ${jobs.length} requests; this build proves 1 to ${this.batchSize}`);
    }
    const inputs = await Promise.all(jobs.map((job) => resolveInput(job)));
    const slots = Array.from({ length: this.batchSize }, (_, s) => inputs[s] ?? inputs[0]!);
    for (const bytes of slots) this.values(bytes); // a wrong length is the request's fault (BadInputError)
    // The requests' own bytes: a sha256 build's proof is for exactly those (its input signal is their hash).
    const proved = await proveBatchRequests(this.model, slots);
    this.log.info(
      {
        requestIds: jobs.map((j) => j.requestId),
        padding: this.batchSize - jobs.length,
        outputs: proved.decoded.slice(0, jobs.length).map((d) => d.output),
        witnessMs: proved.timing.witnessMs,
        proveMs: proved.timing.proveMs,
      },
      "proved a batch",
    );
    const { a, b, c } = proved.calldata;
    return {
      proof: encodeZkBatchProof(
        { a, b, c },
        slots.map((input, s) => ({ input, output: proved.decoded[s]!.output })),
      ),
      outputs: jobs.map((_, s) => encodeOutput(proved.decoded[s]!.output)),
    };
  }

  /** Tensor 0 for the request's input bytes. */
  private values(input: Uint8Array): number[] {
    return inputTensor(this.model.graph, input);
  }
}
