/**
 * Operator coverage: synthetic ONNX models (built with verifier-gen's own writer) using every
 * supported operator; the three executors (TS interpreter, onnxruntime on the integer ONNX,
 * circom witness) must agree bit for bit, and the quantized model must track the float one.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { emitCircom } from "../../verifier-gen/src/circom.js";
import { OnnxParseError, ShapeError, UnsupportedOperatorError } from "../../verifier-gen/src/errors.js";
import { importOnnx, runFloat } from "../../verifier-gen/src/floatgraph.js";
import { GADGETS_CIRCOM } from "../../verifier-gen/src/gadgets.circom.js";
import { calculateWitness, compileCircom, terminateSnarkjs } from "../../verifier-gen/src/groth16.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { emitIntOnnx, IntOnnxRunner } from "../../verifier-gen/src/intonnx.js";
import { modelCommitment } from "../../verifier-gen/src/merkle.js";
import { quantize, quantizeInput } from "../../verifier-gen/src/quantize.js";
import { checkDatasetShape, parseDataset } from "../../verifier-gen/src/dataset.js";
import { packedSignals } from "../../verifier-gen/src/pipeline.js";
import {
  activationMlp,
  dataMovement,
  exportVariants,
  geluMlp,
  miniTransformer,
  rng,
  tokenEmbedding,
  tokenIdsEmbedding,
  tokenMlp,
} from "../helpers/onnx-models.js";
import {
  DataType,
  attrFloat,
  attrInt,
  attrInts,
  encodeModel,
  makeModel,
  makeTensor,
  valueInfo,
  type NodeProtoObj,
  type TensorProtoObj,
} from "../../verifier-gen/src/onnx/proto.js";

const r = rng(7);
const rand = (n: number, s = 1) => Array.from({ length: n }, () => r() * 2 * s);
const F = (name: string, dims: number[], v: number[]) => makeTensor(name, dims, DataType.FLOAT, v);

/** Every supported operator, PyTorch-style forms included. */
function allOpsModel(opset: number): Uint8Array {
  const nodes: NodeProtoObj[] = [
    {
      op_type: "Conv",
      name: "conv1",
      input: ["x", "w1", "b1"],
      output: ["c1"],
      attribute: [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1])],
    },
    {
      op_type: "BatchNormalization",
      name: "bn1",
      input: ["c1", "bn_s", "bn_b", "bn_m", "bn_v"],
      output: ["b1o"],
      attribute: [attrFloat("epsilon", 1e-5)],
    },
    { op_type: "LeakyRelu", name: "lrelu", input: ["b1o"], output: ["l1"], attribute: [attrFloat("alpha", 0.1)] },
    {
      op_type: "Conv",
      name: "conv2",
      input: ["l1", "w2"],
      output: ["c2"],
      attribute: [attrInts("kernel_shape", [3, 3]), attrInts("strides", [1, 1]), attrInts("pads", [1, 1, 1, 1])],
    },
    { op_type: "Relu", name: "relu2", input: ["c2"], output: ["r2"] },
    { op_type: "Add", name: "residual", input: ["l1", "r2"], output: ["a"] },
    { op_type: "Sub", name: "sub", input: ["a", "subc"], output: ["s"] },
    { op_type: "Mul", name: "mul", input: ["s", "half"], output: ["m"] },
    // Relu makes an activation of the accumulator, so that the Clip after it is a clamp of an activation.
    { op_type: "Relu", name: "relu_pre", input: ["m"], output: ["mr"] },
    opset >= 11
      ? { op_type: "Clip", name: "clip", input: ["mr", "cmin", "cmax"], output: ["cl"] }
      : {
          op_type: "Clip",
          name: "clip",
          input: ["mr"],
          output: ["cl"],
          attribute: [attrFloat("min", 0), attrFloat("max", 1)],
        },
    {
      op_type: "MaxPool",
      name: "pool",
      input: ["cl"],
      output: ["mp"],
      attribute: [attrInts("kernel_shape", [2, 2]), attrInts("strides", [2, 2])],
    },
    {
      op_type: "AveragePool",
      name: "avg",
      input: ["mp"],
      output: ["ap"],
      attribute: [attrInts("kernel_shape", [2, 2]), attrInts("strides", [1, 1])],
    },
    { op_type: "Flatten", name: "flat", input: ["ap"], output: ["fl"], attribute: [attrInt("axis", 1)] },
    {
      op_type: "Gemm",
      name: "gemm",
      input: ["fl", "wg", "bg"],
      output: ["g"],
      attribute: [attrInt("transB", 0), attrFloat("alpha", 1)],
    },
    {
      op_type: "Constant",
      name: "shape_const",
      input: [],
      output: ["shp"],
      attribute: [{ name: "value", type: 4, t: makeTensor("", [2], DataType.INT64, [1, -1]) }],
    },
    { op_type: "Reshape", name: "reshape", input: ["g", "shp"], output: ["rs"] },
    { op_type: "Identity", name: "ident", input: ["rs"], output: ["id"] },
    { op_type: "MatMul", name: "mm", input: ["id", "wm"], output: ["mmo"] },
    { op_type: "Add", name: "mm_bias", input: ["mmo", "bm"], output: ["logits"] },
    {
      op_type: "ArgMax",
      name: "argmax",
      input: ["logits"],
      output: ["label"],
      attribute: [attrInt("axis", -1), attrInt("keepdims", 0)],
    },
  ];
  const inits: TensorProtoObj[] = [
    F("w1", [3, 1, 3, 3], rand(27)),
    F("b1", [3], rand(3, 0.1)),
    F("bn_s", [3], [1.2, 0.8, 1.0]),
    F("bn_b", [3], [0.1, -0.1, 0.05]),
    F("bn_m", [3], [0.05, -0.02, 0.0]),
    F("bn_v", [3], [0.9, 1.1, 1.0]),
    F("w2", [3, 3, 3, 3], rand(81, 0.5)),
    F("subc", [1, 3, 1, 1], [0.1, -0.2, 0.05]),
    F("half", [], [0.5]),
    F("wg", [12, 6], rand(72)),
    F("bg", [6], rand(6, 0.1)),
    F("wm", [6, 4], rand(24)),
    F("bm", [4], rand(4, 0.1)),
  ];
  if (opset >= 11) inits.push(F("cmin", [], [0]), F("cmax", [], [1]));
  const graph = {
    name: "all_ops",
    node: nodes,
    initializer: inits,
    input: [valueInfo("x", DataType.FLOAT, ["N", 1, 6, 6])],
    output: [valueInfo("label", DataType.INT64, [1])],
  };
  return encodeModel(makeModel(graph, opset));
}

/** GlobalAveragePool and a tensor (non-ArgMax) output. */
function gapModel(): Uint8Array {
  const graph = {
    name: "gap_head",
    node: [
      {
        op_type: "Conv",
        name: "conv",
        input: ["x", "w", "b"],
        output: ["c"],
        attribute: [attrInts("kernel_shape", [2, 2]), attrInts("strides", [2, 2]), attrInts("pads", [0, 0, 1, 1])],
      },
      { op_type: "Relu", name: "relu", input: ["c"], output: ["rl"] },
      { op_type: "GlobalAveragePool", name: "gap", input: ["rl"], output: ["gp"] },
      { op_type: "Flatten", name: "flat", input: ["gp"], output: ["f"] },
      { op_type: "Gemm", name: "fc", input: ["f", "wf", "bf"], output: ["y"], attribute: [attrInt("transB", 1)] },
    ],
    initializer: [
      F("w", [4, 2, 2, 2], rand(32)),
      F("b", [4], rand(4, 0.1)),
      F("wf", [3, 4], rand(12)),
      F("bf", [3], rand(3, 0.1)),
    ],
    input: [valueInfo("x", DataType.FLOAT, [1, 2, 5, 5])],
    output: [valueInfo("y", DataType.FLOAT, [1, 3])],
  };
  return encodeModel(makeModel(graph, 17));
}

async function checkModel(
  bytes: Uint8Array,
  shape: number[],
  nCalib: number,
  nTest: number,
  minAgreement: number,
  value: () => number = () => r() * 4,
) {
  const fg = importOnnx(bytes);
  const n = shape.reduce((a, b) => a * b, 1);
  const gen = () => Array.from({ length: n }, value);
  const calib = Array.from({ length: nCalib }, gen);
  const ig = quantize(fg, calib);
  const tests = Array.from({ length: nTest }, gen);

  // float graph == onnxruntime on the source model
  const sess = await ort.InferenceSession.create(bytes);
  const runner = await IntOnnxRunner.create(ig, emitIntOnnx(ig));
  let agree = 0;
  for (const x of tests) {
    const fo = await sess.run({ [sess.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(x), shape) });
    const ortOut = Array.from(fo[sess.outputNames[0]!]!.data as Float32Array | BigInt64Array, Number);
    const tsOut = Array.from(runFloat(fg, x).get(fg.output)!);
    if (ig.output.kind === "argmax") expect(tsOut).to.deep.equal(ortOut);
    else tsOut.forEach((v, i) => expect(Math.abs(v - ortOut[i]!)).to.be.lessThan(1e-3));

    const q = quantizeInput(ig, x);
    const a = runInt(ig, q);
    const b = await runner.run(q);
    a.tensors.forEach((t, i) => expect(Array.from(b.tensors[i]!), `tensor ${i}`).to.deep.equal(Array.from(t)));
    if (ig.output.kind === "argmax") {
      if (a.output[0] === tsOut[0]) agree++;
    } else {
      const deq = a.output.map((v, i) => v * ig.output.scale[ig.output.scale.length === 1 ? 0 : i]!);
      const am = (v: number[]) => v.indexOf(Math.max(...v));
      if (am(deq) === am(tsOut)) agree++;
    }
  }
  await sess.release();
  await runner.release();
  expect(agree / nTest).to.be.at.least(minAgreement);
  return { fg, ig, tests };
}

async function checkWitness(ig: ReturnType<typeof quantize>, inputs: number[][]) {
  const dir = mkdtempSync(join(tmpdir(), "vg-ops-"));
  try {
    const src = emitCircom(ig);
    writeFileSync(join(dir, "model.circom"), src.main);
    writeFileSync(join(dir, "veriml_gadgets.circom"), GADGETS_CIRCOM);
    const comp = await compileCircom(dir, "model");
    for (const x of inputs) {
      const q = quantizeInput(ig, x);
      const tr = runInt(ig, q);
      const w = await calculateWitness(comp.wasm, { x: q.map(String) });
      const expected = packedSignals(src.packing!, q, tr);
      expect(w.slice(1, 1 + expected.length)).to.deep.equal(expected);
    }
    return comp.constraints;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("verifier-gen: operators", function () {
  this.timeout(180_000);
  after(async () => {
    await terminateSnarkjs();
  });

  for (const opset of [11, 13, 18]) {
    it(`all operators (opset ${opset}): interpreter == onnxruntime int64 trace, tracks float`, async () => {
      const { ig } = await checkModel(allOpsModel(opset), [1, 1, 6, 6], 64, 40, 0.8);
      const ops = new Set(ig.nodes.map((n) => n.op));
      for (const op of [
        "conv2d",
        "leakyrelu",
        "add",
        "affine",
        "clamp",
        "maxpool",
        "sumpool",
        "dense",
        "reshape",
        "argmax",
        "requant",
      ]) {
        expect(ops.has(op as never), op).to.equal(true);
      }
    });
  }

  it("all operators: circuit witness == interpreter (public label + packed input)", async () => {
    const { ig, tests } = await checkModel(allOpsModel(13), [1, 1, 6, 6], 64, 8, 0.5);
    const c = await checkWitness(ig, tests.slice(0, 4));
    expect(c).to.be.greaterThan(0);
  });

  it("GlobalAveragePool + SAME-style padding + tensor output: packed outputs in the witness", async () => {
    const { ig, tests } = await checkModel(gapModel(), [1, 2, 5, 5], 64, 20, 0.7);
    expect(ig.output.kind).to.equal("tensor");
    await checkWitness(ig, tests.slice(0, 3));
  });

  it("element-wise functions (Tanh, Sigmoid, Erf, Softplus, Exp) as committed tables: executors agree", async () => {
    const bytes = activationMlp(["Tanh", "Sigmoid", "Erf", "Softplus", "Exp"]);
    const { ig, tests } = await checkModel(bytes, [1, 6], 64, 30, 0.8);
    const luts = ig.nodes.filter((n) => n.op === "lut");
    expect(luts).to.have.length(5);
    for (const n of luts) if (n.op === "lut") expect(n.table).to.have.length(n.hi - n.lo + 1);
    // The table is the model: another entry is another modelHash.
    const h = modelCommitment(ig).modelHash;
    const lut = luts[0]!;
    if (lut.op !== "lut") throw new Error("unreachable");
    lut.table[3] = lut.table[3]! + 1;
    expect(modelCommitment(ig).modelHash).to.not.equal(h);
    lut.table[3] = lut.table[3]! - 1;
    const constraints = await checkWitness(ig, tests.slice(0, 3));
    // Two-level selectors: about 2 sqrt(2 n) constraints per element of an n-entry table, not n.
    const entries = luts.reduce((s, n) => s + (n.op === "lut" ? n.table.length : 0), 0);
    expect(constraints).to.be.lessThan((entries / 5) * 5 * 8 * 0.4);
  });

  it("Softmax (probabilities out): max subtraction, committed exp table, rounded division; executors agree", async () => {
    const { ig, tests } = await checkModel(
      activationMlp(["Tanh"], { head: "Softmax", outputs: 4 }),
      [1, 6],
      64,
      30,
      0.8,
    );
    const sm = ig.nodes.at(-1)!;
    expect(sm.op).to.equal("softmax");
    if (sm.op !== "softmax") throw new Error("unreachable");
    expect(sm.exp[0]).to.equal(2 ** 16);
    for (const x of tests) {
      const probs = runInt(ig, quantizeInput(ig, x)).output;
      // Rounded to 255 steps, a row sums to 255 within one step per value.
      expect(Math.abs(probs.reduce((a, b) => a + b, 0) - 255)).to.be.at.most(probs.length);
    }
    await checkWitness(ig, tests.slice(0, 3));
  });

  for (const [norm, opset] of [
    ["decomposed", 14],
    ["decomposed", 18],
    ["op17", 17],
    ["rms", 14],
  ] as const) {
    it(`a transformer block (${norm} norm, opset ${opset}): attention, one normalize op, executors agree`, async () => {
      const { ig, tests } = await checkModel(miniTransformer({ norm, opset }), [1, 4, 5], 64, 30, 0.8);
      const ops = ig.nodes.map((n) => n.op);
      // The norm is one op (no division of activations); q k^T and p v are products of activations.
      expect(ops.filter((o) => o === "normalize")).to.have.length(1);
      expect(ops.filter((o) => o === "matmul")).to.have.length(2);
      expect(ops).to.include("gather");
      const nz = ig.nodes.find((n) => n.op === "normalize");
      if (nz?.op !== "normalize") throw new Error("unreachable");
      expect(nz.center).to.equal(norm !== "rms");
      if (opset === 14) await checkWitness(ig, tests.slice(0, 2));
    });
  }

  it("causal attention (a sliced lower-triangular buffer, Equal 0, Where -inf): a masked softmax, executors agree", async () => {
    const { ig, tests } = await checkModel(miniTransformer({ causal: true }), [1, 4, 5], 64, 30, 0.8);
    const sm = ig.nodes.find((n) => n.op === "softmax");
    if (sm?.op !== "softmax" || sm.mask === undefined) throw new Error("expected a masked softmax");
    // Per head, token t attends to tokens 0..t only.
    expect(sm.mask.slice(0, 16)).to.deep.equal([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1]);
    for (const x of tests.slice(0, 5)) {
      const t = runInt(ig, quantizeInput(ig, x)).tensors[ig.nodes.indexOf(sm) + 1]!;
      sm.mask.forEach((k, e) => {
        if (k === 0) expect(t[e]).to.equal(0);
      });
    }
    await checkWitness(ig, tests.slice(0, 2));
  });

  it("Cast + Gather embeddings of integer token ids, then L2 normalisation (Mul, ReduceSum, Sqrt, Div)", async () => {
    const ids = () => Math.floor((r() + 0.5) * 10);
    const { ig, tests } = await checkModel(tokenIdsEmbedding(), [1, 5], 64, 30, 0, ids);
    expect(ig.input.scale).to.equal(1);
    const emb = ig.nodes[0]!;
    if (emb.op !== "embed") throw new Error(`first node is ${emb.op}`);
    expect(emb.width).to.equal(4);
    const nz = ig.nodes.at(-1)!;
    if (nz.op !== "normalize") throw new Error(`last node is ${nz.op}`);
    expect(nz.center).to.equal(false);
    // Unit vectors: every token's dequantized output has norm ~1.
    for (const x of tests) {
      const y = runInt(ig, quantizeInput(ig, x)).output.map((v) => v * ig.output.scale[0]!);
      for (let t = 0; t < 5; t++) expect(Math.hypot(...y.slice(t * 4, t * 4 + 4))).to.be.within(0.97, 1.03);
    }
    await checkWitness(ig, tests.slice(0, 2));
  });

  it("data movement: Slice, Split, Concat with a constant, broadcast Mul and Sub, ReduceMax/Sum, Softmax on axis 1", async () => {
    const { ig, tests } = await checkModel(dataMovement(), [1, 4, 6], 64, 30, 0);
    const ops = new Set(ig.nodes.map((n) => n.op));
    for (const op of ["gather", "maxpool", "sumpool", "matmul", "softmax", "add"])
      expect(ops.has(op as never), op).to.equal(true);
    await checkWitness(ig, tests.slice(0, 2));
  });

  it("MatMul of a [1, tokens, K] activation with a constant [K, N]: one dense layer per token, executors agree", async () => {
    const { ig, tests } = await checkModel(tokenMlp(), [1, 4, 6], 64, 30, 0.8);
    const dense = ig.nodes.filter((n) => n.op === "dense");
    expect(dense.map((n) => n.shape)).to.deep.equal([
      [1, 4, 5],
      [1, 4, 3],
    ]);
    await checkWitness(ig, tests.slice(0, 3));
  });

  it("constants over the trailing axes: a bias on the last axis (folded) and a positional embedding of the whole shape", async () => {
    const { ig, tests } = await checkModel(tokenEmbedding(), [1, 4, 6], 64, 30, 0.8);
    // The biases fold into the per-token dense layers; the positional embedding stays an affine over the tensor.
    const affine = ig.nodes.filter((n) => n.op === "affine");
    expect(affine).to.have.length(1);
    if (affine[0]!.op !== "affine") throw new Error("unreachable");
    expect(affine[0]!.inner).to.equal(1);
    expect(affine[0]!.add).to.have.length(4 * 5);
    await checkWitness(ig, tests.slice(0, 3));
  });

  it("GELU as PyTorch exports it (Erf form, and the tanh form with Pow 3) is one table; so is opset 20's Gelu", async () => {
    for (const form of ["exported", "exported-tanh", "none", "tanh"] as const) {
      const { ig, tests } = await checkModel(geluMlp(form), [1, 6], 64, 30, 0.8);
      const luts = ig.nodes.filter((n) => n.op === "lut");
      expect(luts, form).to.have.length(1);
      expect(
        ig.nodes.some((n) => n.op === "affine"),
        form,
      ).to.equal(false);
      if (form === "exported") await checkWitness(ig, tests.slice(0, 2));
    }
    // The exported and the opset-20 exact forms are the same function: the same table.
    const calib = Array.from({ length: 32 }, (_, i) => rand(6, 1 + (i % 3)));
    const table = (form: "exported" | "none") =>
      quantize(importOnnx(geluMlp(form)), calib).nodes.find((n) => n.op === "lut");
    expect(table("exported")).to.deep.include({ op: "lut" });
    const a = table("exported"),
      b = table("none");
    if (a?.op !== "lut" || b?.op !== "lut") throw new Error("unreachable");
    expect(a.table).to.deep.equal(b.table);
    const c = quantize(importOnnx(geluMlp("exported-tanh")), calib).nodes.find((n) => n.op === "lut");
    const d = quantize(importOnnx(geluMlp("tanh")), calib).nodes.find((n) => n.op === "lut");
    if (c?.op !== "lut" || d?.op !== "lut") throw new Error("unreachable");
    expect(c.table).to.deep.equal(d.table);
  });

  it("MatMul with constants on either side and of any rank (W @ x, x @ W[batch, K, N]), Div of two tensors: executors agree", async () => {
    const graph = {
      name: "torch_jit",
      node: [
        { op_type: "MatMul", name: "/mix/MatMul", input: ["wl", "x"], output: ["a"] },
        { op_type: "Tanh", name: "/Tanh", input: ["a"], output: ["t"] },
        { op_type: "MatMul", name: "/heads/MatMul", input: ["t", "wb"], output: ["b"] },
        { op_type: "Sigmoid", name: "/Sigmoid", input: ["b"], output: ["sg"] },
        // a division of two computed tensors: the reciprocal as a table, then a product
        { op_type: "Div", name: "/Div", input: ["b", "sg"], output: ["q"] },
        { op_type: "Flatten", name: "/Flatten", input: ["q"], output: ["y"], attribute: [attrInt("axis", 1)] },
      ],
      initializer: [F("wl", [2, 3], rand(6)), F("wb", [2, 4, 5], rand(40))],
      input: [valueInfo("x", DataType.FLOAT, [1, 3, 4])],
      output: [valueInfo("y", DataType.FLOAT, [2, 10])],
    };
    const { ig, tests } = await checkModel(encodeModel(makeModel(graph, 13)), [1, 3, 4], 64, 30, 0.7);
    expect(ig.nodes.filter((n) => n.op === "dense")).to.have.length(2);
    await checkWitness(ig, tests.slice(0, 2));
  });

  it("export variants: Gemm over rows, Range positions, Pad, SiLU, HardSwish, HardSigmoid, Elu, Mish, Neg, F.normalize", async () => {
    const { ig, tests } = await checkModel(exportVariants(), [4, 5], 64, 30, 0);
    const ops = ig.nodes.map((n) => n.op);
    // SiLU is one table (not a product); F.normalize is one normalize op over the last axis.
    expect(ops.filter((o) => o === "matmul")).to.have.length(0);
    expect(ops.at(-1)).to.equal("normalize");
    expect(ops.filter((o) => o === "lut").length).to.be.at.least(5);
    for (const x of tests.slice(0, 5)) {
      const y = runInt(ig, quantizeInput(ig, x)).output.map((v) => v * ig.output.scale[0]!);
      for (let t = 0; t < 4; t++) expect(Math.hypot(...y.slice(t * 8, t * 8 + 8))).to.be.within(0.95, 1.05);
    }
    await checkWitness(ig, tests.slice(0, 2));
  });

  it("wide activations: a named tensor, or under auto a heavy-tailed one (never a table's input), gets 16 bits", async () => {
    const fg = importOnnx(activationMlp(["Relu", "Tanh"], { seed: 4 }));
    // Calibration with rare spikes: the input's maximum is far above its RMS.
    const calib = Array.from({ length: 64 }, (_, i) => rand(6, 1).map((v, k) => (i === 0 && k === 0 ? 40 : v)));
    const bitsOf = (g: ReturnType<typeof quantize>) => Math.ceil(Math.log2(g.input.hi - g.input.lo + 1));
    expect(bitsOf(quantize(fg, calib))).to.equal(8);
    const auto = quantize(fg, calib, { wide: "auto" });
    expect(bitsOf(auto)).to.equal(16);
    // The Tanh's input keeps 8 bits (its table would grow to 2^16 entries).
    const lut = auto.nodes.find((n) => n.op === "lut");
    if (lut?.op !== "lut") throw new Error("unreachable");
    expect(lut.table.length).to.equal(255);
    const hidden = fg.nodes.find((n) => n.op === "relu")!.output;
    const named = quantize(fg, calib, { wide: [hidden] });
    const rq = named.nodes.filter((n) => n.op === "requant").map((n) => (n.op === "requant" ? n.hi - n.lo : 0));
    expect(Math.max(...rq)).to.equal(2 ** 16 - 1);
    expect(() => quantize(fg, calib, { wide: ["no_such_tensor"] })).to.throw(/no_such_tensor/);
    const runner = await IntOnnxRunner.create(auto, emitIntOnnx(auto));
    for (const x of calib.slice(0, 5)) {
      const q = quantizeInput(auto, x);
      expect(Array.from((await runner.run(q)).tensors.at(-1)!)).to.deep.equal(
        Array.from(runInt(auto, q).tensors.at(-1)!),
      );
    }
    await runner.release();
  });

  it("a 784-value input (28 x 28) compiles: dense rows of 784 terms are printed as nested sums for circom", async () => {
    const fg = importOnnx(activationMlp(["Relu"], { inputs: 784, hidden: 12, outputs: 10, seed: 2 }));
    const calib = Array.from({ length: 16 }, () => rand(784, 1));
    const ig = quantize(fg, calib);
    const src = emitCircom(ig);
    expect(src.main).to.match(/\(\(?[^()]*\) \+ \(/);
    expect(await checkWitness(ig, calib.slice(0, 1))).to.be.greaterThan(784);
  });

  it("modelHash changes with any weight", async () => {
    const fg = importOnnx(allOpsModel(13));
    const calib = Array.from({ length: 16 }, () => rand(36, 2));
    const ig = quantize(fg, calib);
    const h = modelCommitment(ig).modelHash;
    const d = ig.nodes.find((n) => n.op === "dense")!;
    if (d.op !== "dense") throw new Error("unreachable");
    d.weight[0] = d.weight[0]! + 1;
    expect(modelCommitment(ig).modelHash).to.not.equal(h);
  });

  describe("errors", () => {
    it("rejects a file that is not ONNX", () => {
      expect(() => importOnnx(new TextEncoder().encode("hello, this is not a model"))).to.throw(OnnxParseError);
      expect(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff]))).to.throw(OnnxParseError);
    });

    it("names an unsupported operator, its node, and the supported list", () => {
      const graph = {
        name: "bad",
        node: [{ op_type: "Hardmax", name: "my_hardmax", input: ["x"], output: ["y"] }],
        initializer: [],
        input: [valueInfo("x", DataType.FLOAT, [1, 4])],
        output: [valueInfo("y", DataType.FLOAT, [1, 4])],
      };
      try {
        importOnnx(encodeModel(makeModel(graph, 13)));
        expect.fail("should throw");
      } catch (e) {
        expect(e).to.be.instanceOf(UnsupportedOperatorError);
        const err = e as UnsupportedOperatorError;
        expect(err.message).to.contain("Hardmax").and.contain("my_hardmax").and.contain("Gemm").and.contain("Conv");
        expect(err.opType).to.equal("Hardmax");
        expect(err.nodeName).to.equal("my_hardmax");
      }
    });

    it("rejects a MatMul whose constant left operand is not a matrix", () => {
      const graph = {
        name: "bad2",
        node: [{ op_type: "MatMul", name: "mm", input: ["w", "x"], output: ["y"] }],
        initializer: [F("w", [2, 1, 1], rand(2))],
        input: [valueInfo("x", DataType.FLOAT, [1, 4])],
        output: [valueInfo("y", DataType.FLOAT, [2, 1, 4])],
      };
      expect(() => importOnnx(encodeModel(makeModel(graph, 13)))).to.throw(UnsupportedOperatorError, /mm.*rank 3/s);
    });

    it("rejects datasets that do not match the model", () => {
      expect(() => parseDataset({ input_shape: [1, 3], inputs: [[1, 2]] })).to.throw(ShapeError);
      expect(() => parseDataset({ input_shape: [1, 2], inputs: [[1, 2]], labels: [1, 2] })).to.throw(/labels/);
      expect(() => parseDataset({ inputs: [[1, 2]] })).to.throw(/input_shape/);
      const ds = parseDataset({ input_shape: [1, 63], inputs: [new Array(63).fill(0)] });
      expect(() => checkDatasetShape(ds, [1, 64])).to.throw(ShapeError, /does not match/);
    });
  });
});
