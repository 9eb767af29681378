import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { AbiCoder, hexlify, keccak256, toUtf8String, getBytes, type ContractTransaction } from "ethers";
import { sendCall } from "../chain/tx-sender.js";
import type { Logger } from "pino";
import { QualityModule__factory, type QualityModule } from "../../../types/ethers-contracts/index.js";
import { isTransient, withRetry } from "../chain/retry.js";
import { OperatorError } from "../errors.js";
import { resolveInput } from "../executors/input.js";
import { chainTime } from "../sampling/chain.js";
import { CrossEncoder } from "../quality/evaluator.js";
import type { Role, RoleContext } from "./role.js";

export const MODE_QUALITY = 3;
const VALIDATOR = 1;
/** QualityModule.MAX_DRAW_ATTEMPTS. */
const MAX_DRAW_ATTEMPTS = 4n;
/** IInferenceMarket.Status values the duty reads. */
const Status = { Submitted: 3n } as const;

interface Row {
  request_id: string;
  model_id: string;
  score: number | null;
}

/** The salt of a commitment: derived from the validator's key, so a restart can still reveal. */
export function qualitySalt(privateKey: string, module: string, requestId: bigint): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "string", "address", "uint256"],
      [privateKey, "veriml.quality.salt", module, requestId],
    ),
  );
}

/**
 * The Proof-of-Quality duty of the `validator` role. It declares validator service for the quality models
 * it has a cross-encoder for, records quality submissions of those models, draws their committees when the
 * randomness is ready (anyone may), and when on a committee scores (prompt, response) with the
 * cross-encoder, commits keccak256(requestId, validator, score, salt), reveals once reveals open, resolves
 * the verdict and finalizes the request (which credits the rewards). Every step re-reads the chain first
 * and the salt is derived from the key, so a restart at any point neither double-sends nor loses a reveal.
 */
export class QualityScoreDuty implements Role {
  readonly name = "validator:quality";
  private readonly log: Logger;
  private module: QualityModule | undefined;
  private readonly encoders = new Map<string, CrossEncoder>();

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.log.child({ ns: "validator-quality" });
    ctx.store.database.exec(`
      CREATE TABLE IF NOT EXISTS quality_duties (
        request_id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        state TEXT NOT NULL,
        score INTEGER,
        updated_at INTEGER NOT NULL
      );
    `);
  }

  /** Quality models this validator has a cross-encoder for. */
  private served(): { modelId: bigint; crossEncoder: string }[] {
    return this.ctx.config.models.flatMap((m) =>
      m.modes.includes(MODE_QUALITY) && m.quality?.crossEncoder !== undefined
        ? [{ modelId: m.modelId, crossEncoder: m.quality.crossEncoder }]
        : [],
    );
  }

  private async init(): Promise<QualityModule> {
    if (this.module !== undefined) return this.module;
    const { ctx } = this;
    const address = await withRetry("moduleOf", () => ctx.registry.moduleOf(MODE_QUALITY), ctx.retry, this.log);
    const module = QualityModule__factory.connect(address, ctx.signer);
    for (const { modelId, crossEncoder } of this.served()) {
      if (!this.encoders.has(modelId.toString())) {
        this.encoders.set(modelId.toString(), await CrossEncoder.load(crossEncoder, this.log));
      }
      if (!(await ctx.vault.isServing(ctx.address, modelId, VALIDATOR))) {
        await this.send("setService(validator)", () =>
          ctx.vault.setService.populateTransaction(modelId, VALIDATOR, true),
        );
      }
    }
    this.module = module;
    return module;
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    if (this.served().length === 0) return;
    const module = await this.init();
    const served = new Set(this.served().map((s) => s.modelId.toString()));
    const events = await withRetry(
      "getLogs QualitySubmitted",
      () => module.queryFilter(module.filters.QualitySubmitted(), fromBlock, toBlock),
      this.ctx.retry,
      this.log,
    );
    const insert = this.ctx.store.database.prepare(
      "INSERT OR IGNORE INTO quality_duties (request_id, model_id, state, updated_at) VALUES (?, ?, 'pending', ?)",
    );
    for (const e of events) {
      if (!served.has(e.args.modelId.toString())) continue;
      const changes = insert.run(e.args.requestId.toString(), e.args.modelId.toString(), Date.now()).changes;
      if (changes > 0) this.log.info({ requestId: e.args.requestId }, "quality submission seen");
    }
  }

  async work(): Promise<void> {
    if (this.served().length === 0) return;
    const module = await this.init();
    const rows = this.ctx.store.database
      .prepare("SELECT request_id, model_id, score FROM quality_duties WHERE state = 'pending' ORDER BY updated_at")
      .all() as unknown as Row[];
    let failure: unknown;
    for (const row of rows) {
      try {
        await this.advance(module, row);
      } catch (error) {
        if (isTransient(error)) {
          this.log.warn({ requestId: row.request_id, err: error }, "transient failure; will retry");
          continue;
        }
        this.log.error({ requestId: row.request_id, err: error }, "quality duty step failed");
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  private setState(requestId: bigint, state: string, score?: number): void {
    this.ctx.store.database
      .prepare("UPDATE quality_duties SET state = ?, score = COALESCE(?, score), updated_at = ? WHERE request_id = ?")
      .run(state, score ?? null, Date.now(), requestId.toString());
  }

  private async advance(module: QualityModule, row: Row): Promise<void> {
    const { ctx } = this;
    const requestId = BigInt(row.request_id);
    const request = await withRetry("getRequest", () => ctx.market.getRequest(requestId), ctx.retry, this.log);
    if (request.status !== Status.Submitted) {
      this.setState(requestId, "done");
      return;
    }
    let job = await module.getJob(requestId);
    const now = await chainTime(ctx);

    if (!job.drawn && now <= job.drawDeadline && job.drawAttempt < MAX_DRAW_ATTEMPTS) {
      // The randomness keeper delivers the draw randomness; once it is there (or expired, or the draw came
      // short and new randomness was requested) drawCommittee takes the next step.
      if (await module.isDrawReady(requestId))
        await this.send("drawCommittee", () => module.drawCommittee.populateTransaction(requestId));
      job = await module.getJob(requestId);
      if (!job.drawn) return;
    }

    const members = await module.getMembers(requestId);
    const me = members.find((m) => m.validator.toLowerCase() === ctx.address.toLowerCase());
    if (me !== undefined && !me.revealed) {
      const salt = qualitySalt(ctx.config.privateKey, await module.getAddress(), requestId);
      if (me.commitment === "0x" + "0".repeat(64)) {
        if (now > job.commitDeadline) {
          this.log.warn({ requestId }, "commit window missed");
        } else {
          const score = row.score ?? (await this.score(module, requestId, BigInt(row.model_id), job.responseHash));
          this.setState(requestId, "pending", score);
          const commitment = await module.commitmentOf(requestId, ctx.address, score, salt);
          await this.send("commitScore", () => module.commitScore.populateTransaction(requestId, commitment));
          this.log.info({ requestId, score }, "score committed");
          return;
        }
      } else {
        const commits = members.filter((m) => m.commitment !== "0x" + "0".repeat(64)).length;
        const revealOpen = now > job.commitDeadline || commits === members.length;
        if (revealOpen && now <= job.revealDeadline) {
          const score = row.score ?? (await this.score(module, requestId, BigInt(row.model_id), job.responseHash));
          await this.send("revealScore", () => module.revealScore.populateTransaction(requestId, score, salt));
          this.log.info({ requestId, score }, "score revealed");
          return;
        }
        if (!revealOpen) return;
      }
    }

    if (!job.resolved) {
      const allRevealed = job.drawn && members.every((m) => m.revealed);
      if (!allRevealed && now <= job.revealDeadline) return;
      await this.send("resolve", () => module.resolve.populateTransaction(requestId));
    }
    // Rewards are credited by the market's settlement: finalize unless the operator already did.
    const latest = await ctx.market.getRequest(requestId);
    if (latest.status === Status.Submitted)
      await this.send("finalize", () => ctx.market.finalize.populateTransaction(requestId));
    this.setState(requestId, "done");
  }

  /** Scores the request's (prompt, response) with the model's cross-encoder; 0 for an unavailable response. */
  private async score(
    module: QualityModule,
    requestId: bigint,
    modelId: bigint,
    responseHash: string,
  ): Promise<number> {
    const encoder = this.encoders.get(modelId.toString());
    if (encoder === undefined) throw new OperatorError(`no cross-encoder for model ${modelId}`);
    const { market } = this.ctx;
    const [created] = await market.queryFilter(market.filters.RequestCreated(requestId));
    if (created === undefined) throw new OperatorError(`request ${requestId}: no RequestCreated event`);
    const promptBytes = await resolveInput({
      input: hexlify(created.args.input),
      inputHash: created.args.inputHash,
      inputURI: created.args.inputURI,
    });
    const response = await this.response(module, requestId, responseHash);
    if (response === undefined) {
      this.log.warn({ requestId }, "response unavailable or not matching its hash; scoring 0");
      return 0;
    }
    let prompt: string;
    let text: string;
    try {
      prompt = toUtf8String(promptBytes);
      text = toUtf8String(response);
    } catch {
      return 0;
    }
    const started = performance.now();
    const { score } = await encoder.score(prompt, text);
    this.log.info({ requestId, score, ms: Number((performance.now() - started).toFixed(2)) }, "scored");
    return score;
  }

  /** The response bytes: inline from the submission, or read from its URI and checked against the hash. */
  private async response(
    module: QualityModule,
    requestId: bigint,
    responseHash: string,
  ): Promise<Uint8Array | undefined> {
    const [submitted] = await module.queryFilter(module.filters.QualitySubmitted(requestId));
    const uri = submitted?.args.responseURI ?? "";
    let bytes: Uint8Array;
    if (uri === "") {
      const { market } = this.ctx;
      const [result] = await market.queryFilter(market.filters.ResultSubmitted(requestId));
      if (result === undefined) return undefined;
      bytes = getBytes(result.args.output);
    } else if (uri.startsWith("file:")) {
      try {
        bytes = new Uint8Array(await readFile(fileURLToPath(uri)));
      } catch {
        return undefined;
      }
    } else {
      return undefined;
    }
    return keccak256(bytes) === responseHash ? bytes : undefined;
  }

  private async send(what: string, build: () => Promise<ContractTransaction>): Promise<void> {
    const receipt = await sendCall(this.ctx.tx, what, build);
    this.log.info({ action: what, tx: receipt.hash }, "sent");
  }

  async close(): Promise<void> {
    for (const e of this.encoders.values()) await e.close();
  }
}
