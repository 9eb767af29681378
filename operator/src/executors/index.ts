import type { Logger } from "pino";
import type { OperatorConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import type { Executor } from "./executor.js";
import { OptimisticExecutor } from "./optimistic.js";
import { ZkExecutor } from "./zk.js";

const ZK = 0;
const OPTIMISTIC = 1;

/** Builds the executor for a served model in one mode. */
export async function createExecutor(
  model: OperatorConfig["models"][number],
  mode: number,
  log: Logger,
): Promise<Executor> {
  if (mode === ZK) {
    if (model.artifacts === undefined) throw new ConfigError(`model ${model.modelId}: zk mode needs "artifacts"`);
    return new ZkExecutor(model.artifacts, log.child({ ns: "zk", modelId: model.modelId.toString() }));
  }
  if (mode === OPTIMISTIC) {
    if (model.artifacts === undefined)
      throw new ConfigError(`model ${model.modelId}: optimistic mode needs "artifacts"`);
    return new OptimisticExecutor(model.artifacts, log.child({ ns: "optimistic", modelId: model.modelId.toString() }));
  }
  throw new ConfigError(`model ${model.modelId}: mode ${mode} is not served by this operator build yet`);
}
