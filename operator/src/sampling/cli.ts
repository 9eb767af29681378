import { Command, InvalidArgumentError } from "commander";
import { expectedProfits, samplingBound, parseEconomics } from "./calculator.js";

const num = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`not a number: ${value}`);
  return n;
};

/**
 * `veriml sampling calc`: the minimum sampling probability for honest operation (docs/SAMPLING.md), and the
 * expected profit of each strategy at the probabilities asked for.
 */
export function registerSamplingCommands(program: Command): void {
  program
    .command("sampling")
    .description("spML tools")
    .command("calc")
    .description("minimum sampling probability p for which honesty is the pure-strategy equilibrium")
    .requiredOption("--cost <C>", "inference cost per request", num)
    .requiredOption("--reward <R>", "operator reward per accepted request (price minus protocol fee)", num)
    .requiredOption("--stake <S>", "stake slashed when caught", num)
    .option("--collusion <gamma>", "share of samplers colluding with cheaters", num, 0)
    .option("--gain <G>", "outside gain of an accepted wrong output", num, 0)
    .option("--lazy-accuracy <q>", "probability a guess is right", num, 0)
    .option("--fee <F>", "sampler's verification fee (default: the reward)", num)
    .option("--p <list>", "comma-separated probabilities to show expected profits at", "")
    .option("--json", "print JSON")
    .action((opts: Record<string, unknown>) => {
      const economics = parseEconomics({
        inferenceCost: opts.cost,
        reward: opts.reward,
        stake: opts.stake,
        collusionShare: opts.collusion,
        cheatGain: opts.gain,
        lazyAccuracy: opts.lazyAccuracy,
        ...(opts.fee === undefined ? {} : { verifierFee: opts.fee }),
      });
      const bound = samplingBound(economics);
      const ps = String(opts.p)
        .split(",")
        .filter((s) => s.trim() !== "")
        .map((s) => num(s.trim()));
      const profits = ps.map((p) => expectedProfits(p, economics));
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify({ economics, bound, profits }, null, 2)}\n`);
        return;
      }
      const f = (x: number): string => x.toPrecision(6);
      process.stdout.write(
        [
          `p_min (cheating) = (C + G) / ((1 - gamma)(R + G + S)) = ${f(bound.pMinCheating)}`,
          `p_min (lazy)     = C / ((1 - gamma)(1 - q)(R + S))    = ${f(bound.pMinLazy)}`,
          `p_min            = ${f(bound.pMin)}  ->  sampleBps >= ${bound.minSampleBps ?? "none (infeasible: raise the stake)"}`,
          `expected compute at p_min: ${f(bound.costFactorAtPMin)} x plain inference`,
          `sampler: fee ${f(bound.sampler.verifierFee)}; re-executing beats guessing: ${bound.sampler.honestBeatsGuess}; ` +
            `fee covers cost: ${bound.sampler.participates}`,
          ...profits.map((r) => `p = ${r.p}: honest ${f(r.honest)}  lazy ${f(r.lazy)}  cheating ${f(r.cheating)}`),
        ].join("\n") + "\n",
      );
    });
}
