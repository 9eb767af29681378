// Batched zk proofs end to end over real JSON-RPC: a batch-4 build of the digits MLP (the committed model, the
// same commitment) registered in zk mode, the operator bot as its own OS process gathering requests within its
// window, one Groth16 proof per 4 requests, one fulfillBatch transaction settling them; padding slots when
// fewer are waiting, a bad input dropped from the batch without losing the others, a batch front-run on one
// request (reverted) batched again without it, and a SIGKILL between the proof and its transaction resumed
// without a second transaction.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { Contract, JsonRpcProvider, ZeroAddress, ZeroHash, parseEther, parseUnits } from "ethers";
import { encodeZkBatchProof } from "../../operator/src/executors/zk.js";
import { settledOutput } from "../../operator/src/chain/results.js";
import { digitsMlpBatchBuild } from "../../scripts/lib/fixtures.js";
import { startHardhatNode } from "../../scripts/lib/hardhat-node.js";
import { startOperatorProcess, stopProcess } from "../../scripts/lib/operator-process.js";
import { waitFor } from "../../scripts/lib/wait.js";
import { MODE_ZK } from "../../scripts/lib/zk.js";
import { ZK_PRICE, deployZkStack, sendZkRequest, type ZkStack } from "../../scripts/lib/zk-stack.js";
import { encodeOutput } from "../../verifier-gen/src/encoding.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { loadModelDir, proveBatch, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";

const K = 4;
const WINDOW_MS = 4_000;
const Status = { Open: 1n, Finalized: 4n } as const;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const single = loadModelDir("models/build/digits-mlp");
/** What the registered model outputs for sample i: what its requester must receive. */
const modelLabel = (i: number): bigint =>
  BigInt(runInt(single.graph, quantizeInput(single.graph, testSet.inputs[i]!)).output[0]!);
const sample = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);

describe("e2e: batched zk proofs (one proof, one transaction, k requests) over JSON-RPC", function () {
  this.timeout(900_000);
  let node: ChildProcess;
  let operator: ChildProcess | undefined;
  let provider: JsonRpcProvider;
  let stack: ZkStack;
  let workDir: string;
  let rpcUrl: string;
  let build: string;

  const operatorWallet = () => stack.accounts[3]!;
  const startOperator = async (): Promise<void> => {
    operator = (
      await startOperatorProcess({
        workDir,
        rpcUrl,
        market: await stack.market.getAddress(),
        privateKey: operatorWallet().privateKey,
        models: [{ modelId: stack.modelId, artifacts: build, modes: [MODE_ZK], batchWindowMs: WINDOW_MS }],
        stakeWei: parseEther("5"),
      })
    ).child;
  };
  const deadline = async (): Promise<bigint> => BigInt((await provider.getBlock("latest"))!.timestamp + 3600);
  const statusOf = async (id: bigint): Promise<bigint> => (await stack.market.getRequest(id)).status;
  /** A paid ETH request for `input` from `from` (no callback). */
  const requestFrom = async (from: ZkStack["accounts"][number], input: Uint8Array): Promise<bigint> => {
    const tx = await stack.market.connect(from).createRequest(
      {
        modelId: stack.modelId,
        mode: MODE_ZK,
        token: ZeroAddress,
        maxFee: ZK_PRICE,
        deadline: await deadline(),
        input,
        inputHash: ZeroHash,
        inputURI: "",
        callback: ZeroAddress,
        callbackGasLimit: 0,
        termsHash: await stack.market.termsHashOf(stack.modelId, MODE_ZK),
      },
      { value: ZK_PRICE },
    );
    const receipt = await tx.wait();
    for (const log of receipt!.logs) {
      const parsed = stack.market.interface.parseLog(log);
      if (parsed?.name === "RequestCreated") return parsed.args.requestId as bigint;
    }
    throw new Error("no request created");
  };
  /** The transactions that settled `ids` (RequestFinalized), and the ids each BatchProofVerified names. */
  const settlement = async (ids: bigint[]) => {
    const txs = new Set<string>();
    for (const id of ids) {
      const events = await stack.market.queryFilter(stack.market.filters.RequestFinalized(id));
      expect(events, `request ${id} settled once`).to.have.length(1);
      txs.add(events[0]!.transactionHash);
    }
    const batches = await stack.zk.queryFilter(stack.zk.filters.BatchProofVerified());
    return { txs, batches: batches.filter((b) => txs.has(b.transactionHash)).map((b) => [...b.args.requestIds]) };
  };

  before(async () => {
    build = await digitsMlpBatchBuild(K);
    ({ child: node, rpcUrl } = await startHardhatNode());
    provider = new JsonRpcProvider(rpcUrl, undefined, {
      polling: true,
      pollingInterval: 100,
      cacheTimeout: -1,
      staticNetwork: true,
    });
    stack = await deployZkStack(provider, build, testSet.labels[2]!);
    workDir = await mkdtemp(path.join(tmpdir(), "veriml-e2e-batch-"));
    await startOperator();
    await waitFor("operator to stake and serve", () =>
      stack.vault.isServing(operatorWallet().address, stack.modelId, 0),
    );
  });

  after(async () => {
    if (operator) await stopProcess(operator, "SIGKILL");
    provider?.destroy();
    if (node) await stopProcess(node, "SIGKILL");
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  it("registers the batch verifier of the same model: BATCH_SIZE 4, the single build's commitment", async () => {
    const verifier = new Contract(
      stack.verifier,
      ["function BATCH_SIZE() view returns (uint256)", "function MODEL_HASH() view returns (bytes32)"],
      provider,
    );
    expect(await verifier.getFunction("BATCH_SIZE")()).to.equal(BigInt(K));
    expect(await verifier.getFunction("MODEL_HASH")()).to.equal(single.manifest.modelHash);
    expect(stack.modelHash).to.equal(single.manifest.modelHash);
  });

  it("settles 4 requests from 4 requesters with one proof in one transaction, each its own output", async () => {
    const [user, other, third] = [stack.accounts[2]!, stack.accounts[5]!, stack.accounts[4]!];
    const samples = [0, 1, 2, 3];
    const ids = [
      await requestFrom(user, sample(samples[0]!)),
      await requestFrom(other, sample(samples[1]!)),
      await sendZkRequest(stack, "gate", sample(samples[2]!), await deadline()),
      await requestFrom(third, sample(samples[3]!)),
    ];
    await waitFor("the batch settled", async () =>
      (await Promise.all(ids.map(statusOf))).every((s) => s === Status.Finalized),
    );
    const { txs, batches } = await settlement(ids);
    expect(txs.size, "one fulfillBatch transaction").to.equal(1);
    expect(batches).to.deep.equal([ids]);
    const receipt = await provider.getTransactionReceipt([...txs][0]!);
    expect(receipt!.from).to.equal(operatorWallet().address);
    expect(receipt!.to).to.equal(await stack.market.getAddress());
    const requesters = [user.address, other.address, await stack.gate.getAddress(), third.address];
    for (const [k, id] of ids.entries()) {
      const r = await stack.market.getRequest(id);
      expect(r.requester, `request ${id}'s requester`).to.equal(requesters[k]);
      expect(r.operator).to.equal(operatorWallet().address);
      expect(await settledOutput(stack.market, id), `request ${id}'s output`).to.equal(
        encodeOutput([modelLabel(samples[k]!)]),
      );
    }
    // The consumer contract got its own label through its callback.
    const entry = await stack.gate.classification(ids[2]!);
    expect(entry.answered).to.equal(true);
    expect(BigInt(entry.label)).to.equal(modelLabel(samples[2]!));
    // No claims: a batch settles open requests directly.
    for (const id of ids)
      expect(await stack.market.queryFilter(stack.market.filters.RequestClaimed(id))).to.have.length(0);
    expect(await stack.market.owed(operatorWallet().address, ZeroAddress)).to.be.greaterThan(0n);
    console.log(`      fulfillBatch of ${K} requests: ${receipt!.gasUsed} gas (${receipt!.gasUsed / BigInt(K)} each)`);
  });

  it("drops a bad input from the batch and settles the rest, padding the empty slots", async () => {
    const user = stack.accounts[2]!;
    const bad = await requestFrom(user, sample(10).slice(0, 63));
    const good = [await requestFrom(user, sample(11)), await requestFrom(user, sample(12))];
    await waitFor("the good requests settled", async () =>
      (await Promise.all(good.map(statusOf))).every((s) => s === Status.Finalized),
    );
    const { txs, batches } = await settlement(good);
    expect(txs.size).to.equal(1);
    expect(batches, "two requests and two padding slots in one proof").to.deep.equal([good]);
    for (const [k, id] of good.entries())
      expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(11 + k)]));
    expect(await statusOf(bad), "the bad request is left open (to its refund)").to.equal(Status.Open);
    expect(operator!.exitCode, "operator still running").to.equal(null);
  });

  it("a batch front-run on one request reverts; the rest are batched again and settle", async () => {
    const user = stack.accounts[2]!;
    const rival = stack.accounts[4]!;
    await (await stack.vault.connect(rival).stake(parseEther("2"), { value: parseEther("2") })).wait();
    await (await stack.vault.connect(rival).setService(stack.modelId, 0, true)).wait();
    const samples = [40, 41, 42];
    const ids: bigint[] = [];
    for (const i of samples) ids.push(await requestFrom(user, sample(i)));
    // Hold the blocks: the operator's fulfillBatch waits in the mempool, and a rival's answer to the first
    // request, paying more, goes in front of it.
    await provider.send("evm_setAutomine", [false]);
    try {
      const market = (await stack.market.getAddress()).toLowerCase();
      const pendingFromOperator = async () => {
        const block = (await provider.send("eth_getBlockByNumber", ["pending", true])) as {
          transactions: { from: string; to: string | null }[];
        };
        return block.transactions.some(
          (t) => t.from.toLowerCase() === operatorWallet().address.toLowerCase() && t.to?.toLowerCase() === market,
        );
      };
      await waitFor("the operator's fulfillBatch in the mempool", pendingFromOperator);
      const batchMd = loadModelDir(build);
      const q0 = quantizeInput(batchMd.graph, testSet.inputs[samples[0]!]!);
      const proved = await proveBatch(
        batchMd,
        Array.from({ length: K }, () => q0),
      );
      const proof = encodeZkBatchProof(
        proved.calldata,
        proved.decoded.map((d) => ({ input: sample(samples[0]!), output: d.output })),
      );
      await stack.market.connect(rival).fulfillBatch([ids[0]!], proof, {
        gasLimit: 2_000_000n,
        maxFeePerGas: parseUnits("200", "gwei"),
        maxPriorityFeePerGas: parseUnits("100", "gwei"),
      });
      await provider.send("evm_mine", []);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
    await waitFor("the other two settled by the operator", async () =>
      (await Promise.all(ids.map(statusOf))).every((s) => s === Status.Finalized),
    );
    expect((await stack.market.getRequest(ids[0]!)).operator, "the front-runner answered the first").to.equal(
      rival.address,
    );
    const { txs, batches } = await settlement(ids.slice(1));
    expect(txs.size).to.equal(1);
    expect(batches, "the rest, batched again").to.deep.equal([ids.slice(1)]);
    for (const [k, id] of ids.entries())
      expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(samples[k]!)]));
    expect(operator!.exitCode, "operator still running").to.equal(null);
  });

  it("a SIGKILL between proving and sending: after a restart the batch settles once, by one transaction", async () => {
    const user = stack.accounts[2]!;
    const logFile = path.join(workDir, "operator.log");
    const proved = () => (readFileSync(logFile, "utf8").match(/"msg":"batch proved"/g) ?? []).length;
    const before = proved();
    const ids: bigint[] = [];
    for (const i of [20, 21, 22, 23]) ids.push(await requestFrom(user, sample(i)));
    await waitFor("the batch proved", async () => proved() > before, { intervalMs: 5 });
    await stopProcess(operator!, "SIGKILL");
    await startOperator();
    await waitFor("the batch settled after the restart", async () =>
      (await Promise.all(ids.map(statusOf))).every((s) => s === Status.Finalized),
    );
    const { txs, batches } = await settlement(ids);
    expect(txs.size).to.equal(1);
    expect(batches).to.deep.equal([ids]);
    for (const [k, id] of ids.entries())
      expect(await settledOutput(stack.market, id)).to.equal(encodeOutput([modelLabel(20 + k)]));
    // Nothing sent twice: since the front-run one, every transaction of the operator succeeded.
    const head = await provider.getBlockNumber();
    let reverted = 0;
    for (let b = 0; b <= head; b++) {
      const block = await provider.getBlock(b, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from !== operatorWallet().address) continue;
        if ((await provider.getTransactionReceipt(tx.hash))!.status !== 1) reverted++;
      }
    }
    expect(reverted, "operator transactions reverted (only the front-run batch)").to.equal(1);
  });
});
