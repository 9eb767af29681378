import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import {
  BENEFICIARY_SHARE_BPS,
  BPS,
  CLAIM_WINDOW,
  DAY,
  deployDigitGateFixture,
  encodeLabel,
  ETH,
  ETH_FEE,
  ETH_PRICE,
  ETH_REQUIRED,
  ethers,
  expectSolvent,
  MODE_ZK,
  networkHelpers,
  NO_SHOW_SLASH_BPS,
  OPERATOR_STAKE,
  Status,
  time,
} from "../fixtures.js";
import { settledOutput } from "../../../operator/src/chain/results.js";

type GateFixture = Awaited<ReturnType<typeof deployDigitGateFixture>>;

const TARGET = 7;
const GATE_CALLBACK_GAS = 100_000n;

/** 64 pixels, values 0-16. */
function image(seed = 1): string {
  return ethers.hexlify(Uint8Array.from({ length: 64 }, (_, i) => (i * seed) % 17));
}

describe("DigitGate (AIOracleConsumer)", () => {
  let f: GateFixture;
  let gateAddress: string;

  beforeEach(async () => {
    f = await networkHelpers.loadFixture(deployDigitGateFixture);
    gateAddress = await f.gate.getAddress();
  });

  afterEach(async () => {
    await expectSolvent(f);
  });

  async function deadline(): Promise<bigint> {
    return BigInt(await time.latest()) + DAY;
  }

  /** A submitter sends a digit; an operator claims and answers `output`; returns the request id. */
  async function answered(output: string, submitter = f.requester, pixels = image()): Promise<bigint> {
    await f.gate.connect(submitter).submitDigit(pixels, await deadline(), { value: ETH_REQUIRED });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    await f.market.connect(f.operator).submitResult(id, output, "0x");
    return id;
  }

  it("is wired to its market, model and target", async () => {
    expect(await f.gate.market()).to.equal(await f.market.getAddress());
    expect(await f.gate.targetDigit()).to.equal(BigInt(TARGET));
  });

  it("pins the terms it trusts: a verifier swapped under it makes its requests revert, nothing paid", async () => {
    const pinned = await f.gate.termsHash();
    expect(pinned).to.equal(await f.market.termsHashOf(f.modelId, MODE_ZK));
    const swapped = ethers.AbiCoder.defaultAbiCoder().encode(["address"], [f.outsider.address]);
    await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, swapped);
    await expect(f.gate.connect(f.requester).submitDigit(image(3), await deadline(), { value: ETH_REQUIRED }))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketTermsChanged")
      .withArgs(f.modelId, MODE_ZK, pinned, await f.market.termsHashOf(f.modelId, MODE_ZK));
  });

  it("rejects a target digit above 9", async () => {
    const factory = await ethers.getContractFactory("DigitGate");
    await expect(
      ethers.deployContract("DigitGate", [await f.market.getAddress(), f.modelId, MODE_ZK, 10, ethers.ZeroHash]),
    )
      .to.be.revertedWithCustomError(factory, "DigitGateBadTarget")
      .withArgs(10);
  });

  it("submitDigit creates a market request with the gate as requester and callback", async () => {
    const pixels = image(3);
    const dl = await deadline();
    const tx = f.gate.connect(f.requester).submitDigit(pixels, dl, { value: ETH_REQUIRED });
    await expect(tx).to.emit(f.gate, "DigitSubmitted").withArgs(1n, f.requester.address);
    await expect(tx)
      .to.emit(f.market, "RequestCreated")
      .withArgs(1n, f.modelId, gateAddress, MODE_ZK, ETH, ETH_PRICE, ETH_FEE, dl, ethers.keccak256(pixels), pixels, "");
    await expect(tx).to.changeEtherBalances(ethers, [f.requester, f.market], [-ETH_REQUIRED, ETH_REQUIRED]);

    const r = await f.market.getRequest(1n);
    expect(r.requester).to.equal(gateAddress);
    expect(r.callback).to.equal(gateAddress);
    expect(r.callbackGasLimit).to.equal(GATE_CALLBACK_GAS);
    const c = await f.gate.classification(1n);
    expect(c.submitter).to.equal(f.requester.address);
    expect(c.answered).to.equal(false);
  });

  it("records the verified label and opens the gate for the target digit", async () => {
    const id = await answered(encodeLabel(TARGET));
    const tx = f.market.finalize(id);
    await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, gateAddress, true);
    await expect(tx).to.emit(f.gate, "DigitClassified").withArgs(id, f.requester.address, TARGET, true);

    const c = await f.gate.classification(id);
    expect(c.answered).to.equal(true);
    expect(c.label).to.equal(BigInt(TARGET));
    expect(await f.gate.passed(f.requester.address)).to.equal(true);
    expect(await f.gate.labelCount(TARGET)).to.equal(1n);
    expect(await settledOutput(f.market, id)).to.equal(encodeLabel(TARGET));
  });

  it("records other labels without opening the gate", async () => {
    const id = await answered(encodeLabel(3), f.requester2, image(5));
    await expect(f.market.finalize(id)).to.emit(f.gate, "DigitClassified").withArgs(id, f.requester2.address, 3, false);
    expect(await f.gate.passed(f.requester2.address)).to.equal(false);
    expect(await f.gate.labelCount(3)).to.equal(1n);
    expect(await f.gate.labelCount(TARGET)).to.equal(0n);
    expect((await f.gate.classification(id)).label).to.equal(3n);

    // A second classification is counted separately per label.
    const id2 = await answered(encodeLabel(3), f.requester);
    await f.market.finalize(id2);
    expect(await f.gate.labelCount(3)).to.equal(2n);
  });

  it("a malformed output fails the callback but settlement still completes", async () => {
    for (const output of [encodeLabel(10), "0x07"]) {
      const id = await answered(output);
      const tx = f.market.finalize(id);
      await expect(tx)
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, output, anyValue, anyValue);
      await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, gateAddress, false);
      await expect(tx).not.to.emit(f.gate, "DigitClassified");
      expect((await f.gate.classification(id)).answered).to.equal(false);
      expect(await statusOfRequest(id)).to.equal(Status.Finalized);
    }
    expect(await f.gate.passed(f.requester.address)).to.equal(false);
  });

  async function statusOfRequest(id: bigint): Promise<Status> {
    return Number((await f.market.getRequest(id)).status) as Status;
  }

  it("onInferenceResult reverts DigitGateBadOutput for bad outputs (called as the market)", async () => {
    for (let i = 0; i < 3; i++) {
      await f.gate.connect(f.requester).submitDigit(image(i + 2), await deadline(), { value: ETH_REQUIRED });
    }
    const marketAddress = await f.market.getAddress();
    const escrow = await ethers.provider.getBalance(marketAddress);
    await networkHelpers.impersonateAccount(marketAddress);
    await networkHelpers.setBalance(marketAddress, escrow + ethers.parseEther("1"));
    const asMarket = await ethers.getSigner(marketAddress);
    try {
      const tooLarge = encodeLabel(10);
      await expect(f.gate.connect(asMarket).onInferenceResult(1n, tooLarge))
        .to.be.revertedWithCustomError(f.gate, "DigitGateBadOutput")
        .withArgs(1n, tooLarge);
      await expect(f.gate.connect(asMarket).onInferenceResult(2n, "0x07"))
        .to.be.revertedWithCustomError(f.gate, "DigitGateBadOutput")
        .withArgs(2n, "0x07");
      // A well-formed label from the market is accepted.
      await expect(f.gate.connect(asMarket).onInferenceResult(3n, encodeLabel(9)))
        .to.emit(f.gate, "DigitClassified")
        .withArgs(3n, f.requester.address, 9, false);
      // Not the canonical output encoding (extra bytes), or not one value: refused.
      await expect(f.gate.connect(asMarket).onInferenceResult(1n, encodeLabel(3) + "00")).to.be.revertedWithCustomError(
        f.gate,
        "DigitGateBadOutput",
      );
    } finally {
      await networkHelpers.stopImpersonatingAccount(marketAddress);
      await networkHelpers.setBalance(marketAddress, escrow);
    }
  });

  it("results of requests the gate did not make never reach it, even when they name it as callback", async () => {
    // An outsider pays for its own request, names the gate as callback and gets its chosen output accepted.
    const params = {
      modelId: f.modelId,
      mode: MODE_ZK,
      token: ETH,
      maxFee: ETH_REQUIRED,
      deadline: await deadline(),
      input: image(5),
      inputHash: ethers.ZeroHash,
      inputURI: "",
      callback: gateAddress,
      callbackGasLimit: GATE_CALLBACK_GAS,
      termsHash: ethers.ZeroHash,
    };
    await f.market.connect(f.outsider).createRequest(params, { value: ETH_REQUIRED });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    await f.market.connect(f.operator).submitResult(id, encodeLabel(TARGET), "0x");
    await expect(f.market.finalize(id)).to.emit(f.market, "CallbackExecuted").withArgs(id, gateAddress, false);
    expect(await f.gate.passed(f.outsider.address)).to.equal(false);
    expect(await f.gate.labelCount(TARGET)).to.equal(0n);
    // Called directly as the market with that foreign request: AIOracleConsumerForeignRequest.
    const marketAddress = await f.market.getAddress();
    const escrow = await ethers.provider.getBalance(marketAddress);
    await networkHelpers.impersonateAccount(marketAddress);
    await networkHelpers.setBalance(marketAddress, escrow + ethers.parseEther("1"));
    try {
      await expect(f.gate.connect(await ethers.getSigner(marketAddress)).onInferenceResult(id, encodeLabel(TARGET)))
        .to.be.revertedWithCustomError(f.gate, "AIOracleConsumerForeignRequest")
        .withArgs(id, f.outsider.address);
    } finally {
      await networkHelpers.stopImpersonatingAccount(marketAddress);
      await networkHelpers.setBalance(marketAddress, escrow);
    }
  });

  it("onInferenceResult reverts AIOracleConsumerOnlyMarket for anyone but the market", async () => {
    await expect(f.gate.connect(f.outsider).onInferenceResult(1n, encodeLabel(TARGET)))
      .to.be.revertedWithCustomError(f.gate, "AIOracleConsumerOnlyMarket")
      .withArgs(f.outsider.address);
    await expect(f.gate.connect(f.operator).onInferenceResult(1n, encodeLabel(TARGET)))
      .to.be.revertedWithCustomError(f.gate, "AIOracleConsumerOnlyMarket")
      .withArgs(f.operator.address);
    expect(await f.gate.passed(f.outsider.address)).to.equal(false);
  });

  it("submitDigit rejects images of the wrong size or with pixels above 16", async () => {
    const dl = await deadline();
    const short = ethers.hexlify(new Uint8Array(63));
    await expect(f.gate.submitDigit(short, dl, { value: ETH_REQUIRED }))
      .to.be.revertedWithCustomError(f.gate, "DigitGateBadImage")
      .withArgs(63, ethers.MaxUint256);
    const bytes = new Uint8Array(64);
    bytes[5] = 17;
    await expect(f.gate.submitDigit(ethers.hexlify(bytes), dl, { value: ETH_REQUIRED }))
      .to.be.revertedWithCustomError(f.gate, "DigitGateBadImage")
      .withArgs(64, 5);
    bytes[5] = 16;
    await expect(f.gate.submitDigit(ethers.hexlify(bytes), dl, { value: ETH_REQUIRED })).to.emit(
      f.gate,
      "DigitSubmitted",
    );
  });

  it("submitDigit surfaces market errors (fee too low)", async () => {
    await expect(f.gate.submitDigit(image(), await deadline(), { value: ETH_REQUIRED - 1n }))
      .to.be.revertedWithCustomError(f.market, "InferenceMarketFeeTooLow")
      .withArgs(ETH_REQUIRED - 1n, ETH_REQUIRED);
  });

  it("collectRefunds pulls overpayments and refunds into the gate", async () => {
    const extra = ethers.parseEther("0.02");
    const dl = BigInt(await time.latest()) + 1_000n;
    await f.gate.connect(f.requester).submitDigit(image(), dl, { value: ETH_REQUIRED + extra });
    const id = await f.market.requestCount();
    expect(await f.market.owed(gateAddress, ETH)).to.equal(extra);
    await time.increaseTo(dl + 1n);
    await f.market.refund(id);
    expect(await f.market.owed(gateAddress, ETH)).to.equal(extra + ETH_REQUIRED);

    const tx = f.gate.connect(f.outsider).collectRefunds();
    await expect(tx)
      .to.emit(f.market, "PaymentWithdrawn")
      .withArgs(gateAddress, ETH, extra + ETH_REQUIRED);
    await expect(tx).to.changeEtherBalances(
      ethers,
      [f.gate, f.market],
      [extra + ETH_REQUIRED, -(extra + ETH_REQUIRED)],
    );
    expect(await f.market.owed(gateAddress, ETH)).to.equal(0n);
    await expect(f.gate.collectRefunds())
      .to.be.revertedWithCustomError(f.market, "InferenceMarketNothingOwed")
      .withArgs(gateAddress, ETH);
  });
  it("collectSlashProceeds pulls the gate's share of a no-show slash from the vault", async () => {
    const dl = BigInt(await time.latest()) + 10_000n;
    await f.gate.connect(f.requester).submitDigit(image(), dl, { value: ETH_REQUIRED });
    const id = await f.market.requestCount();
    await f.market.connect(f.operator).claim(id);
    await time.increase(CLAIM_WINDOW + 1n);
    await f.market.reopen(id);
    const share = (((OPERATOR_STAKE * NO_SHOW_SLASH_BPS) / BPS) * BENEFICIARY_SHARE_BPS) / BPS;
    expect(await f.vault.slashProceedsOf(gateAddress)).to.equal(share);
    await expect(f.gate.connect(f.outsider).collectSlashProceeds()).to.changeEtherBalances(
      ethers,
      [f.gate, f.vault],
      [share, -share],
    );
    expect(await f.vault.slashProceedsOf(gateAddress)).to.equal(0n);
  });
});
