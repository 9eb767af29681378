/**
 * The main job, on Hardhat's in-process chain served over JSON-RPC: deploy the suite, register the
 * digits classifier in zk mode with its generated Groth16 verifier, start the operator bot as a separate
 * process, send a batch of paid requests (ETH and ERC-20 from a user, and through the DigitGate consumer
 * contract), wait until every one is settled with a verified proof, and print what happened.
 *
 * Run: npm run demo           (DEMO_REQUESTS=n changes the batch size)
 */
import { readFile, rm } from "node:fs/promises";
import { network } from "hardhat";
import { AbiCoder, JsonRpcProvider, ZeroAddress, ZeroHash, formatEther, parseEther } from "ethers";
import { DigitGate__factory, MockERC20__factory } from "../types/ethers-contracts/index.js";
import { devAccount } from "./lib/accounts.js";
import { DEFAULT_PARAMETERS, deploySuite } from "./lib/deploy.js";
import { startOperatorProcess, stopProcess } from "./lib/operator-process.js";
import { MODE_ZK, deployZkModule, registerZkModel } from "./lib/zk.js";

const BUILD = "models/build/digits-mlp";
const WORK_DIR = ".veriml/demo";
const BATCH = Number(process.env.DEMO_REQUESTS ?? 6);
const abi = AbiCoder.defaultAbiCoder();

const server = await network.createServer(undefined, "127.0.0.1", 0);
const { address, port } = await server.listen();
const rpcUrl = `http://${address}:${port}`;
// cacheTimeout -1: ethers otherwise reuses a nonce read for 250 ms, and back-to-back transactions collide.
const provider = new JsonRpcProvider(rpcUrl, undefined, { polling: true, pollingInterval: 100, cacheTimeout: -1 });
const [deployer, treasury, user, operator] = [0, 1, 2, 3].map((i) => devAccount(i, provider));
if (!deployer || !treasury || !user || !operator) throw new Error("unreachable");
console.log(`in-process chain on ${rpcUrl}`);

const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
const { market, vault, registry } = suite;
await deployZkModule(suite, deployer);
const price = parseEther("0.01");
const { modelId, verifier, modelHash } = await registerZkModel(registry, deployer, {
  buildDir: BUILD,
  artifactURI: `file://${BUILD}`,
  ethPrice: price,
  operatorStake: parseEther("0.5"),
});
const token = await new MockERC20__factory(deployer).deploy("Demo USD", "DUSD");
const tokenAddress = await token.getAddress();
await (await market.connect(deployer).setTokenAllowed(tokenAddress, true)).wait();
await (await registry.connect(deployer).setPrice(modelId, tokenAddress, parseEther("20"))).wait();
await (await token.mint(user.address, parseEther("1000"))).wait();
await (await token.connect(user).approve(await market.getAddress(), parseEther("1000"))).wait();
const testSet = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
// The gate opens for the digit its first request carries (sample 2), so the demo shows it opening.
const targetDigit = testSet.labels[2]!;
const gate = await new DigitGate__factory(deployer).deploy(await market.getAddress(), modelId, MODE_ZK, targetDigit);
await gate.waitForDeployment();
console.log(
  `market ${await market.getAddress()}  model ${modelId} (modelHash ${modelHash.slice(0, 18)}..., verifier ${verifier})`,
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

interface Sent {
  requestId: bigint;
  payer: string;
  label: number;
  sentAt: number;
}
const sent: Sent[] = [];
const deadline = BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
for (let i = 0; i < BATCH; i++) {
  const input = Uint8Array.from(testSet.inputs[i]!);
  const kind = i % 3; // 0: ETH from the user, 1: ERC-20 from the user, 2: via the DigitGate consumer
  const sentAt = performance.now();
  const params = {
    modelId,
    mode: MODE_ZK,
    token: kind === 1 ? tokenAddress : ZeroAddress,
    maxFee: kind === 1 ? parseEther("20") : price,
    deadline,
    input,
    inputHash: ZeroHash,
    inputURI: "",
    callback: ZeroAddress,
    callbackGasLimit: 0,
  };
  const tx =
    kind === 2
      ? await gate.connect(user).submitDigit(input, deadline, { value: price })
      : await market.connect(user).createRequest(params, { value: kind === 0 ? price : 0n });
  const receipt = await tx.wait();
  const created = receipt!.logs.map((l) => market.interface.parseLog(l)).find((e) => e?.name === "RequestCreated");
  sent.push({
    requestId: created!.args.requestId as bigint,
    payer: ["user, ETH", "user, DUSD", "DigitGate"][kind]!,
    label: testSet.labels[i]!,
    sentAt,
  });
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
const header = ["request", "payer", "true label", "output", "verified", "gas (submit+finalize)", "latency"];
const rows: string[][] = [];
let totalGas = 0n;
for (const s of sent) {
  const [submitted] = await market.queryFilter(market.filters.ResultSubmitted(s.requestId));
  const [finalized] = await market.queryFilter(market.filters.RequestFinalized(s.requestId));
  const submitReceipt = await provider.getTransactionReceipt(submitted!.transactionHash);
  const finalizeReceipt = await provider.getTransactionReceipt(finalized!.transactionHash);
  const verified = submitReceipt!.logs.some((l) => l.address === zkAddress);
  const gas = submitReceipt!.gasUsed + finalizeReceipt!.gasUsed;
  totalGas += gas;
  const output = abi.decode(["uint256"], await market.resultOf(s.requestId))[0] as bigint;
  rows.push([
    s.requestId.toString(),
    s.payer,
    String(s.label),
    output.toString(),
    verified ? "Groth16 ok" : "NO",
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
  `\n${correct}/${rows.length} outputs match the true label; mean gas per settled request ${totalGas / BigInt(rows.length)}`,
);

console.log(
  `DigitGate (target 7): ${await gate.labelCount(7)} verified 7s; user passed: ${await gate.passed(user.address)}`,
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
const ethHeld = await provider.getBalance(marketAddress);
const tokenHeld = await token.balanceOf(marketAddress);
console.log(
  `escrow: holds ${formatEther(ethHeld)} ETH / ${formatEther(tokenHeld)} DUSD against liabilities ` +
    `${formatEther(await market.liabilities(ZeroAddress))} ETH / ${formatEther(await market.liabilities(tokenAddress))} DUSD ` +
    `(open requests: ${sent.length - settledAt.size})`,
);
const stake = await vault.stakeOf(operator.address);
console.log(`operator stake: ${formatEther(stake.total)} ETH, locked ${formatEther(stake.locked)} ETH`);

await stopProcess(child, "SIGTERM");
provider.destroy();
await server.close();
