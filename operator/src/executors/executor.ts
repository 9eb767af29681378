import type { Job } from "../store.js";

/** What an executor produces for the market's submitResult. */
export interface ExecutionResult {
  /** Output bytes as the consumer receives them (0x hex). */
  output: string;
  /** Mode-specific evidence (0x hex): a Groth16 proof for zk. */
  proof: string;
}

/**
 * Runs one model for one verification mode. `check` runs before the operator claims, so a request it
 * cannot serve (bad input) is never claimed; `execute` runs after the claim.
 */
export interface Executor {
  /** The model commitment the executor's artifacts carry, checked against the registry at start. */
  readonly modelHash?: string;
  /** Throws BadInputError when the request's input cannot be served. */
  check(job: Job): Promise<void>;
  /** Throws ExecutionError (or BadInputError) when no result can be produced. */
  execute(job: Job): Promise<ExecutionResult>;
}
