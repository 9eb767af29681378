/**
 * Post-training quantization of a float graph into the canonical integer graph.
 *
 * - weights: symmetric, `bits` bits, per output channel (per tensor for the layer feeding
 *   ArgMax, so its logits share one scale and ArgMax of the accumulator is exact);
 * - activations: per tensor, calibrated min/max; unsigned [0, 2^bits-1] when the calibrated
 *   tensor is non-negative (after ReLU), else symmetric [-(2^(bits-1)-1), 2^(bits-1)-1];
 * - biases: int in the accumulator scale (s_in * s_w);
 * - requantization: y = clamp(floor((acc*M + 2^(S-1)) / 2^S), lo, hi) with an integer
 *   multiplier M of `multiplierBits` bits; ReLU / Clip are fused into the clamp bounds;
 * - integer-valued inputs (e.g. pixels 0..16) keep scale 1 and are range-checked as
 *   unsigned values of just enough bits.
 */
import { z } from "zod";
import { InputError } from "./errors.js";
import { applyFunc, runFloat, nodeInputs, type FloatGraph, type FNode } from "./floatgraph.js";
import { embedRow, type Shape } from "./tensorops.js";
import { MAX_NORMALIZE_R, normalizeBounds, type IntGraph, type IntNode } from "./intgraph.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";

export const QuantizeOptionsSchema = z.object({
  bits: z.number().int().min(2).max(16).default(8),
  multiplierBits: z.number().int().min(4).max(20).default(10),
  perChannel: z.boolean().default(true),
  /**
   * Activations of `wideBits` bits instead of `bits`: "none", "auto" (the tensors whose calibrated maximum is
   * more than AUTO_WIDE_RATIO times their RMS, where `bits` bits leave the typical value a few steps; never a
   * table's input, whose table would grow to 2^wideBits entries), or the float tensor names to widen.
   */
  wide: z.union([z.enum(["none", "auto"]), z.array(z.string().min(1))]).default("none"),
  wideBits: z.number().int().min(2).max(16).default(16),
});
export type QuantizeOptions = z.input<typeof QuantizeOptionsSchema>;

interface Desc {
  id: number;
  kind: "act" | "acc";
  scale: number[];
  lo: number;
  hi: number;
  shape: Shape;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** `wide: "auto"` widens a tensor whose calibrated max |x| exceeds its RMS by this factor (heavy tails). */
export const AUTO_WIDE_RATIO = 12;
/** Fixed-point bits of the softmax exponential table: exp[0] = 2^16. */
export const SOFTMAX_EXP_BITS = 16;
/** Bits of the inverse square root of a normalisation at the largest row sum of squares its input allows. */
export const NORMALIZE_BITS = 16;
const bitlen = (v: number) => (v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1);

export function multiplierFor(m: number, precision: number): { mult: number; shift: number } {
  if (!(m > 0) || !Number.isFinite(m)) return { mult: 0, shift: 1 };
  let shift = precision - 1 - Math.floor(Math.log2(m));
  if (shift < 1) shift = 1;
  let mult = Math.round(m * 2 ** shift);
  if (mult >= 2 ** precision && shift > 1) {
    shift -= 1;
    mult = Math.round(m * 2 ** shift);
  }
  return { mult, shift };
}

/** The activation a table op produces: its values are the table's, with the table's scale. */
function tableOutput(id: number, table: readonly number[], scale: number, shape: Shape): Desc {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of table) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { id, kind: "act", scale: [scale], lo, hi, shape };
}

export function quantize(
  fg: FloatGraph,
  calibration: ArrayLike<number>[],
  options: QuantizeOptions = {},
  logger: Logger = silentLogger,
): IntGraph {
  const opts = QuantizeOptionsSchema.parse(options);
  const { bits, multiplierBits } = opts;
  if (calibration.length === 0) throw new InputError("calibration dataset is empty");

  // ---- calibration: min/max of every float tensor ----
  const ranges = new Map<string, { min: number; max: number; squares: number; count: number }>();
  for (const x of calibration) {
    const vals = runFloat(fg, x);
    for (const [k, v] of vals) {
      const r = ranges.get(k) ?? { min: Infinity, max: -Infinity, squares: 0, count: 0 };
      for (const e of v) {
        if (e < r.min) r.min = e;
        if (e > r.max) r.max = e;
        r.squares += e * e;
      }
      r.count += v.length;
      ranges.set(k, r);
    }
  }
  const rangeOf = (name: string) => ranges.get(name) ?? { min: 0, max: 1, squares: 1, count: 1 };
  // Which tensors get wide activations (never a table's input under "auto").
  const tableInputs = new Set(fg.nodes.flatMap((n) => (n.op === "func" || n.op === "softmax" ? [n.input] : [])));
  const wide = new Set<string>(
    opts.wide === "auto"
      ? [...ranges].flatMap(([name, r]) => {
          const rms = Math.sqrt(r.squares / Math.max(1, r.count));
          return rms > 0 && Math.max(-r.min, r.max) > AUTO_WIDE_RATIO * rms && !tableInputs.has(name) ? [name] : [];
        })
      : opts.wide === "none"
        ? []
        : opts.wide,
  );
  if (Array.isArray(opts.wide)) {
    const unknown = opts.wide.filter((n) => !ranges.has(n));
    if (unknown.length > 0) throw new InputError(`wide: no tensor named ${unknown.join(", ")} in the model`);
  }
  const bitsFor = (name: string) => (wide.has(name) ? opts.wideBits : bits);
  const actParams = (min: number, max: number, b = bits) => {
    const bits = b;
    if (min >= 0) {
      const hi = 2 ** bits - 1;
      return { scale: max > 0 ? max / hi : 1, lo: 0, hi };
    }
    const hi = 2 ** (bits - 1) - 1;
    const a = Math.max(-min, max);
    return { scale: a > 0 ? a / hi : 1, lo: -hi, hi };
  };

  // ---- input ----
  const inR = rangeOf(fg.input.name);
  let allInt = true;
  for (const x of calibration) for (let i = 0; i < x.length; i++) if (!Number.isInteger(x[i]!)) allInt = false;
  let input: IntGraph["input"];
  if (allInt && inR.min >= 0 && inR.max <= 2 ** bits - 1) {
    input = { shape: fg.input.shape, scale: 1, lo: 0, hi: 2 ** Math.max(1, bitlen(inR.max)) - 1 };
  } else if (allInt && inR.min >= -(2 ** (bits - 1) - 1) && inR.max <= 2 ** (bits - 1) - 1) {
    const h = 2 ** Math.max(1, bitlen(Math.max(-inR.min, inR.max))) - 1;
    input = { shape: fg.input.shape, scale: 1, lo: -h, hi: h };
  } else {
    const p = actParams(inR.min, inR.max, bitsFor(fg.input.name));
    input = { shape: fg.input.shape, scale: p.scale, lo: p.lo, hi: p.hi };
  }
  logger.debug({ input }, "input quantization");

  const nodes: IntNode[] = [];
  const descs = new Map<string, Desc>();
  descs.set(fg.input.name, {
    id: 0,
    kind: "act",
    scale: [input.scale],
    lo: input.lo,
    hi: input.hi,
    shape: fg.input.shape,
  });
  const emit = (n: IntNode): number => {
    nodes.push(n);
    return nodes.length;
  };
  const consumers = new Map<string, FNode[]>();
  for (const n of fg.nodes) for (const i of nodeInputs(n)) consumers.set(i, [...(consumers.get(i) ?? []), n]);

  const materialized = new Map<string, Desc>();
  let argmaxLogits: Desc | undefined;
  /** Turn an accumulator into an activation calibrated on float tensor `calName`. */
  const materialize = (d: Desc, calName: string, name: string, clampLo?: number, clampHi?: number): Desc => {
    if (d.kind === "act") return d;
    const key = `${d.id}:${calName}:${clampLo}:${clampHi}`;
    const hit = materialized.get(key);
    if (hit) return hit;
    const r = rangeOf(calName);
    const p = actParams(r.min, r.max, bitsFor(calName));
    const lo = clampLo !== undefined ? Math.max(p.lo, clampLo) : p.lo;
    const hi = clampHi !== undefined ? Math.min(p.hi, clampHi) : p.hi;
    const mult: number[] = [],
      shift: number[] = [];
    for (const s of d.scale) {
      const q = multiplierFor(s / p.scale, multiplierBits);
      mult.push(q.mult);
      shift.push(q.shift);
    }
    const id = emit({ op: "requant", name: `${name}/requant`, shape: d.shape, input: d.id, mult, shift, lo, hi });
    const res: Desc = { id, kind: "act", scale: [p.scale], lo, hi, shape: d.shape };
    materialized.set(key, res);
    return res;
  };
  const asAct = (fname: string, user: string) => materialize(descs.get(fname)!, fname, user);

  const quantWeights = (W: Float64Array, OC: number, perChannel: boolean) => {
    const per = W.length / OC;
    const qmax = 2 ** (bits - 1) - 1;
    const sw: number[] = [];
    let gmax = 0;
    for (const v of W) gmax = Math.max(gmax, Math.abs(v));
    for (let o = 0; o < OC; o++) {
      let m = 0;
      for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(W[o * per + k]!));
      const mm = perChannel ? m : gmax;
      sw.push(mm > 0 ? mm / qmax : 1);
    }
    const wq = Array.from(W, (v, i) => Math.round(v / sw[Math.floor(i / per)]!));
    return { wq, sw };
  };

  for (const n of fg.nodes) {
    const cons = consumers.get(n.output) ?? [];
    const feedsArgmax = cons.some((c) => c.op === "argmax");
    switch (n.op) {
      case "dense":
      case "conv": {
        const x = asAct(n.input, n.name);
        const OC = n.op === "dense" ? n.outF : n.outShape[0];
        // Per-channel scales follow the channel axis (1); a dense layer over rows (tokens) has its outputs on
        // the last axis instead, so it takes one scale.
        const rowsOfDense = n.op === "dense" && prod(n.shape) !== n.outF;
        const perChannel = opts.perChannel && !feedsArgmax && !rowsOfDense;
        const { wq, sw } = quantWeights(n.W, OC, perChannel);
        const sx = x.scale[0]!;
        const bias = Array.from(n.B, (b, o) => Math.round(b / (sx * sw[o]!)));
        const scale = perChannel ? sw.map((s) => s * sx) : [sw[0]! * sx];
        const id =
          n.op === "dense"
            ? emit({
                op: "dense",
                name: n.name,
                shape: n.shape,
                input: x.id,
                inF: n.inF,
                outF: n.outF,
                weight: wq,
                bias,
              })
            : emit({
                op: "conv2d",
                name: n.name,
                shape: n.shape,
                input: x.id,
                inShape: n.inShape,
                outShape: n.outShape,
                kernel: n.kernel,
                strides: n.strides,
                pads: n.pads,
                weight: wq,
                bias,
              });
        descs.set(n.output, { id, kind: "acc", scale, lo: -Infinity, hi: Infinity, shape: n.shape });
        break;
      }
      case "relu":
      case "clip": {
        const d = descs.get(n.input)!;
        if (d.kind === "acc") {
          const s = actParams(rangeOf(n.output).min, rangeOf(n.output).max, bitsFor(n.output)).scale;
          const lo = n.op === "relu" ? 0 : Number.isFinite(n.min) ? Math.round(n.min / s) : undefined;
          const hi = n.op === "relu" ? undefined : Number.isFinite(n.max) ? Math.round(n.max / s) : undefined;
          descs.set(n.output, materialize(d, n.output, n.name, lo, hi));
        } else {
          const s = d.scale[0]!;
          const lo = Math.max(d.lo, n.op === "relu" ? 0 : Number.isFinite(n.min) ? Math.round(n.min / s) : d.lo);
          const hi = Math.min(d.hi, n.op === "relu" ? d.hi : Number.isFinite(n.max) ? Math.round(n.max / s) : d.hi);
          if (lo <= d.lo && hi >= d.hi) {
            descs.set(n.output, d);
          } else {
            const id =
              n.op === "relu" && hi >= d.hi
                ? emit({ op: "relu", name: n.name, shape: n.shape, input: d.id })
                : emit({ op: "clamp", name: n.name, shape: n.shape, input: d.id, lo, hi });
            descs.set(n.output, { ...d, id, lo, hi });
          }
        }
        break;
      }
      case "func": {
        // f over the input's whole integer range, quantized with the output's calibrated scale: a table the
        // model commits to, so every executor computes exactly the same integer function.
        const x = asAct(n.input, n.name);
        const r = rangeOf(n.output);
        const p = actParams(r.min, r.max, bitsFor(n.output));
        const sx = x.scale[0]!;
        const table: number[] = [];
        for (let v = x.lo; v <= x.hi; v++) {
          // (+ 0 turns a rounded -0 into 0: integers have no signed zero.)
          const y = Math.round(applyFunc(n.fn, v * sx, n.params) / p.scale) + 0;
          table.push(Math.min(p.hi, Math.max(p.lo, Number.isFinite(y) ? y : y > 0 ? p.hi : p.lo)));
        }
        const id = emit({ op: "lut", name: n.name, shape: n.shape, input: x.id, lo: x.lo, hi: x.hi, table });
        descs.set(n.output, tableOutput(id, table, p.scale, n.shape));
        break;
      }
      case "softmax": {
        // exp(-(m - x) * scale) in 16-bit fixed point over every difference the input's range allows; the
        // probabilities come out in 2^bits - 1 steps.
        const x = asAct(n.input, n.name);
        const sx = x.scale[0]!;
        const exp: number[] = [];
        for (let d = 0; d <= x.hi - x.lo; d++) exp.push(Math.round(2 ** SOFTMAX_EXP_BITS * Math.exp(-d * sx)));
        const out = 2 ** bits - 1;
        const id = emit({
          op: "softmax",
          name: n.name,
          shape: n.shape,
          input: x.id,
          n: n.n,
          lo: x.lo,
          hi: x.hi,
          exp,
          out,
          ...(n.mask === undefined ? {} : { mask: n.mask }),
        });
        descs.set(n.output, { id, kind: "act", scale: [1 / out], lo: 0, hi: out, shape: n.shape });
        break;
      }
      case "leakyrelu": {
        const x = asAct(n.input, n.name);
        const { mult, shift } = multiplierFor(n.alpha, multiplierBits);
        const id = emit({ op: "leakyrelu", name: n.name, shape: n.shape, input: x.id, mult, shift });
        const lo = Math.floor((x.lo * mult + 2 ** (shift - 1)) / 2 ** shift);
        descs.set(n.output, { ...x, id, lo: Math.min(lo, 0) });
        break;
      }
      case "maxpool": {
        let d = descs.get(n.input)!;
        // Per-channel accumulator scales must follow the pool's channels (a row maximum reads across them).
        if (d.kind === "acc" && d.scale.length > 1 && d.scale.length !== n.inShape[0])
          d = materialize(d, n.input, n.name);
        const id = emit({
          op: "maxpool",
          name: n.name,
          shape: n.shape,
          input: d.id,
          inShape: n.inShape,
          outShape: n.outShape,
          kernel: n.kernel,
          strides: n.strides,
          pads: n.pads,
        });
        descs.set(n.output, { ...d, id, shape: n.shape });
        break;
      }
      case "avgpool": {
        const x = asAct(n.input, n.name);
        const id = emit({
          op: "sumpool",
          name: n.name,
          shape: n.shape,
          input: x.id,
          inShape: n.inShape,
          outShape: n.outShape,
          kernel: n.kernel,
          strides: n.strides,
          pads: n.pads,
        });
        const k = n.kernel[0] * n.kernel[1];
        descs.set(n.output, { id, kind: "acc", scale: [x.scale[0]! / k], lo: -Infinity, hi: Infinity, shape: n.shape });
        break;
      }
      case "add": {
        // An accumulator is added as it is (a residual after its dense layer): no requantization before the sum.
        const operand = (name: string) => {
          const d = descs.get(name)!;
          return d.kind === "acc" && d.scale.length === 1 ? d : asAct(name, n.name);
        };
        const a = operand(n.inputs[0]);
        const b = operand(n.inputs[1]);
        const sa = a.scale[0]!,
          sb = b.scale[0]!;
        const sacc = Math.min(sa, sb, Math.max(sa, sb) / 2 ** (multiplierBits - 2));
        const ma = Math.round((n.ca * sa) / sacc),
          mb = Math.round((n.cb * sb) / sacc);
        const id = emit({ op: "add", name: n.name, shape: n.shape, inputs: [a.id, b.id], ma, mb });
        descs.set(n.output, { id, kind: "acc", scale: [sacc], lo: -Infinity, hi: Infinity, shape: n.shape });
        break;
      }
      case "affine": {
        const m0 = n.mul[0]!;
        if (n.mul.every((m) => m === m0) && m0 > 0 && n.add.every((a) => a === 0)) {
          // A pure rescale (e.g. attention's 1 / sqrt(d)): no integer op, on an accumulator as on an activation.
          const d = descs.get(n.input)!;
          descs.set(n.output, { ...d, scale: d.scale.map((s) => s * m0) });
          break;
        }
        const x = asAct(n.input, n.name);
        const qmax = 2 ** (bits - 1) - 1;
        const mmax = Math.max(...Array.from(n.mul, Math.abs));
        const sm = mmax > 0 ? mmax / qmax : 1;
        const mul = Array.from(n.mul, (m) => Math.round(m / sm));
        const sacc = x.scale[0]! * sm;
        const add = Array.from(n.add, (a) => Math.round(a / sacc));
        const id = emit({
          op: "affine",
          name: n.name,
          shape: n.shape,
          input: x.id,
          mul,
          add,
          ...(n.inner === undefined ? {} : { inner: n.inner }),
        });
        descs.set(n.output, { id, kind: "acc", scale: [sacc], lo: -Infinity, hi: Infinity, shape: n.shape });
        break;
      }
      case "reshape": {
        let d = descs.get(n.input)!;
        if (d.kind === "acc" && d.scale.length > 1) d = materialize(d, n.input, n.name);
        const id = emit({ op: "reshape", name: n.name, shape: n.shape, input: d.id });
        descs.set(n.output, { ...d, id, shape: n.shape });
        break;
      }
      case "gather": {
        if (n.inputs.length === 1) {
          let d = descs.get(n.inputs[0]!)!;
          if (d.kind === "acc" && d.scale.length > 1) d = materialize(d, n.inputs[0]!, n.name);
          const id = emit({ op: "gather", name: n.name, shape: n.shape, inputs: [d.id], index: n.index });
          descs.set(n.output, { ...d, id, shape: n.shape, lo: Math.min(d.lo, 0), hi: Math.max(d.hi, 0) });
          break;
        }
        // Parts of a concatenation share one scale: the output's, each part requantized to it when it differs.
        const r = rangeOf(n.output);
        const p = actParams(r.min, r.max, bitsFor(n.output));
        const parts = n.inputs.map((name) => {
          const a = asAct(name, n.name);
          if (a.scale[0] === p.scale) return a;
          const q = multiplierFor(a.scale[0]! / p.scale, multiplierBits);
          const id = emit({
            op: "requant",
            name: `${n.name}/rescale`,
            shape: a.shape,
            input: a.id,
            mult: [q.mult],
            shift: [q.shift],
            lo: p.lo,
            hi: p.hi,
          });
          return { ...a, id, scale: [p.scale], lo: p.lo, hi: p.hi };
        });
        // Two inputs per integer gather: the first parts are concatenated whole, the last step moves.
        let acc = parts[0]!;
        let accSize = prod(acc.shape);
        for (let k = 1; k < parts.length; k++) {
          const part = parts[k]!;
          const size = prod(part.shape);
          const last = k === parts.length - 1;
          const index = last ? n.index : Array.from({ length: accSize + size }, (_, i) => i);
          const shape = last ? n.shape : [accSize + size];
          const id = emit({ op: "gather", name: n.name, shape, inputs: [acc.id, part.id], index });
          acc = { ...acc, id, shape, lo: Math.min(acc.lo, part.lo, 0), hi: Math.max(acc.hi, part.hi, 0) };
          accSize += size;
        }
        descs.set(n.output, acc);
        break;
      }
      case "matmul": {
        const a = asAct(n.inputs[0], n.name);
        const b = asAct(n.inputs[1], n.name);
        const id = emit({
          op: "matmul",
          name: n.name,
          shape: n.shape,
          inputs: [a.id, b.id],
          batch: n.batch,
          m: n.m,
          k: n.k,
          n: n.n,
        });
        descs.set(n.output, {
          id,
          kind: "acc",
          scale: [a.scale[0]! * b.scale[0]!],
          lo: -Infinity,
          hi: Infinity,
          shape: n.shape,
        });
        break;
      }
      case "normalize": {
        // y = c G / sqrt(Q + E) with c, Q the integer row statistics (intgraph normalizeRow); E carries eps into
        // the integer units, G the mean's sqrt(n). r keeps NORMALIZE_BITS bits at the largest Q the range allows.
        const x = asAct(n.input, n.name);
        const sx = x.scale[0]!;
        const mean = n.reduce === "mean";
        const epsUnits = n.center ? (mean ? n.n ** 3 : n.n ** 2) : mean ? n.n : 1;
        const eps = Math.max(1, Math.round((n.eps * epsUnits) / (sx * sx)));
        const bound = normalizeBounds(n.n, n.center, eps, x.lo, x.hi);
        // 4^R stays below 2^63 (the integer ONNX computes in int64).
        const R = Math.min(MAX_NORMALIZE_R, Math.ceil(Math.log2(Math.sqrt(bound.D))) + NORMALIZE_BITS);
        const r = rangeOf(n.output);
        const p = actParams(r.min, r.max, bitsFor(n.output));
        const gain = mean ? Math.sqrt(n.n) : 1;
        const { mult, shift } = multiplierFor(gain / (2 ** R * p.scale), multiplierBits);
        const id = emit({
          op: "normalize",
          name: n.name,
          shape: n.shape,
          input: x.id,
          n: n.n,
          center: n.center,
          eps,
          R,
          mult,
          shift,
          lo: p.lo,
          hi: p.hi,
        });
        descs.set(n.output, { id, kind: "act", scale: [p.scale], lo: p.lo, hi: p.hi, shape: n.shape });
        break;
      }
      case "embed": {
        // Ids must be integers of scale 1 (token ids as the model's own input): one table row per id value.
        const x = descs.get(n.input)!;
        if (x.kind !== "act" || x.scale.length !== 1 || x.scale[0] !== 1) {
          throw new InputError(
            `embedding ${n.name}: its ids must be integer values (scale 1), but they are quantized with scale ${x.scale[0]}`,
          );
        }
        const r = rangeOf(n.output);
        const p = actParams(r.min, r.max, bitsFor(n.output));
        const table: number[] = [];
        for (let v = x.lo; v <= x.hi; v++) {
          const row = embedRow(v, n.rows);
          for (let j = 0; j < n.width; j++) {
            const y = Math.round(n.table[row * n.width + j]! / p.scale) + 0;
            table.push(Math.min(p.hi, Math.max(p.lo, y)));
          }
        }
        const id = emit({
          op: "embed",
          name: n.name,
          shape: n.shape,
          input: x.id,
          lo: x.lo,
          hi: x.hi,
          width: n.width,
          table,
        });
        descs.set(n.output, tableOutput(id, table, p.scale, n.shape));
        break;
      }
      case "argmax": {
        let d = descs.get(n.input)!;
        if (d.kind === "acc" && d.scale.length > 1) d = materialize(d, n.input, n.name);
        argmaxLogits = d;
        const id = emit({ op: "argmax", name: n.name, shape: [1], input: d.id });
        descs.set(n.output, { id, kind: "act", scale: [1], lo: 0, hi: prod(d.shape) - 1, shape: [1] });
        break;
      }
    }
  }

  const last = fg.nodes.find((n) => n.output === fg.output)!;
  let output: IntGraph["output"];
  if (last.op === "argmax") {
    const lg = argmaxLogits!;
    output = { kind: "argmax", tensor: descs.get(fg.output)!.id, logits: lg.id, scale: lg.scale };
  } else {
    let d = descs.get(fg.output)!;
    if (d.kind === "acc") d = materialize(d, fg.output, "output");
    output = { kind: "tensor", tensor: d.id, logits: d.id, scale: d.scale };
  }
  return { format: "veriml-intgraph", version: 1, name: fg.name, bits, input, nodes, output };
}

/** Quantize a float input: q = clamp(floor(x / scale + 1/2), lo, hi). */
export function quantizeInput(g: IntGraph, x: ArrayLike<number>): number[] {
  const { scale, lo, hi } = g.input;
  return Array.from(x, (v) => Math.min(hi, Math.max(lo, Math.floor(v / scale + 0.5))));
}
