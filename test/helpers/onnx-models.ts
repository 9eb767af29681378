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
export function geluMlp(form: "exported" | "none" | "tanh"): Uint8Array {
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
    form === "exported"
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
  return encodeModel(makeModel(graph, form === "exported" ? 14 : 20));
}
