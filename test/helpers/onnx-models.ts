// Small ONNX models built with verifier-gen's own writer, as PyTorch would export them, for op tests.
import {
  DataType,
  encodeModel,
  makeModel,
  makeTensor,
  valueInfo,
  attrInt,
  type NodeProtoObj,
  type TensorProtoObj,
} from "../../verifier-gen/src/onnx/proto.js";

/** A deterministic pseudo-random stream in [-0.5, 0.5). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** A float initializer of the given shape with values from `r` (times `scale`). */
function randomTensor(r: () => number, name: string, dims: number[], scale = 1.5): TensorProtoObj {
  const values = Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * scale);
  return makeTensor(name, dims, DataType.FLOAT, values);
}

/**
 * x[1, inputs] -> Gemm -> f1 -> Gemm -> f2 -> ... -> Gemm -> y[1, outputs]: an MLP whose hidden activations
 * are the given ONNX ops (Tanh, Sigmoid, Erf, ...), and an optional op after the last layer (e.g. Softmax).
 */
export function activationMlp(
  activations: string[],
  options: { inputs?: number; hidden?: number; outputs?: number; head?: NodeProtoObj["op_type"]; seed?: number } = {},
): Uint8Array {
  const inputs = options.inputs ?? 6;
  const hidden = options.hidden ?? 8;
  const outputs = options.outputs ?? 3;
  const r = rng(options.seed ?? 11);
  const nodes: NodeProtoObj[] = [];
  const inits: TensorProtoObj[] = [];
  let x = "x";
  let width = inputs;
  const gemm = (out: number, name: string) => {
    inits.push(randomTensor(r, `${name}.w`, [out, width]), randomTensor(r, `${name}.b`, [out], 0.2));
    nodes.push({
      op_type: "Gemm",
      name,
      input: [x, `${name}.w`, `${name}.b`],
      output: [`${name}_out`],
      attribute: [attrInt("transB", 1)],
    });
    x = `${name}_out`;
    width = out;
  };
  activations.forEach((op, i) => {
    gemm(hidden, `l${i}`);
    nodes.push({ op_type: op, name: `act${i}`, input: [x], output: [`act${i}_out`] });
    x = `act${i}_out`;
  });
  gemm(outputs, "head");
  if (options.head !== undefined) {
    nodes.push({
      op_type: options.head,
      name: "head_op",
      input: [x],
      output: ["y"],
      attribute: options.head === "Softmax" ? [attrInt("axis", -1)] : [],
    });
  } else {
    nodes[nodes.length - 1]!.output = ["y"];
  }
  const graph = {
    name: "torch_jit",
    node: nodes,
    initializer: inits,
    input: [valueInfo("x", DataType.FLOAT, [1, inputs])],
    output: [valueInfo("y", DataType.FLOAT, [1, outputs])],
  };
  return encodeModel(makeModel(graph, 13));
}

/**
 * x[1, 4] -> Gemm -> Relu -> Gemm -> ArgMax over 3 classes: a classifier of a few hundred constraints (domain 2^9),
 * its weights a fixed function of `seed` (two seeds, two different models).
 */
export function argmaxMlp(seed = 0): Uint8Array {
  const r = (k: number) => Array.from({ length: k }, (_, i) => Math.sin(i * 12.9898 + k + seed * 3.7) * 0.8);
  return encodeModel(
    makeModel(
      {
        name: "torch_jit",
        node: [
          { op_type: "Gemm", name: "fc1", input: ["x", "w1", "b1"], output: ["h"], attribute: [attrInt("transB", 1)] },
          { op_type: "Relu", name: "relu", input: ["h"], output: ["a"] },
          { op_type: "Gemm", name: "fc2", input: ["a", "w2", "b2"], output: ["y"], attribute: [attrInt("transB", 1)] },
          {
            op_type: "ArgMax",
            name: "am",
            input: ["y"],
            output: ["label"],
            attribute: [attrInt("axis", 1), attrInt("keepdims", 0)],
          },
        ],
        initializer: [
          makeTensor("w1", [5, 4], DataType.FLOAT, r(20)),
          makeTensor("b1", [5], DataType.FLOAT, r(5)),
          makeTensor("w2", [3, 5], DataType.FLOAT, r(15)),
          makeTensor("b2", [3], DataType.FLOAT, r(3)),
        ],
        input: [valueInfo("x", DataType.FLOAT, [1, 4])],
        output: [valueInfo("label", DataType.INT64, [1])],
      },
      13,
    ),
  );
}

/** x [1, tokens, inputs] -> MatMul W1 -> Tanh -> MatMul W2 -> y [1, tokens, outputs]: a dense layer per token. */
export function tokenMlp(
  options: { tokens?: number; inputs?: number; hidden?: number; outputs?: number } = {},
): Uint8Array {
  const T = options.tokens ?? 4,
    K = options.inputs ?? 6,
    H = options.hidden ?? 5,
    N = options.outputs ?? 3;
  const r = rng(17);
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "MatMul", name: "/embed/MatMul", input: ["x", "w1"], output: ["h"] },
      { op_type: "Tanh", name: "/act/Tanh", input: ["h"], output: ["a"] },
      { op_type: "MatMul", name: "/head/MatMul", input: ["a", "w2"], output: ["y"] },
    ],
    initializer: [randomTensor(r, "w1", [K, H]), randomTensor(r, "w2", [H, N])],
    input: [valueInfo("x", DataType.FLOAT, [1, T, K])],
    output: [valueInfo("y", DataType.FLOAT, [1, T, N])],
  };
  return encodeModel(makeModel(graph, 13));
}

/**
 * The first layers of a PyTorch ViT as exported: x [1, tokens, K] -> MatMul W [K, d] -> Add bias [d] (last axis)
 * -> Add position embedding [1, tokens, d] (whole shape) -> Tanh -> MatMul [d, N] -> Add bias [N].
 */
export function tokenEmbedding(
  options: { tokens?: number; inputs?: number; width?: number; outputs?: number } = {},
): Uint8Array {
  const T = options.tokens ?? 4,
    K = options.inputs ?? 6,
    D = options.width ?? 5,
    N = options.outputs ?? 3;
  const r = rng(23);
  const F = (name: string, dims: number[]) => randomTensor(r, name, dims);
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "MatMul", name: "/embed/MatMul", input: ["x", "embed.w"], output: ["e0"] },
      { op_type: "Add", name: "/embed/Add", input: ["embed.b", "e0"], output: ["e1"] },
      { op_type: "Add", name: "/Add", input: ["e1", "pos"], output: ["e2"] },
      { op_type: "Tanh", name: "/Tanh", input: ["e2"], output: ["a"] },
      { op_type: "MatMul", name: "/head/MatMul", input: ["a", "head.w"], output: ["h0"] },
      { op_type: "Add", name: "/head/Add", input: ["h0", "head.b"], output: ["y"] },
    ],
    initializer: [F("embed.w", [K, D]), F("embed.b", [D]), F("pos", [1, T, D]), F("head.w", [D, N]), F("head.b", [N])],
    input: [valueInfo("x", DataType.FLOAT, [1, T, K])],
    output: [valueInfo("y", DataType.FLOAT, [1, T, N])],
  };
  return encodeModel(makeModel(graph, 14));
}

/**
 * x [1, 6] -> Gemm -> GELU -> Gemm -> y, the GELU either as PyTorch exports nn.GELU() (Div by sqrt 2, Erf, Add 1,
 * Mul x, Mul 0.5, with Constant nodes) or as opset 20's Gelu op (approximate "none" or "tanh").
 */
export function geluMlp(form: "exported" | "exported-tanh" | "none" | "tanh"): Uint8Array {
  const r = rng(31);
  const F = (name: string, dims: number[]) => randomTensor(r, name, dims);
  const scalar = (name: string, v: number): NodeProtoObj => ({
    op_type: "Constant",
    name,
    input: [],
    output: [name],
    attribute: [{ name: "value", type: 4, t: makeTensor(name, [], DataType.FLOAT, [v]) }],
  });
  const gelu: NodeProtoObj[] =
    form === "exported-tanh"
      ? [
          // torch.onnx's symbolic for gelu(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
          scalar("three", 3),
          { op_type: "Pow", name: "/ff.1/Pow", input: ["h", "three"], output: ["h3"] },
          scalar("kappa", 0.044715),
          { op_type: "Mul", name: "/ff.1/Mul", input: ["kappa", "h3"], output: ["kh3"] },
          { op_type: "Add", name: "/ff.1/Add", input: ["h", "kh3"], output: ["inner"] },
          scalar("beta", Math.sqrt(2 / Math.PI)),
          { op_type: "Mul", name: "/ff.1/Mul_1", input: ["beta", "inner"], output: ["bi"] },
          { op_type: "Tanh", name: "/ff.1/Tanh", input: ["bi"], output: ["t"] },
          scalar("one", 1),
          { op_type: "Add", name: "/ff.1/Add_1", input: ["one", "t"], output: ["a"] },
          scalar("half", 0.5),
          { op_type: "Mul", name: "/ff.1/Mul_2", input: ["h", "half"], output: ["hh"] },
          { op_type: "Mul", name: "/ff.1/Mul_3", input: ["hh", "a"], output: ["g"] },
        ]
      : form === "exported"
        ? [
            scalar("sqrt2", Math.SQRT2),
            { op_type: "Div", name: "/ff.1/Div", input: ["h", "sqrt2"], output: ["d"] },
            { op_type: "Erf", name: "/ff.1/Erf", input: ["d"], output: ["e"] },
            scalar("one", 1),
            { op_type: "Add", name: "/ff.1/Add", input: ["e", "one"], output: ["a"] },
            { op_type: "Mul", name: "/ff.1/Mul", input: ["h", "a"], output: ["m"] },
            scalar("half", 0.5),
            { op_type: "Mul", name: "/ff.1/Mul_1", input: ["m", "half"], output: ["g"] },
          ]
        : [
            {
              op_type: "Gelu",
              name: "/ff.1/Gelu",
              input: ["h"],
              output: ["g"],
              attribute: [{ name: "approximate", type: 3, s: new TextEncoder().encode(form) }],
            },
          ];
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "Gemm", name: "l0", input: ["x", "w0", "b0"], output: ["h"], attribute: [attrInt("transB", 1)] },
      ...gelu,
      { op_type: "Gemm", name: "l1", input: ["g", "w1", "b1"], output: ["y"], attribute: [attrInt("transB", 1)] },
    ],
    initializer: [F("w0", [8, 6]), F("b0", [8]), F("w1", [3, 8]), F("b1", [3])],
    input: [valueInfo("x", DataType.FLOAT, [1, 6])],
    output: [valueInfo("y", DataType.FLOAT, [1, 3])],
  };
  return encodeModel(makeModel(graph, form === "exported" || form === "exported-tanh" ? 14 : 20));
}

const I64 = (name: string, v: number[]) => makeTensor(name, [v.length], DataType.INT64, v);
const F32 = (name: string, v: number) => makeTensor(name, [], DataType.FLOAT, [v]);

/**
 * A one-block pre-norm transformer as PyTorch exports it: x [1, T, K] -> MatMul + bias -> LayerNorm -> q, k, v ->
 * Reshape [1, T, h, dh] -> Transpose (k to [1, h, dh, T]) -> MatMul q k^T -> Mul 1/sqrt(dh) -> Softmax -> MatMul v ->
 * Transpose -> Reshape -> MatMul + residual Add -> ReduceMean over the tokens -> Gemm -> y [1, classes].
 * The LayerNorm is decomposed (ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Add), opset 17's
 * LayerNormalization, or an RMSNorm (Pow, ReduceMean, Add, Sqrt, Div, Mul); opset 18 passes ReduceMean's axes
 * as an input.
 */
export function miniTransformer(
  options: {
    norm?: "decomposed" | "op17" | "rms";
    opset?: number;
    tokens?: number;
    seed?: number;
    /** GPT-style causal attention: a lower-triangular buffer, Slice, Equal 0, Where(-inf) before the Softmax */
    causal?: boolean;
  } = {},
): Uint8Array {
  const norm = options.norm ?? "decomposed";
  const opset = options.opset ?? (norm === "op17" ? 17 : 14);
  const T = options.tokens ?? 4,
    K = 5,
    D = 6,
    H = 2,
    DH = 3,
    C = 3;
  const r = rng(options.seed ?? 41);
  const F = (name: string, dims: number[], s = 1) => randomTensor(r, name, dims, s);
  const inits: TensorProtoObj[] = [
    F("we", [K, D]),
    F("be", [D], 0.3),
    makeTensor(
      "ln.g",
      [D],
      DataType.FLOAT,
      Array.from({ length: D }, () => 1 + r() * 0.4),
    ),
    F("ln.b", [D], 0.3),
    F("wq", [D, D]),
    F("wk", [D, D]),
    F("wv", [D, D]),
    F("wo", [D, D]),
    F("bq", [D], 0.2),
    F("head.w", [C, D]),
    F("head.b", [C], 0.2),
    I64("heads", [1, T, H, DH]),
    I64("merged", [1, T, D]),
    F32("two", 2),
    F32("eps", 1e-5),
    F32("scale", 1 / Math.sqrt(DH)),
  ];
  const mean = (name: string, input: string, output: string, axes: number[], keep = 1): NodeProtoObj[] =>
    opset >= 18
      ? (inits.push(I64(`${name}.axes`, axes)),
        [
          {
            op_type: "ReduceMean",
            name,
            input: [input, `${name}.axes`],
            output: [output],
            attribute: [attrInt("keepdims", keep)],
          },
        ])
      : [
          {
            op_type: "ReduceMean",
            name,
            input: [input],
            output: [output],
            attribute: [{ name: "axes", type: 7, ints: axes }, attrInt("keepdims", keep)],
          },
        ];
  const ln: NodeProtoObj[] =
    norm === "op17"
      ? [
          {
            op_type: "LayerNormalization",
            name: "/ln/LayerNormalization",
            input: ["e", "ln.g", "ln.b"],
            output: ["n"],
            attribute: [attrInt("axis", -1), { name: "epsilon", type: 1, f: 1e-5 }],
          },
        ]
      : [
          ...(norm === "decomposed"
            ? [
                ...mean("/ln/ReduceMean", "e", "mu", [-1]),
                { op_type: "Sub", name: "/ln/Sub", input: ["e", "mu"], output: ["c"] },
              ]
            : [{ op_type: "Identity", name: "/ln/Identity", input: ["e"], output: ["c"] }]),
          { op_type: "Pow", name: "/ln/Pow", input: ["c", "two"], output: ["c2"] },
          ...mean("/ln/ReduceMean_1", "c2", "var", [-1]),
          { op_type: "Add", name: "/ln/Add", input: ["var", "eps"], output: ["ve"] },
          { op_type: "Sqrt", name: "/ln/Sqrt", input: ["ve"], output: ["sd"] },
          { op_type: "Div", name: "/ln/Div", input: ["c", "sd"], output: ["z"] },
          { op_type: "Mul", name: "/ln/Mul", input: ["z", "ln.g"], output: ["zg"] },
          ...(norm === "decomposed"
            ? [{ op_type: "Add", name: "/ln/Add_1", input: ["zg", "ln.b"], output: ["n"] }]
            : []),
        ];
  if (options.causal) {
    // The buffer is larger than T, as nn.Module buffers are (block size 8), and sliced to T x T.
    const B = 8;
    const tril = Array.from({ length: B * B }, (_, e) => (e % B <= Math.floor(e / B) ? 1 : 0));
    inits.push(
      makeTensor("tril", [1, 1, B, B], DataType.FLOAT, tril),
      I64("zero2", [0, 0]),
      I64("tt", [T, T]),
      I64("axes23", [2, 3]),
      F32("zeroF", 0),
      F32("ninf", -Infinity),
    );
  }
  const lnOut = norm === "rms" ? "zg" : "n";
  const perm = (p: number[]) => [{ name: "perm", type: 7, ints: p }];
  const nodes: NodeProtoObj[] = [
    { op_type: "MatMul", name: "/embed/MatMul", input: ["x", "we"], output: ["e0"] },
    { op_type: "Add", name: "/embed/Add", input: ["be", "e0"], output: ["e"] },
    ...ln,
    { op_type: "MatMul", name: "/q/MatMul", input: [lnOut, "wq"], output: ["q0"] },
    { op_type: "Add", name: "/q/Add", input: ["bq", "q0"], output: ["q1"] },
    { op_type: "MatMul", name: "/k/MatMul", input: [lnOut, "wk"], output: ["k1"] },
    { op_type: "MatMul", name: "/v/MatMul", input: [lnOut, "wv"], output: ["v1"] },
    { op_type: "Reshape", name: "/Reshape", input: ["q1", "heads"], output: ["q2"] },
    { op_type: "Transpose", name: "/Transpose", input: ["q2"], output: ["q3"], attribute: perm([0, 2, 1, 3]) },
    { op_type: "Reshape", name: "/Reshape_1", input: ["k1", "heads"], output: ["k2"] },
    { op_type: "Transpose", name: "/Transpose_1", input: ["k2"], output: ["k3"], attribute: perm([0, 2, 3, 1]) },
    { op_type: "Reshape", name: "/Reshape_2", input: ["v1", "heads"], output: ["v2"] },
    { op_type: "Transpose", name: "/Transpose_2", input: ["v2"], output: ["v3"], attribute: perm([0, 2, 1, 3]) },
    { op_type: "MatMul", name: "/MatMul", input: ["q3", "k3"], output: ["s0"] },
    { op_type: "Mul", name: "/Mul", input: ["s0", "scale"], output: ["s1"] },
    ...(options.causal
      ? [
          { op_type: "Slice", name: "/Slice", input: ["tril", "zero2", "tt", "axes23"], output: ["trilT"] },
          { op_type: "Equal", name: "/Equal", input: ["trilT", "zeroF"], output: ["future"] },
          { op_type: "Where", name: "/Where", input: ["future", "ninf", "s1"], output: ["s2"] },
        ]
      : []),
    {
      op_type: "Softmax",
      name: "/Softmax",
      input: [options.causal ? "s2" : "s1"],
      output: ["p"],
      attribute: [attrInt("axis", -1)],
    },
    { op_type: "MatMul", name: "/MatMul_1", input: ["p", "v3"], output: ["a0"] },
    { op_type: "Transpose", name: "/Transpose_3", input: ["a0"], output: ["a1"], attribute: perm([0, 2, 1, 3]) },
    { op_type: "Reshape", name: "/Reshape_3", input: ["a1", "merged"], output: ["a2"] },
    { op_type: "MatMul", name: "/o/MatMul", input: ["a2", "wo"], output: ["o"] },
    { op_type: "Add", name: "/Add", input: ["e", "o"], output: ["res"] },
    ...mean("/ReduceMean", "res", "pooled", [1], 0),
    {
      op_type: "Gemm",
      name: "/head/Gemm",
      input: ["pooled", "head.w", "head.b"],
      output: ["y"],
      attribute: [attrInt("transB", 1)],
    },
  ];
  const graph = {
    name: "torch_jit",
    node: nodes,
    initializer: inits,
    input: [valueInfo("x", DataType.FLOAT, [1, T, K])],
    output: [valueInfo("y", DataType.FLOAT, [1, C])],
  };
  return encodeModel(makeModel(graph, opset));
}

/**
 * Token ids [1, T] (floats holding integers 0..V-1, as a user's input) -> Cast -> Gather of an embedding table
 * [V, d] -> Add position embedding -> Mul by itself -> ReduceSum (axes input, keepdims) -> Add eps -> Sqrt -> Div:
 * L2-normalised token vectors [1, T, d] (an embedding output).
 */
export function tokenIdsEmbedding(options: { tokens?: number; vocabulary?: number; width?: number } = {}): Uint8Array {
  const T = options.tokens ?? 5,
    V = options.vocabulary ?? 10,
    D = options.width ?? 4;
  const r = rng(53);
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "Cast", name: "/Cast", input: ["ids"], output: ["i"], attribute: [attrInt("to", DataType.INT64)] },
      { op_type: "Gather", name: "/emb/Gather", input: ["table", "i"], output: ["g"] },
      { op_type: "Add", name: "/Add", input: ["g", "pos"], output: ["e"] },
      { op_type: "Mul", name: "/Mul", input: ["e", "e"], output: ["sq"] },
      {
        op_type: "ReduceSum",
        name: "/ReduceSum",
        input: ["sq", "axes"],
        output: ["ss"],
        attribute: [attrInt("keepdims", 1)],
      },
      { op_type: "Add", name: "/Add_1", input: ["ss", "eps"], output: ["sse"] },
      { op_type: "Sqrt", name: "/Sqrt", input: ["sse"], output: ["nrm"] },
      { op_type: "Div", name: "/Div", input: ["e", "nrm"], output: ["y"] },
    ],
    initializer: [
      randomTensor(r, "table", [V, D]),
      randomTensor(r, "pos", [1, T, D], 0.5),
      I64("axes", [-1]),
      F32("eps", 1e-12),
    ],
    input: [valueInfo("ids", DataType.FLOAT, [1, T])],
    output: [valueInfo("y", DataType.FLOAT, [1, T, D])],
  };
  return encodeModel(makeModel(graph, 14));
}

/**
 * Data movement and broadcasting: x [1, 4, 6] -> Slice (tokens 1..3, every column) -> Split the columns [2, 4]
 * -> Concat(second, a constant [1, 3, 1], first) -> Sigmoid -> Mul by a broadcast row (ReduceMax over the tokens)
 * -> Softmax over the tokens (axis 1) -> Sub a broadcast column (ReduceSum over the last axis) -> Flatten -> y.
 */
export function dataMovement(): Uint8Array {
  const r = rng(61);
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "Slice", name: "/Slice", input: ["x", "st", "en", "ax"], output: ["s"] },
      {
        op_type: "Split",
        name: "/Split",
        input: ["s", "sizes"],
        output: ["a", "b"],
        attribute: [attrInt("axis", 2)],
      },
      { op_type: "Concat", name: "/Concat", input: ["b", "k", "a"], output: ["c"], attribute: [attrInt("axis", 2)] },
      { op_type: "Sigmoid", name: "/Sigmoid", input: ["c"], output: ["g"] },
      {
        op_type: "ReduceMax",
        name: "/ReduceMax",
        input: ["g"],
        output: ["m"],
        attribute: [{ name: "axes", type: 7, ints: [1] }, attrInt("keepdims", 1)],
      },
      { op_type: "Mul", name: "/Mul", input: ["g", "m"], output: ["gm"] },
      { op_type: "Softmax", name: "/Softmax", input: ["gm"], output: ["p"], attribute: [attrInt("axis", 1)] },
      {
        op_type: "ReduceSum",
        name: "/ReduceSum",
        input: ["p", "last"],
        output: ["ps"],
        attribute: [attrInt("keepdims", 1)],
      },
      { op_type: "Sub", name: "/Sub", input: ["p", "ps"], output: ["d"] },
      { op_type: "Flatten", name: "/Flatten", input: ["d"], output: ["y"], attribute: [attrInt("axis", 1)] },
    ],
    initializer: [
      I64("st", [1]),
      I64("en", [4]),
      I64("ax", [1]),
      I64("sizes", [2, 4]),
      I64("last", [-1]),
      randomTensor(r, "k", [1, 3, 1]),
    ],
    input: [valueInfo("x", DataType.FLOAT, [1, 4, 6])],
    output: [valueInfo("y", DataType.FLOAT, [1, 21])],
  };
  return encodeModel(makeModel(graph, 13));
}

/**
 * Export variants a user's model brings (opset 18): Gemm over rows [T, K] (nn.MultiheadAttention's projections),
 * position ids from Range gathered from a table (folded), Pad, SiLU (x * Sigmoid(x)), HardSwish, HardSigmoid
 * (alpha 1/6 as PyTorch exports it), Elu, Mish, Neg, and F.normalize (ReduceL2, Clip min eps, Expand, Div).
 */
export function exportVariants(): Uint8Array {
  const T = 4,
    K = 5,
    D = 6;
  const r = rng(71);
  const scalarI = (name: string, v: number) => makeTensor(name, [], DataType.INT64, [v]);
  const graph = {
    name: "torch_jit",
    node: [
      { op_type: "Gemm", name: "/proj/Gemm", input: ["x", "w", "b"], output: ["h"], attribute: [attrInt("transB", 1)] },
      { op_type: "Range", name: "/Range", input: ["start", "limit", "delta"], output: ["ids"] },
      { op_type: "Gather", name: "/pos/Gather", input: ["pos", "ids"], output: ["pe"] },
      { op_type: "Add", name: "/Add", input: ["h", "pe"], output: ["hp"] },
      { op_type: "Pad", name: "/Pad", input: ["hp", "pads", "zero"], output: ["pd"] },
      { op_type: "Sigmoid", name: "/act/Sigmoid", input: ["pd"], output: ["sg"] },
      { op_type: "Mul", name: "/act/Mul", input: ["pd", "sg"], output: ["si"] },
      { op_type: "HardSwish", name: "/HardSwish", input: ["si"], output: ["hs"] },
      {
        op_type: "HardSigmoid",
        name: "/HardSigmoid",
        input: ["hs"],
        output: ["hg"],
        attribute: [
          { name: "alpha", type: 1, f: 1 / 6 },
          { name: "beta", type: 1, f: 0.5 },
        ],
      },
      { op_type: "Elu", name: "/Elu", input: ["pd"], output: ["el"] },
      { op_type: "Mish", name: "/Mish", input: ["el"], output: ["mi"] },
      { op_type: "Neg", name: "/Neg", input: ["mi"], output: ["ng"] },
      { op_type: "Add", name: "/Add_1", input: ["hg", "ng"], output: ["z"] },
      {
        op_type: "ReduceL2",
        name: "/ReduceL2",
        input: ["z", "last"],
        output: ["nrm"],
        attribute: [attrInt("keepdims", 1)],
      },
      { op_type: "Clip", name: "/Clip", input: ["nrm", "eps"], output: ["nc"] },
      { op_type: "Shape", name: "/Shape", input: ["z"], output: ["zs"] },
      { op_type: "Expand", name: "/Expand", input: ["nc", "zs"], output: ["ne"] },
      { op_type: "Div", name: "/Div", input: ["z", "ne"], output: ["y"] },
    ],
    initializer: [
      randomTensor(r, "w", [D, K]),
      randomTensor(r, "b", [D], 0.3),
      randomTensor(r, "pos", [T, D], 0.5),
      scalarI("start", 0),
      scalarI("limit", T),
      scalarI("delta", 1),
      makeTensor("pads", [4], DataType.INT64, [0, 1, 0, 1]),
      makeTensor("zero", [], DataType.FLOAT, [0]),
      makeTensor("last", [1], DataType.INT64, [-1]),
      makeTensor("eps", [], DataType.FLOAT, [1e-12]),
    ],
    input: [valueInfo("x", DataType.FLOAT, [T, K])],
    output: [valueInfo("y", DataType.FLOAT, [T, D + 2])],
  };
  return encodeModel(makeModel(graph, 18));
}
