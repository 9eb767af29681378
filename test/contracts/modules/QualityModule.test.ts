// QualityModule: committees drawn at random, commit-reveal of scores, median verdict, rewards and penalties.
import { inlineEthRequest } from "../../../scripts/lib/requests.js";
import { expect } from "chai";
import { network } from "hardhat";
import { hexlify, keccak256, parseEther, randomBytes, toUtf8Bytes, ZeroAddress, ZeroHash } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { DEFAULT_PARAMETERS, deploySuite } from "../../../scripts/lib/deploy.js";
import {
  MODE_QUALITY,
  deployQualityModule,
  encodeQualityConfig,
  encodeResponseURI,
  registerQualityModel,
  type QualityConfig,
} from "../../../scripts/lib/quality.js";
import { fulfilAll } from "../../helpers/randomness.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

const { ethers, networkHelpers } = await network.create();
const PRICE = parseEther("0.1");
const OPERATOR_STAKE = parseEther("1");
const VALIDATOR_DEPOSIT = parseEther("2");
const CONFIG: QualityConfig = {
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
const FEE = BigInt(CONFIG.committeeSize) * CONFIG.validatorReward;
const PROTOCOL_FEE = (PRICE * BigInt(DEFAULT_PARAMETERS.protocolFeeBps)) / 10_000n;
const VALIDATOR = 1;
const PROMPT = hexlify(toUtf8Bytes("what is 17 + 15 ?"));
const RESPONSE = hexlify(toUtf8Bytes("32"));

describe("QualityModule", function () {
  async function deployQualityFixture() {
    const signers = await ethers.getSigners();
    const [deployer, treasury, user, operator] = signers as [
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
      HardhatEthersSigner,
    ];
    const validators = signers.slice(4, 9);
    const suite = await deploySuite(deployer, { ...DEFAULT_PARAMETERS, treasury: treasury.address });
    const { quality, randomness } = await deployQualityModule(suite, deployer);
    const modelId = await registerQualityModel(suite.registry, deployer, {
      modelHash: ethers.id("veriml/arith-good"),
      artifactURI: "file://models/quality/gen-good",
      ethPrice: PRICE,
      operatorStake: OPERATOR_STAKE,
      config: CONFIG,
    });
    await suite.vault.connect(operator).stake(parseEther("5"), { value: parseEther("5") });
    await suite.vault.connect(operator).setService(modelId, 0, true);
    // The operator also stakes as a validator for its own model: it must never sit on its own committee.
    await suite.vault.connect(operator).setService(modelId, VALIDATOR, true);
    for (const v of validators) {
      await suite.vault.connect(v).stake(VALIDATOR_DEPOSIT, { value: VALIDATOR_DEPOSIT });
      await suite.vault.connect(v).setService(modelId, VALIDATOR, true);
    }
    return { ...suite, quality, randomness, modelId, deployer, treasury, user, operator, validators };
  }
  type Fixture = Awaited<ReturnType<typeof deployQualityFixture>>;

  async function createAndClaim(f: Fixture): Promise<bigint> {
    const deadline = BigInt((await networkHelpers.time.latest()) + 3600);
    await f.market
      .connect(f.user)
      .createRequest(inlineEthRequest(f.modelId, MODE_QUALITY, PROMPT, PRICE + FEE, deadline), { value: PRICE + FEE });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    return id;
  }

  async function submitted(response = RESPONSE) {
    const f = await networkHelpers.loadFixture(deployQualityFixture);
    const id = await createAndClaim(f);
    await f.market.connect(f.operator).submitResult(id, response, "0x");
    return { f, id };
  }

  /** Submits, waits for the randomness and draws; returns the committee as signers. */
  async function drawn(response = RESPONSE) {
    const { f, id } = await submitted(response);
    await fulfilAll(networkHelpers, f.user, f.randomness);
    await f.quality.drawCommittee(id);
    const members = (await f.quality.getMembers(id)).map((m) => m.validator);
    const signers = members.map((a) => f.validators.find((v) => v.address === a)!);
    return { f, id, members: signers };
  }

  const salts = new Map<string, string>();
  function saltOf(id: bigint, who: string): string {
    const key = `${id}:${who}`;
    if (!salts.has(key)) salts.set(key, hexlify(randomBytes(32)));
    return salts.get(key)!;
  }
  async function commit(f: Fixture, id: bigint, v: HardhatEthersSigner, score: number) {
    const c = await f.quality.commitmentOf(id, v.address, score, saltOf(id, v.address));
    await f.quality.connect(v).commitScore(id, c);
  }
  async function reveal(f: Fixture, id: bigint, v: HardhatEthersSigner, score: number) {
    await f.quality.connect(v).revealScore(id, score, saltOf(id, v.address));
  }
  /** Every member commits then reveals its score. */
  async function vote(f: Fixture, id: bigint, members: HardhatEthersSigner[], scores: number[]) {
    for (let i = 0; i < members.length; i++) await commit(f, id, members[i]!, scores[i]!);
    for (let i = 0; i < members.length; i++) await reveal(f, id, members[i]!, scores[i]!);
  }

  describe("configuration", () => {
    it("quotes k rewards as the verification fee and rejects out-of-range configs", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      const [price, fee] = await f.market.quote(f.modelId, MODE_QUALITY, ZeroAddress);
      expect(price).to.equal(PRICE);
      expect(fee).to.equal(FEE);
      const bad: [Partial<QualityConfig>, string, bigint][] = [
        [{ committeeSize: 0 }, "committeeSize", 0n],
        [{ committeeSize: 16 }, "committeeSize", 16n],
        // Two requester sybils of four reveal 0 against two honest 9000s: the median 4500 would reject the answer
        // and make outliers of the honest members. Only odd committees, whose median is a member's score.
        [{ committeeSize: 4 }, "committeeSize", 4n],
        [{ committeeSize: 2, minReveals: 1 }, "committeeSize", 2n],
        [{ minReveals: 4 }, "minReveals", 4n],
        // One silent requester sybil of three could otherwise force a refund (audit): a quorum above a
        // majority, or free silence, is refused.
        [{ minReveals: 3 }, "minReveals", 3n],
        [{ noRevealSlash: 0n }, "noRevealSlash", 0n],
        [{ threshold: 10_001 }, "threshold", 10_001n],
        [{ revealWindow: 0 }, "revealWindow", 0n],
        [{ commitWindow: 299 }, "commitWindow", 299n],
        [{ outlierSlash: parseEther("0.6") }, "outlierSlash", parseEther("0.6")],
        [{ operatorSlashBps: 10_001 }, "operatorSlashBps", 10_001n],
      ];
      for (const [change, field, value] of bad) {
        await expect(f.registry.configureMode(f.modelId, MODE_QUALITY, encodeQualityConfig({ ...CONFIG, ...change })))
          .to.be.revertedWithCustomError(f.quality, "QualityModuleBadConfig")
          .withArgs(ethers.encodeBytes32String(field), value);
      }
    });

    it("takes submissions only from the market", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      const submission = {
        requestId: 1n,
        modelId: f.modelId,
        operator: f.operator.address,
        inputHash: keccak256(PROMPT),
        config: encodeQualityConfig(CONFIG),
      };
      await expect(f.quality.connect(f.operator).onSubmit(submission, RESPONSE, "0x"))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleOnlyMarket")
        .withArgs(f.operator.address);
    });
  });

  describe("responses", () => {
    it("records an inline response and refuses an empty or over-long one", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      const id = await createAndClaim(f);
      const long = hexlify(new Uint8Array(CONFIG.maxInlineBytes + 1).fill(0x61));
      await expect(f.market.connect(f.operator).submitResult(id, long, "0x"))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadResponse")
        .withArgs(id, CONFIG.maxInlineBytes + 1, CONFIG.maxInlineBytes);
      await expect(f.market.connect(f.operator).submitResult(id, "0x", "0x"))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadResponse")
        .withArgs(id, 0, CONFIG.maxInlineBytes);
      await expect(f.market.connect(f.operator).submitResult(id, RESPONSE, "0x"))
        .to.emit(f.quality, "QualitySubmitted")
        .withArgs(id, f.modelId, f.operator.address, keccak256(RESPONSE), "", anyUint);
      const job = await f.quality.getJob(id);
      expect(job.drawDeadline - job.submittedAt).to.equal(BigInt(CONFIG.commitWindow));
      // Commit and reveal windows start when the committee is drawn.
      expect([job.commitDeadline, job.revealDeadline]).to.deep.equal([0n, 0n]);
    });

    it("takes a long response by hash + URI", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      const id = await createAndClaim(f);
      const text = toUtf8Bytes("x".repeat(1000));
      const hash = keccak256(text);
      await expect(f.market.connect(f.operator).submitResult(id, hash, encodeResponseURI("")))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadResponse")
        .withArgs(id, 32, CONFIG.maxInlineBytes);
      await expect(f.market.connect(f.operator).submitResult(id, hash, encodeResponseURI("ipfs://bafy-response")))
        .to.emit(f.quality, "QualitySubmitted")
        .withArgs(id, f.modelId, f.operator.address, hash, "ipfs://bafy-response", anyUint);
    });
  });

  describe("committee", () => {
    it("draws k distinct staked validators after the randomness is fixed, never the operator, and locks them", async () => {
      const { f, id } = await submitted();
      await expect(f.quality.drawCommittee(id)).to.be.revertedWithCustomError(
        f.quality,
        "QualityModuleRandomnessNotReady",
      );
      expect(await f.quality.isDrawReady(id)).to.equal(false);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      expect(await f.quality.isDrawReady(id)).to.equal(true);
      await expect(f.quality.drawCommittee(id)).to.emit(f.quality, "CommitteeDrawn");
      const job = await f.quality.getJob(id);
      expect(job.revealDeadline - job.commitDeadline).to.equal(BigInt(CONFIG.revealWindow));
      const members = (await f.quality.getMembers(id)).map((m) => m.validator);
      expect(members).to.have.length(CONFIG.committeeSize);
      expect(new Set(members).size).to.equal(CONFIG.committeeSize);
      expect(members).to.not.include(f.operator.address);
      for (const m of members) {
        expect(f.validators.map((v) => v.address)).to.include(m);
        const lock = await f.vault.getLock(await f.quality.memberLockId(id, m));
        expect(lock.amount).to.equal(CONFIG.validatorStake);
        expect(lock.owner).to.equal(await f.quality.getAddress());
      }
      await expect(f.quality.drawCommittee(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleAlreadyDrawn");
    });

    it("never seats the operator or the requester; too few others means no committee and a refund, never a short one", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      // The requester also joins the validator pool of the model, before its request: it must never judge it.
      await f.vault.connect(f.user).stake(VALIDATOR_DEPOSIT, { value: VALIDATOR_DEPOSIT });
      await f.vault.connect(f.user).setService(f.modelId, VALIDATOR, true);
      for (let r = 0; r < 4; r++) {
        const id = await createAndClaim(f);
        await f.market.connect(f.operator).submitResult(id, RESPONSE, "0x");
        await fulfilAll(networkHelpers, f.user, f.randomness);
        await f.quality.drawCommittee(id);
        const members = (await f.quality.getMembers(id)).map((m) => m.validator);
        expect(members).to.have.length(3);
        expect(members).to.not.include(f.operator.address);
        expect(members).to.not.include(f.user.address);
        await vote(
          f,
          id,
          members.map((m) => f.validators.find((v) => v.address === m)!),
          [9_000, 9_000, 9_000],
        );
        await f.quality.resolve(id);
        await f.market.finalize(id);
      }
      // Leave only the operator, the requester and one validator: no committee of three can be seated.
      for (const v of f.validators.slice(1)) await f.vault.connect(v).setService(f.modelId, VALIDATOR, false);
      const id = await createAndClaim(f);
      await f.market.connect(f.operator).submitResult(id, RESPONSE, "0x");
      for (let attempt = 1; attempt <= 4; attempt++) {
        await fulfilAll(networkHelpers, f.user, f.randomness);
        await expect(f.quality.drawCommittee(id))
          .to.emit(f.quality, "CommitteeRandomnessRequested")
          .withArgs(id, attempt, anyUint);
        expect(await f.quality.getMembers(id)).to.have.length(0);
      }
      await expect(f.quality.drawCommittee(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleDrawClosed");
      await expect(f.quality.resolve(id)).to.emit(f.quality, "QualityResolved").withArgs(id, false, 0, 0);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, 0n);
    });

    it("seats the drawn validators whatever others did to their free stake: each backs its seat with free stake, then its bond", async () => {
      const { f, id } = await submitted();
      // Every validator's free stake is tied up after the snapshot (here by unbonding it; claims or other
      // duties do the same): the draw must neither skip them nor come up short.
      for (const v of f.validators) await f.vault.connect(v).requestUnbond(await f.vault.freeStake(v.address));
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.quality.drawCommittee(id);
      const members = await f.quality.getMembers(id);
      expect(members).to.have.length(CONFIG.committeeSize);
      const bond = await f.vault.minPoolStake(1);
      for (const m of members) {
        const held = (await f.vault.getLock(await f.quality.memberLockId(id, m.validator))).amount;
        expect(held, "the seat is backed by the pool bond").to.equal(
          bond < CONFIG.validatorStake ? bond : CONFIG.validatorStake,
        );
      }
      // A silent member is slashed at most what its lock holds.
      for (const m of members.slice(0, 2)) {
        const v = f.validators.find((x) => x.address === m.validator)!;
        await commit(f, id, v, 9000);
      }
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      for (const m of members.slice(0, 2)) {
        const v = f.validators.find((x) => x.address === m.validator)!;
        await reveal(f, id, v, 9000);
      }
      await networkHelpers.time.increase(CONFIG.revealWindow + 1);
      await f.quality.resolve(id);
      const silent = members[2]!.validator;
      expect((await f.vault.stakeOf(silent)).locked).to.equal(0n);
    });

    it("a member slashed into its bond is not seated again: sybils cost their bond once per membership (audit)", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      // Three sybils stake only the pool bond; the honest validators are away for the first request.
      const sybils = (await ethers.getSigners()).slice(12, 15);
      const bond = await f.vault.minPoolStake(VALIDATOR);
      for (const s of sybils) {
        await f.vault.connect(s).stake(bond, { value: bond });
        await f.vault.connect(s).setService(f.modelId, VALIDATOR, true);
      }
      for (const v of f.validators) await f.vault.connect(v).setService(f.modelId, VALIDATOR, false);
      const first = await createAndClaim(f);
      await f.market.connect(f.operator).submitResult(first, RESPONSE, "0x");
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.quality.drawCommittee(first);
      expect((await f.quality.getMembers(first)).map((m) => m.validator)).to.have.members(sybils.map((s) => s.address));
      // Silent: each loses its whole lock, which was its bond.
      await networkHelpers.time.increase(CONFIG.commitWindow + CONFIG.revealWindow + 2);
      await f.quality.resolve(first);
      for (const s of sybils) {
        expect((await f.vault.stakeOf(s.address)).total).to.equal(0n);
        expect(await f.vault.isServing(s.address, f.modelId, VALIDATOR), "still listed").to.equal(true);
        expect(await f.vault.isPoolEligible(s.address, f.modelId, VALIDATOR), "but never seated again").to.equal(false);
      }
      // The honest validators are back: the next committee holds none of the stake-less sybils.
      for (const v of f.validators) await f.vault.connect(v).setService(f.modelId, VALIDATOR, true);
      const second = await createAndClaim(f);
      await f.market.connect(f.operator).submitResult(second, RESPONSE, "0x");
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.quality.drawCommittee(second);
      const members = (await f.quality.getMembers(second)).map((m) => m.validator);
      expect(members).to.have.length(CONFIG.committeeSize);
      for (const s of sybils) expect(members).to.not.include(s.address);
    });

    it("asks for fresh randomness when it expired, and closes the draw at the draw deadline", async () => {
      const { f, id } = await submitted();
      const snapshot = (await f.quality.getJob(id)).snapshotBlock;
      await networkHelpers.mine(300);
      await expect(f.quality.drawCommittee(id))
        .to.emit(f.quality, "CommitteeRandomnessRequested")
        .withArgs(id, 1, anyUint);
      expect((await f.quality.getJob(id)).drawn).to.equal(false);
      // The renewal draws from the pool of the submission, not one that joiners since could change.
      expect((await f.quality.getJob(id)).snapshotBlock).to.equal(snapshot);
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.quality.drawCommittee(id);
      expect(await f.quality.getMembers(id)).to.have.length(3);

      const late = await submitted();
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      await expect(late.f.quality.drawCommittee(late.id)).to.be.revertedWithCustomError(
        late.f.quality,
        "QualityModuleDrawClosed",
      );
    });
  });

  describe("verdicts", () => {
    it("pays a good output: operator paid, close validators rewarded, locks released", async () => {
      const { f, id, members } = await drawn();
      await vote(f, id, members, [8_800, 9_100, 9_400]);
      expect(await f.quality.isFinal(id)).to.equal(false);
      await expect(f.quality.resolve(id)).to.emit(f.quality, "QualityResolved").withArgs(id, true, 9_100, 3);
      expect(await f.quality.isFinal(id)).to.equal(true);
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, RESPONSE, PRICE - PROTOCOL_FEE, PROTOCOL_FEE);
      expect(await settledOutput(f.market, id)).to.equal(RESPONSE);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE);
      for (const m of members) {
        expect(await f.market.owed(m.address, ZeroAddress)).to.equal(CONFIG.validatorReward);
        expect((await f.vault.stakeOf(m.address)).locked).to.equal(0n);
        expect((await f.vault.stakeOf(m.address)).total).to.equal(VALIDATOR_DEPOSIT);
      }
      expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(0n);
    });

    it("refuses a cheap model's output: requester refunded, operator slashed", async () => {
      const { f, id, members } = await drawn(hexlify(toUtf8Bytes("23")));
      await vote(f, id, members, [1_200, 600, 2_100]);
      await expect(f.quality.resolve(id)).to.emit(f.quality, "QualityResolved").withArgs(id, false, 1_200, 3);
      const slash = (OPERATOR_STAKE * BigInt(CONFIG.operatorSlashBps)) / 10_000n;
      const treasuryBefore = await f.vault.slashProceedsOf(f.treasury.address);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, slash);
      // The slash goes to the treasury: a requester gains nothing from a rejection it might steer.
      expect(await f.vault.slashProceedsOf(f.user.address)).to.equal(0n);
      expect((await f.vault.slashProceedsOf(f.treasury.address)) - treasuryBefore).to.equal(slash);
      // Requester: price + unused fee back; validators that agreed are still paid for their work.
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("5") - slash);
      for (const m of members) expect(await f.market.owed(m.address, ZeroAddress)).to.equal(CONFIG.validatorReward);
    });

    it("penalises a validator far from the median; a lying minority cannot flip the verdict", async () => {
      const { f, id, members } = await drawn(hexlify(toUtf8Bytes("23")));
      const [liar, a, b] = members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      await vote(f, id, [liar, a, b], [10_000, 900, 1_500]);
      await expect(f.quality.resolve(id))
        .to.emit(f.quality, "QualityResolved")
        .withArgs(id, false, 1_500, 3)
        .and.to.emit(f.quality, "ValidatorPenalised")
        .withArgs(id, liar.address, true, CONFIG.outlierSlash);
      await f.market.finalize(id);
      expect(await f.market.owed(liar.address, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(liar.address)).total).to.equal(VALIDATOR_DEPOSIT - CONFIG.outlierSlash);
      for (const v of [a, b]) {
        expect(await f.market.owed(v.address, ZeroAddress)).to.equal(CONFIG.validatorReward);
        expect((await f.vault.stakeOf(v.address)).total).to.equal(VALIDATOR_DEPOSIT);
      }
      // The unearned reward goes back to the requester with the price.
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + CONFIG.validatorReward);
    });

    it("penalises a validator that does not reveal, and resolves only at the reveal deadline", async () => {
      const { f, id, members } = await drawn();
      const [silent, a, b] = members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      await commit(f, id, silent, 9_000);
      await commit(f, id, a, 9_000);
      await commit(f, id, b, 8_700);
      await reveal(f, id, a, 9_000);
      await reveal(f, id, b, 8_700);
      await expect(f.quality.resolve(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleNotResolvable");
      await networkHelpers.time.increase(CONFIG.commitWindow + CONFIG.revealWindow + 1);
      await expect(
        f.quality.connect(silent).revealScore(id, 9_000, saltOf(id, silent.address)),
      ).to.be.revertedWithCustomError(f.quality, "QualityModuleRevealClosed");
      await expect(f.quality.resolve(id))
        .to.emit(f.quality, "ValidatorPenalised")
        .withArgs(id, silent.address, false, CONFIG.noRevealSlash);
      await f.market.finalize(id);
      expect(await f.market.owed(f.operator.address, ZeroAddress)).to.equal(PRICE - PROTOCOL_FEE);
      expect(await f.market.owed(silent.address, ZeroAddress)).to.equal(0n);
      expect((await f.vault.stakeOf(silent.address)).total).to.equal(VALIDATOR_DEPOSIT - CONFIG.noRevealSlash);
      expect((await f.vault.stakeOf(silent.address)).locked).to.equal(0n);
      await expect(f.quality.resolve(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleAlreadyResolved");
    });

    it("falls back with too few reveals: requester refunded, operator not slashed, silent members slashed", async () => {
      const { f, id, members } = await drawn(hexlify(toUtf8Bytes("23")));
      const [speaker] = members as [HardhatEthersSigner];
      for (const v of members) await commit(f, id, v, 500);
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      await reveal(f, id, speaker, 500);
      await networkHelpers.time.increase(CONFIG.revealWindow);
      await expect(f.quality.resolve(id)).to.emit(f.quality, "QualityResolved").withArgs(id, false, 500, 1);
      expect((await f.quality.getJob(id)).quorum).to.equal(false);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, 0n);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(parseEther("5"));
      expect(await f.market.owed(speaker.address, ZeroAddress)).to.equal(CONFIG.validatorReward);
      for (const v of members.slice(1)) {
        expect((await f.vault.stakeOf(v.address)).total).to.equal(VALIDATOR_DEPOSIT - CONFIG.noRevealSlash);
      }
    });

    it("settles in bounded time when no committee can be drawn (no validators)", async () => {
      const f = await networkHelpers.loadFixture(deployQualityFixture);
      for (const v of f.validators) await f.vault.connect(v).setService(f.modelId, VALIDATOR, false);
      const id = await createAndClaim(f);
      await f.market.connect(f.operator).submitResult(id, RESPONSE, "0x");
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await expect(f.quality.drawCommittee(id)).to.emit(f.quality, "CommitteeRandomnessRequested");
      expect(await f.quality.getMembers(id)).to.have.length(0);
      await expect(f.quality.resolve(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleNotResolvable");
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      await f.quality.resolve(id);
      await expect(f.market.finalize(id)).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, 0n);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
    });

    it("settles after the draw deadline when nobody drew the committee", async () => {
      const { f, id } = await submitted();
      await expect(f.quality.resolve(id)).to.be.revertedWithCustomError(f.quality, "QualityModuleNotResolvable");
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      await f.quality.resolve(id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.user.address, ZeroAddress)).to.equal(PRICE + FEE);
    });
  });

  describe("soundness: committees from a fixed, staked pool (issue 10, item 5)", () => {
    it("validators that join after the submission are never drawn for it; stake-less ones cannot join", async () => {
      const { f, id } = await submitted();
      const late = (await ethers.getSigners()).slice(12, 17);
      await expect(f.vault.connect(late[0]!).setService(f.modelId, VALIDATOR, true)).to.be.revertedWithCustomError(
        f.vault,
        "StakingVaultInsufficientFreeStake",
      );
      for (const s of late) {
        await f.vault.connect(s).stake(VALIDATOR_DEPOSIT, { value: VALIDATOR_DEPOSIT });
        await f.vault.connect(s).setService(f.modelId, VALIDATOR, true);
      }
      const job = await f.quality.getJob(id);
      expect(await f.vault.poolSizeAt(f.modelId, VALIDATOR, job.snapshotBlock)).to.equal(6n); // operator + 5
      await fulfilAll(networkHelpers, f.user, f.randomness);
      await f.quality.drawCommittee(id);
      const members = (await f.quality.getMembers(id)).map((m) => m.validator);
      for (const m of members) expect(late.map((s) => s.address)).to.not.include(m);
      expect(new Set(members).size).to.equal(3);
    });
  });

  describe("commit-reveal", () => {
    it("hides scores until commits close, so a member cannot copy another's score", async () => {
      const { f, id, members } = await drawn();
      const [honest, copier, third] = members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      await commit(f, id, honest, 9_300);
      // No reveal while a member can still commit.
      await expect(
        f.quality.connect(honest).revealScore(id, 9_300, saltOf(id, honest.address)),
      ).to.be.revertedWithCustomError(f.quality, "QualityModuleRevealClosed");
      // Copying the honest member's commitment is useless: it binds the committer's address.
      const copied = (await f.quality.getMembers(id)).find((m) => m.validator === honest.address)!.commitment;
      await f.quality.connect(copier).commitScore(id, copied);
      await commit(f, id, third, 9_000);
      await reveal(f, id, honest, 9_300);
      await expect(f.quality.connect(copier).revealScore(id, 9_300, saltOf(id, honest.address)))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadReveal")
        .withArgs(id, copier.address);
      await expect(f.quality.connect(third).revealScore(id, 9_100, saltOf(id, third.address)))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadReveal")
        .withArgs(id, third.address);
      await expect(f.quality.connect(honest).commitScore(id, copied)).to.be.revertedWithCustomError(
        f.quality,
        "QualityModuleAlreadyCommitted",
      );
    });

    it("refuses commits from non-members and after the commit deadline", async () => {
      const { f, id, members } = await drawn();
      const outsider = f.validators.find((v) => !members.includes(v))!;
      await expect(f.quality.connect(outsider).commitScore(id, ZeroHash.replace(/0$/, "1")))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleNotMember")
        .withArgs(id, outsider.address);
      await expect(f.quality.connect(f.operator).commitScore(id, ZeroHash.replace(/0$/, "1")))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleNotMember")
        .withArgs(id, f.operator.address);
      await networkHelpers.time.increase(CONFIG.commitWindow + 1);
      await expect(commit(f, id, members[0]!, 5_000)).to.be.revertedWithCustomError(
        f.quality,
        "QualityModuleCommitClosed",
      );
      await expect(f.quality.connect(members[0]!).revealScore(id, 10_001, ZeroHash))
        .to.be.revertedWithCustomError(f.quality, "QualityModuleBadScore")
        .withArgs(10_001);
    });
  });
});

/** chai matcher predicate: any bigint. */
function anyUint(value: unknown): boolean {
  return typeof value === "bigint" && value >= 0n;
}
