/**
 * The canonical integer graph ("one integer model, three executors") and its TypeScript
 * reference interpreter, which returns the per-node trace.
 *
 * Tensor numbering: tensor 0 is the (quantized) model input, node i produces tensor i + 1.
 * All values are integers; the interpreter keeps them in float64 and checks statically
 * (see `computeRanges`) that every intermediate stays below 2^52 in magnitude, so float64
 * arithmetic is exact.
 */
import { IntegrityError } from "./errors.js";
import {
  channelOf,
  concatFlat,
  convGeneric,
  matmulGeneric,
  poolWindows,
  vectorIndex,
  type Shape,
} from "./tensorops.js";

export type IntNode = {
  name: string;
  /** Output shape, batch 1 included. */
  shape: Shape;
} & (
  | { op: "dense"; input: number; inF: number; outF: number; weight: number[]; bias: number[] }
  | {
      op: "conv2d";
      input: number;
      inShape: [number, number, number];
      outShape: [number, number, number];
      kernel: [number, number];
      strides: [number, number];
      pads: [number, number, number, number];
      weight: number[];
      bias: number[];
    }
  /** y = clamp(floor((x * mult[c] + 2^(shift[c]-1)) / 2^shift[c]), lo, hi), c = channel (axis 1) or 0 */
  | { op: "requant"; input: number; mult: number[]; shift: number[]; lo: number; hi: number }
  | { op: "relu"; input: number }
  | { op: "clamp"; input: number; lo: number; hi: number }
  /** y = x >= 0 ? x : floor((x * mult + 2^(shift-1)) / 2^shift) */
  | { op: "leakyrelu"; input: number; mult: number; shift: number }
  | {
      op: "maxpool" | "sumpool";
      input: number;
      inShape: [number, number, number];
      outShape: [number, number, number];
      kernel: [number, number];
      strides: [number, number];
      pads: [number, number, number, number];
    }
  /** y = a * ma + b * mb */
  | { op: "add"; inputs: [number, number]; ma: number; mb: number }
  /** y = x * mul[c] + add[c] (per channel, scalar, or along the trailing axes when `inner` is set: c = floor(e / inner) % m) */
  | { op: "affine"; input: number; mul: number[]; add: number[]; inner?: number }
  | { op: "reshape"; input: number }
  /** index of the first maximum */
  | { op: "argmax"; input: number }
  /**
   * y = table[clamp(x, lo, hi) - lo]: an element-wise function (tanh, sigmoid, erf, ...) as the committed
   * table of its quantized values over the input's whole integer range (table.length = hi - lo + 1).
   */
  | { op: "lut"; input: number; lo: number; hi: number; table: number[] }
  /**
   * Softmax over rows of n consecutive values: m = max of the row, e_j = exp[m - x_j] (the committed table of
   * round(2^16 exp(-d * scale)) for d in [0, hi - lo]), S = sum of e_j, y_j = floor((2 * out * e_j + S) / (2 * S)),
   * i.e. e_j / S rounded to the output's `out` steps (probabilities in [0, out], scale 1 / out). With a constant
   * `mask` (causal attention), the elements with mask 0 are left out: not in the maximum, e_j = 0, y_j = 0.
   */
  | { op: "softmax"; input: number; n: number; lo: number; hi: number; exp: number[]; out: number; mask?: number[] }
  /**
   * y[e] = concat(inputs)[index[e]] over the flat inputs (one or two), index -1 = the constant 0: data
   * movement (Transpose, Slice, Split, Concat, Gather at constant indices, broadcasting), free in a circuit.
   */
  | { op: "gather"; inputs: number[]; index: number[] }
  /** y[b, i, j] = sum_q a[b, i, q] * bt[b, j, q]; a is [batch, m, k], bt is [batch, n, k] (flat): products of activations */
  | { op: "matmul"; inputs: [number, number]; batch: number; m: number; k: number; n: number }
  /**
   * Rows of n values (see normalizeRow): c_j = center ? n x_j - sum(x) : x_j, D = sum c^2 + eps (eps >= 1),
   * r = floor(sqrt(floor(4^R / D))) (the exact inverse square root in R fractional bits),
   * y_j = clamp(floor((c_j r mult + 2^(shift-1)) / 2^shift), lo, hi).
   */
  | {
      op: "normalize";
      input: number;
      n: number;
      center: boolean;
      eps: number;
      R: number;
      mult: number;
      shift: number;
      lo: number;
      hi: number;
    }
  /** y[i * width + j] = table[(clamp(x_i, lo, hi) - lo) * width + j]: an embedding, one table row per id */
  | { op: "embed"; input: number; lo: number; hi: number; width: number; table: number[] }
);

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return q * b !== a && a < 0n !== b < 0n ? q - 1n : q;
};

/** floor(sqrt(v)) of a non-negative bigint (Newton's method). */
export function isqrt(v: bigint): bigint {
  if (v < 0n) throw new RangeError("isqrt of a negative value");
  if (v < 2n) return v;
  let x = BigInt(Math.floor(Math.sqrt(Number(v))));
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) {
      // Newton's iteration from above stops at floor(sqrt(v)) or one above it.
      while (x * x > v) x -= 1n;
      while ((x + 1n) * (x + 1n) <= v) x += 1n;
      return x;
    }
    x = y;
  }
}

/** The inverse square root of a normalize row: r = floor(sqrt(floor(4^R / D))), the largest r with r^2 D <= 4^R. */
export function inverseRoot(D: bigint, R: number): bigint {
  return isqrt((1n << BigInt(2 * R)) / D);
}

/** The integer normalisation of one row (IntNode "normalize"): the one definition every executor mirrors. */
export function normalizeRow(
  x: ArrayLike<number>,
  p: { center: boolean; eps: number; R: number; mult: number; shift: number; lo: number; hi: number },
): number[] {
  const n = BigInt(x.length);
  let s = 0n;
  for (let j = 0; j < x.length; j++) s += BigInt(x[j]!);
  const c = Array.from(x, (v) => (p.center ? n * BigInt(v) - s : BigInt(v)));
  const D = c.reduce((a, v) => a + v * v, 0n) + BigInt(p.eps);
  const r = inverseRoot(D, p.R);
  const half = p.shift > 0 ? 1n << BigInt(p.shift - 1) : 0n;
  return c.map((v) => {
    const q = Number(floorDiv(v * r * BigInt(p.mult) + half, 1n << BigInt(p.shift)));
    return Math.min(p.hi, Math.max(p.lo, q));
  });
}

/** The largest fractional bit count of a normalisation's inverse square root: 4^R must fit int64. */
export const MAX_NORMALIZE_R = 31;

/** Largest |c_j| and D of a normalize row whose inputs lie in [lo, hi] (bounds for bit widths and R). */
export function normalizeBounds(
  n: number,
  center: boolean,
  eps: number,
  lo: number,
  hi: number,
): { c: number; D: number } {
  const c = center ? (n - 1) * (hi - lo) : Math.max(Math.abs(lo), Math.abs(hi));
  return { c, D: n * c * c + eps };
}

/** The integer softmax of one row (IntNode "softmax"): the one definition every executor mirrors. */
export function softmaxRow(
  x: ArrayLike<number>,
  exp: readonly number[],
  out: number,
  keep?: ArrayLike<number>,
): number[] {
  const kept = (j: number) => keep === undefined || keep[j] === 1;
  let m = -Infinity;
  for (let j = 0; j < x.length; j++) if (kept(j)) m = Math.max(m, x[j]!);
  const e = Array.from(x, (v, j) => (kept(j) ? exp[m - v]! : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => Math.floor((2 * out * v + s) / (2 * s)));
}

export interface IntGraph {
  format: "veriml-intgraph";
  version: 1;
  name: string;
  bits: number;
  input: {
    shape: Shape;
    /** real value ~= q * scale; q = clamp(floor(x / scale + 1/2), lo, hi) */
    scale: number;
    lo: number;
    hi: number;
  };
  nodes: IntNode[];
  output: {
    /** "argmax": the model output is the label (tensor `tensor`), logits are tensor `logits` */
    kind: "argmax" | "tensor";
    tensor: number;
    logits: number;
    /** real value of the logits / output tensor ~= q * scale (per element of channel axis) */
    scale: number[];
    /**
     * What the output values are (interface.ts OUTPUT_KINDS: label, logits, probabilities, values, embedding),
     * committed by modelHash so that a consumer never takes the kind on an operator's word. Absent: "label"
     * for an ArgMax graph, "values" otherwise.
     */
    meaning?: "label" | "logits" | "probabilities" | "values" | "embedding";
  };
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Elements per tensor of a graph (tensor 0 = the input, tensor i + 1 = the output of node i). */
export function tensorSizes(g: IntGraph): number[] {
  return [prod(g.input.shape), ...g.nodes.map((n) => prod(n.shape))];
}

export function nodeInputIds(n: IntNode): number[] {
  return n.op === "add" || n.op === "gather" || n.op === "matmul" ? [...n.inputs] : [n.input];
}

const pow2 = (k: number) => 2 ** k;

export function requantScalar(x: number, mult: number, shift: number): number {
  return Math.floor((x * mult + (shift > 0 ? pow2(shift - 1) : 0)) / pow2(shift));
}

export interface Trace {
  /** tensors[0] = input, tensors[i+1] = output of node i */
  tensors: Float64Array[];
  /** final output: the label (argmax graphs) or the output tensor values */
  output: number[];
  logits: number[];
}

/**
 * The reference interpreter. `input` is the quantized integer input (flat). `substitute` replaces the values of
 * some tensors (by id) with given ones, the later tensors computed from them: the consistent trace of an
 * operator who got those tensors wrong (what a dispute must catch).
 */
export function runInt(
  g: IntGraph,
  input: ArrayLike<number>,
  substitute?: ReadonlyMap<number, ArrayLike<number>>,
): Trace {
  const n0 = prod(g.input.shape);
  if (input.length !== n0) throw new IntegrityError(`input has ${input.length} values, model expects ${n0}`);
  const tensors: Float64Array[] = [Float64Array.from(input)];
  for (const x of tensors[0]!) {
    if (!Number.isInteger(x) || x < g.input.lo || x > g.input.hi) {
      throw new IntegrityError(`quantized input value ${x} outside [${g.input.lo}, ${g.input.hi}]`);
    }
  }
  for (const n of g.nodes) {
    const forced = substitute?.get(tensors.length);
    tensors.push(forced === undefined ? evalNode(n, tensors, g) : Float64Array.from(forced));
  }
  const out = tensors[g.output.tensor]!;
  return { tensors, output: Array.from(out), logits: Array.from(tensors[g.output.logits]!) };
}

function evalNode(n: IntNode, t: Float64Array[], g: IntGraph): Float64Array {
  const shapeOf = (id: number) => (id === 0 ? g.input.shape : g.nodes[id - 1]!.shape);
  switch (n.op) {
    case "dense": {
      // Every row (token) of the input: y[r, o] = bias[o] + sum_i W[o, i] x[r, i].
      const x = t[n.input]!;
      const rows = x.length / n.inF;
      const y = new Float64Array(rows * n.outF);
      for (let r = 0; r < rows; r++)
        for (let o = 0; o < n.outF; o++) {
          let s = n.bias[o]!;
          for (let i = 0; i < n.inF; i++) s += n.weight[o * n.inF + i]! * x[r * n.inF + i]!;
          y[r * n.outF + o] = s;
        }
      return y;
    }
    case "conv2d":
      return convGeneric(t[n.input]!, n.inShape, n.outShape, n.kernel, n.strides, n.pads, n.weight, n.bias);
    case "requant": {
      const x = t[n.input]!;
      return x.map((v, i) => {
        const c = channelOf(i, n.shape, n.mult.length);
        return Math.min(n.hi, Math.max(n.lo, requantScalar(v, n.mult[c]!, n.shift[c]!)));
      });
    }
    case "relu":
      return t[n.input]!.map((v) => (v > 0 ? v : 0));
    case "lut":
      return t[n.input]!.map((v) => n.table[Math.min(n.hi, Math.max(n.lo, v)) - n.lo]!);
    case "softmax": {
      const x = t[n.input]!;
      const y = new Float64Array(x.length);
      for (let r0 = 0; r0 < x.length; r0 += n.n)
        y.set(softmaxRow(x.subarray(r0, r0 + n.n), n.exp, n.out, n.mask?.slice(r0, r0 + n.n)), r0);
      return y;
    }
    case "clamp":
      return t[n.input]!.map((v) => Math.min(n.hi, Math.max(n.lo, v)));
    case "leakyrelu":
      return t[n.input]!.map((v) => (v >= 0 ? v : requantScalar(v, n.mult, n.shift)));
    case "maxpool":
    case "sumpool": {
      const x = t[n.input]!;
      const wins = poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads);
      return Float64Array.from(wins, (w) =>
        n.op === "maxpool" ? w.reduce((m, i) => Math.max(m, x[i]!), -Infinity) : w.reduce((s, i) => s + x[i]!, 0),
      );
    }
    case "add": {
      const a = t[n.inputs[0]]!,
        b = t[n.inputs[1]]!;
      return a.map((v, i) => v * n.ma + b[i]! * n.mb);
    }
    case "affine": {
      const x = t[n.input]!;
      const s = shapeOf(n.input);
      return x.map((v, i) => {
        const c = vectorIndex(i, s, n.mul.length, n.inner);
        return v * n.mul[c]! + n.add[n.add.length === 1 ? 0 : c]!;
      });
    }
    case "reshape":
      return t[n.input]!;
    case "argmax": {
      const x = t[n.input]!;
      let b = 0;
      for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
      return Float64Array.of(b);
    }
    case "gather": {
      const flat = concatFlat(n.inputs.map((id) => t[id]!));
      return Float64Array.from(n.index, (i) => (i < 0 ? 0 : flat[i]!));
    }
    case "matmul":
      return matmulGeneric(t[n.inputs[0]]!, t[n.inputs[1]]!, n);
    case "normalize": {
      const x = t[n.input]!;
      const y = new Float64Array(x.length);
      for (let r0 = 0; r0 < x.length; r0 += n.n) y.set(normalizeRow(x.subarray(r0, r0 + n.n), n), r0);
      return y;
    }
    case "embed": {
      const x = t[n.input]!;
      const y = new Float64Array(x.length * n.width);
      x.forEach((v, i) => {
        const row = Math.min(n.hi, Math.max(n.lo, v)) - n.lo;
        for (let j = 0; j < n.width; j++) y[i * n.width + j] = n.table[row * n.width + j]!;
      });
      return y;
    }
  }
}

/**
 * Static per-element value ranges of every tensor (interval arithmetic from the input
 * range and the constants). Used for circuit bit widths and to prove exactness.
 */
export function computeRanges(g: IntGraph): { lo: Float64Array; hi: Float64Array }[] {
  const n0 = prod(g.input.shape);
  const ranges: { lo: Float64Array; hi: Float64Array }[] = [
    { lo: new Float64Array(n0).fill(g.input.lo), hi: new Float64Array(n0).fill(g.input.hi) },
  ];
  const shapeOf = (id: number) => (id === 0 ? g.input.shape : g.nodes[id - 1]!.shape);
  for (const n of g.nodes) {
    let lo: Float64Array, hi: Float64Array;
    const r = ranges[nodeInputIds(n)[0]!]!;
    switch (n.op) {
      case "dense": {
        const rows = r.lo.length / n.inF;
        lo = new Float64Array(rows * n.outF);
        hi = new Float64Array(rows * n.outF);
        for (let row = 0; row < rows; row++)
          for (let o = 0; o < n.outF; o++) {
            let a = n.bias[o]!,
              b = n.bias[o]!;
            for (let i = 0; i < n.inF; i++) {
              const w = n.weight[o * n.inF + i]!;
              const k = row * n.inF + i;
              a += Math.min(w * r.lo[k]!, w * r.hi[k]!);
              b += Math.max(w * r.lo[k]!, w * r.hi[k]!);
            }
            lo[row * n.outF + o] = a;
            hi[row * n.outF + o] = b;
          }
        break;
      }
      case "conv2d": {
        const wp = n.weight.map((w) => Math.max(w, 0));
        const wn = n.weight.map((w) => Math.min(w, 0));
        const z = new Float64Array(n.outShape[0]);
        // lo = sum(wp*lo + wn*hi) + bias, computed with two convolutions
        const a = convGeneric(r.lo, n.inShape, n.outShape, n.kernel, n.strides, n.pads, wp, n.bias);
        const b = convGeneric(r.hi, n.inShape, n.outShape, n.kernel, n.strides, n.pads, wn, z);
        const c = convGeneric(r.hi, n.inShape, n.outShape, n.kernel, n.strides, n.pads, wp, n.bias);
        const d = convGeneric(r.lo, n.inShape, n.outShape, n.kernel, n.strides, n.pads, wn, z);
        lo = a.map((v, i) => v + b[i]!);
        hi = c.map((v, i) => v + d[i]!);
        break;
      }
      case "requant": {
        lo = r.lo.map((v, i) => {
          const c = channelOf(i, n.shape, n.mult.length);
          return Math.min(n.hi, Math.max(n.lo, requantScalar(v, n.mult[c]!, n.shift[c]!)));
        });
        hi = r.hi.map((v, i) => {
          const c = channelOf(i, n.shape, n.mult.length);
          return Math.min(n.hi, Math.max(n.lo, requantScalar(v, n.mult[c]!, n.shift[c]!)));
        });
        break;
      }
      case "relu":
        lo = r.lo.map((v) => Math.max(v, 0));
        hi = r.hi.map((v) => Math.max(v, 0));
        break;
      case "clamp":
        lo = r.lo.map((v) => Math.min(n.hi, Math.max(n.lo, v)));
        hi = r.hi.map((v) => Math.min(n.hi, Math.max(n.lo, v)));
        break;
      case "lut": {
        // The table entries the input's range can reach.
        const reach = (a: number, b: number) => {
          const from = Math.min(n.hi, Math.max(n.lo, a)) - n.lo;
          const to = Math.min(n.hi, Math.max(n.lo, b)) - n.lo;
          let mn = Infinity,
            mx = -Infinity;
          for (let k = from; k <= to; k++) {
            mn = Math.min(mn, n.table[k]!);
            mx = Math.max(mx, n.table[k]!);
          }
          return [mn, mx] as const;
        };
        lo = r.lo.map((v, i) => reach(v, r.hi[i]!)[0]);
        hi = r.lo.map((v, i) => reach(v, r.hi[i]!)[1]);
        break;
      }
      case "softmax":
        lo = new Float64Array(r.lo.length).fill(0);
        hi = new Float64Array(r.lo.length).fill(n.out);
        break;
      case "leakyrelu":
        lo = r.lo.map((v) => (v >= 0 ? v : requantScalar(v, n.mult, n.shift)));
        hi = r.hi.map((v) => (v >= 0 ? v : requantScalar(v, n.mult, n.shift)));
        break;
      case "maxpool":
      case "sumpool": {
        const wins = poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads);
        const f = (arr: Float64Array) =>
          Float64Array.from(wins, (w) =>
            n.op === "maxpool"
              ? w.reduce((m, i) => Math.max(m, arr[i]!), -Infinity)
              : w.reduce((s, i) => s + arr[i]!, 0),
          );
        lo = f(r.lo);
        hi = f(r.hi);
        break;
      }
      case "add": {
        const rb = ranges[n.inputs[1]]!;
        lo = r.lo.map((v, i) => Math.min(v * n.ma, r.hi[i]! * n.ma) + Math.min(rb.lo[i]! * n.mb, rb.hi[i]! * n.mb));
        hi = r.hi.map((v, i) => Math.max(v * n.ma, r.lo[i]! * n.ma) + Math.max(rb.lo[i]! * n.mb, rb.hi[i]! * n.mb));
        break;
      }
      case "affine": {
        const s = shapeOf(n.input);
        const ca = (i: number) => vectorIndex(i, s, n.mul.length, n.inner);
        const ad = (i: number) => n.add[n.add.length === 1 ? 0 : ca(i)]!;
        lo = r.lo.map((v, i) => Math.min(v * n.mul[ca(i)]!, r.hi[i]! * n.mul[ca(i)]!) + ad(i));
        hi = r.hi.map((v, i) => Math.max(v * n.mul[ca(i)]!, r.lo[i]! * n.mul[ca(i)]!) + ad(i));
        break;
      }
      case "reshape":
        lo = r.lo;
        hi = r.hi;
        break;
      case "argmax":
        lo = Float64Array.of(0);
        hi = Float64Array.of(r.lo.length - 1);
        break;
      case "gather": {
        const flo = concatFlat(n.inputs.map((id) => ranges[id]!.lo));
        const fhi = concatFlat(n.inputs.map((id) => ranges[id]!.hi));
        lo = Float64Array.from(n.index, (i) => (i < 0 ? 0 : flo[i]!));
        hi = Float64Array.from(n.index, (i) => (i < 0 ? 0 : fhi[i]!));
        break;
      }
      case "matmul": {
        const a = r,
          b = ranges[n.inputs[1]]!;
        lo = new Float64Array(n.batch * n.m * n.n);
        hi = new Float64Array(n.batch * n.m * n.n);
        for (let bb = 0; bb < n.batch; bb++)
          for (let i = 0; i < n.m; i++)
            for (let j = 0; j < n.n; j++) {
              let mn = 0,
                mx = 0;
              for (let q = 0; q < n.k; q++) {
                const ia = (bb * n.m + i) * n.k + q,
                  ib = (bb * n.n + j) * n.k + q;
                const p = [a.lo[ia]! * b.lo[ib]!, a.lo[ia]! * b.hi[ib]!, a.hi[ia]! * b.lo[ib]!, a.hi[ia]! * b.hi[ib]!];
                mn += Math.min(...p);
                mx += Math.max(...p);
              }
              lo[(bb * n.m + i) * n.n + j] = mn;
              hi[(bb * n.m + i) * n.n + j] = mx;
            }
        break;
      }
      case "normalize":
        lo = new Float64Array(r.lo.length).fill(n.lo);
        hi = new Float64Array(r.lo.length).fill(n.hi);
        break;
      case "embed": {
        lo = new Float64Array(r.lo.length * n.width);
        hi = new Float64Array(r.lo.length * n.width);
        for (let i = 0; i < r.lo.length; i++) {
          const from = Math.min(n.hi, Math.max(n.lo, r.lo[i]!)) - n.lo;
          const to = Math.min(n.hi, Math.max(n.lo, r.hi[i]!)) - n.lo;
          for (let j = 0; j < n.width; j++) {
            let mn = Infinity,
              mx = -Infinity;
            for (let k = from; k <= to; k++) {
              mn = Math.min(mn, n.table[k * n.width + j]!);
              mx = Math.max(mx, n.table[k * n.width + j]!);
            }
            lo[i * n.width + j] = mn;
            hi[i * n.width + j] = mx;
          }
        }
        break;
      }
    }
    ranges.push({ lo, hi });
  }
  // exactness guard: float64 is exact below 2^53; requant multiplies by < 2^20
  for (let i = 0; i < ranges.length; i++) {
    const m = Math.max(...ranges[i]!.hi.map(Math.abs), ...ranges[i]!.lo.map(Math.abs));
    if (m > 2 ** 31) throw new IntegrityError(`tensor ${i} may reach ${m}, beyond the supported 2^31 range`);
  }
  return ranges;
}
