// SamplingModule (spML) and its SamplingCommittee arbitrator, with outputs from real inference: the committed
// digits MLP integer graph run by the reference interpreter on held-out digits.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, ZeroAddress, ZeroHash, hexlify, keccak256, parseEther, randomBytes } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { runInt, type IntGraph } from "../../../verifier-gen/src/intgraph.js";
import { decodeInputBytes, decodeOutput, encodeOutput } from "../../../verifier-gen/src/encoding.js";
import { fulfilAll } from "../../helpers/randomness.js";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_SAMPLING,
  deploySamplingModule,
  encodeSamplingConfig,
  registerSamplingModel,
  type SamplingConfig,
} from "../../../scripts/lib/sampling.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const { time, mine } = networkHelpers;
const abi = AbiCoder.defaultAbiCoder();
const MLP = "models/build/digits-mlp";
const PRICE = parseEther("0.01");
const STAKE = parseEther("1");
const VALIDATOR_STAKE = parseEther("0.5");
const FEE_BPS = 10_000; // B is paid the price: it does the same work as A
const FEE = (PRICE * BigInt(FEE_BPS)) / 10_000n;
const PROTOCOL_FEE = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
const WINDOW = 600;
const ARBITRATION_TIMEOUT = 3 * 3600;
const NO_SHOW_BPS = 2_000;

enum Phase {
  None,
  AwaitingRandomness,
  Unsampled,
  SamplerDrawn,
  Revealing,
  Disputed,
  Final,
}
enum Verdict {
  None,
  AcceptedOperator,
  AcceptedSampler,
  Rejected,
}

const graph = JSON.parse(readFileSync(`${MLP}/intgraph.json`, "utf8")) as IntGraph;
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };
const inputOf = (i: number): Uint8Array => Uint8Array.from(testSet.inputs[i]!);
/** The real model output for a request input: the integer graph's last tensor (the label), encoded. */
const infer = (input: Uint8Array): string => {
  const t = runInt(graph, decodeInputBytes(graph, input)).tensors;
  return encodeOutput(t[t.length - 1]!);
};
const wrongOutput = (output: string): string => encodeOutput([(decodeOutput(output)[0]! + 1n) % 10n]);
const commitment = (requestId: bigint, party: string, output: string, salt: string): string =>
  keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [requestId, party, keccak256(output), salt]));
const voteCommitment = (disputeId: bigint, validator: string, outputHash: string, salt: string): string =>
  keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [disputeId, validator, outputHash, salt]));
const salt = (): string => hexlify(randomBytes(32));

describe("SamplingModule", function () {
  this.timeout(120_000);

  async function deployFixture() {
    const signers = await ethers.getSigners();
    const [deployer, treasury, user, operator, b1, b2, ...rest] = signers;
    const validators = rest.slice(0, 4);
    const suite = await deploySuite(deployer!, { ...DEFAULT_PARAMETERS, treasury: treasury!.address });
    const stack = await deploySamplingModule(suite, deployer!, {
      committee: {
        committeeSize: 3,
        slashBps: 10_000,
        commitWindow: WINDOW,
        revealWindow: WINDOW,
        validatorStake: VALIDATOR_STAKE,
      },
      arbitrationTimeout: ARBITRATION_TIMEOUT,
    });
    const config: SamplingConfig = {
      sampleBps: 10_000,
      verifierFeeBps: FEE_BPS,
      samplerNoShowSlashBps: NO_SHOW_BPS,
      maxDraws: 2,
      commitWindow: WINDOW,
      revealWindow: WINDOW,
      arbitrator: await stack.committee.getAddress(),
    };
    const { modelId } = await registerSamplingModel(suite.registry, deployer!, {
      buildDir: MLP,
      artifactURI: `file://${MLP}`,
      ethPrice: PRICE,
      operatorStake: STAKE,
      config,
    });
    for (const op of [operator!, b1!, b2!]) {
      await suite.vault.connect(op).stake(parseEther("3"), { value: parseEther("3") });
      await suite.vault.connect(op).setService(modelId, 0, true);
    }
    for (const v of validators) {
      await suite.vault.connect(v).stake(parseEther("1"), { value: parseEther("1") });
      await suite.vault.connect(v).setService(modelId, 1, true);
    }
    return {
      ...suite,
      ...stack,
      modelId,
      config,
      deployer: deployer!,
      treasury: treasury!,
      user: user!,
      operator: operator!,
      samplers: [b1!, b2!],
      validators,
    };
  }
  type Fixture = Awaited<ReturnType<typeof deployFixture>>;

  /** A request of sample `index`, created with sampling probability `sampleBps`, claimed by A. */
  async function claimed(sampleBps: number, index = 0, overrides: Partial<SamplingConfig> = {}) {
    const f = await networkHelpers.loadFixture(deployFixture);
    await f.registry.configureMode(
      f.modelId,
      MODE_SAMPLING,
      encodeSamplingConfig({ ...f.config, sampleBps, ...overrides }),
    );
    const input = inputOf(index);
    const deadline = BigInt((await time.latest()) + 7200);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_SAMPLING, input, PRICE + FEE, deadline), { value: PRICE + FEE });
    await f.market.connect(f.operator).claim(1n);
    return { f, input, output: infer(input), id: 1n };
  }

  /** A commits to `output` and the sampling decision is taken. */
  async function committedAndDecided(f: Fixture, id: bigint, output: string) {
    const aSalt = salt();
    await f.market
      .connect(f.operator)
      .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, aSalt)]));
    await fulfilAll(networkHelpers, f.user, f.randomness);
    await f.sampling.advance(id);
    return aSalt;
  }

  function signerOf(f: Fixture, address: string): HardhatEthersSigner {
    const s = [...f.samplers, ...f.validators, f.operator].find((x) => x.address === address);
    if (s === undefined) throw new Error(`no signer ${address}`);
    return s;
  }

  /** The drawn sampler commits to `output` and returns its signer and salt. */
  async function samplerCommits(f: Fixture, id: bigint, output: string) {
    const job = await f.sampling.getJob(id);
    const b = signerOf(f, job.sampler);
    const bSalt = salt();
    await f.sampling.connect(b).commitSampler(id, commitment(id, b.address, output, bSalt));
    return { b, bSalt };
  }

  /** Draws the committee of `disputeId` and has each member vote `votes[i]` (null: no show). */
  async function committeeVotes(f: Fixture, disputeId: bigint, votes: (string | null)[]) {
    await fulfilAll(networkHelpers, f.user, f.randomness);
    await f.committee.drawCommittee(disputeId);
    const members = await f.committee.membersOf(disputeId);
    expect(members).to.have.length(3);
    const salts = members.map(() => salt());
    for (const [i, m] of members.entries()) {
      const vote = votes[i];
      if (vote === null || vote === undefined) continue;
      await f.committee
        .connect(signerOf(f, m))
        .commitVote(disputeId, voteCommitment(disputeId, m, keccak256(vote), salts[i]!));
    }
    if (votes.some((v) => v === null)) await time.increase(WINDOW + 1);
    for (const [i, m] of members.entries()) {
      const vote = votes[i];
      if (vote === null || vote === undefined) continue;
      await f.committee.connect(signerOf(f, m)).revealVote(disputeId, keccak256(vote), salts[i]!);
    }
    return members;
  }

  describe("configuration", () => {
    it("validates the per-model config and prices the fee as a share of the price", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const bad = async (over: Partial<SamplingConfig>) =>
        f.registry.configureMode(f.modelId, MODE_SAMPLING, encodeSamplingConfig({ ...f.config, ...over }));
      await expect(bad({ sampleBps: 10_001 }))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleInvalidBps")
        .withArgs(10_001);
      await expect(bad({ commitWindow: 0 }))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleInvalidWindow")
        .withArgs(0);
      // Windows too short to act in would slash honest parties on time, whoever set them.
      const minWindow = Number(await f.sampling.MIN_WINDOW());
      expect(minWindow).to.be.at.least(300);
      await expect(bad({ revealWindow: minWindow - 1 }))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleInvalidWindow")
        .withArgs(minWindow - 1);
      await expect(bad({ maxDraws: 0 })).to.be.revertedWithCustomError(f.sampling, "SamplingModuleInvalidWindow");
      await expect(bad({ arbitrator: f.user.address }))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleArbitratorNotAllowed")
        .withArgs(f.user.address);
      const [price, fee] = await f.market.quote(f.modelId, MODE_SAMPLING, ZeroAddress);
      expect([price, fee]).to.deep.equal([PRICE, FEE]);
      await f.registry.configureMode(
        f.modelId,
        MODE_SAMPLING,
        encodeSamplingConfig({ ...f.config, verifierFeeBps: 2_500 }),
      );
      expect((await f.market.quote(f.modelId, MODE_SAMPLING, ZeroAddress))[1]).to.equal(PRICE / 4n);
      await expect(f.sampling.connect(f.user).setArbitratorAllowed(f.user.address, true)).to.be.revertedWithCustomError(
        f.sampling,
        "OwnableUnauthorizedAccount",
      );
    });

    it("refuses a submission that is not a bare commitment, and calls from anyone but the market", async () => {
      const { f, output, id } = await claimed(10_000);
      const c = abi.encode(["bytes32"], [commitment(id, f.operator.address, output, salt())]);
      await expect(f.market.connect(f.operator).submitResult(id, output, c))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleOutputNotEmpty")
        .withArgs(id, BigInt((output.length - 2) / 2));
      await expect(f.market.connect(f.operator).submitResult(id, "0x", abi.encode(["bytes32"], [ZeroHash])))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleBadCommitment")
        .withArgs(id);
      await expect(
        f.sampling.onSubmit(
          { requestId: id, modelId: f.modelId, operator: f.operator.address, inputHash: ZeroHash, config: "0x" },
          "0x",
          c,
        ),
      )
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleOnlyMarket")
        .withArgs(f.deployer.address);
      await expect(f.market.connect(f.operator).submitResult(id, "0x", c)).to.emit(f.sampling, "OperatorCommitted");
      expect((await f.market.getRequest(id)).status).to.equal(3n);
    });
  });

  describe("honest operator", () => {
    it("is paid when not sampled, and cannot reveal before the sampling decision", async () => {
      const { f, output, id } = await claimed(0);
      const aSalt = salt();
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, aSalt)]));
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleWrongPhase")
        .withArgs(id, Phase.AwaitingRandomness);
      await expect(f.sampling.advance(id))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleNothingDue")
        .withArgs(id, Phase.AwaitingRandomness);
      expect(await f.sampling.canAdvance(id)).to.equal(false);
      await mine(3);
      // The RANDAO value exists only once someone delivers the headers of its blocks.
      expect(await f.sampling.canAdvance(id)).to.equal(false);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      expect(await f.sampling.canAdvance(id)).to.equal(true);
      await expect(f.sampling.advance(id)).to.emit(f.sampling, "SamplingDecided").withArgs(id, false, false);
      await expect(f.sampling.connect(f.operator).reveal(id, wrongOutput(output), aSalt)).to.be.revertedWithCustomError(
        f.sampling,
        "SamplingModuleCommitmentMismatch",
      );
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.AcceptedOperator, false, 0n, false);
      const before = await f.market.owed(f.user.address, ZeroAddress);
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, output, PRICE - PROTOCOL_FEE, PROTOCOL_FEE);
      expect(await settledOutput(f.market, id)).to.equal(output);
      expect(decodeOutput(output)[0]).to.equal(BigInt(testSet.labels[0]!));
      // Unsampled: the verification fee goes back to the requester.
      expect((await f.market.owed(f.user.address, ZeroAddress)) - before).to.equal(FEE);
      expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(0n);
    });

    it("is paid when sampled and matched, and the sampler is paid the verification fee", async () => {
      const { f, output, id } = await claimed(10_000, 3);
      const aSalt = await committedAndDecided(f, id, output);
      const drawn = await f.sampling.getJob(id);
      expect(drawn.phase).to.equal(BigInt(Phase.SamplerDrawn));
      expect(drawn.sampler).to.not.equal(f.operator.address);
      expect((await f.vault.getLock(await f.sampling.samplerLockId(id, drawn.sampler))).amount).to.equal(STAKE);
      // A cannot reveal while B has not committed.
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleWrongPhase")
        .withArgs(id, Phase.SamplerDrawn);
      const { b, bSalt } = await samplerCommits(f, id, infer(inputOf(3)));
      await f.sampling.connect(f.operator).reveal(id, output, aSalt);
      await expect(f.sampling.connect(b).reveal(id, output, bSalt))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.AcceptedOperator, false, 0n, true);
      await f.market.finalize(id);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE);
      expect(await f.market.owed(b.address, ZeroAddress)).to.equal(FEE);
      expect((await f.vault.stakeOf(b.address)).locked).to.equal(0n);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3"));
    });
  });

  describe("cheating operator", () => {
    it("is caught when sampled: slashed, the requester gets the correct result, validators rule and are paid", async () => {
      const { f, output, id } = await claimed(10_000, 5);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, infer(inputOf(5)));
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await expect(f.sampling.connect(b).reveal(id, output, bSalt))
        .to.emit(f.sampling, "DisputeEscalated")
        .withArgs(id, await f.committee.getAddress(), 1n);
      await expect(f.market.finalize(id)).to.be.revertedWithCustomError(f.market, "InferenceMarketNotFinal");
      // Two members re-execute; the third is lazy and sides with A's claim without computing.
      const members = await committeeVotes(f, 1n, [infer(inputOf(5)), infer(inputOf(5)), cheat]);
      for (const m of members) expect(m).to.not.be.oneOf([f.operator.address, b.address]);
      await expect(f.committee.resolve(1n))
        .to.emit(f.committee, "ValidatorSlashed")
        .withArgs(1n, members[2], VALIDATOR_STAKE, true);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.AcceptedSampler, true, 0n, false);
      const treasuryBefore = await f.vault.slashProceedsOf(f.treasury.address);
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, b.address, output, PRICE - PROTOCOL_FEE, PROTOCOL_FEE);
      expect(await settledOutput(f.market, id)).to.equal(output);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);
      // Slashes decided by a ruling go to the treasury: nobody who could sway the committee profits from one.
      expect((await f.vault.slashProceedsOf(f.treasury.address)) - treasuryBefore).to.equal(STAKE);
      expect(await f.vault.slashProceedsOf(f.user.address)).to.equal(0n);
      expect(await f.market.owed(members[0]!, ZeroAddress)).to.equal(FEE / 2n);
      expect(await f.market.owed(members[1]!, ZeroAddress)).to.equal(FEE / 2n);
      expect(await f.market.owed(members[2]!, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(members[2]!)).total).to.equal(parseEther("1") - VALIDATOR_STAKE);
      expect((await f.vault.stakeOf(b.address)).locked).to.equal(0n);
      expect((await f.vault.stakeOf(members[0]!)).locked).to.equal(0n);
    });

    it("is slashed and the requester refunded when it never reveals after being sampled", async () => {
      const { f, output, id } = await claimed(10_000, 6);
      await committedAndDecided(f, id, output);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      await expect(f.sampling.advance(id)).to.be.revertedWithCustomError(f.sampling, "SamplingModuleNothingDue");
      await time.increase(WINDOW + 1);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.Rejected, true, 0n, true);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, STAKE);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE);
      expect(await f.market.owed(b.address, ZeroAddress)).to.equal(FEE);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);
    });

    it("is slashed and the requester refunded when it never reveals unsampled", async () => {
      const { f, output, id } = await claimed(0, 7);
      await committedAndDecided(f, id, output);
      await time.increase(WINDOW + 1);
      await expect(f.sampling.connect(f.operator).reveal(id, output, ZeroHash)).to.be.revertedWithCustomError(
        f.sampling,
        "SamplingModuleDeadlinePassed",
      );
      await f.sampling.advance(id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3") - STAKE);
    });
  });

  describe("sampler", () => {
    it("sees nothing of A's output before it commits", async () => {
      const { f, output, id } = await claimed(10_000, 8);
      const aSalt = await committedAndDecided(f, id, output);
      const [submitted] = await f.market.queryFilter(f.market.filters.ResultSubmitted(id));
      expect(submitted!.args.output).to.equal("0x"); // A submitted a bare commitment
      const b = signerOf(f, (await f.sampling.getJob(id)).sampler);
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt)).to.be.revertedWithCustomError(
        f.sampling,
        "SamplingModuleWrongPhase",
      );
      expect(await f.sampling.queryFilter(f.sampling.filters.OutputRevealed(id))).to.have.length(0);
      expect(await f.sampling.revealedOutput(id, false)).to.equal("0x");
      await expect(f.sampling.connect(f.operator).commitSampler(id, ZeroHash.replace(/0$/, "1")))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleNotParty")
        .withArgs(id, f.operator.address);
      await f.sampling.connect(b).commitSampler(id, commitment(id, b.address, output, salt()));
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt)).to.emit(f.sampling, "OutputRevealed");
    });

    it("copying A's commitment and A's revealed opening gets B nothing but a slash", async () => {
      const { f, output, id } = await claimed(10_000, 9);
      const aSalt = await committedAndDecided(f, id, output);
      const aCommitment = (await f.sampling.getJob(id)).operatorCommitment;
      const b = signerOf(f, (await f.sampling.getJob(id)).sampler);
      await f.sampling.connect(b).commitSampler(id, aCommitment);
      await f.sampling.connect(f.operator).reveal(id, output, aSalt);
      await expect(f.sampling.connect(b).reveal(id, output, aSalt))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleCommitmentMismatch")
        .withArgs(id, b.address, aCommitment, commitment(id, b.address, output, aSalt));
      await time.increase(WINDOW + 1);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.AcceptedOperator, false, STAKE, false);
      await f.market.finalize(id);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE);
      expect(await f.market.owed(b.address, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(b.address)).total).to.equal(parseEther("3") - STAKE);
    });

    it("that lies is overruled and slashed (to the treasury); A's result stands", async () => {
      const { f, output, id } = await claimed(10_000, 10);
      const aSalt = await committedAndDecided(f, id, output);
      const lie = wrongOutput(output);
      const { b, bSalt } = await samplerCommits(f, id, lie);
      await f.sampling.connect(b).reveal(id, lie, bSalt);
      await f.sampling.connect(f.operator).reveal(id, output, aSalt);
      expect((await f.sampling.getJob(id)).phase).to.equal(BigInt(Phase.Disputed));
      const truth = infer(inputOf(10));
      await committeeVotes(f, 1n, [truth, truth, truth]);
      await f.committee.resolve(1n);
      const treasuryBefore = await f.vault.slashProceedsOf(f.treasury.address);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.AcceptedOperator, false, STAKE, false);
      expect(await f.vault.slashProceedsOf(f.operator.address)).to.equal(0n);
      expect((await f.vault.slashProceedsOf(f.treasury.address)) - treasuryBefore).to.equal(STAKE);
      await f.market.finalize(id);
      expect(await settledOutput(f.market, id)).to.equal(output);
      expect((await f.vault.stakeOf(b.address)).total).to.equal(parseEther("3") - STAKE);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3"));
    });

    it("that does not commit is slashed and replaced; after maxDraws no-shows the requester is refunded, never unsampled", async () => {
      const { f, output, id } = await claimed(10_000, 11);
      const aSalt = await committedAndDecided(f, id, output);
      const first = (await f.sampling.getJob(id)).sampler;
      await time.increase(WINDOW + 1);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "SamplerNoShow")
        .withArgs(id, first, (STAKE * BigInt(NO_SHOW_BPS)) / 10_000n);
      const second = await f.sampling.getJob(id);
      expect(second.phase).to.equal(BigInt(Phase.SamplerDrawn));
      expect(second.sampler).to.not.be.oneOf([first, f.operator.address]);
      expect(second.draws).to.equal(2n);
      await time.increase(WINDOW + 1);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "SamplerUnavailable")
        .withArgs(id, 2n)
        .and.to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.Rejected, false, 0n, false);
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt)).to.be.revertedWithCustomError(
        f.sampling,
        "SamplingModuleWrongPhase",
      );
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, 0n);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("3"));
      for (const s of [first, second.sampler]) {
        expect((await f.vault.stakeOf(s)).total).to.equal(parseEther("3") - (STAKE * BigInt(NO_SHOW_BPS)) / 10_000n);
        expect((await f.vault.stakeOf(s)).locked).to.equal(0n);
      }
    });

    it("that commits but never reveals loses its lock; A's revealed result stands", async () => {
      const { f, output, id } = await claimed(10_000, 12);
      const aSalt = await committedAndDecided(f, id, output);
      const { b } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, output, aSalt);
      await time.increase(WINDOW + 1);
      await f.sampling.advance(id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE);
      expect((await f.vault.stakeOf(b.address)).total).to.equal(parseEther("3") - STAKE);
    });

    it("when every candidate left the pool, the request is re-drawn and then refunded, never let through unsampled", async () => {
      const { f, output, id } = await claimed(10_000, 13);
      const aSalt = salt();
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, aSalt)]));
      // Both samplers are in the snapshot but leave before the draw: leaving only ever unseats oneself.
      for (const s of f.samplers) await f.vault.connect(s).setService(f.modelId, 0, false);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "SamplerUnavailable")
        .withArgs(id, 1n)
        .and.to.emit(f.sampling, "RandomnessRenewed")
        .withArgs(id, 1);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.Rejected, false, 0n, false);
      const job = await f.sampling.getJob(id);
      expect([job.sampled, job.sampler, job.draws]).to.deep.equal([true, ZeroAddress, 2n]);
      await expect(f.sampling.connect(f.operator).reveal(id, output, aSalt)).to.be.revertedWithCustomError(
        f.sampling,
        "SamplingModuleWrongPhase",
      );
      await f.market.finalize(id);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
    });
  });

  describe("draws the requester cannot steer", () => {
    it("never draws the requester as its own sampler (it could stay away and be paid the no-show slash)", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      // The requester is itself an operator serving the model; the other sampler leaves before the draw, so the
      // requester is the only candidate left.
      const [requester, other] = f.samplers as [HardhatEthersSigner, HardhatEthersSigner];
      const input = inputOf(0);
      const deadline = BigInt((await time.latest()) + 7200);
      await f.market
        .connect(requester)
        .createRequest(inlineEthRequest(f.modelId, MODE_SAMPLING, input, PRICE + FEE, deadline), {
          value: PRICE + FEE,
        });
      await f.market.connect(f.operator).claim(1n);
      const c = commitment(1n, f.operator.address, infer(input), salt());
      await f.market.connect(f.operator).submitResult(1n, "0x", abi.encode(["bytes32"], [c]));
      await f.vault.connect(other).setService(f.modelId, 0, false);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.sampling.advance(1n)).to.emit(f.sampling, "SamplerUnavailable").withArgs(1n, 1n);
      expect((await f.sampling.getJob(1n)).sampler).to.equal(ZeroAddress);
    });
  });

  describe("draws others cannot steer (audit: free stake at draw time)", () => {
    it("a sampler whose free stake was tied up after the snapshot is still drawn, backed by its pool bond", async () => {
      const { f, output, id } = await claimed(10_000, 14);
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, salt())]));
      await fulfilAll(networkHelpers, f.user, f.randomness);
      // Who the randomness seats, seen by a dry run.
      const dry = await networkHelpers.takeSnapshot();
      await f.sampling.advance(id);
      const seated = (await f.sampling.getJob(id)).sampler;
      await dry.restore();
      // A (or anyone) now ties up the seated sampler's free stake before the draw runs.
      const victim = signerOf(f, seated);
      await f.vault.connect(victim).requestUnbond(await f.vault.freeStake(victim.address));
      expect(await f.vault.freeStake(victim.address)).to.equal(0n);
      await f.sampling.advance(id);
      expect((await f.sampling.getJob(id)).sampler, "the seat was passed on").to.equal(seated);
      const bond = await f.vault.minPoolStake(0);
      expect((await f.vault.getLock(await f.sampling.samplerLockId(id, seated))).amount).to.equal(bond);
      expect(await f.vault.poolBondOf(seated, f.modelId, 0)).to.equal(0n);
    });
  });

  describe("randomness", () => {
    it("forces sampling when the decision randomness expired unread, so waiting never helps A", async () => {
      const { f, output, id } = await claimed(0, 14);
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, salt())]));
      await mine(300);
      await expect(f.sampling.advance(id)).to.emit(f.sampling, "RandomnessRenewed").withArgs(id, 1);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.sampling.advance(id)).to.emit(f.sampling, "SamplingDecided").withArgs(id, true, true);
      expect((await f.sampling.getJob(id)).phase).to.equal(BigInt(Phase.SamplerDrawn));
    });

    it("samples about p of the requests (RANDAO randomness, 40 requests at p = 50%)", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      await f.registry.configureMode(f.modelId, MODE_SAMPLING, encodeSamplingConfig({ ...f.config, sampleBps: 5_000 }));
      const deadline = BigInt((await time.latest()) + 7200);
      let sampled = 0;
      const n = 40;
      await f.vault.connect(f.operator).stake(parseEther("40"), { value: parseEther("40") });
      for (let i = 1; i <= n; i++) {
        const input = inputOf(i);
        await f.market
          .connect(f.user)
          .createRequest(inlineEthRequest(f.modelId, MODE_SAMPLING, input, PRICE + FEE, deadline), {
            value: PRICE + FEE,
          });
        await f.market.connect(f.operator).claim(BigInt(i));
        const c = commitment(BigInt(i), f.operator.address, infer(input), salt());
        await f.market.connect(f.operator).submitResult(BigInt(i), "0x", abi.encode(["bytes32"], [c]));
      }
      await fulfilAll(networkHelpers, f.user, f.randomness);
      for (let i = 1; i <= n; i++) {
        await f.sampling.advance(BigInt(i));
        if ((await f.sampling.getJob(BigInt(i))).sampled) sampled++;
      }
      // Binomial(40, 0.5): 8..32 holds with probability > 0.9999.
      expect(sampled).to.be.within(8, 32);
    });
  });

  describe("committee", () => {
    it("slashes a validator that never reveals; the majority still decides", async () => {
      const { f, output, id } = await claimed(10_000, 15);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      const members = await committeeVotes(f, 1n, [output, null, output]);
      await expect(f.committee.revealVote(1n, keccak256(output), ZeroHash))
        .to.be.revertedWithCustomError(f.committee, "SamplingCommitteeNotMember")
        .withArgs(1n, f.deployer.address);
      await time.increase(WINDOW + 1);
      await expect(f.committee.resolve(1n))
        .to.emit(f.committee, "ValidatorSlashed")
        .withArgs(1n, members[1], VALIDATOR_STAKE, false)
        .and.to.emit(f.committee, "DisputeResolved")
        .withArgs(1n, true, keccak256(output), 2n);
      await f.sampling.advance(id);
      expect((await f.sampling.getJob(id)).verdict).to.equal(BigInt(Verdict.AcceptedSampler));
    });

    it("keeps votes secret until every member committed", async () => {
      const { f, output, id } = await claimed(10_000, 16);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.committee.drawCommittee(1n);
      const [m0] = await f.committee.membersOf(1n);
      const s = salt();
      const v = signerOf(f, m0!);
      await f.committee.connect(v).commitVote(1n, voteCommitment(1n, m0!, keccak256(output), s));
      await expect(f.committee.connect(v).revealVote(1n, keccak256(output), s)).to.be.revertedWithCustomError(
        f.committee,
        "SamplingCommitteeOutsideWindow",
      );
      await expect(
        f.committee.connect(v).commitVote(1n, voteCommitment(1n, m0!, keccak256(output), s)),
      ).to.be.revertedWithCustomError(f.committee, "SamplingCommitteeAlreadyVoted");
    });

    it("ends undecided without a majority: refund, nobody slashed but the silent validators", async () => {
      const { f, output, id } = await claimed(10_000, 17);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      const members = await committeeVotes(f, 1n, [output, cheat, null]);
      await time.increase(WINDOW + 1);
      await expect(f.committee.resolve(1n))
        .to.emit(f.committee, "DisputeResolved")
        .withArgs(1n, false, ZeroHash, 1n)
        .and.to.emit(f.committee, "ValidatorSlashed")
        .withArgs(1n, members[2], VALIDATOR_STAKE, false);
      await f.sampling.advance(id);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, 0n);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
      expect((await f.vault.stakeOf(members[0]!)).total).to.equal(parseEther("1"));
      expect((await f.vault.stakeOf(members[1]!)).total).to.equal(parseEther("1"));
      expect((await f.vault.stakeOf(b.address)).locked).to.equal(0n);
    });

    it("bounds a dispute nobody arbitrates: the module's timeout refunds the requester", async () => {
      const { f, output, id } = await claimed(10_000, 18);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      await expect(f.sampling.advance(id))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleNothingDue")
        .withArgs(id, Phase.Disputed);
      await time.increase(ARBITRATION_TIMEOUT + 1);
      expect(await f.sampling.canAdvance(id)).to.equal(true);
      await f.sampling.advance(id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
      expect((await f.vault.stakeOf(b.address)).locked).to.equal(0n);
      expect(await f.committee.canResolve(1n)).to.equal(true); // never drawn: ends undecided, nobody locked
      await f.committee.resolve(1n);
      expect((await f.committee.ruling(1n)).decided).to.equal(false);
    });

    it("only takes disputes from authorised clients and validates its parameters", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      await expect(
        f.committee.openDispute(
          1n,
          f.modelId,
          ZeroHash,
          [f.operator.address, f.user.address],
          [ZeroHash, ZeroHash],
          f.user.address,
        ),
      )
        .to.be.revertedWithCustomError(f.committee, "SamplingCommitteeNotClient")
        .withArgs(f.deployer.address);
      await expect(
        f.committee.setParameters({
          committeeSize: 0,
          slashBps: 0,
          commitWindow: 1,
          revealWindow: 1,
          validatorStake: 0n,
        }),
      ).to.be.revertedWithCustomError(f.committee, "SamplingCommitteeInvalidParameters");
      // Draw window, commit window and reveal window.
      expect(await f.committee.maxResolutionTime()).to.equal(BigInt(3 * WINDOW));
      await expect(f.committee.ruling(1n)).to.be.revertedWithCustomError(f.committee, "SamplingCommitteeNotResolved");
    });
  });

  describe("soundness: draws from a fixed, staked pool; no silent fallbacks (issue 10, items 5, 7, 8)", () => {
    /** Fresh accounts beyond the fixture's. */
    async function fresh(count: number): Promise<HardhatEthersSigner[]> {
      return (await ethers.getSigners()).slice(12, 12 + count);
    }

    it("stake-less addresses cannot join a pool; sybils that join after A's commit are never drawn", async () => {
      const { f, output, id } = await claimed(10_000, 20);
      const sybils = await fresh(8);
      await expect(f.vault.connect(sybils[0]!).setService(f.modelId, 0, true)).to.be.revertedWithCustomError(
        f.vault,
        "StakingVaultInsufficientFreeStake",
      );
      const aSalt = salt();
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, aSalt)]));
      const snapshot = (await f.sampling.getJob(id)).snapshotBlock;
      // After the commit (and before the randomness exists) A floods the pool with staked sybils.
      for (const s of sybils) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 0, true);
      }
      expect(await f.vault.serverCount(f.modelId, 0)).to.equal(11n);
      expect(await f.vault.poolSizeAt(f.modelId, 0, snapshot)).to.equal(3n);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.sampling.advance(id);
      const job = await f.sampling.getJob(id);
      expect(job.phase).to.equal(BigInt(Phase.SamplerDrawn));
      expect(job.sampler).to.be.oneOf(f.samplers.map((b) => b.address));
      void aSalt;
    });

    it("expired randomness and no-show samplers keep the pool of A's commit: later sybils are never drawn", async () => {
      const { f, output, id } = await claimed(10_000, 22);
      await f.market
        .connect(f.operator)
        .submitResult(id, "0x", abi.encode(["bytes32"], [commitment(id, f.operator.address, output, salt())]));
      const snapshot = (await f.sampling.getJob(id)).snapshotBlock;
      for (const s of await fresh(8)) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 0, true);
      }
      // Nobody delivers the randomness in time; renewing it must not take a new snapshot.
      await mine(300);
      await f.sampling.advance(id);
      expect((await f.sampling.getJob(id)).attempt).to.equal(1n);
      expect((await f.sampling.getJob(id)).snapshotBlock).to.equal(snapshot);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.sampling.advance(id);
      const honest = f.samplers.map((b) => b.address);
      const first = (await f.sampling.getJob(id)).sampler;
      expect(first).to.be.oneOf(honest);
      // The drawn sampler never commits: the redraw still uses the snapshot and finds the other honest one.
      await time.increase(WINDOW + 1);
      await f.sampling.advance(id);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      if (await f.sampling.canAdvance(id)) await f.sampling.advance(id);
      const job = await f.sampling.getJob(id);
      expect(job.snapshotBlock).to.equal(snapshot);
      expect(job.sampler).to.be.oneOf(honest.filter((a) => a !== first));
    });

    it("a draw is a function of the snapshot and the seed alone: later joins and tied-up stakes change nothing", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      const harness = await ethers.deployContract("PoolDrawHarness");
      const sybils = await fresh(6);
      for (const s of sybils) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 0, true);
      }
      const snapshot = BigInt(await ethers.provider.getBlockNumber());
      const vaultAddress = await f.vault.getAddress();
      const draw = (seed: bigint, seats: number) =>
        harness.getFunction("draw")(vaultAddress, f.modelId, 0, snapshot, seed, seats, [f.operator.address], 32);
      const seeds = [1n, 2n, 3n, 0xdeadbeefn, 2n ** 200n];
      const before = (await Promise.all(seeds.map((seed) => draw(seed, 3)))) as string[][];
      // Churn: stakes tied up and unbonded, members that join later. (Only leaving the pool unseats a
      // member, and only the member itself can leave.)
      await f.vault.connect(sybils[0]!).requestUnbond(await f.vault.freeStake(sybils[0]!.address));
      await f.vault.connect(f.samplers[0]!).requestUnbond(await f.vault.freeStake(f.samplers[0]!.address));
      for (const s of await fresh(10).then((a) => a.slice(6))) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 0, true);
      }
      const after = (await Promise.all(seeds.map((seed) => draw(seed, 3)))) as string[][];
      expect(after).to.deep.equal(before);
      // One address, one seat; the excluded operator never; everyone drawn was in the snapshot.
      const members = new Set<string>();
      for (let i = 0n; i < (await f.vault.poolSizeAt(f.modelId, 0, snapshot)); i++) {
        members.add(await f.vault.poolMemberAt(f.modelId, 0, i, snapshot));
      }
      for (const picked of before) {
        expect(new Set(picked).size).to.equal(picked.length);
        expect(picked).to.not.include(f.operator.address);
        for (const p of picked) expect(members.has(p)).to.equal(true);
      }
    });

    it("a caught cheater cannot pack or empty the committee: the pool is fixed at the dispute, a short draw is redrawn, never used", async () => {
      const { f, output, id } = await claimed(10_000, 21);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      const dispute = await f.committee.getDispute(1n);
      // Once caught, the cheater adds validator sybils: they are not in the pool the first draw uses.
      const sybils = await fresh(3);
      for (const s of sybils) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 1, true);
      }
      expect(await f.vault.poolSizeAt(f.modelId, 1, dispute.snapshotBlock)).to.equal(4n);
      // ...and members that leave the pool right before the draw only take themselves out: here three of
      // the four snapshot validators leave, so no full committee can be seated.
      for (const v of f.validators.slice(0, 3)) await f.vault.connect(v).setService(f.modelId, 1, false);
      for (const s of sybils) await f.vault.connect(s).setService(f.modelId, 1, false);
      // Sybils that join and stay staked are not let in by the redraws either: they reuse the snapshot.
      for (const s of (await fresh(6)).slice(3)) {
        await f.vault.connect(s).stake(parseEther("2"), { value: parseEther("2") });
        await f.vault.connect(s).setService(f.modelId, 1, true);
      }
      for (let attempt = 1; attempt <= 4; attempt++) {
        await fulfilAll(networkHelpers, f.user, f.randomness);
        await expect(f.committee.drawCommittee(1n)).to.emit(f.committee, "DrawRandomnessRenewed").withArgs(1n, attempt);
        expect(await f.committee.membersOf(1n)).to.deep.equal([]); // never a short committee
        expect((await f.committee.getDispute(1n)).snapshotBlock).to.equal(dispute.snapshotBlock);
      }
      expect(await f.committee.canDraw(1n)).to.equal(false);
      expect(await f.committee.canResolve(1n)).to.equal(true);
      await expect(f.committee.resolve(1n)).to.emit(f.committee, "DisputeResolved").withArgs(1n, false, ZeroHash, 0n);
      // Undecided: the requester is refunded and neither party is slashed on a ruling nobody made.
      await expect(f.sampling.advance(id))
        .to.emit(f.sampling, "VerdictReached")
        .withArgs(id, Verdict.Rejected, false, 0n, false);
    });

    it("the requester never sits on the committee of its own request's dispute", async () => {
      const { f, output, id } = await claimed(10_000, 23);
      await f.vault.connect(f.user).stake(parseEther("1"), { value: parseEther("1") });
      await f.vault.connect(f.user).setService(f.modelId, 1, true);
      // Two validators leave before the dispute: without the exclusion the committee would be the two
      // others and the requester.
      for (const v of f.validators.slice(0, 2)) await f.vault.connect(v).setService(f.modelId, 1, false);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      expect((await f.committee.getDispute(1n)).requester).to.equal(f.user.address);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.committee.drawCommittee(1n)).to.emit(f.committee, "DrawRandomnessRenewed");
      expect(await f.committee.membersOf(1n)).to.deep.equal([]);
    });

    it("refuses an arbitration timeout the arbitrator cannot rule within, with a grace to record the ruling", async () => {
      const f = await networkHelpers.loadFixture(deployFixture);
      // A timeout at the bound would let a party race the timeout against a ruling already available.
      const bound = (await f.committee.maxResolutionTime()) + (await f.sampling.RESOLVE_GRACE());
      expect(await f.sampling.RESOLVE_GRACE()).to.be.at.least(3600n);
      await f.sampling.setArbitrationTimeout(bound - 1n);
      await expect(f.registry.configureMode(f.modelId, MODE_SAMPLING, encodeSamplingConfig(f.config)))
        .to.be.revertedWithCustomError(f.sampling, "SamplingModuleArbitrationTimeoutTooShort")
        .withArgs(bound - 1n, bound);
      await f.sampling.setArbitrationTimeout(bound);
      await f.registry.configureMode(f.modelId, MODE_SAMPLING, encodeSamplingConfig(f.config));
    });

    it("an arbitrator that refuses the dispute never blocks the reveal; advance retries, then ends undecided", async () => {
      const { f, output, id } = await claimed(10_000, 22);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.committee.setClient(await f.sampling.getAddress(), false);
      await expect(f.sampling.connect(b).reveal(id, output, bSalt)).to.emit(f.sampling, "DisputeOpenFailed");
      const job = await f.sampling.getJob(id);
      expect([job.phase, job.disputeOpened, job.samplerRevealed]).to.deep.equal([BigInt(Phase.Disputed), false, true]);
      expect(await f.sampling.canAdvance(id)).to.equal(true);
      await expect(f.sampling.advance(id)).to.emit(f.sampling, "DisputeOpenFailed");
      await f.committee.setClient(await f.sampling.getAddress(), true);
      await expect(f.sampling.advance(id)).to.emit(f.sampling, "DisputeEscalated");
      expect((await f.sampling.getJob(id)).disputeOpened).to.equal(true);
      // A second request whose dispute is never accepted ends undecided: refund, and nobody is slashed.
      const second = await claimed(10_000, 23);
      const aSalt2 = await committedAndDecided(second.f, second.id, wrongOutput(second.output));
      const opened = await samplerCommits(second.f, second.id, second.output);
      await second.f.sampling.connect(second.f.operator).reveal(second.id, wrongOutput(second.output), aSalt2);
      await second.f.committee.setClient(await second.f.sampling.getAddress(), false);
      await second.f.sampling.connect(opened.b).reveal(second.id, second.output, opened.bSalt);
      await time.increase(ARBITRATION_TIMEOUT + 1);
      await expect(second.f.sampling.advance(second.id))
        .to.emit(second.f.sampling, "VerdictReached")
        .withArgs(second.id, Verdict.Rejected, false, 0n, false);
      expect((await second.f.vault.stakeOf(opened.b.address)).total).to.equal(parseEther("3"));
      expect((await second.f.vault.stakeOf(second.f.operator.address)).total).to.equal(parseEther("3"));
    });

    it("an empty vote commitment is refused and never opens the reveals early", async () => {
      const { f, output, id } = await claimed(10_000, 24);
      const cheat = wrongOutput(output);
      const aSalt = await committedAndDecided(f, id, cheat);
      const { b, bSalt } = await samplerCommits(f, id, output);
      await f.sampling.connect(f.operator).reveal(id, cheat, aSalt);
      await f.sampling.connect(b).reveal(id, output, bSalt);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.committee.drawCommittee(1n);
      const members = await f.committee.membersOf(1n);
      for (const m of members.slice(0, 2)) {
        await expect(f.committee.connect(signerOf(f, m)).commitVote(1n, ZeroHash))
          .to.be.revertedWithCustomError(f.committee, "SamplingCommitteeEmptyCommitment")
          .withArgs(1n);
      }
      const s0 = salt();
      await f.committee
        .connect(signerOf(f, members[0]!))
        .commitVote(1n, voteCommitment(1n, members[0]!, keccak256(output), s0));
      expect((await f.committee.getDispute(1n)).commits).to.equal(1n);
      await expect(
        f.committee.connect(signerOf(f, members[0]!)).revealVote(1n, keccak256(output), s0),
      ).to.be.revertedWithCustomError(f.committee, "SamplingCommitteeOutsideWindow");
    });
  });
});
