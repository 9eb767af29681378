// Shared deployment fixtures and helpers for the contract unit tests.
//
// All contract test files share one simulated network (created here) so that `loadFixture` snapshots
// are reused across files; every test starts from a fixture snapshot, never from another test's state.
import { expect } from "chai";
import { network } from "hardhat";
import type { BigNumberish, BytesLike, Signer } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type {
  DigitGate,
  InferenceMarket,
  MockERC20,
  MockVerificationModule,
  ModelRegistry,
  StakingVault,
} from "../../types/ethers-contracts/index.js";

export const { ethers, networkHelpers } = await network.create();
export const { time } = networkHelpers;

// ---------------------------------------------------------------- constants

export const ETH = ethers.ZeroAddress;
export const DAY = 24n * 60n * 60n;

export const MODE_ZK = 0;
export const MODE_OPTIMISTIC = 1;

export const MODEL_HASH = ethers.id("veriml/digits-mlp/v1");
export const ARTIFACT_URI = "ipfs://bafy-digits-mlp-v1";
export const ETH_PRICE = ethers.parseEther("0.1");
export const TOKEN_PRICE = ethers.parseEther("50");
export const OPERATOR_STAKE = ethers.parseEther("1");
export const OPERATOR_DEPOSIT = ethers.parseEther("10");

/** Mock module verification fee, in basis points of the price. */
export const MODULE_FEE_BPS = 1_000n;
export const PROTOCOL_FEE_BPS = 500n;
export const NO_SHOW_SLASH_BPS = 2_000n;
export const CLAIM_WINDOW = 600n;
export const MAX_CALLBACK_GAS = 500_000n;
export const UNBONDING_DELAY = 7n * DAY;
export const BENEFICIARY_SHARE_BPS = 5_000n;
/** Bond a pool membership takes (StakingVault.minPoolStake). */
export const MIN_POOL_STAKE = ethers.parseEther("0.01");
/** Free stake of a fixture operator: its deposit less the bond of its one pool membership. */
export const OPERATOR_FREE = OPERATOR_DEPOSIT - MIN_POOL_STAKE;
export const BPS = 10_000n;

export const ETH_FEE = (ETH_PRICE * MODULE_FEE_BPS) / BPS;
export const ETH_REQUIRED = ETH_PRICE + ETH_FEE;
export const TOKEN_FEE = (TOKEN_PRICE * MODULE_FEE_BPS) / BPS;
export const TOKEN_REQUIRED = TOKEN_PRICE + TOKEN_FEE;

export const DEFAULT_INPUT = ethers.hexlify(ethers.toUtf8Bytes("pixels:0,1,2,3"));
export const DEFAULT_OUTPUT = ethers.AbiCoder.defaultAbiCoder().encode(["int256[]"], [[7]]);

/** Mirrors IInferenceMarket.Status. */
export enum Status {
  None,
  Open,
  Claimed,
  Submitted,
  Finalized,
  Refunded,
}

/** Mirrors IStakingVault.Role. */
export enum Role {
  Operator,
  Validator,
}

/** Mirrors HostileConsumer.Behaviour. */
export enum Behaviour {
  Revert,
  BurnGas,
  ReturnBomb,
  ReenterFinalize,
  ReenterWithdraw,
  ChainRequest,
}

export interface RequestParams {
  modelId: BigNumberish;
  mode: BigNumberish;
  token: string;
  maxFee: bigint;
  deadline: bigint;
  input: BytesLike;
  inputHash: BytesLike;
  inputURI: string;
  callback: string;
  callbackGasLimit: BigNumberish;
  termsHash: BytesLike;
}

export interface Reward {
  to: string;
  amount: bigint;
}

export interface Verdict {
  accepted: boolean;
  output: BytesLike;
  payee: string;
  operatorSlash: bigint;
  slashBeneficiary: string;
  rewards: Reward[];
}

/** The output encoding of every mode for a classifier's label: abi.encode(int256[] [label]). */
export function encodeLabel(label: BigNumberish): string {
  return ethers.AbiCoder.defaultAbiCoder().encode(["int256[]"], [[label]]);
}

export function bytes32Name(name: string): string {
  return ethers.encodeBytes32String(name);
}

// ---------------------------------------------------------------- fixtures

/** The first `names.length` signers, by name. */
export async function namedSigners<const N extends readonly string[]>(
  names: N,
): Promise<Record<N[number], HardhatEthersSigner>> {
  const all = await ethers.getSigners();
  const out = {} as Record<N[number], HardhatEthersSigner>;
  names.forEach((name: N[number], i) => {
    const signer = all[i];
    if (signer === undefined) throw new Error(`not enough signers for ${name}`);
    out[name] = signer;
  });
  return out;
}

/** Full marketplace: registry, ETH vault, market, scripted module, one registered model, two staked operators. */
export async function deployMarketFixture() {
  const { owner, treasury, requester, operator, operator2, validator, outsider, modelOwner, requester2 } =
    await namedSigners([
      "owner",
      "treasury",
      "requester",
      "operator",
      "operator2",
      "validator",
      "outsider",
      "modelOwner",
      "requester2",
    ] as const);

  const registry: ModelRegistry = await ethers.deployContract("ModelRegistry", [owner.address]);
  const vault: StakingVault = await ethers.deployContract("StakingVault", [
    owner.address,
    ETH,
    treasury.address,
    UNBONDING_DELAY,
    BENEFICIARY_SHARE_BPS,
    MIN_POOL_STAKE,
  ]);
  const market: InferenceMarket = await ethers.deployContract("InferenceMarket", [
    owner.address,
    await registry.getAddress(),
    await vault.getAddress(),
    {
      treasury: treasury.address,
      protocolFeeBps: PROTOCOL_FEE_BPS,
      noShowSlashBps: NO_SHOW_SLASH_BPS,
      claimWindow: CLAIM_WINDOW,
      maxCallbackGas: MAX_CALLBACK_GAS,
    },
  ]);
  const marketAddress = await market.getAddress();
  const module: MockVerificationModule = await ethers.deployContract("MockVerificationModule", [marketAddress]);
  await module.setFeeBps(MODULE_FEE_BPS);

  await registry.connect(owner).setModeModule(MODE_ZK, await module.getAddress());
  await vault.connect(owner).setAuthorised(marketAddress, true);

  await registry
    .connect(modelOwner)
    .registerModel(MODEL_HASH, ARTIFACT_URI, ETH_PRICE, OPERATOR_STAKE, [{ mode: MODE_ZK, config: "0x" }]);
  const modelId = await registry.modelCount();

  for (const op of [operator, operator2]) {
    await vault.connect(op).stake(OPERATOR_DEPOSIT, { value: OPERATOR_DEPOSIT });
    await vault.connect(op).setService(modelId, Role.Operator, true);
  }

  const token: MockERC20 = await ethers.deployContract("MockERC20", ["Mock USD", "mUSD"]);
  const tokenAddress = await token.getAddress();
  await market.connect(owner).setTokenAllowed(tokenAddress, true);
  await registry.connect(modelOwner).setPrice(modelId, tokenAddress, TOKEN_PRICE);
  for (const r of [requester, requester2]) {
    await token.mint(r.address, ethers.parseEther("10000"));
    await token.connect(r).approve(marketAddress, ethers.MaxUint256);
  }

  return {
    owner,
    treasury,
    requester,
    requester2,
    operator,
    operator2,
    validator,
    outsider,
    modelOwner,
    registry,
    vault,
    market,
    module,
    token,
    modelId,
  };
}

export type MarketFixture = Awaited<ReturnType<typeof deployMarketFixture>>;

/** The market fixture plus a DigitGate consumer (target digit 7) and an auto-accepting module. */
export async function deployDigitGateFixture() {
  const f = await deployMarketFixture();
  const gate: DigitGate = await ethers.deployContract("DigitGate", [
    await f.market.getAddress(),
    f.modelId,
    MODE_ZK,
    7,
    await f.market.termsHashOf(f.modelId, MODE_ZK),
  ]);
  await f.module.setAutoAccept(true);
  return { ...f, gate };
}

const VAULT_ROLES = ["owner", "treasury", "staker", "staker2", "module", "module2", "beneficiary", "outsider"] as const;

/** A standalone ETH vault with EOAs standing in for authorised markets/modules. */
export async function deployEthVaultFixture() {
  const { owner, treasury, staker, staker2, module, module2, beneficiary, outsider } = await namedSigners(VAULT_ROLES);
  const vault: StakingVault = await ethers.deployContract("StakingVault", [
    owner.address,
    ETH,
    treasury.address,
    UNBONDING_DELAY,
    BENEFICIARY_SHARE_BPS,
    MIN_POOL_STAKE,
  ]);
  await vault.connect(owner).setAuthorised(module.address, true);
  await vault.connect(owner).setAuthorised(module2.address, true);
  return { owner, treasury, staker, staker2, module, module2, beneficiary, outsider, vault };
}

/** A standalone vault staking a MockERC20. */
export async function deployTokenVaultFixture() {
  const { owner, treasury, staker, staker2, module, module2, beneficiary, outsider } = await namedSigners(VAULT_ROLES);
  const token: MockERC20 = await ethers.deployContract("MockERC20", ["Stake Token", "STK"]);
  const vault: StakingVault = await ethers.deployContract("StakingVault", [
    owner.address,
    await token.getAddress(),
    treasury.address,
    UNBONDING_DELAY,
    BENEFICIARY_SHARE_BPS,
    MIN_POOL_STAKE,
  ]);
  await vault.connect(owner).setAuthorised(module.address, true);
  for (const s of [staker, staker2]) {
    await token.mint(s.address, ethers.parseEther("1000"));
    await token.connect(s).approve(await vault.getAddress(), ethers.MaxUint256);
  }
  return { owner, treasury, staker, staker2, module, module2, beneficiary, outsider, vault, token };
}

// ---------------------------------------------------------------- request helpers

/**
 * RequestParams for the fixture model, paid in ETH with exactly the quote, due in one day, pinning the mode
 * config current now (as the client does).
 */
export async function requestParams(f: MarketFixture, overrides: Partial<RequestParams> = {}): Promise<RequestParams> {
  const token = overrides.token ?? ETH;
  const required = token === ETH ? ETH_REQUIRED : TOKEN_REQUIRED;
  const modelId = overrides.modelId ?? f.modelId;
  const mode = overrides.mode ?? MODE_ZK;
  return {
    modelId,
    mode,
    token,
    maxFee: required,
    deadline: BigInt(await time.latest()) + DAY,
    input: DEFAULT_INPUT,
    inputHash: ethers.ZeroHash,
    inputURI: "",
    callback: ETH,
    callbackGasLimit: 0,
    termsHash: await f.market.termsHashOf(modelId, mode),
    ...overrides,
  };
}

/** Sends createRequest (value = maxFee for ETH requests) and returns the new request id. */
export async function createRequest(
  f: MarketFixture,
  overrides: Partial<RequestParams> = {},
  from: Signer = f.requester,
): Promise<bigint> {
  const params = await requestParams(f, overrides);
  const value = params.token === ETH ? params.maxFee : 0n;
  await f.market.connect(from).createRequest(params, { value });
  return f.market.requestCount();
}

export async function createAndClaim(
  f: MarketFixture,
  overrides: Partial<RequestParams> = {},
  operator: Signer = f.operator,
): Promise<bigint> {
  const id = await createRequest(f, overrides);
  await f.market.connect(operator).claim(id);
  return id;
}

export async function createClaimSubmit(
  f: MarketFixture,
  overrides: Partial<RequestParams> = {},
  output: BytesLike = DEFAULT_OUTPUT,
  operator: Signer = f.operator,
): Promise<bigint> {
  const id = await createAndClaim(f, overrides, operator);
  await f.market.connect(operator).submitResult(id, output, "0x");
  return id;
}

/** Scripts the mock module's verdict for `id`. */
export async function setVerdict(f: MarketFixture, id: BigNumberish, verdict: Partial<Verdict> = {}): Promise<void> {
  await f.module.setVerdict(id, {
    accepted: true,
    output: DEFAULT_OUTPUT,
    payee: f.operator.address,
    operatorSlash: 0n,
    slashBeneficiary: ETH,
    rewards: [],
    ...verdict,
  });
}

// ---------------------------------------------------------------- invariants

/** The market holds at least what it owes in ETH (and `tokens`), and the vault exactly what it owes. */
export async function expectSolvent(f: MarketFixture, tokens: string[] = []): Promise<void> {
  const marketAddress = await f.market.getAddress();
  const ethHeld = await ethers.provider.getBalance(marketAddress);
  const ethOwed = await f.market.liabilities(ETH);
  expect(ethHeld >= ethOwed, `market ETH ${ethHeld} < liabilities ${ethOwed}`).to.equal(true);
  // Nothing can push ETH into the market except createRequest, so the escrow is exact.
  expect(ethHeld).to.equal(ethOwed);
  for (const tokenAddress of tokens) {
    const erc20 = await ethers.getContractAt("MockERC20", tokenAddress);
    const held = await erc20.balanceOf(marketAddress);
    const owedInToken = await f.market.liabilities(tokenAddress);
    expect(held >= owedInToken, `market token ${held} < liabilities ${owedInToken}`).to.equal(true);
  }
  await expectVaultSolvent(f.vault);
}

export async function expectVaultSolvent(vault: StakingVault, token?: MockERC20): Promise<void> {
  const vaultAddress = await vault.getAddress();
  const held = token ? await token.balanceOf(vaultAddress) : await ethers.provider.getBalance(vaultAddress);
  expect(held).to.equal(await vault.totalLiabilities());
}
