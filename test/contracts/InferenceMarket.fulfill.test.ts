// InferenceMarket: one-transaction settlement of instant modules (fulfill), and what a request stores (three
// words plus a shared terms snapshot; the output by hash). The module is the scripted mock, which declares
// IInstantVerificationModule unless told not to; the real ZkModule with real proofs is in
// test/contracts/modules/ZkModule.test.ts, batches in ZkModule.batch.test.ts.
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type { HostileConsumer } from "../../types/ethers-contracts/index.js";
import {
  Behaviour,
  BPS,
  createAndClaim,
  createRequest,
  DAY,
  DEFAULT_INPUT,
  DEFAULT_OUTPUT,
  deployMarketFixture,
  encodeLabel,
  ETH,
  ETH_FEE,
  ETH_PRICE,
  ETH_REQUIRED,
  ethers,
  expectSolvent,
  MAX_CALLBACK_GAS,
  MODE_OPTIMISTIC,
  MODE_ZK,
  MODULE_FEE_BPS,
  networkHelpers,
  OPERATOR_FREE,
  OPERATOR_STAKE,
  PROTOCOL_FEE_BPS,
  requestParams,
  Role,
  Status,
  time,
  TOKEN_FEE,
  TOKEN_PRICE,
  type MarketFixture,
} from "./fixtures.js";
import { settledOutput } from "../../operator/src/chain/results.js";

const ETH_PROTOCOL_FEE = (ETH_PRICE * PROTOCOL_FEE_BPS) / BPS;
const ETH_OPERATOR_PAYMENT = ETH_PRICE - ETH_PROTOCOL_FEE;
const TOKEN_PROTOCOL_FEE = (TOKEN_PRICE * PROTOCOL_FEE_BPS) / BPS;
const abi = ethers.AbiCoder.defaultAbiCoder();

describe("InferenceMarket: fulfill and request storage", () => {
  let f: MarketFixture;
  let tokenAddress: string;

  beforeEach(async () => {
    f = await networkHelpers.loadFixture(deployMarketFixture);
    tokenAddress = await f.token.getAddress();
  });

  afterEach(async () => {
    await expectSolvent(f, [tokenAddress]);
  });

  const statusOf = async (id: bigint): Promise<Status> => Number((await f.market.getRequest(id)).status) as Status;

  describe("fulfill", () => {
    it("settles an open request in one transaction: the caller is paid, the output hash stored, the fee returned", async () => {
      const id = await createRequest(f);
      const tx = f.market.connect(f.operator2).fulfill(id, DEFAULT_OUTPUT, "0x1234");
      // The module sees the request as created (input hash, config snapshot) with the caller as operator.
      await expect(tx)
        .to.emit(f.module, "MockFulfillReceived")
        .withArgs(id, f.operator2.address, "0x", ethers.keccak256(DEFAULT_INPUT));
      await expect(tx)
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator2.address, DEFAULT_OUTPUT, ETH_OPERATOR_PAYMENT, ETH_PROTOCOL_FEE);
      await expect(tx).not.to.emit(f.market, "ResultSubmitted");
      const r = await f.market.getRequest(id);
      expect(r.status).to.equal(BigInt(Status.Finalized));
      expect(r.operator).to.equal(f.operator2.address);
      expect(await f.market.resultHashOf(id)).to.equal(ethers.keccak256(DEFAULT_OUTPUT));
      expect(await settledOutput(f.market, id)).to.equal(DEFAULT_OUTPUT);
      expect(await f.market.owed(f.operator2.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect(await f.market.owed(f.treasury.address, ETH)).to.equal(ETH_PROTOCOL_FEE);
      // An instant module takes no reward: the requester gets its verification fee back.
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_FEE);
      // No claim, so nothing was locked.
      expect(await f.vault.freeStake(f.operator2.address)).to.equal(OPERATOR_FREE);
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
    });

    it("pays ERC-20 requests in their token", async () => {
      const id = await createRequest(f, { token: tokenAddress });
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect(await f.market.owed(f.operator.address, tokenAddress)).to.equal(TOKEN_PRICE - TOKEN_PROTOCOL_FEE);
      expect(await f.market.owed(f.treasury.address, tokenAddress)).to.equal(TOKEN_PROTOCOL_FEE);
      expect(await f.market.owed(f.requester.address, tokenAddress)).to.equal(TOKEN_FEE);
    });

    it("only an operator serving the model may fulfill an open request", async () => {
      const id = await createRequest(f);
      await expect(f.market.connect(f.outsider).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotServing")
        .withArgs(f.modelId, f.outsider.address);
      // An operator that stops serving the model is refused too.
      await f.vault.connect(f.operator).setService(f.modelId, Role.Operator, false);
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotServing")
        .withArgs(f.modelId, f.operator.address);
      expect(await statusOf(id)).to.equal(Status.Open);
    });

    it("leaves the request open when the module refuses the result", async () => {
      const id = await createRequest(f);
      await f.module.setRejectSubmissions(true);
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.module, "MockVerificationModuleRejected")
        .withArgs(id);
      expect(await statusOf(id)).to.equal(Status.Open);
      expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
      await f.module.setRejectSubmissions(false);
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect(await statusOf(id)).to.equal(Status.Finalized);
    });

    it("settles at most once: a second fulfill, a finalize, a refund or a claim after it are refused", async () => {
      const id = await createRequest(f);
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      await expect(f.market.connect(f.operator2).fulfill(id, encodeLabel(3), "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      await expect(f.market.finalize(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      await expect(f.market.connect(f.operator).claim(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      await time.increase(2n * DAY);
      await expect(f.market.refund(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect(await settledOutput(f.market, id)).to.equal(DEFAULT_OUTPUT);
    });

    it("refuses after the deadline (in active time), and the refund takes over", async () => {
      const id = await createRequest(f);
      const { deadline } = await f.market.getRequest(id);
      await time.increaseTo(deadline + 1n);
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
        .withArgs(id, deadline, anyValue);
      await f.market.refund(id);
      expect(await statusOf(id)).to.equal(Status.Refunded);
    });

    it("refuses while paused; a pause moves the deadline later, so the request can still be fulfilled after", async () => {
      const id = await createRequest(f);
      const { deadline } = await f.market.getRequest(id);
      await f.market.connect(f.owner).pause();
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x")).to.be.revertedWithCustomError(
        f.market,
        "EnforcedPause",
      );
      // Paused past the unix deadline: the active clock stood still.
      await time.increaseTo(deadline + 10n * DAY);
      await f.market.connect(f.owner).unpause();
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect(await statusOf(id)).to.equal(Status.Finalized);
    });

    it("refuses a request whose module does not settle on submission; its claim path is unchanged", async () => {
      // Terms record the module's declaration when first snapshotted: this model's requests are not instant.
      await f.module.setInstant(false);
      const price = ETH_PRICE + 1n;
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, ETH, price);
      const params = await requestParams(f, { maxFee: price + (price * MODULE_FEE_BPS) / BPS });
      await f.market.connect(f.requester).createRequest(params, { value: params.maxFee });
      const id = await f.market.requestCount();
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotInstant")
        .withArgs(id, await f.module.getAddress());
      await expect(f.market.connect(f.operator).fulfillBatch([id], "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotInstant")
        .withArgs(id, await f.module.getAddress());
      await f.module.setAutoAccept(true);
      await f.market.connect(f.operator).claim(id);
      await f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x");
      await f.market.finalize(id);
      expect(await statusOf(id)).to.equal(Status.Finalized);
    });

    it("a claim stays exclusive: only the claimant fulfills, inside its window, and its lock is released", async () => {
      const id = await createAndClaim(f);
      await expect(f.market.connect(f.operator2).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongOperator")
        .withArgs(id, f.operator2.address, f.operator.address);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE - OPERATOR_STAKE);
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect(await statusOf(id)).to.equal(Status.Finalized);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE);
      expect((await f.vault.getLock(await f.market.operatorLockId(id, f.operator.address))).amount).to.equal(0n);
    });

    it("a claimant past its claim window cannot fulfill; the request is reopened (no-show) and then open to all", async () => {
      const id = await createAndClaim(f);
      const { claimDeadline } = await f.market.getRequest(id);
      await time.increaseTo(claimDeadline + 1n);
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketClaimWindow")
        .withArgs(id, claimDeadline, anyValue);
      await f.market.reopen(id);
      await f.market.connect(f.operator2).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect((await f.market.getRequest(id)).operator).to.equal(f.operator2.address);
    });

    it("a copied fulfill mined first is paid to the copier (the proof names nobody); a claim prevents it", async () => {
      // Attacker model: operator2 watches the mempool and resends operator's (output, proof) with a higher fee.
      const id = await createRequest(f);
      await f.market.connect(f.operator2).fulfill(id, DEFAULT_OUTPUT, "0xc0ffee");
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0xc0ffee"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      expect(await f.market.owed(f.operator2.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      // The requester lost nothing: the verified output is the one the module accepted, paid once.
      expect(await settledOutput(f.market, id)).to.equal(DEFAULT_OUTPUT);
      // An operator that claims first cannot be front-run: a copy from anyone else is refused.
      const claimed = await createAndClaim(f);
      await expect(f.market.connect(f.operator2).fulfill(claimed, DEFAULT_OUTPUT, "0xc0ffee"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongOperator")
        .withArgs(claimed, f.operator2.address, f.operator.address);
      await f.market.connect(f.operator).fulfill(claimed, DEFAULT_OUTPUT, "0xc0ffee");
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
    });

    it("judges a request by the terms it was created under, even after the owner changes, disables or deactivates", async () => {
      const config = abi.encode(["uint256"], [42]);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, config);
      const id = await createRequest(f);
      const second = await createRequest(f);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, abi.encode(["uint256"], [43]));
      await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
        .to.emit(f.module, "MockFulfillReceived")
        .withArgs(id, f.operator.address, config, ethers.keccak256(DEFAULT_INPUT));
      await f.registry.connect(f.modelOwner).setActive(f.modelId, false);
      // The requester paid for a verified answer under those terms: serving it stays possible.
      await f.market.connect(f.operator).fulfill(second, DEFAULT_OUTPUT, "0x");
      expect(await statusOf(second)).to.equal(Status.Finalized);
      await expect(createRequest(f))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModelInactive")
        .withArgs(f.modelId);
    });

    it("runs the callback with its gas limit; a reverting consumer does not undo settlement", async () => {
      const consumer: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      await consumer.setBehaviour(Behaviour.Revert);
      const params = await requestParams(f, { callback: await consumer.getAddress(), callbackGasLimit: 100_000 });
      await consumer.connect(f.requester).request(params, { value: params.maxFee });
      const id = await f.market.requestCount();
      const tx = f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      await expect(tx)
        .to.emit(f.market, "CallbackExecuted")
        .withArgs(id, await consumer.getAddress(), false);
      expect(await statusOf(id)).to.equal(Status.Finalized);
    });

    it("refuses a fulfill that cannot give the callback its whole limit (no starving the consumer)", async () => {
      const consumer: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      await consumer.setBehaviour(Behaviour.BurnGas);
      const params = await requestParams(f, {
        callback: await consumer.getAddress(),
        callbackGasLimit: MAX_CALLBACK_GAS,
      });
      await consumer.connect(f.requester).request(params, { value: params.maxFee });
      const id = await f.market.requestCount();
      await expect(
        f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x", { gasLimit: 400_000 }),
      ).to.be.revertedWithCustomError(f.market, "InferenceMarketInsufficientGas");
      expect(await statusOf(id)).to.equal(Status.Open);
      const tx = await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x", { gasLimit: 3_000_000 });
      const receipt = await tx.wait();
      expect(receipt!.gasUsed > MAX_CALLBACK_GAS, "the consumer got its whole limit").to.equal(true);
    });

    for (const behaviour of [Behaviour.ReenterFinalize, Behaviour.ReenterWithdraw]) {
      it(`a callback cannot reenter (${Behaviour[behaviour]}); settlement completes once`, async () => {
        const consumer: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
        await consumer.setBehaviour(behaviour);
        const params = await requestParams(f, {
          callback: await consumer.getAddress(),
          callbackGasLimit: MAX_CALLBACK_GAS,
          maxFee: ETH_REQUIRED + 1_000n,
        });
        await consumer.connect(f.requester).request(params, { value: params.maxFee });
        const id = await f.market.requestCount();
        await expect(f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x"))
          .to.emit(f.market, "CallbackExecuted")
          .withArgs(id, await consumer.getAddress(), true);
        expect(await consumer.reentrySucceeded()).to.equal(false);
        expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
        expect(await f.market.owed(await consumer.getAddress(), ETH)).to.equal(1_000n + ETH_FEE);
      });
    }

    it("a consumer's callback may chain a new request from a fulfill", async () => {
      const consumer: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      await consumer.setBehaviour(Behaviour.ChainRequest);
      const chained = await requestParams(f);
      await consumer.setChainedRequest(chained);
      const params = await requestParams(f, {
        callback: await consumer.getAddress(),
        callbackGasLimit: MAX_CALLBACK_GAS,
      });
      await consumer.connect(f.requester).request(params, { value: params.maxFee });
      const id = await f.market.requestCount();
      // The consumer pays for the chained request from its own balance.
      await f.requester.sendTransaction({ to: await consumer.getAddress(), value: chained.maxFee });
      await f.market.connect(f.operator).fulfill(id, DEFAULT_OUTPUT, "0x");
      expect(await consumer.chainedRequestId()).to.equal(id + 1n);
      expect(await statusOf(id + 1n)).to.equal(Status.Open);
    });

    it("refuses an empty batch, and a batch whose module returns another number of outputs", async () => {
      const a = await createRequest(f);
      const b = await createRequest(f);
      await expect(f.market.connect(f.operator).fulfillBatch([], "0x")).to.be.revertedWithCustomError(
        f.market,
        "InferenceMarketEmptyBatch",
      );
      await f.module.setBatchOutputs([DEFAULT_OUTPUT]);
      await expect(f.market.connect(f.operator).fulfillBatch([a, b], "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketBatchOutputs")
        .withArgs(2n, 1n);
      await f.module.setBatchOutputs([DEFAULT_OUTPUT, encodeLabel(3)]);
      await expect(f.market.connect(f.operator).fulfillBatch([a, b], "0x"))
        .to.emit(f.module, "MockBatchReceived")
        .withArgs([a, b], f.operator.address, "0x", [ethers.keccak256(DEFAULT_INPUT), ethers.keccak256(DEFAULT_INPUT)]);
      expect(await settledOutput(f.market, b)).to.equal(encodeLabel(3));
    });
  });

  describe("what a request stores", () => {
    it("getRequest joins the request's words with its terms, callback and all", async () => {
      const consumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      const id = await createRequest(f, {
        token: tokenAddress,
        callback: await consumer.getAddress(),
        callbackGasLimit: MAX_CALLBACK_GAS,
        inputURI: "ipfs://x",
      });
      const r = await f.market.getRequest(id);
      expect(r.requester).to.equal(f.requester.address);
      expect(r.mode).to.equal(BigInt(MODE_ZK));
      expect(r.status).to.equal(BigInt(Status.Open));
      expect(r.operator).to.equal(ethers.ZeroAddress);
      expect(r.claimDeadline).to.equal(0n);
      expect(r.token).to.equal(tokenAddress);
      expect(r.callback).to.equal(await consumer.getAddress());
      expect(r.callbackGasLimit).to.equal(MAX_CALLBACK_GAS);
      expect(r.module).to.equal(await f.module.getAddress());
      expect(r.modelId).to.equal(f.modelId);
      expect(r.price).to.equal(TOKEN_PRICE);
      expect(r.verificationFee).to.equal(TOKEN_FEE);
      expect(r.operatorStake).to.equal(OPERATOR_STAKE);
      expect(r.inputHash).to.equal(ethers.keccak256(DEFAULT_INPUT));
      expect(await f.market.modeConfigOf(id)).to.equal("0x");
    });

    it("requests under the same terms share one snapshot; new terms get a new one and old requests keep theirs", async () => {
      const first = f.market.connect(f.requester).createRequest(await requestParams(f), { value: ETH_REQUIRED });
      await expect(first)
        .to.emit(f.market, "TermsRecorded")
        .withArgs(1n, f.modelId, MODE_ZK, ETH, await f.module.getAddress(), true, ethers.keccak256("0x"));
      const again = f.market.connect(f.requester).createRequest(await requestParams(f), { value: ETH_REQUIRED });
      await expect(again).not.to.emit(f.market, "TermsRecorded");
      const old = await f.market.requestCount();
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, ETH, ETH_PRICE * 2n);
      const required = ETH_PRICE * 2n + (ETH_PRICE * 2n * 1_000n) / BPS;
      const dearer = f.market
        .connect(f.requester)
        .createRequest(await requestParams(f, { maxFee: required }), { value: required });
      await expect(dearer)
        .to.emit(f.market, "TermsRecorded")
        .withArgs(2n, f.modelId, MODE_ZK, ETH, anyValue, true, anyValue);
      expect((await f.market.getRequest(old)).price).to.equal(ETH_PRICE);
      expect((await f.market.getRequest(old + 1n)).price).to.equal(ETH_PRICE * 2n);
      // A request in another mode has its own terms too.
      await f.registry.connect(f.owner).setModeModule(MODE_OPTIMISTIC, await f.module.getAddress());
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_OPTIMISTIC, "0x");
      await expect(
        f.market
          .connect(f.requester)
          .createRequest(await requestParams(f, { mode: MODE_OPTIMISTIC, maxFee: required }), {
            value: required,
          }),
      )
        .to.emit(f.market, "TermsRecorded")
        .withArgs(3n, f.modelId, MODE_OPTIMISTIC, ETH, anyValue, true, anyValue);
    });

    it("refuses a price that does not fit the snapshot (uint128) before taking any payment", async () => {
      const huge = 2n ** 128n;
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, tokenAddress, huge);
      await f.token.mint(f.requester.address, huge * 2n);
      const before = await f.token.balanceOf(f.requester.address);
      await expect(createRequest(f, { token: tokenAddress, maxFee: huge * 2n }))
        .to.be.revertedWithCustomError(f.market, "SafeCastOverflowedUintDowncast")
        .withArgs(128, huge);
      expect(await f.token.balanceOf(f.requester.address)).to.equal(before);
    });

    it("stores only the hash of the output, and of no output until a result is accepted", async () => {
      const label = await createRequest(f);
      const id = await createRequest(f);
      expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
      const short = await (await f.market.connect(f.operator).fulfill(label, DEFAULT_OUTPUT, "0x")).wait();
      const long = abi.encode(["int256[]"], [Array.from({ length: 32 }, (_, i) => i - 16)]);
      const tx = await (await f.market.connect(f.operator).fulfill(id, long, "0x")).wait();
      expect(await f.market.resultHashOf(id)).to.equal(ethers.keccak256(long));
      expect(await settledOutput(f.market, id)).to.equal(long);
      // 31 more words of output cost their calldata and log bytes, not 31 more storage words (~680k gas).
      const extra = tx!.gasUsed - short!.gasUsed;
      expect(extra < 40_000n, `extra gas ${extra}`).to.equal(true);
    });

    it("keeps one commitment word: the input hash while live, the result hash once finalized (no fresh slot)", async () => {
      const inputHash = ethers.keccak256(DEFAULT_INPUT);
      const open = await createRequest(f);
      const claimed = await createAndClaim(f);
      const refunded = await createRequest(f, { deadline: BigInt(await time.latest()) + 600n });
      const settled = await createRequest(f);
      // Live: the word is the input hash, and resultHashOf never reads it as a result.
      for (const id of [open, claimed, refunded, settled]) {
        expect((await f.market.getRequest(id)).inputHash).to.equal(inputHash);
        expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
      }
      await time.increase(601);
      await f.market.refund(refunded);
      expect((await f.market.getRequest(refunded)).inputHash).to.equal(inputHash);
      expect(await f.market.resultHashOf(refunded)).to.equal(ethers.ZeroHash);
      await f.market.connect(f.operator).fulfill(settled, DEFAULT_OUTPUT, "0x");
      // Finalized: the same word now holds the result hash; the input hash stays in RequestCreated.
      expect(await f.market.resultHashOf(settled)).to.equal(ethers.keccak256(DEFAULT_OUTPUT));
      expect((await f.market.getRequest(settled)).inputHash).to.equal(ethers.ZeroHash);
      const [created] = await f.market.queryFilter(f.market.filters.RequestCreated(settled));
      expect(created!.args.inputHash).to.equal(inputHash);
      for (const id of [open, claimed]) expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
    });

    it("stores deadlines in 40 bits: a deadline past 2^40 - 1 is refused before any payment", async () => {
      const far = 2n ** 40n;
      await expect(
        f.market.connect(f.requester).createRequest(await requestParams(f, { deadline: far + 10n }), {
          value: ETH_REQUIRED,
        }),
      ).to.be.revertedWithCustomError(f.market, "SafeCastOverflowedUintDowncast");
      const id = await createRequest(f, { deadline: far - 1n });
      expect((await f.market.getRequest(id)).deadline).to.equal(far - 1n);
    });
  });
});
