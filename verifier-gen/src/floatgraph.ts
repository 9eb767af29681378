/**
 * ONNX -> float graph: parsing, static shape inference (batch 1), constant folding,
 * BatchNormalization / bias / per-channel-scale folding, and a float64 reference executor
 * (used for calibration).
 */
import { OnnxParseError, ShapeError, UnsupportedOperatorError } from "./errors.js";
import {
  axesLast,
  broadcastIndex,
  broadcastShape,
  composeIndex,
  concatIndex,
  gatherAxisIndex,
  isFlatIdentity,
  sliceIndex,
  transposeIndex,
} from "./tensorindex.js";
import {
  decodeModel,
  tensorValues,
  type AttributeProtoObj,
  type ModelProtoObj,
  type NodeProtoObj,
} from "./onnx/proto.js";
import { concatFlat, convGeneric, embedRow, matmulGeneric, poolGeneric, vectorIndex, type Shape } from "./tensorops.js";

export const SUPPORTED_OPS = [
  "Gemm",
  "MatMul",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Relu",
  "LeakyRelu",
  "Clip",
  "Conv",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "Flatten",
  "Reshape",
  "Identity",
  "Dropout",
  "BatchNormalization",
  "ArgMax",
  "Constant",
  "Shape",
  "Gather",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Cast",
  "Tanh",
  "Sigmoid",
  "Erf",
  "Exp",
  "Sqrt",
  "Softplus",
  "Softmax",
  "Gelu",
  "Transpose",
  "Slice",
  "Split",
  "Expand",
  "ReduceMean",
  "ReduceSum",
  "ReduceMax",
  "Pow",
  "Reciprocal",
  "LayerNormalization",
  "Where",
  "Elu",
  "Selu",
  "HardSigmoid",
  "HardSwish",
  "Mish",
  "Softsign",
  "Abs",
  "Log",
  "Neg",
  "Pad",
  "ReduceL2",
  "ConstantOfShape",
  "Range",
] as const;

/** Element-wise non-linear functions: quantized as committed tables over the input's integer range. */
export const FUNCS = [
  "tanh",
  "sigmoid",
  "erf",
  "exp",
  "sqrt",
  "softplus",
  "gelu",
  "gelu_tanh",
  "reciprocal",
  "silu",
  "elu",
  "selu",
  "hardsigmoid",
  "hardswish",
  "mish",
  "softsign",
  "abs",
  "log",
] as const;
export type FuncName = (typeof FUNCS)[number];

/** erf to ~1e-15 (series below 2.5, continued fraction above; JavaScript has no Math.erf). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * Math.min(1, (2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz, from the tail)
  let cf = 0;
  for (let k = 60; k >= 1; k--) cf = k / 2 / (ax + cf);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + cf);
  return Math.sign(x) * (1 - erfc);
}

/** The float semantics of each function (the reference the tables are built from). */
/** The float semantics of each function; `p` holds its attributes (Elu alpha; HardSigmoid alpha, beta). */
export function applyFunc(fn: FuncName, x: number, p: readonly number[] = []): number {
  switch (fn) {
    case "silu":
      return x / (1 + Math.exp(-x));
    case "elu":
      return x >= 0 ? x : (p[0] ?? 1) * Math.expm1(x);
    case "selu":
      return 1.0507009873554805 * (x >= 0 ? x : 1.6732632423543772 * Math.expm1(x));
    case "hardsigmoid":
      return Math.min(1, Math.max(0, (p[0] ?? 0.2) * x + (p[1] ?? 0.5)));
    case "hardswish":
      return x * Math.min(1, Math.max(0, x / 6 + 0.5));
    case "mish":
      return x * Math.tanh(x > 30 ? x : Math.log1p(Math.exp(x)));
    case "softsign":
      return x / (1 + Math.abs(x));
    case "abs":
      return Math.abs(x);
    case "log":
      return Math.log(x);
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return 1 / (1 + Math.exp(-x));
    case "erf":
      return erf(x);
    case "exp":
      return Math.exp(x);
    case "sqrt":
      return Math.sqrt(Math.max(0, x));
    case "softplus":
      return x > 30 ? x : Math.log1p(Math.exp(x));
    case "gelu":
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "gelu_tanh":
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case "reciprocal":
      return 1 / x;
  }
}

/** Which node produces each tensor, and which nodes read it (the fusions' view of an ONNX graph). */
function nodeIndex(nodes: readonly NodeProtoObj[]) {
  const producer = new Map<string, NodeProtoObj>();
  const uses = new Map<string, NodeProtoObj[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) uses.set(i, [...(uses.get(i) ?? []), n]);
  }
  return { producer, uses };
}

/** A node's single-valued constant input (an initializer or a Constant node), if it has one. */
type ScalarOf = (name: string) => number | undefined;

/**
 * Recognises GELU as PyTorch exports it, x * 0.5 * (1 + erf(x / sqrt 2)) (Div, Erf, Add, Mul, Mul; or
 * Mul by 1/sqrt 2 first), and replaces the five nodes by one Gelu node: an element-wise function of x,
 * so one table instead of a product of two activations. Nodes whose intermediate values are used
 * elsewhere are left alone.
 */
export function fuseGelu(nodes: readonly NodeProtoObj[], scalarOf: ScalarOf): NodeProtoObj[] {
  const near = (v: number | undefined, target: number) => v !== undefined && Math.abs(v - target) < 1e-5 * target;
  const { uses } = nodeIndex(nodes);
  const only = (name: string | undefined) => {
    const u = name === undefined ? undefined : uses.get(name);
    return u?.length === 1 ? u[0] : undefined;
  };
  /** The other input of a binary node, when one of its inputs is `known`. */
  const other = (n: NodeProtoObj, known: string) => {
    const [a, b] = n.input ?? [];
    return a === known ? b : b === known ? a : undefined;
  };
  const removed = new Set<NodeProtoObj>();
  const replaced = new Map<NodeProtoObj, NodeProtoObj>();
  for (const erfNode of nodes) {
    if (erfNode.op_type !== "Erf") continue;
    const scaled = nodes.find((n) => n.output?.[0] === erfNode.input?.[0]);
    if (scaled === undefined || only(scaled.output?.[0]) !== erfNode) continue;
    const [s0, s1] = scaled.input ?? [];
    let x: string | undefined;
    if (scaled.op_type === "Div" && near(scalarOf(s1 ?? ""), Math.SQRT2)) x = s0;
    else if (scaled.op_type === "Mul" && near(scalarOf(s1 ?? ""), Math.SQRT1_2)) x = s0;
    else if (scaled.op_type === "Mul" && near(scalarOf(s0 ?? ""), Math.SQRT1_2)) x = s1;
    if (x === undefined) continue;
    const plusOne = only(erfNode.output?.[0]);
    if (plusOne?.op_type !== "Add" || !near(scalarOf(other(plusOne, erfNode.output![0]!) ?? ""), 1)) continue;
    const times = only(plusOne.output?.[0]);
    if (times?.op_type !== "Mul" || other(times, plusOne.output![0]!) !== x) continue;
    const half = only(times.output?.[0]);
    if (half?.op_type !== "Mul" || !near(scalarOf(other(half, times.output![0]!) ?? ""), 0.5)) continue;
    for (const n of [scaled, erfNode, plusOne, times]) removed.add(n);
    replaced.set(half, {
      op_type: "Gelu",
      name: `${erfNode.name ?? "gelu"}#gelu`,
      input: [x],
      output: [half.output![0]!],
      attribute: [],
    });
  }
  return nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}

/**
 * Recognises tanh-approximated GELU as PyTorch exports it (opsets below 20):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with x^3 as Pow 3, and the final products in either order
 * ((0.5 x) * (1 + t), or (x * (1 + t)) * 0.5); the nodes become one Gelu node with approximate="tanh".
 */
export function fuseGeluTanh(nodes: readonly NodeProtoObj[], scalarOf: ScalarOf): NodeProtoObj[] {
  const near = (v: number | undefined, target: number) => v !== undefined && Math.abs(v - target) < 1e-4 * target;
  const { producer, uses } = nodeIndex(nodes);
  const only = (name: string | undefined) => {
    const u = name === undefined ? undefined : uses.get(name);
    return u?.length === 1 ? u[0] : undefined;
  };
  /** For a binary node with a constant operand near `c`: the other operand. */
  const byConst = (n: NodeProtoObj | undefined, op: string, c: number): string | undefined => {
    if (n?.op_type !== op) return undefined;
    const [a, b] = n.input ?? [];
    if (near(scalarOf(b ?? ""), c)) return a;
    if (near(scalarOf(a ?? ""), c)) return b;
    return undefined;
  };
  const removed = new Set<NodeProtoObj>();
  const replaced = new Map<NodeProtoObj, NodeProtoObj>();
  for (const tanh of nodes) {
    if (tanh.op_type !== "Tanh") continue;
    const scaled = producer.get(tanh.input?.[0] ?? "");
    const sum = producer.get(byConst(scaled, "Mul", Math.sqrt(2 / Math.PI)) ?? "");
    if (sum?.op_type !== "Add") continue;
    // x + 0.044715 x^3: one operand is x, the other 0.044715 * Pow(x, 3).
    let x: string | undefined, cube: NodeProtoObj | undefined, kappa: NodeProtoObj | undefined;
    for (const [p, q] of [
      [sum.input?.[0], sum.input?.[1]],
      [sum.input?.[1], sum.input?.[0]],
    ] as const) {
      const k = producer.get(q ?? "");
      const c = producer.get(byConst(k, "Mul", 0.044715) ?? "");
      if (c?.op_type === "Pow" && c.input?.[0] === p && scalarOf(c.input?.[1] ?? "") === 3) {
        x = p;
        cube = c;
        kappa = k;
      }
    }
    if (x === undefined || cube === undefined || kappa === undefined) continue;
    const plusOne = only(tanh.output?.[0]);
    if (byConst(plusOne, "Add", 1) !== tanh.output?.[0]) continue;
    const next = only(plusOne!.output?.[0]);
    if (next?.op_type !== "Mul") continue;
    const other = next.input?.[0] === plusOne!.output?.[0] ? next.input?.[1] : next.input?.[0];
    let last: NodeProtoObj | undefined;
    const chain = [cube, kappa, sum, scaled!, tanh, plusOne!];
    const halfX = producer.get(other ?? "");
    if (byConst(halfX, "Mul", 0.5) === x && only(halfX!.output?.[0]) === next) {
      chain.push(halfX!);
      last = next;
    } else if (other === x) {
      const half = only(next.output?.[0]);
      if (byConst(half, "Mul", 0.5) === next.output?.[0]) {
        chain.push(next);
        last = half;
      }
    }
    if (last === undefined) continue;
    const internal = [cube, kappa, sum, scaled!, tanh].flatMap((n) => n.output ?? []);
    if (!internal.every((o) => (uses.get(o) ?? []).every((u) => chain.includes(u)))) continue;
    for (const n of chain) removed.add(n);
    replaced.set(last, {
      op_type: "Gelu",
      name: `${tanh.name ?? "gelu"}#gelu_tanh`,
      input: [x],
      output: [last.output![0]!],
      attribute: [{ name: "approximate", s: new TextEncoder().encode("tanh") }],
    });
  }
  return nodes.filter((n) => !removed.has(n) || replaced.has(n)).map((n) => replaced.get(n) ?? n);
}

/** SiLU as PyTorch exports it, x * Sigmoid(x) (either order): one table instead of a product of activations. */
export function fuseSilu(nodes: readonly NodeProtoObj[]): NodeProtoObj[] {
  const { producer, uses } = nodeIndex(nodes);
  const removed = new Set<NodeProtoObj>();
  const replaced = new Map<NodeProtoObj, NodeProtoObj>();
  for (const mul of nodes) {
    if (mul.op_type !== "Mul") continue;
    const [a, b] = mul.input ?? [];
    for (const [x, s] of [
      [a, b],
      [b, a],
    ] as const) {
      const sig = producer.get(s ?? "");
      if (sig?.op_type !== "Sigmoid" || sig.input?.[0] !== x || uses.get(s!)?.length !== 1 || replaced.has(mul))
        continue;
      removed.add(sig);
      replaced.set(mul, {
        op_type: "Silu",
        name: `${mul.name ?? "silu"}#silu`,
        input: [x!],
        output: [mul.output![0]!],
      });
    }
  }
  const out = nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  for (const n of replaced.values()) FUSED.add(n);
  return out;
}

/** A node's constant input values (an initializer or a Constant node), if it has them. */
type ValuesOf = (name: string) => number[] | undefined;

/** The op type of the internal node that fuseNormalize leaves (never in a user's model: it has a domain). */
export const NORMALIZE_OP = "Normalize";
const NORMALIZE_DOMAIN = "veriml";
/** The nodes the fusions made (only these may carry NORMALIZE_DOMAIN). */
const FUSED = new WeakSet<NodeProtoObj>();

/**
 * Recognises normalisation as PyTorch exports it and replaces it by one Normalize node, so that it is
 * quantized as one integer op (an exact inverse square root of the row's sum of squares) instead of a
 * division of two activations:
 *   LayerNorm core   (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)
 *   RMSNorm          x / sqrt(mean(x^2) + eps)
 *   L2 normalisation x / sqrt(sum(x^2) + eps)     (eps optional; ^2 as Pow 2 or x * x; / as Div or * Reciprocal)
 * The reductions must be over the same axes; nodes whose intermediate values are used elsewhere are left alone.
 */
export function fuseNormalize(nodes: readonly NodeProtoObj[], valuesOf: ValuesOf): NodeProtoObj[] {
  const { producer, uses } = nodeIndex(nodes);
  const usedOnlyBy = (name: string, users: NodeProtoObj[]) => (uses.get(name) ?? []).every((u) => users.includes(u));
  const scalar = (name: string | undefined) => {
    const v = name === undefined ? undefined : valuesOf(name);
    return v?.length === 1 ? v[0] : undefined;
  };
  const reduceAxes = (n: NodeProtoObj): string | undefined => {
    const a =
      n.attribute?.find((x) => x.name === "axes")?.ints?.map(Number) ?? (n.input?.[1] ? valuesOf(n.input[1]) : []);
    const keep = Number(n.attribute?.find((x) => x.name === "keepdims")?.i ?? 1);
    return a === undefined || keep !== 1 ? undefined : JSON.stringify(a);
  };
  const removed = new Set<NodeProtoObj>();
  const replaced = new Map<NodeProtoObj, NodeProtoObj>();
  /** `last` becomes one Normalize node of `input`. */
  const fuse = (
    last: NodeProtoObj,
    input: string,
    center: boolean,
    reduce: "mean" | "sum",
    eps: number,
    axes: string,
  ) => {
    const fused: NodeProtoObj = {
      op_type: NORMALIZE_OP,
      domain: NORMALIZE_DOMAIN,
      name: `${last.name ?? "normalize"}#normalize`,
      input: [input],
      output: [last.output![0]!],
      attribute: [
        { name: "center", i: center ? 1 : 0 },
        { name: "reduce", s: new TextEncoder().encode(reduce) },
        { name: "epsilon", f: eps },
        { name: "axes", ints: JSON.parse(axes) as number[] },
      ],
    };
    FUSED.add(fused);
    replaced.set(last, fused);
  };
  for (const last of nodes) {
    let num: string | undefined, den: string | undefined;
    const chain: NodeProtoObj[] = [];
    if (last.op_type === "Div") [num, den] = last.input ?? [];
    else if (last.op_type === "Mul") {
      const [a, b] = last.input ?? [];
      const ra = producer.get(a ?? ""),
        rb = producer.get(b ?? "");
      const rec = ra?.op_type === "Reciprocal" ? ra : rb?.op_type === "Reciprocal" ? rb : undefined;
      if (rec === undefined) continue;
      num = rec === ra ? b : a;
      den = rec.input?.[0];
      chain.push(rec);
    } else continue;
    if (num === undefined) continue;
    // F.normalize: x / Expand(Clip(ReduceL2(x), min = eps)) (clamp_min only matters for a zero vector).
    let l2: NodeProtoObj | undefined = producer.get(den ?? "");
    const l2Chain: NodeProtoObj[] = [];
    if (l2?.op_type === "Expand") {
      l2Chain.push(l2);
      l2 = producer.get(l2.input?.[0] ?? "");
    }
    if (l2?.op_type === "Clip" || l2?.op_type === "Max") {
      l2Chain.push(l2);
      l2 = producer.get(l2.input?.[0] ?? "");
    }
    if (l2?.op_type === "ReduceL2" && l2.input?.[0] === num && reduceAxes(l2) !== undefined) {
      l2Chain.push(l2);
      const outs = [...chain, ...l2Chain].flatMap((n) => n.output ?? []);
      if (outs.every((o) => usedOnlyBy(o, [...chain, ...l2Chain, last]))) {
        for (const n of [...chain, ...l2Chain]) removed.add(n);
        fuse(last, num, false, "sum", 0, reduceAxes(l2)!);
      }
      continue;
    }
    const sqrt = producer.get(den ?? "");
    if (sqrt?.op_type !== "Sqrt") continue;
    chain.push(sqrt);
    let reduced = producer.get(sqrt.input?.[0] ?? "");
    let eps = 0;
    if (reduced?.op_type === "Add") {
      const [a, b] = reduced.input ?? [];
      const ea = scalar(a),
        eb = scalar(b);
      const e = ea ?? eb;
      if (e === undefined || !(e >= 0)) continue;
      eps = e;
      chain.push(reduced);
      reduced = producer.get((ea !== undefined ? b : a) ?? "");
    }
    if (reduced?.op_type !== "ReduceMean" && reduced?.op_type !== "ReduceSum") continue;
    chain.push(reduced);
    const axes = reduceAxes(reduced);
    const square = producer.get(reduced.input?.[0] ?? "");
    const squares =
      square !== undefined &&
      ((square.op_type === "Pow" && square.input?.[0] === num && scalar(square.input?.[1]) === 2) ||
        (square.op_type === "Mul" && square.input?.[0] === num && square.input?.[1] === num));
    if (!squares || axes === undefined) continue;
    chain.push(square);
    let input = num;
    let center = false;
    const sub = producer.get(num);
    if (sub?.op_type === "Sub" && reduced.op_type === "ReduceMean") {
      const [x, m] = sub.input ?? [];
      const mean = producer.get(m ?? "");
      if (
        mean?.op_type === "ReduceMean" &&
        mean.input?.[0] === x &&
        reduceAxes(mean) === axes &&
        usedOnlyBy(m!, [sub]) &&
        usedOnlyBy(num, [square, last])
      ) {
        input = x!;
        center = true;
        chain.push(sub, mean);
      }
    }
    const internal = chain.flatMap((n) => n.output ?? []).filter((o) => o !== num || center);
    if (!internal.every((o) => usedOnlyBy(o, [...chain, last]))) continue;
    for (const n of chain) removed.add(n);
    fuse(last, input, center, reduced.op_type === "ReduceMean" ? "mean" : "sum", eps, axes);
  }
  return nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}

interface Base {
  name: string;
  output: string;
  shape: Shape;
}
export type FNode = Base &
  (
    | { op: "dense"; input: string; inF: number; outF: number; W: Float64Array; B: Float64Array }
    | {
        op: "conv";
        input: string;
        inShape: [number, number, number];
        outShape: [number, number, number];
        kernel: [number, number];
        strides: [number, number];
        pads: [number, number, number, number];
        W: Float64Array;
        B: Float64Array;
      }
    | { op: "relu"; input: string }
    | { op: "leakyrelu"; input: string; alpha: number }
    | { op: "clip"; input: string; min: number; max: number }
    | {
        op: "maxpool" | "avgpool";
        input: string;
        inShape: [number, number, number];
        outShape: [number, number, number];
        kernel: [number, number];
        strides: [number, number];
        pads: [number, number, number, number];
      }
    | { op: "add"; inputs: [string, string]; ca: number; cb: number }
    /** y = x * mul[k] + add[k], k = vectorIndex(e): per channel (axis 1), or along the trailing axes (inner) */
    | { op: "affine"; input: string; mul: Float64Array; add: Float64Array; inner?: number }
    | { op: "reshape"; input: string }
    | { op: "argmax"; input: string }
    | { op: "func"; input: string; fn: FuncName; params?: number[] }
    /** softmax over rows of the last axis (n values each); mask[e] = 0 leaves element e out (probability 0) */
    | { op: "softmax"; input: string; n: number; mask?: number[] }
    /** y[e] = concat(inputs)[index[e]] (flat, row-major); index -1 is the constant 0 */
    | { op: "gather"; inputs: string[]; index: number[] }
    /** y[b, i, j] = sum_k a[b, i, k] * bt[b, j, k]: a is [batch, m, k], bt is [batch, n, k] (B transposed) */
    | { op: "matmul"; inputs: [string, string]; batch: number; m: number; k: number; n: number }
    /**
     * Rows of n: c = x - mean(x) when centered, else x; y = c / sqrt(reduce(c^2) + eps), reduce = mean or sum
     * (LayerNorm without its affine part, RMSNorm, L2 normalisation).
     */
    | { op: "normalize"; input: string; n: number; center: boolean; reduce: "mean" | "sum"; eps: number }
    /** y[i, :] = table[id_i, :] (rows x width), id_i = x_i (negative ids count from the end, as in Gather) */
    | { op: "embed"; input: string; rows: number; width: number; table: Float64Array }
  );

export interface FloatGraph {
  name: string;
  opset: number;
  input: { name: string; shape: Shape };
  nodes: FNode[];
  output: string;
}

interface Const {
  dims: number[];
  data: number[];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function attr(node: NodeProtoObj, name: string): AttributeProtoObj | undefined {
  return node.attribute?.find((a) => a.name === name);
}
function attrI(node: NodeProtoObj, name: string, dflt: number): number {
  const a = attr(node, name);
  return a?.i ?? dflt;
}
function attrF(node: NodeProtoObj, name: string, dflt: number): number {
  const a = attr(node, name);
  return a?.f ?? dflt;
}
function attrIs(node: NodeProtoObj, name: string): number[] | undefined {
  const a = attr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
function attrS(node: NodeProtoObj, name: string): string | undefined {
  const a = attr(node, name);
  return a?.s ? Buffer.from(a.s).toString("utf8") : undefined;
}

/** Parse ONNX bytes and build the float graph (folded, shapes inferred). */
export function importOnnx(bytes: Uint8Array, what = "model"): FloatGraph {
  const model = decodeModel(bytes, what);
  return importModelProto(model);
}

export function importModelProto(model: ModelProtoObj): FloatGraph {
  const g = model.graph!;
  const opset = model.opset_import?.find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 13;
  if (opset < 7 || opset > 21)
    throw new OnnxParseError(`unsupported opset ${opset} (supported: 11-18, best effort 7-21)`);
  const consts = new Map<string, Const>();
  for (const t of g.initializer ?? []) {
    consts.set(t.name ?? "", { dims: (t.dims ?? []).map(Number), data: tensorValues(t) });
  }
  const dynInputs = (g.input ?? []).filter((i) => !consts.has(i.name));
  if (dynInputs.length !== 1) {
    throw new OnnxParseError(`model must have exactly one non-initializer input, found ${dynInputs.length}`);
  }
  const inVi = dynInputs[0]!;
  const dims = inVi.type?.tensor_type?.shape?.dim;
  if (!dims || dims.length === 0) throw new ShapeError(`input "${inVi.name}" has no static shape`);
  const inShape = dims.map((d, i) => {
    if (d.dim_value !== undefined && d.dim_value !== null && Number(d.dim_value) > 0) return Number(d.dim_value);
    if (i === 0) return 1; // symbolic batch dimension -> 1
    throw new ShapeError(`input "${inVi.name}" dimension ${i} is not static`);
  });
  // A static first dimension is part of the shape ([tokens, features] without a batch axis is fine); a symbolic
  // one is the batch, read as 1.

  const constantNodes = new Map<string, NodeProtoObj>();
  for (const n of g.node ?? []) if (n.op_type === "Constant" && n.output?.[0]) constantNodes.set(n.output[0], n);
  const scalarOf: ScalarOf = (name) => {
    const c = consts.get(name);
    if (c !== undefined) return c.data.length === 1 ? c.data[0] : undefined;
    const node = constantNodes.get(name);
    const t = node === undefined ? undefined : attr(node, "value")?.t;
    if (t !== undefined) {
      const v = tensorValues(t);
      return v.length === 1 ? v[0] : undefined;
    }
    const f = node === undefined ? undefined : attr(node, "value_float")?.f;
    return f ?? undefined;
  };
  const valuesOf: ValuesOf = (name) => {
    const c = consts.get(name);
    if (c !== undefined) return c.data;
    const t = constantNodes.get(name) === undefined ? undefined : attr(constantNodes.get(name)!, "value")?.t;
    return t === undefined ? undefined : tensorValues(t);
  };
  const graphNodes = fuseNormalize(fuseSilu(fuseGeluTanh(fuseGelu(g.node ?? [], scalarOf), scalarOf)), valuesOf);
  const shapes = new Map<string, Shape>([[inVi.name, inShape]]);
  const alias = new Map<string, string>();
  const resolveName = (n: string) => {
    let r = n;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const nodes: FNode[] = [];
  const onnxUsers = new Map<string, NodeProtoObj[]>();
  for (const n of graphNodes) for (const i of n.input ?? []) onnxUsers.set(i, [...(onnxUsers.get(i) ?? []), n]);
  /** Where outputs that only mask a Softmax's input: the tensor, and which elements it keeps. */
  const masks = new Map<string, { input: string; keep: number[] }>();

  for (let ni = 0; ni < graphNodes.length; ni++) {
    const node = graphNodes[ni]!;
    const op = node.op_type;
    const name = node.name || `${op}_${ni}`;
    const ins = (node.input ?? []).map((n) => (n === "" ? "" : resolveName(n)));
    const out = node.output?.[0] ?? `${name}:out`;
    const internal = FUSED.has(node);
    if (node.domain && node.domain !== "" && node.domain !== "ai.onnx" && !internal) {
      throw new UnsupportedOperatorError(`${node.domain}.${op}`, name, "custom domain", SUPPORTED_OPS);
    }
    const unsupported = (detail?: string): never => {
      throw new UnsupportedOperatorError(op, name, detail, SUPPORTED_OPS);
    };
    const isConst = (n: string | undefined) => n !== undefined && n !== "" && consts.has(n);
    const cst = (n: string | undefined): Const => {
      const c = n !== undefined ? consts.get(n) : undefined;
      if (!c) unsupported(`input "${n}" must be a constant`);
      return c!;
    };
    const dynShape = (n: string | undefined): Shape => {
      const s = n !== undefined ? shapes.get(n) : undefined;
      if (!s) throw new OnnxParseError(`node "${name}": input "${n}" is not defined before use`);
      return s;
    };
    const push = (n: FNode) => {
      nodes.push(n);
      shapes.set(n.output, n.shape);
    };
    /** A data-movement node (index map of `inputs`) with its own output name; returns that name. */
    let parts = 0;
    const gather = (inputs: string[], index: number[], shape: Shape, output = `${out}#${parts++}`): string => {
      push({ op: "gather", name: `${name}/gather`, output, inputs, index, shape });
      return output;
    };
    /** The tensor broadcast to shape `to` (itself when it already has it). */
    const broadcast = (x: string, to: Shape): string =>
      dynShape(x).join(",") === to.join(",") ? x : gather([x], broadcastIndex(dynShape(x), to), to);
    /** Products of two tensors, element by element (numpy broadcasting). */
    const product = (x: string, y: string, output: string) => {
      const s = broadcastShape(dynShape(x), dynShape(y));
      const size = prod(s);
      push({
        op: "matmul",
        name,
        output,
        inputs: [broadcast(x, s), broadcast(y, s)],
        batch: size,
        m: 1,
        k: 1,
        n: 1,
        shape: s,
      });
    };

    // ---- constant folding: every input constant ----
    const allConst = ins.filter((n) => n !== "").every((n) => consts.has(n));
    if (op === "Constant") {
      const t = attr(node, "value")?.t;
      const vf = attr(node, "value_float");
      const vi = attr(node, "value_int");
      const vis = attr(node, "value_ints");
      if (t) consts.set(out, { dims: (t.dims ?? []).map(Number), data: tensorValues(t) });
      else if (vf?.f !== undefined) consts.set(out, { dims: [], data: [vf.f] });
      else if (vi?.i !== undefined) consts.set(out, { dims: [], data: [Number(vi.i)] });
      else if (vis?.ints) consts.set(out, { dims: [vis.ints.length], data: vis.ints.map(Number) });
      else unsupported("Constant without tensor/float/int value");
      continue;
    }
    if (op === "Shape") {
      const s = consts.has(ins[0]!) ? consts.get(ins[0]!)!.dims : dynShape(ins[0]);
      consts.set(out, { dims: [s.length], data: [...s] });
      continue;
    }
    if (allConst && ins.length > 0 && CONSTANT_FOLDED.includes(op)) {
      consts.set(
        out,
        foldConst(
          node,
          ins.map((n) => consts.get(n)!),
          opset,
          unsupported,
        ),
      );
      continue;
    }

    switch (op) {
      // Cast: between float and integer types of integer-valued data (token ids), the value is unchanged.
      case "Identity":
      case "Dropout":
      case "Cast":
        alias.set(out, ins[0]!);
        break;
      case "Transpose": {
        const s = dynShape(ins[0]);
        const perm = attrIs(node, "perm") ?? s.map((_, i) => s.length - 1 - i);
        const t = transposeIndex(s, perm);
        if (isFlatIdentity(s, perm)) push({ op: "reshape", name, output: out, input: ins[0]!, shape: t.shape });
        else gather([ins[0]!], t.index, t.shape, out);
        break;
      }
      case "Slice": {
        const s = dynShape(ins[0]);
        const list = (k: number, a: string) =>
          opset >= 10 ? (ins[k] ? cst(ins[k]).data.map(Number) : undefined) : attrIs(node, a);
        const starts = list(1, "starts") ?? unsupported("Slice without starts");
        const ends = list(2, "ends") ?? unsupported("Slice without ends");
        const axes = list(3, "axes") ?? starts.map((_, i) => i);
        const steps = list(4, "steps") ?? starts.map(() => 1);
        const t = sliceIndex(s, starts, ends, axes, steps);
        gather([ins[0]!], t.index, t.shape, out);
        break;
      }
      case "Split": {
        const s = dynShape(ins[0]);
        let axis = attrI(node, "axis", 0);
        if (axis < 0) axis += s.length;
        const outputs = node.output ?? [];
        const d = s[axis]!;
        const even = Math.ceil(d / outputs.length);
        const sizes =
          (ins[1] ? cst(ins[1]).data.map(Number) : attrIs(node, "split")) ??
          outputs.map((_, k) => Math.max(0, Math.min(even, d - k * even)));
        if (sizes.length !== outputs.length || sizes.reduce((a, b) => a + b, 0) !== d)
          throw new ShapeError(`node "${name}": split sizes [${sizes}] do not add up to ${d}`);
        let start = 0;
        outputs.forEach((o, k) => {
          const t = sliceIndex(s, [start], [start + sizes[k]!], [axis], [1]);
          start += sizes[k]!;
          if (o) gather([ins[0]!], t.index, t.shape, o);
        });
        break;
      }
      case "Concat": {
        // Dynamic parts are moved; constant parts read the constant 0 and are added afterwards.
        const axis = attrI(node, "axis", 0);
        const pieces = ins.filter((p) => p !== "");
        const rank = Math.max(...pieces.map((p) => (isConst(p) ? cst(p).dims.length : dynShape(p).length)));
        const shapeOfPiece = (p: string) => (isConst(p) ? cst(p).dims : dynShape(p));
        const t = concatIndex(pieces.map(shapeOfPiece), axis < 0 ? axis + rank : axis);
        const dyn = [...new Set(pieces.filter((p) => !isConst(p)))];
        const offset = new Map<string, number>();
        dyn.reduce((acc, p) => (offset.set(p, acc), acc + prod(dynShape(p))), 0);
        const index = t.index.map((i, e) => (isConst(pieces[t.part[e]!]!) ? -1 : offset.get(pieces[t.part[e]!]!)! + i));
        const add = t.index.map((i, e) => (isConst(pieces[t.part[e]!]!) ? cst(pieces[t.part[e]!]!).data[i]! : 0));
        if (add.every((v) => v === 0)) {
          gather(dyn, index, t.shape, out);
          break;
        }
        const moved = gather(dyn, index, t.shape);
        const mul = new Float64Array(add.length).fill(1);
        push({
          op: "affine",
          name,
          output: out,
          input: moved,
          mul,
          add: Float64Array.from(add),
          inner: 1,
          shape: t.shape,
        });
        break;
      }
      case "Gather": {
        const axis = attrI(node, "axis", 0);
        if (isConst(ins[0]) && !isConst(ins[1])) {
          // An embedding: one table row per id.
          const T = cst(ins[0]);
          if (axis !== 0 && axis !== -T.dims.length)
            unsupported(`a constant table gathered along axis ${axis} (only 0)`);
          if (T.dims.length < 1) unsupported("a scalar table");
          const rows = T.dims[0]!;
          push({
            op: "embed",
            name,
            output: out,
            input: ins[1]!,
            rows,
            width: prod(T.dims.slice(1)),
            table: Float64Array.from(T.data),
            shape: [...dynShape(ins[1]), ...T.dims.slice(1)],
          });
        } else if (!isConst(ins[0]) && isConst(ins[1])) {
          const idx = cst(ins[1]);
          const t = gatherAxisIndex(dynShape(ins[0]), axis, idx.data, idx.dims);
          gather([ins[0]!], t.index, t.shape, out);
        } else unsupported("Gather of a computed tensor at computed indices");
        break;
      }
      case "Expand": {
        const s = dynShape(ins[0]);
        const to = broadcastShape(s, cst(ins[1]).data.map(Number));
        gather([ins[0]!], broadcastIndex(s, to), to, out);
        break;
      }
      case "ReduceMean":
      case "ReduceSum":
      case "ReduceMax": {
        const s = dynShape(ins[0]);
        const axesInput = opset >= 18 || (op === "ReduceSum" && opset >= 13);
        let axes = (axesInput ? (ins[1] ? cst(ins[1]).data.map(Number) : undefined) : attrIs(node, "axes")) ?? [];
        if (axes.length === 0 && attrI(node, "noop_with_empty_axes", 0) === 1) {
          alias.set(out, ins[0]!);
          break;
        }
        if (axes.length === 0) axes = s.map((_, i) => i);
        axes = [...new Set(axes.map((a) => (a < 0 ? a + s.length : a)))].sort((a, b) => a - b);
        const keep = attrI(node, "keepdims", 1) === 1;
        const outShape = keep ? s.map((d, i) => (axes.includes(i) ? 1 : d)) : s.filter((_, i) => !axes.includes(i));
        const { perm, rows, k } = axesLast(s, axes);
        let src = ins[0]!;
        if (!isFlatIdentity(s, perm)) {
          const t = transposeIndex(s, perm);
          src = gather([src], t.index, t.shape);
        }
        // Rows of k values: a window of the whole row.
        const pooled = op === "ReduceSum" ? `${out}#mean` : out;
        push({
          op: op === "ReduceMax" ? "maxpool" : "avgpool",
          name,
          output: pooled,
          input: src,
          inShape: [rows, 1, k],
          outShape: [rows, 1, 1],
          kernel: [1, k],
          strides: [1, 1],
          pads: [0, 0, 0, 0],
          shape: outShape.length > 0 ? outShape : [1],
        });
        if (op === "ReduceSum") {
          push({
            op: "affine",
            name: `${name}/sum`,
            output: out,
            input: pooled,
            mul: Float64Array.of(k),
            add: Float64Array.of(0),
            shape: outShape.length > 0 ? outShape : [1],
          });
        }
        break;
      }
      case "Pow": {
        const p = cst(ins[1]).data;
        if (p.length !== 1) unsupported("an exponent that is not a scalar");
        if (p[0] === 1) alias.set(out, ins[0]!);
        else if (p[0] === 2) product(ins[0]!, ins[0]!, out);
        else if (p[0] === 3) {
          product(ins[0]!, ins[0]!, `${out}#square`);
          product(`${out}#square`, ins[0]!, out);
        } else if (p[0] === 0.5 || p[0] === -1) {
          const fn: FuncName = p[0] === 0.5 ? "sqrt" : "reciprocal";
          push({ op: "func", fn, name, output: out, input: ins[0]!, shape: dynShape(ins[0]) });
        } else unsupported(`exponent ${p[0]} (supported: 2, 3, 0.5, 1, -1)`);
        break;
      }
      case "Reciprocal":
        push({ op: "func", fn: "reciprocal", name, output: out, input: ins[0]!, shape: dynShape(ins[0]) });
        break;
      case "LayerNormalization":
      case NORMALIZE_OP: {
        const s = dynShape(ins[0]);
        let n: number;
        if (op === NORMALIZE_OP) {
          const axes = (attrIs(node, "axes") ?? []).map((a) => (a < 0 ? a + s.length : a)).sort((a, b) => a - b);
          if (axes.length === 0 || axes.some((a, i) => a !== s.length - axes.length + i))
            unsupported(`normalisation over axes [${attrIs(node, "axes")}] of [${s}]: only over the last axes`);
          n = prod(axes.map((a) => s[a]!));
        } else {
          let axis = attrI(node, "axis", -1);
          if (axis < 0) axis += s.length;
          n = prod(s.slice(axis));
        }
        const layerNorm = op === "LayerNormalization";
        const normalized = layerNorm ? `${out}#normalized` : out;
        push({
          op: "normalize",
          name,
          output: normalized,
          input: ins[0]!,
          n,
          center: layerNorm || attrI(node, "center", 0) === 1,
          reduce: layerNorm || attrS(node, "reduce") === "mean" ? "mean" : "sum",
          eps: attrF(node, "epsilon", layerNorm ? 1e-5 : 0),
          shape: s,
        });
        if (layerNorm) {
          const scale = cst(ins[1]);
          const bias = ins[2] ? cst(ins[2]) : undefined;
          if (prod(scale.dims) !== n || (bias !== undefined && prod(bias.dims) !== n))
            unsupported(`scale / bias of [${scale.dims}] / [${bias?.dims}] for rows of ${n}`);
          push({
            op: "affine",
            name: `${name}/affine`,
            output: out,
            input: normalized,
            mul: Float64Array.from(scale.data),
            add: bias === undefined ? Float64Array.of(0) : Float64Array.from(bias.data),
            ...(n > 1 ? { inner: 1 } : {}),
            shape: s,
          });
        }
        break;
      }
      case "Gemm": {
        let a = dynShape(ins[0]);
        if (a.length !== 2) unsupported(`input must be [M, K], got [${a}]`);
        let x = ins[0]!;
        if (attrI(node, "transA", 0) !== 0) {
          // A^T: the input transposed first (rows of K).
          const t = transposeIndex(a, [1, 0]);
          x = gather([x], t.index, t.shape);
          a = t.shape;
        }
        const B = cst(ins[1]);
        const transB = attrI(node, "transB", 0);
        const alpha = attrF(node, "alpha", 1);
        const beta = attrF(node, "beta", 1);
        const K = a[1]!;
        if (B.dims.length !== 2) unsupported("B must be 2-D");
        const N = transB ? B.dims[0]! : B.dims[1]!;
        const Kb = transB ? B.dims[1]! : B.dims[0]!;
        if (Kb !== K) throw new ShapeError(`node "${name}": Gemm K mismatch (${K} vs ${Kb})`);
        const W = new Float64Array(N * K);
        for (let o = 0; o < N; o++)
          for (let i = 0; i < K; i++) W[o * K + i] = alpha * (transB ? B.data[o * K + i]! : B.data[i * N + o]!);
        const Bv = new Float64Array(N);
        if (ins[2]) {
          const C = cst(ins[2]);
          const cn = prod(C.dims);
          if (cn !== 1 && cn !== N) unsupported(`bias C of ${cn} elements cannot broadcast to ${N}`);
          for (let o = 0; o < N; o++) Bv[o] = beta * C.data[cn === 1 ? 0 : o]!;
        }
        // [M, K] rows (M tokens, e.g. nn.MultiheadAttention's projections): one dense layer per row.
        push({ op: "dense", name, output: out, input: x, inF: K, outF: N, W, B: Bv, shape: [a[0]!, N] });
        break;
      }
      case "MatMul": {
        if (!isConst(ins[0]) && !isConst(ins[1])) {
          // Two activations (attention): batch axes broadcast, B transposed so that both operands are read by rows.
          const sa = dynShape(ins[0]),
            sb = dynShape(ins[1]);
          if (sa.length < 2 || sb.length < 2) unsupported(`MatMul of a rank-1 tensor ([${sa}] x [${sb}])`);
          const [M, K] = sa.slice(-2) as [number, number];
          const [K2, N] = sb.slice(-2) as [number, number];
          if (K !== K2) throw new ShapeError(`node "${name}": MatMul shapes [${sa}] x [${sb}]`);
          const batch = broadcastShape(sa.slice(0, -2), sb.slice(0, -2));
          const fullB = [...batch, K, N];
          const r = fullB.length;
          const t = transposeIndex(fullB, [...batch.map((_, i) => i), r - 1, r - 2]);
          const bt = gather([ins[1]!], composeIndex(broadcastIndex(sb, fullB), t.index), t.shape);
          push({
            op: "matmul",
            name,
            output: out,
            inputs: [broadcast(ins[0]!, [...batch, M, K]), bt],
            batch: prod(batch),
            m: M,
            k: K,
            n: N,
            shape: [...batch, M, N],
          });
          break;
        }
        if (isConst(ins[0])) {
          // W [M, K] @ x [..., K, N] = (x^T W^T)^T: x's last two axes swapped, a dense layer per row, swapped back.
          const A = cst(ins[0]);
          const s = dynShape(ins[1]);
          if (A.dims.length !== 2 || s.length < 2)
            unsupported(`a constant left operand of rank ${A.dims.length} times [${s}] (only [M, K] x [..., K, N])`);
          const [M, K] = A.dims as [number, number];
          if (s[s.length - 2] !== K) throw new ShapeError(`node "${name}": MatMul shapes [${A.dims}] x [${s}]`);
          const r = s.length;
          const swap = [...s.keys()].slice(0, r - 2).concat([r - 1, r - 2]);
          const t = transposeIndex(s, swap);
          const rowsOut = [...t.shape.slice(0, -1), M];
          push({
            op: "dense",
            name,
            output: `${out}#rows`,
            input: gather([ins[1]!], t.index, t.shape),
            inF: K,
            outF: M,
            W: Float64Array.from(A.data),
            B: new Float64Array(M),
            shape: rowsOut,
          });
          const back = transposeIndex(rowsOut, swap);
          gather([`${out}#rows`], back.index, back.shape, out);
          break;
        }
        const a = dynShape(ins[0]);
        let B = cst(ins[1]);
        if (B.dims.length > 2 && B.dims.slice(0, -2).every((d) => d === 1))
          B = { dims: B.dims.slice(-2), data: B.data };
        if (B.dims.length > 2) {
          // Weights per batch index ([..., K, N]): one dense layer over [M, batch * K] rows with block-diagonal
          // weights, the batch moved next to K before and back after.
          const [K, N] = B.dims.slice(-2) as [number, number];
          const M = a[a.length - 2] ?? 1;
          if (a.length < 2 || a[a.length - 1] !== K)
            throw new ShapeError(`node "${name}": MatMul shapes [${a}] x [${B.dims}]`);
          const batch = broadcastShape(a.slice(0, -2), B.dims.slice(0, -2));
          const nb = prod(batch);
          const xFull = broadcastIndex(a, [...batch, M, K]);
          const bFull = broadcastIndex(B.dims, [...batch, K, N]);
          const rowsIn = Array.from({ length: M * nb * K }, (_, p) => {
            const m = Math.floor(p / (nb * K)),
              b = Math.floor(p / K) % nb,
              k = p % K;
            return xFull[(b * M + m) * K + k]!;
          });
          const W = new Float64Array(nb * N * nb * K);
          for (let b = 0; b < nb; b++)
            for (let o = 0; o < N; o++)
              for (let k = 0; k < K; k++) W[(b * N + o) * nb * K + b * K + k] = B.data[bFull[(b * K + k) * N + o]!]!;
          push({
            op: "dense",
            name,
            output: `${out}#rows`,
            input: gather([ins[0]!], rowsIn, [M, nb * K]),
            inF: nb * K,
            outF: nb * N,
            W,
            B: new Float64Array(nb * N),
            shape: [M, nb * N],
          });
          const shape = [...batch, M, N];
          const index = Array.from({ length: nb * M * N }, (_, p) => {
            const b = Math.floor(p / (M * N)),
              m = Math.floor(p / N) % M,
              o = p % N;
            return m * nb * N + b * N + o;
          });
          gather([`${out}#rows`], index, shape, out);
          break;
        }
        // x [1, ..., K] @ W [K, N]: the same dense layer applied to every row (token) of the leading axes.
        if (a.length < 2 || a[0] !== 1) unsupported(`input must be [1, ..., K], got [${a}]`);
        if (B.dims.length !== 2) unsupported(`a constant right operand of rank ${B.dims.length} (only [K, N])`);
        if (B.dims[0] !== a[a.length - 1]) throw new ShapeError(`node "${name}": MatMul shapes [${a}] x [${B.dims}]`);
        const K = a[a.length - 1]!,
          N = B.dims[1]!;
        const W = new Float64Array(N * K);
        for (let o = 0; o < N; o++) for (let i = 0; i < K; i++) W[o * K + i] = B.data[i * N + o]!;
        push({
          op: "dense",
          name,
          output: out,
          input: ins[0]!,
          inF: K,
          outF: N,
          W,
          B: new Float64Array(N),
          shape: [...a.slice(0, -1), N],
        });
        break;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const c0 = isConst(ins[0]),
          c1 = isConst(ins[1]);
        if (!c0 && !c1) {
          if (op === "Div") {
            // x / y = x * (1 / y): the reciprocal as a table over y's range, then a product. (Normalisations are
            // recognised before, as one exact op.)
            const rec = `${out}#reciprocal`;
            push({
              op: "func",
              fn: "reciprocal",
              name: `${name}/reciprocal`,
              output: rec,
              input: ins[1]!,
              shape: dynShape(ins[1]),
            });
            product(ins[0]!, rec, out);
            break;
          }
          if (op === "Mul") {
            product(ins[0]!, ins[1]!, out);
            break;
          }
          const sa = broadcastShape(dynShape(ins[0]), dynShape(ins[1]));
          push({
            op: "add",
            name,
            output: out,
            inputs: [broadcast(ins[0]!, sa), broadcast(ins[1]!, sa)],
            ca: 1,
            cb: op === "Sub" ? -1 : 1,
            shape: sa,
          });
          break;
        }
        const dynIdx = c0 ? 1 : 0;
        const s = dynShape(ins[dynIdx]);
        const c = cst(ins[1 - dynIdx]);
        // A scalar, a per-channel vector (axis 1), or a constant over the trailing axes (a bias on the last
        // axis of a [1, tokens, d] tensor, a positional embedding of the whole shape).
        // Anything else that broadcasts to the input's shape is spread over the whole tensor.
        const trailing = trailingVector(c, s) ?? wholeTensor(c, s);
        const per =
          trailing ??
          channelVector(c, s, () =>
            unsupported(`constant of shape [${c.dims}] does not broadcast to the input's shape [${s}]`),
          );
        const inner = trailing === null || trailing.length === 1 ? undefined : 1;
        const nc = per.length;
        const mul = new Float64Array(nc).fill(1);
        const add = new Float64Array(nc);
        for (let k = 0; k < nc; k++) {
          const v = per[k]!;
          if (op === "Add") add[k] = v;
          else if (op === "Sub") {
            if (dynIdx === 0) add[k] = -v;
            else {
              mul[k] = -1;
              add[k] = v;
            }
          } else if (op === "Mul") mul[k] = v;
          else {
            if (dynIdx === 1) unsupported("division of a constant by a tensor");
            mul[k] = 1 / v;
          }
        }
        push({
          op: "affine",
          name,
          output: out,
          input: ins[dynIdx]!,
          mul,
          add,
          shape: s,
          ...(inner === undefined ? {} : { inner }),
        });
        break;
      }
      case "Relu":
        push({ op: "relu", name, output: out, input: ins[0]!, shape: dynShape(ins[0]) });
        break;
      case "Where": {
        // A constant mask: where it selects the constant, the constant; elsewhere the tensor.
        const [cn, an, bn] = ins;
        if (!isConst(cn)) unsupported("a computed condition (only a constant mask)");
        const ca = isConst(an),
          cb = isConst(bn);
        if (ca === cb) unsupported(ca ? "every input constant" : "a choice between two computed tensors");
        const x = ca ? bn! : an!;
        const s = dynShape(x);
        const cond = cst(cn);
        const C = cst(ca ? an : bn);
        const condAt = broadcastIndex(cond.dims, s).map((i) => cond.data[i] !== 0);
        const constAt = broadcastIndex(C.dims, s).map((i) => C.data[i]!);
        const takesConst = condAt.map((c) => (ca ? c : !c));
        const users = onnxUsers.get(node.output?.[0] ?? "") ?? [];
        // Masking before a Softmax (causal attention: -inf, or a large negative value): the softmax leaves those
        // elements out, exactly.
        if (
          users.length === 1 &&
          users[0]!.op_type === "Softmax" &&
          takesConst.every((t, e) => !t || constAt[e]! <= -1e4)
        ) {
          masks.set(out, { input: x, keep: takesConst.map((t) => (t ? 0 : 1)) });
          break;
        }
        if (constAt.some((v, e) => takesConst[e] && !Number.isFinite(v)))
          unsupported("a masked value of -inf that no Softmax reads");
        push({
          op: "affine",
          name,
          output: out,
          input: x,
          mul: Float64Array.from(takesConst, (t) => (t ? 0 : 1)),
          add: Float64Array.from(takesConst, (t, e) => (t ? constAt[e]! : 0)),
          inner: 1,
          shape: s,
        });
        break;
      }
      case "Softmax": {
        const masked = masks.get(ins[0]!);
        if (masked !== undefined) ins[0] = masked.input;
        const mask = masked?.keep;
        const s = dynShape(ins[0]);
        const rank = s.length;
        let axis = attrI(node, "axis", opset >= 13 ? -1 : 1);
        if (axis < 0) axis += rank;
        // Before opset 13 Softmax flattens the axes from `axis` on: the same rows when that is the last axis,
        // or when every later axis has size 1.
        if (axis < 0 || axis >= rank) unsupported(`softmax over axis ${attrI(node, "axis", -1)} of a [${s}] tensor`);
        const rowsOf = (n: number, m: number[] | undefined) => {
          // INVARIANT: every row keeps an element (a softmax of nothing has no value).
          if (m !== undefined)
            for (let r0 = 0; r0 < m.length; r0 += n)
              if (!m.slice(r0, r0 + n).includes(1)) unsupported("a row masked entirely");
          return m === undefined ? {} : { mask: m };
        };
        if (opset < 13 && axis !== rank - 1) {
          // Before opset 13 Softmax flattens the axes from `axis` on: one row of all of them.
          const n = prod(s.slice(axis));
          push({ op: "softmax", name, output: out, input: ins[0]!, n, shape: s, ...rowsOf(n, mask) });
          break;
        }
        const perm = [...s.keys()].filter((a) => a !== axis).concat([axis]);
        if (isFlatIdentity(s, perm)) {
          push({ op: "softmax", name, output: out, input: ins[0]!, n: s[axis]!, shape: s, ...rowsOf(s[axis]!, mask) });
          break;
        }
        // Another axis: moved last, softmax over rows, moved back.
        const t = transposeIndex(s, perm);
        const moved = gather([ins[0]!], t.index, t.shape);
        const back = transposeIndex(
          t.shape,
          perm.map((_, i) => perm.indexOf(i)),
        );
        const movedMask = mask === undefined ? undefined : t.index.map((i) => mask[i]!);
        push({
          op: "softmax",
          name,
          output: `${out}#softmax`,
          input: moved,
          n: s[axis]!,
          shape: t.shape,
          ...rowsOf(s[axis]!, movedMask),
        });
        gather([`${out}#softmax`], back.index, s, out);
        break;
      }
      case "Gelu": {
        // Opset 20's Gelu, or PyTorch's exported form fused into it (fuseGelu).
        const approximate = new TextDecoder().decode(attr(node, "approximate")?.s ?? new Uint8Array());
        if (approximate !== "" && approximate !== "none" && approximate !== "tanh")
          unsupported(`approximate="${approximate}"`);
        const fn: FuncName = approximate === "tanh" ? "gelu_tanh" : "gelu";
        push({ op: "func", fn, name, output: out, input: ins[0]!, shape: dynShape(ins[0]) });
        break;
      }
      case "Tanh":
      case "Sigmoid":
      case "Erf":
      case "Exp":
      case "Sqrt":
      case "Softplus":
      case "Elu":
      case "Selu":
      case "HardSigmoid":
      case "HardSwish":
      case "Mish":
      case "Softsign":
      case "Abs":
      case "Log": {
        const params =
          op === "Elu"
            ? [attrF(node, "alpha", 1)]
            : op === "HardSigmoid"
              ? [attrF(node, "alpha", 0.2), attrF(node, "beta", 0.5)]
              : undefined;
        if (op === "Selu" && (attr(node, "alpha") !== undefined || attr(node, "gamma") !== undefined))
          unsupported("Selu with non-default alpha / gamma");
        push({
          op: "func",
          fn: op.toLowerCase() as FuncName,
          name,
          output: out,
          input: ins[0]!,
          shape: dynShape(ins[0]),
          ...(params === undefined ? {} : { params }),
        });
        break;
      }
      case "Silu":
        if (!internal) unsupported();
        push({ op: "func", fn: "silu", name, output: out, input: ins[0]!, shape: dynShape(ins[0]) });
        break;
      case "Neg":
        push({
          op: "affine",
          name,
          output: out,
          input: ins[0]!,
          mul: Float64Array.of(-1),
          add: Float64Array.of(0),
          shape: dynShape(ins[0]),
        });
        break;
      case "Pad": {
        // Constant padding: padded positions read the constant 0 (and a nonzero pad value is added there).
        const s = dynShape(ins[0]);
        if ((attrS(node, "mode") ?? "constant") !== "constant") unsupported(`mode "${attrS(node, "mode")}"`);
        const pads = (opset >= 11 ? cst(ins[1]).data.map(Number) : attrIs(node, "pads")) ?? [];
        const value = opset >= 11 ? (ins[2] ? cst(ins[2]).data[0]! : 0) : attrF(node, "value", 0);
        const r = s.length;
        let axes = s.map((_, i) => i);
        if (opset >= 18 && ins[3]) axes = cst(ins[3]).data.map((a) => (a < 0 ? a + r : a));
        const before = s.map(() => 0),
          after = s.map(() => 0);
        axes.forEach((a, k) => {
          before[a] = pads[k]!;
          after[a] = pads[k + axes.length]!;
        });
        if ([...before, ...after].some((p) => p < 0)) unsupported("negative pads (cropping)");
        const shape = s.map((d, i) => d + before[i]! + after[i]!);
        const st = s.map((_, i) => s.slice(i + 1).reduce((x, y) => x * y, 1));
        const index = Array.from({ length: prod(shape) }, (_, e) => {
          let rem = e,
            flat = 0;
          for (let i = r - 1; i >= 0; i--) {
            const c = (rem % shape[i]!) - before[i]!;
            rem = Math.floor(rem / shape[i]!);
            if (c < 0 || c >= s[i]!) return -1;
            flat += c * st[i]!;
          }
          return flat;
        });
        if (value === 0) gather([ins[0]!], index, shape, out);
        else {
          const moved = gather([ins[0]!], index, shape);
          push({
            op: "affine",
            name,
            output: out,
            input: moved,
            mul: new Float64Array(index.length).fill(1),
            add: Float64Array.from(index, (i) => (i < 0 ? value : 0)),
            inner: 1,
            shape,
          });
        }
        break;
      }
      case "LeakyRelu": {
        const alpha = attrF(node, "alpha", 0.01);
        if (!(alpha >= 0 && alpha < 1)) unsupported(`alpha must be in [0, 1), got ${alpha}`);
        push({ op: "leakyrelu", name, output: out, input: ins[0]!, alpha, shape: dynShape(ins[0]) });
        break;
      }
      case "Clip": {
        let min = -Infinity,
          max = Infinity;
        if (opset < 11) {
          min = attrF(node, "min", -Infinity);
          max = attrF(node, "max", Infinity);
        } else {
          if (ins[1]) min = cst(ins[1]).data[0]!;
          if (ins[2]) max = cst(ins[2]).data[0]!;
        }
        push({ op: "clip", name, output: out, input: ins[0]!, min, max, shape: dynShape(ins[0]) });
        break;
      }
      case "BatchNormalization": {
        const s = dynShape(ins[0]);
        const [scale, bias, mean, varr] = [cst(ins[1]), cst(ins[2]), cst(ins[3]), cst(ins[4])];
        const eps = attrF(node, "epsilon", 1e-5);
        const C = s[1] ?? 1;
        const mul = new Float64Array(C),
          add = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          mul[c] = scale.data[c]! / Math.sqrt(varr.data[c]! + eps);
          add[c] = bias.data[c]! - mean.data[c]! * mul[c]!;
        }
        push({ op: "affine", name, output: out, input: ins[0]!, mul, add, shape: s });
        break;
      }
      case "Conv": {
        const s = dynShape(ins[0]);
        if (s.length !== 4) unsupported(`only 2-D convolution on [1, C, H, W] inputs, got [${s}]`);
        const W = cst(ins[1]);
        if (attrI(node, "group", 1) !== 1) unsupported("group != 1");
        const dil = attrIs(node, "dilations");
        if (dil && dil.some((d) => d !== 1)) unsupported("dilations != 1");
        const [, C, H, Wd] = s as [number, number, number, number];
        if (W.dims.length !== 4 || W.dims[1] !== C)
          throw new ShapeError(`node "${name}": weight [${W.dims}] does not match input [${s}]`);
        const [OC, , KH, KW] = W.dims as [number, number, number, number];
        const strides = (attrIs(node, "strides") ?? [1, 1]) as [number, number];
        const pads = convPads(node, [H, Wd], [KH, KW], strides, unsupported);
        const OH = Math.floor((H + pads[0] + pads[2] - KH) / strides[0]) + 1;
        const OW = Math.floor((Wd + pads[1] + pads[3] - KW) / strides[1]) + 1;
        const B = new Float64Array(OC);
        if (ins[2]) cst(ins[2]).data.forEach((v, i) => (B[i] = v));
        push({
          op: "conv",
          name,
          output: out,
          input: ins[0]!,
          inShape: [C, H, Wd],
          outShape: [OC, OH, OW],
          kernel: [KH, KW],
          strides,
          pads,
          W: Float64Array.from(W.data),
          B,
          shape: [1, OC, OH, OW],
        });
        break;
      }
      case "MaxPool":
      case "AveragePool": {
        const s = dynShape(ins[0]);
        if (s.length !== 4) unsupported(`only 2-D pooling on [1, C, H, W], got [${s}]`);
        if (attrI(node, "ceil_mode", 0) !== 0) unsupported("ceil_mode=1");
        const dil = attrIs(node, "dilations");
        if (dil && dil.some((d) => d !== 1)) unsupported("dilations != 1");
        if ((node.output ?? []).length > 1 && node.output![1]) unsupported("Indices output");
        const k = attrIs(node, "kernel_shape") as [number, number] | undefined;
        if (!k || k.length !== 2) unsupported("kernel_shape must have 2 entries");
        const strides = (attrIs(node, "strides") ?? [1, 1]) as [number, number];
        const [, C, H, Wd] = s as [number, number, number, number];
        const pads = convPads(node, [H, Wd], k!, strides, unsupported);
        if (op === "AveragePool" && pads.some((p) => p !== 0) && attrI(node, "count_include_pad", 0) === 0) {
          unsupported("padding with count_include_pad=0");
        }
        const OH = Math.floor((H + pads[0] + pads[2] - k![0]) / strides[0]) + 1;
        const OW = Math.floor((Wd + pads[1] + pads[3] - k![1]) / strides[1]) + 1;
        push({
          op: op === "MaxPool" ? "maxpool" : "avgpool",
          name,
          output: out,
          input: ins[0]!,
          inShape: [C, H, Wd],
          outShape: [C, OH, OW],
          kernel: k!,
          strides,
          pads,
          shape: [1, C, OH, OW],
        });
        break;
      }
      case "GlobalAveragePool": {
        const s = dynShape(ins[0]);
        if (s.length !== 4) unsupported(`input must be [1, C, H, W], got [${s}]`);
        const [, C, H, Wd] = s as [number, number, number, number];
        push({
          op: "avgpool",
          name,
          output: out,
          input: ins[0]!,
          inShape: [C, H, Wd],
          outShape: [C, 1, 1],
          kernel: [H, Wd],
          strides: [1, 1],
          pads: [0, 0, 0, 0],
          shape: [1, C, 1, 1],
        });
        break;
      }
      case "Flatten": {
        const s = dynShape(ins[0]);
        let axis = attrI(node, "axis", 1);
        if (axis < 0) axis += s.length;
        push({
          op: "reshape",
          name,
          output: out,
          input: ins[0]!,
          shape: [prod(s.slice(0, axis)), prod(s.slice(axis))],
        });
        break;
      }
      case "Reshape":
      case "Squeeze":
      case "Unsqueeze": {
        const s = dynShape(ins[0]);
        let target: number[];
        if (op === "Reshape") {
          const spec = cst(ins[1]).data.map(Number);
          target = spec.map((d, i) => (d === 0 ? s[i]! : d));
          const neg = target.indexOf(-1);
          if (neg >= 0) target[neg] = prod(s) / prod(target.filter((d) => d !== -1));
        } else {
          const axes = (ins[1] ? cst(ins[1]).data.map(Number) : attrIs(node, "axes")) ?? [];
          if (op === "Squeeze") {
            const ax = axes.map((a) => (a < 0 ? a + s.length : a));
            target = s.filter((d, i) => (ax.length ? !ax.includes(i) : d !== 1));
          } else {
            target = [...s];
            const r = s.length + axes.length;
            for (const a of axes.map((a) => (a < 0 ? a + r : a)).sort((x, y) => x - y)) target.splice(a, 0, 1);
          }
        }
        if (prod(target) !== prod(s) || target.some((d) => !Number.isInteger(d) || d <= 0)) {
          throw new ShapeError(`node "${name}": cannot reshape [${s}] to [${target}]`);
        }
        push({ op: "reshape", name, output: out, input: ins[0]!, shape: target });
        break;
      }
      case "ArgMax": {
        const s = dynShape(ins[0]);
        let axis = attrI(node, "axis", 0);
        if (axis < 0) axis += s.length;
        if (attrI(node, "select_last_index", 0) !== 0) unsupported("select_last_index=1");
        const nonUnit = s.filter((d) => d !== 1).length;
        if (nonUnit > 1 || s[axis] !== prod(s))
          unsupported(`ArgMax must reduce the only non-unit axis, input [${s}] axis ${axis}`);
        push({ op: "argmax", name, output: out, input: ins[0]!, shape: [1] });
        break;
      }
      default:
        unsupported();
    }
  }

  const outs = g.output ?? [];
  if (outs.length !== 1) throw new OnnxParseError(`model must have exactly one output, found ${outs.length}`);
  const outName = resolveName(outs[0]!.name);
  if (!shapes.has(outName) || outName === inVi.name)
    throw new OnnxParseError(`output "${outs[0]!.name}" is not computed from the input`);
  const am = nodes.findIndex((n) => n.op === "argmax");
  if (am >= 0 && nodes[am]!.output !== outName) {
    throw new UnsupportedOperatorError(
      "ArgMax",
      nodes[am]!.name,
      "ArgMax is only supported as the model output",
      SUPPORTED_OPS,
    );
  }
  const fg: FloatGraph = {
    name: g.name || "model",
    opset,
    input: { name: inVi.name, shape: inShape },
    nodes,
    output: outName,
  };
  return optimize(pruneDead(fg));
}

function convPads(
  node: NodeProtoObj,
  hw: [number, number],
  k: [number, number],
  strides: [number, number],
  unsupported: (d?: string) => never,
): [number, number, number, number] {
  const autoPad = attrS(node, "auto_pad") ?? "NOTSET";
  if (autoPad === "NOTSET") {
    const p = attrIs(node, "pads") ?? [0, 0, 0, 0];
    if (p.length !== 4) unsupported("pads must have 4 entries");
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }
  if (autoPad === "VALID") return [0, 0, 0, 0];
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const res: number[] = [];
    for (let d = 0; d < 2; d++) {
      const o = Math.ceil(hw[d]! / strides[d]!);
      const total = Math.max(0, (o - 1) * strides[d]! + k[d]! - hw[d]!);
      const small = Math.floor(total / 2);
      res.push(autoPad === "SAME_UPPER" ? small : total - small, autoPad === "SAME_UPPER" ? total - small : small);
    }
    return [res[0]!, res[2]!, res[1]!, res[3]!];
  }
  return unsupported(`auto_pad=${autoPad}`);
}

/** A constant broadcast against a dynamic tensor of shape s, as a scalar or per-channel (axis 1) vector. */
/**
 * A constant that broadcasts along a suffix of s's axes (numpy rules: its non-unit axes are exactly the last
 * ones of s): its values, indexed by e % length; null when it is not of that form (or when it is per channel).
 */
function trailingVector(c: Const, s: Shape): number[] | null {
  const dims = [...c.dims];
  while (dims.length < s.length) dims.unshift(1);
  if (dims.length !== s.length || s.length < 3) return null;
  const k = dims.findIndex((d) => d !== 1);
  if (k < 1) return null; // a scalar (or all ones): handled as one entry
  for (let j = k; j < s.length; j++) if (dims[j] !== s[j]) return null;
  return c.data.slice(0, prod(c.dims));
}

/** A constant that broadcasts to s in any other way, spread over s's elements (null when it does not fit s). */
function wholeTensor(c: Const, s: Shape): number[] | null {
  try {
    if (broadcastShape(c.dims, s).join(",") !== s.join(",") || prod(c.dims) === 1) return null;
    return broadcastIndex(c.dims, s).map((i) => c.data[i]!);
  } catch {
    return null;
  }
}

function channelVector(c: Const, s: Shape, fail: () => never): number[] {
  const n = prod(c.dims);
  if (n === 1) return [c.data[0]!];
  const C = s[1];
  if (C === undefined || n !== C) return fail();
  // the constant's non-unit axis must align with axis 1 of s under numpy broadcasting
  const dims = [...c.dims];
  while (dims.length < s.length) dims.unshift(1);
  if (dims.length !== s.length || dims[1] !== C) return fail();
  return c.data.slice(0, n);
}

/** Ops computed at import when every input is a constant (PyTorch's shape and mask subgraphs). */
const CONSTANT_FOLDED = [
  "Gather",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Cast",
  "Identity",
  "Reshape",
  "Mul",
  "Add",
  "Sub",
  "Div",
  "Equal",
  "Less",
  "Greater",
  "Not",
  "Where",
  "Slice",
  "Expand",
  "Transpose",
  "Neg",
  "ConstantOfShape",
  "Range",
];

/** Element-wise op of constants with numpy broadcasting. */
function foldElementwise(ins: readonly Const[], f: (...v: number[]) => number): Const {
  const dims = ins.reduce<number[]>((s, c) => broadcastShape(s, c.dims), []);
  const idx = ins.map((c) => broadcastIndex(c.dims, dims));
  const size = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Array.from({ length: size }, (_, e) => f(...ins.map((c, k) => c.data[idx[k]![e]!]!))) };
}

function foldConst(node: NodeProtoObj, ins: Const[], opset: number, unsupported: (d?: string) => never): Const {
  const op = node.op_type;
  const a = ins[0]!;
  switch (op) {
    case "ConstantOfShape": {
      const t = attr(node, "value")?.t;
      const v = t === undefined ? 0 : (tensorValues(t)[0] ?? 0);
      const dims = a.data.map(Number);
      return { dims, data: new Array<number>(dims.reduce((x, y) => x * y, 1)).fill(v) };
    }
    case "Range": {
      const [start, limit, delta] = ins.map((c) => c.data[0]!);
      const n = Math.max(0, Math.ceil((limit! - start!) / delta!));
      return { dims: [n], data: Array.from({ length: n }, (_, i) => start! + i * delta!) };
    }
    case "Equal":
      return foldElementwise(ins, (x, y) => (x === y ? 1 : 0));
    case "Less":
      return foldElementwise(ins, (x, y) => (x! < y! ? 1 : 0));
    case "Greater":
      return foldElementwise(ins, (x, y) => (x! > y! ? 1 : 0));
    case "Not":
      return { dims: a.dims, data: a.data.map((v) => (v === 0 ? 1 : 0)) };
    case "Neg":
      return { dims: a.dims, data: a.data.map((v) => -v) };
    case "Where":
      return foldElementwise(ins, (c, x, y) => (c !== 0 ? x! : y!));
    case "Slice": {
      const list = (k: number, at: string) =>
        opset >= 10 ? (ins[k] ? ins[k].data.map(Number) : undefined) : attrIs(node, at);
      const starts = list(1, "starts") ?? [];
      const t = sliceIndex(
        a.dims,
        starts,
        list(2, "ends") ?? [],
        list(3, "axes") ?? starts.map((_, i) => i),
        list(4, "steps") ?? starts.map(() => 1),
      );
      return { dims: t.shape, data: t.index.map((i) => a.data[i]!) };
    }
    case "Expand": {
      const dims = broadcastShape(a.dims, ins[1]!.data.map(Number));
      return { dims, data: broadcastIndex(a.dims, dims).map((i) => a.data[i]!) };
    }
    case "Transpose": {
      const t = transposeIndex(a.dims, attrIs(node, "perm") ?? a.dims.map((_, i) => a.dims.length - 1 - i));
      return { dims: t.shape, data: t.index.map((i) => a.data[i]!) };
    }
    case "Identity":
    case "Cast":
      return a;
    case "Gather": {
      const idx = ins[1]!;
      const t = gatherAxisIndex(a.dims, attrI(node, "axis", 0), idx.data, idx.dims);
      return { dims: t.shape, data: t.index.map((i) => a.data[i]!) };
    }
    case "Unsqueeze": {
      const axes = (ins[1] ? ins[1].data : attrIs(node, "axes")) ?? [];
      const dims = [...a.dims];
      for (const ax of axes.map(Number).sort((x, y) => x - y)) dims.splice(ax < 0 ? ax + dims.length + 1 : ax, 0, 1);
      return { dims, data: a.data };
    }
    case "Squeeze":
      return { dims: a.dims.filter((d) => d !== 1), data: a.data };
    case "Concat":
      return { dims: [ins.reduce((s, c) => s + prod(c.dims), 0)], data: ins.flatMap((c) => c.data) };
    case "Reshape": {
      const spec = ins[1]!.data;
      const dims = spec.map((d, i) => (d === 0 ? a.dims[i]! : d));
      const neg = dims.indexOf(-1);
      if (neg >= 0) dims[neg] = prod(a.dims) / prod(dims.filter((d) => d !== -1));
      return { dims, data: a.data };
    }
    case "Mul":
    case "Add":
    case "Sub":
    case "Div":
      return foldElementwise(ins, (x, y) =>
        op === "Mul" ? x! * y! : op === "Add" ? x! + y! : op === "Sub" ? x! - y! : x! / y!,
      );
    default:
      void opset;
      return unsupported("constant folding");
  }
}

/** Drop nodes whose outputs do not reach the graph output. */
function pruneDead(g: FloatGraph): FloatGraph {
  const live = new Set<string>([g.output]);
  const keep: FNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!live.has(n.output)) continue;
    keep.unshift(n);
    for (const x of nodeInputs(n)) live.add(x);
  }
  return { ...g, nodes: keep };
}

export function nodeInputs(n: FNode): string[] {
  return n.op === "add" || n.op === "gather" || n.op === "matmul" ? [...n.inputs] : [n.input];
}

/**
 * Graph rewrites that keep float semantics exactly (up to rounding):
 * - affine (BatchNorm, bias Add/Sub, per-channel Mul) after dense/conv is folded into its weights;
 * - a monotone activation (Relu, Clip) directly before MaxPool is moved after it, so that
 *   the max is taken on the accumulator and only the pooled values are requantized.
 */
function optimize(g: FloatGraph): FloatGraph {
  let nodes = [...g.nodes];
  const consumers = () => {
    const m = new Map<string, number>();
    for (const n of nodes) for (const i of nodeInputs(n)) m.set(i, (m.get(i) ?? 0) + 1);
    m.set(g.output, (m.get(g.output) ?? 0) + 1);
    return m;
  };
  // Data movement composes: a gather of a gather (or of a reshape) reads the earlier tensor directly.
  nodes = nodes.map((n, i) => {
    if (n.op !== "gather" || n.inputs.length !== 1) return n;
    let cur: FNode = n;
    for (;;) {
      const src: string = (cur as Extract<FNode, { op: "gather" }>).inputs[0]!;
      const p = nodes.slice(0, i).find((q) => q.output === src);
      if (p?.op === "reshape") cur = { ...cur, inputs: [p.input] } as FNode;
      else if (p?.op === "gather" && p.inputs.length === 1) {
        const c = cur as Extract<FNode, { op: "gather" }>;
        cur = { ...c, inputs: [p.inputs[0]!], index: composeIndex(p.index, c.index) };
      } else return cur;
    }
  });
  nodes = pruneDead({ ...g, nodes }).nodes;
  let changed = true;
  while (changed) {
    changed = false;
    const cons = consumers();
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.op !== "affine") continue;
      const p = nodes.find((q) => q.output === n.input);
      if (!p || (p.op !== "dense" && p.op !== "conv") || cons.get(p.output) !== 1) continue;
      const OC = p.op === "dense" ? p.outF : p.outShape[0];
      // The vector must index the producer's output channel: per channel of a conv or a one-row dense, or the
      // last axis (inner 1, OC entries) of a dense applied per row.
      const oneEntry = n.mul.length === 1 && n.add.length === 1;
      const perChannel = n.inner === undefined && (p.op === "conv" || prod(p.shape) === OC);
      const lastAxis = n.inner === 1 && p.op === "dense" && n.mul.length === OC;
      if (!oneEntry && !perChannel && !lastAxis) continue;
      const per = p.W.length / OC;
      const W = new Float64Array(p.W.length),
        B = new Float64Array(OC);
      for (let o = 0; o < OC; o++) {
        const m = n.mul[n.mul.length === 1 ? 0 : o]!,
          a = n.add[n.add.length === 1 ? 0 : o]!;
        for (let k = 0; k < per; k++) W[o * per + k] = p.W[o * per + k]! * m;
        B[o] = p.B[o]! * m + a;
      }
      const merged = { ...p, W, B, output: n.output, name: `${p.name}+${n.name}` } as FNode;
      nodes = nodes.filter((q) => q !== n).map((q) => (q === p ? merged : q));
      changed = true;
      break;
    }
    if (changed) continue;
    // An affine over the last axis read only by dense layers (LayerNorm's scale and shift before q, k, v) is
    // folded into each of them: W'[o, i] = W[o, i] mul[i], B'[o] = B[o] + sum_i W[o, i] add[i].
    for (const n of nodes) {
      if (n.op !== "affine" || n.output === g.output) continue;
      const users = nodes.filter((q) => nodeInputs(q).includes(n.output));
      const inF = n.shape[n.shape.length - 1]!;
      const lastAxis = n.inner === 1 || (n.mul.length === 1 && n.add.length === 1);
      const fits = (v: Float64Array) => v.length === 1 || v.length === inF;
      if (!lastAxis || !fits(n.mul) || !fits(n.add) || users.length === 0) continue;
      if (!users.every((u) => u.op === "dense" && u.inF === inF && u.input === n.output)) continue;
      const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : i]!;
      const folded = new Map<FNode, FNode>();
      for (const u of users as Extract<FNode, { op: "dense" }>[]) {
        const W = Float64Array.from(u.W, (w, k) => w * at(n.mul, k % u.inF));
        const B = Float64Array.from(u.B, (b, o) => {
          let s = b;
          for (let i = 0; i < u.inF; i++) s += u.W[o * u.inF + i]! * at(n.add, i);
          return s;
        });
        folded.set(u, { ...u, input: n.input, W, B, name: `${n.name}+${u.name}` });
      }
      nodes = nodes.filter((q) => q !== n).map((q) => folded.get(q) ?? q);
      changed = true;
      break;
    }
    if (changed) continue;
    // affine of an affine (LayerNorm's Mul then Add): one affine.
    for (const n of nodes) {
      if (n.op !== "affine") continue;
      const p = nodes.find((q) => q.output === n.input);
      if (p?.op !== "affine" || cons.get(p.output) !== 1) continue;
      const len = Math.max(p.mul.length, p.add.length, n.mul.length, n.add.length);
      const fits = (v: Float64Array) => v.length === 1 || v.length === len;
      const innerOf = (q: typeof n) => (q.mul.length === 1 && q.add.length === 1 ? null : (q.inner ?? "channel"));
      const ip = innerOf(p),
        iq = innerOf(n);
      if (![p.mul, p.add, n.mul, n.add].every(fits) || (ip !== null && iq !== null && ip !== iq)) continue;
      const at = (v: Float64Array, k: number) => v[v.length === 1 ? 0 : k]!;
      const mul = Float64Array.from({ length: len }, (_, k) => at(p.mul, k) * at(n.mul, k));
      const add = Float64Array.from({ length: len }, (_, k) => at(p.add, k) * at(n.mul, k) + at(n.add, k));
      const inner = ip ?? iq;
      const merged = {
        ...n,
        input: p.input,
        mul,
        add,
        name: `${p.name}+${n.name}`,
        ...(inner === "channel" || inner === null ? {} : { inner }),
      } as FNode;
      if (inner === "channel" || inner === null) delete (merged as { inner?: number }).inner;
      nodes = nodes.filter((q) => q !== p).map((q) => (q === n ? merged : q));
      changed = true;
      break;
    }
    if (changed) continue;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.op !== "maxpool") continue;
      const act = nodes.find((q) => q.output === n.input);
      if (!act || (act.op !== "relu" && act.op !== "clip") || cons.get(act.output) !== 1) continue;
      const pre = nodes.find((q) => q.output === act.input);
      if (!pre || (pre.op !== "dense" && pre.op !== "conv")) continue;
      // pre -> act -> pool  ==>  pre -> pool -> act   (names keep the final output)
      const pooledName = `${n.output}#prepool`;
      const newPool = { ...n, input: act.input, output: pooledName } as FNode;
      const newAct = { ...act, input: pooledName, output: n.output, shape: n.shape } as FNode;
      const ai = nodes.indexOf(act);
      nodes = nodes.filter((q) => q !== act && q !== n);
      nodes.splice(ai, 0, newPool, newAct);
      changed = true;
      break;
    }
  }
  return { ...g, nodes };
}

// ---------------------------------------------------------------------------
// float64 executor
// ---------------------------------------------------------------------------

/** Execute the float graph on one input; returns every tensor by name. */
export function runFloat(g: FloatGraph, input: ArrayLike<number>): Map<string, Float64Array> {
  const vals = new Map<string, Float64Array>([[g.input.name, Float64Array.from(input)]]);
  for (const n of g.nodes) {
    const get = (k: string) => vals.get(k)!;
    let y: Float64Array;
    switch (n.op) {
      case "dense": {
        const x = get(n.input);
        const rows = x.length / n.inF;
        y = new Float64Array(rows * n.outF);
        for (let r = 0; r < rows; r++)
          for (let o = 0; o < n.outF; o++) {
            let s = n.B[o]!;
            for (let i = 0; i < n.inF; i++) s += n.W[o * n.inF + i]! * x[r * n.inF + i]!;
            y[r * n.outF + o] = s;
          }
        break;
      }
      case "conv":
        y = convGeneric(get(n.input), n.inShape, n.outShape, n.kernel, n.strides, n.pads, n.W, n.B);
        break;
      case "relu":
        y = get(n.input).map((v) => (v > 0 ? v : 0));
        break;
      case "func":
        y = get(n.input).map((v) => applyFunc(n.fn, v, n.params));
        break;
      case "softmax": {
        const x = get(n.input);
        y = new Float64Array(x.length);
        const kept = (e: number) => n.mask === undefined || n.mask[e] === 1;
        for (let r0 = 0; r0 < x.length; r0 += n.n) {
          let m = -Infinity;
          for (let j = 0; j < n.n; j++) if (kept(r0 + j)) m = Math.max(m, x[r0 + j]!);
          let s = 0;
          for (let j = 0; j < n.n; j++) s += y[r0 + j] = kept(r0 + j) ? Math.exp(x[r0 + j]! - m) : 0;
          for (let j = 0; j < n.n; j++) y[r0 + j] = y[r0 + j]! / s;
        }
        break;
      }
      case "leakyrelu":
        y = get(n.input).map((v) => (v >= 0 ? v : v * n.alpha));
        break;
      case "clip":
        y = get(n.input).map((v) => Math.min(n.max, Math.max(n.min, v)));
        break;
      case "maxpool":
        y = poolGeneric(get(n.input), n.inShape, n.outShape, n.kernel, n.strides, n.pads, "max");
        break;
      case "avgpool": {
        const s = poolGeneric(get(n.input), n.inShape, n.outShape, n.kernel, n.strides, n.pads, "sum");
        const k = n.kernel[0] * n.kernel[1];
        y = s.map((v) => v / k);
        break;
      }
      case "add": {
        const a = get(n.inputs[0]),
          b = get(n.inputs[1]);
        y = a.map((v, i) => n.ca * v + n.cb * b[i]!);
        break;
      }
      case "affine": {
        const x = get(n.input);
        y = x.map((v, i) => {
          const c = vectorIndex(i, n.shape, n.mul.length, n.inner);
          return v * n.mul[c]! + n.add[n.add.length === 1 ? 0 : c]!;
        });
        break;
      }
      case "reshape":
        y = get(n.input);
        break;
      case "argmax": {
        const x = get(n.input);
        let b = 0;
        for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
        y = Float64Array.of(b);
        break;
      }
      case "gather": {
        const flat = concatFlat(n.inputs.map(get));
        y = Float64Array.from(n.index, (i) => (i < 0 ? 0 : flat[i]!));
        break;
      }
      case "matmul":
        y = matmulGeneric(get(n.inputs[0]), get(n.inputs[1]), n);
        break;
      case "normalize": {
        const x = get(n.input);
        y = new Float64Array(x.length);
        for (let r0 = 0; r0 < x.length; r0 += n.n) {
          let mean = 0;
          if (n.center) {
            for (let j = 0; j < n.n; j++) mean += x[r0 + j]!;
            mean /= n.n;
          }
          let ss = 0;
          for (let j = 0; j < n.n; j++) ss += (x[r0 + j]! - mean) ** 2;
          const d = Math.sqrt((n.reduce === "mean" ? ss / n.n : ss) + n.eps);
          for (let j = 0; j < n.n; j++) y[r0 + j] = (x[r0 + j]! - mean) / d;
        }
        break;
      }
      case "embed": {
        const x = get(n.input);
        y = new Float64Array(x.length * n.width);
        x.forEach((v, i) => {
          const row = embedRow(v, n.rows);
          for (let j = 0; j < n.width; j++) y[i * n.width + j] = n.table[row * n.width + j]!;
        });
        break;
      }
    }
    vals.set(n.output, y);
  }
  return vals;
}
