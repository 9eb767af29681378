// End to end over real JSON-RPC: a `hardhat node` process, the operator bot as its own OS process,
// paid requests from an EOA (ETH and ERC-20) and a consumer contract, each settled by one `fulfill`
// transaction that verifies its proof, a SIGKILL mid-batch and a restart, and a cheating operator that is
// rejected on-chain (through fulfill and through a claim), slashed as a no-show, and replaced.
import { encodeOutput } from "../../verifier-gen/src/encoding.js";
import { waitFor } from "../../scripts/lib/wait.js";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { AbiCoder, JsonRpcProvider, ZeroAddress, ZeroHash, hexlify, keccak256, parseEther } from "ethers";
import { loadModelDir, proveInput, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "../../scripts/lib/operator-process.js";
import { MODE_ZK } from "../../scripts/lib/zk.js";
import { type Payer, type ZkStack, ZK_PRICE, deployZkStack, sendZkRequest } from "../../scripts/lib/zk-stack.js";
import { settledOutput } from "../../operator/src/chain/results.js";

const BUILD = "models/build/digits-mlp";
const abi = AbiCoder.defaultAbiCoder();
const ZK_PROOF = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";
const Status = { Open: 1n, Claimed: 2n, Finalized: 4n } as const;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const model = loadModelDir(BUILD);
/** What the registered integer model outputs for sample i: the label every settlement must carry. */
const modelLabel = (i: number): bigint =>
  BigInt(runInt(model.graph, quantizeInput(model.graph, testSet.inputs[i]!)).output[0]!);
const sample = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);

describe("e2e: zk requests served by the operator process over JSON-RPC", function () {
  this.timeout(600_000);
  let node: ChildProcess;
  let operatorProcess: ChildProcess | undefined;
  let provider: JsonRpcProvider;
  let stack: ZkStack;
  let workDir: string;
  let rpcUrl: string;

  const operatorWallet = () => stack.accounts[3]!;
  const startOperator = async (): Promise<void> => {
    const started = await startOperatorProcess({
      workDir,
      rpcUrl,
      market: await stack.market.getAddress(),
      privateKey: operatorWallet().privateKey,
      models: [{ modelId: stack.modelId, artifacts: BUILD, modes: [MODE_ZK] }],
      stakeWei: parseEther("5"),
      metricsPort: 0,
    });
    operatorProcess = started.child;
  };
  const statusOf = async (id: bigint): Promise<bigint> => (await stack.market.getRequest(id)).status;
  const eventsOf = async (id: bigint) => ({
    created: await stack.market.queryFilter(stack.market.filters.RequestCreated(id)),
    claimed: await stack.market.queryFilter(stack.market.filters.RequestClaimed(id)),
    submitted: await stack.market.queryFilter(stack.market.filters.ResultSubmitted(id)),
    finalized: await stack.market.queryFilter(stack.market.filters.RequestFinalized(id)),
  });
  const deadline = async (): Promise<bigint> => BigInt((await provider.getBlock("latest"))!.timestamp + 3600);

  before(async () => {
    ({ child: node, rpcUrl } = await startHardhatNode());
    provider = new JsonRpcProvider(rpcUrl, undefined, {
      polling: true,
      pollingInterval: 100,
      cacheTimeout: -1,
      staticNetwork: true,
    });
    stack = await deployZkStack(provider, BUILD, testSet.labels[2]!);
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-e2e-"));
    await startOperator();
    await waitFor("operator to stake and serve", () =>
      stack.vault.isServing(operatorWallet().address, stack.modelId, 0),
    );
  });

  after(async () => {
    if (operatorProcess) await stopProcess(operatorProcess, "SIGKILL");
    provider?.destroy();
    if (node) await stopProcess(node, "SIGKILL");
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  it("settles ETH and ERC-20 requests from an EOA and a consumer contract, each in one transaction that verifies its proof", async () => {
    const payers: Payer[] = ["user-eth", "user-token", "gate"];
    const ids: bigint[] = [];
    for (let i = 0; i < 3; i++) ids.push(await sendZkRequest(stack, payers[i]!, sample(i), await deadline()));
    await waitFor("first batch settled", async () =>
      (await Promise.all(ids.map(statusOf))).every((s) => s === Status.Finalized),
    );
    const gas: string[] = [];
    for (const [i, id] of ids.entries()) {
      expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(i)]));
      const { claimed, submitted, finalized, created } = await eventsOf(id);
      // No claim, no separate submission: the settling transaction is the one that verified the proof.
      expect([claimed.length, submitted.length, finalized.length]).to.deep.equal([0, 0, 1]);
      const receipt = await provider.getTransactionReceipt(finalized[0]!.transactionHash);
      const proofVerified = stack.zk.interface.getEvent("ProofVerified").topicHash;
      const zkAddress = await stack.zk.getAddress();
      expect(receipt!.logs.some((l) => l.address === zkAddress && l.topics[0] === proofVerified)).to.equal(true);
      expect(receipt!.from).to.equal(operatorWallet().address);
      const createGas = (await provider.getTransactionReceipt(created[0]!.transactionHash))!.gasUsed;
      gas.push(`request ${id}: create ${createGas} + fulfill ${receipt!.gasUsed} = ${createGas + receipt!.gasUsed}`);
    }
    console.log(`      ${gas.join("\n      ")}`);
    const gateEntry = await stack.gate.classification(ids[2]!);
    expect(gateEntry.answered).to.equal(true);
    expect(BigInt(gateEntry.label)).to.equal(modelLabel(2));
    expect(await stack.market.owed(operatorWallet().address, ZeroAddress)).to.be.greaterThan(0n);
    expect(await stack.market.owed(operatorWallet().address, await stack.token.getAddress())).to.be.greaterThan(0n);
  });

  it("survives a SIGKILL mid-batch: after a restart every request settles exactly once", async () => {
    const ids: bigint[] = [];
    for (let i = 3; i < 11; i++) {
      ids.push(await sendZkRequest(stack, i % 2 === 0 ? "user-eth" : "user-token", sample(i), await deadline()));
    }
    await waitFor("first settlement of the batch", async () =>
      (await Promise.all(ids.map(statusOf))).some((s) => s === Status.Finalized),
    );
    await stopProcess(operatorProcess!, "SIGKILL");
    const atKill = await Promise.all(ids.map(statusOf));
    expect(
      atKill.filter((s) => s !== Status.Finalized).length,
      "requests left for the restarted operator",
    ).to.be.greaterThan(0);

    await startOperator();
    await waitFor("whole batch settled after restart", async () =>
      (await Promise.all(ids.map(statusOf))).every((s) => s === Status.Finalized),
    );
    for (const [k, id] of ids.entries()) {
      const { claimed, submitted, finalized } = await eventsOf(id);
      expect([claimed.length, submitted.length, finalized.length], `request ${id} events`).to.deep.equal([0, 0, 1]);
      expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(k + 3)]));
    }
    const stake = await stack.vault.stakeOf(operatorWallet().address);
    expect(stake.locked).to.equal(0n);
    expect(stake.total).to.equal(parseEther("5")); // never slashed
  });

  it("rejects a cheating operator on-chain, slashes its no-show, and the honest bot serves the request", async () => {
    const cheater = stack.accounts[4]!;
    await (await stack.vault.connect(cheater).stake(parseEther("2"), { value: parseEther("2") })).wait();
    await (await stack.vault.connect(cheater).setService(stack.modelId, 0, true)).wait();
    // Stop the honest bot so the cheater wins the claim race; it comes back for the reopened request.
    await stopProcess(operatorProcess!, "SIGTERM");
    const id = await sendZkRequest(stack, "user-eth", sample(20), await deadline());
    const otherProof = await proveInput(model, testSet.inputs[21]!);
    const { a, b, c } = otherProof.calldata;
    const fabricated = {
      a: [1n, 2n],
      b: [
        [1n, 2n],
        [3n, 4n],
      ],
      c: [1n, 2n],
    };
    const cheats: [string, string][] = [
      // A valid proof for another input, submitted with that input.
      [abi.encode([ZK_PROOF], [{ input: hexlify(sample(21)), a, b, c }]), "ZkModuleInputMismatch"],
      // The same proof passed off as being about the request's input.
      [abi.encode([ZK_PROOF], [{ input: hexlify(sample(20)), a, b, c }]), "ZkModuleInvalidProof"],
      // A fabricated proof.
      [abi.encode([ZK_PROOF], [{ input: hexlify(sample(20)), ...fabricated }]), "ZkModuleInvalidProof"],
    ];
    const output = encodeOutput([otherProof.decoded.label!]);
    // Through the one-transaction path first: refused, and the request stays open.
    for (const [proof, error] of cheats) {
      const refusal = await stack.market
        .connect(cheater)
        .fulfill(id, output, proof)
        .then(() => null)
        .catch((e: { data?: string }) => stack.zk.interface.parseError(e.data ?? "0x")?.name);
      expect(refusal, "custom error of the refused fulfill").to.equal(error);
    }
    expect(await statusOf(id)).to.equal(Status.Open);
    await (await stack.market.connect(cheater).claim(id)).wait();
    for (const [proof, error] of cheats) {
      const refusal = await stack.market
        .connect(cheater)
        .submitResult(id, output, proof)
        .then(() => null)
        .catch((e: { data?: string }) => stack.zk.interface.parseError(e.data ?? "0x")?.name);
      expect(refusal, "custom error of the refused submission").to.equal(error);
    }
    expect(await statusOf(id)).to.equal(Status.Claimed);

    await startOperator();
    await provider.send("evm_increaseTime", [Number(await stack.market.claimWindow()) + 1]);
    await provider.send("evm_mine", []);
    await (await stack.market.connect(stack.accounts[2]!).reopen(id)).wait();
    const slashed = (parseEther("0.5") * BigInt(await stack.market.noShowSlashBps())) / 10_000n;
    expect((await stack.vault.stakeOf(cheater.address)).total).to.equal(parseEther("2") - slashed);

    await waitFor(
      "reopened request served by the honest operator",
      async () => (await statusOf(id)) === Status.Finalized,
    );
    expect((await stack.market.getRequest(id)).operator).to.equal(operatorWallet().address);
    expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(20)]));
  });

  it("skips malformed inputs without claiming or crashing; they are refunded after the deadline", async () => {
    const user = stack.accounts[2]!;
    const short = sample(30).slice(0, 63);
    const long = Uint8Array.from([...sample(31), 0]);
    const params = {
      modelId: stack.modelId,
      mode: MODE_ZK,
      token: ZeroAddress,
      maxFee: ZK_PRICE,
      deadline: BigInt((await provider.getBlock("latest"))!.timestamp + 600),
      input: "0x",
      inputHash: ZeroHash,
      inputURI: "",
      callback: ZeroAddress,
      callbackGasLimit: 0,
      termsHash: ZeroHash,
    };
    const bad: bigint[] = [];
    for (const input of [short, long]) bad.push(await sendZkRequest(stack, "user-eth", input, params.deadline));
    // A value beyond the model's range is not malformed: tensor 0 saturates it (clamp), in every mode alike.
    const saturated = sample(35);
    saturated[5] = 200;
    const clampedId = await sendZkRequest(stack, "user-eth", saturated, params.deadline);
    // Input given by hash + data: URI whose bytes do not hash to it.
    const mismatch = await stack.market.connect(user).createRequest(
      {
        ...params,
        inputHash: keccak256(sample(32)),
        inputURI: `data:;base64,${Buffer.from(sample(33)).toString("base64")}`,
      },
      { value: ZK_PRICE },
    );
    await mismatch.wait();
    bad.push(await stack.market.requestCount());
    const good = await sendZkRequest(stack, "user-eth", sample(34), params.deadline);
    await waitFor("the good request behind the bad ones", async () => (await statusOf(good)) === Status.Finalized);
    await waitFor("the saturated request", async () => (await statusOf(clampedId)) === Status.Finalized);
    const clamped = Array.from(saturated, (v) => Math.min(v, model.graph.input.hi));
    const expected = BigInt(runInt(model.graph, clamped).output[0]!);
    expect(await settledOutput(stack.market, clampedId)).to.equal(encodeOutput([expected]));
    for (const id of bad) expect(await statusOf(id), `bad request ${id} left unclaimed`).to.equal(Status.Open);
    expect(operatorProcess!.exitCode, "operator still running").to.equal(null);

    await provider.send("evm_increaseTime", [601]);
    await provider.send("evm_mine", []);
    for (const id of bad) await (await stack.market.connect(user).refund(id)).wait();
    for (const id of bad) expect(await statusOf(id)).to.equal(5n);
  });

  it("exposes Prometheus metrics", async () => {
    // The operator logs the metrics port; read it from the store-adjacent log.
    const log = readFileSync(path.join(workDir, "operator.log"), "utf8");
    const ports = [...log.matchAll(/"port":(\d+)[^\n]*metrics on \/metrics/g)].map((m) => Number(m[1]));
    const port = ports.at(-1);
    expect(port, "metrics port in the log").to.be.a("number");
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const settled = Number(/veriml_requests_settled_total (\d+)/.exec(text)?.[1]);
    expect(settled).to.be.greaterThan(0);
    expect(Number(/veriml_requests_failed_total (\d+)/.exec(text)?.[1]), "bad inputs counted").to.be.greaterThanOrEqual(
      3,
    );
    expect(text).to.match(/veriml_proof_seconds_count \d+/);
  });
});
