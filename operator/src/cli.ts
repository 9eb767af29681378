#!/usr/bin/env node
/**
 * veriml: the operator bot and the requester client in one CLI.
 *
 *   veriml operator run --config operator.json        run the bot (key from VERIML_PRIVATE_KEY)
 *   veriml models --rpc URL --market ADDR             list registered models
 *   veriml request --model 1 --mode zk --input x.json pay for an inference and wait for the verified result
 *   veriml show 12                                    one request: status, output, transactions
 *   veriml quote | refund | withdraw | stake | unbond | withdraw-stake
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider, Wallet, formatEther, parseEther } from "ethers";
import { classify } from "./chain/errors.js";
import { z } from "zod";
import { decodeModelOutput, encodeQuantized, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
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

/** A client on the market; with `read` it needs no key (listing, quoting, showing). */
function client(opts: { rpcUrl: string; market?: string }, read = false): VerimlClient {
  if (!opts.market) throw new OperatorError("--market (or VERIML_MARKET) is required");
  const log = createRootLogger(process.env.VERIML_LOG_LEVEL ?? "warn", process.stderr);
  const provider = new JsonRpcProvider(opts.rpcUrl);
  const key = process.env.VERIML_PRIVATE_KEY;
  if (read && !key) return new VerimlClient(opts.market, provider, log);
  if (!key) throw new OperatorError("VERIML_PRIVATE_KEY is required to sign");
  return new VerimlClient(opts.market, new Wallet(key, provider), log);
}

const parseEth = (value: string): bigint => {
  try {
    return parseEther(value);
  } catch {
    throw new InvalidArgumentError(`${value} is not an amount of ETH`);
  }
};

connectionOptions(program.command("models").description("list registered models")).action(
  async (opts: { rpcUrl: string; market?: string }) => {
    for (const m of await client(opts, true).listModels()) {
      const modes = m.modes.map((x) => Object.keys(MODES).find((k) => MODES[k] === x) ?? String(x)).join(",");
      process.stdout.write(
        `${m.modelId}\t${m.active ? "active" : "inactive"}\t${modes}\t${formatEther(m.ethPrice)} ETH\t${m.modelHash}\t${m.artifactURI}\n`,
      );
    }
  },
);

const inputFile = z.union([z.array(z.number()), z.object({ input: z.array(z.number()) })]);

/** Reads the request's input values: a JSON file (an array, or {"input": [...]}) or a comma-separated list. */
async function readInputValues(opts: { input?: string; values?: string }): Promise<number[]> {
  if (opts.values !== undefined) {
    return String(opts.values)
      .split(",")
      .map((v, i) => {
        const x = Number(v.trim());
        if (v.trim() === "" || !Number.isFinite(x))
          throw new OperatorError(`--values: item ${i} ("${v}") is not a number`);
        return x;
      });
  }
  if (opts.input === undefined) throw new OperatorError("give the input with --input <file> or --values <list>");
  const text = await readFile(String(opts.input), "utf8").catch((error: unknown) => {
    throw new OperatorError(`cannot read ${opts.input}`, { cause: error });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OperatorError(`${opts.input} is not JSON: ${(error as Error).message}`);
  }
  const parsed = inputFile.safeParse(json);
  if (!parsed.success) throw new OperatorError(`${opts.input}: expected an array of numbers or {"input": [...]}`);
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.input;
}

const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
};

connectionOptions(program.command("request").description("pay for an inference and wait for the verified result"))
  .requiredOption("--model <id>", "model id", (v) => BigInt(v))
  .option("--mode <mode>", "zk|optimistic|sampling|quality", parseMode, 0)
  .option(
    "--input <file>",
    'JSON file: the input values in the model\'s own (float) space, an array or {"input": [...]}',
  )
  .option("--values <list>", "comma-separated input values instead of --input")
  .option("--quantized", "the values are already the model's quantized integers")
  .option("--artifacts <dir>", "the model's build directory (default: its file: artifact URI)")
  .option("--token <address>", "pay in this ERC-20 instead of ETH")
  .option("--deadline <seconds>", "seconds until refundable", (v) => Number(v), 3600)
  .option("--timeout <seconds>", "how long to wait for the result", (v) => Number(v), 600)
  .action(async (opts) => {
    const values = await readInputValues(opts);
    const c = client(opts);
    // Everything is checked before anything is paid: count, finiteness, the model's range.
    const modelInterface = await c.modelInterface(opts.model, opts.artifacts);
    const input = opts.quantized
      ? encodeQuantized(modelInterface, values)
      : quantizeFloatInput(modelInterface, values).bytes;
    const started = Date.now();
    const { requestId, txHash, paid } = await c.request({
      modelId: opts.model,
      mode: opts.mode,
      input,
      token: opts.token,
      deadlineSeconds: opts.deadline,
    });
    process.stdout.write(`request ${requestId} created in ${txHash}, paid ${formatEther(paid)}\n`);
    const outcome = await c.waitForResult(requestId, opts.timeout * 1000);
    const decoded = outcome.output === null ? null : decodeModelOutput(modelInterface, outcome.output);
    printJson({ ...outcome, decoded, latencyMs: Date.now() - started });
  });

connectionOptions(program.command("quote").description("what a request costs now: price, fees, total"))
  .requiredOption("--model <id>", "model id", (v) => BigInt(v))
  .option("--mode <mode>", "zk|optimistic|sampling|quality", parseMode, 0)
  .option("--token <address>", "price in this ERC-20 instead of ETH")
  .action(async (opts) => {
    const q = await client(opts, true).quote(opts.model, opts.mode, opts.token);
    printJson({ price: formatEther(q.price), fee: formatEther(q.fee), total: formatEther(q.total) });
  });

connectionOptions(program.command("refund").description("refund a request nobody answered before its deadline"))
  .argument("<requestId>")
  .action(async (id: string, opts) => printJson({ refunded: id, tx: await client(opts).refund(BigInt(id)) }));

connectionOptions(program.command("withdraw").description("pull what the market owes you (refunds, earnings)"))
  .option("--token <address>", "an ERC-20 instead of ETH")
  .action(async (opts) => printJson({ tx: await client(opts).withdraw(opts.token) }));

connectionOptions(program.command("stake").description("add stake (operators, validators)"))
  .argument("<eth>", "amount in ETH", parseEth)
  .action(async (amount: bigint, opts) => {
    const c = client(opts);
    const tx = await c.stake(amount);
    printJson({ tx, stake: await c.stakeOf() });
  });

connectionOptions(
  program.command("unbond").description("start unbonding free stake; then withdraw-stake after the delay"),
)
  .argument("<eth>", "amount in ETH", parseEth)
  .action(async (amount: bigint, opts) => {
    const c = client(opts);
    const tx = await c.unbond(amount);
    printJson({ tx, stake: await c.stakeOf() });
  });

connectionOptions(program.command("withdraw-stake").description("withdraw stake whose unbonding delay passed")).action(
  async (opts) => printJson({ tx: await client(opts).withdrawStake() }),
);

connectionOptions(program.command("show").description("show one request").argument("<requestId>")).action(
  async (id: string, opts: { rpcUrl: string; market?: string }) => {
    const c = client(opts, true);
    const outcome = await c.show(BigInt(id));
    const modelId = (await c.market.getRequest(BigInt(id))).modelId;
    // Decoded when the model's manifest is at hand; the raw output otherwise.
    const decoded =
      outcome.output === null
        ? null
        : await c.modelInterface(modelId).then(
            (i) => decodeModelOutput(i, outcome.output!),
            () => null,
          );
    printJson({ ...outcome, decoded });
  },
);

registerSamplingCommands(program);

program.parseAsync().catch((error: unknown) => {
  // A revert is shown as the contract's custom error with its arguments, not as calldata.
  const failure = classify(error);
  const message =
    failure.kind === "revert"
      ? `the chain refused: ${failure.summary}`
      : error instanceof Error
        ? error.message
        : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  process.stderr.write(`veriml: ${message}${cause}\n`);
  process.exit(1);
});
