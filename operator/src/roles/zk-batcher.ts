import type { Logger } from "pino";
import type { InferenceMarket } from "../../../types/ethers-contracts/index.js";
import { classify } from "../chain/errors.js";
import { type RetryPolicy, withRetry } from "../chain/retry.js";
import { TxPendingError, TxRevertedError, type TxSender } from "../chain/tx-sender.js";
import { BadInputError, OperatorError } from "../errors.js";
import type { BatchPolicy, Executor } from "../executors/executor.js";
import type { Metrics } from "../metrics.js";
import type { Job, OperatorStore } from "../store.js";
import { DEFAULT_TERMS_POLICY, TermsRefusedError, type TermsPolicy } from "../terms.js";

/** Chain-side request status, as IInferenceMarket.Status. */
const Status = { None: 0n, Open: 1n, Claimed: 2n, Submitted: 3n, Finalized: 4n, Refunded: 5n } as const;

/** Refusals of a batch its requests survive (still open) before they are given up. */
const MAX_BATCH_REFUSALS = 8;

export interface ZkBatcherDeps {
  market: InferenceMarket;
  operatorAddress: string;
  store: OperatorStore;
  metrics: Metrics;
  retry: RetryPolicy;
  log: Logger;
  tx: TxSender;
  policy?: TermsPolicy;
  backoffMs: number;
  maxBackoffMs: number;
}

/** A batch as recorded before its transaction: its requests (ascending), proof, and where it is. */
interface BatchRow {
  id: number;
  modelId: bigint;
  requestIds: bigint[];
  proof: string;
  state: "sending" | "mined" | "failed";
}

/** A request that passed every check and waits for a batch. */
interface Ready {
  job: Job;
  executor: Executor;
  policy: BatchPolicy;
  /** Unix seconds of its deadline (active time mapped to now). */
  deadline: number;
  since: number;
}

/**
 * zk requests of a batch build (a verifier of BATCH_SIZE k > 1) are answered k at a time: requests that pass
 * the single path's checks (input, terms) wait up to the model's window (or until `max` are waiting), one proof
 * covers them, the empty slots padded with copies of a real one, and one fulfillBatch transaction settles them
 * all; no claim, nothing staked per request. A request whose input turns out bad is dropped from the batch and
 * skipped as the single path skips it; the others go on.
 *
 * Never double-submits: a batch is recorded (its requests, proof and state, in one SQLite transaction) before
 * its transaction is sent under one idempotency key; a request belongs to at most one live batch, and a batch is
 * only resumed (the same transaction), never re-sent as another, until the chain has refused it. A refused batch
 * (a request answered by someone else, a deadline passed) frees its requests; the chain is re-read and the ones
 * still open are batched again, each with its own refusal count. Transport failures are retried with backoff.
 */
export class ZkBatcher {
  private readonly log: Logger;
  private readonly ready = new Map<bigint, Ready>();
  /** Jobs being screened or in a batch being proved or sent (not screened again meanwhile). */
  private readonly busy = new Set<bigint>();
  /** The batch being proved or sent, per model: one at a time. */
  private readonly running = new Map<bigint, Promise<void>>();
  private readonly retryBatchAt = new Map<number, number>();

  constructor(private readonly deps: ZkBatcherDeps) {
    this.log = deps.log.child({ ns: "zk-batch" });
    deps.store.database.exec(`
      CREATE TABLE IF NOT EXISTS zk_batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id TEXT NOT NULL,
        request_ids TEXT NOT NULL,
        proof TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS zk_batches_state ON zk_batches(state);
      CREATE TABLE IF NOT EXISTS zk_batch_members (request_id TEXT PRIMARY KEY, batch_id INTEGER NOT NULL);
    `);
  }

  /** Whether `executor` serves its requests in batches. */
  static batches(executor: Executor | undefined): executor is Executor & Required<Pick<Executor, "batchPolicy">> {
    return executor?.executeBatch !== undefined && executor.batchPolicy !== undefined;
  }

  /**
   * One round: resumes recorded batches, screens new jobs (the batch models' pending jobs, not held back by a
   * backoff), and starts a batch for every model whose oldest ready request has waited out the window or
   * that has `max` ready. Returns without waiting for proofs or transactions.
   */
  async work(jobs: { job: Job; executor: Executor & { batchPolicy: BatchPolicy } }[]): Promise<void> {
    for (const batch of this.batchesIn("sending")) {
      if (this.running.has(batch.modelId) || (this.retryBatchAt.get(batch.id) ?? 0) > Date.now()) continue;
      this.start(batch.modelId, () => this.send(batch));
    }
    for (const { job, executor } of jobs) {
      if (this.ready.has(job.requestId) || this.busy.has(job.requestId)) continue;
      if (this.liveBatchOf(job.requestId) !== undefined) continue;
      this.busy.add(job.requestId);
      try {
        await this.screen(job, executor, executor.batchPolicy);
      } catch (error) {
        this.failed([job], error);
      } finally {
        this.busy.delete(job.requestId);
      }
    }
    const byModel = new Map<bigint, Ready[]>();
    for (const r of this.ready.values()) byModel.set(r.job.modelId, [...(byModel.get(r.job.modelId) ?? []), r]);
    const now = Date.now();
    for (const [modelId, waiting] of byModel) {
      if (this.running.has(modelId)) continue;
      waiting.sort((a, b) => a.since - b.since || (a.job.requestId < b.job.requestId ? -1 : 1));
      const { windowMs, max } = waiting[0]!.policy;
      // A request near its deadline does not wait for company.
      const urgent = waiting.some((r) => r.deadline * 1000 - now < windowMs * 2 + 60_000);
      if (waiting.length < max && now - waiting[0]!.since < windowMs && !urgent) continue;
      const chosen = waiting.slice(0, max);
      for (const r of chosen) {
        this.ready.delete(r.job.requestId);
        this.busy.add(r.job.requestId);
      }
      this.start(modelId, () => this.prove(modelId, chosen), chosen);
    }
  }

  /** Waits for the batches in flight. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Requests waiting for a batch (a gauge for tests and logs). */
  readyCount(): number {
    return this.ready.size;
  }

  private start(modelId: bigint, run: () => Promise<void>, chosen: Ready[] = []): void {
    const promise = run()
      .catch((error: unknown) => this.log.error({ modelId, reason: (error as Error).message }, "batch step failed"))
      .finally(() => {
        for (const r of chosen) this.busy.delete(r.job.requestId);
        this.running.delete(modelId);
      });
    this.running.set(modelId, promise);
  }

  /** Reads a job's request from the chain; a fulfillable one that passes the executor's checks becomes ready. */
  private async screen(job: Job, executor: Executor, policy: BatchPolicy): Promise<void> {
    const { market, store, retry } = this.deps;
    const onChain = await withRetry("getRequest", () => market.getRequest(job.requestId), retry, this.log);
    if (!(await this.settleFromChain(job, onChain))) return;
    try {
      await executor.check(job);
      if (executor.checkTerms !== undefined) {
        const modeConfig = await withRetry("modeConfigOf", () => market.modeConfigOf(job.requestId), retry, this.log);
        await executor.checkTerms(
          { operatorStake: onChain.operatorStake, modeConfig },
          { provider: this.provider(), policy: this.deps.policy ?? DEFAULT_TERMS_POLICY },
        );
      }
    } catch (error) {
      if (!(error instanceof BadInputError || error instanceof TermsRefusedError)) throw error;
      this.refuse(job, error);
      return;
    }
    const deadline = await this.unixOf(onChain.deadline);
    if (job.state !== "seen") store.update(job.requestId, { state: "seen" });
    this.ready.set(job.requestId, { job, executor, policy, deadline, since: Date.now() });
  }

  /**
   * Settles the store's view of a request the chain says is not ours to answer (finalized, refunded, served
   * by another, past its deadline); returns whether it can still be fulfilled by us.
   */
  private async settleFromChain(
    job: Job,
    onChain: Awaited<ReturnType<InferenceMarket["getRequest"]>>,
  ): Promise<boolean> {
    const { store, metrics, operatorAddress } = this.deps;
    const mine = onChain.operator.toLowerCase() === operatorAddress.toLowerCase();
    if (onChain.status === Status.None) {
      store.update(job.requestId, { state: "seen", retryAt: Date.now() + 2_000 });
      return false;
    }
    if (onChain.status === Status.Finalized || onChain.status === Status.Refunded) {
      const settled = mine && onChain.status === Status.Finalized;
      const head = await this.provider().getBlockNumber();
      store.update(job.requestId, { state: settled ? "done" : "skipped", settledBlock: head });
      if (settled && job.state !== "done") metrics.inc("requests_settled", job);
      return false;
    }
    if (onChain.status !== Status.Open && !(onChain.status === Status.Claimed && mine)) {
      store.update(job.requestId, { state: "skipped", note: `served by ${onChain.operator}` });
      return false;
    }
    const now = await withRetry("activeTime", () => this.deps.market.activeTime(), this.deps.retry, this.log);
    const deadline = onChain.status === Status.Claimed ? onChain.claimDeadline : onChain.deadline;
    if (now >= deadline) {
      store.update(job.requestId, { state: "skipped", note: "deadline passed unanswered" });
      return false;
    }
    return true;
  }

  /** A request this operator will not serve (bad input, terms it refuses): left to the deadline refund. */
  private refuse(job: Job, error: Error): void {
    this.deps.store.update(job.requestId, { state: "skipped", note: error.message.slice(0, 500) });
    this.deps.metrics.inc("requests_failed", job);
    this.log.warn({ requestId: job.requestId, reason: error.message }, "not serving");
  }

  /** Proves a batch of ready requests and records it, then sends it. */
  private async prove(modelId: bigint, chosen: Ready[]): Promise<void> {
    const { market, metrics, retry } = this.deps;
    // The chain moves while requests wait: re-read each, and re-check its input, just before proving.
    const live: Ready[] = [];
    for (const r of chosen) {
      try {
        const onChain = await withRetry("getRequest", () => market.getRequest(r.job.requestId), retry, this.log);
        if (!(await this.settleFromChain(r.job, onChain))) continue;
        await r.executor.check(r.job);
        live.push(r);
      } catch (error) {
        if (error instanceof BadInputError) this.refuse(r.job, error);
        else this.failed([r.job], error);
      }
    }
    if (live.length === 0) return;
    live.sort((a, b) => (a.job.requestId < b.job.requestId ? -1 : 1));
    const jobs = live.map((r) => r.job);
    const executor = live[0]!.executor;
    let result;
    const started = performance.now();
    try {
      result = await executor.executeBatch!(jobs);
    } catch (error) {
      if (error instanceof BadInputError) {
        // Which request it was is found by checking each again: that one is dropped, the others wait again.
        for (const r of live) {
          try {
            await r.executor.check(r.job);
            this.ready.set(r.job.requestId, { ...r, since: r.since });
          } catch (bad) {
            if (bad instanceof BadInputError) this.refuse(r.job, bad);
            else this.failed([r.job], bad);
          }
        }
        return;
      }
      this.failed(jobs, error);
      return;
    }
    metrics.observeProofMs(performance.now() - started);
    for (const job of jobs) metrics.inc("requests_proved", job);
    const batch = this.record(modelId, jobs, result.proof, result.outputs);
    this.log.info({ batch: batch.id, requestIds: batch.requestIds, slots: executor.batchSize }, "batch proved");
    await this.send(batch, Math.min(...live.map((r) => r.deadline)));
  }

  /** Records a proved batch and marks its requests as being fulfilled by it, atomically. */
  private record(modelId: bigint, jobs: Job[], proof: string, outputs: string[]): BatchRow {
    const db = this.deps.store.database;
    const ids = jobs.map((j) => j.requestId);
    db.exec("BEGIN IMMEDIATE");
    try {
      const inserted = db
        .prepare(
          "INSERT INTO zk_batches (model_id, request_ids, proof, state, created_at) VALUES (?, ?, ?, 'sending', ?)",
        )
        .run(modelId.toString(), ids.join(","), proof, Date.now());
      const id = Number(inserted.lastInsertRowid);
      for (const [k, job] of jobs.entries()) {
        db.prepare("INSERT OR REPLACE INTO zk_batch_members (request_id, batch_id) VALUES (?, ?)").run(
          job.requestId.toString(),
          id,
        );
        db.prepare(
          "UPDATE jobs SET state = 'fulfilling', output = ?, proof = NULL, updated_at = ? WHERE request_id = ?",
        ).run(outputs[k]!, Date.now(), job.requestId.toString());
      }
      db.exec("COMMIT");
      return { id, modelId, requestIds: ids, proof, state: "sending" };
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Sends (or resumes) a recorded batch's fulfillBatch and settles its requests by the outcome. */
  private async send(batch: BatchRow, deadline?: number): Promise<void> {
    const { market, store, metrics, tx } = this.deps;
    let receipt;
    try {
      receipt = await tx.send({
        key: `fulfillBatch:${batch.id}`,
        action: "fulfillBatch",
        requestId: batch.requestIds[0]!,
        build: () => market.fulfillBatch.populateTransaction(batch.requestIds, batch.proof),
        ...(deadline === undefined ? {} : { deadline }),
      });
    } catch (error) {
      if (error instanceof TxPendingError) {
        this.retryBatchAt.set(batch.id, Date.now() + 500);
        return;
      }
      if (error instanceof TxRevertedError || classify(error).kind === "revert") {
        await this.refused(batch, error);
        return;
      }
      // Transport trouble: the batch stays recorded and is resumed (the same transaction) after a backoff.
      this.retryBatchAt.set(batch.id, Date.now() + this.deps.backoffMs * 4);
      this.log.warn({ batch: batch.id, reason: classify(error).summary }, "fulfillBatch failed; will resume");
      return;
    }
    this.setBatchState(batch.id, "mined");
    this.retryBatchAt.delete(batch.id);
    for (const requestId of batch.requestIds) {
      const job = store.getJob(requestId);
      store.update(requestId, { state: "done", settledBlock: receipt.blockNumber, failures: 0 });
      if (job !== undefined) metrics.inc("requests_settled", job);
    }
    metrics.inc("batches_settled");
    this.log.info(
      { batch: batch.id, requestIds: batch.requestIds, tx: receipt.hash, gasUsed: receipt.gasUsed },
      "batch settled",
    );
  }

  /** The chain refused a batch: its requests are free again; each is re-read and, if still open, batched anew. */
  private async refused(batch: BatchRow, error: unknown): Promise<void> {
    const summary = error instanceof OperatorError ? error.message : classify(error).summary;
    this.setBatchState(batch.id, "failed");
    this.log.warn({ batch: batch.id, requestIds: batch.requestIds, reason: summary }, "batch refused by the chain");
    for (const requestId of batch.requestIds) {
      const job = this.deps.store.getJob(requestId);
      if (job === undefined) continue;
      const onChain = await withRetry(
        "getRequest",
        () => this.deps.market.getRequest(requestId),
        this.deps.retry,
        this.log,
      );
      if (!(await this.settleFromChain(job, onChain))) continue;
      const failures = job.failures + 1;
      if (failures >= MAX_BATCH_REFUSALS) {
        this.deps.store.update(requestId, {
          state: "skipped",
          failures,
          note: `not fulfillable: ${summary}`.slice(0, 500),
        });
        this.deps.metrics.inc("requests_failed", job);
        this.log.error({ requestId, reason: summary }, "request refused in batch after batch; skipped");
        continue;
      }
      this.deps.store.update(requestId, {
        state: "seen",
        output: null,
        failures,
        retryAt: Date.now() + this.backoff(failures),
        note: summary.slice(0, 500),
      });
    }
  }

  /** A failure of a step before anything was sent: the requests stay unanswered and are retried with backoff. */
  private failed(jobs: Job[], error: unknown): void {
    const summary = error instanceof OperatorError ? error.message : classify(error).summary;
    this.deps.metrics.inc("job_errors");
    for (const job of jobs) {
      const current = this.deps.store.getJob(job.requestId) ?? job;
      const failures = current.failures + 1;
      const delay = this.backoff(failures);
      this.deps.store.update(job.requestId, { failures, retryAt: Date.now() + delay, note: summary.slice(0, 500) });
      this.log.warn(
        { requestId: job.requestId, reason: summary, failures, retryInMs: delay },
        "batch step failed; will retry",
      );
    }
  }

  private backoff(failures: number): number {
    return Math.min(this.deps.maxBackoffMs, this.deps.backoffMs * 2 ** Math.min(failures - 1, 10));
  }

  /** The live (recorded, not refused) batch a request belongs to, if any. */
  private liveBatchOf(requestId: bigint): BatchRow | undefined {
    const row = this.deps.store.database
      .prepare(
        `SELECT b.* FROM zk_batch_members m JOIN zk_batches b ON b.id = m.batch_id
         WHERE m.request_id = ? AND b.state IN ('sending', 'mined')`,
      )
      .get(requestId.toString()) as BatchDbRow | undefined;
    if (row === undefined) return undefined;
    const batch = toBatch(row);
    // A mined batch whose request the chain no longer has settled (a reorganisation) is resumed: the same
    // transaction goes back in (TxSender), never a second one.
    if (batch.state === "mined") {
      const job = this.deps.store.getJob(requestId);
      if (job?.state === "done") return batch;
      this.setBatchState(batch.id, "sending");
      return { ...batch, state: "sending" };
    }
    return batch;
  }

  private batchesIn(state: BatchRow["state"]): BatchRow[] {
    const rows = this.deps.store.database
      .prepare("SELECT * FROM zk_batches WHERE state = ? ORDER BY id")
      .all(state) as unknown as BatchDbRow[];
    return rows.map(toBatch);
  }

  private setBatchState(id: number, state: BatchRow["state"]): void {
    this.deps.store.database.prepare("UPDATE zk_batches SET state = ? WHERE id = ?").run(state, id);
  }

  /** A deadline in the market's active time, as unix seconds now (pauses move it later). */
  private async unixOf(activeDeadline: bigint): Promise<number> {
    const active = await withRetry("activeTime", () => this.deps.market.activeTime(), this.deps.retry, this.log);
    return Math.floor(Date.now() / 1000) + Number(activeDeadline - active);
  }

  private provider() {
    const provider = this.deps.market.runner?.provider;
    if (provider === null || provider === undefined) throw new OperatorError("the market has no provider");
    return provider;
  }
}

interface BatchDbRow {
  id: number;
  model_id: string;
  request_ids: string;
  proof: string;
  state: BatchRow["state"];
}

function toBatch(row: BatchDbRow): BatchRow {
  return {
    id: Number(row.id),
    modelId: BigInt(row.model_id),
    requestIds: row.request_ids.split(",").map(BigInt),
    proof: row.proof,
    state: row.state,
  };
}
