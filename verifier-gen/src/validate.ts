/**
 * Checks that an integer graph is one every executor computes identically: the TypeScript interpreter
 * (float64), the int64 ONNX, the circuit and the on-chain one-step (OneStepExecutor, int256 with its own
 * malformed-model rules). A graph from an untrusted model owner must pass before an operator serves it in
 * a mode that can be disputed: a graph the chain judges differently would lose an honest operator its
 * stake. The rules mirror every "not executable" condition of OneStepExecutor and bound every
 * intermediate value so float64 arithmetic is exact.
 */
import { poolWindows } from "./tensorops.js";
import {
  MAX_NORMALIZE_R,
  computeRanges,
  nodeInputIds,
  normalizeBounds,
  type IntGraph,
  type IntNode,
} from "./intgraph.js";
import { inputEncoding } from "./merkle.js";
import { IntegrityError } from "./errors.js";

/** Largest magnitude any parameter or intermediate may reach: float64 is exact up to 2^53. */
export const EXACT_LIMIT = 2 ** 53 - 1;
/** Largest requantization shift: beyond it 2^(shift-1) alone leaves float64's exact range. */
export const MAX_SHIFT = 52;
const MAX_U32 = 2 ** 32 - 1;

export interface GraphIssue {
  /** Node index, or -1 for the graph header (input, output). */
  node: number;
  op: string;
  reason: string;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const absMax = (lo: ArrayLike<number>, hi: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < lo.length; i++) m = Math.max(m, Math.abs(lo[i]!), Math.abs(hi[i]!));
  return m;
};

/** Every reason the graph cannot be served disputably; empty when it can. */
export function graphIssues(g: IntGraph): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const header = (reason: string) => issues.push({ node: -1, op: "graph", reason });
  if (!Array.isArray(g.input?.shape) || !g.input.shape.every((d) => isInt(d) && d >= 1)) {
    header("input shape must be positive integers");
    return issues;
  }
  if (!isInt(g.input.lo) || !isInt(g.input.hi) || g.input.lo > g.input.hi) header("input range must be lo <= hi");
  else if (inputEncoding(g.input.lo, g.input.hi).bytes > 4)
    header(`input range [${g.input.lo}, ${g.input.hi}] needs more than 4 bytes per value`);
  const shapes: number[][] = [g.input.shape];
  g.nodes.forEach((n, i) => {
    structure(n, i, shapes, (reason) => issues.push({ node: i, op: n.op, reason }));
    shapes.push(Array.isArray(n.shape) && n.shape.every(isInt) ? n.shape : [0]);
  });
  if (g.output?.tensor !== g.nodes.length) header(`output must be the last tensor (${g.nodes.length})`);
  if (issues.length > 0) return issues;
  magnitudes(g, (node, op, reason) => issues.push({ node, op, reason }));
  return issues;
}

/** Throws an IntegrityError naming the first issues (node and op) unless the graph passes. */
export function requireServableGraph(g: IntGraph, where: string): void {
  const issues = graphIssues(g);
  if (issues.length === 0) return;
  const shown = issues
    .slice(0, 3)
    .map((x) => (x.node < 0 ? x.reason : `node ${x.node} (${x.op}): ${x.reason}`))
    .join("; ");
  throw new IntegrityError(`${where}: ${shown}${issues.length > 3 ? ` (+${issues.length - 3} more)` : ""}`);
}

/** Largest function table (entries): 16-bit inputs; the circuit pays one constraint per entry per element. */
const MAX_TABLE = 65_536;

function structure(n: IntNode, i: number, shapes: readonly number[][], bad: (reason: string) => void): void {
  if (!Array.isArray(n.shape) || !n.shape.every((d) => isInt(d) && d >= 1))
    return bad("shape must be positive integers");
  const size = prod(n.shape);
  const ids = nodeInputIds(n);
  // INVARIANT (chain): a node reads only earlier tensors.
  if (!ids.every((id) => isInt(id) && id >= 0 && id <= i))
    return bad(`reads tensor ${ids.join(", ")}, not an earlier one`);
  const sizes = shapes.map(prod);
  const inSize = sizes[ids[0]!]!;
  const ints = (name: string, v: unknown, len?: number) => {
    if (!Array.isArray(v) || (len !== undefined && v.length !== len) || !v.every(isInt)) {
      bad(`${name} must be ${len === undefined ? "" : `${len} `}safe integers`);
      return false;
    }
    return true;
  };
  switch (n.op) {
    case "dense":
      // Rows of inF values each map to rows of outF (one row: a plain dense layer).
      if (!isInt(n.inF) || n.inF < 1 || inSize % n.inF !== 0 || (inSize / n.inF) * n.outF !== size)
        return bad(`dims [${n.inF}, ${n.outF}] do not match tensors of ${inSize} -> ${size}`);
      ints("weight", n.weight, n.inF * n.outF);
      ints("bias", n.bias, n.outF);
      return;
    case "conv2d":
    case "maxpool":
    case "sumpool": {
      const geometry = [...n.inShape, ...n.outShape, ...n.kernel, ...n.strides, ...n.pads];
      if (geometry.length !== 14 || !geometry.every((v) => isInt(v) && v >= 0 && v <= MAX_U32))
        return bad("geometry must be 14 integers in uint32");
      if (prod(n.outShape) !== size || prod(n.inShape) !== inSize)
        return bad("geometry does not match the tensor sizes");
      if (n.kernel.some((k) => k === 0) || n.strides.some((s) => s === 0))
        return bad("kernel and strides must be >= 1");
      if (n.op === "conv2d") {
        const [C] = n.inShape;
        const [OC] = n.outShape;
        ints("weight", n.weight, OC * C * n.kernel[0] * n.kernel[1]);
        ints("bias", n.bias, OC);
        return;
      }
      if (n.inShape[0] !== n.outShape[0]) return bad("a pool keeps its channels (C == OC)");
      // INVARIANT (chain): a window entirely in the padding has no value.
      if (poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads).some((w) => w.length === 0))
        return bad("a pooling window lies entirely in the padding");
      return;
    }
    case "argmax":
      if (size !== 1) return bad("argmax outputs one value");
      return;
    case "gather": {
      if (ids.length < 1 || ids.length > 2) return bad("a gather reads one or two tensors");
      const total = ids.reduce((s, id) => s + sizes[id]!, 0);
      if (!ints("index", n.index, size)) return;
      // INVARIANT: every output element copies an input element or the constant 0.
      if (n.index.some((k) => k < -1 || k >= total)) return bad(`an index outside [-1, ${total})`);
      return;
    }
    case "matmul": {
      const dims = [n.batch, n.m, n.k, n.n];
      if (!dims.every((d) => isInt(d) && d >= 1)) return bad("batch, m, k, n must be positive integers");
      if (inSize !== n.batch * n.m * n.k || sizes[n.inputs[1]] !== n.batch * n.n * n.k || size !== n.batch * n.m * n.n)
        return bad(`[${dims}] do not match tensors of ${inSize} x ${sizes[n.inputs[1]]} -> ${size}`);
      return;
    }
    case "embed":
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      if (!isInt(n.width) || n.width < 1 || size !== inSize * n.width)
        return bad(`width ${n.width} does not map ${inSize} ids to ${size} values`);
      if ((n.hi - n.lo + 1) * n.width > MAX_TABLE * 16) return bad("a table beyond 2^20 entries");
      ints("table", n.table, (n.hi - n.lo + 1) * n.width);
      return;
    default:
      break;
  }
  // Element-wise ops read element e of their inputs: the sizes agree.
  if (inSize !== size || (n.op === "add" && sizes[n.inputs[1]] !== size)) return bad("input and output sizes differ");
  const channels = n.shape[1] ?? 1;
  switch (n.op) {
    case "requant":
      if (!ints("mult", n.mult) || !ints("shift", n.shift, n.mult.length)) return;
      // INVARIANT: multipliers are non-negative (the quantizer's are): ranges, circuit widths and the int64
      // ONNX's offsets all assume q grows with x.
      if (n.mult.some((m) => m < 0)) return bad("a negative multiplier");
      if (n.mult.length !== 1 && n.mult.length !== channels)
        return bad(`${n.mult.length} multipliers for ${channels} channels`);
      if (n.shift.some((s) => s < 0 || s > MAX_SHIFT)) return bad(`shift outside [0, ${MAX_SHIFT}]`);
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      return;
    case "leakyrelu":
      if (!isInt(n.mult) || !isInt(n.shift)) return bad("mult and shift must be safe integers");
      if (n.mult < 0) return bad("a negative multiplier");
      if (n.shift < 0 || n.shift > MAX_SHIFT) return bad(`shift outside [0, ${MAX_SHIFT}]`);
      return;
    case "clamp":
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      return;
    case "softmax":
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      if (!isInt(n.n) || n.n < 1 || size % n.n !== 0) return bad(`rows of ${n.n} do not divide ${size} values`);
      if (!isInt(n.out) || n.out < 1 || n.out > 65_535) return bad("out must be in [1, 65535]");
      if (n.hi - n.lo + 1 > MAX_TABLE) return bad(`a table of ${n.hi - n.lo + 1} entries (at most ${MAX_TABLE})`);
      if (!ints("exp", n.exp, n.hi - n.lo + 1)) return;
      // INVARIANT: the row maximum has e = exp[0] > 0, so S > 0; the table never grows with d.
      if (!(n.exp[0]! >= 1) || n.exp.some((e, k) => e < 0 || (k > 0 && e > n.exp[k - 1]!)))
        return bad("exp must be positive at 0 and non-increasing");
      if (n.mask !== undefined) {
        if (!ints("mask", n.mask, size)) return;
        if (n.mask.some((v) => v !== 0 && v !== 1)) return bad("mask entries must be 0 or 1");
        // INVARIANT: every row keeps an element, so its maximum and S > 0 exist.
        for (let r0 = 0; r0 < size; r0 += n.n)
          if (!n.mask.slice(r0, r0 + n.n).includes(1)) return bad(`row ${r0 / n.n} is masked entirely`);
      }
      return;
    case "lut":
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      if (n.hi - n.lo + 1 > MAX_TABLE) return bad(`a table of ${n.hi - n.lo + 1} entries (at most ${MAX_TABLE})`);
      ints("table", n.table, n.hi - n.lo + 1);
      return;
    case "add":
      if (!isInt(n.ma) || !isInt(n.mb)) return bad("coefficients must be safe integers");
      return;
    case "affine": {
      if (!ints("mul", n.mul) || !ints("add", n.add)) return;
      if (n.inner !== undefined) {
        // Along the trailing axes: m entries, element e reads floor(e / inner) % m.
        if (!isInt(n.inner) || n.inner < 1 || size % (n.mul.length * n.inner) !== 0)
          return bad(`${n.mul.length} entries of ${n.inner} elements do not tile ${size} values`);
        if (n.add.length !== 1 && n.add.length !== n.mul.length) return bad("add must be scalar or like mul");
        return;
      }
      const inChannels = shapes[n.input]![1] ?? 1;
      if (n.mul.length !== 1 && n.mul.length !== inChannels)
        return bad(`${n.mul.length} multipliers for ${inChannels} channels`);
      if (n.add.length !== 1 && n.add.length !== n.mul.length) return bad("add must be scalar or per channel like mul");
      return;
    }
    case "normalize":
      if (!isInt(n.n) || n.n < 1 || size % n.n !== 0) return bad(`rows of ${n.n} do not divide ${size} values`);
      // INVARIANT: D >= 1 (the inverse square root exists) and 4^R fits every executor's integers.
      if (!isInt(n.eps) || n.eps < 1) return bad("eps must be an integer >= 1");
      if (!isInt(n.R) || n.R < 1 || n.R > MAX_NORMALIZE_R) return bad(`R outside [1, ${MAX_NORMALIZE_R}]`);
      if (!isInt(n.mult) || n.mult < 0 || !isInt(n.shift) || n.shift < 1 || n.shift > MAX_SHIFT)
        return bad("mult and shift must be safe integers, shift in [1, 52]");
      if (!isInt(n.lo) || !isInt(n.hi) || n.lo > n.hi) return bad("range must be lo <= hi");
      if (typeof n.center !== "boolean") return bad("center must be a boolean");
      return;
    case "relu":
    case "reshape":
      return;
    default:
      return bad(`unknown op ${(n as { op: string }).op}`);
  }
}

/** Parameters and every intermediate (partial sums, products before a shift) within EXACT_LIMIT. */
function magnitudes(g: IntGraph, bad: (node: number, op: string, reason: string) => void): void {
  let ranges: ReturnType<typeof computeRanges>;
  try {
    ranges = computeRanges(g);
  } catch (cause) {
    bad(-1, "graph", cause instanceof Error ? cause.message : String(cause));
    return;
  }
  const A = ranges.map((r) => absMax(r.lo, r.hi));
  g.nodes.forEach((n, i) => {
    const over = (what: string, v: number) => {
      if (!(v <= EXACT_LIMIT)) bad(i, n.op, `${what} may reach ${v}, beyond 2^53`);
    };
    const maxAbs = (v: readonly number[]) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const half = (s: number) => (s > 0 ? 2 ** (s - 1) : 0);
    switch (n.op) {
      case "dense": {
        for (let o = 0; o < n.outF; o++) {
          let acc = Math.abs(n.bias[o]!);
          for (let k = 0; k < n.inF; k++) acc += Math.abs(n.weight[o * n.inF + k]!) * A[n.input]!;
          over(`the sum of output ${o}`, acc);
        }
        return;
      }
      case "conv2d": {
        const kernel = n.inShape[0] * n.kernel[0] * n.kernel[1];
        for (let oc = 0; oc < n.outShape[0]; oc++) {
          const w = n.weight.slice(oc * kernel, (oc + 1) * kernel);
          over(
            `the sum of channel ${oc}`,
            Math.abs(n.bias[oc]!) + w.reduce((s, x) => s + Math.abs(x), 0) * A[n.input]!,
          );
        }
        return;
      }
      case "sumpool":
        over("a window sum", n.kernel[0] * n.kernel[1] * A[n.input]!);
        return;
      case "requant":
        over("x * mult before the shift", A[n.input]! * maxAbs(n.mult) + half(Math.max(...n.shift)));
        return;
      case "leakyrelu":
        over("x * mult before the shift", A[n.input]! * Math.abs(n.mult) + half(n.shift));
        return;
      case "add":
        over("the sum", A[n.inputs[0]]! * Math.abs(n.ma) + A[n.inputs[1]]! * Math.abs(n.mb));
        return;
      case "affine":
        over("x * mul + add", A[n.input]! * maxAbs(n.mul) + maxAbs(n.add));
        return;
      case "matmul":
        over("the sum of products", n.k * A[n.inputs[0]]! * A[n.inputs[1]]!);
        return;
      case "normalize": {
        const r = ranges[n.input]!;
        const b = normalizeBounds(n.n, n.center, n.eps, Math.min(...r.lo), Math.max(...r.hi));
        over("the row's sum of squares", b.D);
        over("c r mult before the shift", 2 ** n.R * Math.abs(n.mult) + 2 ** (n.shift - 1));
        return;
      }
      case "embed":
      case "softmax":
      case "lut": {
        if (n.op === "softmax") over("2 * out * e + S", (2 * n.out + n.n) * maxAbs(n.exp));
        // INVARIANT: every value the input can take has its table entry (else executors disagree or fail).
        const r = ranges[n.input]!;
        const lo = Math.min(...r.lo),
          hi = Math.max(...r.hi);
        if (lo < n.lo || hi > n.hi)
          bad(i, n.op, `its input ranges over [${lo}, ${hi}], beyond the table's [${n.lo}, ${n.hi}]`);
        return;
      }
      default:
        return;
    }
  });
}
