/**
 * Integer graph -> circom circuit.
 *
 * Linear parts (dense, conv, sum-pool, add, affine, reshape) become linear combinations
 * with the weights as compile-time constants: they cost no constraints. Non-linear nodes
 * (requant, relu, clamp, leakyrelu, maxpool, argmax) use the gadgets in gadgets.circom.ts
 * with bit widths taken from the static value ranges.
 *
 * Public signals: the outputs pub[0..E-1] of `main`, the packed stream [input values, output
 * values (the graph's last tensor: the label for ArgMax models)]; see packing.ts for the exact bit
 * layout. Inputs are private and range-checked exactly: lo <= x <= hi (two bit decompositions when
 * hi - lo + 1 is not a power of two), because every static range below starts from that one.
 *
 * `inputCommitment: "sha256"` (circom backend): the private input is the request's input bytes `xb` (each
 * range-checked to 8 bits), x[i] = clamp(decode(bytes of value i), lo, hi) exactly as the verifier decodes them,
 * and the public signals are pub[0] = the top 253 bits of SHA-256(xb) (circomlib's Sha256) and then the packed
 * output alone: the verifier hashes the request's bytes instead of packing them. A batch-k sha256 circuit hashes
 * the k slots' bytes as one message (slot 0's first) and packs the k outputs as one stream, so a proof of k
 * inferences has as many public signals as one of a single inference.
 *
 * `naive: true` emits the baseline for benchmarks: weights as private input signals (every
 * product is a constraint) and one public signal per input / output value, in the same order.
 */
import { computeRanges, nodeInputIds, normalizeBounds, requantScalar, type IntGraph } from "./intgraph.js";
import { InputError, IntegrityError } from "./errors.js";
import { poolWindows } from "./tensorops.js";
import { packLayout, streamSlots, type PackLayout, type PackSegment } from "./packing.js";
import { inputEncoding } from "./merkle.js";
import type { InputCommitment } from "./signals.js";

/** A linear combination of circuit signals (by name) plus a constant. */
export type LC = { t: Map<string, bigint>; c: bigint };
const lcConst = (c: bigint): LC => ({ t: new Map(), c });
const lcSig = (s: string): LC => ({ t: new Map([[s, 1n]]), c: 0n });
function lcAddScaled(acc: LC, a: LC, k: bigint): void {
  if (k === 0n) return;
  acc.c += a.c * k;
  for (const [s, v] of a.t) {
    const nv = (acc.t.get(s) ?? 0n) + v * k;
    if (nv === 0n) acc.t.delete(s);
    else acc.t.set(s, nv);
  }
}
/** Terms a printed sum may have before it is nested: circom2 overflows its stack on a flat sum of about 400. */
const FLAT_TERMS = 256;
const CHUNK_TERMS = 64;

function lcStr(a: LC): string {
  const parts: string[] = [];
  for (const [s, v] of a.t) {
    if (v === 1n) parts.push(`+ ${s}`);
    else if (v === -1n) parts.push(`- ${s}`);
    else if (v < 0n) parts.push(`- ${-v}*${s}`);
    else parts.push(`+ ${v}*${s}`);
  }
  if (a.c !== 0n || parts.length === 0) parts.push(a.c < 0n ? `- ${-a.c}` : `+ ${a.c}`);
  return nestedSum(parts);
}

/** Signed terms ("+ a", "- b") as circom source: flat when short, else a balanced tree of parenthesised chunks. */
function nestedSum(parts: string[]): string {
  if (parts.length <= FLAT_TERMS) {
    let s = parts.join(" ");
    if (s.startsWith("+ ")) s = s.slice(2);
    else if (s.startsWith("- ")) s = "-" + s.slice(2);
    return s;
  }
  let level = [];
  for (let i = 0; i < parts.length; i += CHUNK_TERMS) level.push(`(${nestedSum(parts.slice(i, i + CHUNK_TERMS))})`);
  while (level.length > CHUNK_TERMS) {
    const next = [];
    for (let i = 0; i < level.length; i += CHUNK_TERMS) next.push(`(${level.slice(i, i + CHUNK_TERMS).join(" + ")})`);
    level = next;
  }
  return level.join(" + ");
}

const bitlen = (v: number) => (v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1);
const big = (n: number) => BigInt(n);

export interface PublicSignalSpec {
  name: string;
  /** inputHash: the top 253 bits of SHA-256 of the input bytes (an `inputCommitment: "sha256"` build) */
  kind: "packed" | "label" | "input" | "output" | "inputHash";
  /** for packed kinds: which element of the packing */
  element?: number;
  /** packed batch circuits (k > 1): the slot, i.e. which of the k inferences the signal belongs to (absent on a
   *  sha256 batch's signals, which cover every slot) */
  slot?: number;
}

/**
 * Every gadget instance of a circuit, in evaluation order, with its compile-time parameters and the linear
 * combinations it is fed: the specification an independent witness generator (witness.ts) evaluates.
 * Component names are the circom paths (`rq2[5]` is `main.rq2[5]` in the .sym file).
 */
export type GadgetCall =
  | { kind: "RangeBits"; name: string; n: number; input: LC }
  | {
      kind: "Requant";
      name: string;
      M: number;
      S: number;
      K: number;
      N: number;
      LO: number;
      HI: number;
      MODE: number;
      QMIN: number;
      input: LC;
      output: string;
    }
  | { kind: "Clamp"; name: string; N: number; LO: number; HI: number; MODE: number; input: LC; output: string }
  | {
      kind: "LeakyRelu";
      name: string;
      M: number;
      S: number;
      K: number;
      N: number;
      NQ: number;
      QMIN: number;
      input: LC;
      output: string;
    }
  | { kind: "Max2"; name: string; N: number; a: LC; b: LC; output: string }
  | { kind: "ArgMax"; name: string; n: number; N: number; inputs: LC[]; output: string }
  | { kind: "Lookup"; name: string; LO: number; table: bigint[]; input: LC; output: string }
  | { kind: "RowMax"; name: string; n: number; N: number; inputs: LC[]; output: string }
  | { kind: "SoftmaxDiv"; name: string; NR: number; NQ: number; OUT: number; e: LC; s: LC; output: string }
  | { kind: "Product"; output: string; weight: string; x: LC }
  /** output <== a * b: a product of two activations */
  | { kind: "Mul"; output: string; a: LC; b: LC }
  | { kind: "Rsqrt"; name: string; R: number; NH: number; input: LC; output: string }
  | { kind: "Embed"; name: string; LO: number; width: number; table: bigint[]; input: LC; outputs: string[] }
  | { kind: "Output"; output: string; value: LC };

export interface CircuitSource {
  main: string;
  /** the gadget instances, in order (what witness.ts evaluates) */
  plan: GadgetCall[];
  gadgets: string;
  publicSignals: PublicSignalSpec[];
  /** layout of the packed public signals (null in naive mode) */
  packing: PackLayout | null;
  /** inferences the circuit proves at once (the build's `batch`; 1 for a single-inference circuit) */
  batch: number;
  /**
   * Per slot, the circom signal name holding each node's output elements (null when it is a linear combination):
   * traceSignals[slot][tensor][element].
   */
  traceSignals: (string | null)[][][];
  /** naive mode: names of private weight signal arrays and their values (prover input) */
  weightInputs: Record<string, number[]>;
  /** how the public signals carry the input (packed, or the SHA-256 of the input bytes `xb`) */
  inputCommitment: InputCommitment;
}

export interface CircomOptions {
  naive?: boolean;
  /**
   * Inferences proved at once (default 1): k independent copies of the model, slot s's signals and components
   * with a leading [s] index (`x[s][i]`, `rq2[s][5]`), the weights the same constants in every slot; the
   * public signals are the k slots' own, concatenated.
   */
  batch?: number;
  /** how the public signals carry the input (default `packed`); `sha256` needs batch 1, not naive */
  inputCommitment?: InputCommitment;
}

/** circomlib's SHA-256 circuits (GPL-3.0) a `sha256` circuit includes: copied next to it, under `sha256/` but binsum. */
export const SHA256_CIRCUIT_FILES = [
  "sha256/sha256.circom",
  "sha256/constants.circom",
  "sha256/sha256compression.circom",
  "sha256/sha256compression_function.circom",
  "sha256/t1.circom",
  "sha256/t2.circom",
  "sha256/sigmaplus.circom",
  "sha256/sigma.circom",
  "sha256/ch.circom",
  "sha256/maj.circom",
  "sha256/xor3.circom",
  "sha256/rotate.circom",
  "sha256/shift.circom",
  "binsum.circom",
] as const;

/** Bits of the SHA-256 digest the input signal keeps (its most significant ones): < 2^253 < r. */
export const INPUT_HASH_BITS = 253;

/**
 * The clamp of a decoded raw input value (the range its encoding can hold) to [lo, hi]: the Clamp gadget's MODE
 * (which sides can clip) and comparison width N (|raw - lo|, |hi - raw| < 2^N).
 */
export function inputClamp(lo: number, hi: number): { bytes: number; signed: boolean; N: number; MODE: number } {
  const { bytes, signed } = inputEncoding(lo, hi);
  const rmin = signed ? -(2 ** (8 * bytes - 1)) : 0;
  const rmax = signed ? 2 ** (8 * bytes - 1) - 1 : 2 ** (8 * bytes) - 1;
  const MODE = (rmin < lo ? 1 : 0) | (rmax > hi ? 2 : 0);
  const N = Math.max(
    1,
    bitlen(Math.max(Math.abs(rmax - lo), Math.abs(rmin - lo), Math.abs(hi - rmin), Math.abs(hi - rmax))),
  );
  return { bytes, signed, N, MODE };
}

/**
 * How a table lookup of `rows` positions (`width` values each) selects its row: a flat one-hot selector over every
 * position (outer = 1), or two one-hot selectors, an outer one over groups of `inner` positions and an inner one
 * inside the group, when that is cheaper (a 256-entry table: 51 constraints instead of 258).
 */
export function tableSplit(rows: number, width: number): { outer: number; inner: number } {
  const flat = rows + 3 + width;
  let best = { outer: 1, inner: rows, cost: flat };
  for (let outer = 2; outer <= rows; outer++) {
    const inner = Math.ceil(rows / outer);
    if (inner < 2) break;
    const cost = outer + inner + 4 + outer * width + width;
    if (cost < best.cost) best = { outer, inner, cost };
  }
  return { outer: best.outer, inner: best.inner };
}

/**
 * out = T[in - LO] (width 1) or out[j] = T[(in - LO) * W + j] (an embedding row) for a committed table T.
 * Flat (outer 1): sel is one-hot (booleans summing to 1) and sum i * sel[i] = in - LO pins it to the input's own
 * position; the outputs are fixed linear functions of sel. Split: hs (outer) and ls (inner) are each one-hot and
 * inner * (sum i * hs[i]) + sum j * ls[j] = in - LO pins both (j < inner makes the decomposition unique); a group
 * row is a linear function of ls and out = sum_i hs[i] * row_i, one product per group and column; positions past
 * the table (last group, j beyond its rows) are excluded by hs[last] * (sum of those ls) = 0. Either way no prover
 * choice is left, and an input outside [LO, LO + rows) has no satisfying selector at all.
 * Cost per element: flat rows + 3 + W, split outer + inner + 4 + (outer + 1) * W constraints.
 */
export function tableTemplate(name: string, LO: number, table: readonly number[], width = 1): string {
  const rows = table.length / width;
  const { outer, inner } = tableSplit(rows, width);
  const out = width === 1 ? "out" : `out[${width}]`;
  const at = (j: string) => (width === 1 ? "out" : `out[${j}]`);
  const head = [
    `template ${name}() {`,
    `    var T[${table.length}] = [${table.join(", ")}];`,
    `    signal input in;`,
    `    signal output ${out};`,
  ];
  if (outer === 1) {
    return [
      ...head,
      `    signal sel[${rows}];`,
      `    var one = 0;`,
      `    var idx = 0;`,
      `    var acc[${width}];`,
      `    for (var j = 0; j < ${width}; j++) { acc[j] = 0; }`,
      `    for (var i = 0; i < ${rows}; i++) {`,
      `        sel[i] <-- (in - (${LO}) == i) ? 1 : 0;`,
      `        sel[i] * (sel[i] - 1) === 0;`,
      `        one += sel[i];`,
      `        idx += i * sel[i];`,
      `        for (var j = 0; j < ${width}; j++) { acc[j] += T[i * ${width} + j] * sel[i]; }`,
      `    }`,
      `    one === 1;`,
      `    idx === in - (${LO});`,
      `    for (var j = 0; j < ${width}; j++) { ${at("j")} <== acc[j]; }`,
      `}`,
      ``,
    ].join("\n");
  }
  const tail = rows - (outer - 1) * inner; // positions of the last group
  return [
    ...head,
    `    signal hs[${outer}];`,
    `    signal ls[${inner}];`,
    `    signal p[${outer}][${width}];`,
    `    var pos = in - (${LO});`,
    `    var oneH = 0;`,
    `    var idxH = 0;`,
    `    for (var i = 0; i < ${outer}; i++) {`,
    `        hs[i] <-- (pos \\ ${inner} == i) ? 1 : 0;`,
    `        hs[i] * (hs[i] - 1) === 0;`,
    `        oneH += hs[i];`,
    `        idxH += i * hs[i];`,
    `    }`,
    `    var oneL = 0;`,
    `    var idxL = 0;`,
    `    var past = 0;`,
    `    for (var j = 0; j < ${inner}; j++) {`,
    `        ls[j] <-- (pos % ${inner} == j) ? 1 : 0;`,
    `        ls[j] * (ls[j] - 1) === 0;`,
    `        oneL += ls[j];`,
    `        idxL += j * ls[j];`,
    `        if (j >= ${tail}) { past += ls[j]; }`,
    `    }`,
    `    oneH === 1;`,
    `    oneL === 1;`,
    `    idxH * ${inner} + idxL === pos;`,
    ...(tail < inner ? [`    hs[${outer - 1}] * past === 0;`] : []),
    `    var acc[${width}];`,
    `    for (var w = 0; w < ${width}; w++) { acc[w] = 0; }`,
    `    for (var i = 0; i < ${outer}; i++) {`,
    `        for (var w = 0; w < ${width}; w++) {`,
    `            var row = 0;`,
    `            for (var j = 0; j < ${inner}; j++) {`,
    `                if (i * ${inner} + j < ${rows}) { row += T[(i * ${inner} + j) * ${width} + w] * ls[j]; }`,
    `            }`,
    `            p[i][w] <== hs[i] * row;`,
    `            acc[w] += p[i][w];`,
    `        }`,
    `    }`,
    `    for (var w = 0; w < ${width}; w++) { ${at("w")} <== acc[w]; }`,
    `}`,
    ``,
  ].join("\n");
}

/** What the slots of a circuit are written into (emitCircom), and the slot being written. */
interface Emission {
  g: IntGraph;
  ranges: ReturnType<typeof computeRanges>;
  naive: boolean;
  hashed: boolean;
  batch: number;
  slot: number;
  /** the statements of Model, in order */
  L: string[];
  /** its signal and component declarations (written once, with slot 0) */
  decl: string[];
  plan: GadgetCall[];
  /** templates specific to this graph (function tables), written before Model (once, with slot 0) */
  templates: string[];
  weightInputs: Record<string, number[]>;
}

/**
 * The input of a `sha256` circuit, for one slot: private bytes xb (xb[s] in a batch circuit), each 8 bits (their bits
 * feed the hash), decoded big-endian (two's complement when signed) and clamped to [lo, hi] into x, as the verifier
 * and every executor read a request's input bytes (encoding.ts: decodeInputBytes). One hash component `sha` takes
 * the bytes of every slot, slot after slot: slot s's byte i is byte s * NB + i of the hashed message.
 */
function emitInputBytes(
  g: IntGraph,
  nIn: number,
  L: string[],
  decl: string[],
  slot: number,
  batch: number,
  at: (base: string) => string,
  declName: (base: string) => string,
): void {
  const { lo, hi } = g.input;
  const { bytes: W, signed, N, MODE } = inputClamp(lo, hi);
  const NB = nIn * W;
  if (slot === 0) {
    decl.push(
      `    signal input ${declName("xb")}[${NB}];`,
      `    signal ${declName("x")}[${nIn}];`,
      `    component ${declName("xbr")}[${NB}];`,
      ...(MODE === 0 ? [] : [`    component ${declName("xc")}[${nIn}];`]),
      `    component sha = Sha256(${batch * NB * 8});`,
    );
  }
  const xb = at("xb");
  const xbr = at("xbr");
  const base = slot * NB * 8;
  L.push(
    `    // input bytes: ${nIn} values of ${W} byte(s), ${signed ? "two's complement" : "unsigned"}, big-endian; each byte 8 bits`,
    `    for (var i = 0; i < ${NB}; i++) {`,
    `        ${xbr}[i] = RangeBits(8);`,
    `        ${xbr}[i].in <== ${xb}[i];`,
    `        for (var j = 0; j < 8; j++) { sha.in[${base === 0 ? "" : `${base} + `}i * 8 + j] <== ${xbr}[i].bits[7 - j]; }`,
    `    }`,
    `    // x[i] = clamp(decode(value i), ${lo}, ${hi})`,
    `    for (var i = 0; i < ${nIn}; i++) {`,
    `        var raw = 0;`,
    `        for (var k = 0; k < ${W}; k++) { raw = raw * 256 + ${xb}[i * ${W} + k]; }`,
    ...(signed ? [`        raw = raw - ${2n ** BigInt(8 * W)} * ${xbr}[i * ${W}].bits[7];`] : []),
    ...(MODE === 0
      ? [`        ${at("x")}[i] <== raw;`]
      : [
          `        ${at("xc")}[i] = Clamp(${N}, ${lo}, ${hi}, ${MODE});`,
          `        ${at("xc")}[i].in <== raw;`,
          `        ${at("x")}[i] <== ${at("xc")}[i].out;`,
        ]),
    `    }`,
  );
}

/**
 * One slot's copy of the model (the input range checks and every node) appended to the emission: slot s's arrays
 * and components are `<name>[s][...]` in a batch circuit (k > 1), `<name>[...]` otherwise. Returns the slot's
 * tensors as linear combinations and the signals holding them.
 */
function emitSlot(em: Emission): { vals: LC[][]; traceSignals: (string | null)[][] } {
  const { g, ranges, naive, hashed, batch, slot, L, decl, plan, templates, weightInputs } = em;
  /** This slot's view of an array (or scalar) `base`. */
  const at = (base: string) => (batch === 1 ? base : `${base}[${slot}]`);
  /** An array's declared name: one more leading dimension, of the k slots, in a batch circuit. */
  const declName = (base: string) => (batch === 1 ? base : `${base}[${batch}]`);
  const declare = (...lines: string[]) => {
    if (slot === 0) decl.push(...lines);
  };
  const vals: LC[][] = [];
  const traceSignals: (string | null)[][] = [];
  const nIn = ranges[0]!.lo.length;
  /** Emits a named gadget instance `name` of `template(params)`, its input wiring and output. */
  const instance = (name: string, template: string, params: number[], wiring: string[], output?: string) => {
    L.push(`    ${name} = ${template}(${params.join(", ")});`);
    for (const w of wiring) L.push(`    ${name}.${w};`);
    if (output !== undefined) L.push(`    ${output} <== ${name}.out;`);
  };

  if (batch > 1) L.push(`    // ---- slot ${slot} ----`);
  if (hashed) emitInputBytes(g, nIn, L, decl, slot, batch, at, declName);
  else declare(`    signal input ${declName("x")}[${nIn}];`);
  vals.push(Array.from({ length: nIn }, (_, i) => lcSig(`${at("x")}[${i}]`)));
  traceSignals.push(Array.from({ length: nIn }, (_, i) => `${at("x")}[${i}]`));

  // input range check: lo <= x[i] <= hi exactly (+ packing below)
  const span = g.input.hi - g.input.lo;
  const inBits = bitlen(span);
  if (inBits > 0) {
    const exactTop = 2 ** inBits === span + 1;
    L.push(
      `    // input range: x[i] - (${g.input.lo}) in [0, 2^${inBits})${exactTop ? "" : ` and (${g.input.hi}) - x[i] in [0, 2^${inBits})`}`,
    );
    if (slot === 0) L.push(`    component ${declName("xr")}[${nIn}];`);
    if (!exactTop && slot === 0) L.push(`    component ${declName("xh")}[${nIn}];`);
    L.push(`    for (var i = 0; i < ${nIn}; i++) {`);
    L.push(`        ${at("xr")}[i] = RangeBits(${inBits});`);
    L.push(`        ${at("xr")}[i].in <== ${at("x")}[i] - (${g.input.lo});`);
    if (!exactTop) {
      L.push(`        ${at("xh")}[i] = RangeBits(${inBits});`);
      L.push(`        ${at("xh")}[i].in <== (${g.input.hi}) - ${at("x")}[i];`);
    }
    L.push(`    }`);
    for (let i = 0; i < nIn; i++) {
      const below = lcConst(-big(g.input.lo));
      lcAddScaled(below, lcSig(`${at("x")}[${i}]`), 1n);
      plan.push({ kind: "RangeBits", name: `${at("xr")}[${i}]`, n: inBits, input: below });
      if (!exactTop) {
        const above = lcConst(big(g.input.hi));
        lcAddScaled(above, lcSig(`${at("x")}[${i}]`), -1n);
        plan.push({ kind: "RangeBits", name: `${at("xh")}[${i}]`, n: inBits, input: above });
      }
    }
  } else {
    L.push(`    // input range: a single value`);
    L.push(`    for (var i = 0; i < ${nIn}; i++) { ${at("x")}[i] === ${g.input.lo}; }`);
    // In the plan too (a RangeBits of no bits is x[i] - lo === 0): the direct backend and witness.ts build from it.
    for (let i = 0; i < nIn; i++) {
      const below = lcConst(-big(g.input.lo));
      lcAddScaled(below, lcSig(`${at("x")}[${i}]`), 1n);
      plan.push({ kind: "RangeBits", name: `${at("xr")}[${i}]`, n: 0, input: below });
    }
  }

  let prodCount = 0;
  /** naive: w * x as a constraint (weight is a private signal) */
  const naiveProduct = (wsig: string, x: LC): LC => {
    const p = `p${prodCount++}`;
    declare(`    signal ${p};`);
    L.push(`    ${p} <== ${wsig} * (${lcStr(x)});`);
    plan.push({ kind: "Product", output: p, weight: wsig, x });
    return lcSig(p);
  };

  /** Signal arrays of products, by name: how many of their entries are used (declared after the nodes). */
  const products = new Map<string, number>();
  /** <array>[next] <== a * b (both linear combinations); returns the product as a linear combination. */
  const mul = (array: string, a: LC, b: LC): LC => {
    if (a.t.size === 0 || b.t.size === 0) {
      // A constant factor: the product is linear, no constraint.
      const [k, x] = a.t.size === 0 ? [a.c, b] : [b.c, a];
      const acc = lcConst(0n);
      lcAddScaled(acc, x, k);
      return acc;
    }
    const k = products.get(array) ?? 0;
    products.set(array, k + 1);
    const sig = `${at(array)}[${k}]`;
    L.push(`    ${sig} <== (${lcStr(a)}) * (${lcStr(b)});`);
    plan.push({ kind: "Mul", output: sig, a, b });
    return lcSig(sig);
  };
  /** Requant gadget rq<id>[e] of x (static range [lo, hi]) into t<id>[e]. */
  const requantAt = (
    id: number,
    e: number,
    x: LC,
    lo: number,
    hi: number,
    M: number,
    S: number,
    LO: number,
    HI: number,
  ) => {
    const qmin = requantScalar(lo, M, S),
      qmax = requantScalar(hi, M, S);
    const tmin = lo * M + 2 ** (S - 1);
    const K = tmin >= 0 ? 0 : Math.ceil(-tmin / 2 ** S) + 1;
    const mode = (qmin < LO ? 1 : 0) | (qmax > HI ? 2 : 0);
    const N =
      mode === 0
        ? Math.max(1, bitlen(qmax - qmin))
        : Math.max(
            1,
            bitlen(Math.max(Math.abs(qmax - LO), Math.abs(qmin - LO), Math.abs(HI - qmin), Math.abs(HI - qmax))),
          );
    const name = `${at(`rq${id}`)}[${e}]`;
    instance(name, "Requant", [M, S, K, N, LO, HI, mode, qmin], [`in <== ${lcStr(x)}`], `${at(`t${id}`)}[${e}]`);
    plan.push({
      kind: "Requant",
      name,
      M,
      S,
      K,
      N,
      LO,
      HI,
      MODE: mode,
      QMIN: qmin,
      input: x,
      output: `${at(`t${id}`)}[${e}]`,
    });
    return lcSig(`${at(`t${id}`)}[${e}]`);
  };

  g.nodes.forEach((n, ni) => {
    const id = ni + 1;
    const inR = ranges[nodeInputIds(n)[0]!]!;
    const xin = vals[nodeInputIds(n)[0]!]!;
    let out: LC[] = [];
    let trace: (string | null)[] = [];
    L.push(`    // node ${ni}: ${n.op} ${n.name}`);
    switch (n.op) {
      case "dense": {
        if (naive) {
          declare(`    signal input ${declName(`w${id}`)}[${n.weight.length}];`);
          weightInputs[`w${id}`] = n.weight;
        }
        for (let row = 0; row < xin.length / n.inF; row++)
          for (let o = 0; o < n.outF; o++) {
            const acc = lcConst(big(n.bias[o]!));
            for (let i = 0; i < n.inF; i++) {
              const w = n.weight[o * n.inF + i]!;
              const x = xin[row * n.inF + i]!;
              if (naive) lcAddScaled(acc, naiveProduct(`w${id}[${o * n.inF + i}]`, x), 1n);
              else lcAddScaled(acc, x, big(w));
            }
            out.push(acc);
          }
        trace = out.map(() => null);
        break;
      }
      case "conv2d": {
        const [C, H, W] = n.inShape;
        const [OC, OH, OW] = n.outShape;
        const [KH, KW] = n.kernel;
        if (naive) {
          declare(`    signal input ${declName(`w${id}`)}[${n.weight.length}];`);
          weightInputs[`w${id}`] = n.weight;
        }
        for (let oc = 0; oc < OC; oc++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const acc = lcConst(big(n.bias[oc]!));
              for (let c = 0; c < C; c++)
                for (let kh = 0; kh < KH; kh++) {
                  const ih = oh * n.strides[0] - n.pads[0] + kh;
                  if (ih < 0 || ih >= H) continue;
                  for (let kw = 0; kw < KW; kw++) {
                    const iw = ow * n.strides[1] - n.pads[1] + kw;
                    if (iw < 0 || iw >= W) continue;
                    const wi = ((oc * C + c) * KH + kh) * KW + kw;
                    const x = xin[(c * H + ih) * W + iw]!;
                    if (naive) lcAddScaled(acc, naiveProduct(`w${id}[${wi}]`, x), 1n);
                    else lcAddScaled(acc, x, big(n.weight[wi]!));
                  }
                }
              out.push(acc);
            }
        trace = out.map(() => null);
        break;
      }
      case "requant": {
        declare(`    signal ${declName(`t${id}`)}[${xin.length}];`);
        const inner = n.shape.slice(2).reduce((a, b) => a * b, 1);
        xin.forEach((x, e) => {
          const c = n.mult.length === 1 ? 0 : Math.floor(e / inner) % n.shape[1]!;
          out.push(requantAt(id, e, x, inR.lo[e]!, inR.hi[e]!, n.mult[c]!, n.shift[c]!, n.lo, n.hi));
          trace.push(`${at(`t${id}`)}[${e}]`);
        });
        declare(`    component ${declName(`rq${id}`)}[${xin.length}];`);
        break;
      }
      case "relu":
      case "clamp": {
        const lo = n.op === "relu" ? 0 : n.lo;
        const hi = n.op === "relu" ? Math.max(...inR.hi) : n.hi;
        declare(`    signal ${declName(`t${id}`)}[${xin.length}];`);
        declare(`    component ${declName(`cl${id}`)}[${xin.length}];`);
        xin.forEach((x, e) => {
          const a = inR.lo[e]!,
            b = inR.hi[e]!;
          const mode = (a < lo ? 1 : 0) | (b > hi ? 2 : 0);
          if (mode === 0) {
            out.push(x);
            trace.push(null);
            return;
          }
          const N = Math.max(
            1,
            bitlen(Math.max(Math.abs(b - lo), Math.abs(a - lo), Math.abs(hi - a), Math.abs(hi - b))),
          );
          const name = `${at(`cl${id}`)}[${e}]`;
          instance(name, "Clamp", [N, lo, hi, mode], [`in <== ${lcStr(x)}`], `${at(`t${id}`)}[${e}]`);
          plan.push({ kind: "Clamp", name, N, LO: lo, HI: hi, MODE: mode, input: x, output: `${at(`t${id}`)}[${e}]` });
          out.push(lcSig(`${at(`t${id}`)}[${e}]`));
          trace.push(`${at(`t${id}`)}[${e}]`);
        });
        break;
      }
      case "leakyrelu": {
        declare(`    signal ${declName(`t${id}`)}[${xin.length}];`);
        declare(`    component ${declName(`lk${id}`)}[${xin.length}];`);
        xin.forEach((x, e) => {
          const a = inR.lo[e]!,
            b = inR.hi[e]!;
          const N = Math.max(1, bitlen(Math.max(Math.abs(a), Math.abs(b))));
          const qmin = requantScalar(a, n.mult, n.shift),
            qmax = requantScalar(b, n.mult, n.shift);
          const tmin = a * n.mult + 2 ** (n.shift - 1);
          const K = tmin >= 0 ? 0 : Math.ceil(-tmin / 2 ** n.shift) + 1;
          const NQ = Math.max(1, bitlen(qmax - qmin));
          const name = `${at(`lk${id}`)}[${e}]`;
          instance(
            name,
            "LeakyRelu",
            [n.mult, n.shift, K, N, NQ, qmin],
            [`in <== ${lcStr(x)}`],
            `${at(`t${id}`)}[${e}]`,
          );
          plan.push({
            kind: "LeakyRelu",
            name,
            M: n.mult,
            S: n.shift,
            K,
            N,
            NQ,
            QMIN: qmin,
            input: x,
            output: `${at(`t${id}`)}[${e}]`,
          });
          out.push(lcSig(`${at(`t${id}`)}[${e}]`));
          trace.push(`${at(`t${id}`)}[${e}]`);
        });
        break;
      }
      case "maxpool": {
        const wins = poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads);
        const steps = wins.reduce((s, w) => s + Math.max(0, w.length - 1), 0);
        if (steps > 0)
          declare(`    signal ${declName(`m${id}`)}[${steps}];`, `    component ${declName(`mx${id}`)}[${steps}];`);
        let k = 0;
        for (const w of wins) {
          let cur = xin[w[0]!]!;
          let curLo = inR.lo[w[0]!]!,
            curHi = inR.hi[w[0]!]!;
          let name: string | null = null;
          for (let j = 1; j < w.length; j++) {
            const e = w[j]!;
            const N = Math.max(1, bitlen(Math.max(Math.abs(curHi - inR.lo[e]!), Math.abs(inR.hi[e]! - curLo))));
            const comp = `${at(`mx${id}`)}[${k}]`;
            name = `${at(`m${id}`)}[${k++}]`;
            instance(comp, "Max2", [N], [`a <== ${lcStr(cur)}`, `b <== ${lcStr(xin[e]!)}`], name);
            plan.push({ kind: "Max2", name: comp, N, a: cur, b: xin[e]!, output: name });
            cur = lcSig(name);
            curLo = Math.max(curLo, inR.lo[e]!);
            curHi = Math.max(curHi, inR.hi[e]!);
          }
          out.push(cur);
          trace.push(name);
        }
        break;
      }
      case "sumpool": {
        const wins = poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads);
        for (const w of wins) {
          const acc = lcConst(0n);
          for (const e of w) lcAddScaled(acc, xin[e]!, 1n);
          out.push(acc);
          trace.push(null);
        }
        break;
      }
      case "add": {
        const b = vals[n.inputs[1]]!;
        out = xin.map((a, e) => {
          const acc = lcConst(0n);
          lcAddScaled(acc, a, big(n.ma));
          lcAddScaled(acc, b[e]!, big(n.mb));
          return acc;
        });
        trace = out.map(() => null);
        break;
      }
      case "affine": {
        const s = n.input === 0 ? g.input.shape : g.nodes[n.input - 1]!.shape;
        const inner = s.slice(2).reduce((a, b) => a * b, 1);
        out = xin.map((a, e) => {
          const c =
            n.mul.length === 1
              ? 0
              : n.inner !== undefined
                ? Math.floor(e / n.inner) % n.mul.length
                : Math.floor(e / inner) % s[1]!;
          const acc = lcConst(big(n.add[n.add.length === 1 ? 0 : c]!));
          lcAddScaled(acc, a, big(n.mul[c]!));
          return acc;
        });
        trace = out.map(() => null);
        break;
      }
      case "reshape":
        out = xin;
        trace = traceSignals[n.input]!;
        break;
      case "lut": {
        if (inR.lo.some((v) => v < n.lo) || inR.hi.some((v) => v > n.hi)) {
          throw new IntegrityError(`node ${ni} (lut): its input can leave the table's range [${n.lo}, ${n.hi}]`);
        }
        const template = `Lut${id}`;
        if (slot === 0) templates.push(tableTemplate(template, n.lo, n.table));
        declare(`    signal ${declName(`t${id}`)}[${xin.length}];`);
        declare(`    component ${declName(`lu${id}`)}[${xin.length}];`);
        xin.forEach((x, e) => {
          const name = `${at(`lu${id}`)}[${e}]`;
          instance(name, template, [], [`in <== ${lcStr(x)}`], `${at(`t${id}`)}[${e}]`);
          plan.push({
            kind: "Lookup",
            name,
            LO: n.lo,
            table: n.table.map(big),
            input: x,
            output: `${at(`t${id}`)}[${e}]`,
          });
          out.push(lcSig(`${at(`t${id}`)}[${e}]`));
          trace.push(`${at(`t${id}`)}[${e}]`);
        });
        break;
      }
      case "softmax": {
        const D = n.hi - n.lo;
        if (inR.lo.some((v) => v < n.lo) || inR.hi.some((v) => v > n.hi)) {
          throw new IntegrityError(`node ${ni} (softmax): its input can leave the table's range [${n.lo}, ${n.hi}]`);
        }
        const template = `Exp${id}`;
        if (slot === 0) templates.push(tableTemplate(template, 0, n.exp));
        const rows = xin.length / n.n;
        const N = Math.max(1, bitlen(D));
        const sMax = n.n * Math.max(...n.exp);
        const NR = bitlen(2 * sMax);
        const NQ = Math.max(1, bitlen(n.out));
        // Masked elements (mask 0, causal attention) take no part: no lookup, no division, the constant 0.
        const kept = (e: number) => n.mask === undefined || n.mask[e] === 1;
        const keptCount = xin.reduce((c, _, e) => c + (kept(e) ? 1 : 0), 0);
        declare(
          `    signal ${declName(`m${id}`)}[${rows}];`,
          `    signal ${declName(`e${id}`)}[${keptCount}];`,
          `    signal ${declName(`t${id}`)}[${keptCount}];`,
        );
        declare(
          `    component ${declName(`mx${id}`)}[${rows}];`,
          `    component ${declName(`ex${id}`)}[${keptCount}];`,
          `    component ${declName(`sd${id}`)}[${keptCount}];`,
        );
        let k = 0;
        for (let row = 0; row < rows; row++) {
          const cols = Array.from({ length: n.n }, (_, j) => row * n.n + j).filter(kept);
          const xs = cols.map((e) => xin[e]!);
          const mName = `${at(`mx${id}`)}[${row}]`;
          instance(
            mName,
            "RowMax",
            [xs.length, N],
            xs.map((x, j) => `in[${j}] <== ${lcStr(x)}`),
            `${at(`m${id}`)}[${row}]`,
          );
          plan.push({ kind: "RowMax", name: mName, n: xs.length, N, inputs: xs, output: `${at(`m${id}`)}[${row}]` });
          const s = lcConst(0n);
          const first = k;
          xs.forEach((x, j) => {
            const d = lcSig(`${at(`m${id}`)}[${row}]`);
            lcAddScaled(d, x, -1n);
            const lName = `${at(`ex${id}`)}[${first + j}]`;
            instance(lName, template, [], [`in <== ${lcStr(d)}`], `${at(`e${id}`)}[${first + j}]`);
            plan.push({
              kind: "Lookup",
              name: lName,
              LO: 0,
              table: n.exp.map(big),
              input: d,
              output: `${at(`e${id}`)}[${first + j}]`,
            });
            lcAddScaled(s, lcSig(`${at(`e${id}`)}[${first + j}]`), 1n);
          });
          for (let j = 0; j < n.n; j++) {
            const e = row * n.n + j;
            if (!kept(e)) {
              out.push(lcConst(0n));
              trace.push(null);
              continue;
            }
            const dName = `${at(`sd${id}`)}[${k}]`;
            instance(dName, "SoftmaxDiv", [NR, NQ, n.out], [`e <== ${at(`e${id}`)}[${k}]`, `s <== ${lcStr(s)}`]);
            L.push(`    ${at(`t${id}`)}[${k}] <== ${dName}.q;`);
            plan.push({
              kind: "SoftmaxDiv",
              name: dName,
              NR,
              NQ,
              OUT: n.out,
              e: lcSig(`${at(`e${id}`)}[${k}]`),
              s,
              output: `${at(`t${id}`)}[${k}]`,
            });
            out.push(lcSig(`${at(`t${id}`)}[${k}]`));
            trace.push(`${at(`t${id}`)}[${k}]`);
            k++;
          }
        }
        break;
      }
      case "gather": {
        const flat = n.inputs.flatMap((i) => vals[i]!);
        const flatTrace = n.inputs.flatMap((i) => traceSignals[i]!);
        out = n.index.map((i) => (i < 0 ? lcConst(0n) : flat[i]!));
        trace = n.index.map((i) => (i < 0 ? null : flatTrace[i]!));
        break;
      }
      case "matmul": {
        // One product constraint per term; the sums are linear.
        const bt = vals[n.inputs[1]]!;
        for (let b = 0; b < n.batch; b++)
          for (let i = 0; i < n.m; i++)
            for (let j = 0; j < n.n; j++) {
              const acc = lcConst(0n);
              for (let q = 0; q < n.k; q++) {
                const p = mul(`mm${id}`, xin[(b * n.m + i) * n.k + q]!, bt[(b * n.n + j) * n.k + q]!);
                lcAddScaled(acc, p, 1n);
              }
              out.push(acc);
            }
        trace = out.map(() => null);
        break;
      }
      case "normalize": {
        // Per row: c (linear), Q = sum c^2 (n products), r = Rsqrt(Q + eps), y = requant(c r) (a product each).
        const rows = xin.length / n.n;
        const b = normalizeBounds(n.n, n.center, n.eps, Math.min(...inR.lo), Math.max(...inR.hi));
        const NH = bitlen(2 ** (n.R + 1) * Math.ceil(Math.sqrt(b.D)) + b.D) + 1;
        declare(
          `    signal ${declName(`r${id}`)}[${rows}];`,
          `    signal ${declName(`t${id}`)}[${xin.length}];`,
          `    component ${declName(`rs${id}`)}[${rows}];`,
          `    component ${declName(`rq${id}`)}[${xin.length}];`,
        );
        for (let row = 0; row < rows; row++) {
          const xs = xin.slice(row * n.n, (row + 1) * n.n);
          const sum = lcConst(0n);
          for (const x of xs) lcAddScaled(sum, x, 1n);
          const cs = xs.map((x) => {
            if (!n.center) return x;
            const c = lcConst(0n);
            lcAddScaled(c, x, big(n.n));
            lcAddScaled(c, sum, -1n);
            return c;
          });
          const D = lcConst(big(n.eps));
          for (const c of cs) lcAddScaled(D, mul(`sq${id}`, c, c), 1n);
          const rName = `${at(`rs${id}`)}[${row}]`;
          instance(rName, "Rsqrt", [n.R, NH], [`d <== ${lcStr(D)}`], `${at(`r${id}`)}[${row}]`);
          plan.push({ kind: "Rsqrt", name: rName, R: n.R, NH, input: D, output: `${at(`r${id}`)}[${row}]` });
          cs.forEach((c, j) => {
            const e = row * n.n + j;
            // |c r| <= 2^R: c^2 <= D and r^2 D <= 4^R.
            const p = mul(`cr${id}`, c, lcSig(`${at(`r${id}`)}[${row}]`));
            out.push(requantAt(id, e, p, -(2 ** n.R), 2 ** n.R, n.mult, n.shift, n.lo, n.hi));
            trace.push(`${at(`t${id}`)}[${e}]`);
          });
        }
        break;
      }
      case "embed": {
        if (inR.lo.some((v) => v < n.lo) || inR.hi.some((v) => v > n.hi)) {
          throw new IntegrityError(`node ${ni} (embed): its ids can leave the table's range [${n.lo}, ${n.hi}]`);
        }
        const template = `Embed${id}`;
        if (slot === 0) templates.push(tableTemplate(template, n.lo, n.table, n.width));
        declare(
          `    signal ${declName(`t${id}`)}[${xin.length * n.width}];`,
          `    component ${declName(`em${id}`)}[${xin.length}];`,
        );
        xin.forEach((x, i) => {
          const name = `${at(`em${id}`)}[${i}]`;
          const outputs = Array.from({ length: n.width }, (_, j) => `${at(`t${id}`)}[${i * n.width + j}]`);
          instance(name, template, [], [`in <== ${lcStr(x)}`]);
          outputs.forEach((o, j) => L.push(`    ${o} <== ${name}.out[${j}];`));
          plan.push({ kind: "Embed", name, LO: n.lo, width: n.width, table: n.table.map(big), input: x, outputs });
          for (const o of outputs) {
            out.push(lcSig(o));
            trace.push(o);
          }
        });
        break;
      }
      case "argmax": {
        let maxDiff = 0;
        for (let i = 0; i < xin.length; i++)
          for (let j = 0; j < xin.length; j++) maxDiff = Math.max(maxDiff, inR.hi[i]! - inR.lo[j]!);
        const N = Math.max(1, bitlen(maxDiff + 1));
        declare(`    signal ${declName(`t${id}`)};`, `    component ${declName(`am${id}`)};`);
        instance(
          `${at(`am${id}`)}`,
          "ArgMax",
          [xin.length, N],
          xin.map((v, i) => `in[${i}] <== ${lcStr(v)}`),
          `${at(`t${id}`)}`,
        );
        plan.push({
          kind: "ArgMax",
          name: `${at(`am${id}`)}`,
          n: xin.length,
          N,
          inputs: xin,
          output: `${at(`t${id}`)}`,
        });
        out = [lcSig(`${at(`t${id}`)}`)];
        trace = [`${at(`t${id}`)}`];
        break;
      }
    }
    vals.push(out);
    traceSignals.push(trace);
  });

  for (const [array, count] of products) declare(`    signal ${declName(array)}[${count}];`);
  return { vals, traceSignals };
}

export function emitCircom(g: IntGraph, opts: CircomOptions = {}): CircuitSource {
  const naive = !!opts.naive;
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new InputError(`batch must be an integer >= 1, not ${batch}`);
  if (naive && batch > 1) throw new InputError("a naive baseline has no batch form");
  const inputCommitment = opts.inputCommitment ?? "packed";
  const hashed = inputCommitment === "sha256";
  if (hashed && naive) throw new InputError("input commitment sha256 has no naive baseline");
  const ranges = computeRanges(g);
  const em: Emission = {
    g,
    ranges,
    naive,
    hashed,
    batch,
    slot: 0,
    L: [],
    decl: [],
    plan: [],
    templates: [],
    weightInputs: {},
  };
  const { L, decl, plan, templates, weightInputs } = em;
  const slots = Array.from({ length: batch }, (_, slot) => emitSlot({ ...em, slot }));
  const vals = slots[0]!.vals;
  const nIn = ranges[0]!.lo.length;

  // ---- public outputs: the input values, then the graph's last tensor ----
  const pub: PublicSignalSpec[] = [];
  const outDecl: string[] = [];
  const outL: string[] = [];
  let packing: PackLayout | null = null;
  const outVals = vals[vals.length - 1]!;
  const outRange = ranges[ranges.length - 1]!;
  if (naive) {
    outDecl.push(`    signal output xin[${nIn}];`);
    outL.push(`    for (var i = 0; i < ${nIn}; i++) { xin[i] <== x[i]; }`);
    for (let i = 0; i < nIn; i++) pub.push({ name: `xin[${i}]`, kind: "input", element: i });
    outDecl.push(`    signal output y[${outVals.length}];`);
    for (let i = 0; i < nIn; i++) plan.push({ kind: "Output", output: `xin[${i}]`, value: lcSig(`x[${i}]`) });
    outVals.forEach((v, i) => {
      outL.push(`    y[${i}] <== ${lcStr(v)};`);
      pub.push({ name: `y[${i}]`, kind: "output", element: i });
      plan.push({ kind: "Output", output: `y[${i}]`, value: v });
    });
  } else {
    const outSeg = {
      kind: g.output.kind === "argmax" ? ("label" as const) : ("output" as const),
      // A sha256 circuit packs its k slots' outputs as one stream, slot after slot (k = 1: the output alone).
      count: (hashed ? batch : 1) * outVals.length,
      lo: Math.min(...outRange.lo),
      hi: Math.max(...outRange.hi),
    };
    const segs: Omit<PackSegment, "valueBits">[] = hashed
      ? [outSeg]
      : [{ kind: "input" as const, count: nIn, lo: g.input.lo, hi: g.input.hi }, outSeg];
    const layout = packLayout(segs);
    packing = layout;
    const E = layout.elements;
    /** Packs `segVals` (one list of values per segment) into pub[first ..], each element tagged `slot`. */
    const emitPacked = (segVals: LC[][], first: number, slot?: number) => {
      const accs = Array.from({ length: E }, () => lcConst(0n));
      for (const { seg, idx, element, shift } of streamSlots(layout)) {
        const v = lcConst(-big(layout.segments[seg]!.lo));
        lcAddScaled(v, segVals[seg]![idx]!, 1n);
        lcAddScaled(accs[element]!, v, 1n << BigInt(shift));
      }
      accs.forEach((acc, k) => {
        const name = `pub[${first + k}]`;
        outL.push(`    ${name} <== ${lcStr(acc)};`);
        pub.push({ name, kind: "packed", element: k, ...(slot === undefined ? {} : { slot }) });
        plan.push({ kind: "Output", output: name, value: acc });
      });
    };
    if (hashed) {
      // pub[0] is the hash of every slot's input bytes, pub[1..E] the packed outputs of all slots.
      outDecl.push(`    signal output pub[${1 + E}];`);
      outL.push(
        `    // pub[0]: the top ${INPUT_HASH_BITS} bits of SHA-256(xb${batch > 1 ? "[0] || ... || xb[" + (batch - 1) + "]" : ""}) (sha.out[0] is the digest's most significant bit)`,
        `    var h = 0;`,
        `    for (var i = 0; i < ${INPUT_HASH_BITS}; i++) { h += sha.out[i] * (1 << (${INPUT_HASH_BITS - 1} - i)); }`,
        `    pub[0] <== h;`,
      );
      pub.push({ name: "pub[0]", kind: "inputHash" });
      emitPacked([slots.flatMap(({ vals: sv }) => sv[sv.length - 1]!)], 1);
    } else {
      // Slot s's packed signals are pub[s * E .. s * E + E - 1]: the concatenation, over the slots, of exactly the
      // public signals a single-inference circuit of the model has.
      outDecl.push(`    signal output pub[${batch * E}];`);
      slots.forEach(({ vals: sv }, s) => emitPacked([sv[0]!, sv[sv.length - 1]!], s * E, batch > 1 ? s : undefined));
    }
  }

  const main = [
    `pragma circom 2.1.0;`,
    `// SPDX-License-Identifier: MIT`,
    `// Generated by veriml verifier-gen from integer graph "${g.name}"${naive ? " (naive baseline)" : ""}. Do not edit.`,
    `include "veriml_gadgets.circom";`,
    ...(hashed ? [`include "sha256/sha256.circom";`] : []),
    ``,
    ...templates,
    `template Model() {`,
    ...decl,
    ...outDecl,
    ...L,
    `    // public outputs`,
    ...outL,
    `}`,
    ``,
    `component main = Model();`,
    ``,
  ].join("\n");
  return {
    main,
    plan,
    gadgets: "",
    publicSignals: pub,
    packing,
    batch,
    traceSignals: slots.map((s) => s.traceSignals),
    weightInputs,
    inputCommitment,
  };
}

/**
 * Constraints of a circuit per integer op (plus "input" for the input range checks), counted from its gadget plan
 * with the gadgets' costs after circom's linear simplification (only non-linear constraints remain): the
 * per-op breakdown that `eval --json` and the benchmark report. It agrees with circom's count to a few percent.
 */
export function constraintBreakdown(g: IntGraph, plan: readonly GadgetCall[]): Record<string, number> {
  const by: Record<string, number> = {};
  const clamp = (N: number, MODE: number) => ((MODE & 1 ? 1 : 0) + (MODE & 2 ? 1 : 0)) * (N + 1) + 2;
  for (const c of plan) {
    const name = "name" in c ? c.name : c.output;
    const node = /^[a-z]+(\d+)/.exec(name);
    const op = /^x[rh]\[/.test(name) || node === null ? "input" : (g.nodes[Number(node[1]) - 1]?.op ?? "output");
    let k = 0;
    switch (c.kind) {
      case "RangeBits":
        k = c.n;
        break;
      case "Requant":
        k = c.S + (c.MODE === 0 ? c.N : clamp(c.N, c.MODE));
        break;
      case "Clamp":
        k = clamp(c.N, c.MODE);
        break;
      case "Lookup":
      case "Embed": {
        const width = c.kind === "Embed" ? c.width : 1;
        const rows = c.table.length / width;
        const s = tableSplit(rows, width);
        k = s.outer === 1 ? rows : s.outer + s.inner + 1 + s.outer * width;
        break;
      }
      case "RowMax":
        k = c.n * c.N + c.n - 1;
        break;
      case "SoftmaxDiv":
        k = 2 * c.NR + c.NQ;
        break;
      case "Mul":
      case "Product":
        k = 1;
        break;
      case "Rsqrt":
        k = 3 * c.R + 5 + c.NH;
        break;
      case "Max2":
        k = c.N + 2;
        break;
      case "ArgMax":
        k = 2 * c.n + c.n * c.N;
        break;
      case "LeakyRelu":
        k = c.N + c.S + c.NQ + 2;
        break;
      case "Output":
        k = 0;
        break;
    }
    if (k > 0) by[op] = (by[op] ?? 0) + k;
  }
  return by;
}
