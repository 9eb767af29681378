/**
 * Everything the page reads from the chain, in one module: the suite from Ignition's record, models and
 * prices, quotes, a request's whole history per mode (from the market's and its module's events, each
 * transaction with its gas), the zk proof a result was accepted with, operators' stakes, earnings and
 * slashes, and optimistic dispute games move by move. Paying goes through the project's client
 * (operator/src/client-core.ts), which the CLI uses too; builds are checked against the registered
 * modelHash there (checkBuild). When the contracts change (a one-transaction zk settle, batches), this
 * module is what adapts.
 */
import {
  AbiCoder,
  Contract,
  JsonRpcProvider,
  ZeroAddress,
  getAddress,
  keccak256,
  toUtf8String,
  type Log,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import {
  VerimlClientCore,
  STATUS_NAMES,
  type ModelBuild,
  type ModelInfo,
  type RequestOptions,
  type StatusName,
} from "../../operator/src/client-core.js";
import {
  checkRecordOnChain,
  journalChainId,
  parseDeployedAddresses,
  suiteAddresses,
  type SuiteAddresses,
} from "../../operator/src/deployment-record.js";
import { settledOutput } from "../../operator/src/chain/results.js";
import { decodeZkConfig } from "../../operator/src/terms.js";
import { decodeSamplingConfig } from "../../operator/src/sampling/config.js";
import {
  BenchmarkRegistry__factory,
  InferenceMarket__factory,
  ModelRegistry__factory,
  OptimisticModule__factory,
  QualityModule__factory,
  SamplingModule__factory,
  StakingVault__factory,
  ZkModule__factory,
  type BenchmarkRegistry,
  type InferenceMarket,
  type ModelRegistry,
  type OptimisticModule,
  type QualityModule,
  type SamplingModule,
  type StakingVault,
  type ZkModule,
} from "../../types/ethers-contracts/index.js";
import { decodeModelOutput, decodeInputValues, type DecodedOutput } from "../../verifier-gen/src/interface.js";
import { fetchBuildFile, httpBuildFetcher } from "./artifacts.js";
import { attestationConflicts } from "./attestations.js";
import type { AppConfig } from "../server/server.js";
import { appLog } from "./log.js";

export const MODE_NAMES = ["zk", "optimistic", "sampling", "quality"] as const;
export type ModeName = (typeof MODE_NAMES)[number];
export const modeName = (mode: number): string => MODE_NAMES[mode] ?? `mode ${mode}`;

const ERC20_ABI = [
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function balanceOf(address) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
];

/** A payment token the market allows (ETH is the zero address). */
export interface PaymentToken {
  address: string;
  symbol: string;
  decimals: number;
}

export const ETH: PaymentToken = { address: ZeroAddress, symbol: "ETH", decimals: 18 };

/** One registered model as the models page lists it. */
export interface ModelRow extends ModelInfo {
  /** The checked build (zk, optimistic, sampling models), or why it could not be used. */
  build: ModelBuild | { error: string };
  /** A name for the page: the build's, or the last part of the artifact URI. */
  name: string;
  /** Price per allowed token (only tokens the model is priced in). */
  prices: { token: PaymentToken; price: bigint }[];
  /** zk: the verifier contract the ZkModule checks proofs with. */
  verifier?: string;
  /** sampling: the probability a result is recomputed (basis points). */
  sampleBps?: number;
  /** How many operators serve the model now. */
  servers: number;
  /** Benchmark attestations recorded for the model in the suite's BenchmarkRegistry, oldest first. */
  attestations: AttestationRow[];
}

/**
 * A proven count: the model labels `correct` of the `samples` samples of the committed test set `dataset` as that
 * set does; the attester chose the samples and their labels (app/src/attestations.ts).
 */
export interface AttestationRow {
  attestationId: bigint;
  dataset: string;
  samples: number;
  correct: number;
  attester: string;
  /** The attester is the model's owner. */
  byOwner: boolean;
  verifier: string;
  blockNumber: number;
  /** Records (of any model) on the same model commitment and test set with another count. */
  conflicts: bigint[];
}

/** One transaction in a request's history. */
export interface Step {
  /** What happened, for a person. */
  label: string;
  /** Event name. */
  event: string;
  tx: string;
  gasUsed: bigint;
  block: number;
  /** Block time (unix seconds). */
  at: number;
  /** Who sent the transaction. */
  from: string;
  /** Details for the row (addresses, scores, ...). */
  detail?: string;
}

/** Where a request stands, read from the chain now, with what its mode adds. */
export interface RequestView {
  requestId: bigint;
  modelId: bigint;
  mode: number;
  status: StatusName;
  requester: string;
  operator: string;
  token: string;
  price: bigint;
  fee: bigint;
  /** Active-time deadlines (see IActiveClock) and the chain's active time now. */
  deadline: number;
  claimDeadline: number;
  activeNow: number;
  input: string;
  steps: Step[];
  /** The settled output (Finalized only), raw and decoded with the model's interface. */
  output: string | null;
  decoded: DecodedOutput | null;
  /** Quality mode: the response text (inline), or its hash and URI. */
  response?: string;
  /** The input decoded with the model's interface (quantized and the floats they stand for). */
  inputValues?: { quantized: number[]; values: number[] };
  optimistic?: {
    proposed: DecodedOutput | null;
    challengeDeadline: number;
    openGames: number;
    challengers: string[];
    operatorLost: boolean;
  };
  sampling?: {
    phase: string;
    decided: boolean;
    sampled: boolean;
    sampler: string;
    deadline: number;
    verdict: string;
    samplerRevealed: boolean;
    operatorRevealed: boolean;
    disputed: boolean;
  };
  quality?: {
    drawn: boolean;
    members: { validator: string; committed: boolean; revealed: boolean; score: number }[];
    commitDeadline: number;
    revealDeadline: number;
    resolved: boolean;
    accepted: boolean;
    median: number;
  };
}

const SAMPLING_PHASES = ["None", "AwaitingRandomness", "Unsampled", "SamplerDrawn", "Revealing", "Disputed", "Final"];
const SAMPLING_VERDICTS = ["None", "Match", "OperatorRight", "OperatorWrong", "Refund"];
const GAME_PHASES = ["None", "Trace", "Tensor", "OneStep", "Resolved"];
const GAME_OUTCOMES = ["Open", "OperatorWon", "ChallengerWon", "Cancelled"];
const GAME_REASONS = [
  "None",
  "OneStep",
  "Padding",
  "OperatorTimeout",
  "ChallengerTimeout",
  "OperatorLostElsewhere",
  "NotExecutable",
];

/** One move of an optimistic dispute game. */
export interface Move {
  kind: "challenge" | "reveal" | "pick" | "tensor" | "one-step" | "resolved";
  label: string;
  detail: string;
  tx: string;
  gasUsed: bigint;
  at: number;
  by: string;
}

export interface DisputeView {
  requestId: bigint;
  modelId: bigint;
  operator: string;
  challenger: string;
  bond: bigint;
  phase: string;
  outcome: string;
  reason: string;
  /** Every event of the game, in order (a transaction may carry two: a pick that ends phase 1, a one-step that resolves). */
  moves: Move[];
  /** Moves as the game counts them. */
  gameMoves: number;
  /** The disputed tensor (once phase 2 started) and its node's name in the integer graph. */
  tensor?: { index: number; name: string };
  oneStep?: { tensor: number; element: number; computed: bigint; operatorCorrect: boolean };
  /** Gas of the game's distinct transactions. */
  totalGas: bigint;
}

export interface OperatorRow {
  address: string;
  total: bigint;
  locked: bigint;
  bonded: bigint;
  unbonding: bigint;
  /** Models (and role) it serves now. */
  serving: { modelId: bigint; role: "operator" | "validator" }[];
  /** Requests it settled and what they paid it (price after the protocol fee), per token. */
  settled: number;
  earned: Map<string, bigint>;
  /** Owed by the market now (withdrawable). */
  owedEth: bigint;
  slashes: { amount: bigint; beneficiary: string; tx: string; requestId?: bigint }[];
  slashed: bigint;
  disputesLost: number;
}

/** A Groth16 proof as the verifier contract takes it (G2 coordinates in Solidity's order). */
interface Groth16Points {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
}

const ZK_PROOF = "tuple(bytes input, uint256[2] a, uint256[2][2] b, uint256[2] c)";
const ZK_BATCH_PROOF = "tuple(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes[] inputs, int256[][] outputs)";

const points = (p: Groth16Points): Groth16Points => ({
  a: [p.a[0], p.a[1]],
  b: [
    [p.b[0][0], p.b[0][1]],
    [p.b[1][0], p.b[1][1]],
  ],
  c: [p.c[0], p.c[1]],
});

/** One inference a proof covers: its input bytes, tensor 0 as the verifier packs it, and the output values. */
export interface ZkSlot {
  input: string;
  quantized: number[];
  output: number[];
}

/** What the page needs to re-check a zk result: every slot the proof covers (one unless a batch build). */
export interface ZkCheck {
  slots: ZkSlot[];
  /** Which slot is this request's. */
  slot: number;
  /**
   * Whether that slot is this request: its input hashes to the request's inputHash (RequestCreated) and its
   * output is the settled one (the RequestFinalized log matching resultHashOf).
   */
  matchesRequest: boolean;
  proof: Groth16Points;
  submitTx: string;
  verifier: string;
}

/** Something the page shows instead of a result: a short message for a person, the cause kept. */
export class AppError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppError";
  }
}

const abi = AbiCoder.defaultAbiCoder();

export class Chain {
  readonly market: InferenceMarket;
  readonly registry: ModelRegistry;
  readonly vault: StakingVault;
  readonly zk: ZkModule;
  readonly optimistic: OptimisticModule;
  readonly sampling: SamplingModule;
  readonly quality: QualityModule;
  readonly benchmark: BenchmarkRegistry;
  /** Reads only (the page's own view of the chain, through the app server's RPC). */
  readonly client: VerimlClientCore;
  private readonly receipts = new Map<string, Promise<TransactionReceipt | null>>();
  private readonly blockTimes = new Map<number, Promise<number>>();
  private tokenList: Promise<PaymentToken[]> | undefined;

  private constructor(
    readonly config: AppConfig,
    readonly provider: JsonRpcProvider,
    readonly suite: SuiteAddresses,
    readonly chainId: bigint,
  ) {
    this.market = InferenceMarket__factory.connect(suite.market, provider);
    this.registry = ModelRegistry__factory.connect(suite.registry, provider);
    this.vault = StakingVault__factory.connect(suite.vault, provider);
    this.zk = ZkModule__factory.connect(suite.zk, provider);
    this.optimistic = OptimisticModule__factory.connect(suite.optimistic, provider);
    this.sampling = SamplingModule__factory.connect(suite.sampling, provider);
    this.quality = QualityModule__factory.connect(suite.quality, provider);
    this.benchmark = BenchmarkRegistry__factory.connect(suite.benchmark, provider);
    this.client = new VerimlClientCore(suite.market, provider, appLog, httpBuildFetcher(config));
  }

  /** The app server's config, Ignition's record of the suite, checked against the chain it names. */
  static async open(): Promise<Chain> {
    const config = await getJson<AppConfig>("/api/config");
    const provider = new JsonRpcProvider(new URL("/rpc", location.href).href, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
      pollingInterval: 500,
    });
    const where = `ignition/deployments/${config.deploymentId}`;
    const recorded = parseDeployedAddresses(
      await getText("/api/deployment/deployed_addresses.json"),
      `${where}/deployed_addresses.json`,
    );
    const suite = suiteAddresses(recorded, where);
    const journal = await getText("/api/deployment/journal.jsonl").catch(() => "");
    await checkRecordOnChain({ where, market: suite.market, chainId: journalChainId(journal) }, provider);
    const { chainId } = await provider.getNetwork();
    return new Chain(config, provider, suite, chainId);
  }

  /** A client that pays and acts as `signer` (the wallet); its reads are the signer's provider's. */
  payingClient(signer: Signer): VerimlClientCore {
    return new VerimlClientCore(this.suite.market, signer, appLog, httpBuildFetcher(this.config));
  }

  /** The market's allowed payment tokens, ETH first (from its TokenAllowed events, as allowed now). */
  tokens(): Promise<PaymentToken[]> {
    this.tokenList ??= (async () => {
      const allowed = new Map<string, boolean>();
      for (const e of await this.market.queryFilter(this.market.filters.TokenAllowed(), 0)) {
        allowed.set(getAddress(e.args.token), e.args.allowed);
      }
      const tokens = [ETH];
      for (const [address, ok] of allowed) {
        if (!ok) continue;
        const erc20 = new Contract(address, ERC20_ABI, this.provider);
        const [symbol, decimals] = await Promise.all([
          erc20.getFunction("symbol")() as Promise<string>,
          erc20.getFunction("decimals")() as Promise<bigint>,
        ]);
        tokens.push({ address, symbol, decimals: Number(decimals) });
      }
      return tokens;
    })();
    this.tokenList.catch(() => (this.tokenList = undefined));
    return this.tokenList;
  }

  /** Every registered model with its build (checked), prices, verifier and servers. */
  async models(): Promise<ModelRow[]> {
    const tokens = await this.tokens();
    const rows: ModelRow[] = [];
    for (const m of await this.client.listModels()) {
      const build = await this.client.modelBuild(m.modelId).then(
        (b): ModelBuild | { error: string } => b,
        (error: unknown) => ({ error: (error as Error).message }),
      );
      const prices: ModelRow["prices"] = [];
      for (const token of tokens) {
        const price = await this.registry.priceOf(m.modelId, token.address);
        if (price > 0n) prices.push({ token, price });
      }
      const row: ModelRow = {
        ...m,
        build,
        name: "name" in build ? build.name : nameFromUri(m.artifactURI, m.modelId),
        prices,
        servers: Number(await this.vault.serverCount(m.modelId, 0)),
        attestations: await this.attestations(m.modelId, m.owner),
      };
      if (m.modes.includes(0)) row.verifier = decodeZkConfig(await this.registry.modeConfig(m.modelId, 0)).verifier;
      if (m.modes.includes(2)) {
        row.sampleBps = decodeSamplingConfig(await this.registry.modeConfig(m.modelId, 2)).sampleBps;
      }
      rows.push(row);
    }
    const conflicts = attestationConflicts(
      rows.flatMap((r) => r.attestations.map((a) => ({ ...a, modelId: r.modelId, modelHash: r.modelHash }))),
    );
    for (const a of rows.flatMap((r) => r.attestations)) a.conflicts = conflicts.get(a.attestationId) ?? [];
    return rows;
  }

  /**
   * The model's recorded benchmark attestations (each proof checked on chain by the verifier its owner named);
   * `conflicts` is filled in by models(), which sees every model's records.
   */
  async attestations(modelId: bigint, owner: string): Promise<AttestationRow[]> {
    const rows: AttestationRow[] = [];
    for (const attestationId of await this.benchmark.attestationsOf(modelId)) {
      const a = await this.benchmark.getAttestation(attestationId);
      rows.push({
        attestationId,
        dataset: a.dataset,
        samples: Number(a.samples),
        correct: Number(a.correct),
        attester: a.attester,
        byOwner: a.attester.toLowerCase() === owner.toLowerCase(),
        verifier: a.verifier,
        blockNumber: Number(a.blockNumber),
        conflicts: [],
      });
    }
    return rows;
  }

  /** The price, the module's fee and their sum, in `token`. */
  quote(modelId: bigint, mode: number, token: string): Promise<{ price: bigint; fee: bigint; total: bigint }> {
    return this.client.quote(modelId, mode, token);
  }

  /**
   * Gas the requester's own transaction takes: the createRequest as the client would send it, estimated by
   * the node for this sender (the approval's when one is needed is shown apart).
   */
  async estimateCreateGas(from: string, options: RequestOptions, total: bigint): Promise<bigint> {
    const block = await this.provider.getBlock("latest");
    const token = options.token ?? ZeroAddress;
    const data = this.market.interface.encodeFunctionData("createRequest", [
      {
        modelId: options.modelId,
        mode: options.mode,
        token,
        maxFee: total,
        deadline: BigInt((block?.timestamp ?? 0) + options.deadlineSeconds),
        input: options.input,
        inputHash: "0x" + "00".repeat(32),
        inputURI: "",
        callback: ZeroAddress,
        callbackGasLimit: 0,
        termsHash: await this.market.termsHashOf(options.modelId, options.mode),
      },
    ]);
    return this.provider.estimateGas({
      from,
      to: this.suite.market,
      data,
      value: token === ZeroAddress ? total : 0n,
    });
  }

  /** `owner`'s balance and allowance to the market in `token` (ETH: balance only). */
  async funds(owner: string, token: PaymentToken): Promise<{ balance: bigint; allowance: bigint }> {
    if (token.address === ZeroAddress) return { balance: await this.provider.getBalance(owner), allowance: 0n };
    const erc20 = new Contract(token.address, ERC20_ABI, this.provider);
    const [balance, allowance] = await Promise.all([
      erc20.getFunction("balanceOf")(owner) as Promise<bigint>,
      erc20.getFunction("allowance")(owner, this.suite.market) as Promise<bigint>,
    ]);
    return { balance, allowance };
  }

  /** Gas per step as the benchmark measured it for this model and mode (bench/results/own-models.json). */
  async measuredGas(name: string, mode: number): Promise<{ gas: Record<string, number>; basis: string } | null> {
    const results = await getJson<{ results: { model: string; mode: string; gas: Record<string, number> }[] }>(
      "/api/bench/own-models.json",
    ).then(
      (r) => r.results,
      () => [],
    );
    const own = results.find((r) => r.model === name && r.mode === modeName(mode));
    if (own !== undefined) return { gas: own.gas, basis: `measured for ${name}` };
    const same = results.filter((r) => r.mode === modeName(mode));
    if (same.length === 0) return null;
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const steps = Object.keys(same[0]!.gas);
    return {
      gas: Object.fromEntries(steps.map((k) => [k, median(same.map((r) => r.gas[k]!))])),
      basis: `median of ${same.map((r) => r.model).join(", ")} in ${modeName(mode)} mode`,
    };
  }

  /** The chain's active time now (unix time of the latest block minus the market's paused time). */
  async activeNow(): Promise<number> {
    const [block, paused] = await Promise.all([this.provider.getBlock("latest"), this.market.pausedTotal()]);
    return (block?.timestamp ?? 0) - Number(paused);
  }

  private receipt(hash: string): Promise<TransactionReceipt | null> {
    let r = this.receipts.get(hash);
    if (r === undefined) {
      r = this.provider.getTransactionReceipt(hash);
      this.receipts.set(hash, r);
      r.then(
        (v) => v ?? this.receipts.delete(hash),
        () => this.receipts.delete(hash),
      );
    }
    return r;
  }

  private blockTime(block: number): Promise<number> {
    let t = this.blockTimes.get(block);
    if (t === undefined) {
      t = this.provider.getBlock(block).then((b) => b?.timestamp ?? 0);
      this.blockTimes.set(block, t);
    }
    return t;
  }

  private async step(log: Log, event: string, label: string, detail?: string): Promise<Step> {
    const [receipt, at] = await Promise.all([this.receipt(log.transactionHash), this.blockTime(log.blockNumber)]);
    return {
      label,
      event,
      tx: log.transactionHash,
      gasUsed: receipt?.gasUsed ?? 0n,
      block: log.blockNumber,
      at,
      from: receipt?.from ?? "",
      ...(detail === undefined ? {} : { detail }),
    };
  }

  /** A request's whole history and state, from the market's and its module's events. */
  async request(requestId: bigint, build?: ModelBuild): Promise<RequestView> {
    const r = await this.market.getRequest(requestId);
    if (r.requester === ZeroAddress) throw new AppError(`there is no request ${requestId}`);
    const f = this.market.filters;
    const m = this.market;
    const steps: Promise<Step>[] = [];
    const [created] = await m.queryFilter(f.RequestCreated(requestId), 0);
    if (created !== undefined) steps.push(this.step(created, "RequestCreated", "created and paid"));
    for (const e of await m.queryFilter(f.RequestClaimed(requestId), 0)) {
      steps.push(this.step(e, "RequestClaimed", "claimed", `by ${e.args.operator}`));
    }
    for (const e of await m.queryFilter(f.RequestReopened(requestId), 0)) {
      steps.push(this.step(e, "RequestReopened", "reopened (operator missed its window)", `${e.args.operator}`));
    }
    for (const e of await m.queryFilter(f.ResultSubmitted(requestId), 0)) {
      steps.push(this.step(e, "ResultSubmitted", Number(r.mode) === 0 ? "proof submitted" : "result submitted"));
    }
    for (const e of await m.queryFilter(f.RequestFinalized(requestId), 0)) {
      steps.push(this.step(e, "RequestFinalized", "finalized: result verified and paid", `payee ${e.args.payee}`));
    }
    for (const e of await m.queryFilter(f.RequestRejected(requestId), 0)) {
      steps.push(
        this.step(e, "RequestRejected", "rejected: requester refunded, operator slashed", `${e.args.operator}`),
      );
    }
    for (const e of await m.queryFilter(f.RequestRefunded(requestId), 0)) {
      steps.push(this.step(e, "RequestRefunded", "refunded after the deadline"));
    }
    const mode = Number(r.mode);
    const view: RequestView = {
      requestId,
      modelId: r.modelId,
      mode,
      status: STATUS_NAMES[Number(r.status)] ?? "None",
      requester: r.requester,
      operator: r.operator,
      token: r.token,
      price: r.price,
      fee: r.verificationFee,
      deadline: Number(r.deadline),
      claimDeadline: Number(r.claimDeadline),
      activeNow: await this.activeNow(),
      input: created?.args.input ?? "0x",
      steps: [],
      output: null,
      decoded: null,
    };
    if (mode === 0) await this.zkSteps(requestId, steps);
    if (mode === 1) view.optimistic = await this.optimisticState(requestId, steps, build);
    if (mode === 2) view.sampling = await this.samplingState(requestId, steps, Number(r.status) >= 3);
    if (mode === 3) view.quality = await this.qualityState(requestId, steps);
    view.steps = (await Promise.all(steps)).sort((a, b) => a.block - b.block);
    if (view.status === "Finalized") {
      const output = await settledOutput(m, requestId);
      view.output = output === "0x" ? null : output;
    }
    if (mode === 3) {
      const [submitted] = await m.queryFilter(f.ResultSubmitted(requestId), 0);
      if (submitted !== undefined) view.response = responseText(submitted.args.output);
    } else if (build !== undefined) {
      if (view.output !== null) view.decoded = decodeModelOutput(build.interface, view.output);
      try {
        view.inputValues = decodeInputValues(build.interface, view.input);
      } catch {
        // an input of another length than the model's: shown raw
      }
    }
    return view;
  }

  private async zkSteps(requestId: bigint, steps: Promise<Step>[]): Promise<void> {
    for (const e of await this.zk.queryFilter(this.zk.filters.ProofVerified(requestId), 0)) {
      steps.push(
        this.step(e, "ProofVerified", "Groth16 proof verified on chain", `verifier of model ${e.args.modelId}`),
      );
    }
    for (const e of await this.zk.queryFilter(this.zk.filters.BatchProofVerified(), 0)) {
      const ids = e.args.requestIds;
      if (!ids.includes(requestId)) continue;
      steps.push(
        this.step(
          e,
          "BatchProofVerified",
          `Groth16 proof of ${ids.length} requests verified on chain`,
          `verifier of model ${e.args.modelId}, requests ${ids.join(", ")}`,
        ),
      );
    }
  }

  private async optimisticState(
    requestId: bigint,
    steps: Promise<Step>[],
    build?: ModelBuild,
  ): Promise<RequestView["optimistic"]> {
    const o = this.optimistic;
    const [proposed] = await o.queryFilter(o.filters.ResultProposed(requestId), 0);
    if (proposed === undefined) return undefined;
    steps.push(
      this.step(
        proposed,
        "ResultProposed",
        "result proposed with its trace root",
        `root ${short(proposed.args.traceRoot)}`,
      ),
    );
    for (const e of await o.queryFilter(o.filters.Challenged(requestId), 0)) {
      steps.push(this.step(e, "Challenged", "challenged", `by ${e.args.challenger}, bond ${e.args.bond}`));
    }
    for (const e of await o.queryFilter(o.filters.GameResolved(requestId), 0)) {
      const outcome = GAME_OUTCOMES[Number(e.args.outcome)] ?? String(e.args.outcome);
      steps.push(
        this.step(
          e,
          "GameResolved",
          `dispute resolved: ${outcome}`,
          `${GAME_REASONS[Number(e.args.reason)]} after ${e.args.moves} moves`,
        ),
      );
    }
    const result = await o.getResult(requestId);
    return {
      proposed: build === undefined ? null : decodeModelOutput(build.interface, proposed.args.output),
      challengeDeadline: Number(result.challengeDeadline),
      openGames: Number(result.openGames),
      challengers: [...(await o.challengersOf(requestId))],
      operatorLost: result.operatorLost,
    };
  }

  private async samplingState(
    requestId: bigint,
    steps: Promise<Step>[],
    submitted: boolean,
  ): Promise<RequestView["sampling"]> {
    if (!submitted) return undefined;
    const s = this.sampling;
    const add = async (
      filter: Parameters<SamplingModule["queryFilter"]>[0],
      event: string,
      label: (e: Log) => [string, string?],
    ) => {
      for (const e of await s.queryFilter(filter, 0)) {
        const [l, d] = label(e);
        steps.push(this.step(e, event, l, d));
      }
    };
    const args = (e: Log) => (e as unknown as { args: Record<string, unknown> }).args;
    await add(s.filters.OperatorCommitted(requestId), "OperatorCommitted", () => ["operator committed to its output"]);
    await add(s.filters.SamplingDecided(requestId), "SamplingDecided", (e) =>
      args(e).sampled ? ["sampled: a second operator recomputes it"] : ["not sampled: the result stands alone"],
    );
    await add(s.filters.SamplerDrawn(requestId), "SamplerDrawn", (e) => [
      "second operator drawn",
      `${String(args(e).sampler)}`,
    ]);
    await add(s.filters.SamplerUnavailable(requestId), "SamplerUnavailable", () => ["no second operator available"]);
    await add(s.filters.SamplerCommitted(requestId), "SamplerCommitted", () => ["second operator committed blind"]);
    await add(s.filters.SamplerNoShow(requestId), "SamplerNoShow", () => ["second operator did not commit (slashed)"]);
    await add(s.filters.OutputRevealed(requestId), "OutputRevealed", (e) => [
      "output revealed",
      `by ${String(args(e).party)}`,
    ]);
    await add(s.filters.DisputeEscalated(requestId), "DisputeEscalated", () => ["outputs differ: dispute escalated"]);
    await add(s.filters.VerdictReached(requestId), "VerdictReached", (e) => [
      `verdict: ${SAMPLING_VERDICTS[Number(args(e).verdict)] ?? String(args(e).verdict)}`,
    ]);
    const job = await s.getJob(requestId);
    const [decided] = await s.queryFilter(s.filters.SamplingDecided(requestId), 0);
    return {
      phase: SAMPLING_PHASES[Number(job.phase)] ?? String(job.phase),
      decided: decided !== undefined,
      sampled: job.sampled,
      sampler: job.sampler,
      deadline: Number(job.deadline),
      verdict: SAMPLING_VERDICTS[Number(job.verdict)] ?? String(job.verdict),
      samplerRevealed: job.samplerRevealed,
      operatorRevealed: job.operatorRevealed,
      disputed: job.disputeOpened,
    };
  }

  private async qualityState(requestId: bigint, steps: Promise<Step>[]): Promise<RequestView["quality"]> {
    const q = this.quality;
    const [submitted] = await q.queryFilter(q.filters.QualitySubmitted(requestId), 0);
    if (submitted === undefined) return undefined;
    steps.push(this.step(submitted, "QualitySubmitted", "response recorded; committee randomness requested"));
    for (const e of await q.queryFilter(q.filters.CommitteeDrawn(requestId), 0)) {
      steps.push(this.step(e, "CommitteeDrawn", "validator committee drawn", e.args.members.join(", ")));
    }
    const committed = new Set<string>();
    for (const e of await q.queryFilter(q.filters.ScoreCommitted(requestId), 0)) {
      committed.add(getAddress(e.args.validator));
      steps.push(this.step(e, "ScoreCommitted", "score committed", `${e.args.validator}`));
    }
    for (const e of await q.queryFilter(q.filters.ScoreRevealed(requestId), 0)) {
      steps.push(this.step(e, "ScoreRevealed", `score revealed: ${e.args.score}`, `${e.args.validator}`));
    }
    for (const e of await q.queryFilter(q.filters.QualityResolved(requestId), 0)) {
      steps.push(
        this.step(
          e,
          "QualityResolved",
          `committee verdict: ${e.args.accepted ? "accepted" : "refused"}, median ${e.args.median}`,
        ),
      );
    }
    for (const e of await q.queryFilter(q.filters.ValidatorPenalised(requestId), 0)) {
      steps.push(this.step(e, "ValidatorPenalised", "validator penalised", `${e.args.validator}`));
    }
    const [job, members] = await Promise.all([q.getJob(requestId), q.getMembers(requestId)]);
    return {
      drawn: job.drawn,
      members: members.map((mm) => ({
        validator: mm.validator,
        committed: committed.has(getAddress(mm.validator)),
        revealed: mm.revealed,
        score: Number(mm.score),
      })),
      commitDeadline: Number(job.commitDeadline),
      revealDeadline: Number(job.revealDeadline),
      resolved: job.resolved,
      accepted: job.accepted,
      median: Number(job.median),
    };
  }

  /**
   * The zk proof a request's result was accepted with, read from the transaction that delivered it: the
   * market's `fulfill(id, output, proof)` or, on the claim path, `submitResult(id, output, proof)`, with
   * `proof = abi.encode(ZkProof{input, a, b, c})`; or `fulfillBatch(ids, proof)`, with
   * `proof = abi.encode(ZkBatchProof{a, b, c, inputs, outputs})` proving every slot of a batch build at once.
   */
  async zkProof(requestId: bigint, build: ModelBuild): Promise<ZkCheck> {
    const f = this.market.filters;
    const [delivered] = [
      ...(await this.market.queryFilter(f.ResultSubmitted(requestId), 0)),
      ...(await this.market.queryFilter(f.RequestFinalized(requestId), 0)),
    ];
    if (delivered === undefined) throw new AppError(`request ${requestId} has no submitted result yet`);
    const tx = await this.provider.getTransaction(delivered.transactionHash);
    if (tx === null) throw new AppError(`cannot read transaction ${delivered.transactionHash}`);
    const call = this.market.interface.parseTransaction({ data: tx.data, value: tx.value });
    const { lo, hi } = build.interface.input;
    // Tensor 0 is clamp(decode(bytes)): what the verifier packs into the public signals.
    const quantize = (input: string) =>
      decodeInputValues(build.interface, input).quantized.map((v) => Math.min(hi, Math.max(lo, v)));
    const verifier = decodeZkConfig(await this.market.modeConfigOf(requestId)).verifier;
    const submitTx = delivered.transactionHash;
    const [created] = await this.market.queryFilter(f.RequestCreated(requestId), 0);
    const settled = await settledOutput(this.market, requestId);
    const isRequest = (s: ZkSlot | undefined): boolean =>
      s !== undefined &&
      created !== undefined &&
      keccak256(s.input) === created.args.inputHash &&
      settled !== "0x" &&
      decodeModelOutput(build.interface, settled).quantized.map(Number).join() === s.output.join();
    if (call?.name === "submitResult" || call?.name === "fulfill") {
      const [output, proofBytes] = [call.args[1] as string, call.args[2] as string];
      const [proof] = abi.decode([ZK_PROOF], proofBytes) as unknown as [{ input: string } & Groth16Points];
      const slot = {
        input: proof.input,
        quantized: quantize(proof.input),
        output: decodeModelOutput(build.interface, output).quantized.map(Number),
      };
      return { slots: [slot], slot: 0, matchesRequest: isRequest(slot), proof: points(proof), submitTx, verifier };
    }
    if (call?.name === "fulfillBatch") {
      const ids = call.args[0] as bigint[];
      const [proof] = abi.decode([ZK_BATCH_PROOF], call.args[1] as string) as unknown as [
        { inputs: string[]; outputs: bigint[][] } & Groth16Points,
      ];
      const slots = proof.inputs.map((input, i) => ({
        input,
        quantized: quantize(input),
        output: proof.outputs[i]!.map(Number),
      }));
      const mine = ids.indexOf(requestId);
      return { slots, slot: mine, matchesRequest: isRequest(slots[mine]), proof: points(proof), submitTx, verifier };
    }
    throw new AppError(`the result of request ${requestId} was not delivered by a direct call to the market`);
  }

  /** The deployed code of `address` (the page looks for the verification key's constants in it). */
  code(address: string): Promise<string> {
    return this.provider.getCode(address);
  }

  /** The build's verification key, checked against the manifest's sha256 of it. */
  async verificationKey(model: ModelRow, build: ModelBuild): Promise<unknown> {
    return JSON.parse(await fetchBuildFile(this.config, model.artifactURI, "verification_key.json", build.manifest));
  }

  /** Every staker the vault has seen, with stake, service, earnings and slashes. */
  async operators(): Promise<OperatorRow[]> {
    const v = this.vault;
    const m = this.market;
    const stakers = new Set<string>();
    for (const e of await v.queryFilter(v.filters.Staked(), 0)) stakers.add(getAddress(e.args.staker));
    const serving = new Map<string, OperatorRow["serving"]>();
    for (const e of await v.queryFilter(v.filters.ServiceChanged(), 0)) {
      const who = getAddress(e.args.staker);
      const role = Number(e.args.role) === 0 ? "operator" : "validator";
      const list = (serving.get(who) ?? []).filter((s) => !(s.modelId === e.args.modelId && s.role === role));
      if (e.args.serving) list.push({ modelId: e.args.modelId, role });
      serving.set(who, list);
    }
    const claims = await m.queryFilter(m.filters.RequestClaimed(), 0);
    const lockToRequest = new Map<string, bigint>();
    for (const c of claims) {
      lockToRequest.set(await m.operatorLockId(c.args.requestId, c.args.operator), c.args.requestId);
    }
    const finalized = await m.queryFilter(m.filters.RequestFinalized(), 0);
    const rejected = await m.queryFilter(m.filters.RequestRejected(), 0);
    const slashes = await v.queryFilter(v.filters.StakeSlashed(), 0);
    const rows: OperatorRow[] = [];
    for (const address of stakers) {
      const info = await v.stakeOf(address);
      const earned = new Map<string, bigint>();
      let settled = 0;
      for (const e of finalized) {
        if (getAddress(e.args.payee) !== address) continue;
        settled++;
        const r = await m.getRequest(e.args.requestId);
        earned.set(r.token, (earned.get(r.token) ?? 0n) + e.args.operatorPayment);
      }
      const own = slashes.filter((e) => getAddress(e.args.staker) === address);
      const requestOf = (lockId: string) => lockToRequest.get(lockId);
      rows.push({
        address,
        total: info.total,
        locked: info.locked,
        bonded: info.bonded,
        unbonding: info.unbonding,
        serving: serving.get(address) ?? [],
        settled,
        earned,
        owedEth: await m.owed(address, ZeroAddress),
        slashes: own.map((e) => {
          const requestId = requestOf(e.args.lockId);
          return {
            amount: e.args.amount,
            beneficiary: e.args.beneficiary,
            tx: e.transactionHash,
            ...(requestId === undefined ? {} : { requestId }),
          };
        }),
        slashed: own.reduce((a, e) => a + e.args.amount, 0n),
        disputesLost: rejected.filter((e) => getAddress(e.args.operator) === address).length,
      });
    }
    return rows.sort((a, b) => (a.total < b.total ? 1 : a.total > b.total ? -1 : 0));
  }

  /** Every optimistic dispute game (request, challenger), newest first. */
  async disputes(): Promise<{ requestId: bigint; challenger: string; operator: string; outcome: string }[]> {
    const o = this.optimistic;
    const out = [];
    for (const e of await o.queryFilter(o.filters.Challenged(), 0)) {
      const g = await o.getGame(e.args.requestId, e.args.challenger);
      out.push({
        requestId: e.args.requestId,
        challenger: e.args.challenger,
        operator: e.args.operator,
        outcome: GAME_OUTCOMES[Number(g.outcome)] ?? String(g.outcome),
      });
    }
    return out.reverse();
  }

  /** One dispute game move by move, down to the one-step. */
  async dispute(requestId: bigint, challenger: string, build?: ModelBuild): Promise<DisputeView> {
    const o = this.optimistic;
    const moves: Promise<Move>[] = [];
    const move = async (e: Log, kind: Move["kind"], label: string, detail: string): Promise<Move> => {
      const s = await this.step(e, kind, label, detail);
      return { kind, label, detail, tx: s.tx, gasUsed: s.gasUsed, at: s.at, by: s.from };
    };
    const [challenged] = await o.queryFilter(o.filters.Challenged(requestId, challenger), 0);
    if (challenged === undefined) throw new AppError(`${challenger} never challenged request ${requestId}`);
    moves.push(
      move(challenged, "challenge", "challenge: bond locked, game opened", `bond ${challenged.args.bond} wei`),
    );
    for (const e of await o.queryFilter(o.filters.ChildrenRevealed(requestId, challenger), 0)) {
      moves.push(
        move(
          e,
          "reveal",
          `operator reveals ${e.args.children.length} nodes below level ${e.args.level}, position ${e.args.position}`,
          e.args.children.map(short).join(" "),
        ),
      );
    }
    for (const e of await o.queryFilter(o.filters.ChildPicked(requestId, challenger), 0)) {
      moves.push(
        move(e, "pick", `challenger picks the node at level ${e.args.level}, position ${e.args.position}`, ""),
      );
    }
    let tensor: DisputeView["tensor"];
    for (const e of await o.queryFilter(o.filters.TensorDisputed(requestId, challenger), 0)) {
      const index = Number(e.args.tensor);
      tensor = { index, name: tensorName(build, index) };
      moves.push(move(e, "tensor", `disputed tensor found: ${index} (${tensor.name})`, `root ${short(e.args.root)}`));
    }
    let oneStep: DisputeView["oneStep"];
    for (const e of await o.queryFilter(o.filters.OneStepChecked(requestId, challenger), 0)) {
      oneStep = {
        tensor: Number(e.args.tensor),
        element: Number(e.args.element),
        computed: e.args.computed,
        operatorCorrect: e.args.operatorCorrect,
      };
      moves.push(
        move(
          e,
          "one-step",
          `one-step on chain: element ${e.args.element} of tensor ${e.args.tensor} recomputed = ${e.args.computed}`,
          e.args.operatorCorrect ? "the operator's value was right" : "the operator's value was wrong",
        ),
      );
    }
    for (const e of await o.queryFilter(o.filters.GameResolved(requestId, challenger), 0)) {
      moves.push(
        move(
          e,
          "resolved",
          `game resolved: ${GAME_OUTCOMES[Number(e.args.outcome)]}`,
          `${GAME_REASONS[Number(e.args.reason)]}, ${e.args.moves} moves`,
        ),
      );
    }
    const all = (await Promise.all(moves)).sort((a, b) => a.at - b.at || kindOrder(a.kind) - kindOrder(b.kind));
    // Phase 1 descends the trace tree (to one tensor), phase 2 that tensor's element tree (to one element).
    let inTensor = false;
    for (const mv of all) {
      if (mv.kind === "tensor") inTensor = true;
      if (mv.kind === "reveal" || mv.kind === "pick") {
        mv.label +=
          inTensor && tensor !== undefined ? ` of tensor ${tensor.index}'s element tree` : " of the trace tree";
      }
    }
    const g = await o.getGame(requestId, challenger);
    const r = await this.market.getRequest(requestId);
    return {
      requestId,
      modelId: r.modelId,
      operator: challenged.args.operator,
      challenger,
      bond: challenged.args.bond,
      phase: GAME_PHASES[Number(g.phase)] ?? String(g.phase),
      outcome: GAME_OUTCOMES[Number(g.outcome)] ?? String(g.outcome),
      reason: GAME_REASONS[Number(g.reason)] ?? String(g.reason),
      moves: all,
      gameMoves: Number(g.moves),
      ...(tensor === undefined ? {} : { tensor }),
      ...(oneStep === undefined ? {} : { oneStep }),
      totalGas: [...new Map(all.map((mv) => [mv.tx, mv.gasUsed])).values()].reduce((a, v) => a + v, 0n),
    };
  }

  /** Every request id, newest first (for the page's list). */
  async requestIds(): Promise<bigint[]> {
    const count = await this.market.requestCount();
    return Array.from({ length: Number(count) }, (_, i) => count - BigInt(i));
  }

  /** Local chains only: moves the clock `seconds` forward and mines a block (an automining node's clock stands still). */
  async advanceTime(seconds: number): Promise<void> {
    if (!this.config.local) throw new AppError("the clock can be moved on a local chain only");
    await this.provider.send("evm_increaseTime", [seconds]);
    await this.provider.send("evm_mine", []);
  }
}

/** Dispute moves in the same block: the order the game makes them. */
const kindOrder = (k: Move["kind"]): number =>
  ["challenge", "reveal", "pick", "tensor", "one-step", "resolved"].indexOf(k);

/** A quality response as submitted: inline UTF-8 text, else a hash (the text is behind the URI). */
function responseText(output: string): string {
  try {
    return toUtf8String(output);
  } catch {
    return output;
  }
}

function tensorName(build: ModelBuild | undefined, index: number): string {
  if (index === 0) return "the input";
  const node = (build?.graph.nodes as { name: string; op: string }[] | undefined)?.[index - 1];
  return node === undefined ? `tensor ${index}` : `${node.op} ${node.name}`;
}

export const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);

function nameFromUri(uri: string, modelId: bigint): string {
  const last = uri.replace(/\/+$/, "").split("/").at(-1);
  return last === undefined || last === "" ? `model ${modelId}` : last;
}

async function getText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new AppError(`${url}: ${response.status} ${await response.text()}`);
  return response.text();
}

async function getJson<T>(url: string): Promise<T> {
  return JSON.parse(await getText(url)) as T;
}
