import type { Provider } from "ethers";
import type { Job } from "../store.js";
import type { Terms, TermsPolicy } from "../terms.js";

/** What an executor produces for the market's submitResult. */
export interface ExecutionResult {
  /** Output bytes as the consumer receives them (0x hex). */
  output: string;
  /** Mode-specific evidence (0x hex): a Groth16 proof for zk. */
  proof: string;
}

/** What a batch build's batches are made of (operator config `batchWindowMs`, `maxBatch`). */
export interface BatchPolicy {
  /** How long the oldest waiting request waits for more before a batch is proved anyway. */
  windowMs: number;
  /** Requests per proof, at most the build's batch size (the rest of the slots are padding). */
  max: number;
}

/** One proof of several requests (fulfillBatch): the proof, and each request's output in the jobs' order. */
export interface BatchResult {
  proof: string;
  outputs: string[];
}

/**
 * Runs one model for one verification mode. `check` runs before the operator claims, so a request it
 * cannot serve (bad input) is never claimed; `execute` runs after the claim.
 */
export interface Executor {
  /** The model commitment the executor's artifacts carry, checked against the registry at start. */
  readonly modelHash?: string;
  /**
   * Set when the mode's verdict is final on submission (zk): the worker settles in one transaction with
   * `fulfill` instead of submit + finalize. "open": fulfill the open request directly (nothing locked; a copy
   * of the pending transaction mined first is paid instead); "claim": claim first (exclusive, the stake locked
   * until the fulfill), then fulfill.
   */
  readonly instant?: "open" | "claim";
  /** Throws BadInputError when the request's input cannot be served. */
  check(job: Job): Promise<void>;
  /** Throws ExecutionError (or BadInputError) when no result can be produced. */
  execute(job: Job): Promise<ExecutionResult>;
  /** Requests one proof covers: above 1, the requests are served in batches through `executeBatch`. */
  readonly batchSize?: number;
  /** For a batch build: how its requests are gathered into batches. */
  readonly batchPolicy?: BatchPolicy;
  /** Proves 1..batchSize requests (ascending ids) in one proof, for fulfillBatch. */
  executeBatch?(jobs: readonly Job[]): Promise<BatchResult>;
  /**
   * Runs before the claim, on the terms the market snapshotted for the request; throws TermsRefusedError
   * when serving under them could cost an honest operator its stake (a clock it cannot meet, a verifier
   * that would refuse its proofs).
   */
  checkTerms?(terms: Terms, context: TermsContext): Promise<void>;
  /**
   * Runs once at start, with the model's registered config of this mode: throws when the artifacts cannot
   * produce what the chain accepts (a zk build whose proofs the registered verifier refuses), so the model
   * is not served rather than claimed and missed.
   */
  selfTest?(modeConfig: string, provider: Provider): Promise<void>;
}

export interface TermsContext {
  provider: Provider;
  policy: TermsPolicy;
}
