// ZkModule with a build whose proofs commit to the input by its SHA-256 (input commitment sha256): the operator's
// executor proves the request's own bytes and one fulfill settles it; a proof of other bytes is refused on chain.
// The market and the module are the ones every zk build uses: only the verifier differs.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, hexlify, parseEther } from "ethers";
import { pino } from "pino";
import { digitsMlpSha256Build } from "../../../scripts/lib/fixtures.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import { MODE_ZK, deployZkModule, registerZkModel } from "../../../scripts/lib/zk.js";
import { ZkExecutor, encodeZkBatchProof, encodeZkProof } from "../../../operator/src/executors/zk.js";
import type { Job } from "../../../operator/src/store.js";
import { decodeInputBytes, encodeInputBytes, encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { runInt } from "../../../verifier-gen/src/intgraph.js";
import {
  loadModelDir,
  proveBatchRequests,
  proveRequest,
  terminateSnarkjs,
} from "../../../verifier-gen/src/pipeline.js";

const { ethers, networkHelpers } = await network.create();
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const silent = pino({ level: "silent" });
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const build = await digitsMlpSha256Build();
const batchBuild = await digitsMlpSha256Build(2);

/** A job as the operator's store holds it for an inline request. */
const jobOf = (requestId: bigint, modelId: bigint, input: Uint8Array): Job => ({
  requestId,
  modelId,
  mode: MODE_ZK,
  state: "claimed",
  input: hexlify(input),
  inputHash: keccak256(input),
  inputURI: "",
  output: null,
  proof: null,
  lastTx: null,
  note: null,
  createdBlock: 0,
  updatedAt: 0,
  failures: 0,
  retryAt: 0,
  settledBlock: 0,
});

describe("ZkModule: a build with input commitment sha256", function () {
  this.timeout(300_000);
  after(terminateSnarkjs);

  async function deployFixture(buildDir: string) {
    const [deployer, treasury, user, operator] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const zk = await deployZkModule(suite, deployer!);
    const { modelId, verifier } = await registerZkModel(suite.registry, deployer!, {
      buildDir,
      artifactURI: `file://${build}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
    });
    await suite.vault.connect(operator!).stake(parseEther("5"), { value: parseEther("5") });
    await suite.vault.connect(operator!).setService(modelId, 0, true);
    return { ...suite, zk, modelId, verifier, user: user!, operator: operator! };
  }
  const deploySha256Fixture = () => deployFixture(build);
  const deployBatchFixture = () => deployFixture(batchBuild);

  async function openRequest(input: Uint8Array) {
    const f = await networkHelpers.loadFixture(deploySha256Fixture);
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE });
    return f;
  }

  it("the operator self-tests the verifier, proves the request's bytes, and one fulfill settles it", async () => {
    // Raw values past the model's range (hi = 31): the circuit clamps them exactly as the verifier used to.
    const input = Uint8Array.from(testSet.inputs[8]!);
    input[20] = 250;
    const f = await openRequest(input);
    const executor = new ZkExecutor(build, silent);
    await executor.selfTest(await f.market.modeConfigOf(1n), ethers.provider);
    const { output, proof } = await executor.execute(jobOf(1n, f.modelId, input));
    const md = loadModelDir(build);
    const label = runInt(md.graph, decodeInputBytes(md.graph, input)).output[0]!;
    expect(output).to.equal(encodeOutput([label]));
    const fee = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
    const tx = f.market.connect(f.operator).fulfill(1n, output, proof);
    await expect(tx).to.emit(f.zk, "ProofVerified").withArgs(1n, f.modelId, f.operator.address, output);
    await expect(tx)
      .to.emit(f.market, "RequestFinalized")
      .withArgs(1n, f.operator.address, output, PRICE - fee, fee);
    const receipt = await (await tx).wait();
    console.log(`      fulfill gas (digits MLP, input commitment sha256, real proof): ${receipt!.gasUsed}`);
    expect((await f.market.getRequest(1n)).status).to.equal(4n);
    expect(await f.market.resultHashOf(1n)).to.equal(keccak256(output));
  });

  it("fulfill refuses a proof of other bytes, even of the same clamped input, and the request stays open", async () => {
    const input = Uint8Array.from(testSet.inputs[9]!);
    input[0] = 99;
    const f = await openRequest(input);
    const md = loadModelDir(build);
    // The canonical bytes of the same model input: the same label, but the proof commits to other bytes.
    const canonical = encodeInputBytes(md.graph, decodeInputBytes(md.graph, input));
    const p = await proveRequest(md, canonical);
    const output = encodeOutput(p.decoded.output);
    // With the request's bytes the verifier refuses the proof; with the bytes it was made for the module refuses
    // them, as not the request's.
    await expect(f.market.connect(f.operator).fulfill(1n, output, encodeZkProof(input, p.calldata)))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidProof")
      .withArgs(1n);
    await expect(
      f.market.connect(f.operator).fulfill(1n, output, encodeZkProof(canonical, p.calldata)),
    ).to.be.revertedWithCustomError(f.zk, "ZkModuleInputMismatch");
    expect((await f.market.getRequest(1n)).status).to.equal(1n);
  });

  describe("a batch of 2 (one hash of both requests' bytes)", () => {
    async function openRequests(inputs: Uint8Array[]) {
      const f = await networkHelpers.loadFixture(deployBatchFixture);
      const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
      for (const input of inputs) {
        await f.market
          .connect(f.user)
          .createRequest(inlineEthRequest(f.modelId, MODE_ZK, input, PRICE, deadline), { value: PRICE });
      }
      return f;
    }
    const twoInputs = () => {
      const inputs = [Uint8Array.from(testSet.inputs[4]!), Uint8Array.from(testSet.inputs[5]!)];
      inputs[0]![30] = 77; // past hi: clamped by the circuit
      return inputs;
    };

    it("the operator self-tests, proves both requests' own bytes, and one fulfillBatch settles both", async () => {
      const inputs = twoInputs();
      const f = await openRequests(inputs);
      const executor = new ZkExecutor(batchBuild, silent);
      expect(executor.batchSize).to.equal(2);
      await executor.selfTest(await f.market.modeConfigOf(1n), ethers.provider);
      const { proof, outputs } = await executor.executeBatch([
        jobOf(1n, f.modelId, inputs[0]!),
        jobOf(2n, f.modelId, inputs[1]!),
      ]);
      const md = loadModelDir(batchBuild);
      inputs.forEach((input, s) =>
        expect(outputs[s]).to.equal(encodeOutput([runInt(md.graph, decodeInputBytes(md.graph, input)).output[0]!])),
      );
      const tx = f.market.connect(f.operator).fulfillBatch([1n, 2n], proof);
      await expect(tx).to.emit(f.zk, "BatchProofVerified");
      const receipt = await (await tx).wait();
      console.log(`      fulfillBatch gas (2 requests, input commitment sha256, real proof): ${receipt!.gasUsed}`);
      for (const [s, id] of [1n, 2n].entries()) {
        expect((await f.market.getRequest(id)).status).to.equal(4n);
        expect(await f.market.resultHashOf(id)).to.equal(keccak256(outputs[s]!));
      }
    });

    it("refuses a proof of the slots swapped or of other bytes for one request, and both stay open", async () => {
      const inputs = twoInputs();
      const f = await openRequests(inputs);
      const md = loadModelDir(batchBuild);
      // A proof of the requests in the other order: each slot's bytes are a request's, but not the id's.
      const swapped = await proveBatchRequests(md, [inputs[1]!, inputs[0]!]);
      const slots = (order: Uint8Array[], p = swapped) =>
        order.map((input, s) => ({ input, output: p.decoded[s]!.output }));
      await expect(
        f.market
          .connect(f.operator)
          .fulfillBatch([1n, 2n], encodeZkBatchProof(swapped.calldata, slots([inputs[1]!, inputs[0]!]))),
      ).to.be.revertedWithCustomError(f.zk, "ZkModuleInputMismatch");
      await expect(
        f.market.connect(f.operator).fulfillBatch([1n, 2n], encodeZkBatchProof(swapped.calldata, slots(inputs))),
      ).to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidBatchProof");
      // The canonical bytes of request 1's clamped input: the same model input, other bytes than the request's.
      const canonical = encodeInputBytes(md.graph, decodeInputBytes(md.graph, inputs[0]!));
      const other = await proveBatchRequests(md, [canonical, inputs[1]!]);
      await expect(
        f.market.connect(f.operator).fulfillBatch([1n, 2n], encodeZkBatchProof(other.calldata, slots(inputs, other))),
      ).to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidBatchProof");
      for (const id of [1n, 2n]) expect((await f.market.getRequest(id)).status).to.equal(1n);
    });
  });
});
