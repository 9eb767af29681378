/**
 * Emit the integer graph as an ONNX model computing in int64 (exact), runnable by
 * onnxruntime-node. Every node output is also a graph output (t1..tN) so the whole trace
 * can be compared with the reference interpreter.
 *
 * Convolution and pooling are lowered to Gather (im2col with a constant index tensor) +
 * MatMul / ReduceMax / ReduceSum, because onnxruntime's Conv/MaxPool have no int64 kernels.
 * Floor division by 2^S is Div on a value made non-negative by adding K*2^S.
 */
import * as ort from "onnxruntime-node";
import { ToolError } from "./errors.js";
import { poolWindows } from "./tensorops.js";
import { computeRanges, type IntGraph, type Trace } from "./intgraph.js";
import {
  DataType,
  attrInt,
  attrInts,
  encodeModel,
  makeModel,
  makeTensor,
  valueInfo,
  type NodeProtoObj,
  type TensorProtoObj,
} from "./onnx/proto.js";

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const NEG = -(2 ** 40);

export function emitIntOnnx(g: IntGraph): Uint8Array {
  const nodes: NodeProtoObj[] = [];
  const inits: TensorProtoObj[] = [];
  let uid = 0;
  const cst = (dims: number[], vals: number[], dt: number = DataType.INT64): string => {
    const name = `c${uid++}`;
    inits.push(makeTensor(name, dims, dt, vals));
    return name;
  };
  const op = (opType: string, inputs: string[], attrs: NodeProtoObj["attribute"] = [], out?: string): string => {
    const o = out ?? `v${uid++}`;
    nodes.push({ op_type: opType, name: `${opType}_${uid++}`, input: inputs, output: [o], attribute: attrs });
    return o;
  };
  /**
   * clamp(x, lo, hi) with Where and comparisons: onnxruntime's int64 Max / Min give wrong results in their
   * vectorised path for values between 2^31 and 2^32 (ndonnx PR #154), Less / Greater / Where do not.
   */
  const clamp = (x: string, lo: number, hi: number | null, out?: string): string => {
    const l = cst([], [lo]);
    const low = op("Where", [op("Less", [x, l]), l, x], [], hi === null ? out : undefined);
    if (hi === null) return low;
    const h = cst([], [hi]);
    return op("Where", [op("Greater", [low, h]), h, low], [], out);
  };
  const shapeOf = (id: number) => (id === 0 ? g.input.shape : g.nodes[id - 1]!.shape);
  const tname = (id: number) => (id === 0 ? "x" : `t${id}`);
  const ranges = computeRanges(g);
  /** per-channel constant broadcastable against shape s (channel axis 1) */
  const chanConst = (vals: number[], s: number[]): string => {
    if (vals.length === 1) return cst([], vals);
    const dims = s.map((d, i) => (i === 1 ? d : 1));
    return cst(dims, vals);
  };

  g.nodes.forEach((n, i) => {
    const out = tname(i + 1);
    switch (n.op) {
      case "dense": {
        const rows = prod(shapeOf(n.input)) / n.inF;
        const x = op("Reshape", [tname(n.input), cst([2], [rows, n.inF])]);
        const wt: number[] = new Array(n.inF * n.outF);
        for (let o = 0; o < n.outF; o++) for (let k = 0; k < n.inF; k++) wt[k * n.outF + o] = n.weight[o * n.inF + k]!;
        const mm = op("MatMul", [x, cst([n.inF, n.outF], wt)]);
        const y = op("Add", [mm, cst([n.outF], n.bias)]);
        op("Reshape", [y, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "conv2d": {
        const [C, H, W] = n.inShape;
        const [OC, OH, OW] = n.outShape;
        const [KH, KW] = n.kernel;
        const flat = op("Reshape", [tname(n.input), cst([1], [C * H * W])]);
        const padded = op("Concat", [flat, cst([1], [0])], [attrInt("axis", 0)]);
        const idx: number[] = [];
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++)
            for (let c = 0; c < C; c++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const ih = oh * n.strides[0] - n.pads[0] + kh;
                  const iw = ow * n.strides[1] - n.pads[1] + kw;
                  idx.push(ih < 0 || ih >= H || iw < 0 || iw >= W ? C * H * W : (c * H + ih) * W + iw);
                }
        const CKK = C * KH * KW;
        const cols = op("Gather", [padded, cst([OH * OW, CKK], idx)], [attrInt("axis", 0)]);
        const wt: number[] = new Array(CKK * OC);
        for (let oc = 0; oc < OC; oc++) for (let k = 0; k < CKK; k++) wt[k * OC + oc] = n.weight[oc * CKK + k]!;
        const mm = op("MatMul", [cols, cst([CKK, OC], wt)]);
        const biased = op("Add", [mm, cst([OC], n.bias)]);
        const tr = op("Transpose", [biased], [attrInts("perm", [1, 0])]);
        op("Reshape", [tr, cst([4], [1, OC, OH, OW])], [], out);
        break;
      }
      case "requant": {
        const s = n.shape;
        const r = ranges[n.input]!;
        const minIn = Math.min(...r.lo);
        const K = n.mult.map((m, c) => {
          const sh = n.shift[c]!;
          const t = minIn * m + 2 ** (sh - 1);
          return t >= 0 ? 0 : Math.ceil(-t / 2 ** sh) + 1;
        });
        const t1 = op("Mul", [tname(n.input), chanConst(n.mult, s)]);
        const t2 = op("Add", [
          t1,
          chanConst(
            n.shift.map((sh, c) => 2 ** (sh - 1) + K[c]! * 2 ** sh),
            s,
          ),
        ]);
        const t3 = op("Div", [
          t2,
          chanConst(
            n.shift.map((sh) => 2 ** sh),
            s,
          ),
        ]);
        const t4 = op("Sub", [t3, chanConst(K, s)]);
        clamp(t4, n.lo, n.hi, out);
        break;
      }
      case "relu":
        clamp(tname(n.input), 0, null, out);
        break;
      case "clamp": {
        clamp(tname(n.input), n.lo, n.hi, out);
        break;
      }
      case "leakyrelu": {
        const r = ranges[n.input]!;
        const minIn = Math.min(...r.lo);
        const tt = minIn * n.mult + 2 ** (n.shift - 1);
        const K = tt >= 0 ? 0 : Math.ceil(-tt / 2 ** n.shift) + 1;
        const x = tname(n.input);
        const t1 = op("Mul", [x, cst([], [n.mult])]);
        const t2 = op("Add", [t1, cst([], [2 ** (n.shift - 1) + K * 2 ** n.shift])]);
        const t3 = op("Div", [t2, cst([], [2 ** n.shift])]);
        const t4 = op("Sub", [t3, cst([], [K])]);
        op("Where", [op("Less", [x, cst([], [0])]), t4, x], [], out);
        break;
      }
      case "maxpool":
      case "sumpool": {
        const [C, H, W] = n.inShape;
        const wins = poolWindows(n.inShape, n.outShape, n.kernel, n.strides, n.pads);
        const kk = n.kernel[0] * n.kernel[1];
        const idx = wins.flatMap((w) => [...w, ...new Array<number>(kk - w.length).fill(C * H * W)]);
        const flat = op("Reshape", [tname(n.input), cst([1], [C * H * W])]);
        const padded = op("Concat", [flat, cst([1], [n.op === "maxpool" ? NEG : 0])], [attrInt("axis", 0)]);
        const gathered = op("Gather", [padded, cst([wins.length, kk], idx)], [attrInt("axis", 0)]);
        const red =
          n.op === "maxpool"
            ? op("ReduceMax", [gathered], [attrInts("axes", [1]), attrInt("keepdims", 0)])
            : op("ReduceSum", [gathered, cst([1], [1])], [attrInt("keepdims", 0)]);
        op("Reshape", [red, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "add": {
        const a = op("Mul", [tname(n.inputs[0]), cst([], [n.ma])]);
        const b = op("Mul", [tname(n.inputs[1]), cst([], [n.mb])]);
        op("Add", [a, b], [], out);
        break;
      }
      case "affine": {
        const s = shapeOf(n.input);
        // With `inner`: the vector spread over the whole tensor, element e reading entry floor(e / inner) % m.
        const full = (vals: number[]) =>
          vals.length === 1
            ? cst([], vals)
            : cst(
                s,
                Array.from({ length: prod(s) }, (_, e) => vals[Math.floor(e / n.inner!) % vals.length]!),
              );
        const konst = (vals: number[]) => (n.inner === undefined ? chanConst(vals, s) : full(vals));
        const m = op("Mul", [tname(n.input), konst(n.mul)]);
        op("Add", [m, konst(n.add)], [], out);
        break;
      }
      case "reshape":
        op("Reshape", [tname(n.input), cst([n.shape.length], n.shape)], [], out);
        break;
      case "softmax": {
        // Rows of n: max, differences, the exponential table, the row sum, and the rounded division.
        const R = prod(n.shape) / n.n;
        const rows = op("Reshape", [tname(n.input), cst([2], [R, n.n])]);
        // A mask leaves elements out of the maximum (they read NEG) and out of the sum (e = 0 at table index 0).
        const keep = n.mask === undefined ? undefined : cst([R, n.n], n.mask);
        const candidates =
          keep === undefined
            ? rows
            : op("Add", [op("Mul", [rows, keep]), op("Mul", [op("Sub", [cst([], [1]), keep]), cst([], [NEG])])]);
        const m = op("ReduceMax", [candidates], [attrInts("axes", [1]), attrInt("keepdims", 1)]);
        const d = keep === undefined ? op("Sub", [m, rows]) : op("Mul", [op("Sub", [m, rows]), keep]);
        const looked = op("Gather", [cst([n.exp.length], n.exp), d], [attrInt("axis", 0)]);
        const e = keep === undefined ? looked : op("Mul", [looked, keep]);
        const s = op("ReduceSum", [e, cst([1], [1])], [attrInt("keepdims", 1)]);
        const num = op("Add", [op("Mul", [e, cst([], [2 * n.out])]), s]);
        const q = op("Div", [num, op("Mul", [s, cst([], [2])])]);
        op("Reshape", [q, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "lut": {
        // table[clamp(x, lo, hi) - lo] as Gather over the constant table (int64 indices).
        const lo = cst([], [n.lo]);
        const clamped = clamp(tname(n.input), n.lo, n.hi);
        op("Gather", [cst([n.table.length], n.table), op("Sub", [clamped, lo])], [attrInt("axis", 0)], out);
        break;
      }
      case "gather": {
        // The flat inputs and a trailing 0, gathered at constant positions (-1: the 0).
        const flats = n.inputs.map((id) => op("Reshape", [tname(id), cst([1], [prod(shapeOf(id))])]));
        const total = n.inputs.reduce((s, id) => s + prod(shapeOf(id)), 0);
        const padded = op("Concat", [...flats, cst([1], [0])], [attrInt("axis", 0)]);
        const idx = n.index.map((i) => (i < 0 ? total : i));
        const y = op("Gather", [padded, cst([idx.length], idx)], [attrInt("axis", 0)]);
        op("Reshape", [y, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "matmul": {
        const a = op("Reshape", [tname(n.inputs[0]), cst([3], [n.batch, n.m, n.k])]);
        const bt = op("Reshape", [tname(n.inputs[1]), cst([3], [n.batch, n.n, n.k])]);
        const b = op("Transpose", [bt], [attrInts("perm", [0, 2, 1])]);
        const y = op("MatMul", [a, b]);
        op("Reshape", [y, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "normalize": {
        // Rows of n: c, D = sum c^2 + eps, r = isqrt(4^R \ D) (a float64 square root corrected to the exact
        // floor twice each way), then the requantization of c r (made non-negative by K 2^shift, |c r| <= 2^R).
        const rows = op("Reshape", [tname(n.input), cst([2], [prod(n.shape) / n.n, n.n])]);
        const c = n.center
          ? op("Sub", [
              op("Mul", [rows, cst([], [n.n])]),
              op("ReduceSum", [rows, cst([1], [1])], [attrInt("keepdims", 1)]),
            ])
          : rows;
        const D = op("Add", [
          op("ReduceSum", [op("Mul", [c, c]), cst([1], [1])], [attrInt("keepdims", 1)]),
          cst([], [n.eps]),
        ]);
        const N = op("Div", [cst([], [2 ** (2 * n.R)]), D]);
        const asDouble = op("Cast", [N], [attrInt("to", DataType.DOUBLE)]);
        let r = op("Cast", [op("Floor", [op("Sqrt", [asDouble])])], [attrInt("to", DataType.INT64)]);
        const one = cst([], [1]);
        for (let k = 0; k < 2; k++) {
          const next = op("Add", [r, one]);
          const over = op("Cast", [op("Greater", [op("Mul", [next, next]), N])], [attrInt("to", DataType.INT64)]);
          r = op("Sub", [next, over]);
          const tooBig = op("Cast", [op("Greater", [op("Mul", [r, r]), N])], [attrInt("to", DataType.INT64)]);
          r = op("Sub", [r, tooBig]);
        }
        const K = Math.ceil((2 ** n.R * n.mult) / 2 ** n.shift) + 1;
        const t1 = op("Mul", [op("Mul", [c, r]), cst([], [n.mult])]);
        const t2 = op("Add", [t1, cst([], [2 ** (n.shift - 1) + K * 2 ** n.shift])]);
        const t4 = op("Sub", [op("Div", [t2, cst([], [2 ** n.shift])]), cst([], [K])]);
        const y = clamp(t4, n.lo, n.hi);
        op("Reshape", [y, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "embed": {
        const lo = cst([], [n.lo]);
        const clamped = clamp(tname(n.input), n.lo, n.hi);
        const rowsOf = n.table.length / n.width;
        const y = op("Gather", [cst([rowsOf, n.width], n.table), op("Sub", [clamped, lo])], [attrInt("axis", 0)]);
        op("Reshape", [y, cst([n.shape.length], n.shape)], [], out);
        break;
      }
      case "argmax": {
        const flat = op("Reshape", [tname(n.input), cst([2], [1, prod(shapeOf(n.input))])]);
        const dbl = op("Cast", [flat], [attrInt("to", DataType.DOUBLE)]);
        op("ArgMax", [dbl], [attrInt("axis", 1), attrInt("keepdims", 0)], out);
        break;
      }
    }
  });

  const outputs = g.nodes.map((n, i) => valueInfo(tname(i + 1), DataType.INT64, n.shape));
  const graph = {
    name: `${g.name}_int`,
    node: nodes,
    initializer: inits,
    input: [valueInfo("x", DataType.INT64, g.input.shape)],
    output: outputs,
  };
  const model = makeModel(graph, 13);
  model.ir_version = 7;
  model.doc_string = "verifier-gen integer graph (int64, exact); outputs t1..tN are the per-node trace";
  return encodeModel(model);
}

/** onnxruntime-node session over the emitted integer model. */
export class IntOnnxRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly g: IntGraph,
  ) {}
  static async create(g: IntGraph, bytes: Uint8Array): Promise<IntOnnxRunner> {
    try {
      const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "disabled", intraOpNumThreads: 1 });
      return new IntOnnxRunner(s, g);
    } catch (e) {
      throw new ToolError("onnxruntime could not load the integer ONNX model", { cause: e });
    }
  }
  async run(input: ArrayLike<number>): Promise<Trace> {
    const x = new ort.Tensor(
      "int64",
      BigInt64Array.from(Array.from(input), (v) => BigInt(v)),
      this.g.input.shape,
    );
    const res = await this.session.run({ x });
    const tensors: Float64Array[] = [Float64Array.from(input)];
    for (let i = 1; i <= this.g.nodes.length; i++) {
      const d = res[`t${i}`]!.data as BigInt64Array;
      tensors.push(Float64Array.from(d, (v) => Number(v)));
    }
    return {
      tensors,
      output: Array.from(tensors[this.g.output.tensor]!),
      logits: Array.from(tensors[this.g.output.logits]!),
    };
  }
  async release(): Promise<void> {
    await this.session.release();
  }
}
