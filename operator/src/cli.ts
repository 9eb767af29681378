#!/usr/bin/env node
/**
 * veriml: the operator bot and the requester client in one CLI.
 *
 *   veriml operator run --config operator.json           run the bot (VERIML_OPERATOR_KEY or a keystore)
 *   veriml models --network localhost                    list registered models (no key needed)
 *   veriml request --model iris_mlp --mode zk --values 0.1,-1.2,0.3,0.8
 *                                                        pay for an inference and wait for the verified result
 *   veriml show 12                                       one request: status, output, transactions
 *   veriml quote | refund | withdraw | stake | unbond | withdraw-stake | advance-time | keystore
 *
 * Addresses come from Hardhat Ignition's deployment record of the chain (ignition/deployments/chain-<id>);
 * --market or --deployment choose another. The requester signs with VERIML_REQUESTER_KEY or an encrypted
 * keystore (VERIML_REQUESTER_KEYSTORE, password from VERIML_REQUESTER_PASSWORD_FILE or a prompt).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider, Wallet, formatEther, parseEther } from "ethers";
import { resolveMarket } from "./deployment.js";
import {
  KEY_ENV,
  keySourceFromEnv,
  promptPassword,
  readPasswordFile,
  resolvePrivateKey,
  writeKeystore,
} from "./keys.js";
import { classify } from "./chain/errors.js";
import { z } from "zod";
import {
  decodeInputValues,
  decodeModelOutput,
  encodeQuantized,
  type DecodedOutput,
  quantizeFloatInput,
} from "../../verifier-gen/src/interface.js";
import { VerimlClient, fromDirectory, type RequestOutcome, type RequestProgress } from "./client.js";
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
  .option("--market <address>", "InferenceMarket address (default: the chain's Ignition deployment record)")
  .option("--deployment <id|dir>", "Ignition deployment to read the market from (default chain-<chainId>)")
  .option("--store-path <file>", "SQLite state file")
  .option("--metrics-port <port>", "serve Prometheus metrics on 127.0.0.1:<port>")
  .option("--log-level <level>", "fatal|error|warn|info|debug|trace")
  .action(async (opts: Record<string, string | undefined>) => {
    const config = await loadConfig(opts.config, process.env, {
      rpcUrl: opts.rpcUrl,
      market: opts.market,
      deployment: opts.deployment,
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

interface ConnectionOpts {
  rpcUrl?: string;
  network?: string;
  market?: string;
  deployment?: string;
}

const connectionOptions = (command: Command): Command =>
  command
    .option(
      "--network <name>",
      "localhost (LOCALHOST_RPC_URL or 127.0.0.1:8545), or a name whose <NAME>_RPC_URL is set",
    )
    .option("--rpc-url <url>", "JSON-RPC endpoint (overrides --network; default VERIML_RPC_URL, else localhost)")
    .option("--market <address>", "InferenceMarket address (default: the chain's Ignition deployment record)")
    .option("--deployment <id|dir>", "Ignition deployment to read addresses from (default chain-<chainId>)");

/** The endpoint of --rpc-url, --network (Hardhat's variable names), VERIML_RPC_URL or a local node. */
function rpcUrlOf(opts: ConnectionOpts): string {
  if (opts.rpcUrl) return opts.rpcUrl;
  if (opts.network !== undefined) {
    const variable = `${opts.network.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_RPC_URL`;
    const url = process.env[variable] ?? (opts.network === "localhost" ? "http://127.0.0.1:8545" : undefined);
    if (url === undefined) throw new OperatorError(`network ${opts.network}: set ${variable} (or give --rpc-url)`);
    return url;
  }
  return process.env.VERIML_RPC_URL ?? "http://127.0.0.1:8545";
}

/** A client on the chain's market; with `read` it needs no key (listing, quoting, showing). */
async function client(opts: ConnectionOpts, read = false): Promise<VerimlClient> {
  const log = createRootLogger(process.env.VERIML_LOG_LEVEL ?? "warn", process.stderr);
  const provider = new JsonRpcProvider(rpcUrlOf(opts), undefined, { cacheTimeout: -1 });
  const market = await resolveMarket(
    { market: opts.market ?? process.env.VERIML_MARKET, deployment: opts.deployment },
    provider,
  );
  const artifacts = {
    cacheDir: process.env.VERIML_CACHE ?? ".veriml-cache",
    ipfsGateway: process.env.VERIML_IPFS_GATEWAY,
  };
  // Reading needs no key: a keystore is not even opened (no prompt for a listing).
  if (read) return new VerimlClient(market, provider, log, artifacts);
  const key = await resolvePrivateKey(keySourceFromEnv("requester", process.env), "requester");
  if (key === undefined) {
    const env = KEY_ENV.requester;
    throw new OperatorError(
      `signing needs the requester's key: set ${env.key}, or ${env.keystore} (an encrypted JSON keystore)`,
    );
  }
  return new VerimlClient(market, new Wallet(key, provider), log, artifacts);
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(5));

/** The outcome for a person: the decoded output, then each step with its gas and transaction. */
function summarise(outcome: RequestOutcome, decoded: DecodedOutput | null, latencyMs: number): string {
  const lines = [`request ${outcome.requestId} ${outcome.status} after ${(latencyMs / 1000).toFixed(2)} s`];
  if (decoded !== null) {
    const label = decoded.label === undefined ? "" : `label ${decoded.label}; `;
    const values = decoded.kind === "label" ? "" : `${decoded.kind} [${decoded.values.map(fmt).join(", ")}] `;
    lines.push(`output: ${label}${values}(quantized ${decoded.quantized.join(" ")})`);
  }
  const width = Math.max(...outcome.steps.map((s) => s.step.length), 4);
  lines.push(`${"step".padEnd(width)}  ${"gas".padStart(9)}  transaction`);
  for (const s of outcome.steps) {
    lines.push(`${s.step.padEnd(width)}  ${s.gasUsed.toLocaleString("en-US").padStart(9)}  ${s.tx}`);
  }
  const total = outcome.steps.reduce((a, s) => a + s.gasUsed, 0n);
  lines.push(`${"total".padEnd(width)}  ${total.toLocaleString("en-US").padStart(9)}`);
  return `${lines.join("\n")}\n`;
}

const MODE_NAMES = Object.fromEntries(Object.entries(MODES).map(([name, id]) => [id, name]));
const time = (unix: number): string => new Date(unix * 1000).toISOString().replace(".000Z", "Z");

/** One line per change of a request's state, on stderr (stdout carries the JSON result). */
function describeProgress(requestId: bigint, p: RequestProgress, local: boolean, moveClock: boolean): string {
  let line = `request ${requestId}: ${p.status}`;
  if (p.status === "Open") line += `, waiting for an operator (refundable after ${time(p.deadline)})`;
  if (p.status === "Claimed") line += ` by ${p.operator}, result due by ${time(p.claimDeadline)}`;
  if (p.challengeWindowEnd !== undefined && p.status === "Submitted") {
    line += `, challenge window ends ${time(p.challengeWindowEnd)} (${p.challenges} open challenges)`;
    if (local && !moveClock) {
      line +=
        "; this local chain's clock only moves with blocks: run `npx veriml advance-time <seconds>` in another terminal (or pass --move-clock next time)";
    }
  }
  if (p.sampling !== undefined) {
    line += `, sampling ${p.sampling.phase}${p.sampling.sampled ? ` (sampled: second operator ${p.sampling.sampler})` : ""}`;
  }
  return `${line}\n`;
}

const parseEth = (value: string): bigint => {
  try {
    return parseEther(value);
  } catch {
    throw new InvalidArgumentError(`${value} is not an amount of ETH`);
  }
};

connectionOptions(program.command("models").description("list registered models: name, modes, input, output, price"))
  .option("--json", "one JSON array instead of a table")
  .action(async (opts: ConnectionOpts & { json?: boolean }) => {
    const c = await client(opts, true);
    const rows = [];
    for (const m of await c.listModels()) {
      // The interface comes from the model's build, checked against its registered commitment.
      const build = await c.modelBuild(m.modelId).then(
        (b) => b,
        (error: unknown) => ({ error: (error as Error).message }),
      );
      rows.push({
        id: m.modelId,
        name: "name" in build ? build.name : "?",
        status: m.active ? "active" : "inactive",
        modes: m.modes.map((x) => MODE_NAMES[x] ?? String(x)).join(","),
        input:
          "interface" in build
            ? `[${build.interface.input.shape.join("x")}] x ${build.interface.input.scale.toPrecision(3)}`
            : "?",
        output: "interface" in build ? `${build.interface.output.kind}[${build.interface.output.count}]` : "?",
        price: `${formatEther(m.ethPrice)} ETH`,
        modelHash: m.modelHash,
        ...("error" in build ? { problem: build.error } : {}),
      });
    }
    if (opts.json) return printJson(rows);
    const header = ["id", "name", "status", "modes", "input", "output", "price", "modelHash"] as const;
    const table = [header.map(String), ...rows.map((r) => header.map((h) => String(r[h])))];
    const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      process.stdout.write(
        `${row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join("  ")
          .trimEnd()}\n`,
      );
    for (const r of rows) if (r.problem) process.stderr.write(`model ${r.id}: ${r.problem}\n`);
  });

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
  .requiredOption("--model <id|name>", "model id, or the name of its build")
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
  .option("--owner <address>", "with a model name: only the model of this owner")
  .option("--max-price <eth>", "refuse to pay more than this (price + fees)", parseEth)
  .option("--move-clock", "local chains: mine blocks and move the clock past challenge windows while waiting")
  .option("--quiet", "no progress lines on stderr")
  .option("--json", "print the outcome as JSON (every transaction, the raw output) instead of a summary")
  .action(async (opts) => {
    const values = await readInputValues(opts);
    const c = await client(opts);
    const modelId = await c.resolveModel(String(opts.model), opts.owner);
    // Everything is checked before anything is paid: the mode, count, finiteness, the model's range, the price.
    const model = (await c.listModels()).find((m) => m.modelId === modelId);
    if (model === undefined) throw new OperatorError(`model ${modelId} is not registered`);
    if (!model.active) throw new OperatorError(`model ${modelId} is inactive: nothing would serve the request`);
    if (!model.modes.includes(opts.mode)) {
      const enabled = model.modes.map((x) => MODE_NAMES[x] ?? String(x)).join(", ");
      throw new OperatorError(
        `model ${modelId} is not served in mode ${MODE_NAMES[opts.mode] ?? opts.mode}; it enables ${enabled}`,
      );
    }
    const modelInterface = await c.modelInterface(
      modelId,
      opts.artifacts === undefined ? undefined : fromDirectory(String(opts.artifacts)),
    );
    // Moving the clock is for local chains: refused here, before paying, not after.
    if (opts.moveClock) await c.requireLocalChain("--move-clock");
    const input = opts.quantized
      ? encodeQuantized(modelInterface, values)
      : quantizeFloatInput(modelInterface, values).bytes;
    const started = Date.now();
    const { requestId, txHash, paid } = await c.request({
      modelId,
      mode: opts.mode,
      input,
      token: opts.token,
      deadlineSeconds: opts.deadline,
      // Checked against the very quote the payment is made from.
      ...(opts.maxPrice === undefined ? {} : { maxTotal: opts.maxPrice as bigint }),
    });
    process.stdout.write(`request ${requestId} created in ${txHash}, paid ${formatEther(paid)}\n`);
    const local = await c.requireLocalChain("").then(
      () => true,
      () => false,
    );
    const outcome = await c.waitForResult(requestId, opts.timeout * 1000, {
      moveClock: Boolean(opts.moveClock),
      onProgress: (p) => {
        if (!opts.quiet) process.stderr.write(describeProgress(requestId, p, local, Boolean(opts.moveClock)));
      },
    });
    const decoded = outcome.output === null ? null : decodeModelOutput(modelInterface, outcome.output);
    const latencyMs = Date.now() - started;
    if (opts.json) return printJson({ ...outcome, decoded, latencyMs });
    process.stdout.write(summarise(outcome, decoded, latencyMs));
  });

/**
 * Gas per step of the model in this mode as the benchmark measured it (bench/results/own-models.json, written
 * by `npm run bench`): the figures of the model itself when it was measured, else the median over the
 * measured models of that mode.
 */
async function measuredGas(
  modelName: string,
  mode: string,
): Promise<{ gas: Record<string, number>; basis: string } | null> {
  const file = fileURLToPath(new URL("../../bench/results/own-models.json", import.meta.url));
  const results = await readFile(file, "utf8")
    .then(
      (text) =>
        (JSON.parse(text) as { results: { model: string; mode: string; gas: Record<string, number> }[] }).results,
    )
    .catch(() => []);
  const own = results.find((r) => r.model === modelName && r.mode === mode);
  if (own !== undefined) return { gas: own.gas, basis: `measured for ${modelName} (bench/results/own-models.json)` };
  const same = results.filter((r) => r.mode === mode);
  if (same.length === 0) return null;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const steps = Object.keys(same[0]!.gas);
  return {
    gas: Object.fromEntries(steps.map((k) => [k, median(same.map((r) => r.gas[k]!))])),
    basis: `median of ${same.map((r) => r.model).join(", ")} in ${mode} mode (bench/results/own-models.json); yours scales with its size`,
  };
}

connectionOptions(program.command("quote").description("what a request costs now: price, fees, total, expected gas"))
  .requiredOption("--model <id|name>", "model id, or the name of its build")
  .option("--mode <mode>", "zk|optimistic|sampling|quality", parseMode, 0)
  .option("--token <address>", "price in this ERC-20 instead of ETH")
  .option("--owner <address>", "with a model name: only the model of this owner")
  .action(async (opts) => {
    const c = await client(opts, true);
    const modelId = await c.resolveModel(String(opts.model), opts.owner);
    const q = await c.quote(modelId, opts.mode, opts.token);
    const name = await c.modelBuild(modelId).then(
      (b) => b.name,
      () => `model-${modelId}`,
    );
    const measured = await measuredGas(name, MODE_NAMES[opts.mode] ?? String(opts.mode));
    printJson({
      model: modelId,
      name,
      mode: MODE_NAMES[opts.mode] ?? opts.mode,
      price: formatEther(q.price),
      fee: formatEther(q.fee),
      total: formatEther(q.total),
      // The requester sends only "create"; the operator pays the other steps' gas out of its price.
      ...(measured === null
        ? {}
        : { expectedGas: { ...measured.gas, requesterSends: "create", basis: measured.basis } }),
    });
  });

connectionOptions(program.command("refund").description("refund a request nobody answered before its deadline"))
  .argument("<requestId>")
  .action(async (id: string, opts) => printJson({ refunded: id, tx: await (await client(opts)).refund(BigInt(id)) }));

connectionOptions(program.command("withdraw").description("pull what the market owes you (refunds, earnings)"))
  .option("--token <address>", "an ERC-20 instead of ETH")
  .action(async (opts) => printJson({ tx: await (await client(opts)).withdraw(opts.token) }));

connectionOptions(program.command("stake").description("add stake (operators, validators)"))
  .argument("<eth>", "amount in ETH", parseEth)
  .action(async (amount: bigint, opts) => {
    const c = await client(opts);
    const tx = await c.stake(amount);
    printJson({ tx, stake: await c.stakeOf() });
  });

connectionOptions(
  program.command("unbond").description("start unbonding free stake; then withdraw-stake after the delay"),
)
  .argument("<eth>", "amount in ETH", parseEth)
  .action(async (amount: bigint, opts) => {
    const c = await client(opts);
    const tx = await c.unbond(amount);
    printJson({ tx, stake: await c.stakeOf() });
  });

connectionOptions(program.command("withdraw-stake").description("withdraw stake whose unbonding delay passed")).action(
  async (opts) => printJson({ tx: await (await client(opts)).withdrawStake() }),
);

connectionOptions(program.command("show").description("show one request").argument("<requestId>")).action(
  async (id: string, opts: ConnectionOpts) => {
    const c = await client(opts, true);
    const requestId = BigInt(id);
    const request = await c.market.getRequest(requestId);
    if (request.requester === "0x0000000000000000000000000000000000000000") {
      throw new OperatorError(`request ${id} does not exist`);
    }
    const outcome = await c.show(requestId);
    const progress = await c.progress(requestId);
    const modelInterface = await c.modelInterface(request.modelId).catch(() => null);
    // Decoded when the model's build is at hand; the raw values otherwise.
    const decoded =
      outcome.output === null || modelInterface === null ? null : decodeModelOutput(modelInterface, outcome.output);
    const input = await c.requestInput(requestId);
    printJson({
      ...outcome,
      model: request.modelId,
      mode: MODE_NAMES[Number(request.mode)] ?? Number(request.mode),
      requester: request.requester,
      fee: {
        price: formatEther(request.price),
        verificationFee: formatEther(request.verificationFee),
        token: request.token,
      },
      deadline: time(Number(request.deadline)),
      ...(progress.challengeWindowEnd === undefined ? {} : { challengeWindowEnd: time(progress.challengeWindowEnd) }),
      ...(progress.sampling === undefined ? {} : { sampling: progress.sampling }),
      input: {
        hash: await c.requestInputHash(requestId),
        bytes: input,
        ...(input !== null && modelInterface !== null ? decodeInputValues(modelInterface, input) : {}),
      },
      decoded,
    });
  },
);

connectionOptions(
  program.command("advance-time").description("local chains only: move the clock forward and mine a block"),
)
  .argument("<seconds>", "how far", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${v} is not a positive number of seconds`);
    return n;
  })
  .action(async (seconds: number, opts: ConnectionOpts) => {
    const c = await client(opts, true);
    printJson({ timestamp: await c.advanceTime(seconds) });
  });

/** A new keystore's password: from a file, or typed twice at a prompt. */
async function newPassword(passwordFile: string | undefined): Promise<string> {
  if (passwordFile !== undefined) return readPasswordFile(passwordFile, "new keystore");
  const first = await promptPassword("new keystore password: ");
  if ((await promptPassword("the same password again: ")) !== first) throw new OperatorError("the passwords differ");
  return first;
}

const keystore = program
  .command("keystore")
  .description("encrypted JSON keystores for the requester and operator keys");
keystore
  .command("new")
  .description("make a new random key, encrypted into <file>")
  .argument("<file>")
  .option("--password-file <file>", "read the password from this file instead of a prompt")
  .action(async (file: string, opts: { passwordFile?: string }) => {
    printJson({ keystore: file, address: await writeKeystore(file, await newPassword(opts.passwordFile)) });
  });
keystore
  .command("import")
  .description("encrypt the key in VERIML_IMPORT_KEY (or typed at a prompt) into <file>")
  .argument("<file>")
  .option("--password-file <file>", "read the password from this file instead of a prompt")
  .action(async (file: string, opts: { passwordFile?: string }) => {
    const key = process.env.VERIML_IMPORT_KEY ?? (await promptPassword("private key to import (0x...): "));
    const checked = await resolvePrivateKey({ privateKey: key.trim() }, "requester");
    printJson({ keystore: file, address: await writeKeystore(file, await newPassword(opts.passwordFile), checked) });
  });

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
