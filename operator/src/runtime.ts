import { JsonRpcProvider, NonceManager, Wallet, WebSocketProvider, type Provider } from "ethers";
import type { Server } from "node:http";
import type { Logger } from "pino";
import { InferenceMarket__factory, StakingVault__factory } from "../../types/ethers-contracts/index.js";
import { BlockRangeWatcher } from "./chain/watcher.js";
import { sleep, withRetry } from "./chain/retry.js";
import type { OperatorConfig } from "./config.js";
import type { Executor } from "./executors/executor.js";
import { Metrics } from "./metrics.js";
import { Worker, executorKey } from "./roles/worker.js";
import { OperatorStore } from "./store.js";

/** Builds the executor for one served model and mode (zk: verifier-gen artifacts; ...). */
export type ExecutorFactory = (model: OperatorConfig["models"][number], mode: number) => Promise<Executor>;

/**
 * A running operator: one store, one signer, the configured roles, and a loop that catches up from
 * the persisted cursor, then polls. `stop()` (wired to SIGINT/SIGTERM by the CLI) lets the current
 * step finish, closes the store and returns.
 */
export class OperatorRuntime {
  readonly metrics = new Metrics();
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private server: Server | undefined;
  private store: OperatorStore | undefined;
  private provider: Provider | undefined;

  constructor(
    private readonly config: OperatorConfig,
    private readonly executorFactory: ExecutorFactory,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { config, log } = this;
    this.provider = config.rpcUrl.startsWith("ws")
      ? new WebSocketProvider(config.rpcUrl)
      : new JsonRpcProvider(config.rpcUrl, undefined, {
          polling: true,
          pollingInterval: config.pollIntervalMs,
          cacheTimeout: -1,
        });
    const wallet = new Wallet(config.privateKey, this.provider);
    // NonceManager takes the pending nonce from the node at start, so a restart continues after
    // whatever the previous run already sent.
    const signer = new NonceManager(wallet);
    const market = InferenceMarket__factory.connect(config.market, signer);
    const vault = StakingVault__factory.connect(await market.vault(), signer);
    this.store = new OperatorStore(config.storePath);

    const executors = new Map<string, Executor>();
    for (const model of config.models) {
      for (const mode of model.modes)
        executors.set(executorKey(model.modelId, mode), await this.executorFactory(model, mode));
    }
    await this.ensureStake(vault, wallet.address);

    const worker = new Worker({
      market,
      operatorAddress: wallet.address,
      store: this.store,
      executors,
      metrics: this.metrics,
      retry: config.retry,
      log,
    });
    const watcher = new BlockRangeWatcher(
      this.provider,
      this.store,
      {
        stream: `market:${config.market.toLowerCase()}:RequestCreated`,
        startBlock: config.startBlock,
        batchBlocks: config.logBatchBlocks,
        confirmations: config.confirmations,
        retry: config.retry,
      },
      log.child({ ns: "watcher" }),
    );
    if (config.metricsPort !== undefined) {
      this.server = await this.metrics.serve(config.metricsPort);
      const address = this.server.address();
      log.info(
        { port: typeof address === "object" && address ? address.port : config.metricsPort },
        "metrics on /metrics",
      );
    }
    log.info({ operator: wallet.address, market: config.market, roles: config.roles }, "operator started");

    this.loopDone = (async () => {
      while (!this.stopping) {
        try {
          await watcher.catchUp((from, to) => worker.scan(from, to));
          await worker.work();
        } catch (error) {
          // The loop never dies: log, back off, go on.
          log.error({ err: error }, "operator loop iteration failed");
        }
        if (!this.stopping) await sleep(config.pollIntervalMs);
      }
    })();
  }

  /** Stakes up to `stakeWei` and declares service for every configured model. */
  private async ensureStake(vault: ReturnType<typeof StakingVault__factory.connect>, address: string): Promise<void> {
    const { config, log } = this;
    const info = await withRetry("stakeOf", () => vault.stakeOf(address), config.retry, log);
    if (config.stakeWei > info.total) {
      const topUp = config.stakeWei - info.total;
      await (await vault.stake(topUp, { value: topUp })).wait();
      log.info({ topUp }, "staked");
    }
    for (const model of config.models) {
      if (!(await vault.isServing(address, model.modelId, 0))) {
        await (await vault.setService(model.modelId, 0, true)).wait();
        log.info({ modelId: model.modelId }, "serving model");
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loopDone;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.provider?.destroy();
    this.store?.close();
    this.log.info("operator stopped");
  }
}
