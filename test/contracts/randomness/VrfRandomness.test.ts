// VrfRandomness: the adapter to a VRF coordinator (Chainlink VRF v2.5 request/fulfil shape), tested with a
// mock coordinator, alone and as the randomness of a SamplingModule. Attacks: requests from contracts
// governance did not allow (subscription drain), callbacks not from the coordinator, a second answer
// overwriting the first, a late answer after the request expired.
import { expect } from "chai";
import { AbiCoder, keccak256, parseEther, ZeroAddress } from "ethers";
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
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
