import type { Logger } from "pino";
import type { ContractTransaction } from "ethers";
import { sendCall, type TxSender } from "../chain/tx-sender.js";
import {
  OptimisticModule__factory,
  type InferenceMarket,
  type ModelRegistry,
  type OptimisticModule,
} from "../../../types/ethers-contracts/index.js";
import { type RetryPolicy, withRetry } from "../chain/retry.js";
import { OptimisticExecutor } from "../executors/optimistic.js";
import { resolveInput } from "../executors/input.js";
import type { Executor } from "../executors/executor.js";
import {
  Phase,
  challengerOneStep,
  challengerPick,
  operatorReveal,
  type GameState,
  type Reveal,
} from "../optimistic/game.js";
import { LEVELS_PER_MOVE, buildOneStepProof, commitTrace, type TraceCommitment } from "../optimistic/trace.js";
import type { OperatorStore } from "../store.js";
import { chainTime } from "../sampling/chain.js";
import type { Role } from "./role.js";

const MODE_OPTIMISTIC = 1;
const MarketStatus = { Submitted: 3n } as const;

export interface ChallengerDeps {
  market: InferenceMarket;
  registry: ModelRegistry;
  address: string;
  store: OperatorStore;
  executors: Map<string, Executor>;
  retry: RetryPolicy;
  log: Logger;
  tx: TxSender;
}

interface ResultRow {
  request_id: string;
  model_id: string;
  operator: string;
  trace_root: string;
  block: number;
  state: string;
}
interface GameRow {
  request_id: string;
  challenger: string;
  side: "attack" | "defend";
  block: number;
}

/**
 * The `challenger` role of optimistic mode. It watches ResultProposed for the models it serves,
 * re-executes each result with the reference interpreter and challenges only when the committed trace
 * differs from the correct one; it then plays the dispute game to the end (picks the leftmost wrong
 * node, runs the one-step, claims timeouts). It also defends this operator's own optimistic results
 * against challengers (reveals from its trace, runs the one-step). Every step re-reads the game from the
 * chain; the store only lists results and games, so a restart mid-game resumes where the chain is.
 */
export class Challenger implements Role {
  readonly name = "challenger";
  private readonly log: Logger;
  private module: OptimisticModule | undefined;
  private readonly traces = new Map<string, TraceCommitment>();

  constructor(private readonly deps: ChallengerDeps) {
    this.log = deps.log.child({ ns: "challenger" });
    const db = deps.store.database;
    db.exec(`CREATE TABLE IF NOT EXISTS optimistic_results (
      request_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, operator TEXT NOT NULL, trace_root TEXT NOT NULL,
      block INTEGER NOT NULL, state TEXT NOT NULL)`);
    db.exec(`CREATE TABLE IF NOT EXISTS optimistic_games (
      request_id TEXT NOT NULL, challenger TEXT NOT NULL, side TEXT NOT NULL, block INTEGER NOT NULL,
      done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (request_id, challenger))`);
  }

  private async optimistic(): Promise<OptimisticModule> {
    if (this.module === undefined) {
      const address = await this.deps.registry.moduleOf(MODE_OPTIMISTIC);
      this.module = OptimisticModule__factory.connect(address, this.deps.market.runner);
    }
    return this.module;
  }

  private executorFor(modelId: bigint): OptimisticExecutor | undefined {
    const e = this.deps.executors.get(`${modelId}:${MODE_OPTIMISTIC}`);
    return e instanceof OptimisticExecutor ? e : undefined;
  }

  async scan(fromBlock: number, toBlock: number): Promise<void> {
    const module = await this.optimistic();
    const db = this.deps.store.database;
    const me = this.deps.address.toLowerCase();
    const proposed = await withRetry(
      "getLogs ResultProposed",
      () => module.queryFilter(module.filters.ResultProposed(), fromBlock, toBlock),
      this.deps.retry,
      this.log,
    );
    for (const e of proposed) {
      const { requestId, modelId, operator, traceRoot } = e.args;
      if (this.executorFor(modelId) === undefined) continue;
      const mine = operator.toLowerCase() === me;
      db.prepare(
        "INSERT OR IGNORE INTO optimistic_results (request_id, model_id, operator, trace_root, block, state) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(requestId.toString(), modelId.toString(), operator, traceRoot, e.blockNumber, mine ? "mine" : "new");
    }
    const challenged = await withRetry(
      "getLogs Challenged",
      () => module.queryFilter(module.filters.Challenged(), fromBlock, toBlock),
      this.deps.retry,
      this.log,
    );
    for (const e of challenged) {
      const { requestId, challenger, operator } = e.args;
      const side = operator.toLowerCase() === me ? "defend" : challenger.toLowerCase() === me ? "attack" : undefined;
      if (side === undefined) continue;
      db.prepare(
        "INSERT OR IGNORE INTO optimistic_games (request_id, challenger, side, block) VALUES (?, ?, ?, ?)",
      ).run(requestId.toString(), challenger, side, e.blockNumber);
    }
  }

  async work(): Promise<void> {
    const db = this.deps.store.database;
    for (const row of db
      .prepare("SELECT * FROM optimistic_results WHERE state = 'new'")
      .all() as unknown as ResultRow[]) {
      await this.check(row);
    }
    const games = db.prepare("SELECT * FROM optimistic_games WHERE done = 0").all() as unknown as GameRow[];
    for (const game of games) await this.play(game);
  }

  /** The correct trace of a request, from its input (cached; recomputed after a restart). */
  private async correctTrace(requestId: bigint, modelId: bigint): Promise<{ c: TraceCommitment; input: Uint8Array }> {
    const executor = this.executorFor(modelId)!;
    const created = await this.deps.market.queryFilter(this.deps.market.filters.RequestCreated(requestId));
    const args = created[0]?.args;
    if (args === undefined) throw new Error(`request ${requestId}: no RequestCreated event`);
    const input = await resolveInput({ input: args.input, inputHash: args.inputHash, inputURI: args.inputURI });
    const key = requestId.toString();
    let c = this.traces.get(key);
    if (c === undefined) {
      c = commitTrace(executor.model.graph, executor.values(input));
      this.traces.set(key, c);
    }
    return { c, input };
  }

  private async check(row: ResultRow): Promise<void> {
    const module = await this.optimistic();
    const requestId = BigInt(row.request_id);
    const db = this.deps.store.database;
    const setState = (state: string) =>
      db.prepare("UPDATE optimistic_results SET state = ? WHERE request_id = ?").run(state, row.request_id);
    const { c } = await this.correctTrace(requestId, BigInt(row.model_id));
    if (c.traceRoot.toLowerCase() === row.trace_root.toLowerCase()) {
      this.log.debug({ requestId }, "result verified");
      this.traces.delete(row.request_id);
      return void setState("verified");
    }
    const game = await module.getGame(requestId, this.deps.address);
    if (Number(game.phase) === Phase.None) {
      const result = await module.getResult(requestId);
      const now = await chainTime(this.deps);
      if (result.operatorLost || now >= result.challengeDeadline) return void setState("missed");
      this.log.warn({ requestId, operator: row.operator }, "wrong trace: challenging");
      await this.send("challenge", () => module.challenge.populateTransaction(requestId));
    }
    db.prepare(
      "INSERT OR IGNORE INTO optimistic_games (request_id, challenger, side, block) VALUES (?, ?, 'attack', ?)",
    ).run(row.request_id, this.deps.address, row.block);
    setState("challenged");
  }

  private async play(row: GameRow): Promise<void> {
    const module = await this.optimistic();
    const requestId = BigInt(row.request_id);
    const result = await module.getResult(requestId);
    const g = await module.getGame(requestId, row.challenger);
    const phase = Number(g.phase);
    const finish = () =>
      this.deps.store.database
        .prepare("UPDATE optimistic_games SET done = 1 WHERE request_id = ? AND challenger = ?")
        .run(row.request_id, row.challenger);
    if (phase === Phase.Resolved || (result.operatorLost && row.side === "defend")) {
      this.log.info({ requestId, side: row.side, outcome: Number(g.outcome), moves: Number(g.moves) }, "game over");
      if (
        (await this.deps.market.getRequest(requestId)).status === MarketStatus.Submitted &&
        (await module.isFinal(requestId))
      ) {
        await this.send("finalize", () => this.deps.market.finalize.populateTransaction(requestId));
      }
      this.traces.delete(row.request_id);
      return void finish();
    }
    if (result.operatorLost) {
      await this.send("releaseBond", () => module.releaseBond.populateTransaction(requestId, row.challenger));
      return void finish();
    }
    const state: GameState = {
      phase,
      operatorToMove: g.operatorToMove,
      level: Number(g.level),
      tensor: Number(g.tensor),
      position: Number(g.position),
    };
    const myTurn = row.side === "defend" ? state.operatorToMove || phase === Phase.OneStep : !state.operatorToMove;
    if (!myTurn) {
      const now = await chainTime(this.deps);
      const remaining = state.operatorToMove ? g.operatorClock : g.challengerClock;
      if (now - g.lastMoveAt > remaining) {
        this.log.warn({ requestId, challenger: row.challenger }, "opponent out of time");
        await this.send("timeout", () => module.timeout.populateTransaction(requestId, row.challenger));
      }
      return;
    }
    const { c, input } = await this.correctTrace(requestId, result.modelId);
    const executor = this.executorFor(result.modelId)!;
    if (row.side === "defend") {
      if (phase === Phase.OneStep) {
        const proof = buildOneStepProof(
          executor.model.graph,
          executor.model.tree,
          c,
          state.tensor,
          state.position,
          input,
        );
        return this.send("oneStep", () => module.oneStep.populateTransaction(requestId, row.challenger, proof));
      }
      const children = operatorReveal(c, state);
      return this.send("reveal", () => module.reveal.populateTransaction(requestId, row.challenger, children));
    }
    const reveals = await this.reveals(module, requestId, row);
    if (phase === Phase.OneStep) {
      const traceRounds = Math.ceil((c.traceLevels.length - 1) / LEVELS_PER_MOVE);
      const proof = challengerOneStep(
        executor.model.graph,
        executor.model.tree,
        c,
        reveals.slice(0, traceRounds),
        state.tensor,
        state.position,
        input,
      );
      this.log.info({ requestId, tensor: state.tensor, element: state.position }, "running the one-step");
      return this.send("oneStep", () => module.oneStep.populateTransaction(requestId, row.challenger, proof));
    }
    const last = reveals[reveals.length - 1];
    if (last === undefined) return;
    const index = challengerPick(c, state, last.children);
    await this.send("pick", () => module.pick.populateTransaction(requestId, last.children, index < 0 ? 0 : index));
  }

  /** The operator's reveals in this game, in order. */
  private async reveals(module: OptimisticModule, requestId: bigint, row: GameRow): Promise<Reveal[]> {
    const events = await withRetry(
      "getLogs ChildrenRevealed",
      () => module.queryFilter(module.filters.ChildrenRevealed(requestId, row.challenger), row.block),
      this.deps.retry,
      this.log,
    );
    return events.map((e) => ({
      level: Number(e.args.level),
      position: Number(e.args.position),
      children: [...e.args.children],
    }));
  }

  private async send(what: string, build: () => Promise<ContractTransaction>): Promise<void> {
    const receipt = await sendCall(this.deps.tx, what, build);
    this.log.info({ tx: receipt.hash, gasUsed: receipt.gasUsed.toString() }, what);
  }
}
