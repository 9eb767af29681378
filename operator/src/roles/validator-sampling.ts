import { keccak256 } from "ethers";
import type { Logger } from "pino";
import {
  SamplingCommittee__factory,
  type SamplingCommittee,
  type SamplingModule,
} from "../../../types/ethers-contracts/index.js";
import { isTransient, withRetry } from "../chain/retry.js";
import { SamplingExecutor } from "../executors/sampling.js";
import {
  MODE_SAMPLING,
  RequestStatus,
  Stage,
  chainTime,
  requestInput,
  samplingModule,
  sendAndWait,
} from "../sampling/chain.js";
import { decodeSamplingConfig } from "../sampling/config.js";
import type { Role, RoleContext } from "./role.js";
import { executorKey } from "./worker.js";

const VALIDATOR = 1;

interface DisputeRow {
  committee: string;
  dispute_id: string;
  request_id: string;
}

/**
 * The spML voting duty of the `validator` role: declares validator service for the sampling models it
 * serves, watches the models' committees for disputes, draws committees when their randomness is ready,
 * and when drawn re-executes the request and votes with commit-reveal (the salt is derived from the key,
 * so a vote committed before a crash can still be revealed). It then resolves the dispute, advances the
 * module and finalizes the request, which pays the majority its share of the verification fee.
 */
export class SamplingVoteDuty implements Role {
  readonly name = "validator:sampling";
  private readonly log: Logger;
  private module: SamplingModule | undefined;
  private committees: SamplingCommittee[] | undefined;

  constructor(private readonly ctx: RoleContext) {
    this.log = ctx.log.child({ ns: "validator-sampling" });
    ctx.store.database.exec(`
      CREATE TABLE IF NOT EXISTS sampling_disputes (
        committee TEXT NOT NULL,
        dispute_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (committee, dispute_id)
      );
    `);
  }

  /** Sampling models this validator has an executor for. */
  private servedModels(): bigint[] {
    return this.ctx.config.models.filter((m) => m.modes.includes(MODE_SAMPLING)).map((m) => m.modelId);
  }

  private async init(): Promise<SamplingCommittee[]> {
    if (this.committees !== undefined) return this.committees;
    this.module = await samplingModule(this.ctx);
    const addresses = new Set<string>();
    for (const modelId of this.servedModels()) {
      if (!(await this.ctx.vault.isServing(this.ctx.address, modelId, VALIDATOR))) {
        await sendAndWait(this.ctx, "setService(validator)", () =>
          this.ctx.vault.setService.populateTransaction(modelId, VALIDATOR, true),
        );
      }
      const config = await this.ctx.registry.modeConfig(modelId, MODE_SAMPLING);
      addresses.add(decodeSamplingConfig(config).arbitrator);
    }
    this.committees = [...addresses].map((a) => SamplingCommittee__factory.connect(a, this.ctx.signer));
    return this.committees;
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    const committees = await this.init();
    const served = new Set(this.servedModels().map(String));
    const insert = this.ctx.store.database.prepare(
      "INSERT OR IGNORE INTO sampling_disputes (committee, dispute_id, request_id, state, updated_at) VALUES (?, ?, ?, 'open', ?)",
    );
    for (const committee of committees) {
      const address = await committee.getAddress();
      const events = await withRetry(
        "getLogs DisputeOpened",
        () => committee.queryFilter(committee.filters.DisputeOpened(), fromBlock, toBlock),
        this.ctx.retry,
        this.log,
      );
      for (const e of events) {
        if (!served.has(e.args.modelId.toString())) continue;
        if (
          Number(insert.run(address, e.args.disputeId.toString(), e.args.requestId.toString(), Date.now()).changes) ===
          1
        ) {
          this.log.info({ disputeId: e.args.disputeId, requestId: e.args.requestId }, "dispute opened");
        }
      }
    }
  }

  async work(): Promise<void> {
    await this.init();
    const rows = this.ctx.store.database
      .prepare("SELECT committee, dispute_id, request_id FROM sampling_disputes WHERE state = 'open'")
      .all() as unknown as DisputeRow[];
    for (const row of rows) {
      const disputeId = BigInt(row.dispute_id);
      try {
        const done = await this.advance(
          SamplingCommittee__factory.connect(row.committee, this.ctx.signer),
          disputeId,
          BigInt(row.request_id),
        );
        if (done) {
          this.ctx.store.database
            .prepare(
              "UPDATE sampling_disputes SET state = 'done', updated_at = ? WHERE committee = ? AND dispute_id = ?",
            )
            .run(Date.now(), row.committee, row.dispute_id);
        }
      } catch (error) {
        if (!isTransient(error)) this.ctx.metrics.inc("sampling_failed");
        this.log.warn({ disputeId, err: error }, "validator step failed; will retry");
      }
    }
  }

  /** One step; true once the dispute and its request are settled. */
  private async advance(committee: SamplingCommittee, disputeId: bigint, requestId: bigint): Promise<boolean> {
    const dispute = await committee.getDispute(disputeId);
    if (dispute.stage === Stage.AwaitingDraw) {
      if (await committee.canDraw(disputeId)) {
        await sendAndWait(this.ctx, "drawCommittee", () => committee.drawCommittee.populateTransaction(disputeId));
      } else if (await committee.canResolve(disputeId)) {
        await sendAndWait(this.ctx, "resolve", () => committee.resolve.populateTransaction(disputeId));
      }
      return false;
    }
    if (dispute.stage === Stage.Voting) {
      await this.vote(
        committee,
        disputeId,
        requestId,
        dispute.commitDeadline,
        dispute.revealDeadline,
        Number(dispute.commits),
      );
      if (await committee.canResolve(disputeId)) {
        await sendAndWait(this.ctx, "resolve", () => committee.resolve.populateTransaction(disputeId));
      }
      return false;
    }
    // Resolved: push the verdict through the module and the market (the majority's reward is paid there).
    const module = this.module!;
    if (await module.canAdvance(requestId)) {
      await sendAndWait(this.ctx, "advance", () => module.advance.populateTransaction(requestId));
    }
    const request = await this.ctx.market.getRequest(requestId);
    if (request.status === RequestStatus.Submitted && (await module.isFinal(requestId))) {
      await sendAndWait(this.ctx, "finalize", () => this.ctx.market.finalize.populateTransaction(requestId));
    }
    const after = await this.ctx.market.getRequest(requestId);
    return after.status === RequestStatus.Finalized || after.status === RequestStatus.Refunded;
  }

  private async vote(
    committee: SamplingCommittee,
    disputeId: bigint,
    requestId: bigint,
    commitDeadline: bigint,
    revealDeadline: bigint,
    commits: number,
  ): Promise<void> {
    const members = await committee.membersOf(disputeId);
    const me = this.ctx.address.toLowerCase();
    if (!members.some((m) => m.toLowerCase() === me)) return;
    const vote = await committee.voteOf(disputeId, this.ctx.address);
    if (vote.revealed) return;
    const now = await chainTime(this.ctx);
    const committed = vote.commitment !== "0x" + "0".repeat(64);
    if (committed && commits < members.length && now <= commitDeadline) return; // reveals not open yet
    if (!committed && now >= commitDeadline) return;
    if (committed && now >= revealDeadline) return;
    const input = await requestInput(this.ctx, requestId);
    const executor = this.ctx.executors.get(executorKey(input.modelId, MODE_SAMPLING));
    if (!(executor instanceof SamplingExecutor)) return;
    // Re-execute: the vote is the hash of this validator's own output, never a copy of a party's claim.
    const outputHash = keccak256(await executor.infer(input));
    const salt = executor.salt(`validator:${await committee.getAddress()}`, disputeId);
    if (!committed) {
      const commitment = await committee.voteCommitment(disputeId, this.ctx.address, outputHash, salt);
      await sendAndWait(this.ctx, "commitVote", () => committee.commitVote.populateTransaction(disputeId, commitment));
      this.ctx.metrics.inc("validator_votes");
    } else {
      await sendAndWait(this.ctx, "revealVote", () =>
        committee.revealVote.populateTransaction(disputeId, outputHash, salt),
      );
      this.ctx.metrics.inc("validator_votes");
    }
  }
}
