/**
 * The reliability drill: real `hardhat node` processes, real operator processes talking to them through the
 * fault-injecting proxy, a burst of paid zk requests, and one fault class at a time (malformed and hung
 * replies, resets, outages, SIGKILL at every step, a damaged store, reorganisations, stuck, dropped and
 * underpriced transactions, competing operators). Each run is judged from the chain alone: every request
 * settled exactly once, no transaction sent twice, no slash of an honest operator, escrow equal to
 * liabilities.
 */
import type { ChildProcess } from "node:child_process";
import { readFile, writeFile, open, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider, ZeroAddress, parseEther } from "ethers";
import { FaultProxy } from "./fault-proxy.js";
import { startHardhatNode } from "./hardhat-node.js";
import { startOperatorProcess, stopProcess } from "./operator-process.js";
import { MODE_ZK } from "./zk.js";
import { deployZkStack, sendZkRequest, type ZkStack } from "./zk-stack.js";

const BUILD = "models/build/digits-mlp";

export interface OperatorHandle {
  index: number;
  address: string;
  privateKey: string;
  workDir: string;
  child: ChildProcess;
  logFile: string;
  /** Offset into the log already consumed by `waitForLog`. */
  logOffset: number;
}

export interface DrillContext {
  proxy: FaultProxy;
  /** Direct JSON-RPC to the node (the drill's own calls never go through the faults). */
  node: JsonRpcProvider;
  stack: ZkStack;
  operators: OperatorHandle[];
  /** SIGKILLs operator `i` (no chance to clean up). */
  kill(i: number): Promise<void>;
  /** Starts operator `i` again on its store. */
  restart(i: number): Promise<void>;
  /** Resolves when operator `i`'s log shows a line matching `pattern` after what was already read. */
  waitForLog(i: number, pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once every request settled (or the timeout passed). */
  settled: () => Promise<boolean>;
  /** Adds a note to the result. */
  note(text: string): void;
}

export interface DrillScenario {
  name: string;
  requests: number;
  operators?: number;
  /** Operator config keys for this scenario. */
  operatorConfig?: Record<string, unknown>;
  /** Injects the fault while the requests are served; returns once the fault is over. */
  inject(ctx: DrillContext): Promise<void>;
}

export interface DrillResult {
  fault: string;
  requests: number;
  settledExactlyOnce: number;
  /** Transactions an honest operator sent twice for the same step (same call, mined twice). */
  duplicates: number;
  /** Transactions of an honest operator mined but reverted (gas wasted; not a safety failure). */
  revertedTxs?: number;
  /** Slashes of an honest operator's stake. */
  honestSlashes: number;
  escrowEqualsLiabilities: boolean;
  seconds: number;
  faultsInjected: Record<string, number>;
  notes: string;
}

const BASE_CONFIG = {
  rpcTimeoutMs: 2_000,
  pollIntervalMs: 200,
  retry: { attempts: 3, baseDelayMs: 100 },
  tx: { replaceAfterMs: 4_000, waitMs: 8_000, pollMs: 100 },
  gas: { maxFeePerGasGwei: 500 },
  logLevel: "info",
};

/** Runs one scenario on a fresh node and returns what the chain says happened. */
export async function runDrill(scenario: DrillScenario, workRoot: string, timeoutMs = 240_000): Promise<DrillResult> {
  const started = Date.now();
  const { child: nodeProcess, rpcUrl } = await startHardhatNode();
  const node = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const proxy = new FaultProxy(rpcUrl);
  const operators: OperatorHandle[] = [];
  const workDir = path.join(workRoot, scenario.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase());
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  try {
    const stack = await deployZkStack(node, BUILD, 3);
    const proxyUrl = await proxy.start();
    const market = await stack.market.getAddress();
    const count = scenario.operators ?? 1;
    const startOperator = async (i: number): Promise<OperatorHandle> => {
      const account = stack.accounts[3 + i]!;
      const dir = path.join(workDir, `operator-${i}`);
      const { child, logFile } = await startOperatorProcess({
        workDir: dir,
        rpcUrl: proxyUrl,
        market,
        privateKey: account.privateKey,
        models: [{ modelId: stack.modelId, artifacts: BUILD, modes: [MODE_ZK] }],
        stakeWei: parseEther("5"),
        extra: { ...BASE_CONFIG, ...scenario.operatorConfig },
      });
      return {
        index: i,
        address: account.address,
        privateKey: account.privateKey,
        workDir: dir,
        child,
        logFile,
        logOffset: 0,
      };
    };
    for (let i = 0; i < count; i++) operators.push(await startOperator(i));
    const until = Date.now() + 90_000;
    while ((await stack.vault.serverCount(stack.modelId, 0)) < BigInt(count)) {
      if (Date.now() > until) throw new Error("operators did not start serving");
      await new Promise((r) => setTimeout(r, 200));
    }
    const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
    const fromBlock = await node.getBlockNumber();
    const deadline = BigInt((await node.getBlock("latest"))!.timestamp + 3600);
    const ids: bigint[] = [];
    for (let r = 0; r < scenario.requests; r++) {
      ids.push(
        await sendZkRequest(stack, "user-eth", Uint8Array.from(testSet.inputs[r % testSet.inputs.length]!), deadline),
      );
    }
    const notes: string[] = [];
    const allSettled = async (): Promise<boolean> => {
      for (const id of ids) if ((await stack.market.getRequest(id)).status !== 4n) return false;
      return true;
    };
    const ctx: DrillContext = {
      proxy,
      node,
      stack,
      operators,
      kill: async (i) => stopProcess(operators[i]!.child, "SIGKILL"),
      restart: async (i) => {
        const fresh = await startOperator(i);
        fresh.logOffset = (await readFile(fresh.logFile)).length;
        operators[i] = fresh;
      },
      waitForLog: async (i, pattern, wait = 60_000) => {
        const end = Date.now() + wait;
        for (;;) {
          const op = operators[i]!;
          const text = (await readFile(op.logFile, "utf8").catch(() => "")).slice(op.logOffset);
          const lines = text.split("\n");
          let consumed = 0;
          for (const line of lines.slice(0, -1)) {
            consumed += line.length + 1;
            if (pattern.test(line)) {
              op.logOffset += consumed;
              return line;
            }
          }
          if (Date.now() > end) throw new Error(`operator ${i}: no log line matching ${pattern}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      settled: allSettled,
      note: (text) => notes.push(text),
    };
    await scenario.inject(ctx);
    proxy.set({});
    const end = Date.now() + timeoutMs;
    while (!(await allSettled()) && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
    const result = await judge(scenario, ctx, ids, fromBlock, started, operators);
    result.notes = notes.join("; ");
    return result;
  } finally {
    for (const op of operators) await stopProcess(op.child, "SIGTERM");
    await proxy.stop();
    node.destroy();
    await stopProcess(nodeProcess, "SIGKILL");
  }
}

async function judge(
  scenario: DrillScenario,
  ctx: DrillContext,
  ids: bigint[],
  fromBlock: number,
  started: number,
  operators: OperatorHandle[],
): Promise<DrillResult> {
  const { stack, node } = ctx;
  const finalized = await stack.market.queryFilter(stack.market.filters.RequestFinalized(), fromBlock);
  const perRequest = new Map<bigint, number>();
  for (const e of finalized) perRequest.set(e.args.requestId, (perRequest.get(e.args.requestId) ?? 0) + 1);
  let settledOnce = 0;
  for (const id of ids) {
    if (perRequest.get(id) === 1 && (await stack.market.getRequest(id)).status === 4n) settledOnce++;
  }
  const honest = new Set(operators.map((o) => o.address.toLowerCase()));
  const { duplicates, revertedTxs, duplicated } = await honestCalls(node, honest, fromBlock);
  if (duplicated.length > 0) ctx.note(`duplicated: ${duplicated.join("; ")}`);
  const slashes = await stack.vault.queryFilter(stack.vault.filters.StakeSlashed(), fromBlock);
  const honestSlashes = slashes.filter((e) => honest.has(e.args.staker.toLowerCase())).length;
  const held = await node.getBalance(await stack.market.getAddress());
  const escrowOk =
    held === (await stack.market.liabilities(ZeroAddress)) &&
    (await node.getBalance(await stack.vault.getAddress())) === (await stack.vault.totalLiabilities());
  const faults = { ...ctx.proxy.counts } as Record<string, number>;
  delete faults.forwarded;
  return {
    fault: scenario.name,
    requests: ids.length,
    settledExactlyOnce: settledOnce,
    duplicates,
    revertedTxs,
    honestSlashes,
    escrowEqualsLiabilities: escrowOk,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    faultsInjected: Object.fromEntries(Object.entries(faults).filter(([, v]) => v > 0)),
    notes: "",
  };
}

/**
 * Duplicates: the same call (sender, target, calldata) mined and executed more than once by an honest
 * account. Reverted transactions are counted apart: a call retried after it reverted was not sent twice.
 * Calls with a selector in `repeatable` (advancing through phases) may legitimately repeat.
 */
export async function honestCalls(
  node: JsonRpcProvider,
  honest: Set<string>,
  fromBlock: number,
  repeatable: string[] = [],
): Promise<{ duplicates: number; revertedTxs: number; duplicated: string[] }> {
  const seen = new Map<string, number[]>();
  let revertedTxs = 0;
  const head = await node.getBlockNumber();
  for (let b = fromBlock + 1; b <= head; b++) {
    for (const tx of (await node.getBlock(b, true))?.prefetchedTransactions ?? []) {
      if (!honest.has(tx.from.toLowerCase())) continue;
      if ((await node.getTransactionReceipt(tx.hash))?.status === 0) {
        revertedTxs++;
        continue;
      }
      if (repeatable.includes(tx.data.slice(0, 10))) continue;
      const key = `${tx.from}:${tx.to}:${tx.data}`;
      seen.set(key, [...(seen.get(key) ?? []), b]);
    }
  }
  let duplicates = 0;
  const duplicated: string[] = [];
  for (const [key, blocks] of seen) {
    if (blocks.length <= 1) continue;
    duplicates += blocks.length - 1;
    const [, to, data] = key.split(":");
    duplicated.push(`${data!.slice(0, 10)} to ${to!.slice(0, 10)} in blocks ${blocks.join(",")}`);
  }
  return { duplicates, revertedTxs, duplicated };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Corrupts a store file in place: `mode` "header" overwrites the first bytes, "pages" zeroes pages. The
 * write-ahead log goes with it (a lost disk cache): otherwise SQLite heals the pages from it.
 */
async function damageStore(file: string, mode: "header" | "pages"): Promise<void> {
  for (const suffix of ["-wal", "-shm"]) await rm(file + suffix, { force: true });
  if (mode === "header") {
    const handle = await open(file, "r+");
    await handle.write(Buffer.from("garbage garbage garbage garbage garbage!"), 0, 40, 0);
    await handle.close();
    return;
  }
  const handle = await open(file, "r+");
  const zero = Buffer.alloc(4096 * 2, 0);
  await handle.write(zero, 0, zero.length, 4096);
  await handle.close();
}

/** The fault classes of the drill, in the order the README's table lists them. */
export function scenarios(scale: { requests: number }): DrillScenario[] {
  const n = scale.requests;
  return [
    {
      name: "malformed JSON-RPC replies (20 %)",
      requests: n,
      inject: async (ctx) => {
        ctx.proxy.set({ malformed: 0.2 });
        await until(ctx, 0.8);
      },
    },
    {
      name: "hung replies (10 %, 5 s > 2 s timeout)",
      requests: n,
      inject: async (ctx) => {
        ctx.proxy.set({ hang: 0.1, hangMs: 5_000 });
        await until(ctx, 0.8);
      },
    },
    {
      name: "connection resets (20 %)",
      requests: n,
      inject: async (ctx) => {
        ctx.proxy.set({ reset: 0.2 });
        await until(ctx, 0.8);
      },
    },
    {
      name: "node outages (2 x 6 s)",
      requests: n,
      inject: async (ctx) => {
        for (let k = 0; k < 2; k++) {
          await sleep(1_500);
          ctx.proxy.set({ outage: true });
          await sleep(6_000);
          ctx.proxy.set({});
        }
      },
    },
    {
      name: "SIGKILL at every step (9 points)",
      requests: n,
      inject: async (ctx) => {
        const points: [string, RegExp][] = [
          // zk requests settle with one fulfill (prove, then fulfill: no claim, submit or finalize).
          ["request seen", /"msg":"request seen"/],
          ["proof made", /"msg":"proved"/],
          ["fulfill sent", /"action":"fulfill".*"msg":"sent"/],
          ["settled", /"msg":"settled"/],
          ["start-up", /"msg":"operator started"/],
          ["proof made", /"msg":"proved"/],
          ["fulfill sent", /"action":"fulfill".*"msg":"sent"/],
          ["request seen", /"msg":"request seen"/],
          ["fulfill sent", /"action":"fulfill".*"msg":"sent"/],
        ];
        let kills = 0;
        const labels: string[] = [];
        for (const [label, point] of points) {
          if (await ctx.settled()) break;
          const hit = await ctx.waitForLog(0, point, 30_000).then(
            () => true,
            () => false,
          );
          await ctx.kill(0);
          kills++;
          if (hit) labels.push(label);
          await ctx.restart(0);
        }
        ctx.note(`${kills} SIGKILLs, after: ${labels.join(", ")}`);
      },
    },
    {
      name: "damaged store (garbage header, zeroed pages)",
      requests: n,
      inject: async (ctx) => {
        for (const mode of ["header", "pages"] as const) {
          await ctx.waitForLog(0, /"msg":"settled"/).catch(() => undefined);
          await ctx.kill(0);
          const store = path.join(ctx.operators[0]!.workDir, "operator.sqlite");
          await damageStore(store, mode);
          await ctx.restart(0);
          await ctx.waitForLog(0, /store damaged: moved aside/, 20_000).then(
            () => ctx.note(`${mode} damaged, store rebuilt from the chain`),
            () => ctx.note(`${mode} damaged, store still readable`),
          );
        }
      },
    },
    {
      name: "chain reorganisations (2-5 blocks)",
      requests: n,
      inject: async (ctx) => {
        // Each reorganisation takes back `depth` blocks of the operator's own transactions (claims,
        // submissions, settlements) and replaces them with a longer branch without them.
        let undoneBlocks = 0;
        for (const depth of [2, 3, 4, 5, 3, 2]) {
          if (undoneBlocks > 0 && (await ctx.settled())) break;
          const snapshot = (await ctx.node.send("evm_snapshot", [])) as string;
          const at = await ctx.node.getBlockNumber();
          const end = Date.now() + 20_000;
          while ((await ctx.node.getBlockNumber()) < at + depth && Date.now() < end) await sleep(20);
          const undone = (await ctx.node.getBlockNumber()) - at;
          await ctx.node.send("evm_revert", [snapshot]);
          for (let b = 0; b <= depth; b++) await ctx.node.send("evm_mine", []);
          undoneBlocks += undone;
          ctx.note(`reorg of ${undone} blocks`);
          await sleep(300);
        }
      },
    },
    {
      name: "stuck, dropped and underpriced transactions",
      requests: n,
      inject: async (ctx) => {
        ctx.proxy.set({ dropTx: 0.4 });
        await ctx.node.send("evm_setAutomine", [false]);
        await ctx.node.send("evm_setIntervalMining", [1_500]);
        ctx.note("interval mining 1.5 s, 3 base-fee spikes to 200 gwei");
        for (let k = 0; k < 3; k++) {
          // A base-fee spike: transactions under it stay pending until replaced or the spike passes.
          await ctx.node.send("hardhat_setNextBlockBaseFeePerGas", ["0x" + (200n * 10n ** 9n).toString(16)]);
          await sleep(4_000);
        }
        await ctx.node.send("evm_setIntervalMining", [0]);
        await ctx.node.send("evm_setAutomine", [true]);
        ctx.proxy.set({ dropTx: 0.2 });
        await until(ctx, 0.6);
      },
    },
    {
      name: "two competing operators",
      requests: n,
      operators: 2,
      inject: async (ctx) => {
        ctx.proxy.set({ malformed: 0.05 });
        await until(ctx, 0.8);
      },
    },
  ];
}

/** Waits until a share of the requests settled (or a while passed), so faults act during the work. */
async function until(ctx: DrillContext, share: number, maxMs = 60_000): Promise<void> {
  const end = Date.now() + maxMs;
  const ids = await ctx.stack.market.requestCount();
  while (Date.now() < end) {
    let done = 0;
    for (let id = 1n; id <= ids; id++) if ((await ctx.stack.market.getRequest(id)).status === 4n) done++;
    if (done >= Number(ids) * share) return;
    await sleep(300);
  }
}

/** Writes the drill table as Markdown. */
export function drillTable(results: DrillResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.fault} | ${r.requests} | ${r.settledExactlyOnce} | ${r.duplicates} | ${r.revertedTxs ?? "-"} | ${r.honestSlashes} | ${r.escrowEqualsLiabilities ? "equal" : "DIFFERENT"} | ${r.seconds} s | ${[
        ...Object.entries(r.faultsInjected).map(([k, v]) => `${k} ${v}`),
        ...(r.notes === "" ? [] : [r.notes]),
      ].join("; ")} |`,
  );
  return [
    "| fault | requests | settled exactly once | duplicates | reverted txs | honest slashes | escrow vs liabilities | time | injected |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

export async function writeDrillResults(file: string, results: DrillResult[]): Promise<void> {
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
}
