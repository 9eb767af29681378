#!/usr/bin/env node
/**
 * veriml: the operator bot and the requester client in one CLI.
 *
 *   veriml operator run --config operator.json        run the bot (key from VERIML_PRIVATE_KEY)
 *   veriml models --rpc URL --market ADDR             list registered models
 *   veriml request --model 1 --mode zk --input x.json pay for an inference and wait for the verified result
 *   veriml show 12                                    one request: status, output, transactions
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider, Wallet, formatEther } from "ethers";
import { z } from "zod";
import { VerimlClient } from "./client.js";
import { loadConfig } from "./config.js";
import { OperatorError } from "./errors.js";
import { createExecutor } from "./executors/index.js";
import { createRootLogger } from "./log.js";
import { OperatorRuntime } from "./runtime.js";
import { registerSamplingCommands } from "./sampling/cli.js";

const MODES: Record<string, number> = { zk: 0, optimistic: 1, sampling: 2, quality: 3 };

const program = new Command("veriml").description("verifiable AI inference on EVM chains").showHelpAfterError();

const parseMode = (value: string): number => {
  const mode = MODES[value] ?? Number(value);
  if (!Number.isInteger(mode) || mode < 0 || mode > 7) throw new InvalidArgumentError(`unknown mode ${value}`);
  return mode;
};

program
  .command("operator")
  .description("operator bot")
  .command("run")
  .description("watch the market and serve requests until SIGINT/SIGTERM")
  .option("-c, --config <file>", "JSON config file (see operator/README.md)")
  .option("--rpc-url <url>", "JSON-RPC endpoint (http(s) or ws(s))")
  .option("--market <address>", "InferenceMarket address")
  .option("--store-path <file>", "SQLite state file")
  .option("--metrics-port <port>", "serve Prometheus metrics on 127.0.0.1:<port>")
  .option("--log-level <level>", "fatal|error|warn|info|debug|trace")
  .action(async (opts: Record<string, string | undefined>) => {
    const config = await loadConfig(opts.config, process.env, {
      rpcUrl: opts.rpcUrl,
      market: opts.market,
      storePath: opts.storePath,
      metricsPort: opts.metricsPort,
      logLevel: opts.logLevel,
    });
    const log = createRootLogger(config.logLevel);
    const runtime = new OperatorRuntime(
      config,
      (model, mode) => createExecutor(model, mode, log, { privateKey: config.privateKey }),
      log,
    );
    let stopping: Promise<void> | undefined;
    const shutdown = (signal: string): void => {
      log.info({ signal }, "shutting down");
      stopping ??= runtime.stop().then(() => process.exit(0));
    };
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    await runtime.start();
  });

const connectionOptions = (command: Command): Command =>
  command
    .option("--rpc-url <url>", "JSON-RPC endpoint", process.env.VERIML_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--market <address>", "InferenceMarket address", process.env.VERIML_MARKET);

function client(opts: { rpcUrl: string; market?: string }): VerimlClient {
  if (!opts.market) throw new OperatorError("--market (or VERIML_MARKET) is required");
  const key = process.env.VERIML_PRIVATE_KEY;
  if (!key) throw new OperatorError("VERIML_PRIVATE_KEY is required to sign requests");
  const log = createRootLogger(process.env.VERIML_LOG_LEVEL ?? "warn", process.stderr);
  return new VerimlClient(opts.market, new Wallet(key, new JsonRpcProvider(opts.rpcUrl)), log);
}

connectionOptions(program.command("models").description("list registered models")).action(
  async (opts: { rpcUrl: string; market?: string }) => {
    for (const m of await client(opts).listModels()) {
      const modes = m.modes.map((x) => Object.keys(MODES).find((k) => MODES[k] === x) ?? String(x)).join(",");
      process.stdout.write(
        `${m.modelId}\t${m.active ? "active" : "inactive"}\t${modes}\t${formatEther(m.ethPrice)} ETH\t${m.modelHash}\t${m.artifactURI}\n`,
      );
    }
  },
);

const inputFile = z.union([
  z.array(z.number().int().min(0).max(255)),
  z.object({ input: z.array(z.number().int().min(0).max(255)) }),
]);

connectionOptions(program.command("request").description("pay for an inference and wait for the verified result"))
  .requiredOption("--model <id>", "model id", (v) => BigInt(v))
  .option("--mode <mode>", "zk|optimistic|sampling|quality", parseMode, 0)
  .option("--input <file>", 'JSON file: an array of byte values, or {"input": [...]}')
  .option("--values <list>", "comma-separated byte values instead of --input")
  .option("--token <address>", "pay in this ERC-20 instead of ETH")
  .option("--deadline <seconds>", "seconds until refundable", (v) => Number(v), 3600)
  .option("--timeout <seconds>", "how long to wait for the result", (v) => Number(v), 600)
  .action(async (opts) => {
    const values = opts.values
      ? String(opts.values)
          .split(",")
          .map((v: string) => Number(v.trim()))
      : await readFile(String(opts.input), "utf8").then((t) => {
          const parsed = inputFile.parse(JSON.parse(t));
          return Array.isArray(parsed) ? parsed : parsed.input;
        });
    const c = client(opts);
    const { requestId, txHash, paid } = await c.request({
      modelId: opts.model,
      mode: opts.mode,
      input: Uint8Array.from(values),
      token: opts.token,
      deadlineSeconds: opts.deadline,
    });
    process.stdout.write(`request ${requestId} created in ${txHash}, paid ${paid}\n`);
    const outcome = await c.waitForResult(requestId, opts.timeout * 1000);
    process.stdout.write(`${JSON.stringify(outcome, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  });

connectionOptions(program.command("show").description("show one request").argument("<requestId>")).action(
  async (id: string, opts: { rpcUrl: string; market?: string }) => {
    const outcome = await client(opts).show(BigInt(id));
    process.stdout.write(`${JSON.stringify(outcome, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  },
);

registerSamplingCommands(program);

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  process.stderr.write(`veriml: ${message}${cause}\n`);
  process.exit(1);
});
