import type { Logger } from "pino";
import { AbiCoder, hexlify, keccak256, type EventLog, type Log, type Provider } from "ethers";
import {
  IVerificationModule__factory,
  type InferenceMarket,
  type StakingVault,
} from "../../../types/ethers-contracts/index.js";
import { BadInputError, OperatorError } from "../errors.js";
import type { Executor } from "../executors/executor.js";
import type { Metrics } from "../metrics.js";
import type { Job, OperatorStore } from "../store.js";
import { classify } from "../chain/errors.js";
import { type RetryPolicy, withRetry } from "../chain/retry.js";
import { TxPendingError, TxRevertedError, type TxSender } from "../chain/tx-sender.js";
import { DEFAULT_TERMS_POLICY, TermsRefusedError, type TermsPolicy } from "../terms.js";
import type { Role } from "./role.js";
import { ZkBatcher } from "./zk-batcher.js";

/** Chain-side request status, as IInferenceMarket.Status. */
const Status = { None: 0n, Open: 1n, Claimed: 2n, Submitted: 3n, Finalized: 4n, Refunded: 5n } as const;

export interface WorkerLimits {
  /** Proofs (executions) run at once. */
  provers: number;
  /** Claimed-but-unsubmitted jobs (unproved, or submits failing) above which nothing new is claimed. */
  maxBacklog: number;
  /** Blocks a settlement must be deep before its job is no longer re-checked (the deepest reorg survived). */
  confirmations: number;
  /** Blocks of our own claims reconciled against the store. */
  reconcileBlocks: number;
  reconcileEveryMs: number;
  /** Backoff of a failing job: base and ceiling. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Ceiling of the backoff of a job we hold after a transient failure: its deadline is running. */
  maxHeldBackoffMs: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = {
  provers: 2,
  maxBacklog: 4,
  confirmations: 12,
  reconcileBlocks: 5_000,
  reconcileEveryMs: 15_000,
  backoffMs: 250,
  maxBackoffMs: 30_000,
  maxHeldBackoffMs: 2_000,
};

export interface WorkerDeps {
  market: InferenceMarket;
  /** Read for free stake before each claim (claims in flight reserve theirs). */
  vault: StakingVault;
  operatorAddress: string;
  store: OperatorStore;
  /** Executor per `${modelId}:${mode}` this operator serves. */
  executors: Map<string, Executor>;
  metrics: Metrics;
  retry: RetryPolicy;
  log: Logger;
  tx: TxSender;
  /** Terms accepted before claiming (defaults: DEFAULT_TERMS_POLICY). */
  policy?: TermsPolicy;
  limits?: Partial<WorkerLimits>;
}

export const executorKey = (modelId: bigint, mode: number): string => `${modelId}:${mode}`;

/** A failure before the claim that makes the request one this operator will not serve. */
const refusesRequest = (error: unknown) => error instanceof BadInputError || error instanceof TermsRefusedError;

/**
 * The `worker` role: records RequestCreated events for the models it serves and drives each job through
 * claim -> execute -> submit -> finalize, or, for a mode whose verdict is final on submission (zk),
 * execute -> fulfill (one transaction; optionally after a claim, Executor.instant). Jobs run concurrently (proofs in a pool, claims held back while
 * proving lags behind); every step first reads the request from the chain, so a restart or a reorg at any
 * point resumes from what the chain says. A job this operator holds is never given up while it can still be
 * served: any failure re-reads the chain and retries with backoff. Requests of a batch build go to the
 * ZkBatcher instead (one proof and one fulfillBatch transaction for up to k of them).
 */
export class Worker implements Role {
  readonly name = "worker";
  private readonly log: Logger;
  private readonly limits: WorkerLimits;
  private readonly inflight = new Map<bigint, Promise<void>>();
  private proving = 0;
  /** Open requests of instant modes being proved or fulfilled (not claimed, so not counted as claims). */
  private fulfilling = 0;
  private draining = false;
  private lastReconcile = 0;
  /** Requests of batch builds (zk, k > 1): answered k at a time by fulfillBatch instead of one by one. */
  private readonly batcher: ZkBatcher;

  constructor(private readonly deps: WorkerDeps) {
    this.log = deps.log.child({ ns: "worker" });
    this.limits = { ...DEFAULT_WORKER_LIMITS, ...deps.limits };
    this.batcher = new ZkBatcher({
      market: deps.market,
      operatorAddress: deps.operatorAddress,
      store: deps.store,
      metrics: deps.metrics,
      retry: deps.retry,
      log: deps.log,
      tx: deps.tx,
      ...(deps.policy === undefined ? {} : { policy: deps.policy }),
      backoffMs: this.limits.backoffMs,
      maxBackoffMs: this.limits.maxBackoffMs,
    });
  }

  /** Scans a block range for new and reopened requests; idempotent. */
  async scan(fromBlock: number, toBlock: number): Promise<void> {
    const { market, retry } = this.deps;
    const events = await withRetry(
      "getLogs RequestCreated",
      () => market.queryFilter(market.filters.RequestCreated(), fromBlock, toBlock),
      retry,
      this.log,
    );
    for (const event of events) this.record(event);
    const reopened = await withRetry(
      "getLogs RequestReopened",
      () => market.queryFilter(market.filters.RequestReopened(), fromBlock, toBlock),
      retry,
      this.log,
    );
    for (const event of reopened) {
      const requestId = event.args.requestId;
      const job = this.deps.store.getJob(requestId);
      if (job !== undefined && (job.state === "skipped" || job.state === "done")) {
        this.deps.store.update(requestId, { state: "seen", note: "reopened", failures: 0, retryAt: 0 });
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
      this.deps.metrics.inc("requests_seen", { modelId, mode });
      this.log.info({ requestId, modelId, mode }, "request seen");
    }
  }

  /** Schedules every job that can move now; returns without waiting for them (they run concurrently). */
  async work(): Promise<void> {
    if (this.draining) return;
    const { store } = this.deps;
    await this.recheckSettled();
    await this.reconcile();
    const now = Date.now();
    const due = store.pendingJobs().filter((j) => !this.inflight.has(j.requestId) && j.retryAt <= now);
    const batched: Parameters<ZkBatcher["work"]>[0] = [];
    const jobs: Job[] = [];
    for (const job of due) {
      const executor = this.deps.executors.get(executorKey(job.modelId, job.mode));
      if (ZkBatcher.batches(executor)) batched.push({ job, executor });
      else jobs.push(job);
    }
    await this.batcher.work(batched);
    const held = jobs.filter((j) => j.state !== "seen");
    // Fleets must not collide: each operator walks open requests in its own order.
    const me = this.deps.operatorAddress.toLowerCase();
    const rank = (id: bigint) => keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "address"], [id, me]));
    const open = jobs
      .filter((j) => j.state === "seen")
      .sort((a, b) => (rank(a.requestId) < rank(b.requestId) ? -1 : 1));
    for (const job of held) this.schedule(job);
    for (const job of open) {
      if (this.backlog() >= this.limits.maxBacklog) {
        this.deps.metrics.inc("claims_deferred");
        break;
      }
      this.schedule(job);
    }
    this.deps.metrics.set("jobs_in_flight", this.inflight.size);
    this.deps.metrics.set("oldest_held_job_age_seconds", store.oldestHeldJobAgeMs() / 1000);
    this.deps.metrics.set("pending_transactions", this.deps.tx.pendingCount());
  }

  /** Stake of our claims in flight (sent or being sent, not yet mined), by request. */
  private readonly reserved = new Map<bigint, bigint>();

  /** Stops scheduling and waits for the steps in flight (each bounded by its deadlines). */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.inflight.values(), this.batcher.drain()]);
  }

  /**
   * Jobs claimed (or being claimed) by us and not submitted yet (unproved, or a submit failing), or proving,
   * plus open requests of instant modes being proved or fulfilled.
   */
  private backlog(): number {
    let n = 0;
    for (const job of this.deps.store.pendingJobs()) {
      if (job.state === "claiming" || job.state === "claimed" || job.state === "submitting") n++;
    }
    return Math.max(n, this.proving) + this.fulfilling;
  }

  private schedule(job: Job): void {
    const run = this.advance(job)
      .then(() => {
        if (job.failures > 0) this.deps.store.update(job.requestId, { failures: 0 });
      })
      .catch((error: unknown) => this.failed(job, error))
      .finally(() => this.inflight.delete(job.requestId));
    this.inflight.set(job.requestId, run);
  }

  /** Never gives up a job it may still serve: the next attempt re-reads the chain. */
  private failed(job: Job, error: unknown): void {
    const { store, metrics } = this.deps;
    const current = store.getJob(job.requestId) ?? job;
    if (error instanceof TxPendingError) {
      store.update(job.requestId, { retryAt: Date.now() + 500, note: error.message });
      return;
    }
    const failure = classify(error);
    const summary = error instanceof OperatorError ? error.message : failure.summary;
    const failures = current.failures + 1;
    const heldByUs = current.state !== "seen";
    const ceiling = heldByUs && failure.kind === "transient" ? this.limits.maxHeldBackoffMs : this.limits.maxBackoffMs;
    const delay = Math.min(ceiling, this.limits.backoffMs * 2 ** Math.min(failures - 1, 10));
    metrics.inc("job_errors");
    // Not yet ours and refused by the chain again and again (not serving, not enough stake): stop trying.
    // Anything else (transport trouble, unknown errors) is retried with backoff, never a reason to give up.
    if (!heldByUs && failures >= 8 && failure.kind === "revert") {
      store.update(job.requestId, { state: "skipped", note: `not claimable: ${summary}`.slice(0, 500), failures });
      metrics.inc("requests_failed", job);
      this.log.error({ requestId: job.requestId, reason: summary }, "request not claimable; skipped");
      return;
    }
    store.update(job.requestId, { failures, retryAt: Date.now() + delay, note: summary.slice(0, 500) });
    const level = heldByUs && failures >= 3 ? "error" : "warn";
    this.log[level](
      {
        requestId: job.requestId,
        state: current.state,
        kind: failure.kind,
        reason: summary,
        failures,
        retryInMs: delay,
      },
      heldByUs ? "step failed on a job we hold; will retry" : "step failed; will retry",
    );
  }

  private async advance(job: Job): Promise<void> {
    const { market, store, operatorAddress } = this.deps;
    const me = operatorAddress.toLowerCase();
    const onChain = await withRetry("getRequest", () => market.getRequest(job.requestId), this.deps.retry, this.log);
    // A claim in flight that the chain has settled one way or the other holds no stake in reserve any more.
    if (onChain.status !== Status.Open) this.reserved.delete(job.requestId);
    const mine = onChain.operator.toLowerCase() === me;

    if (onChain.status === Status.None) {
      // Not (or no longer, after a reorg) on chain: wait for it to reappear.
      store.update(job.requestId, { state: "seen", retryAt: Date.now() + 2_000 });
      return;
    }
    if (onChain.status === Status.Finalized || onChain.status === Status.Refunded) {
      const settled = mine && onChain.status === Status.Finalized;
      const head = await this.provider().getBlockNumber();
      store.update(job.requestId, { state: settled ? "done" : "skipped", settledBlock: head });
      if (settled && job.state !== "done") this.deps.metrics.inc("requests_settled", job);
      return;
    }
    if ((onChain.status === Status.Claimed || onChain.status === Status.Submitted) && !mine) {
      store.update(job.requestId, { state: "skipped", note: `served by ${onChain.operator}` });
      return;
    }
    const executor = this.deps.executors.get(executorKey(job.modelId, job.mode));
    if (executor === undefined) return;

    if (onChain.status === Status.Open) {
      const now = await withRetry("activeTime", () => market.activeTime(), this.deps.retry, this.log);
      if (now >= onChain.deadline) {
        this.reserved.delete(job.requestId);
        store.update(job.requestId, { state: "skipped", note: "deadline passed unclaimed" });
        return;
      }
      try {
        await executor.check(job);
        if (executor.checkTerms !== undefined) {
          const modeConfig = await withRetry(
            "modeConfigOf",
            () => market.modeConfigOf(job.requestId),
            this.deps.retry,
            this.log,
          );
          await executor.checkTerms(
            { operatorStake: onChain.operatorStake, modeConfig },
            { provider: this.provider(), policy: this.deps.policy ?? DEFAULT_TERMS_POLICY },
          );
        }
      } catch (error) {
        if (!refusesRequest(error)) throw error;
        // Left to the deadline refund: claiming would only cost a no-show slash.
        store.update(job.requestId, { state: "skipped", note: (error as Error).message });
        this.deps.metrics.inc("requests_failed", job);
        this.log.warn({ requestId: job.requestId, reason: (error as Error).message }, "not claiming");
        return;
      }
      // An instant mode settles with one fulfill: nothing to claim, nothing locked.
      if (executor.instant === "open") return this.fulfill(job, executor, onChain.deadline, Status.Open);
      // Claims in flight each lock stake once mined: a claim the free stake cannot cover would revert. A
      // claim of this job already in flight keeps its reservation and is waited for, not re-checked.
      if (!this.reserved.has(job.requestId)) {
        const free = await withRetry(
          "freeStake",
          () => this.deps.vault.freeStake(operatorAddress),
          this.deps.retry,
          this.log,
        );
        let reserved = 0n;
        for (const amount of this.reserved.values()) reserved += amount;
        if (free < reserved + onChain.operatorStake) {
          store.update(job.requestId, { retryAt: Date.now() + 1_000, note: "waiting for free stake" });
          this.deps.metrics.inc("claims_deferred");
          return;
        }
        this.reserved.set(job.requestId, onChain.operatorStake);
      }
      try {
        await this.deps.tx.send({
          key: `claim:${job.requestId}`,
          action: "claim",
          requestId: job.requestId,
          build: () => market.claim.populateTransaction(job.requestId),
          deadline: await this.unixOf(onChain.deadline),
          jobState: "claiming",
        });
      } catch (error) {
        // Still pending: the reservation stays until the claim is mined or refused.
        if (error instanceof TxPendingError) throw error;
        this.reserved.delete(job.requestId);
        if (!(error instanceof TxRevertedError) && classify(error).kind !== "revert") throw error;
        // Lost the race (another operator claimed first) or the request changed: the chain decides next.
        const now = await market.getRequest(job.requestId);
        if (now.status !== Status.Open) return this.advance(job);
        // Refused and still open: not ours, so not a held job (no backlog, no held-job retries).
        store.update(job.requestId, { state: "seen" });
        throw error;
      }
      this.reserved.delete(job.requestId);
      store.update(job.requestId, { state: "claimed" });
      this.deps.metrics.inc("requests_claimed", job);
      return this.advance({ ...job, state: "claimed" });
    }

    if (onChain.status === Status.Claimed && executor.instant !== undefined) {
      return this.fulfill(job, executor, onChain.claimDeadline, Status.Claimed);
    }

    if (onChain.status === Status.Claimed) {
      let output = job.output;
      let proof = job.proof;
      if (output === null || proof === null) {
        const result = await this.prove(executor, job);
        output = result.output;
        proof = result.proof;
        store.update(job.requestId, { output, proof, state: "claimed" });
      }
      const [o, p] = [output, proof];
      await this.deps.tx.send({
        key: `submit:${job.requestId}`,
        action: "submit",
        requestId: job.requestId,
        build: () => market.submitResult.populateTransaction(job.requestId, o, p),
        deadline: await this.unixOf(onChain.claimDeadline),
        jobState: "submitting",
      });
      store.update(job.requestId, { state: "submitted" });
      return this.advance({ ...job, state: "submitted", output, proof });
    }

    if (onChain.status === Status.Submitted) {
      if (!(await this.isFinal(onChain.module, job.requestId))) {
        // The module's verdict takes its windows: look again in a while.
        store.update(job.requestId, { state: "submitted", retryAt: Date.now() + 2_000 });
        return;
      }
      const receipt = await this.deps.tx.send({
        key: `finalize:${job.requestId}`,
        action: "finalize",
        requestId: job.requestId,
        build: () => market.finalize.populateTransaction(job.requestId),
        jobState: "finalizing",
      });
      store.update(job.requestId, { state: "done", settledBlock: receipt.blockNumber });
      this.deps.metrics.inc("requests_settled", job);
      this.log.info({ requestId: job.requestId }, "settled");
    }
  }

  /**
   * Proves (once: the result is stored) and settles with `fulfill` before `activeDeadline` (the request's
   * deadline when open, our claim window when claimed). Lost to another operator: the chain says so on the
   * next read. Refused while the request is still as it was: not ours to hold, so retried as an unclaimed job.
   */
  private async fulfill(job: Job, executor: Executor, activeDeadline: bigint, status: bigint): Promise<void> {
    const { market, store } = this.deps;
    this.fulfilling++;
    try {
      let { output, proof } = job;
      if (output === null || proof === null) {
        ({ output, proof } = await this.prove(executor, job));
        store.update(job.requestId, { output, proof });
      }
      const [o, p] = [output, proof];
      try {
        const receipt = await this.deps.tx.send({
          key: `fulfill:${job.requestId}`,
          action: "fulfill",
          requestId: job.requestId,
          build: () => market.fulfill.populateTransaction(job.requestId, o, p),
          deadline: await this.unixOf(activeDeadline),
          jobState: "fulfilling",
        });
        store.update(job.requestId, { state: "done", settledBlock: receipt.blockNumber });
        this.deps.metrics.inc("requests_settled", job);
        this.log.info({ requestId: job.requestId, via: "fulfill", gasUsed: receipt.gasUsed.toString() }, "settled");
      } catch (error) {
        if (error instanceof TxPendingError) throw error;
        if (!(error instanceof TxRevertedError) && classify(error).kind !== "revert") throw error;
        const now = await market.getRequest(job.requestId);
        if (now.status !== status) return this.advance({ ...job, output, proof });
        store.update(job.requestId, { state: status === Status.Claimed ? "claimed" : "seen" });
        throw error;
      }
    } finally {
      this.fulfilling--;
    }
  }

  /** Runs the executor within the proving pool. */
  private async prove(executor: Executor, job: Job): Promise<{ output: string; proof: string }> {
    while (this.proving >= this.limits.provers) await new Promise((r) => setTimeout(r, 20));
    this.proving++;
    try {
      const started = performance.now();
      const result = await executor.execute(job);
      this.deps.metrics.observeProofMs(performance.now() - started);
      this.deps.metrics.inc("requests_proved", job);
      return result;
    } finally {
      this.proving--;
    }
  }

  /** Jobs marked done recently are re-read until their settlement is `confirmations` deep (reorgs). */
  private async recheckSettled(): Promise<void> {
    const head = await withRetry("blockNumber", () => this.provider().getBlockNumber(), this.deps.retry, this.log);
    for (const job of this.deps.store.recentlyDone(head - this.limits.confirmations)) {
      const onChain = await withRetry(
        "getRequest",
        () => this.deps.market.getRequest(job.requestId),
        this.deps.retry,
        this.log,
      );
      if (onChain.status !== Status.Finalized && onChain.status !== Status.Refunded) {
        this.log.warn(
          { requestId: job.requestId, status: Number(onChain.status) },
          "settlement reorganised away; resuming",
        );
        this.deps.store.update(job.requestId, { state: "submitted", settledBlock: 0, retryAt: 0 });
      }
    }
  }

  /** Every claim of ours in the recent blocks has a live job (a missed or reorganised event cannot strand one). */
  private async reconcile(): Promise<void> {
    if (Date.now() - this.lastReconcile < this.limits.reconcileEveryMs) return;
    this.lastReconcile = Date.now();
    const { market, store } = this.deps;
    const head = await withRetry("blockNumber", () => this.provider().getBlockNumber(), this.deps.retry, this.log);
    const claims = await withRetry(
      "getLogs RequestClaimed",
      () =>
        market.queryFilter(
          market.filters.RequestClaimed(undefined, this.deps.operatorAddress),
          Math.max(0, head - this.limits.reconcileBlocks),
          head,
        ),
      this.deps.retry,
      this.log,
    );
    for (const e of claims) {
      const job = store.getJob(e.args.requestId);
      if (job === undefined || job.state === "seen" || job.state === "skipped") {
        const onChain = await market.getRequest(e.args.requestId);
        const ours = onChain.operator.toLowerCase() === this.deps.operatorAddress.toLowerCase();
        if (!ours || onChain.status !== Status.Claimed) continue;
        if (job === undefined) continue; // a model this operator no longer serves: nothing to run it with
        store.update(job.requestId, { state: "claimed", retryAt: 0, note: "reconciled: our claim" });
        this.log.warn({ requestId: job.requestId }, "reconciled a claim the store had lost");
      }
    }
  }

  /** A deadline in the market's active time, as unix seconds now (pauses move it later). */
  private async unixOf(activeDeadline: bigint): Promise<number> {
    const active = await withRetry("activeTime", () => this.deps.market.activeTime(), this.deps.retry, this.log);
    return Math.floor(Date.now() / 1000) + Number(activeDeadline - active);
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
}
