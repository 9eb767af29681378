import {
  AbstractSigner,
  Contract,
  ZeroAddress,
  ZeroHash,
  formatEther,
  hexlify,
  type Provider,
  type Signer,
} from "ethers";
import type { Logger } from "pino";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  OptimisticModule__factory,
  SamplingModule__factory,
  StakingVault__factory,
  type InferenceMarket,
  type ModelRegistry,
  type StakingVault,
} from "../../types/ethers-contracts/index.js";
import {
  interfaceOf,
  outputMeaning,
  type ManifestInterfaceFields,
  type ModelInterface,
} from "../../verifier-gen/src/interface.js";
import { tensorSizes, type IntGraph } from "../../verifier-gen/src/intgraph.js";
import { modelCommitment } from "../../verifier-gen/src/merkle.js";
import { LOCAL_CHAIN_IDS } from "./deployment-record.js";
import { OperatorError } from "./errors.js";
import { settledOutput } from "./chain/results.js";
import { sleep } from "./chain/retry.js";

const ERC20_ABI = [
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
];

export const STATUS_NAMES = ["None", "Open", "Claimed", "Submitted", "Finalized", "Refunded"] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** A registered model's build as fetched, before any check: where it is, its manifest and integer graph. */
export interface FetchedBuild {
  /** A directory or URL, for messages (and, for the node client, the directory the files are in). */
  location: string;
  manifest: unknown;
  graph: IntGraph;
}

/** Fetches the build of a registered model (from its artifact URI, or a directory given instead). */
export type BuildFetcher = (model: {
  modelId: bigint;
  artifactURI: string;
  modelHash: string;
}) => Promise<FetchedBuild>;

/** A build manifest's fields the client reads (verifier-gen/src/pipeline.ts Manifest has them all). */
export type BuildManifest = ManifestInterfaceFields & { modelHash?: string; name?: string } & Record<string, unknown>;

/** A registered model's build, checked against its registered commitment. */
export interface ModelBuild {
  dir: string;
  name: string;
  interface: ModelInterface;
  manifest: BuildManifest;
  graph: IntGraph;
}

export interface ModelInfo {
  modelId: bigint;
  owner: string;
  active: boolean;
  modes: number[];
  modelHash: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
}

export interface RequestOptions {
  modelId: bigint;
  mode: number;
  input: Uint8Array;
  /** Payment token; omitted or zero address pays in ETH. */
  token?: string;
  /** Seconds from now until the request may be refunded. */
  deadlineSeconds: number;
  callback?: string;
  callbackGasLimit?: number;
  /** Refuse (before sending) when the price plus fees quoted now exceed this (wei). */
  maxTotal?: bigint;
}

export interface RequestStep {
  step: "create" | "claim" | "submit" | "finalize" | "fulfill" | "reject" | "refund";
  tx: string;
  gasUsed: bigint;
  /** Unix seconds of the step's block. */
  at: number;
}

/** ISamplingModule.Phase names. */
const SAMPLING_PHASES = ["None", "AwaitingRandomness", "Unsampled", "SamplerDrawn", "Revealing", "Disputed", "Final"];

/** A request's state while it is being served. */
export interface RequestProgress {
  status: StatusName;
  mode: number;
  operator: string;
  deadline: number;
  claimDeadline: number;
  /** Optimistic: when the result stands unless challenged, and the games open against it. */
  challengeWindowEnd?: number;
  challenges?: number;
  /** Sampling: where the sampling protocol is. */
  sampling?: { phase: string; sampled: boolean; sampler: string; deadline: number };
}

export interface RequestOutcome {
  requestId: bigint;
  status: StatusName;
  output: string | null;
  operator: string;
  /** `fulfill`: the one transaction that answered and settled it (zk); `finalize` on the claim/submit path. */
  txs: { create?: string; claim?: string; submit?: string; finalize?: string; fulfill?: string; refund?: string };
  /** Every step that moved the request, in order, with its gas and block time. */
  steps: RequestStep[];
}

/**
 * The requester's side of veriml: list models, pay for a request, wait for its verified result. Runs in Node
 * (operator/src/client.ts adds reading builds from artifact URIs and directories) and in the browser (the
 * web app fetches builds over HTTP): it reads only the chain and what `fetchBuild` returns.
 */
export class VerimlClientCore {
  readonly market: InferenceMarket;
  private registryPromise: Promise<ModelRegistry> | undefined;

  private vaultPromise: Promise<StakingVault> | undefined;

  /** Builds already fetched and checked, by model id (a name lookup reads every model's once, not per call). */
  private readonly builds = new Map<bigint, Promise<ModelBuild>>();

  /** `runner`: a signer to pay and act, or a provider alone to read (models, quote, show). */
  constructor(
    marketAddress: string,
    protected readonly runner: Signer | Provider,
    protected readonly log: Logger,
    private readonly fetchBuild: BuildFetcher,
  ) {
    this.market = InferenceMarket__factory.connect(marketAddress, runner);
  }

  private get signer(): Signer {
    if (!(this.runner instanceof AbstractSigner))
      throw new OperatorError("this needs the requester's key (VERIML_REQUESTER_KEY or VERIML_REQUESTER_KEYSTORE)");
    return this.runner;
  }

  protected get provider(): Provider | null {
    return this.runner instanceof AbstractSigner ? this.runner.provider : (this.runner as Provider);
  }

  registry(): Promise<ModelRegistry> {
    this.registryPromise ??= this.market.registry().then((a) => ModelRegistry__factory.connect(a, this.runner));
    return this.registryPromise;
  }

  vault(): Promise<StakingVault> {
    this.vaultPromise ??= this.market.vault().then((a) => StakingVault__factory.connect(a, this.runner));
    return this.vaultPromise;
  }

  /** What a request costs now: the operator's price, the protocol and module fees, their sum. */
  async quote(
    modelId: bigint,
    mode: number,
    token: string = ZeroAddress,
  ): Promise<{ price: bigint; fee: bigint; total: bigint }> {
    const [price, fee] = await this.market.quote(modelId, mode, token);
    return { price, fee, total: price + fee };
  }

  /** Refunds an unanswered request once its deadline passed (the refund is credited; `withdraw` pulls it). */
  async refund(requestId: bigint): Promise<string> {
    const receipt = await (await this.market.connect(this.signer).refund(requestId)).wait();
    return receipt!.hash;
  }

  /** Pulls what the market owes this account in `token` (refunds, operator earnings). */
  async withdraw(token: string = ZeroAddress): Promise<string> {
    const receipt = await (await this.market.connect(this.signer).withdraw(token)).wait();
    return receipt!.hash;
  }

  /** Adds `amount` wei to this account's stake. */
  async stake(amount: bigint): Promise<string> {
    const vault = (await this.vault()).connect(this.signer);
    const receipt = await (await vault.stake(amount, { value: amount })).wait();
    return receipt!.hash;
  }

  /** Starts unbonding `amount` of free stake (withdrawable after the vault's delay with `withdrawStake`). */
  async unbond(amount: bigint): Promise<string> {
    const vault = (await this.vault()).connect(this.signer);
    const receipt = await (await vault.requestUnbond(amount)).wait();
    return receipt!.hash;
  }

  /** Withdraws stake whose unbonding delay has passed. */
  async withdrawStake(): Promise<string> {
    const vault = (await this.vault()).connect(this.signer);
    const receipt = await (await vault.withdraw()).wait();
    return receipt!.hash;
  }

  /** This account's stake: total, locked, unbonding and when it is ready. */
  async stakeOf(
    address?: string,
  ): Promise<{ total: bigint; locked: bigint; unbonding: bigint; unbondingReadyAt: bigint }> {
    const info = await (await this.vault()).stakeOf(address ?? (await this.signer.getAddress()));
    return {
      total: info.total,
      locked: info.locked,
      unbonding: info.unbonding,
      unbondingReadyAt: info.unbondingReadyAt,
    };
  }

  /**
   * The interface of a registered model (input quantization and encoding, output kind and scales), read
   * from its build manifest. The manifest must commit to the registered modelHash, so the interface is that
   * of the model the chain verifies. `fetch`: another way to fetch the build than the client's own.
   */
  async modelInterface(modelId: bigint, fetch?: BuildFetcher): Promise<ModelInterface> {
    return (await this.modelBuild(modelId, fetch)).interface;
  }

  /** A registered model's build (fetched by the client's fetcher unless `fetch` is given), checked. */
  modelBuild(modelId: bigint, fetch?: BuildFetcher): Promise<ModelBuild> {
    if (fetch !== undefined) return this.loadBuild(modelId, fetch);
    let build = this.builds.get(modelId);
    if (build === undefined) {
      build = this.loadBuild(modelId, this.fetchBuild);
      // A failure is not remembered: the next call tries again.
      build.catch(() => this.builds.delete(modelId));
      this.builds.set(modelId, build);
    }
    return build;
  }

  private async loadBuild(modelId: bigint, fetch: BuildFetcher): Promise<ModelBuild> {
    const registry = await this.registry();
    const model = await registry.getModel(modelId);
    if (model.owner === ZeroAddress) throw new OperatorError(`model ${modelId} is not registered`);
    const fetched = await fetch({ modelId, artifactURI: model.artifactURI, modelHash: model.modelHash });
    return checkBuild(modelId, model.modelHash, fetched);
  }

  /**
   * A model id from an id, or from the name of a registered build. Names are chosen by whoever registers,
   * so anyone can register a copy under a taken name: a name held by more than one active model (or by a
   * model of another owner than `owner`, when given) is refused with every candidate listed.
   */
  async resolveModel(idOrName: string, owner?: string): Promise<bigint> {
    if (/^\d+$/.test(idOrName)) return BigInt(idOrName);
    const matches: ModelInfo[] = [];
    for (const m of await this.listModels()) {
      if (!m.active || (owner !== undefined && m.owner.toLowerCase() !== owner.toLowerCase())) continue;
      const name = await this.modelBuild(m.modelId).then(
        (b) => b.name,
        () => undefined,
      );
      if (name === idOrName) matches.push(m);
    }
    if (matches.length === 0) throw new OperatorError(`no active model named "${idOrName}" is registered`);
    if (matches.length > 1) {
      const list = matches.map((m) => `${m.modelId} (owner ${m.owner}, ${m.ethPrice} wei)`).join(", ");
      throw new OperatorError(
        `${matches.length} active models are named "${idOrName}": ${list}; choose one by id (or --owner)`,
      );
    }
    return matches[0]!.modelId;
  }

  async listModels(): Promise<ModelInfo[]> {
    const registry = await this.registry();
    const count = await registry.modelCount();
    const models: ModelInfo[] = [];
    for (let id = 1n; id <= count; id++) {
      const m = await registry.getModel(id);
      models.push({
        modelId: id,
        owner: m.owner,
        active: m.active,
        modes: [...Array(8).keys()].filter((bit) => (Number(m.modes) >> bit) & 1),
        modelHash: m.modelHash,
        artifactURI: m.artifactURI,
        ethPrice: await registry.priceOf(id, ZeroAddress),
        operatorStake: m.operatorStake,
      });
    }
    return models;
  }

  /**
   * Quotes, pays (approving an ERC-20 first when needed) and creates the request. `onSent` hears each
   * transaction as it is sent (the approval, then the request), before it is mined.
   */
  async request(
    options: RequestOptions,
    onSent?: (step: "approve" | "create", txHash: string) => void,
  ): Promise<{ requestId: bigint; txHash: string; paid: bigint; approval?: string }> {
    const token = options.token ?? ZeroAddress;
    const { total } = await this.quote(options.modelId, options.mode, token);
    if (options.maxTotal !== undefined && total > options.maxTotal) {
      throw new OperatorError(
        `model ${options.modelId} costs ${formatEther(total)} now, above --max-price ${formatEther(options.maxTotal)}`,
      );
    }
    const market = this.market.connect(this.signer);
    let approval: string | undefined;
    if (token !== ZeroAddress) {
      const erc20 = new Contract(token, ERC20_ABI, this.signer);
      const owner = await this.signer.getAddress();
      const spender = await this.market.getAddress();
      const allowance = (await erc20.getFunction("allowance")(owner, spender)) as bigint;
      if (allowance < total) {
        const sent = (await erc20.getFunction("approve")(spender, total)) as { hash: string; wait(): Promise<unknown> };
        onSent?.("approve", sent.hash);
        await sent.wait();
        approval = sent.hash;
      }
    }
    // Pin the terms the quote was read under: a verifier or stake swapped in front of this request reverts it.
    const termsHash = await this.market.termsHashOf(options.modelId, options.mode);
    const block = await this.provider?.getBlock("latest");
    if (!block) throw new OperatorError("cannot read the latest block");
    const tx = await market.createRequest(
      {
        modelId: options.modelId,
        mode: options.mode,
        token,
        maxFee: total,
        deadline: BigInt(block.timestamp + options.deadlineSeconds),
        input: hexlify(options.input),
        inputHash: ZeroHash,
        inputURI: "",
        callback: options.callback ?? ZeroAddress,
        callbackGasLimit: options.callbackGasLimit ?? 0,
        termsHash,
      },
      { value: token === ZeroAddress ? total : 0n },
    );
    onSent?.("create", tx.hash);
    const receipt = await tx.wait();
    const created = receipt?.logs
      .map((l) => {
        try {
          return this.market.interface.parseLog(l);
        } catch {
          return null;
        }
      })
      .find((e) => e?.name === "RequestCreated");
    if (!created) throw new OperatorError(`transaction ${tx.hash} created no request`);
    const requestId = created.args.requestId as bigint;
    this.log.info({ requestId, txHash: tx.hash, paid: total }, "request created");
    return { requestId, txHash: tx.hash, paid: total, ...(approval === undefined ? {} : { approval }) };
  }

  /** The input hash a request was created with (from RequestCreated: a finalized request no longer stores it). */
  async requestInputHash(requestId: bigint): Promise<string | null> {
    const [created] = await this.market.queryFilter(this.market.filters.RequestCreated(requestId));
    return created === undefined ? null : created.args.inputHash;
  }

  /** The input bytes a request was created with (inline input; null for an input given by URI). */
  async requestInput(requestId: bigint): Promise<string | null> {
    const [created] = await this.market.queryFilter(this.market.filters.RequestCreated(requestId));
    if (created === undefined) return null;
    const tx = await this.provider?.getTransaction(created.transactionHash);
    if (!tx) return null;
    const parsed = this.market.interface.parseTransaction({ data: tx.data, value: tx.value });
    if (parsed?.name !== "createRequest") return null; // created by a contract: its calldata is not ours to parse
    const input = (parsed.args[0] as { input: string }).input;
    return input === "0x" ? null : input;
  }

  /** The request's status, settled output and the transactions that moved it. */
  async show(requestId: bigint): Promise<RequestOutcome> {
    const r = await this.market.getRequest(requestId);
    const status = STATUS_NAMES[Number(r.status)] ?? "None";
    const txs: RequestOutcome["txs"] = {};
    const f = this.market.filters;
    const steps: RequestStep[] = [];
    const provider = this.provider;
    const find = async (
      step: RequestStep["step"],
      filter: Parameters<InferenceMarket["queryFilter"]>[0],
    ): Promise<string | undefined> => {
      const events = await this.market.queryFilter(filter);
      for (const e of events) {
        const receipt = await provider?.getTransactionReceipt(e.transactionHash);
        const block = await provider?.getBlock(e.blockNumber);
        steps.push({ step, tx: e.transactionHash, gasUsed: receipt?.gasUsed ?? 0n, at: block?.timestamp ?? 0 });
      }
      return events.at(-1)?.transactionHash;
    };
    txs.create = await find("create", f.RequestCreated(requestId));
    txs.claim = await find("claim", f.RequestClaimed(requestId));
    txs.submit = await find("submit", f.ResultSubmitted(requestId));
    // Settled without a submission: answered and settled by one fulfill.
    const settledBy = txs.submit === undefined ? "fulfill" : "finalize";
    const settled =
      (await find(settledBy, f.RequestFinalized(requestId))) ?? (await find("reject", f.RequestRejected(requestId)));
    if (settledBy === "fulfill") txs.fulfill = settled;
    else txs.finalize = settled;
    txs.refund = await find("refund", f.RequestRefunded(requestId));
    steps.sort((a, b) => a.at - b.at);
    const output = status === "Finalized" ? await settledOutput(this.market, requestId) : null;
    return { requestId, status, output: output === "0x" ? null : output, operator: r.operator, txs, steps };
  }

  /** Where a request stands now: its status, and the clock of the mode it waits on. */
  async progress(requestId: bigint): Promise<RequestProgress> {
    const r = await this.market.getRequest(requestId);
    const progress: RequestProgress = {
      status: STATUS_NAMES[Number(r.status)] ?? "None",
      mode: Number(r.mode),
      operator: r.operator,
      deadline: Number(r.deadline),
      claimDeadline: Number(r.claimDeadline),
    };
    // From submission on (and kept after settlement, for `show`): the window, or the sampling protocol.
    if (r.status >= 3n && r.mode === 1n) {
      const result = await OptimisticModule__factory.connect(r.module, this.runner).getResult(requestId);
      if (result.challengeDeadline > 0n) {
        progress.challengeWindowEnd = Number(result.challengeDeadline);
        progress.challenges = Number(result.openGames);
      }
    } else if (r.status >= 3n && r.mode === 2n) {
      const job = await SamplingModule__factory.connect(r.module, this.runner).getJob(requestId);
      progress.sampling = {
        phase: SAMPLING_PHASES[Number(job.phase)] ?? String(job.phase),
        sampled: job.sampled,
        sampler: job.sampler,
        deadline: Number(job.deadline),
      };
    }
    return progress;
  }

  /**
   * Polls until the request is Finalized or Refunded, or the timeout passes; `onProgress` hears every change.
   * `moveClock` (local chains only): mines a block per poll and jumps an optimistic challenge window, which
   * an automining node would otherwise never see pass.
   */
  async waitForResult(
    requestId: bigint,
    timeoutMs: number,
    options: { pollMs?: number; onProgress?: (p: RequestProgress) => void; moveClock?: boolean } = {},
  ): Promise<RequestOutcome> {
    const until = Date.now() + timeoutMs;
    const pollMs = options.pollMs ?? 500;
    if (options.moveClock) await this.requireLocalChain("--move-clock");
    let last = "";
    for (;;) {
      const p = await this.progress(requestId);
      const key = JSON.stringify(p);
      if (key !== last) options.onProgress?.(p);
      last = key;
      if (p.status === "Finalized" || p.status === "Refunded") return this.show(requestId);
      if (Date.now() > until) throw new OperatorError(`request ${requestId} not settled after ${timeoutMs} ms`);
      if (options.moveClock) {
        const now = (await this.provider!.getBlock("latest"))!.timestamp;
        if (p.challengeWindowEnd !== undefined && p.challenges === 0 && now <= p.challengeWindowEnd) {
          await this.advanceTime(p.challengeWindowEnd - now + 1);
        } else {
          await (this.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> }).send("evm_mine", []);
        }
      }
      await sleep(pollMs);
    }
  }

  /** Refuses anything but a local development chain (moving its clock is meaningless, and impossible, elsewhere). */
  async requireLocalChain(what: string): Promise<void> {
    const { chainId } = await this.provider!.getNetwork();
    if (!LOCAL_CHAIN_IDS.has(chainId))
      throw new OperatorError(`${what} works on local chains only, not chain ${chainId}`);
  }

  /** Local chains: moves the clock `seconds` forward and mines a block. */
  async advanceTime(seconds: number): Promise<number> {
    await this.requireLocalChain("moving the clock");
    const rpc = this.provider as unknown as { send(m: string, p: unknown[]): Promise<unknown> };
    await rpc.send("evm_increaseTime", [seconds]);
    await rpc.send("evm_mine", []);
    return (await this.provider!.getBlock("latest"))!.timestamp;
  }
}

/**
 * A fetched build, accepted only as the build of the registered model: the numbers that give a request its
 * meaning (input scale and range, output scales) come from the integer graph whose commitment is the
 * registered modelHash, recomputed here, and the manifest must state the same numbers.
 */
export function checkBuild(modelId: bigint, registeredHash: string, fetched: FetchedBuild): ModelBuild {
  const { location, graph } = fetched;
  const manifest = fetched.manifest as BuildManifest;
  let committed: string;
  let declared: ModelInterface;
  try {
    committed = modelCommitment(graph).modelHash;
    declared = interfaceOf(manifest);
  } catch (error) {
    throw new OperatorError(`cannot read the model's build in ${location}`, { cause: error });
  }
  if (committed.toLowerCase() !== registeredHash.toLowerCase()) {
    throw new OperatorError(
      `${location} is the build of ${committed}, but model ${modelId} is registered as ${registeredHash}`,
    );
  }
  const sameNumbers =
    declared.input.scale === graph.input.scale &&
    declared.input.lo === graph.input.lo &&
    declared.input.hi === graph.input.hi &&
    declared.input.shape.join(",") === graph.input.shape.join(",") &&
    declared.output.scale.join(",") === graph.output.scale.join(",") &&
    declared.output.count === tensorSizes(graph).at(-1) &&
    declared.output.kind === outputMeaning(graph);
  if (!sameNumbers) {
    throw new OperatorError(
      `the manifest in ${location} does not match the committed integer graph of model ${modelId}`,
    );
  }
  return { dir: location, name: manifest.name ?? `model-${modelId}`, interface: declared, manifest, graph };
}
