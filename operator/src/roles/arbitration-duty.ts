import { concat, keccak256, zeroPadValue, type ContractTransaction } from "ethers";
import type { Logger } from "pino";
import {
  OneStepExecutor__factory,
  OptimisticArbitrator__factory,
  type OptimisticArbitrator,
  type SamplingModule,
} from "../../../types/ethers-contracts/index.js";
import { isTransient, withRetry } from "../chain/retry.js";
import { resolveInput } from "../executors/input.js";
import { SamplingExecutor } from "../executors/sampling.js";
import {
  ZERO_HASH,
  buildOneStepProof,
  descendants,
  elementLeaf,
  outputHashOf,
  outputOf,
  siblingsOf,
  tensorLeaf,
  type TraceCommitment,
} from "../optimistic/trace.js";
import { MODE_SAMPLING, chainTime, requestInput, samplingModule, sendAndWait } from "../sampling/chain.js";
import type { Role, RoleContext } from "./role.js";
import { executorKey } from "./worker.js";

/** Mirrors IOptimisticArbitrator.Stage. */
export const ArbitrationStage = { None: 0, Posting: 1, Trace: 2, Tensor: 3, OneStep: 4, Resolved: 5 } as const;

interface DisputeRow {
  arbitrator: string;
  dispute_id: string;
  request_id: string;
  block: number;
}

/**
 * Plays the OptimisticArbitrator's two-trace dissection game for one party of spML disputes: side 0 (party
 * A, the assigned operator; part of the `worker` role) or side 1 (party B, the sampler; part of the
 * `sampler` role). It watches DisputeOpened of any arbitrator whose client is the SamplingModule, keeps the
 * disputes where this operator is the party of its side and that an OptimisticArbitrator runs, and then, on
 * every `work`, reads the dispute from the chain and makes the move that is due: post the trace root with the
 * output path, reveal the descendants of its disputed node on its turn (B passes A's pending reveal, read
 * from ChildrenRevealed), run the one-step when it wins it (checked beforehand with a static call of the
 * OneStepExecutor), and call `timeout` when the opponent's clock or a window ran out.
 *
 * Restart-safe: the trace is recomputed deterministically from the request input (reference interpreter) and
 * everything else is read from the chain; SQLite keeps only the list of disputes (and which are over).
 */
export class ArbitrationDuty implements Role {
  readonly name: string;
  private readonly log: Logger;
  private module: SamplingModule | undefined;
  /** Per arbitrator address: whether it is an OptimisticArbitrator (cached; its code does not change). */
  private readonly optimistic = new Map<string, boolean>();
  private readonly traces = new Map<string, TraceCommitment>();

  constructor(
    private readonly ctx: RoleContext,
    private readonly side: 0 | 1,
  ) {
    this.name = side === 0 ? "worker:arbitration" : "sampler:arbitration";
    this.log = ctx.log.child({ ns: this.name });
    ctx.store.database.exec(`
      CREATE TABLE IF NOT EXISTS arbitration_disputes (
        arbitrator TEXT NOT NULL,
        dispute_id TEXT NOT NULL,
        side INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        block INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (arbitrator, dispute_id, side)
      );
    `);
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    this.module ??= await samplingModule(this.ctx);
    const client = await this.module.getAddress();
    const iface = OptimisticArbitrator__factory.createInterface();
    const topic = iface.getEvent("DisputeOpened").topicHash;
    // Any arbitrator: the models' configs name them; DisputeOpened's client (indexed) is the module.
    const logs = await withRetry(
      "getLogs DisputeOpened",
      () => this.ctx.provider.getLogs({ fromBlock, toBlock, topics: [topic, null, zeroPadValue(client, 32)] }),
      this.ctx.retry,
      this.log,
    );
    const me = this.ctx.address.toLowerCase();
    const insert = this.ctx.store.database.prepare(
      "INSERT OR IGNORE INTO arbitration_disputes (arbitrator, dispute_id, side, request_id, block) VALUES (?, ?, ?, ?, ?)",
    );
    for (const log of logs) {
      if (!(await this.isOptimistic(log.address))) continue;
      const parsed = iface.parseLog(log);
      if (parsed === null) continue;
      const disputeId = parsed.args.disputeId as bigint;
      const dispute = await this.arbitrator(log.address).getDispute(disputeId);
      if (dispute.parties[this.side]!.toLowerCase() !== me) continue;
      const requestId = parsed.args.requestId as bigint;
      const added =
        Number(
          insert.run(log.address, disputeId.toString(), this.side, requestId.toString(), log.blockNumber).changes,
        ) === 1;
      if (added) this.log.info({ arbitrator: log.address, disputeId, requestId }, "dispute opened: playing it");
    }
  }

  async work(): Promise<void> {
    const rows = this.ctx.store.database
      .prepare("SELECT * FROM arbitration_disputes WHERE done = 0 AND side = ? ORDER BY block")
      .all(this.side) as unknown as DisputeRow[];
    for (const row of rows) {
      try {
        if (await this.advance(row)) {
          this.ctx.store.database
            .prepare("UPDATE arbitration_disputes SET done = 1 WHERE arbitrator = ? AND dispute_id = ? AND side = ?")
            .run(row.arbitrator, row.dispute_id, this.side);
          this.traces.delete(`${row.arbitrator}:${row.dispute_id}`);
        }
      } catch (error) {
        if (!isTransient(error)) this.ctx.metrics.inc("sampling_failed");
        this.log.warn({ disputeId: row.dispute_id, err: error }, "arbitration step failed; will retry");
      }
    }
  }

  /** One move (at most); true once the dispute is resolved. */
  private async advance(row: DisputeRow): Promise<boolean> {
    const arbitrator = this.arbitrator(row.arbitrator);
    const disputeId = BigInt(row.dispute_id);
    const d = await arbitrator.getDispute(disputeId);
    const stage = Number(d.stage);
    if (stage === ArbitrationStage.Resolved) {
      this.log.info({ disputeId, winner: Number(d.winner), reason: Number(d.reason) }, "dispute resolved");
      return true;
    }
    const side = this.side;
    const now = await chainTime(this.ctx);
    if (stage === ArbitrationStage.Posting) {
      if (d.traceRoots[side] === ZERO_HASH && now <= d.deadline) {
        const c = await this.traceOf(row, d.modelId);
        if (c === undefined) return false;
        const last = c.tensorLevels.length - 1;
        // Only a trace that holds our claim can be posted (a claim we cannot back is not defended).
        if (outputHashOf(c).toLowerCase() !== d.claims[side]!.toLowerCase()) {
          this.log.error({ disputeId }, "our trace does not hold our claimed output: not posting");
          return false;
        }
        await this.send("postTrace", () =>
          arbitrator.postTrace.populateTransaction(
            disputeId,
            c.traceRoot,
            outputOf(c),
            siblingsOf(c.traceLevels, last),
          ),
        );
        return false;
      }
      return this.timeoutIfDue(arbitrator, disputeId);
    }
    if (stage === ArbitrationStage.Trace || stage === ArbitrationStage.Tensor) {
      const myTurn = d.bToMove === (side === 1);
      if (!myTurn) return this.timeoutIfDue(arbitrator, disputeId);
      const c = await this.traceOf(row, d.modelId);
      if (c === undefined) return false;
      const tree = stage === ArbitrationStage.Trace ? c.traceLevels : c.tensorLevels[Number(d.tensor)]!;
      const children = descendants(tree, Number(d.level), Number(d.position));
      const opponent = side === 1 ? await this.pendingReveal(arbitrator, row, d.parties[0]!, d) : [];
      if (opponent === undefined) return false; // A's reveal not visible to this node yet
      await this.send("reveal", () => arbitrator.reveal.populateTransaction(disputeId, children, opponent));
      return false;
    }
    // One step: run it only when the recomputation gives our element (we win).
    if (now > d.deadline) return this.timeoutIfDue(arbitrator, disputeId);
    const c = await this.traceOf(row, d.modelId);
    if (c === undefined) return false;
    const input = await this.input(row);
    const executor = this.executorFor(d.modelId)!;
    const [tensor, element] = [Number(d.tensor), Number(d.position)];
    const proof = buildOneStepProof(executor.graph, executor.tree, c, tensor, element, input);
    const oneStep = OneStepExecutor__factory.connect(await arbitrator.oneStepExecutor(), this.ctx.provider);
    const shape = await arbitrator.modelShapeOf(d.modelHash);
    const step = {
      modelHash: d.modelHash,
      leafCount: shape.leafCount,
      paramRoot: shape.paramRoot,
      traceRoot: d.traceRoots[side]!,
      inputHash: d.inputHash,
      tensor,
      element,
    };
    const [executable, computed] = await oneStep.execute(step, [...shape.tensorSizes], proof);
    const leaf = Number(d.depth) === 0 ? tensorLeaf(tensor, 1, elementLeaf(computed)) : elementLeaf(computed);
    if (!executable || leaf.toLowerCase() !== d.nodes[side]!.toLowerCase()) {
      this.log.warn({ disputeId, tensor, element }, "the one-step would not rule for us: not running it");
      return false;
    }
    this.log.info({ disputeId, tensor, element }, "running the one-step");
    await this.send("oneStep", () => arbitrator.oneStep.populateTransaction(disputeId, side, proof));
    return false;
  }

  /** A's reveal B must pass back: the latest ChildrenRevealed of A at the disputed node matching `revealed`. */
  private async pendingReveal(
    arbitrator: OptimisticArbitrator,
    row: DisputeRow,
    partyA: string,
    d: Awaited<ReturnType<OptimisticArbitrator["getDispute"]>>,
  ): Promise<string[] | undefined> {
    const events = await withRetry(
      "getLogs ChildrenRevealed",
      () => arbitrator.queryFilter(arbitrator.filters.ChildrenRevealed(BigInt(row.dispute_id), partyA), row.block),
      this.ctx.retry,
      this.log,
    );
    for (let i = events.length - 1; i >= 0; i--) {
      const children = [...events[i]!.args.children];
      if (keccak256(concat(children)).toLowerCase() === d.revealed.toLowerCase()) return children;
    }
    return undefined;
  }

  private async timeoutIfDue(arbitrator: OptimisticArbitrator, disputeId: bigint): Promise<boolean> {
    if (await arbitrator.canTimeout(disputeId)) {
      this.log.warn({ disputeId }, "opponent or window out of time: timeout");
      await this.send("timeout", () => arbitrator.timeout.populateTransaction(disputeId));
    }
    return false;
  }

  private executorFor(modelId: bigint): SamplingExecutor | undefined {
    const e = this.ctx.executors.get(executorKey(modelId, MODE_SAMPLING));
    return e instanceof SamplingExecutor ? e : undefined;
  }

  private async input(row: DisputeRow): Promise<Uint8Array> {
    const request = await requestInput(this.ctx, BigInt(row.request_id));
    return resolveInput(request);
  }

  /** Our trace of the request (recomputed from the input after a restart; cached while the dispute runs). */
  private async traceOf(row: DisputeRow, modelId: bigint): Promise<TraceCommitment | undefined> {
    const key = `${row.arbitrator}:${row.dispute_id}`;
    const cached = this.traces.get(key);
    if (cached !== undefined) return cached;
    const executor = this.executorFor(modelId);
    if (executor === undefined) {
      this.log.error({ disputeId: row.dispute_id, modelId }, "model not served in sampling mode: cannot play");
      return undefined;
    }
    const c = executor.trace(await this.input(row));
    this.traces.set(key, c);
    return c;
  }

  private arbitrator(address: string): OptimisticArbitrator {
    return OptimisticArbitrator__factory.connect(address, this.ctx.signer);
  }

  /** Whether `address` runs the OptimisticArbitrator (a committee has no one-step executor). */
  private async isOptimistic(address: string): Promise<boolean> {
    const key = address.toLowerCase();
    let known = this.optimistic.get(key);
    if (known === undefined) {
      try {
        await OptimisticArbitrator__factory.connect(address, this.ctx.provider).oneStepExecutor();
        known = true;
      } catch (error) {
        if (isTransient(error)) throw error;
        known = false;
      }
      this.optimistic.set(key, known);
    }
    return known;
  }

  private async send(what: string, build: () => Promise<ContractTransaction>): Promise<void> {
    await sendAndWait(this.ctx, what, build);
    this.ctx.metrics.inc("arbitration_moves");
  }
}
