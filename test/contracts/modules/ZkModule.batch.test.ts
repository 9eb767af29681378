// Batch settlement: one proof of a k-slot circuit settles up to k zk requests (InferenceMarket.fulfillBatch ->
// ZkModule.onFulfillBatch -> verifier.verifyInferences). The verifier is the one verifier-gen generates for a
// batch circuit of the digits MLP (the real template, packing, MSM and pairing), under a key whose toxic waste the
// test holds (scripts/lib/forgeable-groth16.ts), so proofs exist before the batch circuit does; it accepts only
// proofs made for exactly the slots it packs. The real batch circuit end to end is tested with its build.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { network } from "hardhat";
import {
  ContractFactory,
  ZeroAddress,
  concat,
  getBytes,
  keccak256,
  parseEther,
  toBeHex,
  toBigInt,
  type Signer,
} from "ethers";
import { DEFAULT_PARAMETERS, deploySuite, registerModel } from "../../../scripts/lib/deploy.js";
import { forgeableBatchVerifier, type ForgeableBatchVerifier } from "../../../scripts/lib/forgeable-groth16.js";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { MODE_ZK, deployZkModule, zkConfigFor } from "../../../scripts/lib/zk.js";
import { encodeZkBatchProof, encodeZkProof } from "../../../operator/src/executors/zk.js";
import { encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { loadModelDir, terminateSnarkjs } from "../../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../../verifier-gen/src/quantize.js";
import { expectSolvent } from "../../helpers/invariants.js";
import type { HostileConsumer } from "../../../types/ethers-contracts/index.js";

const { ethers, networkHelpers } = await network.create();
const MLP = "models/build/digits-mlp";
const md = loadModelDir(MLP);
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const FEE_BPS = BigInt(DEFAULT_PARAMETERS.protocolFeeBps);
const PAYMENT = PRICE - (PRICE * FEE_BPS) / 10_000n;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
const q = (i: number): number[] => quantizeInput(md.graph, testSet.inputs[i]!);
const MODE_OTHER = 1;
enum Status {
  None,
  Open,
  Claimed,
  Submitted,
  Finalized,
  Refunded,
}

describe("ZkModule batch settlement (fulfillBatch)", function () {
  this.timeout(600_000);
  const verifiers = new Map<number, ForgeableBatchVerifier>();
  async function batchVerifier(k: number): Promise<ForgeableBatchVerifier> {
    let v = verifiers.get(k);
    if (v === undefined) {
      v = await forgeableBatchVerifier(md, k);
      verifiers.set(k, v);
    }
    return v;
  }
  after(async () => {
    for (const v of verifiers.values()) await v.close();
    await terminateSnarkjs();
  });

  async function deployFor(k: number) {
    const v = await batchVerifier(k);
    const [deployer, treasury, user, operator, other, outsider] = await ethers.getSigners();
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const zk = await deployZkModule(suite, deployer!);
    const verifier = await new ContractFactory(v.artifact.abi as object[], v.artifact.bytecode, deployer!).deploy();
    const verifierAddress = await verifier.getAddress();
    const config = await zkConfigFor(verifierAddress, deployer!);
    const modelId = await registerModel(suite.registry, deployer!, {
      modelHash: md.manifest.modelHash,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      modes: [{ mode: MODE_ZK, config }],
    });
    // A second model under the same verifier code is another model: its requests never share a batch.
    const otherModel = await registerModel(suite.registry, deployer!, {
      modelHash: md.manifest.modelHash,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      modes: [{ mode: MODE_ZK, config }],
    });
    for (const op of [operator!, other!]) {
      await suite.vault.connect(op).stake(parseEther("5"), { value: parseEther("5") });
      await suite.vault.connect(op).setService(modelId, 0, true);
      await suite.vault.connect(op).setService(otherModel, 0, true);
    }
    const token = await ethers.deployContract("MockERC20", ["Demo USD", "DUSD"]);
    await suite.market.connect(deployer!).setTokenAllowed(await token.getAddress(), true);
    await suite.registry.connect(deployer!).setPrice(modelId, await token.getAddress(), parseEther("5"));
    await token.mint(user!.address, parseEther("1000"));
    await token.connect(user!).approve(await suite.market.getAddress(), ethers.MaxUint256);
    return {
      ...suite,
      zk,
      v,
      k,
      verifier: verifierAddress,
      config,
      modelId,
      otherModel,
      token,
      deployer: deployer!,
      treasury: treasury!,
      user: user!,
      operator: operator!,
      other: other!,
      outsider: outsider!,
    };
  }
  const deploy4 = () => deployFor(4);
  type F = Awaited<ReturnType<typeof deployFor>>;

  async function request(f: F, i: number, overrides: { modelId?: bigint; token?: string; from?: Signer } = {}) {
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    const params = inlineEthRequest(overrides.modelId ?? f.modelId, MODE_ZK, f.v.slot(q(i)).input, PRICE, deadline);
    if (overrides.token !== undefined) {
      await f.market
        .connect(overrides.from ?? f.user)
        .createRequest({ ...params, token: overrides.token, maxFee: parseEther("5") });
    } else {
      await f.market.connect(overrides.from ?? f.user).createRequest(params, { value: PRICE });
    }
    return f.market.requestCount();
  }

  /** The batch proof of `slots` (test-set indices), padded to k with copies of the first. */
  function batchProof(f: F, slots: number[], mutate?: (s: { input: string; output: bigint[] }[]) => void): string {
    const padded = [...slots];
    while (padded.length < f.k) padded.push(slots[0]!);
    const view = padded.map((i) => ({ input: f.v.slot(q(i)).input, output: f.v.slot(q(i)).output }));
    const proof = f.v.prove(padded.map(q));
    mutate?.(view);
    return encodeZkBatchProof(proof, view);
  }

  it("settles four requests with one proof: each paid to the submitter, its output delivered and its hash stored", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const slots = [0, 1, 2, 3];
    const ids: bigint[] = [];
    for (const i of slots) ids.push(await request(f, i));
    const tx = f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, slots));
    await expect(tx).to.emit(f.zk, "BatchProofVerified").withArgs(f.modelId, f.operator.address, ids);
    const fee = (PRICE * FEE_BPS) / 10_000n;
    for (const [j, id] of ids.entries()) {
      const output = encodeOutput(f.v.slot(q(slots[j]!)).output);
      await expect(tx).to.emit(f.market, "RequestFinalized").withArgs(id, f.operator.address, output, PAYMENT, fee);
      const r = await f.market.getRequest(id);
      expect(r.status).to.equal(BigInt(Status.Finalized));
      expect(r.operator).to.equal(f.operator.address);
      expect(await f.market.resultHashOf(id)).to.equal(keccak256(output));
    }
    // One credit per token for the whole batch.
    await expect(tx)
      .to.emit(f.market, "PaymentCredited")
      .withArgs(f.operator.address, ZeroAddress, PAYMENT * 4n);
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PAYMENT * 4n);
    expect(await f.market.owed(f.treasury.address, ZeroAddress)).to.equal(fee * 4n);
    // Nothing was locked: no claim, no stake at risk.
    expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(0n);
    await expectSolvent(ethers.provider, f.market, f.vault);
  });

  it("a partial batch: two requests, two padding slots that deliver nothing", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const a = await request(f, 5);
    const b = await request(f, 6);
    const unrelated = await request(f, 7);
    // Padding with a copy of an open request's slot does not settle that request.
    const proof = batchProof(f, [5, 6, 7, 7]);
    await f.market.connect(f.operator).fulfillBatch([a, b], proof);
    expect((await f.market.getRequest(a)).status).to.equal(BigInt(Status.Finalized));
    expect((await f.market.getRequest(b)).status).to.equal(BigInt(Status.Finalized));
    expect((await f.market.getRequest(unrelated)).status).to.equal(BigInt(Status.Open));
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PAYMENT * 2n);
  });

  it("mixes ETH and ERC-20 requests of the same model: each token credited separately", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const token = await f.token.getAddress();
    const ids = [
      await request(f, 0),
      await request(f, 1, { token }),
      await request(f, 2, { token }),
      await request(f, 3),
    ];
    await f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, [0, 1, 2, 3]));
    const tokenPrice = parseEther("5");
    expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PAYMENT * 2n);
    expect(await f.market.owed(f.operator.address, token)).to.equal(
      (tokenPrice - (tokenPrice * FEE_BPS) / 10_000n) * 2n,
    );
    expect(await f.market.liabilities(token)).to.equal(await f.token.balanceOf(await f.market.getAddress()));
  });

  it("each callback runs with its own gas limit; a failing consumer blocks neither settlement nor the others", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const label = Number(f.v.slot(q(0)).output[0]);
    const gate = await ethers.deployContract("DigitGate", [
      await f.market.getAddress(),
      f.modelId,
      MODE_ZK,
      label,
      await f.market.termsHashOf(f.modelId, MODE_ZK),
    ]);
    const hostile: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
    await hostile.setBehaviour(0); // Revert
    const burner: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
    await burner.setBehaviour(1); // BurnGas
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await gate.connect(f.user).submitDigit(f.v.slot(q(0)).input, deadline, { value: PRICE });
    const gateId = await f.market.requestCount();
    const withCallback = (c: string, i: number) => ({
      ...inlineEthRequest(f.modelId, MODE_ZK, f.v.slot(q(i)).input, PRICE, deadline),
      callback: c,
      callbackGasLimit: 200_000,
    });
    await hostile.request(withCallback(await hostile.getAddress(), 1), { value: PRICE });
    const hostileId = await f.market.requestCount();
    await burner.request(withCallback(await burner.getAddress(), 2), { value: PRICE });
    const burnerId = await f.market.requestCount();
    await gate.connect(f.other).submitDigit(f.v.slot(q(3)).input, deadline, { value: PRICE });
    const gate2 = await f.market.requestCount();
    const ids = [gateId, hostileId, burnerId, gate2];
    const tx = f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, [0, 1, 2, 3]), { gasLimit: 3_000_000 });
    await expect(tx)
      .to.emit(f.market, "CallbackExecuted")
      .withArgs(gateId, await gate.getAddress(), true);
    await expect(tx)
      .to.emit(f.market, "CallbackExecuted")
      .withArgs(hostileId, await hostile.getAddress(), false);
    await expect(tx)
      .to.emit(f.market, "CallbackExecuted")
      .withArgs(burnerId, await burner.getAddress(), false);
    await expect(tx)
      .to.emit(f.market, "CallbackExecuted")
      .withArgs(gate2, await gate.getAddress(), true);
    expect(await gate.passed(f.user.address)).to.equal(true);
    for (const id of ids) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Finalized));
  });

  it("refuses a batch too short of gas for every callback's full limit (a fulfiller cannot starve one)", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const burner: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
    await burner.setBehaviour(1); // BurnGas: uses all it is given
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    const ids: bigint[] = [];
    for (const i of [0, 1]) {
      await burner.request(
        {
          ...inlineEthRequest(f.modelId, MODE_ZK, f.v.slot(q(i)).input, PRICE, deadline),
          callback: await burner.getAddress(),
          callbackGasLimit: 500_000,
        },
        { value: PRICE },
      );
      ids.push(await f.market.requestCount());
    }
    await expect(
      f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, [0, 1]), { gasLimit: 1_200_000 }),
    ).to.be.revertedWithCustomError(f.market, "InferenceMarketInsufficientGas");
    for (const id of ids) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Open));
  });

  it("refuses an empty batch, repeated or unordered ids, and requests of another model", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const a = await request(f, 0);
    const b = await request(f, 1);
    const foreign = await request(f, 2, { modelId: f.otherModel });
    const proof = batchProof(f, [0, 1, 2]);
    await expect(f.market.connect(f.operator).fulfillBatch([], proof)).to.be.revertedWithCustomError(
      f.market,
      "InferenceMarketEmptyBatch",
    );
    await expect(f.market.connect(f.operator).fulfillBatch([a, a], batchProof(f, [0, 0])))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketBatchOrder")
      .withArgs(1n, a, a);
    await expect(f.market.connect(f.operator).fulfillBatch([b, a], batchProof(f, [1, 0])))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketBatchOrder")
      .withArgs(1n, b, a);
    await expect(f.market.connect(f.operator).fulfillBatch([a, b, foreign], proof))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketBatchMismatch")
      .withArgs(foreign, a);
    await expect(f.market.connect(f.operator).fulfillBatch([a, 99n], proof))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
      .withArgs(99n);
  });

  it("refuses a slot that is not its request's input, a wrong output, a mangled proof and a misshapen batch", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const ids = [await request(f, 0), await request(f, 1)];
    // Slot 1 carries another input (with a valid proof for it): not request 2's input.
    await expect(f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, [0, 9])))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInputMismatch")
      .withArgs(ids[1], keccak256(f.v.slot(q(1)).input), keccak256(f.v.slot(q(9)).input));
    // The right inputs, slot 0's output changed after proving.
    const wrongOutput = batchProof(f, [0, 1], (s) => {
      s[0]!.output = [(s[0]!.output[0]! + 1n) % 10n];
    });
    await expect(f.market.connect(f.operator).fulfillBatch(ids, wrongOutput))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleInvalidBatchProof")
      .withArgs(ids[0], 2n);
    // A padding slot changed after proving: the proof covers every slot, padding included.
    const wrongPadding = batchProof(f, [0, 1], (s) => {
      s[3]!.output = [(s[3]!.output[0]! + 1n) % 10n];
    });
    await expect(f.market.connect(f.operator).fulfillBatch(ids, wrongPadding)).to.be.revertedWithCustomError(
      f.zk,
      "ZkModuleInvalidBatchProof",
    );
    // Too few slots for the verifier.
    const three = encodeZkBatchProof(
      f.v.prove([q(0), q(1), q(0), q(0)]),
      [0, 1, 0].map((i) => ({ ...f.v.slot(q(i)) })),
    );
    await expect(f.market.connect(f.operator).fulfillBatch(ids, three))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleBatchShape")
      .withArgs(2n, 3n, 3n, 4n);
    // More requests than slots.
    const five = [...ids, await request(f, 2), await request(f, 3), await request(f, 4)];
    await expect(f.market.connect(f.operator).fulfillBatch(five, batchProof(f, [0, 1, 2, 3])))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleBatchShape")
      .withArgs(5n, 4n, 4n, 4n);
    for (const id of five) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Open));
  });

  it("reads the batch proof by its offsets: tails in another order bind the same slots; other shapes are refused", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const ids = [await request(f, 0), await request(f, 1)];
    const canonical = batchProof(f, [0, 1]);
    const bytes = getBytes(canonical);
    const word = (at: number) => toBigInt(bytes.slice(at, at + 32));
    const head = 32; // after the struct's offset word: a, b, c (8 words), then the two arrays' offsets
    const inputsAt = head + Number(word(head + 8 * 32));
    const outputsAt = head + Number(word(head + 9 * 32));
    // The outputs' tail first, then the inputs': another encoding of the same proof, read by both the module
    // (the hashes it checks, the outputs it delivers) and the verifier (the slots it checks).
    const reordered = concat([
      bytes.slice(0, head + 8 * 32),
      toBeHex(320 + bytes.length - outputsAt, 32),
      toBeHex(320, 32),
      bytes.slice(outputsAt),
      bytes.slice(inputsAt, outputsAt),
    ]);
    expect(reordered).to.not.equal(canonical);
    for (const bad of [
      concat([canonical, "0x00"]), // not a whole number of words
      concat([toBeHex(0x40, 32), bytes.slice(32)]), // not the struct's offset word
      bytes.slice(0, 11 * 32 - 32), // shorter than the head
    ]) {
      await expect(f.market.connect(f.operator).fulfillBatch(ids, bad))
        .to.be.revertedWithCustomError(f.zk, "ZkModuleBadBatchProof")
        .withArgs(getBytes(bad).length);
    }
    // An array's own offset pointing backward (a header read from before the proof) or past the head's end and the
    // proof's: refused before any slot is read.
    const arrayOffset = (index: 8 | 9, value: bigint) =>
      concat([bytes.slice(0, head + index * 32), toBeHex(value, 32), bytes.slice(head + (index + 1) * 32)]);
    for (const index of [8, 9] as const) {
      for (const value of [2n ** 256n - 32n * 12n, 9n * 32n, BigInt(bytes.length - head - 32) + 1n, 2n ** 64n]) {
        const bad = arrayOffset(index, value);
        await expect(f.market.connect(f.operator).fulfillBatch(ids, bad))
          .to.be.revertedWithCustomError(f.zk, "ZkModuleBadBatchProof")
          .withArgs(getBytes(bad).length);
      }
    }
    // A backward element offset: slot 0's output (or input) read from the proof's own offset word and head, which
    // are not among the verifier's arguments (it would see an empty slot): refused by the module itself.
    const backward = (arrayAt: number) =>
      concat([bytes.slice(0, arrayAt + 32), toBeHex(2n ** 256n - BigInt(arrayAt + 32), 32), bytes.slice(arrayAt + 64)]);
    for (const at of [outputsAt, inputsAt]) {
      await expect(f.market.connect(f.operator).fulfillBatch(ids, backward(at)))
        .to.be.revertedWithCustomError(f.zk, "ZkModuleBadBatchSlot")
        .withArgs(0n);
    }
    // Cut short by its last word (the last slot's output value): refused, nothing settles.
    await expect(f.market.connect(f.operator).fulfillBatch(ids, bytes.slice(0, bytes.length - 32))).to.be.revert(
      ethers,
    );
    for (const id of ids) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Open));
    const tx = f.market.connect(f.operator).fulfillBatch(ids, reordered);
    for (const [j, id] of ids.entries()) {
      const output = encodeOutput(f.v.slot(q(j)).output);
      await expect(tx)
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, output, PAYMENT, anyValue);
    }
  });

  it("a slot aliased to another's bytes by a backward offset inside the arguments binds those bytes on both sides", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    // Two requests for the same input: slot 1's input offset made to point at slot 0's bytes.
    const ids = [await request(f, 0), await request(f, 0)];
    const bytes = getBytes(batchProof(f, [0, 0]));
    const inputsAt = 32 + Number(toBigInt(bytes.slice(32 + 8 * 32, 32 + 9 * 32)));
    const aliased = concat([
      bytes.slice(0, inputsAt + 64),
      bytes.slice(inputsAt + 32, inputsAt + 64), // slot 1's offset := slot 0's
      bytes.slice(inputsAt + 96),
    ]);
    await f.market.connect(f.operator).fulfillBatch(ids, aliased);
    for (const id of ids) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Finalized));
  });

  it("refuses the single-result paths for a batch verifier", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const id = await request(f, 0);
    const p = f.v.prove([q(0), q(0), q(0), q(0)]);
    const single = encodeZkProof(f.v.slot(q(0)).input, p);
    await expect(f.market.connect(f.operator).fulfill(id, encodeOutput(f.v.slot(q(0)).output), single))
      .to.be.revertedWithCustomError(f.zk, "ZkModuleBatchVerifier")
      .withArgs(id, 4n);
  });

  it("refuses after the deadline, while paused, twice, from a non-operator and on another's claim", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const ids = [await request(f, 0), await request(f, 1)];
    const proof = batchProof(f, [0, 1]);
    await expect(f.market.connect(f.outsider).fulfillBatch(ids, proof))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketNotServing")
      .withArgs(f.modelId, f.outsider.address);
    await f.market.connect(f.deployer).pause();
    await expect(f.market.connect(f.operator).fulfillBatch(ids, proof)).to.be.revertedWithCustomError(
      f.market,
      "EnforcedPause",
    );
    await f.market.connect(f.deployer).unpause();
    // Claimed by the other operator: its claim is exclusive.
    await f.market.connect(f.other).claim(ids[1]!);
    await expect(f.market.connect(f.operator).fulfillBatch(ids, proof))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongOperator")
      .withArgs(ids[1], f.operator.address, f.other.address);
    // The claimant may include its own claim: settled, and its lock released (the open request had none).
    const settled = await (await f.market.connect(f.other).fulfillBatch(ids, proof)).wait();
    expect((await f.vault.stakeOf(f.other.address)).locked).to.equal(0n);
    const unlocked = settled!.logs
      .map((log) => {
        try {
          return f.vault.interface.parseLog(log);
        } catch {
          return null;
        }
      })
      .filter((e) => e?.name === "StakeUnlocked");
    expect(unlocked.map((e) => e!.args.lockId)).to.deep.equal([
      await f.market.operatorLockId(ids[1]!, f.other.address),
    ]);
    await expect(f.market.connect(f.operator).fulfillBatch(ids, proof))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
      .withArgs(ids[0], BigInt(Status.Finalized));
    const late = [await request(f, 2)];
    const r = await f.market.getRequest(late[0]!);
    await networkHelpers.time.increase(3601);
    await expect(f.market.connect(f.operator).fulfillBatch(late, batchProof(f, [2])))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
      .withArgs(late[0], r.deadline, anyValue);
  });

  it("refuses a request whose module does not settle on submission", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const mock = await ethers.deployContract("MockVerificationModule", [await f.market.getAddress()]);
    await mock.setInstant(false);
    await f.registry.connect(f.deployer).setModeModule(MODE_OTHER, await mock.getAddress());
    await f.registry.connect(f.deployer).configureMode(f.modelId, MODE_OTHER, "0x");
    const zkId = await request(f, 0);
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    const other = inlineEthRequest(f.modelId, MODE_OTHER, f.v.slot(q(1)).input, PRICE, deadline);
    await f.market.connect(f.user).createRequest(other, { value: PRICE });
    const otherId = await f.market.requestCount();
    await expect(f.market.connect(f.operator).fulfillBatch([zkId, otherId], batchProof(f, [0, 1])))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketBatchMismatch")
      .withArgs(otherId, zkId);
    await expect(f.market.connect(f.operator).fulfillBatch([otherId], batchProof(f, [1])))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketNotInstant")
      .withArgs(otherId, await mock.getAddress());
  });

  it("registers only verifiers whose batch size is within [1, MAX_BATCH_SIZE]", async () => {
    const f = await networkHelpers.loadFixture(deploy4);
    const max = await f.zk.MAX_BATCH_SIZE();
    expect(max).to.equal(64n);
    for (const k of [0n, max + 1n]) {
      const bad = await ethers.deployContract("BatchSizeVerifier", [md.manifest.modelHash, k]);
      await expect(
        f.registry
          .connect(f.deployer)
          .configureMode(f.modelId, MODE_ZK, await zkConfigFor(await bad.getAddress(), f.deployer)),
      )
        .to.be.revertedWithCustomError(f.zk, "ZkModuleBadBatchSize")
        .withArgs(await bad.getAddress(), k);
    }
    const ok = await ethers.deployContract("BatchSizeVerifier", [md.manifest.modelHash, max]);
    await f.registry
      .connect(f.deployer)
      .configureMode(f.modelId, MODE_ZK, await zkConfigFor(await ok.getAddress(), f.deployer));
  });

  it("gas per inference for k = 1, 4 and 16 (the verifier-gen batch verifier of the digits MLP)", async () => {
    const rows: string[] = [];
    for (const k of [1, 4, 16]) {
      const f = await deployFor(k);
      const slots = Array.from({ length: k }, (_, i) => i);
      const ids: bigint[] = [];
      for (const i of slots) ids.push(await request(f, i));
      // Warm the payee's and treasury's balances as in steady operation.
      const warm = await request(f, 40);
      await f.market.connect(f.operator).fulfillBatch([warm], batchProof(f, [40]));
      const receipt = await (await f.market.connect(f.operator).fulfillBatch(ids, batchProof(f, slots))).wait();
      const gas = Number(receipt!.gasUsed);
      rows.push(`k = ${k}: ${gas} gas, ${Math.round(gas / k)} per inference`);
      for (const id of ids) expect((await f.market.getRequest(id)).status).to.equal(BigInt(Status.Finalized));
    }
    console.log(`      ${rows.join("\n      ")}`);
  });
});
