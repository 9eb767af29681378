import { FetchRequest, JsonRpcProvider, Wallet, WebSocketProvider, parseUnits, type Provider } from "ethers";
import type { Server } from "node:http";
import type { Logger } from "pino";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  StakingVault__factory,
  type StakingVault,
} from "../../types/ethers-contracts/index.js";
import { ResettingNonceManager } from "./chain/nonce.js";
import { BlockRangeWatcher } from "./chain/watcher.js";
import { classify } from "./chain/errors.js";
import { DEFAULT_TX_POLICY, TxPendingError, TxSender, sendCall } from "./chain/tx-sender.js";
import { sleep, withRetry } from "./chain/retry.js";
import type { OperatorConfig } from "./config.js";
import { resolveMarket } from "./deployment.js";
import { TermsRefusedError } from "./terms.js";
import { ArtifactError, fetchArtifacts } from "./artifacts.js";

/** Modes whose executors run a verifier-gen build (quality runs a generator of its own config). */
const modeNeedsBuild = (mode: number): boolean => mode <= 2;
import { ConfigError } from "./errors.js";
import type { Executor } from "./executors/executor.js";
import { configureInputs } from "./executors/input.js";
import { Metrics } from "./metrics.js";
import { createRoles } from "./roles/index.js";
import { executorKey } from "./roles/worker.js";
import { OperatorStore } from "./store.js";

const modeList = (mask: bigint | number): string =>
  [...Array(8).keys()].filter((m) => (Number(mask) >> m) & 1).join(", ") || "none";

/** Builds the executor for one served model and mode (zk: verifier-gen artifacts; ...). */
export type ExecutorFactory = (model: OperatorConfig["models"][number], mode: number) => Promise<Executor>;

/**
 * A running operator: one store, one signer, the configured roles, and a loop that catches up from
 * the persisted cursors, then polls. `stop()` (wired to SIGINT/SIGTERM by the CLI) lets the current
 * step finish, closes the store and returns.
 */
export class OperatorRuntime {
  readonly metrics = new Metrics();
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private server: Server | undefined;
  private store: OperatorStore | undefined;
  private provider: Provider | undefined;
  private roles: { drain?(): Promise<void> }[] = [];

  constructor(
    private readonly config: OperatorConfig,
    private readonly executorFactory: ExecutorFactory,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { config, log } = this;
    // First: a port in use is a configuration error, reported before anything is locked or sent.
    if (config.metricsPort !== undefined) {
      this.server = await this.metrics.serve(config.metricsPort);
      const address = this.server.address();
      log.info(
        { port: typeof address === "object" && address ? address.port : config.metricsPort },
        "metrics on /metrics",
      );
    }
    // Every call has a deadline: a hung node must fail the call, not freeze the bot (ethers' default is 5 min).
    const request = new FetchRequest(config.rpcUrl);
    request.timeout = config.rpcTimeoutMs;
    const provider = config.rpcUrl.startsWith("ws")
      ? new WebSocketProvider(config.rpcUrl)
      : new JsonRpcProvider(request, undefined, {
          polling: true,
          pollingInterval: config.pollIntervalMs,
          // ethers otherwise reuses identical reads (such as the nonce) for 250 ms.
          cacheTimeout: -1,
          // One call per HTTP request: one malformed reply fails one call, not a batch.
          batchMaxCount: 1,
        });
    this.provider = provider;
    const wallet = new Wallet(config.privateKey, provider);
    // The nonce manager takes the pending nonce from the node at start, so a restart continues after
    // whatever the previous run already sent.
    const signer = new ResettingNonceManager(wallet);
    // No address typed by hand: without `market`, the one Ignition recorded for this chain (a file read, and
    // one eth_chainId that waits for the node like every other start-up call).
    const marketAddress =
      config.market ?? (await this.untilStarted(() => resolveMarket({ deployment: config.deployment }, provider)));
    const market = InferenceMarket__factory.connect(marketAddress, signer);
    // A second process on this store would double-send: the lock refuses it; a damaged store is rebuilt.
    const store = new OperatorStore(config.storePath, { lock: true, log });
    this.store = store;
    const gwei = (v: number | undefined) => (v === undefined ? undefined : parseUnits(String(v), "gwei"));
    const tx = new TxSender(
      signer,
      store,
      {
        ...DEFAULT_TX_POLICY,
        ...config.tx,
        ...(config.gas.maxFeePerGasGwei === undefined ? {} : { maxFeePerGas: gwei(config.gas.maxFeePerGasGwei) }),
        ...(config.gas.maxPriorityFeePerGasGwei === undefined
          ? {}
          : { maxPriorityFeePerGas: gwei(config.gas.maxPriorityFeePerGasGwei) }),
      },
      log.child({ ns: "tx" }),
    );
    configureInputs({ fileRoot: config.inputFileRoot });
    const executors = new Map<string, Executor>();
    // Start-up talks to the chain too: a node that is down or flaky delays it, it never ends the process
    // (a supervisor would restart it into the same fault: a crash loop). Only a permanent refusal does.
    // Models whose fetched artifacts cannot be used: not served, and never declared as served.
    const unservable = new Set<bigint>();
    const { vault, registry } = await this.untilStarted(async () => {
      // Transactions signed before a crash: broadcast them again (the node may never have had them).
      await tx.resume();
      const vault = StakingVault__factory.connect(await this.read("vault", () => market.vault()), signer);
      const registry = ModelRegistry__factory.connect(await this.read("registry", () => market.registry()), signer);
      for (const model of config.models) {
        const registered = await this.read("getModel", () => registry.getModel(model.modelId));
        for (const mode of model.modes) {
          if (((Number(registered.modes) >> mode) & 1) === 0) {
            // A mode the model does not enable: a configuration mistake when nothing of it is held; when
            // jobs of it are (the owner disabled the mode later), those are still served to the end.
            const held = store
              .pendingJobs()
              .some((j) => j.modelId === model.modelId && j.mode === mode && j.state !== "seen");
            const problem = `model ${model.modelId} does not enable mode ${mode}; its registered modes are ${modeList(registered.modes)}`;
            if (!held) throw new ConfigError(problem);
            log.warn({ modelId: model.modelId, mode }, `${problem}: serving the jobs held in it, nothing new`);
          }
          const key = executorKey(model.modelId, mode);
          if (unservable.has(model.modelId)) continue;
          if (!executors.has(key)) {
            // Without a local build, the registered artifact URI's, fetched and checked against the modelHash.
            let artifacts = model.artifacts;
            if (artifacts === undefined && modeNeedsBuild(mode)) {
              try {
                artifacts = await fetchArtifacts(registered.artifactURI, registered.modelHash, {
                  cacheDir: config.artifactCacheDir,
                  ipfsGateway: config.ipfsGateway,
                  log: log.child({ ns: "artifacts" }),
                });
              } catch (error) {
                // A host that is down is waited for (transient); a build that is not the model's is not
                // served at all, and the other models still are.
                if (!(error instanceof ArtifactError)) throw error;
                log.error(
                  { modelId: model.modelId, uri: registered.artifactURI, reason: error.message },
                  "model not served: its artifacts cannot be used",
                );
                unservable.add(model.modelId);
                continue;
              }
            }
            executors.set(key, await this.executorFactory({ ...model, ...(artifacts ? { artifacts } : {}) }, mode));
          }
          const executor = executors.get(key)!;
          // Serving artifacts of another model would only earn rejections and slashes.
          if (executor.modelHash !== undefined && executor.modelHash !== registered.modelHash) {
            throw new ConfigError(
              `model ${model.modelId}: artifacts commit to ${executor.modelHash}, the registry to ${registered.modelHash}`,
            );
          }
          if (executor.selfTest !== undefined && ((Number(registered.modes) >> mode) & 1) === 1) {
            const modeConfig = await this.read("modeConfig", () => registry.modeConfig(model.modelId, mode));
            try {
              await executor.selfTest(modeConfig, provider);
            } catch (error) {
              if (!(error instanceof TermsRefusedError)) throw error;
              log.error({ modelId: model.modelId, mode, reason: error.message }, "model not served: self-test failed");
              executors.delete(key);
              unservable.add(model.modelId);
            }
          }
        }
      }
      for (const modelId of unservable)
        for (let mode = 0; mode < 8; mode++) executors.delete(executorKey(modelId, mode));
      await this.ensureStake(vault, wallet.address, tx, unservable);
      return { vault, registry };
    });

    const roles = createRoles({
      config,
      provider,
      signer,
      address: wallet.address,
      market,
      vault,
      registry,
      store,
      executors,
      metrics: this.metrics,
      retry: config.retry,
      log,
      tx,
    });
    this.roles = roles;
    const watchers = roles.map(
      (role) =>
        new BlockRangeWatcher(
          provider,
          store,
          {
            stream: `market:${marketAddress.toLowerCase()}:${role.name}`,
            startBlock: config.startBlock,
            batchBlocks: config.logBatchBlocks,
            confirmations: config.confirmations,
            retry: config.retry,
            rewindBlocks: 2 * config.reorgDepth,
          },
          log.child({ ns: `watcher:${role.name}` }),
        ),
    );
    log.info({ operator: wallet.address, market: marketAddress, roles: config.roles }, "operator started");

    this.loopDone = (async () => {
      while (!this.stopping) {
        for (const [i, role] of roles.entries()) {
          if (this.stopping) break;
          try {
            await watchers[i]!.catchUp((from, to) => role.scan(from, to));
            await role.work();
            this.metrics.loopOk();
          } catch (error) {
            // The loop never dies: log, back off, go on.
            this.metrics.inc("loop_failures");
            const failure = classify(error);
            if (failure.kind === "transient")
              log.warn({ role: role.name, reason: failure.summary }, "loop iteration failed; next poll retries");
            else log.error({ err: error, role: role.name }, "operator loop iteration failed");
          }
        }
        if (!this.stopping) await sleep(config.pollIntervalMs);
      }
    })();
  }

  /** One start-up call, retried on transient failures (each call is idempotent: reads, or keyed sends). */
  private read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(what, fn, { ...this.config.retry, attempts: Math.max(this.config.retry.attempts, 5) }, this.log);
  }

  /** Runs the start-up's chain work until it succeeds, backing off on transient failures (up to 10 s apart). */
  private async untilStarted<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const transient = error instanceof TxPendingError || classify(error).kind === "transient";
        if (!transient || this.stopping) throw error;
        const delay = Math.min(10_000, this.config.retry.baseDelayMs * 2 ** Math.min(attempt, 10));
        this.metrics.inc("loop_failures");
        this.log.warn({ attempt, reason: classify(error).summary, retryInMs: delay }, "start-up waiting for the node");
        await sleep(delay);
      }
    }
  }

  /** Stakes up to `stakeWei` and declares service for every configured model. */
  private async ensureStake(
    vault: StakingVault,
    address: string,
    tx: TxSender,
    unservable: ReadonlySet<bigint>,
  ): Promise<void> {
    const { config, log } = this;
    const info = await this.read("stakeOf", () => vault.stakeOf(address));
    if (config.stakeWei > info.total) {
      const topUp = config.stakeWei - info.total;
      await this.read("stake", () =>
        sendCall(tx, "stake", () => vault.stake.populateTransaction(topUp, { value: topUp })),
      );
      log.info({ topUp }, "staked");
    }
    // Only executing roles serve as operators: a validator-only process must never be drawn as a sampler.
    const executes = config.roles.includes("worker") || config.roles.includes("sampler");
    // A model it cannot serve is never declared: it would be drawn as a sampler and slashed for the no-show.
    for (const model of executes ? config.models.filter((m) => !unservable.has(m.modelId)) : []) {
      if (!(await this.read("isServing", () => vault.isServing(address, model.modelId, 0)))) {
        await this.read("setService", () =>
          sendCall(tx, "setService", () => vault.setService.populateTransaction(model.modelId, 0, true)),
        );
        log.info({ modelId: model.modelId }, "serving model");
      }
    }
  }

  /** Lets the steps in flight finish (each bounded by its deadlines), then closes everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loopDone;
    for (const role of this.roles) await role.drain?.();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.provider?.destroy();
    this.store?.close();
    this.log.info("operator stopped");
  }
}
