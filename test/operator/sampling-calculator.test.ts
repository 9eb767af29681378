// The Proof of Sampling calculator: closed forms, their meaning (indifference at p_min), validation.
import { expect } from "chai";
import { ConfigError } from "../../operator/src/errors.js";
import { expectedProfits, samplingBound } from "../../operator/src/sampling/calculator.js";

/** Float comparison (the hardhat chai matchers reinterpret numeric assertions as integer ones). */
const near = (actual: number, expected: number, eps: number): void => {
  expect(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`).to.equal(true);
};
const base = {
  inferenceCost: 0.006,
  reward: 0.00975,
  stake: 0.1,
  collusionShare: 0.1,
  cheatGain: 0.02,
  lazyAccuracy: 0.1,
};

describe("sampling calculator", () => {
  it("gives p_min = (C + G) / ((1 - gamma)(R + G + S)) for cheating and C / ((1 - gamma)(1 - q)(R + S)) for laziness", () => {
    const b = samplingBound(base);
    near(b.pMinCheating, 0.026 / (0.9 * 0.12975), 1e-12);
    near(b.pMinLazy, 0.006 / (0.9 * 0.9 * 0.10975), 1e-12);
    expect(b.pMin === b.pMinCheating).to.equal(true);
    expect(b.minSampleBps).to.equal(2227);
    near(b.costFactorAtPMin, 1.2227, 1e-4);
  });

  it("makes the deviation exactly as profitable as honesty at p_min, and strictly worse above it", () => {
    const b = samplingBound(base);
    const at = expectedProfits(b.pMinCheating, base);
    near(at.cheating, at.honest, 1e-12);
    near(expectedProfits(b.pMinLazy, base).lazy, at.honest, 1e-12);
    const above = expectedProfits(b.minSampleBps! / 10_000, base);
    expect(above.cheating < above.honest).to.equal(true);
    expect(above.lazy < above.honest).to.equal(true);
    const below = expectedProfits(0.2, base);
    expect(below.cheating > below.honest).to.equal(true);
  });

  it("needs more sampling with collusion, less with stake; reports infeasible parameters", () => {
    expect(samplingBound({ ...base, collusionShare: 0.5 }).pMin > samplingBound(base).pMin).to.equal(true);
    expect(samplingBound({ ...base, stake: 1 }).pMin < samplingBound(base).pMin).to.equal(true);
    const hopeless = samplingBound({ ...base, stake: 0, cheatGain: 1, collusionShare: 0.5 });
    expect(hopeless.feasible).to.equal(false);
    expect(hopeless.minSampleBps).to.equal(null);
    // A sampler paid less than the work costs does not take part.
    expect(samplingBound({ ...base, verifierFee: 0.001 }).sampler.participates).to.equal(false);
  });

  it("rejects invalid inputs with the offending field", () => {
    expect(() => samplingBound({ ...base, collusionShare: 1 })).to.throw(ConfigError, /collusionShare/);
    expect(() => samplingBound({ ...base, reward: 0 })).to.throw(ConfigError, /reward/);
    expect(() => samplingBound({ ...base, extra: 1 } as never)).to.throw(ConfigError);
  });
});
