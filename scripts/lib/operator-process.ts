import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

export interface OperatorProcessOptions {
  /** Directory for the config, the SQLite store and the log. */
  workDir: string;
  rpcUrl: string;
  /** Absent: the operator reads it from the Ignition deployment record (`extra.deployment`). */
  market?: string;
  /** Absent: the key comes from `env` (a keystore, for instance). */
  privateKey?: string;
  /** Absent `artifacts`: the operator fetches the build from the model's artifact URI. `quality`: quality mode's settings. */
  models: {
    modelId: bigint;
    artifacts?: string;
    modes: number[];
    batchWindowMs?: number;
    maxBatch?: number;
    quality?: Record<string, unknown>;
  }[];
  /** Further environment of the process. */
  env?: Record<string, string>;
  stakeWei: bigint;
  pollIntervalMs?: number;
  metricsPort?: number;
  /** Roles to run (default: worker). */
  roles?: ("worker" | "challenger" | "sampler" | "validator")[];
  /** Further config keys (timeouts, transaction policy, ...), merged last. */
  extra?: Record<string, unknown>;
}

/** Writes the operator config and starts `veriml operator run` as a separate OS process. */
export async function startOperatorProcess(
  options: OperatorProcessOptions,
): Promise<{ child: ChildProcess; logFile: string }> {
  await mkdir(options.workDir, { recursive: true });
  const configFile = path.join(options.workDir, "operator.json");
  const config = {
    rpcUrl: options.rpcUrl,
    ...(options.market === undefined ? {} : { market: options.market }),
    roles: options.roles ?? ["worker"],
    models: options.models.map((m) => ({
      modelId: m.modelId.toString(),
      ...(m.artifacts === undefined ? {} : { artifacts: m.artifacts }),
      modes: m.modes,
      ...(m.batchWindowMs === undefined ? {} : { batchWindowMs: m.batchWindowMs }),
      ...(m.maxBatch === undefined ? {} : { maxBatch: m.maxBatch }),
      ...(m.quality === undefined ? {} : { quality: m.quality }),
    })),
    storePath: path.join(options.workDir, "operator.sqlite"),
    stakeWei: options.stakeWei.toString(),
    pollIntervalMs: options.pollIntervalMs ?? 200,
    ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
    ...options.extra,
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const logFile = path.join(options.workDir, "operator.log");
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(process.execPath, ["operator/bin/veriml.js", "operator", "run", "--config", configFile], {
    env: {
      ...process.env,
      ...(options.privateKey === undefined ? {} : { VERIML_OPERATOR_KEY: options.privateKey }),
      NODE_NO_WARNINGS: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { child, logFile };
}

/** Sends `signal` and waits for the process to exit. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}
