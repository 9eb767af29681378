/**
 * Seeded simulation of spML economics: many requests served by honest, lazy and cheating assigned operators
 * at several sampling probabilities p, with samplers drawn from a pool in which a share gamma colludes with
 * deviators. The true output of every request is the committed digits MLP's own answer (integer graph run
 * by the reference interpreter on held-out digits), and the lazy operator's guess is the model's most
 * frequent label, so its accuracy q is measured, not assumed. Arbitration follows the contracts: a mismatch
 * with an honest sampler goes to a committee with an honest majority, which sides with the true output.
 *
 * Writes bench/results/sampling-sim.json and docs/sampling-sim.svg, prints a table, and checks that the
 * simulated break-even probabilities agree with the calculator (operator/src/sampling/calculator.ts).
 *
 * Run: npx tsx scripts/simulate-sampling.ts [--seed N] [--requests N]
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import { runInt, type IntGraph } from "../verifier-gen/src/intgraph.js";
import { quantizeInput } from "../verifier-gen/src/quantize.js";
import { expectedProfits, samplingBound, type Economics } from "../operator/src/sampling/calculator.js";

const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "6" },
    requests: { type: "string", default: "20000" },
    out: { type: "string", default: "bench/results/sampling-sim.json" },
    svg: { type: "string", default: "docs/sampling-sim.svg" },
  },
});
const options = z
  .object({ seed: z.coerce.number().int().nonnegative(), requests: z.coerce.number().int().min(100).max(1_000_000) })
  .parse(args);

/** mulberry32: small, fast, seedable; good enough for Monte Carlo of this size. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- real outputs
const graph = JSON.parse(await readFile("models/build/digits-mlp/intgraph.json", "utf8")) as IntGraph;
const data = JSON.parse(await readFile("data/digits-test.json", "utf8")) as { inputs: number[][] };
const truths = data.inputs.map((x) => runInt(graph, quantizeInput(graph, x)).output[0]!);
const counts = new Array<number>(10).fill(0);
for (const t of truths) counts[t]! += 1;
const guess = counts.indexOf(Math.max(...counts));
const q = counts[guess]! / truths.length;

// ---------------------------------------------------------------- economics (ETH)
const PRICE = 0.01;
const PROTOCOL_FEE = 0.025;
const economics: Economics = {
  reward: PRICE * (1 - PROTOCOL_FEE),
  inferenceCost: 0.006,
  stake: 0.1,
  collusionShare: 0.1,
  cheatGain: 0.02,
  lazyAccuracy: q,
  verifierFee: PRICE,
};
const SAMPLER_POOL = 100;
const colluders = Math.round(economics.collusionShare * SAMPLER_POOL);
const bound = samplingBound(economics);

// ---------------------------------------------------------------- simulation
type Strategy = "honest" | "lazy" | "cheating";
const STRATEGIES: Strategy[] = ["honest", "lazy", "cheating"];
const grid = Array.from({ length: 41 }, (_, i) => Math.round(i * 0.01 * 100) / 100);
const N = options.requests;

// Common random numbers: the same requests, sampling draws and samplers at every p, so the curves are smooth
// and their crossings well defined.
const random = rng(options.seed);
const requests = Array.from({ length: N }, () => ({
  truth: truths[Math.floor(random() * truths.length)]!,
  u: random(),
  sampler: Math.floor(random() * SAMPLER_POOL),
}));

interface Row {
  p: number;
  simulated: Record<Strategy, number>;
  stderr: Record<Strategy, number>;
  analytic: Record<Strategy, number>;
  sampledShare: number;
  /** Requests that went to arbitration, per deviating strategy. */
  disputes: { lazy: number; cheating: number };
  samplerProfitPerRequest: number;
  requesterCostFactor: number;
}

const { reward: R, inferenceCost: C, stake: S, cheatGain: G } = economics;
const F = economics.verifierFee ?? R;
const rows: Row[] = grid.map((p) => {
  const sum: Record<Strategy, number> = { honest: 0, lazy: 0, cheating: 0 };
  const sq: Record<Strategy, number> = { honest: 0, lazy: 0, cheating: 0 };
  let sampled = 0;
  const disputes = { lazy: 0, cheating: 0 };
  for (const r of requests) {
    const isSampled = r.u < p;
    const honestSampler = r.sampler >= colluders; // samplers [0, colluders) echo a deviator's output
    if (isSampled) sampled++;
    const profit = (s: Strategy): number => {
      const output = s === "honest" ? r.truth : s === "lazy" ? guess : (r.truth + 1) % 10;
      const caught = isSampled && honestSampler && output !== r.truth; // mismatch -> committee -> slash
      if (caught && s !== "honest") disputes[s]++;
      if (caught) return -S;
      const cost = s === "honest" ? C : 0;
      const gain = s === "cheating" ? G : 0;
      return R + gain - cost;
    };
    for (const s of STRATEGIES) {
      const v = profit(s);
      sum[s] += v;
      sq[s] += v * v;
    }
  }
  const mean = (s: Strategy): number => sum[s] / N;
  const se = (s: Strategy): number => Math.sqrt(Math.max(0, sq[s] / N - mean(s) ** 2) / N);
  const a = expectedProfits(p, economics);
  return {
    p,
    simulated: { honest: mean("honest"), lazy: mean("lazy"), cheating: mean("cheating") },
    stderr: { honest: se("honest"), lazy: se("lazy"), cheating: se("cheating") },
    analytic: { honest: a.honest, lazy: a.lazy, cheating: a.cheating },
    sampledShare: sampled / N,
    disputes,
    // Honest sampler: paid F for each sampled request it re-executes at cost C.
    samplerProfitPerRequest: (sampled / N) * (F - C),
    requesterCostFactor: 1 + (sampled / N) * (F / PRICE),
  };
});

/** Smallest p where the strategy's simulated profit drops below honest (linear interpolation on the grid). */
function crossing(s: Strategy): number | null {
  for (let i = 1; i < rows.length; i++) {
    const d0 = rows[i - 1]!.simulated[s] - rows[i - 1]!.simulated.honest;
    const d1 = rows[i]!.simulated[s] - rows[i]!.simulated.honest;
    if (d0 > 0 && d1 <= 0) return rows[i - 1]!.p + (d0 / (d0 - d1)) * (rows[i]!.p - rows[i - 1]!.p);
  }
  return null;
}
const TOLERANCE = 0.01;
const crossLazy = crossing("lazy");
const crossCheating = crossing("cheating");
const agrees =
  crossLazy !== null &&
  crossCheating !== null &&
  Math.abs(crossLazy - bound.pMinLazy) <= TOLERANCE &&
  Math.abs(crossCheating - bound.pMinCheating) <= TOLERANCE;

// ---------------------------------------------------------------- outputs
const result = {
  generatedBy: "scripts/simulate-sampling.ts",
  seed: options.seed,
  requestsPerP: N,
  model: "digits-mlp (integer graph, reference interpreter) on data/digits-test.json",
  lazyGuess: { label: guess, accuracy: q },
  samplerPool: { size: SAMPLER_POOL, colluders },
  economics: { ...economics, price: PRICE, protocolFee: PROTOCOL_FEE },
  calculator: bound,
  simulatedBreakEven: { lazy: crossLazy, cheating: crossCheating, tolerance: TOLERANCE, agreesWithCalculator: agrees },
  rows,
};
await mkdir("bench/results", { recursive: true });
await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`);
await writeFile(args.svg!, plot());

const shown = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4];
const fmt = (x: number): string => (x >= 0 ? " " : "") + x.toFixed(5);
console.log(`seed ${options.seed}, ${N} requests per p; lazy guess "${guess}" right with q = ${q.toFixed(4)}`);
console.log(`economics (ETH): R ${R}, C ${C}, S ${S}, G ${G}, gamma ${economics.collusionShare}, F ${F}\n`);
console.log(
  "simulated mean profit per request of the assigned operator (ETH); disputes = requests sent to arbitration",
);
console.log("    p    honest      lazy  cheating   sampled  disputes(lazy)  disputes(cheating)");
for (const row of rows.filter((r) => shown.includes(r.p))) {
  const s = row.simulated;
  console.log(
    `${row.p.toFixed(2).padStart(5)}  ${fmt(s.honest)}  ${fmt(s.lazy)}  ${fmt(s.cheating)}` +
      `  ${(row.sampledShare * 100).toFixed(1).padStart(7)}%  ${String(row.disputes.lazy).padStart(14)}  ${String(row.disputes.cheating).padStart(18)}`,
  );
}
console.log(
  `\nbreak-even p: lazy simulated ${crossLazy?.toFixed(4)} vs calculator ${bound.pMinLazy.toFixed(4)}; ` +
    `cheating simulated ${crossCheating?.toFixed(4)} vs calculator ${bound.pMinCheating.toFixed(4)} ` +
    `-> ${agrees ? "agree" : "DISAGREE"} (tolerance ${TOLERANCE})`,
);
console.log(`calculator: sampleBps >= ${bound.minSampleBps}; wrote ${args.out} and ${args.svg}`);
if (!agrees) process.exit(1);

// ---------------------------------------------------------------- SVG
function plot(): string {
  const W = 760;
  const H = 460;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const xMax = grid[grid.length - 1]!;
  const all = rows.flatMap((r) => STRATEGIES.flatMap((s) => [r.simulated[s], r.analytic[s]]));
  const yMin = Math.floor(Math.min(...all) * 100) / 100;
  const yMax = Math.ceil(Math.max(...all) * 100) / 100;
  const x = (p: number): number => m.l + (p / xMax) * (W - m.l - m.r);
  const y = (v: number): number => m.t + ((yMax - v) / (yMax - yMin)) * (H - m.t - m.b);
  const colour: Record<Strategy, string> = { honest: "#1b7f3b", lazy: "#d08a00", cheating: "#c0262d" };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="22" text-anchor="middle" font-size="14">spML: expected profit per request of the assigned operator (seed ${options.seed}, ${N} requests per p)</text>`,
  );
  for (let v = yMin; v <= yMax + 1e-9; v += 0.01) {
    const yy = y(v).toFixed(1);
    parts.push(
      `<line x1="${m.l}" y1="${yy}" x2="${W - m.r}" y2="${yy}" stroke="${Math.abs(v) < 1e-9 ? "#000" : "#e4e4e4"}"/>`,
      `<text x="${m.l - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${v.toFixed(2)}</text>`,
    );
  }
  for (let p = 0; p <= xMax + 1e-9; p += 0.05) {
    const xx = x(p).toFixed(1);
    parts.push(
      `<line x1="${xx}" y1="${m.t}" x2="${xx}" y2="${H - m.b}" stroke="#f0f0f0"/>`,
      `<text x="${xx}" y="${H - m.b + 18}" text-anchor="middle">${p.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">sampling probability p</text>`,
    `<text x="18" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(m.t + H - m.b) / 2})">ETH per request</text>`,
  );
  for (const [label, p] of [
    ["p_min lazy", bound.pMinLazy],
    ["p_min cheating", bound.pMinCheating],
  ] as const) {
    const xx = x(p).toFixed(1);
    parts.push(
      `<line x1="${xx}" y1="${m.t}" x2="${xx}" y2="${H - m.b}" stroke="#555" stroke-dasharray="5,4"/>`,
      `<text x="${Number(xx) + 4}" y="${m.t + 12}" fill="#555">${label} = ${p.toFixed(3)}</text>`,
    );
  }
  for (const s of STRATEGIES) {
    const path = rows.map((r, i) => `${i === 0 ? "M" : "L"}${x(r.p).toFixed(1)},${y(r.analytic[s]).toFixed(1)}`);
    parts.push(`<path d="${path.join(" ")}" fill="none" stroke="${colour[s]}" stroke-width="2"/>`);
    for (const r of rows) {
      parts.push(
        `<circle cx="${x(r.p).toFixed(1)}" cy="${y(r.simulated[s]).toFixed(1)}" r="2.6" fill="none" stroke="${colour[s]}"/>`,
      );
    }
  }
  STRATEGIES.forEach((s, i) => {
    const ly = m.t + 40 + i * 22;
    parts.push(
      `<line x1="${W - m.r + 15}" y1="${ly}" x2="${W - m.r + 40}" y2="${ly}" stroke="${colour[s]}" stroke-width="2"/>`,
      `<circle cx="${W - m.r + 27}" cy="${ly}" r="2.6" fill="none" stroke="${colour[s]}"/>`,
      `<text x="${W - m.r + 46}" y="${ly}" dominant-baseline="middle">${s}</text>`,
    );
  });
  parts.push(
    `<text x="${W - m.r + 15}" y="${m.t + 120}" fill="#333">line: calculator</text>`,
    `<text x="${W - m.r + 15}" y="${m.t + 136}" fill="#333">circles: simulation</text>`,
    `<text x="${W - m.r + 15}" y="${m.t + 160}" fill="#333">R=${R}, C=${C}</text>`,
    `<text x="${W - m.r + 15}" y="${m.t + 176}" fill="#333">S=${S}, G=${G}</text>`,
    `<text x="${W - m.r + 15}" y="${m.t + 192}" fill="#333">gamma=${economics.collusionShare}, q=${q.toFixed(3)}</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
