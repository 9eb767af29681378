import type { Logger } from "pino";
import type { OperatorConfig } from "../config.js";
import { ConfigError } from "../errors.js";
import { createGenerator } from "../quality/generators.js";
import type { Executor } from "./executor.js";
import { OptimisticExecutor } from "./optimistic.js";
import { QualityExecutor } from "./quality.js";
import { SamplingExecutor } from "./sampling.js";
import { ZkExecutor } from "./zk.js";

const ZK = 0;
const OPTIMISTIC = 1;
const SAMPLING = 2;
const QUALITY = 3;

/** Secrets some executors need (spML derives its commitment salts from the operator key). */
export interface ExecutorSecrets {
  privateKey: string;
}

/** Builds the executor for a served model in one mode. */
export async function createExecutor(
  model: OperatorConfig["models"][number],
  mode: number,
  log: Logger,
  secrets?: ExecutorSecrets,
): Promise<Executor> {
  const child = (ns: string): Logger => log.child({ ns, modelId: model.modelId.toString() });
  const artifacts = (): string => {
    if (model.artifacts === undefined) throw new ConfigError(`model ${model.modelId}: mode ${mode} needs "artifacts"`);
    return model.artifacts;
  };
  switch (mode) {
    case ZK:
      return new ZkExecutor(artifacts(), child("zk"), model.zkSettlement, model);
    case OPTIMISTIC:
      return new OptimisticExecutor(artifacts(), child("optimistic"));
    case SAMPLING:
      if (secrets === undefined) throw new ConfigError(`model ${model.modelId}: sampling mode needs the operator key`);
      return SamplingExecutor.create(artifacts(), secrets.privateKey, child("sampling"));
    case QUALITY: {
      const quality = model.quality;
      const generator =
        quality?.generator === undefined ? undefined : await createGenerator(quality.generator, child("quality"));
      return new QualityExecutor(
        generator,
        { maxInlineBytes: quality?.maxInlineBytes ?? 256, responseDir: quality?.responseDir },
        child("quality"),
      );
    }
    default:
      throw new ConfigError(`model ${model.modelId}: mode ${mode} is not served by this operator build`);
  }
}
