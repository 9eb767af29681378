import type { NonceManager, Provider } from "ethers";
import type { Logger } from "pino";
import type { InferenceMarket, ModelRegistry, StakingVault } from "../../../types/ethers-contracts/index.js";
import type { RetryPolicy } from "../chain/retry.js";
import type { TxSender } from "../chain/tx-sender.js";
import type { OperatorConfig } from "../config.js";
import type { Executor } from "../executors/executor.js";
import type { Metrics } from "../metrics.js";
import type { OperatorStore } from "../store.js";

/** Everything a role needs, built once by the runtime. */
export interface RoleContext {
  config: OperatorConfig;
  provider: Provider;
  /** Signs and numbers every transaction of this operator (shared by all roles). */
  signer: NonceManager;
  address: string;
  market: InferenceMarket;
  vault: StakingVault;
  registry: ModelRegistry;
  store: OperatorStore;
  /** Executor per `${modelId}:${mode}` served. */
  executors: Map<string, Executor>;
  metrics: Metrics;
  retry: RetryPolicy;
  log: Logger;
  /** Sends every transaction of this operator (sign, record, broadcast; deadlines, replacement). */
  tx: TxSender;
}

/**
 * One duty of the operator (worker, challenger, sampler, validator). The runtime calls `scan` with
 * consecutive block ranges (from a cursor persisted per role, so a restart replays at most the last
 * range: `scan` must be idempotent) and then `work` to advance whatever the role has pending.
 * Role-specific state lives in the shared SQLite database (`store.database`), in the role's own tables.
 */
export interface Role {
  readonly name: string;
  scan(fromBlock: number, toBlock: number): Promise<void>;
  work(): Promise<void>;
  /** Stops taking new work and waits for what is in flight (on SIGTERM). */
  drain?(): Promise<void>;
}
