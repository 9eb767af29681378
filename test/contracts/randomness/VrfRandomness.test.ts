// VrfRandomness: the adapter to a VRF coordinator (Chainlink VRF v2.5 request/fulfil shape), tested with a
// mock coordinator, alone and as the randomness of a SamplingModule. Attacks: requests from contracts
// governance did not allow (subscription drain), callbacks not from the coordinator, a second answer
// overwriting the first, a late answer after the request expired.
import { expect } from "chai";
import { AbiCoder, keccak256, parseEther, ZeroAddress } from "ethers";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_QUALITY,
  deployQualityModule,
  registerQualityModel,
  type QualityConfig,
} from "../../../scripts/lib/quality.js";
import {
  MODE_SAMPLING,
  deploySamplingModule,
  registerSamplingModel,
  type SamplingConfig,
} from "../../../scripts/lib/sampling.js";
import { MockVrfCoordinator__factory, VrfRandomness__factory } from "../../../types/ethers-contracts/index.js";
import { ethers, networkHelpers } from "../fixtures.js";

const abi = AbiCoder.defaultAbiCoder();
const KEY_HASH = ethers.id("gas-lane-1");
const SUB_ID = 4242n;
const CONFIRMATIONS = 3;
const CALLBACK_GAS = 200_000;
const TIMEOUT_BLOCKS = 50;
const KEY = ethers.id("request-1");
const expectedValue = (word: bigint, requester: string, key: string): bigint =>
  BigInt(keccak256(abi.encode(["uint256", "address", "bytes32"], [word, requester, key])));

describe("VrfRandomness", function () {
  async function deployFixture() {
    const [deployer, requester, outsider] = await ethers.getSigners();
    const coordinator = await new MockVrfCoordinator__factory(deployer!).deploy();
    const source = await new VrfRandomness__factory(deployer!).deploy(
      deployer!.address,
      await coordinator.getAddress(),
      KEY_HASH,
      SUB_ID,
      CONFIRMATIONS,
      CALLBACK_GAS,
      TIMEOUT_BLOCKS,
    );
    await source.setRequesterAllowed(requester!.address, true);
    return { coordinator, source, deployer: deployer!, requester: requester!, outsider: outsider! };
  }

  it("refuses bad deployment parameters", async () => {
    const [deployer] = await ethers.getSigners();
    const factory = new VrfRandomness__factory(deployer!);
    await expect(
      factory.deploy(deployer!.address, ZeroAddress, KEY_HASH, SUB_ID, CONFIRMATIONS, CALLBACK_GAS, TIMEOUT_BLOCKS),
    ).to.be.revertedWithCustomError(factory, "VrfRandomnessBadParameters");
    await expect(
      factory.deploy(deployer!.address, deployer!.address, KEY_HASH, SUB_ID, CONFIRMATIONS, CALLBACK_GAS, 0),
    ).to.be.revertedWithCustomError(factory, "VrfRandomnessBadParameters");
  });

  it("only contracts governance allowed may request (they spend the subscription)", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await expect(f.source.connect(f.outsider).request(KEY))
      .to.be.revertedWithCustomError(f.source, "RandomnessUnauthorisedRequester")
      .withArgs(f.outsider.address);
    await expect(f.source.connect(f.outsider).setRequesterAllowed(f.outsider.address, true))
      .to.be.revertedWithCustomError(f.source, "OwnableUnauthorizedAccount")
      .withArgs(f.outsider.address);
    await expect(f.source.setRequesterAllowed(f.outsider.address, true))
      .to.emit(f.source, "RequesterAllowed")
      .withArgs(f.outsider.address, true);
    expect(await f.source.isRequesterAllowed(f.outsider.address)).to.equal(true);
  });

  it("asks the coordinator for one word with the configured lane, subscription and limits", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await expect(f.source.connect(f.requester).request(KEY)).to.emit(f.source, "RandomnessRequested");
    const recorded = await f.coordinator.requestOf(await f.coordinator.lastRequestId());
    expect(recorded.consumer).to.equal(await f.source.getAddress());
    expect(recorded.req.keyHash).to.equal(KEY_HASH);
    expect(recorded.req.subId).to.equal(SUB_ID);
    expect(recorded.req.requestConfirmations).to.equal(BigInt(CONFIRMATIONS));
    expect(recorded.req.callbackGasLimit).to.equal(BigInt(CALLBACK_GAS));
    expect(recorded.req.numWords).to.equal(1n);
    await expect(f.source.connect(f.requester).request(KEY))
      .to.be.revertedWithCustomError(f.source, "RandomnessAlreadyRequested")
      .withArgs(KEY);
    expect(await f.source.coordinator()).to.equal(await f.coordinator.getAddress());
  });

  it("delivers the coordinator's word mixed with requester and key, once", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await f.source.connect(f.requester).request(KEY);
    const id = await f.coordinator.lastRequestId();
    await expect(f.source.randomness(f.requester.address, KEY)).to.be.revertedWithCustomError(
      f.source,
      "RandomnessNotReady",
    );
    await expect(f.coordinator.fulfill(id, 7n))
      .to.emit(f.source, "RandomnessFulfilled")
      .withArgs(KEY, f.requester.address, expectedValue(7n, f.requester.address, KEY));
    expect(await f.source.isReady(f.requester.address, KEY)).to.equal(true);
    // A second answer for the same request does not overwrite the first.
    await f.coordinator.fulfill(id, 8n);
    expect(await f.source.randomness(f.requester.address, KEY)).to.equal(expectedValue(7n, f.requester.address, KEY));
  });

  it("accepts callbacks only from the coordinator", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await f.source.connect(f.requester).request(KEY);
    const id = await f.coordinator.lastRequestId();
    await expect(f.source.connect(f.outsider).rawFulfillRandomWords(id, [1n]))
      .to.be.revertedWithCustomError(f.source, "VrfRandomnessOnlyCoordinator")
      .withArgs(f.outsider.address);
    expect(await f.source.isReady(f.requester.address, KEY)).to.equal(false);
  });

  it("expires an unanswered request after the timeout and ignores a late answer", async () => {
    const f = await networkHelpers.loadFixture(deployFixture);
    await f.source.connect(f.requester).request(KEY);
    const id = await f.coordinator.lastRequestId();
    expect(await f.source.isExpired(f.requester.address, KEY)).to.equal(false);
    await networkHelpers.mine(TIMEOUT_BLOCKS + 1);
    expect(await f.source.isExpired(f.requester.address, KEY)).to.equal(true);
    await f.coordinator.fulfill(id, 9n);
    expect(await f.source.isReady(f.requester.address, KEY), "a late answer is not used").to.equal(false);
  });

  describe("a source that refuses requests never blocks a submission", function () {
    it("sampling: A's commit goes through, advance retries, and a source that keeps refusing ends in a refund", async () => {
      const [deployer, treasury, user, operator, b1] = await ethers.getSigners();
      const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
      const coordinator = await new MockVrfCoordinator__factory(deployer!).deploy();
      const source = await new VrfRandomness__factory(deployer!).deploy(
        deployer!.address,
        await coordinator.getAddress(),
        KEY_HASH,
        SUB_ID,
        CONFIRMATIONS,
        CALLBACK_GAS,
        TIMEOUT_BLOCKS,
      );
      // Misconfigured: the module is not an allowed requester.
      const stack = await deploySamplingModule(suite, deployer!, {
        committee: { committeeSize: 3, slashBps: 10_000, commitWindow: 600, revealWindow: 600, validatorStake: 1n },
        arbitrationTimeout: 3 * 3600,
        randomness: await source.getAddress(),
      });
      const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
        buildDir: "models/build/digits-mlp",
        artifactURI: "file://models/build/digits-mlp",
        ethPrice: parseEther("0.01"),
        operatorStake: parseEther("1"),
        config: {
          sampleBps: 10_000,
          verifierFeeBps: 10_000,
          samplerNoShowSlashBps: 2_000,
          maxDraws: 2,
          commitWindow: 600,
          revealWindow: 600,
          arbitrator: await stack.committee.getAddress(),
        },
      });
      for (const op of [operator!, b1!]) {
        await suite.vault.connect(op).stake(parseEther("3"), { value: parseEther("3") });
        await suite.vault.connect(op).setService(modelId, 0, true);
      }
      const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
      for (let i = 0; i < 2; i++) {
        await suite.market
          .connect(user!)
          .createRequest(inlineEthRequest(modelId, MODE_SAMPLING, new Uint8Array(64), parseEther("0.02"), deadline), {
            value: parseEther("0.02"),
          });
        await suite.market.connect(operator!).claim(BigInt(i + 1));
        await expect(
          suite.market.connect(operator!).submitResult(BigInt(i + 1), "0x", abi.encode(["bytes32"], [ethers.id("c")])),
        ).to.emit(stack.sampling, "RandomnessRequestFailed");
      }
      expect(await stack.sampling.canAdvance(1n)).to.equal(true);
      // Request 1: governance fixes the source; the retry goes through and sampling proceeds.
      await source.setRequesterAllowed(await stack.sampling.getAddress(), true);
      await expect(stack.sampling.advance(1n)).to.emit(source, "RandomnessRequested");
      await coordinator.fulfill(await coordinator.lastRequestId(), 77n);
      await stack.sampling.advance(1n);
      expect((await stack.sampling.getJob(1n)).sampler).to.equal(b1!.address);
      // Request 2 waited out its retry window with the source refusing: refunded, A not slashed.
      await source.setRequesterAllowed(await stack.sampling.getAddress(), false);
      await networkHelpers.time.increase(601);
      await expect(stack.sampling.advance(2n)).to.emit(stack.sampling, "RandomnessExhausted");
      await suite.market.finalize(2n);
      expect((await suite.vault.stakeOf(operator!.address)).total).to.equal(parseEther("3"));
    });

    it("quality: the submission goes through, and drawCommittee retries the request", async () => {
      const [deployer, treasury, user, operator, v1, v2, v3] = await ethers.getSigners();
      const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
      const coordinator = await new MockVrfCoordinator__factory(deployer!).deploy();
      const source = await new VrfRandomness__factory(deployer!).deploy(
        deployer!.address,
        await coordinator.getAddress(),
        KEY_HASH,
        SUB_ID,
        CONFIRMATIONS,
        CALLBACK_GAS,
        TIMEOUT_BLOCKS,
      );
      const { quality } = await deployQualityModule(suite, deployer!, await source.getAddress());
      const config: QualityConfig = {
        committeeSize: 3,
        minReveals: 2,
        threshold: 5_000,
        outlierDistance: 2_000,
        commitWindow: 600,
        revealWindow: 600,
        maxInlineBytes: 256,
        operatorSlashBps: 5_000,
        validatorStake: parseEther("0.5"),
        validatorReward: parseEther("0.002"),
        outlierSlash: parseEther("0.1"),
        noRevealSlash: parseEther("0.2"),
      };
      const modelId = await registerQualityModel(suite.registry, deployer!, {
        modelHash: ethers.id("q"),
        artifactURI: "file://q",
        ethPrice: parseEther("0.01"),
        operatorStake: parseEther("1"),
        config,
      });
      await suite.vault.connect(operator!).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(operator!).setService(modelId, 0, true);
      for (const v of [v1!, v2!, v3!]) {
        await suite.vault.connect(v).stake(parseEther("1"), { value: parseEther("1") });
        await suite.vault.connect(v).setService(modelId, 1, true);
      }
      const value = parseEther("0.01") + 3n * config.validatorReward;
      const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
      await suite.market
        .connect(user!)
        .createRequest(inlineEthRequest(modelId, MODE_QUALITY, "0x3332", value, deadline), { value });
      await suite.market.connect(operator!).claim(1n);
      await expect(suite.market.connect(operator!).submitResult(1n, "0x3332", "0x")).to.emit(
        quality,
        "CommitteeRandomnessRequestFailed",
      );
      expect(await quality.isDrawReady(1n)).to.equal(true);
      await source.setRequesterAllowed(await quality.getAddress(), true);
      await expect(quality.drawCommittee(1n)).to.emit(source, "RandomnessRequested");
      await coordinator.fulfill(await coordinator.lastRequestId(), 5n);
      await quality.drawCommittee(1n);
      expect(await quality.getMembers(1n)).to.have.length(3);
    });
  });

  describe("as the randomness of a SamplingModule", function () {
    const PRICE = parseEther("0.01");
    async function samplingFixture() {
      const [deployer, treasury, user, operator, b1, b2, v1, v2, v3] = await ethers.getSigners();
      const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
      const coordinator = await new MockVrfCoordinator__factory(deployer!).deploy();
      const source = await new VrfRandomness__factory(deployer!).deploy(
        deployer!.address,
        await coordinator.getAddress(),
        KEY_HASH,
        SUB_ID,
        CONFIRMATIONS,
        CALLBACK_GAS,
        TIMEOUT_BLOCKS,
      );
      const stack = await deploySamplingModule(suite, deployer!, {
        committee: { committeeSize: 3, slashBps: 10_000, commitWindow: 600, revealWindow: 600, validatorStake: 1n },
        arbitrationTimeout: 3 * 3600,
        randomness: await source.getAddress(),
      });
      await source.setRequesterAllowed(await stack.sampling.getAddress(), true);
      await source.setRequesterAllowed(await stack.committee.getAddress(), true);
      const config: SamplingConfig = {
        sampleBps: 10_000,
        verifierFeeBps: 10_000,
        samplerNoShowSlashBps: 2_000,
        maxDraws: 2,
        commitWindow: 600,
        revealWindow: 600,
        arbitrator: await stack.committee.getAddress(),
      };
      const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
        buildDir: "models/build/digits-mlp",
        artifactURI: "file://models/build/digits-mlp",
        ethPrice: PRICE,
        operatorStake: parseEther("1"),
        config,
      });
      for (const op of [operator!, b1!, b2!]) {
        await suite.vault.connect(op).stake(parseEther("3"), { value: parseEther("3") });
        await suite.vault.connect(op).setService(modelId, 0, true);
      }
      for (const v of [v1!, v2!, v3!]) {
        await suite.vault.connect(v).stake(parseEther("1"), { value: parseEther("1") });
        await suite.vault.connect(v).setService(modelId, 1, true);
      }
      const deadline = BigInt((await networkHelpers.time.latest()) + 7200);
      const input = new Uint8Array(64);
      await suite.market
        .connect(user!)
        .createRequest(inlineEthRequest(modelId, MODE_SAMPLING, input, 2n * PRICE, deadline), { value: 2n * PRICE });
      await suite.market.connect(operator!).claim(1n);
      await suite.market.connect(operator!).submitResult(1n, "0x", abi.encode(["bytes32"], [ethers.id("commitment")]));
      return { ...suite, ...stack, coordinator, source, operator: operator!, samplers: [b1!, b2!] };
    }

    it("draws the sampler from the coordinator's word", async () => {
      const f = await networkHelpers.loadFixture(samplingFixture);
      expect(await f.sampling.canAdvance(1n), "nothing to do before the coordinator answers").to.equal(false);
      await f.coordinator.fulfill(await f.coordinator.lastRequestId(), 123n);
      await f.sampling.advance(1n);
      const job = await f.sampling.getJob(1n);
      expect([f.samplers[0]!.address, f.samplers[1]!.address]).to.include(job.sampler);
    });

    it("a coordinator that never answers ends in a refund after a bounded number of renewals, nobody slashed", async () => {
      const f = await networkHelpers.loadFixture(samplingFixture);
      let renewals = 0;
      for (;;) {
        await networkHelpers.mine(TIMEOUT_BLOCKS + 1);
        const tx = await f.sampling.advance(1n);
        const receipt = (await tx.wait())!;
        if (receipt.logs.some((l) => f.sampling.interface.parseLog(l)?.name === "RandomnessExhausted")) break;
        renewals++;
        expect(renewals, "renewals are bounded").to.be.lessThan(32);
      }
      expect(renewals).to.equal(15);
      const job = await f.sampling.getJob(1n);
      expect([job.phase, job.verdict, job.slashOperator]).to.deep.equal([6n, 3n, false]);
      await f.market.finalize(1n);
      expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(0n);
    });

    it("requests again when the coordinator never answers, and still samples", async () => {
      const f = await networkHelpers.loadFixture(samplingFixture);
      const first = await f.coordinator.lastRequestId();
      await networkHelpers.mine(TIMEOUT_BLOCKS + 1);
      await f.sampling.advance(1n);
      const second = await f.coordinator.lastRequestId();
      expect(second).to.equal(first + 1n);
      await f.coordinator.fulfill(first, 5n); // too late: ignored
      expect(await f.sampling.canAdvance(1n)).to.equal(false);
      await f.coordinator.fulfill(second, 6n);
      await f.sampling.advance(1n);
      expect([f.samplers[0]!.address, f.samplers[1]!.address]).to.include((await f.sampling.getJob(1n)).sampler);
    });
  });
});
