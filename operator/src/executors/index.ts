import type { Logger } from "pino";
import type { OperatorConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import type { Executor } from "./executor.js";

/** Builds the executor for a served model in one mode. */
export async function createExecutor(
  model: OperatorConfig["models"][number],
  mode: number,
  log: Logger,
): Promise<Executor> {
  void log;
  throw new ConfigError(`model ${model.modelId}: no executor for mode ${mode} yet`);
}
