/**
 * The Proof of Sampling calculator: the smallest sampling probability p for which honesty is a strict
 * pure-strategy Nash equilibrium for the assigned operator, given its inference cost, its reward, its
 * stake and the share of the sampler pool that colludes with cheaters. Derivation: docs/SAMPLING.md.
 *
 * All amounts are in one unit (e.g. ETH); probabilities are fractions in [0, 1].
 */
import { z } from "zod";
import { ConfigError } from "../errors.js";

const amount = z.number().finite().nonnegative();
const fraction = z.number().finite().min(0).max(1);

export const economicsSchema = z
  .object({
    /** C: what an honest execution costs the operator (compute, energy, amortised hardware). */
    inferenceCost: amount,
    /** R: what the operator receives for an accepted result (price minus protocol fee). */
    reward: z.number().finite().positive(),
    /** S: stake slashed when a wrong or missing output is caught. */
    stake: amount,
    /** gamma: probability that a drawn sampler colludes with a cheating operator (echoes its output). */
    collusionShare: fraction.refine((v) => v < 1, "must be below 1: with full collusion nothing is ever caught"),
    /** G: outside gain a cheater makes when its chosen wrong output is accepted (a bribe, a manipulated consumer). */
    cheatGain: amount.default(0),
    /** q: probability that a lazy operator's guess (no execution) equals the true output. */
    lazyAccuracy: fraction.refine((v) => v < 1, "must be below 1").default(0),
    /** F: what the sampler is paid for a matching re-execution (the verification fee). */
    verifierFee: amount.optional(),
  })
  .strict();

export type EconomicsInput = z.input<typeof economicsSchema>;
export type Economics = z.output<typeof economicsSchema>;

/** Expected profit per request of each strategy of the assigned operator at sampling probability p. */
export interface StrategyProfits {
  p: number;
  honest: number;
  lazy: number;
  cheating: number;
}

export interface SamplingBound {
  /** Smallest p at which cheating (a chosen wrong output) stops paying: (C + G) / ((1 - gamma)(R + G + S)). */
  pMinCheating: number;
  /** Smallest p at which laziness (a guess) stops paying: C / ((1 - gamma)(1 - q)(R + S)). */
  pMinLazy: number;
  /** max of both: above it honesty is the strict best response of the assigned operator. */
  pMin: number;
  /** Smallest sampleBps (integer basis points) strictly above pMin, or null when no p <= 1 works. */
  minSampleBps: number | null;
  /** Whether some p <= 1 makes honesty the equilibrium. */
  feasible: boolean;
  /** Sampler: an honest re-execution beats a guess iff (1 - q)(F + S) > C, and it is worth doing iff F >= C. */
  sampler: { verifierFee: number; honestBeatsGuess: boolean; participates: boolean };
  /** Expected compute per request relative to plain inference at pMin: 1 + p. */
  costFactorAtPMin: number;
}

/** Validates the inputs (zod), throwing ConfigError with the offending fields. */
export function parseEconomics(input: unknown): Economics {
  const parsed = economicsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid sampling economics: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Probability that a sampled request is checked by a sampler that does not collude: p (1 - gamma). */
export function detection(p: number, e: Economics): number {
  return p * (1 - e.collusionShare);
}

/** Expected profit per request of honest, lazy and cheating assigned operators at probability p. */
export function expectedProfits(p: number, input: EconomicsInput | Economics): StrategyProfits {
  const e = parseEconomics(input);
  const d = detection(p, e);
  const { reward: R, stake: S, inferenceCost: C, cheatGain: G, lazyAccuracy: q } = e;
  return {
    p,
    honest: R - C,
    // A wrong guess is caught with probability d: no reward, stake lost; otherwise paid without computing.
    lazy: R - d * (1 - q) * (R + S),
    // Caught with probability d: stake lost; otherwise paid and the outside gain pocketed.
    cheating: (1 - d) * (R + G) - d * S,
  };
}

/** The minimum sampling probability for honesty to be the pure-strategy equilibrium. */
export function samplingBound(input: EconomicsInput | Economics): SamplingBound {
  const e = parseEconomics(input);
  const { reward: R, stake: S, inferenceCost: C, cheatGain: G, lazyAccuracy: q, collusionShare: gamma } = e;
  const pMinCheating = (C + G) / ((1 - gamma) * (R + G + S));
  const pMinLazy = C / ((1 - gamma) * (1 - q) * (R + S));
  const pMin = Math.max(pMinCheating, pMinLazy);
  const feasible = pMin < 1;
  const bps = Math.floor(pMin * 10_000 + 1e-9) + 1;
  const F = e.verifierFee ?? R;
  return {
    pMinCheating,
    pMinLazy,
    pMin,
    minSampleBps: feasible && bps <= 10_000 ? bps : null,
    feasible,
    sampler: { verifierFee: F, honestBeatsGuess: (1 - q) * (F + S) > C, participates: F >= C },
    costFactorAtPMin: 1 + Math.min(pMin, 1),
  };
}
