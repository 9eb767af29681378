import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type {
  HostileConsumer,
  InferenceMarket,
  MockERC20,
  ReentrantToken,
} from "../../types/ethers-contracts/index.js";
import {
  Behaviour,
  BENEFICIARY_SHARE_BPS,
  BPS,
  bytes32Name,
  CLAIM_WINDOW,
  createAndClaim,
  createClaimSubmit,
  createRequest,
  DAY,
  DEFAULT_INPUT,
  DEFAULT_OUTPUT,
  deployMarketFixture,
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
  NO_SHOW_SLASH_BPS,
  OPERATOR_DEPOSIT,
  OPERATOR_FREE,
  MIN_POOL_STAKE,
  OPERATOR_STAKE,
  PROTOCOL_FEE_BPS,
  requestParams,
  Role,
  setVerdict,
  Status,
  time,
  TOKEN_FEE,
  TOKEN_PRICE,
  TOKEN_REQUIRED,
  type MarketFixture,
} from "./fixtures.js";
import { settledOutput } from "../../operator/src/chain/results.js";

const ETH_PROTOCOL_FEE = (ETH_PRICE * PROTOCOL_FEE_BPS) / BPS;
const ETH_OPERATOR_PAYMENT = ETH_PRICE - ETH_PROTOCOL_FEE;
const TOKEN_PROTOCOL_FEE = (TOKEN_PRICE * PROTOCOL_FEE_BPS) / BPS;
const TOKEN_OPERATOR_PAYMENT = TOKEN_PRICE - TOKEN_PROTOCOL_FEE;
const NO_SHOW_SLASH = (OPERATOR_STAKE * NO_SHOW_SLASH_BPS) / BPS;
const UNKNOWN_ID = 999n;
const MAX_PROTOCOL_FEE_BPS = 2_000n;
const MIN_CLAIM_WINDOW = 60n;
const MAX_CLAIM_WINDOW = 30n * DAY;
const MAX_CALLBACK_GAS_CAP = 10_000_000n;
const CALLBACK_OVERHEAD = 10_000n;

function share(amount: bigint): bigint {
  return (amount * BENEFICIARY_SHARE_BPS) / BPS;
}

async function statusOf(market: InferenceMarket, id: bigint): Promise<Status> {
  return Number((await market.getRequest(id)).status) as Status;
}

describe("InferenceMarket", () => {
  let f: MarketFixture;
  let tokenAddress: string;
  /** Tokens whose escrow the solvency check covers after each test. */
  let tokens: string[];

  beforeEach(async () => {
    f = await networkHelpers.loadFixture(deployMarketFixture);
    tokenAddress = await f.token.getAddress();
    tokens = [tokenAddress];
  });

  afterEach(async () => {
    await expectSolvent(f, tokens);
  });

  // ================================================================ deployment & governance

  describe("deployment", () => {
    it("stores its wiring and parameters", async () => {
      expect(await f.market.owner()).to.equal(f.owner.address);
      expect(await f.market.registry()).to.equal(await f.registry.getAddress());
      expect(await f.market.vault()).to.equal(await f.vault.getAddress());
      expect(await f.market.treasury()).to.equal(f.treasury.address);
      expect(await f.market.protocolFeeBps()).to.equal(PROTOCOL_FEE_BPS);
      expect(await f.market.noShowSlashBps()).to.equal(NO_SHOW_SLASH_BPS);
      expect(await f.market.claimWindow()).to.equal(CLAIM_WINDOW);
      expect(await f.market.maxCallbackGas()).to.equal(MAX_CALLBACK_GAS);
      expect(await f.market.paused()).to.equal(false);
      expect(await f.market.requestCount()).to.equal(0n);
      expect(await f.market.isTokenAllowed(ETH)).to.equal(true);
      expect(await f.market.isTokenAllowed(tokenAddress)).to.equal(true);
      expect(await f.market.isTokenAllowed(f.outsider.address)).to.equal(false);
    });

    it("rejects zero addresses and out-of-bounds parameters", async () => {
      const factory = await ethers.getContractFactory("InferenceMarket");
      const registry = await f.registry.getAddress();
      const vault = await f.vault.getAddress();
      const params = {
        treasury: f.treasury.address,
        protocolFeeBps: PROTOCOL_FEE_BPS,
        noShowSlashBps: NO_SHOW_SLASH_BPS,
        claimWindow: CLAIM_WINDOW,
        maxCallbackGas: MAX_CALLBACK_GAS,
      };
      const deploy = (r: string, v: string, p: typeof params) =>
        ethers.deployContract("InferenceMarket", [f.owner.address, r, v, p]);
      await expect(deploy(ETH, vault, params)).to.be.revertedWithCustomError(factory, "InferenceMarketZeroAddress");
      await expect(deploy(registry, ETH, params)).to.be.revertedWithCustomError(factory, "InferenceMarketZeroAddress");
      await expect(deploy(registry, vault, { ...params, treasury: ETH })).to.be.revertedWithCustomError(
        factory,
        "InferenceMarketZeroAddress",
      );
      await expect(deploy(registry, vault, { ...params, protocolFeeBps: MAX_PROTOCOL_FEE_BPS + 1n }))
        .to.be.revertedWithCustomError(factory, "InferenceMarketInvalidParameter")
        .withArgs(bytes32Name("protocolFeeBps"), MAX_PROTOCOL_FEE_BPS + 1n);
      await expect(deploy(registry, vault, { ...params, claimWindow: 0n }))
        .to.be.revertedWithCustomError(factory, "InferenceMarketInvalidParameter")
        .withArgs(bytes32Name("claimWindow"), 0n);
    });
  });

  describe("governance", () => {
    it("setProtocolFee is bounded and applies to later settlements", async () => {
      await expect(f.market.connect(f.owner).setProtocolFee(MAX_PROTOCOL_FEE_BPS))
        .to.emit(f.market, "ProtocolFeeSet")
        .withArgs(MAX_PROTOCOL_FEE_BPS);
      expect(await f.market.protocolFeeBps()).to.equal(MAX_PROTOCOL_FEE_BPS);
      await expect(f.market.connect(f.owner).setProtocolFee(MAX_PROTOCOL_FEE_BPS + 1n))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketInvalidParameter")
        .withArgs(bytes32Name("protocolFeeBps"), MAX_PROTOCOL_FEE_BPS + 1n);

      await f.market.connect(f.owner).setProtocolFee(0);
      const id = await createClaimSubmit(f);
      await setVerdict(f, id);
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, DEFAULT_OUTPUT, ETH_PRICE, 0n);
      expect(await f.market.owed(f.treasury.address, ETH)).to.equal(0n);
    });

    it("setTreasury redirects later protocol fees and rejects zero", async () => {
      await expect(f.market.connect(f.owner).setTreasury(f.outsider.address))
        .to.emit(f.market, "TreasurySet")
        .withArgs(f.outsider.address);
      expect(await f.market.treasury()).to.equal(f.outsider.address);
      const id = await createClaimSubmit(f);
      await setVerdict(f, id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.outsider.address, ETH)).to.equal(ETH_PROTOCOL_FEE);
      expect(await f.market.owed(f.treasury.address, ETH)).to.equal(0n);
      await expect(f.market.connect(f.owner).setTreasury(ETH)).to.be.revertedWithCustomError(
        f.market,
        "InferenceMarketZeroAddress",
      );
    });

    it("setClaimWindow is bounded on both sides and applies to later claims", async () => {
      for (const w of [MIN_CLAIM_WINDOW, MAX_CLAIM_WINDOW]) {
        await expect(f.market.connect(f.owner).setClaimWindow(w)).to.emit(f.market, "ClaimWindowSet").withArgs(w);
        expect(await f.market.claimWindow()).to.equal(w);
      }
      for (const w of [MIN_CLAIM_WINDOW - 1n, MAX_CLAIM_WINDOW + 1n]) {
        await expect(f.market.connect(f.owner).setClaimWindow(w))
          .to.be.revertedWithCustomError(f.market, "InferenceMarketInvalidParameter")
          .withArgs(bytes32Name("claimWindow"), w);
      }
      await f.market.connect(f.owner).setClaimWindow(MIN_CLAIM_WINDOW);
      const id = await createRequest(f);
      const at = BigInt(await time.latest()) + 5n;
      await time.setNextBlockTimestamp(at);
      await expect(f.market.connect(f.operator).claim(id))
        .to.emit(f.market, "RequestClaimed")
        .withArgs(id, f.operator.address, at + MIN_CLAIM_WINDOW);
    });

    it("setNoShowSlash is bounded and applies to later no-shows", async () => {
      await expect(f.market.connect(f.owner).setNoShowSlash(BPS)).to.emit(f.market, "NoShowSlashSet").withArgs(BPS);
      expect(await f.market.noShowSlashBps()).to.equal(BPS);
      await expect(f.market.connect(f.owner).setNoShowSlash(BPS + 1n))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketInvalidParameter")
        .withArgs(bytes32Name("noShowSlashBps"), BPS + 1n);

      await f.market.connect(f.owner).setNoShowSlash(0);
      const id = await createAndClaim(f);
      await time.increase(CLAIM_WINDOW + 1n);
      const tx = f.market.reopen(id);
      await expect(tx).to.emit(f.market, "RequestReopened").withArgs(id, f.operator.address, 0n);
      await expect(tx).not.to.emit(f.vault, "StakeSlashed");
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(OPERATOR_DEPOSIT);
    });

    it("setMaxCallbackGas is bounded and applies to later requests", async () => {
      await expect(f.market.connect(f.owner).setMaxCallbackGas(MAX_CALLBACK_GAS_CAP))
        .to.emit(f.market, "MaxCallbackGasSet")
        .withArgs(MAX_CALLBACK_GAS_CAP);
      expect(await f.market.maxCallbackGas()).to.equal(MAX_CALLBACK_GAS_CAP);
      await expect(f.market.connect(f.owner).setMaxCallbackGas(MAX_CALLBACK_GAS_CAP + 1n))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketInvalidParameter")
        .withArgs(bytes32Name("maxCallbackGas"), MAX_CALLBACK_GAS_CAP + 1n);

      await f.market.connect(f.owner).setMaxCallbackGas(1_000);
      const params = await requestParams(f, { callback: tokenAddress, callbackGasLimit: 1_001 });
      await expect(f.market.connect(f.requester).createRequest(params, { value: params.maxFee }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketBadCallback")
        .withArgs(tokenAddress, 1_001, 1_000);
    });

    it("setTokenAllowed allows and disallows payment tokens", async () => {
      await expect(f.market.connect(f.owner).setTokenAllowed(tokenAddress, false))
        .to.emit(f.market, "TokenAllowed")
        .withArgs(tokenAddress, false);
      expect(await f.market.isTokenAllowed(tokenAddress)).to.equal(false);
      await expect(f.market.quote(f.modelId, MODE_ZK, tokenAddress))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnsupportedToken")
        .withArgs(f.modelId, tokenAddress);
      await expect(f.market.connect(f.owner).setTokenAllowed(tokenAddress, true))
        .to.emit(f.market, "TokenAllowed")
        .withArgs(tokenAddress, true);
      expect(await f.market.isTokenAllowed(tokenAddress)).to.equal(true);
      await expect(f.market.connect(f.owner).setTokenAllowed(ETH, true)).to.be.revertedWithCustomError(
        f.market,
        "InferenceMarketZeroAddress",
      );
    });

    it("pause and unpause toggle the paused flag", async () => {
      await expect(f.market.connect(f.owner).pause()).to.emit(f.market, "Paused").withArgs(f.owner.address);
      expect(await f.market.paused()).to.equal(true);
      await expect(f.market.connect(f.owner).unpause()).to.emit(f.market, "Unpaused").withArgs(f.owner.address);
      expect(await f.market.paused()).to.equal(false);
    });

    it("every governance function reverts for non-owners", async () => {
      const m = f.market.connect(f.outsider);
      const calls = [
        () => m.setProtocolFee(0),
        () => m.setTreasury(f.outsider.address),
        () => m.setClaimWindow(MIN_CLAIM_WINDOW),
        () => m.setNoShowSlash(0),
        () => m.setMaxCallbackGas(0),
        () => m.setTokenAllowed(f.outsider.address, true),
        () => m.pause(),
        () => m.unpause(),
        () => m.transferOwnership(f.outsider.address),
      ];
      for (const call of calls) {
        await expect(call())
          .to.be.revertedWithCustomError(f.market, "OwnableUnauthorizedAccount")
          .withArgs(f.outsider.address);
      }
    });

    it("ownership moves in two steps", async () => {
      await expect(f.market.connect(f.owner).transferOwnership(f.outsider.address))
        .to.emit(f.market, "OwnershipTransferStarted")
        .withArgs(f.owner.address, f.outsider.address);
      expect(await f.market.pendingOwner()).to.equal(f.outsider.address);
      await expect(f.market.connect(f.outsider).acceptOwnership())
        .to.emit(f.market, "OwnershipTransferred")
        .withArgs(f.owner.address, f.outsider.address);
      await expect(f.market.connect(f.owner).pause())
        .to.be.revertedWithCustomError(f.market, "OwnableUnauthorizedAccount")
        .withArgs(f.owner.address);
      await f.market.connect(f.outsider).pause();
      expect(await f.market.paused()).to.equal(true);
    });
  });

  // ================================================================ views

  describe("views", () => {
    it("quote returns price and verification fee per token", async () => {
      const [price, fee] = await f.market.quote(f.modelId, MODE_ZK, ETH);
      expect(price).to.equal(ETH_PRICE);
      expect(fee).to.equal(ETH_FEE);
      const [tPrice, tFee] = await f.market.quote(f.modelId, MODE_ZK, tokenAddress);
      expect(tPrice).to.equal(TOKEN_PRICE);
      expect(tFee).to.equal(TOKEN_FEE);
      await f.module.setFeeBps(0);
      expect((await f.market.quote(f.modelId, MODE_ZK, ETH))[1]).to.equal(0n);
    });

    it("quote reverts for unsupported tokens and unservable models", async () => {
      await expect(f.market.quote(f.modelId, MODE_ZK, f.outsider.address))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnsupportedToken")
        .withArgs(f.modelId, f.outsider.address);
      await expect(f.market.quote(UNKNOWN_ID, MODE_ZK, ETH))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
    });

    it("getRequest reverts for unknown ids; resultHashOf is zero until finalized", async () => {
      await expect(f.market.getRequest(0n))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(0n);
      await expect(f.market.getRequest(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
      expect(await f.market.resultHashOf(UNKNOWN_ID)).to.equal(ethers.ZeroHash);
      const id = await createClaimSubmit(f);
      expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
      expect(await settledOutput(f.market, id)).to.equal("0x");
    });

    it("operatorLockId commits to market, request and operator", async () => {
      const expected = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["address", "uint256", "address"],
          [await f.market.getAddress(), 7n, f.operator.address],
        ),
      );
      expect(await f.market.operatorLockId(7n, f.operator.address)).to.equal(expected);
      expect(await f.market.operatorLockId(7n, f.operator2.address)).not.to.equal(expected);
    });
  });

  // ================================================================ createRequest

  describe("createRequest", () => {
    it("refuses a request whose pinned terms (stake or mode config) were swapped in front of it; zero accepts the current ones", async () => {
      const params = await requestParams(f);
      const abi = ethers.AbiCoder.defaultAbiCoder();
      expect(params.termsHash).to.equal(
        ethers.keccak256(
          abi.encode(["uint256", "bytes"], [OPERATOR_STAKE, await f.registry.modeConfig(f.modelId, MODE_ZK)]),
        ),
      );
      // The owner cuts the stake each claim locks: the pinned request refuses.
      await f.registry.connect(f.modelOwner).setOperatorStake(f.modelId, 1n);
      await expect(f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketTermsChanged")
        .withArgs(f.modelId, MODE_ZK, params.termsHash, await f.market.termsHashOf(f.modelId, MODE_ZK));
      await f.registry.connect(f.modelOwner).setOperatorStake(f.modelId, OPERATOR_STAKE);
      // The owner swaps the mode config (for zk: the verifier).
      const swapped = abi.encode(["address"], [f.outsider.address]);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, swapped);
      await expect(f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketTermsChanged")
        .withArgs(
          f.modelId,
          MODE_ZK,
          params.termsHash,
          ethers.keccak256(abi.encode(["uint256", "bytes"], [OPERATOR_STAKE, swapped])),
        );
      expect(await f.market.requestCount()).to.equal(0n);
      await f.market
        .connect(f.requester)
        .createRequest({ ...params, termsHash: ethers.ZeroHash }, { value: ETH_REQUIRED });
      expect(await f.market.modeConfigOf(1n)).to.equal(swapped);
    });

    it("creates an ETH request and escrows exactly the quote", async () => {
      const params = await requestParams(f, { inputURI: "ipfs://input" });
      const inputHash = ethers.keccak256(DEFAULT_INPUT);
      const tx = f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED });
      await expect(tx)
        .to.emit(f.market, "RequestCreated")
        .withArgs(
          1n,
          f.modelId,
          f.requester.address,
          MODE_ZK,
          ETH,
          ETH_PRICE,
          ETH_FEE,
          params.deadline,
          inputHash,
          DEFAULT_INPUT,
          "ipfs://input",
        );
      await expect(tx).not.to.emit(f.market, "PaymentCredited");
      await expect(tx).to.changeEtherBalances(ethers, [f.requester, f.market], [-ETH_REQUIRED, ETH_REQUIRED]);

      expect(await f.market.requestCount()).to.equal(1n);
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
      const r = await f.market.getRequest(1n);
      expect(r.requester).to.equal(f.requester.address);
      expect(r.deadline).to.equal(params.deadline);
      expect(r.mode).to.equal(BigInt(MODE_ZK));
      expect(r.status).to.equal(BigInt(Status.Open));
      expect(r.operator).to.equal(ETH);
      expect(r.claimDeadline).to.equal(0n);
      expect(r.token).to.equal(ETH);
      expect(r.callback).to.equal(ETH);
      expect(r.callbackGasLimit).to.equal(0n);
      expect(r.module).to.equal(await f.module.getAddress());
      expect(r.modelId).to.equal(f.modelId);
      expect(r.price).to.equal(ETH_PRICE);
      expect(r.verificationFee).to.equal(ETH_FEE);
      expect(r.operatorStake).to.equal(OPERATOR_STAKE);
      expect(r.inputHash).to.equal(inputHash);
    });

    it("returns sequential ids", async () => {
      const params = await requestParams(f);
      expect(await f.market.connect(f.requester).createRequest.staticCall(params, { value: ETH_REQUIRED })).to.equal(
        1n,
      );
      await createRequest(f);
      expect(await f.market.connect(f.requester).createRequest.staticCall(params, { value: ETH_REQUIRED })).to.equal(
        2n,
      );
    });

    it("credits ETH sent above the quote back to the requester", async () => {
      const extra = ethers.parseEther("0.05");
      const params = await requestParams(f, { maxFee: ETH_REQUIRED + extra });
      const tx = f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED + extra });
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.requester.address, ETH, extra);
      await expect(tx)
        .to.emit(f.market, "RequestCreated")
        .withArgs(
          1n,
          f.modelId,
          f.requester.address,
          MODE_ZK,
          ETH,
          ETH_PRICE,
          ETH_FEE,
          anyValue,
          anyValue,
          anyValue,
          "",
        );
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(extra);
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED + extra);

      await expect(f.market.connect(f.requester).withdraw(ETH)).to.changeEtherBalances(
        ethers,
        [f.requester, f.market],
        [extra, -extra],
      );
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
    });

    it("creates an ERC-20 request pulling only the quote", async () => {
      const params = await requestParams(f, { token: tokenAddress, maxFee: TOKEN_REQUIRED * 2n });
      const tx = f.market.connect(f.requester).createRequest(params);
      await expect(tx)
        .to.emit(f.market, "RequestCreated")
        .withArgs(
          1n,
          f.modelId,
          f.requester.address,
          MODE_ZK,
          tokenAddress,
          TOKEN_PRICE,
          TOKEN_FEE,
          params.deadline,
          anyValue,
          anyValue,
          "",
        );
      await expect(tx).to.changeTokenBalances(
        ethers,
        f.token,
        [f.requester, f.market],
        [-TOKEN_REQUIRED, TOKEN_REQUIRED],
      );
      await expect(tx).not.to.emit(f.market, "PaymentCredited");
      expect(await f.market.liabilities(tokenAddress)).to.equal(TOKEN_REQUIRED);
      expect(await f.market.liabilities(ETH)).to.equal(0n);
      const r = await f.market.getRequest(1n);
      expect(r.token).to.equal(tokenAddress);
      expect(r.price).to.equal(TOKEN_PRICE);
    });

    it("accepts an input given by hash and URI, or inline with a matching hash", async () => {
      const hash = ethers.id("off-chain input");
      await expect(
        f.market
          .connect(f.requester)
          .createRequest(await requestParams(f, { input: "0x", inputHash: hash, inputURI: "ipfs://in" }), {
            value: ETH_REQUIRED,
          }),
      )
        .to.emit(f.market, "RequestCreated")
        .withArgs(
          1n,
          f.modelId,
          f.requester.address,
          MODE_ZK,
          ETH,
          ETH_PRICE,
          ETH_FEE,
          anyValue,
          hash,
          "0x",
          "ipfs://in",
        );
      expect((await f.market.getRequest(1n)).inputHash).to.equal(hash);

      const inlineHash = ethers.keccak256(DEFAULT_INPUT);
      await createRequest(f, { inputHash: inlineHash });
      expect((await f.market.getRequest(2n)).inputHash).to.equal(inlineHash);
    });

    it("accepts a callback contract within the gas limit", async () => {
      const id = await createRequest(f, { callback: tokenAddress, callbackGasLimit: MAX_CALLBACK_GAS });
      const r = await f.market.getRequest(id);
      expect(r.callback).to.equal(tokenAddress);
      expect(r.callbackGasLimit).to.equal(MAX_CALLBACK_GAS);
    });

    it("reverts for an unknown model", async () => {
      await expect(createRequest(f, { modelId: UNKNOWN_ID }))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownModel")
        .withArgs(UNKNOWN_ID);
    });

    it("reverts for an inactive model", async () => {
      await f.registry.connect(f.modelOwner).setActive(f.modelId, false);
      await expect(createRequest(f))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModelInactive")
        .withArgs(f.modelId);
    });

    it("reverts for a mode the model does not enable", async () => {
      await expect(createRequest(f, { mode: MODE_OPTIMISTIC }))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_OPTIMISTIC);
    });

    it("reverts for a mode whose module was retired", async () => {
      await f.registry.connect(f.owner).setModeModule(MODE_ZK, ETH);
      await expect(createRequest(f))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryUnknownMode")
        .withArgs(MODE_ZK);
    });

    it("reverts for unsupported tokens (not allowed, or allowed but unpriced)", async () => {
      await f.market.connect(f.owner).setTokenAllowed(tokenAddress, false);
      await expect(createRequest(f, { token: tokenAddress }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnsupportedToken")
        .withArgs(f.modelId, tokenAddress);

      const other: MockERC20 = await ethers.deployContract("MockERC20", ["Other", "OTH"]);
      const otherAddress = await other.getAddress();
      await f.market.connect(f.owner).setTokenAllowed(otherAddress, true);
      await expect(createRequest(f, { token: otherAddress, maxFee: 1n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnsupportedToken")
        .withArgs(f.modelId, otherAddress);

      // A model can stop taking ETH too.
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, ETH, 0n);
      await expect(createRequest(f))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnsupportedToken")
        .withArgs(f.modelId, ETH);
    });

    it("reverts when maxFee does not cover price plus verification fee", async () => {
      await expect(createRequest(f, { maxFee: ETH_REQUIRED - 1n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketFeeTooLow")
        .withArgs(ETH_REQUIRED - 1n, ETH_REQUIRED);
      await expect(createRequest(f, { token: tokenAddress, maxFee: TOKEN_PRICE }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketFeeTooLow")
        .withArgs(TOKEN_PRICE, TOKEN_REQUIRED);
    });

    it("reverts for a deadline that is not in the future", async () => {
      const now = BigInt(await time.latest());
      await expect(createRequest(f, { deadline: now }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadlineInPast")
        .withArgs(now, anyValue);
      await expect(createRequest(f, { deadline: 0n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadlineInPast")
        .withArgs(0n, anyValue);
    });

    it("reverts when the ETH sent differs from maxFee, or ETH comes with a token request", async () => {
      const params = await requestParams(f);
      await expect(f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED - 1n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongValue")
        .withArgs(ETH_REQUIRED - 1n, ETH_REQUIRED);
      await expect(f.market.connect(f.requester).createRequest(params, { value: ETH_REQUIRED + 1n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongValue")
        .withArgs(ETH_REQUIRED + 1n, ETH_REQUIRED);
      const tokenParams = await requestParams(f, { token: tokenAddress });
      await expect(f.market.connect(f.requester).createRequest(tokenParams, { value: 1n }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongValue")
        .withArgs(1n, 0n);
    });

    it("reverts on a missing or mismatching input hash", async () => {
      await expect(createRequest(f, { input: "0x", inputHash: ethers.ZeroHash }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketBadInput")
        .withArgs(ethers.ZeroHash, ethers.ZeroHash);
      const wrong = ethers.id("something else");
      await expect(createRequest(f, { inputHash: wrong }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketBadInput")
        .withArgs(wrong, ethers.keccak256(DEFAULT_INPUT));
    });

    it("reverts on bad callback settings", async () => {
      const cases: [string, number | bigint][] = [
        [ETH, 1], // gas without a callback
        [f.outsider.address, 1_000], // callback without code
        [tokenAddress, 0], // callback without gas
        [tokenAddress, MAX_CALLBACK_GAS + 1n], // more gas than the market allows
      ];
      for (const [callback, gas] of cases) {
        await expect(createRequest(f, { callback, callbackGasLimit: gas }))
          .to.be.revertedWithCustomError(f.market, "InferenceMarketBadCallback")
          .withArgs(callback, gas, MAX_CALLBACK_GAS);
      }
    });

    it("reverts when the requester has not approved the token", async () => {
      await f.token.connect(f.requester).approve(await f.market.getAddress(), 0n);
      await expect(createRequest(f, { token: tokenAddress })).to.be.revertedWithCustomError(
        f.token,
        "ERC20InsufficientAllowance",
      );
      expect(await f.market.requestCount()).to.equal(0n);
    });
  });

  // ================================================================ claim

  describe("claim", () => {
    it("assigns the operator and locks its stake", async () => {
      const id = await createRequest(f);
      const lockId = await f.market.operatorLockId(id, f.operator.address);
      const at = BigInt(await time.latest()) + 3n;
      await time.setNextBlockTimestamp(at);
      const tx = f.market.connect(f.operator).claim(id);
      await expect(tx)
        .to.emit(f.market, "RequestClaimed")
        .withArgs(id, f.operator.address, at + CLAIM_WINDOW);
      await expect(tx)
        .to.emit(f.vault, "StakeLocked")
        .withArgs(lockId, f.operator.address, await f.market.getAddress(), OPERATOR_STAKE);

      const r = await f.market.getRequest(id);
      expect(r.status).to.equal(BigInt(Status.Claimed));
      expect(r.operator).to.equal(f.operator.address);
      expect(r.claimDeadline).to.equal(at + CLAIM_WINDOW);
      const held = await f.vault.getLock(lockId);
      expect(held.staker).to.equal(f.operator.address);
      expect(held.owner).to.equal(await f.market.getAddress());
      expect(held.amount).to.equal(OPERATOR_STAKE);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE - OPERATOR_STAKE);
    });

    it("caps the claim deadline at the request deadline", async () => {
      const deadline = BigInt(await time.latest()) + 100n;
      const id = await createRequest(f, { deadline });
      await expect(f.market.connect(f.operator).claim(id))
        .to.emit(f.market, "RequestClaimed")
        .withArgs(id, f.operator.address, deadline);
      expect((await f.market.getRequest(id)).claimDeadline).to.equal(deadline);
    });

    it("locked stake cannot be withdrawn and the lock cannot be slashed by non-modules", async () => {
      const id = await createAndClaim(f);
      await expect(f.vault.connect(f.operator).requestUnbond(OPERATOR_DEPOSIT))
        .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
        .withArgs(f.operator.address, OPERATOR_DEPOSIT, OPERATOR_FREE - OPERATOR_STAKE);
      const lockId = await f.market.operatorLockId(id, f.operator.address);
      await expect(f.vault.connect(f.outsider).slash(lockId, OPERATOR_STAKE, f.outsider.address))
        .to.be.revertedWithCustomError(f.vault, "StakingVaultNotAuthorised")
        .withArgs(f.outsider.address);
      // Free stake stays withdrawable.
      await f.vault.connect(f.operator).requestUnbond(OPERATOR_FREE - OPERATOR_STAKE);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(0n);
    });

    it("reverts for unknown requests and requests that are not open", async () => {
      await expect(f.market.connect(f.operator).claim(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
      const id = await createAndClaim(f);
      await expect(f.market.connect(f.operator2).claim(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Claimed);
    });

    it("reverts after the request deadline", async () => {
      const deadline = BigInt(await time.latest()) + 100n;
      const id = await createRequest(f, { deadline });
      await time.increaseTo(deadline + 1n);
      await expect(f.market.connect(f.operator).claim(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
        .withArgs(id, deadline, anyValue);
    });

    it("reverts for callers that do not serve the model as operators", async () => {
      const id = await createRequest(f);
      await expect(f.market.connect(f.outsider).claim(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotServing")
        .withArgs(f.modelId, f.outsider.address);
      // Serving as a validator is not enough.
      await f.vault.connect(f.validator).stake(OPERATOR_DEPOSIT, { value: OPERATOR_DEPOSIT });
      await f.vault.connect(f.validator).setService(f.modelId, Role.Validator, true);
      await expect(f.market.connect(f.validator).claim(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotServing")
        .withArgs(f.modelId, f.validator.address);
    });

    it("reverts when the operator lacks free stake", async () => {
      const small = OPERATOR_STAKE / 2n;
      await f.vault.connect(f.outsider).stake(small, { value: small });
      await f.vault.connect(f.outsider).setService(f.modelId, Role.Operator, true);
      const id = await createRequest(f);
      await expect(f.market.connect(f.outsider).claim(id))
        .to.be.revertedWithCustomError(f.vault, "StakingVaultInsufficientFreeStake")
        .withArgs(f.outsider.address, OPERATOR_STAKE, small - MIN_POOL_STAKE);
      expect(await statusOf(f.market, id)).to.equal(Status.Open);
    });
  });

  // ================================================================ submitResult

  describe("submitResult", () => {
    it("records the submission and hands it to the module", async () => {
      const id = await createAndClaim(f);
      const proof = "0xc0ffee";
      const tx = f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, proof);
      await expect(tx).to.emit(f.market, "ResultSubmitted").withArgs(id, f.operator.address, DEFAULT_OUTPUT);
      await expect(tx)
        .to.emit(f.module, "MockSubmissionReceived")
        .withArgs(id, f.operator.address, DEFAULT_OUTPUT, proof);
      expect(await statusOf(f.market, id)).to.equal(Status.Submitted);
      expect(await f.module.submittedOutput(id)).to.equal(DEFAULT_OUTPUT);
    });

    it("is accepted up to and including the claim deadline", async () => {
      const id = await createAndClaim(f);
      const claimDeadline = (await f.market.getRequest(id)).claimDeadline;
      await time.setNextBlockTimestamp(claimDeadline);
      await f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x");
      expect(await statusOf(f.market, id)).to.equal(Status.Submitted);
    });

    it("reverts after the claim window", async () => {
      const id = await createAndClaim(f);
      const claimDeadline = (await f.market.getRequest(id)).claimDeadline;
      await time.setNextBlockTimestamp(claimDeadline + 1n);
      await expect(f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketClaimWindow")
        .withArgs(id, claimDeadline, claimDeadline + 1n);
    });

    it("reverts for the wrong operator", async () => {
      const id = await createAndClaim(f);
      await expect(f.market.connect(f.operator2).submitResult(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongOperator")
        .withArgs(id, f.operator2.address, f.operator.address);
    });

    it("reverts on a double submit and on unclaimed or unknown requests", async () => {
      const id = await createClaimSubmit(f);
      await expect(f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Submitted);
      const open = await createRequest(f);
      await expect(f.market.connect(f.operator).submitResult(open, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(open, Status.Open);
      await expect(f.market.connect(f.operator).submitResult(UNKNOWN_ID, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
    });

    /** The Submission the market handed to the module in `txHash` (read from a call trace). */
    async function submissionSeenByModule(txHash: string) {
      interface Frame {
        to?: string;
        input: string;
        calls?: Frame[];
      }
      const trace: Frame = await ethers.provider.send("debug_traceTransaction", [txHash, { tracer: "callTracer" }]);
      const moduleAddress = (await f.module.getAddress()).toLowerCase();
      const selector = f.module.interface.getFunction("onSubmit").selector;
      const find = (frame: Frame): Frame | undefined =>
        frame.to?.toLowerCase() === moduleAddress && frame.input.startsWith(selector)
          ? frame
          : (frame.calls ?? []).map(find).find((x) => x !== undefined);
      const call = find(trace);
      expect(call, "no onSubmit call in trace").not.to.equal(undefined);
      return f.module.interface.decodeFunctionData("onSubmit", call!.input)[0];
    }

    it("hands the module the request as stored, with the mode settings fixed at creation", async () => {
      const abi = ethers.AbiCoder.defaultAbiCoder();
      const configAtCreation = abi.encode(["uint256"], [42]);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, configAtCreation);
      const id = await createAndClaim(f);
      // The model owner changes the settings mid-flight; the request keeps the ones it was priced with.
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, abi.encode(["uint256"], [43]));
      const tx = await f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x");
      const submission = await submissionSeenByModule(tx.hash);
      expect(submission.requestId).to.equal(id);
      expect(submission.modelId).to.equal(f.modelId);
      expect(submission.operator).to.equal(f.operator.address);
      expect(submission.inputHash).to.equal(ethers.keccak256(DEFAULT_INPUT));
      expect(submission.config).to.equal(configAtCreation);
    });

    it("a model owner disabling the mode cannot strand a claimed request", async () => {
      // Without the settings snapshot the operator could not submit, would be slashed as a no-show, and
      // a model owner acting as requester would collect part of that slash.
      const config = ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [42]);
      await f.registry.connect(f.modelOwner).configureMode(f.modelId, MODE_ZK, config);
      const id = await createAndClaim(f);
      await f.registry.connect(f.modelOwner).disableMode(f.modelId, MODE_ZK);
      const tx = f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x");
      await expect(tx).to.emit(f.market, "ResultSubmitted").withArgs(id, f.operator.address, DEFAULT_OUTPUT);
      expect((await submissionSeenByModule((await tx).hash)).config).to.equal(config);
      await setVerdict(f, id);
      await f.market.finalize(id);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(OPERATOR_DEPOSIT);
      // New requests for the disabled mode are refused.
      await expect(createRequest(f))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryModeNotEnabled")
        .withArgs(f.modelId, MODE_ZK);
    });

    it("reverts, leaving the request claimed, when the module refuses the submission", async () => {
      const id = await createAndClaim(f);
      await f.module.setRejectSubmissions(true);
      await expect(f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.module, "MockVerificationModuleRejected")
        .withArgs(id);
      expect(await statusOf(f.market, id)).to.equal(Status.Claimed);
    });
  });

  // ================================================================ finalize

  describe("finalize", () => {
    it("pays the assigned operator when the module names no payee", async () => {
      const id = await createClaimSubmit(f);
      await setVerdict(f, id, { payee: ETH });
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, DEFAULT_OUTPUT, ETH_OPERATOR_PAYMENT, ETH_PROTOCOL_FEE);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect(await f.market.owed(ETH, ETH)).to.equal(0n);
      await expectSolvent(f, tokens);
    });

    it("returns a reward addressed to nobody to the requester with the unused fee", async () => {
      const id = await createClaimSubmit(f);
      const reward = ETH_FEE / 2n;
      await setVerdict(f, id, {
        rewards: [
          { to: ETH, amount: reward },
          { to: f.validator.address, amount: reward },
        ],
      });
      await f.market.finalize(id);
      expect(await f.market.owed(ETH, ETH)).to.equal(0n);
      expect(await f.market.owed(f.validator.address, ETH)).to.equal(reward);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_FEE - reward);
      await expectSolvent(f, tokens);
    });

    it("settles an accepted ETH request: operator, treasury, rewards, unused fee; all by pull", async () => {
      const id = await createClaimSubmit(f);
      const reward = ETH_FEE / 4n;
      const unusedFee = ETH_FEE - reward;
      await setVerdict(f, id, { rewards: [{ to: f.validator.address, amount: reward }] });
      const lockId = await f.market.operatorLockId(id, f.operator.address);

      const tx = f.market.connect(f.outsider).finalize(id);
      await expect(tx)
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, DEFAULT_OUTPUT, ETH_OPERATOR_PAYMENT, ETH_PROTOCOL_FEE);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.operator.address, ETH, ETH_OPERATOR_PAYMENT);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.treasury.address, ETH, ETH_PROTOCOL_FEE);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.validator.address, ETH, reward);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.requester.address, ETH, unusedFee);
      await expect(tx).to.emit(f.vault, "StakeUnlocked").withArgs(lockId, f.operator.address, OPERATOR_STAKE);
      await expect(tx).not.to.emit(f.vault, "StakeSlashed");
      await expect(tx).not.to.emit(f.market, "CallbackExecuted");
      // Settlement only credits; no ETH moves.
      await expect(tx).to.changeEtherBalance(ethers, f.market, 0n);

      expect(await statusOf(f.market, id)).to.equal(Status.Finalized);
      expect(await settledOutput(f.market, id)).to.equal(DEFAULT_OUTPUT);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect(await f.market.owed(f.treasury.address, ETH)).to.equal(ETH_PROTOCOL_FEE);
      expect(await f.market.owed(f.validator.address, ETH)).to.equal(reward);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(unusedFee);
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
      expect((await f.vault.getLock(lockId)).staker).to.equal(ETH);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE);
      await expectSolvent(f, tokens);

      // Everyone pulls what they are owed.
      const pulls: [typeof f.operator, bigint][] = [
        [f.operator, ETH_OPERATOR_PAYMENT],
        [f.treasury, ETH_PROTOCOL_FEE],
        [f.validator, reward],
        [f.requester, unusedFee],
      ];
      for (const [who, amount] of pulls) {
        const w = f.market.connect(who).withdraw(ETH);
        await expect(w).to.emit(f.market, "PaymentWithdrawn").withArgs(who.address, ETH, amount);
        await expect(w).to.changeEtherBalances(ethers, [who, f.market], [amount, -amount]);
        expect(await f.market.owed(who.address, ETH)).to.equal(0n);
      }
      expect(await f.market.liabilities(ETH)).to.equal(0n);
      expect(await ethers.provider.getBalance(await f.market.getAddress())).to.equal(0n);
    });

    it("settles an ERC-20 request end to end", async () => {
      const id = await createClaimSubmit(f, { token: tokenAddress });
      const reward = TOKEN_FEE / 2n;
      await setVerdict(f, id, { rewards: [{ to: f.validator.address, amount: reward }] });
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator.address, DEFAULT_OUTPUT, TOKEN_OPERATOR_PAYMENT, TOKEN_PROTOCOL_FEE);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(0n);

      const pulls: [typeof f.operator, bigint][] = [
        [f.operator, TOKEN_OPERATOR_PAYMENT],
        [f.treasury, TOKEN_PROTOCOL_FEE],
        [f.validator, reward],
        [f.requester, TOKEN_FEE - reward],
      ];
      for (const [who, amount] of pulls) {
        expect(await f.market.owed(who.address, tokenAddress)).to.equal(amount);
        const w = f.market.connect(who).withdraw(tokenAddress);
        await expect(w).to.emit(f.market, "PaymentWithdrawn").withArgs(who.address, tokenAddress, amount);
        await expect(w).to.changeTokenBalances(ethers, f.token, [who, f.market], [amount, -amount]);
      }
      expect(await f.market.liabilities(tokenAddress)).to.equal(0n);
      expect(await f.token.balanceOf(await f.market.getAddress())).to.equal(0n);
    });

    it("pays the payee the module names, and slashes an accepted operator when asked", async () => {
      const id = await createClaimSubmit(f);
      const slash = OPERATOR_STAKE / 10n;
      await setVerdict(f, id, {
        payee: f.operator2.address,
        operatorSlash: slash,
        slashBeneficiary: f.validator.address,
      });
      const lockId = await f.market.operatorLockId(id, f.operator.address);
      const tx = f.market.finalize(id);
      await expect(tx)
        .to.emit(f.market, "RequestFinalized")
        .withArgs(id, f.operator2.address, DEFAULT_OUTPUT, ETH_OPERATOR_PAYMENT, ETH_PROTOCOL_FEE);
      await expect(tx)
        .to.emit(f.vault, "StakeSlashed")
        .withArgs(lockId, f.operator.address, f.validator.address, slash, share(slash));
      await expect(tx)
        .to.emit(f.vault, "StakeUnlocked")
        .withArgs(lockId, f.operator.address, OPERATOR_STAKE - slash);
      expect(await f.market.owed(f.operator2.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(0n);
      expect(await f.vault.slashProceedsOf(f.validator.address)).to.equal(share(slash));
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(OPERATOR_DEPOSIT - slash);
    });

    it("settles a rejected request: requester refunded, operator slashed with the split in the vault", async () => {
      const consumer: HostileConsumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      const consumerAddress = await consumer.getAddress();
      const id = await createClaimSubmit(f, { callback: consumerAddress, callbackGasLimit: 100_000 });
      const slash = OPERATOR_STAKE / 2n;
      const reward = ETH_FEE / 5n;
      await setVerdict(f, id, {
        accepted: false,
        output: "0x",
        operatorSlash: slash,
        slashBeneficiary: ETH, // defaults to the requester
        rewards: [{ to: f.validator.address, amount: reward }],
      });
      const lockId = await f.market.operatorLockId(id, f.operator.address);

      const tx = f.market.finalize(id);
      await expect(tx).to.emit(f.market, "RequestRejected").withArgs(id, f.operator.address, slash);
      await expect(tx)
        .to.emit(f.market, "PaymentCredited")
        .withArgs(f.requester.address, ETH, ETH_PRICE + ETH_FEE - reward);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.validator.address, ETH, reward);
      await expect(tx)
        .to.emit(f.vault, "StakeSlashed")
        .withArgs(lockId, f.operator.address, f.requester.address, slash, share(slash));
      await expect(tx)
        .to.emit(f.vault, "StakeUnlocked")
        .withArgs(lockId, f.operator.address, OPERATOR_STAKE - slash);
      await expect(tx).not.to.emit(f.market, "RequestFinalized");
      // A rejected result is never delivered.
      await expect(tx).not.to.emit(f.market, "CallbackExecuted");

      expect(await statusOf(f.market, id)).to.equal(Status.Finalized);
      expect(await settledOutput(f.market, id)).to.equal("0x");
      // The commitment word held the input hash; a rejected result leaves no result hash in it.
      expect(await f.market.resultHashOf(id)).to.equal(ethers.ZeroHash);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(0n);
      expect(await f.market.owed(f.treasury.address, ETH)).to.equal(0n);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_REQUIRED - reward);
      expect((await f.vault.stakeOf(f.operator.address)).total).to.equal(OPERATOR_DEPOSIT - slash);
      expect((await f.vault.stakeOf(f.operator.address)).locked).to.equal(0n);
      expect(await f.vault.slashProceedsOf(f.requester.address)).to.equal(share(slash));
      expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(slash - share(slash));
      await expectSolvent(f, tokens);

      await expect(f.market.connect(f.requester).withdraw(ETH)).to.changeEtherBalance(
        ethers,
        f.requester,
        ETH_REQUIRED - reward,
      );
      const proceeds = f.vault.connect(f.requester).withdrawSlashProceeds();
      await expect(proceeds).to.emit(f.vault, "SlashProceedsWithdrawn").withArgs(f.requester.address, share(slash));
      await expect(proceeds).to.changeEtherBalances(ethers, [f.requester, f.vault], [share(slash), -share(slash)]);
      await expect(f.vault.connect(f.treasury).withdrawSlashProceeds()).to.changeEtherBalance(
        ethers,
        f.treasury,
        slash - share(slash),
      );
    });

    it("reverts for unknown, unsubmitted and non-final requests", async () => {
      await expect(f.market.finalize(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
      const claimed = await createAndClaim(f);
      await expect(f.market.finalize(claimed))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(claimed, Status.Claimed);
      await f.market.connect(f.operator).submitResult(claimed, DEFAULT_OUTPUT, "0x");
      await expect(f.market.finalize(claimed))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNotFinal")
        .withArgs(claimed);
    });

    it("reverts on a double finalize", async () => {
      const id = await createClaimSubmit(f);
      await setVerdict(f, id);
      await f.market.finalize(id);
      await expect(f.market.finalize(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Finalized);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
    });

    it("reverts when the module hands out more than the fee or slashes more than the stake", async () => {
      const id = await createClaimSubmit(f);
      await setVerdict(f, id, {
        rewards: [
          { to: f.validator.address, amount: ETH_FEE },
          { to: f.outsider.address, amount: 1n },
        ],
      });
      await expect(f.market.finalize(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketRewardsExceedFee")
        .withArgs(id, ETH_FEE + 1n, ETH_FEE);

      await setVerdict(f, id, { accepted: false, operatorSlash: OPERATOR_STAKE + 1n });
      await expect(f.market.finalize(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketSlashExceedsStake")
        .withArgs(id, OPERATOR_STAKE + 1n, OPERATOR_STAKE);

      // Exactly the fee and exactly the stake are fine.
      await setVerdict(f, id, {
        accepted: false,
        operatorSlash: OPERATOR_STAKE,
        rewards: [{ to: f.validator.address, amount: ETH_FEE }],
      });
      await expect(f.market.finalize(id))
        .to.emit(f.market, "RequestRejected")
        .withArgs(id, f.operator.address, OPERATOR_STAKE);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_PRICE);
    });
  });

  // ================================================================ no-shows and refunds

  describe("reopen", () => {
    it("slashes a no-show operator and reopens the request for another operator", async () => {
      const id = await createAndClaim(f);
      const claimDeadline = (await f.market.getRequest(id)).claimDeadline;
      const lockId = await f.market.operatorLockId(id, f.operator.address);

      await time.setNextBlockTimestamp(claimDeadline);
      await expect(f.market.connect(f.outsider).reopen(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketClaimWindow")
        .withArgs(id, claimDeadline, claimDeadline);

      await time.setNextBlockTimestamp(claimDeadline + 1n);
      const tx = f.market.connect(f.outsider).reopen(id);
      await expect(tx).to.emit(f.market, "RequestReopened").withArgs(id, f.operator.address, NO_SHOW_SLASH);
      await expect(tx)
        .to.emit(f.vault, "StakeSlashed")
        .withArgs(lockId, f.operator.address, f.requester.address, NO_SHOW_SLASH, share(NO_SHOW_SLASH));
      await expect(tx)
        .to.emit(f.vault, "StakeUnlocked")
        .withArgs(lockId, f.operator.address, OPERATOR_STAKE - NO_SHOW_SLASH);

      const r = await f.market.getRequest(id);
      expect(r.status).to.equal(BigInt(Status.Open));
      expect(r.operator).to.equal(ETH);
      expect(r.claimDeadline).to.equal(0n);
      const info = await f.vault.stakeOf(f.operator.address);
      expect(info.total).to.equal(OPERATOR_DEPOSIT - NO_SHOW_SLASH);
      expect(info.locked).to.equal(0n);
      expect(await f.vault.slashProceedsOf(f.requester.address)).to.equal(share(NO_SHOW_SLASH));
      expect(await f.vault.slashProceedsOf(f.treasury.address)).to.equal(NO_SHOW_SLASH - share(NO_SHOW_SLASH));
      // The escrow is untouched.
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(0n);

      // The no-show can no longer submit; another operator takes over and is paid.
      await expect(f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x"))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Open);
      await expect(f.market.connect(f.operator2).claim(id)).to.emit(f.market, "RequestClaimed");
      await f.market.connect(f.operator2).submitResult(id, DEFAULT_OUTPUT, "0x");
      await setVerdict(f, id, { payee: f.operator2.address });
      await expect(f.market.finalize(id))
        .to.emit(f.vault, "StakeUnlocked")
        .withArgs(await f.market.operatorLockId(id, f.operator2.address), f.operator2.address, OPERATOR_STAKE);
      expect(await f.market.owed(f.operator2.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
    });

    it("reverts for unknown and unclaimed requests", async () => {
      await expect(f.market.reopen(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
      const id = await createRequest(f);
      await expect(f.market.reopen(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Open);
    });
  });

  describe("refund", () => {
    it("refunds an open request after its deadline", async () => {
      const deadline = BigInt(await time.latest()) + 1_000n;
      const id = await createRequest(f, { deadline });
      await expect(f.market.refund(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
        .withArgs(id, deadline, anyValue);
      await time.setNextBlockTimestamp(deadline);
      await expect(f.market.refund(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
        .withArgs(id, deadline, deadline);

      await time.setNextBlockTimestamp(deadline + 1n);
      const tx = f.market.connect(f.outsider).refund(id);
      await expect(tx).to.emit(f.market, "RequestRefunded").withArgs(id, f.requester.address, ETH_REQUIRED);
      await expect(tx).to.emit(f.market, "PaymentCredited").withArgs(f.requester.address, ETH, ETH_REQUIRED);
      await expect(tx).not.to.emit(f.vault, "StakeSlashed");
      expect(await statusOf(f.market, id)).to.equal(Status.Refunded);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_REQUIRED);

      await expect(f.market.refund(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(id, Status.Refunded);
      await expect(f.market.connect(f.requester).withdraw(ETH)).to.changeEtherBalances(
        ethers,
        [f.requester, f.market],
        [ETH_REQUIRED, -ETH_REQUIRED],
      );
    });

    it("refunds a claimed request after its deadline and penalises the no-show", async () => {
      const deadline = BigInt(await time.latest()) + 1_000n;
      const id = await createAndClaim(f, { deadline });
      const lockId = await f.market.operatorLockId(id, f.operator.address);
      await expect(f.market.refund(id))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline")
        .withArgs(id, deadline, anyValue);
      await time.increaseTo(deadline + 1n);
      const tx = f.market.refund(id);
      await expect(tx).to.emit(f.market, "RequestRefunded").withArgs(id, f.requester.address, ETH_REQUIRED);
      await expect(tx)
        .to.emit(f.vault, "StakeSlashed")
        .withArgs(lockId, f.operator.address, f.requester.address, NO_SHOW_SLASH, share(NO_SHOW_SLASH));
      await expect(tx)
        .to.emit(f.vault, "StakeUnlocked")
        .withArgs(lockId, f.operator.address, OPERATOR_STAKE - NO_SHOW_SLASH);
      expect(await statusOf(f.market, id)).to.equal(Status.Refunded);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE - NO_SHOW_SLASH);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_REQUIRED);
    });

    it("refunds ERC-20 requests in the token", async () => {
      const deadline = BigInt(await time.latest()) + 1_000n;
      const id = await createRequest(f, { token: tokenAddress, deadline });
      await time.increaseTo(deadline + 1n);
      await expect(f.market.refund(id))
        .to.emit(f.market, "RequestRefunded")
        .withArgs(id, f.requester.address, TOKEN_REQUIRED);
      await expect(f.market.connect(f.requester).withdraw(tokenAddress)).to.changeTokenBalances(
        ethers,
        f.token,
        [f.requester, f.market],
        [TOKEN_REQUIRED, -TOKEN_REQUIRED],
      );
      expect(await f.market.liabilities(tokenAddress)).to.equal(0n);
    });

    it("reverts for unknown, submitted and finalized requests", async () => {
      await expect(f.market.refund(UNKNOWN_ID))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketUnknownRequest")
        .withArgs(UNKNOWN_ID);
      const deadline = BigInt(await time.latest()) + 1_000n;
      const submitted = await createClaimSubmit(f, { deadline });
      const finalized = await createClaimSubmit(f, { deadline });
      await setVerdict(f, finalized);
      await f.market.finalize(finalized);
      await time.increaseTo(deadline + 1n);
      await expect(f.market.refund(submitted))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(submitted, Status.Submitted);
      await expect(f.market.refund(finalized))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketWrongStatus")
        .withArgs(finalized, Status.Finalized);
    });
  });

  describe("withdraw", () => {
    it("reverts when nothing is owed", async () => {
      await expect(f.market.connect(f.outsider).withdraw(ETH))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNothingOwed")
        .withArgs(f.outsider.address, ETH);
      await expect(f.market.connect(f.outsider).withdraw(tokenAddress))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketNothingOwed")
        .withArgs(f.outsider.address, tokenAddress);
    });
  });

  // ================================================================ pause

  describe("pause", () => {
    it("blocks create, claim and submit and stops every clock that can slash; withdrawals and finalize go on", async () => {
      const deadline = BigInt(await time.latest()) + 2n * CLAIM_WINDOW;
      const toFinalize = await createClaimSubmit(f);
      await setVerdict(f, toFinalize);
      const toRefund = await createRequest(f, { deadline });
      const toReopen = await createAndClaim(f, {}, f.operator2);
      const toClaim = await createRequest(f);
      const extra = 123n;
      await createRequest(f, { maxFee: ETH_REQUIRED + extra }, f.requester2);
      const claimDeadline = (await f.market.getRequest(toReopen)).claimDeadline;

      await f.market.connect(f.owner).pause();
      const frozen = await f.market.activeTime();

      await expect(createRequest(f)).to.be.revertedWithCustomError(f.market, "EnforcedPause");
      await expect(f.market.connect(f.operator).claim(toClaim)).to.be.revertedWithCustomError(
        f.market,
        "EnforcedPause",
      );
      await expect(
        f.market.connect(f.operator2).submitResult(toReopen, DEFAULT_OUTPUT, "0x"),
      ).to.be.revertedWithCustomError(f.market, "EnforcedPause");

      await expect(f.market.finalize(toFinalize)).to.emit(f.market, "RequestFinalized");
      await expect(f.market.connect(f.operator).withdraw(ETH)).to.changeEtherBalance(
        ethers,
        f.operator,
        ETH_OPERATOR_PAYMENT,
      );
      await expect(f.market.connect(f.requester2).withdraw(ETH)).to.changeEtherBalance(ethers, f.requester2, extra);
      // A long pause: every deadline has passed in unix time, none in active time.
      await time.increaseTo(deadline + 10n * CLAIM_WINDOW);
      expect(await f.market.activeTime()).to.equal(frozen);
      await expect(f.market.reopen(toReopen))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketClaimWindow")
        .withArgs(toReopen, claimDeadline, frozen);
      await expect(f.market.refund(toRefund)).to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline");
      expect((await f.vault.stakeOf(f.operator2.address)).total).to.equal(OPERATOR_DEPOSIT);

      await expect(f.market.connect(f.owner).unpause()).to.emit(f.market, "PauseEnded");
      const paused = await f.market.pausedTotal();
      expect(paused).to.be.greaterThan(10n * CLAIM_WINDOW);
      // The operator still has the rest of its claim window: it submits, nobody slashed it.
      await expect(f.market.connect(f.operator2).submitResult(toReopen, DEFAULT_OUTPUT, "0x")).to.emit(
        f.market,
        "ResultSubmitted",
      );
      await expect(f.market.connect(f.operator).claim(toClaim)).to.emit(f.market, "RequestClaimed");
      // Deadlines resume where they stood: the open request is refundable once its remaining time runs out.
      await expect(f.market.refund(toRefund)).to.be.revertedWithCustomError(f.market, "InferenceMarketDeadline");
      await time.increase(2n * CLAIM_WINDOW);
      await expect(f.market.refund(toRefund)).to.emit(f.market, "RequestRefunded");
      await expect(f.market.connect(f.requester).withdraw(ETH)).to.emit(f.market, "PaymentWithdrawn");
    });

    it("keeps active time equal to unix time minus all paused time, across several pauses", async () => {
      expect(await f.market.activeTime()).to.equal(BigInt(await time.latest()));
      let total = 0n;
      for (const length of [100n, 250n]) {
        await f.market.connect(f.owner).pause();
        const start = BigInt(await time.latest());
        await time.increase(length);
        await f.market.connect(f.owner).unpause();
        total += BigInt(await time.latest()) - start;
      }
      expect(await f.market.pausedTotal()).to.equal(total);
      expect(await f.market.activeTime()).to.equal(BigInt(await time.latest()) - total);
      // A request's deadline is stored in active time, so a client reads it against activeTime().
      const unixDeadline = BigInt(await time.latest()) + DAY;
      const id = await createRequest(f, { deadline: unixDeadline });
      expect((await f.market.getRequest(id)).deadline).to.equal(unixDeadline - total);
    });
  });

  // ================================================================ hostile consumers and tokens

  describe("hostile consumers", () => {
    let consumer: HostileConsumer;
    let consumerAddress: string;

    beforeEach(async () => {
      consumer = await ethers.deployContract("HostileConsumer", [await f.market.getAddress()]);
      consumerAddress = await consumer.getAddress();
      await f.module.setAutoAccept(true);
    });

    /** The consumer requests (overpaying by `extra`, credited to it), an operator claims and submits. */
    async function submittedFor(behaviour: Behaviour, extra = 0n, gas = MAX_CALLBACK_GAS): Promise<bigint> {
      await consumer.setBehaviour(behaviour);
      const params = await requestParams(f, {
        maxFee: ETH_REQUIRED + extra,
        callback: consumerAddress,
        callbackGasLimit: gas,
      });
      await consumer.connect(f.requester).request(params, { value: params.maxFee });
      const id = await f.market.requestCount();
      expect((await f.market.getRequest(id)).requester).to.equal(consumerAddress);
      await f.market.connect(f.operator).claim(id);
      await f.market.connect(f.operator).submitResult(id, DEFAULT_OUTPUT, "0x");
      return id;
    }

    async function expectSettledAndPaid(id: bigint): Promise<void> {
      expect(await statusOf(f.market, id)).to.equal(Status.Finalized);
      expect(await settledOutput(f.market, id)).to.equal(DEFAULT_OUTPUT);
      expect(await f.vault.freeStake(f.operator.address)).to.equal(OPERATOR_FREE);
      await expect(f.market.connect(f.operator).withdraw(ETH)).to.changeEtherBalances(
        ethers,
        [f.operator, f.market],
        [ETH_OPERATOR_PAYMENT, -ETH_OPERATOR_PAYMENT],
      );
    }

    for (const behaviour of [Behaviour.Revert, Behaviour.BurnGas, Behaviour.ReturnBomb]) {
      it(`settles despite a callback that misbehaves (${Behaviour[behaviour]})`, async () => {
        const id = await submittedFor(behaviour);
        const tx = await f.market.connect(f.outsider).finalize(id, { gasLimit: 3_000_000 });
        await expect(tx)
          .to.emit(f.market, "RequestFinalized")
          .withArgs(id, f.operator.address, DEFAULT_OUTPUT, ETH_OPERATOR_PAYMENT, ETH_PROTOCOL_FEE);
        await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, consumerAddress, false);
        const receipt = await tx.wait();
        const gasUsed = receipt!.gasUsed;
        // The callback is capped at its own limit, not everything the finalizer sent (3M here)...
        expect(gasUsed < MAX_CALLBACK_GAS + 300_000n, `gas used ${gasUsed}`).to.equal(true);
        if (behaviour !== Behaviour.Revert) {
          // ...and a consumer that runs out of gas really got that whole limit.
          expect(gasUsed > MAX_CALLBACK_GAS, `gas used ${gasUsed}`).to.equal(true);
        }
        await expectSettledAndPaid(id);
      });
    }

    it("a callback that reenters finalize fails to reenter; settlement completes", async () => {
      const id = await submittedFor(Behaviour.ReenterFinalize);
      const tx = f.market.finalize(id);
      await expect(tx).to.emit(f.market, "RequestFinalized");
      await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, consumerAddress, true);
      expect(await consumer.reentrySucceeded()).to.equal(false);
      // Paid exactly once.
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(ETH_OPERATOR_PAYMENT);
      await expectSettledAndPaid(id);
    });

    it("a callback that reenters withdraw fails to reenter; it can withdraw afterwards", async () => {
      const extra = ethers.parseEther("0.01");
      const id = await submittedFor(Behaviour.ReenterWithdraw, extra);
      expect(await f.market.owed(consumerAddress, ETH)).to.equal(extra);
      const tx = f.market.finalize(id);
      await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, consumerAddress, true);
      await expect(tx).not.to.emit(f.market, "PaymentWithdrawn");
      expect(await consumer.reentrySucceeded()).to.equal(false);
      // Still owed: the overpayment plus the unused verification fee credited at settlement.
      expect(await f.market.owed(consumerAddress, ETH)).to.equal(extra + ETH_FEE);
      await expectSettledAndPaid(id);
      // Outside settlement the same withdrawal works, so the guard is what stopped it.
      await expect(consumer.withdrawFromMarket()).to.changeEtherBalance(ethers, consumer, extra + ETH_FEE);
      expect(await f.market.owed(consumerAddress, ETH)).to.equal(0n);
    });

    it("a callback can chain a new request", async () => {
      const id = await submittedFor(Behaviour.ChainRequest);
      const chained = await requestParams(f);
      await consumer.setChainedRequest(chained);
      await f.requester.sendTransaction({ to: consumerAddress, value: chained.maxFee });

      const tx = f.market.finalize(id);
      await expect(tx).to.emit(f.market, "CallbackExecuted").withArgs(id, consumerAddress, true);
      await expect(tx)
        .to.emit(f.market, "RequestCreated")
        .withArgs(
          id + 1n,
          f.modelId,
          consumerAddress,
          MODE_ZK,
          ETH,
          ETH_PRICE,
          ETH_FEE,
          chained.deadline,
          anyValue,
          anyValue,
          "",
        );
      expect(await consumer.chainedRequestId()).to.equal(id + 1n);
      expect(await f.market.requestCount()).to.equal(id + 1n);
      const r = await f.market.getRequest(id + 1n);
      expect(r.requester).to.equal(consumerAddress);
      expect(r.status).to.equal(BigInt(Status.Open));
      expect(await f.market.liabilities(ETH)).to.equal(2n * ETH_REQUIRED);
      await expectSettledAndPaid(id);
    });

    it("finalize with too little gas for the callback reverts InferenceMarketInsufficientGas", async () => {
      const id = await submittedFor(Behaviour.Revert);
      const needed = (MAX_CALLBACK_GAS * 64n) / 63n + CALLBACK_OVERHEAD;
      await expect(f.market.finalize(id, { gasLimit: 300_000 }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketInsufficientGas")
        .withArgs(anyValue, needed);
      expect(await statusOf(f.market, id)).to.equal(Status.Submitted);
      expect(await f.market.owed(f.operator.address, ETH)).to.equal(0n);
      // With enough gas the same request settles.
      await expect(f.market.finalize(id, { gasLimit: 1_000_000 })).to.emit(f.market, "RequestFinalized");
    });
  });

  describe("hostile token", () => {
    let rt: ReentrantToken;
    let rtAddress: string;

    beforeEach(async () => {
      rt = await ethers.deployContract("ReentrantToken", [await f.market.getAddress()]);
      rtAddress = await rt.getAddress();
      tokens = [tokenAddress, rtAddress];
      await f.market.connect(f.owner).setTokenAllowed(rtAddress, true);
      await f.registry.connect(f.modelOwner).setPrice(f.modelId, rtAddress, TOKEN_PRICE);
      await rt.mint(f.requester.address, ethers.parseEther("1000"));
      await rt.connect(f.requester).approve(await f.market.getAddress(), ethers.MaxUint256);
    });

    /** Settles one rt-paid request, crediting `rewardToToken` of the fee to the token contract itself. */
    async function settledWithTokenReward(rewardToToken: bigint): Promise<bigint> {
      const id = await createClaimSubmit(f, { token: rtAddress });
      await setVerdict(f, id, { rewards: [{ to: rtAddress, amount: rewardToToken }] });
      await f.market.finalize(id);
      return id;
    }

    it("a token reentering finalize during a withdrawal fails; the withdrawal completes", async () => {
      await settledWithTokenReward(0n);
      const pending = await createClaimSubmit(f, { token: rtAddress });
      await setVerdict(f, pending);
      await rt.arm(f.market.interface.encodeFunctionData("finalize", [pending]));

      const tx = f.market.connect(f.operator).withdraw(rtAddress);
      await expect(tx)
        .to.emit(f.market, "PaymentWithdrawn")
        .withArgs(f.operator.address, rtAddress, TOKEN_OPERATOR_PAYMENT);
      await expect(tx).not.to.emit(f.market, "RequestFinalized");
      await expect(tx).to.changeTokenBalance(ethers, rt, f.operator, TOKEN_OPERATOR_PAYMENT);
      expect(await rt.reentrySucceeded()).to.equal(false);
      expect(await rt.armed()).to.equal(false);
      expect(await statusOf(f.market, pending)).to.equal(Status.Submitted);
      // Outside the withdrawal the same finalize goes through.
      await expect(f.market.finalize(pending)).to.emit(f.market, "RequestFinalized");
    });

    it("a token reentering withdraw during a withdrawal fails", async () => {
      const reward = TOKEN_FEE / 2n;
      await settledWithTokenReward(reward);
      expect(await f.market.owed(rtAddress, rtAddress)).to.equal(reward);
      await rt.arm(f.market.interface.encodeFunctionData("withdraw", [rtAddress]));
      await expect(f.market.connect(f.operator).withdraw(rtAddress))
        .to.emit(f.market, "PaymentWithdrawn")
        .withArgs(f.operator.address, rtAddress, TOKEN_OPERATOR_PAYMENT);
      expect(await rt.reentrySucceeded()).to.equal(false);
      expect(await f.market.owed(rtAddress, rtAddress)).to.equal(reward);
      expect(await f.market.liabilities(rtAddress)).to.equal(TOKEN_REQUIRED - TOKEN_OPERATOR_PAYMENT);
    });

    it("a token that pulls funds out during createRequest trips InferenceMarketTransferMismatch", async () => {
      // createRequest is deliberately not nonReentrant (callbacks may chain requests), so a token can
      // reenter withdraw during the payment pull; the balance check catches the short receipt.
      const reward = TOKEN_FEE / 2n;
      await settledWithTokenReward(reward);
      await rt.arm(f.market.interface.encodeFunctionData("withdraw", [rtAddress]));
      const count = await f.market.requestCount();
      await expect(createRequest(f, { token: rtAddress }))
        .to.be.revertedWithCustomError(f.market, "InferenceMarketTransferMismatch")
        .withArgs(TOKEN_REQUIRED, TOKEN_REQUIRED - reward);
      expect(await f.market.requestCount()).to.equal(count);
      expect(await f.market.owed(rtAddress, rtAddress)).to.equal(reward);
    });
  });

  // ================================================================ module fee

  describe("verification fee", () => {
    it("is fixed at creation even if the module's fee changes later", async () => {
      const id = await createClaimSubmit(f);
      await f.module.setFeeBps(MODULE_FEE_BPS * 3n);
      await setVerdict(f, id);
      await f.market.finalize(id);
      expect((await f.market.getRequest(id)).verificationFee).to.equal(ETH_FEE);
      expect(await f.market.owed(f.requester.address, ETH)).to.equal(ETH_FEE);
      expect(await f.market.liabilities(ETH)).to.equal(ETH_REQUIRED);
    });
  });
});
