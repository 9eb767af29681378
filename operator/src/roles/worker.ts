import type { Logger } from "pino";
import { hexlify, type ContractTransactionResponse, type EventLog, type Log, type Provider } from "ethers";
import { IVerificationModule__factory, type InferenceMarket } from "../../../types/ethers-contracts/index.js";
import { BadInputError, OperatorError } from "../errors.js";
import type { Executor } from "../executors/executor.js";
import type { Metrics } from "../metrics.js";
import type { Job, OperatorStore } from "../store.js";
import { type RetryPolicy, isTransient, withRetry } from "../chain/retry.js";
import { DEFAULT_TERMS_POLICY, TermsRefusedError, type TermsPolicy } from "../terms.js";
import type { Role } from "./role.js";

/** Chain-side request status, as IInferenceMarket.Status. */
const Status = { None: 0n, Open: 1n, Claimed: 2n, Submitted: 3n, Finalized: 4n, Refunded: 5n } as const;

export interface WorkerDeps {
  market: InferenceMarket;
  operatorAddress: string;
  store: OperatorStore;
  /** Executor per `${modelId}:${mode}` this operator serves. */
  executors: Map<string, Executor>;
  metrics: Metrics;
  retry: RetryPolicy;
  log: Logger;
  /** Terms accepted before claiming (defaults: DEFAULT_TERMS_POLICY). */
  policy?: TermsPolicy;
}

export const executorKey = (modelId: bigint, mode: number): string => `${modelId}:${mode}`;

/**
 * The `worker` role: records RequestCreated events for the models it serves, then drives each job
 * through claim -> execute -> submit -> finalize. Every step first reads the request from the chain,
 * so a restart at any point resumes without sending a transaction twice.
 */
export class Worker implements Role {
  readonly name = "worker";
  private readonly log: Logger;

  constructor(private readonly deps: WorkerDeps) {
    this.log = deps.log.child({ ns: "worker" });
  }

  /** Scans a block range for new requests; idempotent. */
  async scan(fromBlock: number, toBlock: number): Promise<void> {
    const { market, retry } = this.deps;
    const events = await withRetry(
      "getLogs RequestCreated",
      () => market.queryFilter(market.filters.RequestCreated(), fromBlock, toBlock),
      retry,
      this.log,
    );
    for (const event of events) this.record(event);
    // A request another operator claimed and then abandoned is open again: take it back on.
    const reopened = await withRetry(
      "getLogs RequestReopened",
      () => market.queryFilter(market.filters.RequestReopened(), fromBlock, toBlock),
      retry,
      this.log,
    );
    for (const event of reopened) {
      const requestId = event.args.requestId;
      const job = this.deps.store.getJob(requestId);
      if (job?.state === "skipped" && job.note?.startsWith("served by")) {
        this.deps.store.update(requestId, { state: "seen", note: "reopened" });
        this.log.info({ requestId }, "request reopened; will claim");
      }
    }
  }

  private record(event: EventLog | Log): void {
    if (!("args" in event)) return;
    const args = event.args;
    const requestId = args.requestId as bigint;
    const modelId = args.modelId as bigint;
    const mode = Number(args.mode);
    if (!this.deps.executors.has(executorKey(modelId, mode))) return;
    const added = this.deps.store.addJob({
      requestId,
      modelId,
      mode,
      input: hexlify(args.input as string),
      inputHash: args.inputHash as string,
      inputURI: args.inputURI as string,
      createdBlock: event.blockNumber,
    });
    if (added) {
      this.deps.metrics.inc("requests_seen");
      this.log.info({ requestId, modelId, mode }, "request seen");
    }
  }

  /** Advances every pending job by as many steps as it can take now. */
  async work(): Promise<void> {
    for (const job of this.deps.store.pendingJobs()) {
      try {
        await this.advance(job);
      } catch (error) {
        if (isTransient(error)) {
          this.log.warn({ requestId: job.requestId, err: error }, "transient failure; will retry");
          continue;
        }
        // A non-transient failure of one request must never stop the others or crash-loop the bot.
        this.deps.metrics.inc("requests_failed");
        this.deps.store.update(job.requestId, { state: "skipped", note: errorNote(error) });
        this.log.error({ requestId: job.requestId, err: error }, "request failed; skipped");
      }
    }
  }

  private async advance(job: Job): Promise<void> {
    const { market, store, operatorAddress } = this.deps;
    const me = operatorAddress.toLowerCase();
    const onChain = await withRetry("getRequest", () => market.getRequest(job.requestId), this.deps.retry, this.log);
    const mine = onChain.operator.toLowerCase() === me;

    if (onChain.status === Status.Finalized || onChain.status === Status.Refunded) {
      store.update(job.requestId, { state: mine && onChain.status === Status.Finalized ? "done" : "skipped" });
      if (mine && onChain.status === Status.Finalized) this.deps.metrics.inc("requests_settled");
      return;
    }
    if ((onChain.status === Status.Claimed || onChain.status === Status.Submitted) && !mine) {
      store.update(job.requestId, { state: "skipped", note: `served by ${onChain.operator}` });
      return;
    }
    const executor = this.deps.executors.get(executorKey(job.modelId, job.mode));
    if (executor === undefined) return;

    if (onChain.status === Status.Open) {
      if (await this.waitForSent(job, "claim")) return;
      try {
        await executor.check(job);
      } catch (error) {
        if (!(error instanceof BadInputError)) throw error;
        // Left to the deadline refund: claiming would only cost us a no-show slash.
        store.update(job.requestId, { state: "skipped", note: error.message });
        this.deps.metrics.inc("requests_failed");
        this.log.warn({ requestId: job.requestId, reason: error.message }, "bad input; not claiming");
        return;
      }
      if (executor.checkTerms !== undefined) {
        const terms = {
          operatorStake: onChain.operatorStake,
          modeConfig: await withRetry(
            "modeConfigOf",
            () => market.modeConfigOf(job.requestId),
            this.deps.retry,
            this.log,
          ),
        };
        try {
          await executor.checkTerms(terms, {
            provider: this.provider(),
            policy: this.deps.policy ?? DEFAULT_TERMS_POLICY,
          });
        } catch (error) {
          if (!(error instanceof TermsRefusedError)) throw error;
          // Terms an honest operator cannot meet: claiming could only cost stake.
          store.update(job.requestId, { state: "skipped", note: `terms refused: ${error.message}` });
          this.deps.metrics.inc("requests_failed");
          this.log.warn({ requestId: job.requestId, reason: error.message }, "terms refused; not claiming");
          return;
        }
      }
      // Deadlines are in the market's active time (stopped while paused).
      const now = await withRetry("activeTime", () => market.activeTime(), this.deps.retry, this.log);
      if (now >= onChain.deadline) return; // too late to serve; refundable soon
      await this.send(job, "claim", "claiming", () => market.claim(job.requestId));
      this.deps.metrics.inc("requests_claimed");
      return this.advance({ ...job, state: "claimed" });
    }

    if (onChain.status === Status.Claimed) {
      if (await this.waitForSent(job, "submit")) return;
      let output = job.output;
      let proof = job.proof;
      if (output === null || proof === null) {
        const started = performance.now();
        const result = await executor.execute(job);
        this.deps.metrics.observeProofMs(performance.now() - started);
        this.deps.metrics.inc("requests_proved");
        output = result.output;
        proof = result.proof;
        store.update(job.requestId, { output, proof, state: "claimed" });
      }
      const [o, p] = [output, proof];
      await this.send(job, "submit", "submitting", () => market.submitResult(job.requestId, o, p));
      return this.advance({ ...job, state: "submitted", output, proof });
    }

    if (onChain.status === Status.Submitted) {
      if (await this.waitForSent(job, "finalize")) return;
      const moduleFinal = await this.isFinal(onChain.module, job.requestId);
      if (!moduleFinal) {
        store.update(job.requestId, { state: "submitted" });
        return;
      }
      await this.send(job, "finalize", "finalizing", () => market.finalize(job.requestId));
      store.update(job.requestId, { state: "done" });
      this.deps.metrics.inc("requests_settled");
      this.log.info({ requestId: job.requestId }, "settled");
    }
  }

  private provider(): Provider {
    const provider = this.deps.market.runner?.provider;
    if (provider === null || provider === undefined) throw new OperatorError("the market has no provider");
    return provider;
  }

  private async isFinal(moduleAddress: string, requestId: bigint): Promise<boolean> {
    const module = IVerificationModule__factory.connect(moduleAddress, this.deps.market.runner);
    return withRetry("isFinal", () => module.isFinal(requestId), this.deps.retry, this.log);
  }

  /**
   * If a transaction for this step was sent before (e.g. before a crash) and may still be pending,
   * waits for it instead of sending another. Returns true when the caller should re-read the chain.
   */
  private async waitForSent(job: Job, action: string): Promise<boolean> {
    if (job.lastTx === null || this.deps.store.txCount(job.requestId, action) === 0) return false;
    const provider = this.deps.market.runner?.provider;
    if (!provider) return false;
    const receipt = await provider.getTransactionReceipt(job.lastTx);
    if (receipt !== null) return false; // mined (succeeded or reverted): the chain state says what next
    const tx = await provider.getTransaction(job.lastTx);
    if (tx === null) return false; // dropped: safe to send again
    this.log.info({ requestId: job.requestId, action, tx: job.lastTx }, "waiting for earlier transaction");
    await tx.wait();
    return true;
  }

  private async send(
    job: Job,
    action: string,
    pendingState: Job["state"],
    sendTx: () => Promise<ContractTransactionResponse>,
  ): Promise<void> {
    const tx = await sendTx();
    this.deps.store.recordTx(job.requestId, action, tx.hash, pendingState);
    this.log.info({ requestId: job.requestId, action, tx: tx.hash }, "sent");
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`${action} transaction ${tx.hash} failed`);
    job.lastTx = tx.hash;
  }
}

function errorNote(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 500);
}
