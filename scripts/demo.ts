/**
 * The main job, on Hardhat's in-process chain served over JSON-RPC: deploy the suite, register the
 * digits classifier in zk mode with its generated Groth16 verifier, start the operator bot as a separate
 * process, send a batch of paid requests (ETH and ERC-20 from a user, and through the DigitGate consumer
 * contract), wait until every one is settled with a verified proof (one `fulfill` transaction each), and print
 * what happened with the gas of each request's two transactions.
 *
 * Run: npm run demo           (DEMO_REQUESTS=n changes the batch size)
 */
import { startInProcessChain } from "./lib/in-process-chain.js";
import { readFile, rm } from "node:fs/promises";
import { ZeroAddress, formatEther, parseEther } from "ethers";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";
import { MODE_ZK } from "./lib/zk.js";
import { decodeOutput } from "../verifier-gen/src/encoding.js";
import { type Payer, deployZkStack, sendZkRequest } from "./lib/zk-stack.js";
import { settledOutput } from "../operator/src/chain/results.js";

const BUILD = "models/build/digits-mlp";
const WORK_DIR = ".veriml/demo";
const BATCH = Number(process.env.DEMO_REQUESTS ?? 6);

const chain = await startInProcessChain();
const { rpcUrl, provider } = chain;
console.log(`in-process chain on ${rpcUrl}`);

const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
// The gate opens for the digit of its first request (sample 2), so the demo shows it opening.
const targetDigit = testSet.labels[2]!;
const stack = await deployZkStack(provider, BUILD, targetDigit);
const { market, vault, registry, token, gate, modelId } = stack;
const [, treasury, user, operator] = stack.accounts as [
  never,
  (typeof stack.accounts)[0],
  (typeof stack.accounts)[0],
  (typeof stack.accounts)[0],
];
const tokenAddress = await token.getAddress();
console.log(
  `market ${await market.getAddress()}  model ${modelId} (modelHash ${stack.modelHash.slice(0, 18)}..., verifier ${stack.verifier})`,
);

await rm(WORK_DIR, { recursive: true, force: true });
const { child, logFile } = await startOperatorProcess({
  workDir: WORK_DIR,
  rpcUrl,
  market: await market.getAddress(),
  privateKey: operator.privateKey,
  models: [{ modelId, artifacts: BUILD, modes: [MODE_ZK] }],
  stakeWei: parseEther("5"),
});
console.log(`operator ${operator.address} started as pid ${child.pid} (log: ${logFile})`);
const startWait = Date.now();
while (!(await vault.isServing(operator.address, modelId, 0))) {
  if (Date.now() - startWait > 60_000) throw new Error(`operator did not start; see ${logFile}`);
  await new Promise((r) => setTimeout(r, 200));
}

const PAYERS: Payer[] = ["user-eth", "user-token", "gate"];
const PAYER_NAMES: Record<Payer, string> = { "user-eth": "user, ETH", "user-token": "user, DUSD", gate: "DigitGate" };
const sent: { requestId: bigint; payer: Payer; label: number; sentAt: number }[] = [];
const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
for (let i = 0; i < BATCH; i++) {
  const payer = PAYERS[i % PAYERS.length]!;
  const sentAt = performance.now();
  const requestId = await sendZkRequest(stack, payer, Uint8Array.from(testSet.inputs[i]!), deadline);
  sent.push({ requestId, payer, label: testSet.labels[i]!, sentAt });
}
console.log(`sent ${BATCH} paid requests; waiting for verified settlement...\n`);

const settledAt = new Map<bigint, number>();
const waitStart = Date.now();
while (settledAt.size < sent.length) {
  for (const s of sent) {
    if (!settledAt.has(s.requestId) && (await market.getRequest(s.requestId)).status === 4n) {
      settledAt.set(s.requestId, performance.now());
    }
  }
  if (Date.now() - waitStart > 300_000) throw new Error(`not all requests settled; see ${logFile}`);
  await new Promise((r) => setTimeout(r, 100));
}

const zkAddress = await registry.moduleOf(MODE_ZK);
const header = ["request", "payer", "true label", "output", "verified", "gas: create", "fulfill", "whole", "latency"];
const rows: string[][] = [];
let totalGas = 0n;
for (const s of sent) {
  // One transaction answered, verified and settled each request: the fulfill that emitted RequestFinalized.
  const [created] = await market.queryFilter(market.filters.RequestCreated(s.requestId));
  const [finalized] = await market.queryFilter(market.filters.RequestFinalized(s.requestId));
  const createReceipt = await provider.getTransactionReceipt(created!.transactionHash);
  const settleReceipt = await provider.getTransactionReceipt(finalized!.transactionHash);
  const verified = settleReceipt!.logs.some((l) => l.address === zkAddress);
  const gas = createReceipt!.gasUsed + settleReceipt!.gasUsed;
  totalGas += gas;
  const [output] = decodeOutput(await settledOutput(market, s.requestId));
  rows.push([
    s.requestId.toString(),
    PAYER_NAMES[s.payer],
    String(s.label),
    String(output),
    verified ? "Groth16 ok" : "NO",
    createReceipt!.gasUsed.toString(),
    settleReceipt!.gasUsed.toString(),
    gas.toString(),
    `${((settledAt.get(s.requestId)! - s.sentAt) / 1000).toFixed(2)} s`,
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
const correct = rows.filter((r) => r[2] === r[3]).length;
console.log(
  `\n${correct}/${rows.length} outputs match the true label; mean gas per request, create + fulfill: ${totalGas / BigInt(rows.length)}`,
);
console.log(
  `DigitGate (target ${targetDigit}): ${await gate.labelCount(targetDigit)} verified ${targetDigit}s; ` +
    `user passed the gate: ${await gate.passed(user.address)}`,
);
console.log(
  `operator earnings (withdrawable): ${formatEther(await market.owed(operator.address, ZeroAddress))} ETH, ` +
    `${formatEther(await market.owed(operator.address, tokenAddress))} DUSD`,
);
console.log(
  `treasury (protocol fee): ${formatEther(await market.owed(treasury.address, ZeroAddress))} ETH, ` +
    `${formatEther(await market.owed(treasury.address, tokenAddress))} DUSD`,
);
const marketAddress = await market.getAddress();
console.log(
  `escrow: holds ${formatEther(await provider.getBalance(marketAddress))} ETH / ` +
    `${formatEther(await token.balanceOf(marketAddress))} DUSD against liabilities ` +
    `${formatEther(await market.liabilities(ZeroAddress))} ETH / ${formatEther(await market.liabilities(tokenAddress))} DUSD ` +
    `(open requests: ${sent.length - settledAt.size})`,
);
const stake = await vault.stakeOf(operator.address);
console.log(`operator stake: ${formatEther(stake.total)} ETH, locked ${formatEther(stake.locked)} ETH`);

await stopProcess(child, "SIGTERM");
await chain.close();
