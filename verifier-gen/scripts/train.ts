/**
 * Deterministic training of the two fixture models on the UCI digits data, in plain
 * TypeScript (no Python, no downloads), and export to ONNX with verifier-gen's own writer.
 *
 *   npx tsx verifier-gen/scripts/train.ts
 *
 * Writes models/digits-mlp.onnx, models/digits-cnn.onnx, data/digits-test.json and
 * data/digits-calibration.json. Same seed => byte-identical files.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { resolve } from "node:path";
import * as ort from "onnxruntime-node";
import {
  DataType,
  attrInt,
  attrInts,
  encodeModel,
  makeModel,
  makeTensor,
  valueInfo,
  type NodeProtoObj,
} from "../src/onnx/proto.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SEED = 20240601;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
function randn(): number {
  const u = Math.max(rand(), 1e-12);
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

// ---------- data ----------
interface Sample {
  x: number[];
  y: number;
}
const csv = gunzipSync(readFileSync(resolve(ROOT, "data/digits.csv.gz"))).toString("utf8");
const rows: Sample[] = csv
  .trim()
  .split("\n")
  .map((line) => {
    const v = line.split(",").map(Number);
    return { x: v.slice(0, 64), y: v[64]! };
  });
if (rows.length !== 1797) throw new Error(`expected 1797 rows, got ${rows.length}`);
shuffle(rows);
const nTest = 360;
const test = rows.slice(0, nTest);
const train = rows.slice(nTest);
const calib = train.slice(0, 256);

function writeDataset(file: string, samples: Sample[]): void {
  const body =
    `{"input_shape": [1, 64],\n "inputs": [\n` +
    samples.map((s) => `  [${s.x.join(",")}]`).join(",\n") +
    `\n ],\n "labels": [${samples.map((s) => s.y).join(",")}]}\n`;
  writeFileSync(resolve(ROOT, file), body);
}
writeDataset("data/digits-test.json", test);
writeDataset("data/digits-calibration.json", calib);

// ---------- tiny layer library (float64, manual backprop) ----------
class Param {
  w: Float64Array;
  g: Float64Array;
  m: Float64Array;
  v: Float64Array;
  constructor(n: number, std: number) {
    this.w = new Float64Array(n);
    for (let i = 0; i < n; i++) this.w[i] = std === 0 ? 0 : randn() * std;
    this.g = new Float64Array(n);
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }
}
function adam(params: Param[], lr: number, t: number, batch: number): void {
  const b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8;
  for (const p of params) {
    for (let i = 0; i < p.w.length; i++) {
      const g = p.g[i]! / batch;
      p.m[i] = b1 * p.m[i]! + (1 - b1) * g;
      p.v[i] = b2 * p.v[i]! + (1 - b2) * g * g;
      const mh = p.m[i]! / (1 - b1 ** t);
      const vh = p.v[i]! / (1 - b2 ** t);
      p.w[i] = p.w[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
      p.g[i] = 0;
    }
  }
}
/** y[o] = b[o] + sum_i W[o,i] x[i] */
function denseF(W: Param, B: Param, x: Float64Array, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = B.w[o]!;
    for (let i = 0; i < nIn; i++) s += W.w[o * nIn + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}
function denseB(W: Param, B: Param, x: Float64Array, dy: Float64Array, nIn: number, nOut: number): Float64Array {
  const dx = new Float64Array(nIn);
  for (let o = 0; o < nOut; o++) {
    const d = dy[o]!;
    B.g[o] = B.g[o]! + d;
    for (let i = 0; i < nIn; i++) {
      W.g[o * nIn + i] = W.g[o * nIn + i]! + d * x[i]!;
      dx[i] = dx[i]! + d * W.w[o * nIn + i]!;
    }
  }
  return dx;
}
function softmaxXent(z: Float64Array, y: number): { loss: number; dz: Float64Array } {
  let mx = -Infinity;
  for (const v of z) mx = Math.max(mx, v);
  let s = 0;
  const e = z.map((v) => Math.exp(v - mx));
  for (const v of e) s += v;
  const dz = e.map((v) => v / s);
  const loss = -Math.log(dz[y]! + 1e-12);
  dz[y] = dz[y]! - 1;
  return { loss, dz };
}
function argmax(z: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < z.length; i++) if (z[i]! > z[b]!) b = i;
  return b;
}

interface Model {
  params: Param[];
  forward(x: Float64Array): { logits: Float64Array; back: (dz: Float64Array) => void };
}

function trainModel(model: Model, epochs: number, lr: number, batch: number, name: string): void {
  let t = 0;
  const order = train.map((_, i) => i);
  for (let ep = 0; ep < epochs; ep++) {
    shuffle(order);
    let loss = 0;
    for (let s = 0; s < order.length; s += batch) {
      const idx = order.slice(s, s + batch);
      for (const k of idx) {
        const smp = train[k]!;
        const x = Float64Array.from(smp.x, (v) => v / 16);
        const f = model.forward(x);
        const r = softmaxXent(f.logits, smp.y);
        loss += r.loss;
        f.back(r.dz);
      }
      t++;
      adam(model.params, lr, t, idx.length);
    }
    if ((ep + 1) % 10 === 0) {
      const acc = accuracy(model, test);
      console.log(
        `${name} epoch ${ep + 1} loss ${(loss / train.length).toFixed(4)} test acc ${(acc * 100).toFixed(2)}%`,
      );
    }
  }
}
function accuracy(model: Model, data: Sample[]): number {
  let ok = 0;
  for (const s of data) if (argmax(model.forward(Float64Array.from(s.x, (v) => v / 16)).logits) === s.y) ok++;
  return ok / data.length;
}

// ---------- MLP 64-32-10 ----------
const H = 32;
const mlpW1 = new Param(H * 64, Math.sqrt(2 / 64));
const mlpB1 = new Param(H, 0);
const mlpW2 = new Param(10 * H, Math.sqrt(1 / H));
const mlpB2 = new Param(10, 0);
const mlp: Model = {
  params: [mlpW1, mlpB1, mlpW2, mlpB2],
  forward(x) {
    const z1 = denseF(mlpW1, mlpB1, x, 64, H);
    const a1 = z1.map((v) => (v > 0 ? v : 0));
    const logits = denseF(mlpW2, mlpB2, a1, H, 10);
    return {
      logits,
      back(dz) {
        const da1 = denseB(mlpW2, mlpB2, a1, dz, H, 10);
        const dz1 = da1.map((v, i) => (z1[i]! > 0 ? v : 0));
        denseB(mlpW1, mlpB1, x, dz1, 64, H);
      },
    };
  },
};

// ---------- CNN: conv(1->C,3x3,valid) relu maxpool2 flatten matmul+add ----------
const C = 6;
const cnnK = new Param(C * 9, Math.sqrt(2 / 9));
const cnnKb = new Param(C, 0);
const FEAT = C * 9;
const cnnW = new Param(10 * FEAT, Math.sqrt(1 / FEAT));
const cnnB = new Param(10, 0);
const cnn: Model = {
  params: [cnnK, cnnKb, cnnW, cnnB],
  forward(x) {
    const conv = new Float64Array(C * 36);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++) {
          let s = cnnKb.w[c]!;
          for (let di = 0; di < 3; di++)
            for (let dj = 0; dj < 3; dj++) s += cnnK.w[c * 9 + di * 3 + dj]! * x[(i + di) * 8 + j + dj]!;
          conv[c * 36 + i * 6 + j] = s > 0 ? s : 0;
        }
    const pooled = new Float64Array(FEAT);
    const arg = new Int32Array(FEAT);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          let best = -Infinity,
            bi = 0;
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++) {
              const k = c * 36 + (2 * i + di) * 6 + 2 * j + dj;
              if (conv[k]! > best) {
                best = conv[k]!;
                bi = k;
              }
            }
          pooled[c * 9 + i * 3 + j] = best;
          arg[c * 9 + i * 3 + j] = bi;
        }
    const logits = denseF(cnnW, cnnB, pooled, FEAT, 10);
    return {
      logits,
      back(dz) {
        const dp = denseB(cnnW, cnnB, pooled, dz, FEAT, 10);
        const dconv = new Float64Array(C * 36);
        for (let k = 0; k < FEAT; k++) dconv[arg[k]!] = dconv[arg[k]!]! + dp[k]!;
        for (let c = 0; c < C; c++)
          for (let i = 0; i < 6; i++)
            for (let j = 0; j < 6; j++) {
              const k = c * 36 + i * 6 + j;
              if (conv[k]! <= 0) continue;
              const d = dconv[k]!;
              cnnKb.g[c] = cnnKb.g[c]! + d;
              for (let di = 0; di < 3; di++)
                for (let dj = 0; dj < 3; dj++)
                  cnnK.g[c * 9 + di * 3 + dj] = cnnK.g[c * 9 + di * 3 + dj]! + d * x[(i + di) * 8 + j + dj]!;
            }
      },
    };
  },
};

trainModel(mlp, 60, 0.005, 32, "mlp");
trainModel(cnn, 60, 0.005, 32, "cnn");

// ---------- export (input normalisation x/16 folded into the first layer) ----------
const f32 = (a: ArrayLike<number>, scale = 1) => Array.from(a, (v) => Math.fround(v * scale));
mkdirSync(resolve(ROOT, "models"), { recursive: true });

const argmaxNode = (input: string): NodeProtoObj => ({
  op_type: "ArgMax",
  name: "argmax",
  input: [input],
  output: ["label"],
  attribute: [attrInt("axis", 1), attrInt("keepdims", 0)],
});

const mlpGraph = {
  name: "digits_mlp",
  node: [
    {
      op_type: "Gemm",
      name: "fc1",
      input: ["input", "fc1.weight", "fc1.bias"],
      output: ["h1"],
      attribute: [attrInt("transB", 1)],
    },
    { op_type: "Relu", name: "relu1", input: ["h1"], output: ["a1"] },
    {
      op_type: "Gemm",
      name: "fc2",
      input: ["a1", "fc2.weight", "fc2.bias"],
      output: ["logits"],
      attribute: [attrInt("transB", 1)],
    },
    argmaxNode("logits"),
  ],
  initializer: [
    makeTensor("fc1.weight", [H, 64], DataType.FLOAT, f32(mlpW1.w, 1 / 16)),
    makeTensor("fc1.bias", [H], DataType.FLOAT, f32(mlpB1.w)),
    makeTensor("fc2.weight", [10, H], DataType.FLOAT, f32(mlpW2.w)),
    makeTensor("fc2.bias", [10], DataType.FLOAT, f32(mlpB2.w)),
  ],
  input: [valueInfo("input", DataType.FLOAT, [1, 64])],
  output: [valueInfo("label", DataType.INT64, [1])],
};
const cnnGraph = {
  name: "digits_cnn",
  node: [
    {
      op_type: "Conv",
      name: "conv1",
      input: ["input", "conv1.weight", "conv1.bias"],
      output: ["c1"],
      attribute: [attrInts("kernel_shape", [3, 3]), attrInts("strides", [1, 1]), attrInts("pads", [0, 0, 0, 0])],
    },
    { op_type: "Relu", name: "relu1", input: ["c1"], output: ["r1"] },
    {
      op_type: "MaxPool",
      name: "pool1",
      input: ["r1"],
      output: ["p1"],
      attribute: [attrInts("kernel_shape", [2, 2]), attrInts("strides", [2, 2])],
    },
    { op_type: "Flatten", name: "flatten", input: ["p1"], output: ["f1"], attribute: [attrInt("axis", 1)] },
    { op_type: "MatMul", name: "fc.matmul", input: ["f1", "fc.weight_t"], output: ["mm"] },
    { op_type: "Add", name: "fc.add", input: ["mm", "fc.bias"], output: ["logits"] },
    argmaxNode("logits"),
  ],
  initializer: [
    makeTensor("conv1.weight", [C, 1, 3, 3], DataType.FLOAT, f32(cnnK.w, 1 / 16)),
    makeTensor("conv1.bias", [C], DataType.FLOAT, f32(cnnKb.w)),
    // MatMul form: weight stored transposed [in, out]
    makeTensor(
      "fc.weight_t",
      [FEAT, 10],
      DataType.FLOAT,
      f32(Array.from({ length: FEAT * 10 }, (_, k) => cnnW.w[(k % 10) * FEAT + Math.floor(k / 10)]!)),
    ),
    makeTensor("fc.bias", [10], DataType.FLOAT, f32(cnnB.w)),
  ],
  input: [valueInfo("input", DataType.FLOAT, [1, 1, 8, 8])],
  output: [valueInfo("label", DataType.INT64, [1])],
};

const mlpBytes = encodeModel(makeModel(mlpGraph, 13));
const cnnBytes = encodeModel(makeModel(cnnGraph, 13));
writeFileSync(resolve(ROOT, "models/digits-mlp.onnx"), mlpBytes);
writeFileSync(resolve(ROOT, "models/digits-cnn.onnx"), cnnBytes);

// ---------- check: onnxruntime-node agrees with the TS forward pass ----------
async function checkOrt(bytes: Uint8Array, model: Model, shape: number[], name: string): Promise<number> {
  const sess = await ort.InferenceSession.create(bytes);
  let agree = 0,
    correct = 0;
  for (const s of test) {
    const out = await sess.run({ input: new ort.Tensor("float32", Float32Array.from(s.x), shape) });
    const label = Number((out.label!.data as BigInt64Array)[0]);
    if (label === argmax(model.forward(Float64Array.from(s.x, (v) => v / 16)).logits)) agree++;
    if (label === s.y) correct++;
  }
  await sess.release();
  console.log(
    `${name}: onnxruntime accuracy ${((100 * correct) / test.length).toFixed(2)}%, agreement with TS ${agree}/${test.length}`,
  );
  if (agree < test.length - 1) throw new Error(`${name}: onnxruntime disagrees with the TS forward pass`);
  return correct / test.length;
}
await checkOrt(mlpBytes, mlp, [1, 64], "digits-mlp");
await checkOrt(cnnBytes, cnn, [1, 1, 8, 8], "digits-cnn");
console.log(`wrote models/digits-mlp.onnx (${mlpBytes.length} B), models/digits-cnn.onnx (${cnnBytes.length} B)`);
