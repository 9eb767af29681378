/**
 * The scripted optimistic cheat of the demos: an operator claims a request for a digits MLP, submits a wrong
 * label with a consistent wrong trace (fc1 computed with a wrong bias), and defends that trace move by move
 * until the game ends; an honest challenger (a bot with the challenger role) plays the other side and wins
 * the one-step. Used by scripts/demo-optimistic.ts and the web app's stack (scripts/lib/app-stack.ts).
 */
import type { Signer } from "ethers";
import type { InferenceMarket, OptimisticModule } from "../../types/ethers-contracts/index.js";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import { Phase, operatorReveal } from "../../operator/src/optimistic/game.js";
import { commitTrace, encodeSubmissionProof, outputOf } from "../../operator/src/optimistic/trace.js";

export interface StagedCheat {
  requestId: bigint;
  /** The label the cheater claimed. */
  claimed: number;
  /**
   * Defends the wrong trace against `challenger` until its game is resolved (the challenger must open it);
   * resolves with the number of moves. Stops early when `stopped()` says so.
   */
  defend(
    challenger: string,
    options?: { pollMs?: number; stopped?: () => boolean; timeoutMs?: number },
  ): Promise<number>;
}

/** Claims `requestId` as `cheater` and submits a wrong result for `input` (fc1's bias 10 shifted by 10,000). */
export async function stageCheat(
  market: InferenceMarket,
  optimistic: OptimisticModule,
  cheater: Signer,
  graph: IntGraph,
  requestId: bigint,
  input: Uint8Array,
): Promise<StagedCheat> {
  const wrongGraph = structuredClone(graph);
  const fc1 = wrongGraph.nodes[0]!;
  if (fc1.op !== "dense") throw new Error("the cheat needs a model that starts with a dense layer");
  fc1.bias[10] = fc1.bias[10]! + 10_000;
  const cheat = commitTrace(wrongGraph, input);
  await (await market.connect(cheater).claim(requestId)).wait();
  await (await market.connect(cheater).submitResult(requestId, outputOf(cheat), encodeSubmissionProof(cheat))).wait();
  const defend: StagedCheat["defend"] = async (challenger, options = {}) => {
    const until = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const g = await optimistic.getGame(requestId, challenger);
      const phase = Number(g.phase);
      if (phase === Phase.Resolved) return Number(g.moves);
      if (options.stopped?.()) return Number(g.moves);
      if (Date.now() > until) throw new Error(`the dispute over request ${requestId} did not end in time`);
      if (phase !== Phase.None && g.operatorToMove && phase !== Phase.OneStep) {
        const state = {
          phase,
          operatorToMove: true,
          level: Number(g.level),
          tensor: Number(g.tensor),
          position: Number(g.position),
        };
        await (await optimistic.connect(cheater).reveal(requestId, challenger, operatorReveal(cheat, state))).wait();
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  };
  return { requestId, claimed: Number(cheat.trace.output[0]), defend };
}
