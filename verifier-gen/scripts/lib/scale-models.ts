/**
 * The models of the scale benchmark: MNIST-shaped (1 x 28 x 28 input) MLPs and CNNs of a given size, written as
 * PyTorch exports them (Gemm with transB, Conv, Relu, Flatten; opset 13) with verifier-gen's own ONNX writer, and
 * a 28 x 28 dataset (the committed 8 x 8 digits, upsampled bilinearly to [0, 1] pixels) to calibrate and prove
 * them with. The weights are seeded pseudo-random (He-scaled, so activations neither vanish nor explode): the
 * benchmark measures what a model of that shape costs to compile, set up and prove, not what it predicts.
 */
import { readFileSync } from "node:fs";
import {
  attrInt,
  attrInts,
  DataType,
  encodeModel,
  makeModel,
  makeTensor,
  valueInfo,
  type NodeProtoObj,
  type TensorProtoObj,
} from "../../src/onnx/proto.js";

/** A deterministic pseudo-random stream in [-0.5, 0.5). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface ScaleModel {
  name: string;
  kind: "mlp" | "cnn";
  params: number;
  onnx: Uint8Array;
}

class GraphWriter {
  readonly nodes: NodeProtoObj[] = [];
  readonly inits: TensorProtoObj[] = [];
  params = 0;
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  /** He-initialised weights of `fanIn` inputs per output. */
  weights(name: string, dims: number[], fanIn: number): string {
    const s = Math.sqrt(6 / fanIn) * 2;
    this.inits.push(
      makeTensor(
        name,
        dims,
        DataType.FLOAT,
        Float32Array.from({ length: prod(dims) }, () => this.r() * s),
      ),
    );
    this.params += prod(dims);
    return name;
  }
  bias(name: string, n: number): string {
    this.inits.push(
      makeTensor(
        name,
        [n],
        DataType.FLOAT,
        Float32Array.from({ length: n }, () => this.r() * 0.1),
      ),
    );
    this.params += n;
    return name;
  }
  node(op: string, name: string, inputs: string[], attribute: NodeProtoObj["attribute"] = []): string {
    this.nodes.push({ op_type: op, name, input: inputs, output: [`${name}_out`], attribute });
    return `${name}_out`;
  }
  gemm(x: string, name: string, inF: number, outF: number): string {
    const w = this.weights(`${name}.weight`, [outF, inF], inF);
    return this.node("Gemm", name, [x, w, this.bias(`${name}.bias`, outF)], [attrInt("transB", 1)]);
  }
  finish(name: string, last: string, input: number[], outputs: number): Uint8Array {
    this.nodes[this.nodes.length - 1]!.output = ["logits"];
    void last;
    return encodeModel(
      makeModel(
        {
          name: "torch_jit",
          node: this.nodes,
          initializer: this.inits,
          input: [valueInfo("input", DataType.FLOAT, input)],
          output: [valueInfo("logits", DataType.FLOAT, [1, outputs])],
        },
        13,
      ),
    );
  }
}

/** 784 -> hidden... -> 10 with ReLU between the layers, input [1, 784] (x.view(1, -1) before the first Linear). */
export function scaleMlp(name: string, hidden: number[], seed = 1): ScaleModel {
  const w = new GraphWriter(seed);
  let x = "input";
  let width = 784;
  hidden.forEach((h, i) => {
    x = w.node("Relu", `relu${i}`, [w.gemm(x, `fc${i}`, width, h)]);
    width = h;
  });
  x = w.gemm(x, `fc${hidden.length}`, width, 10);
  return { name, kind: "mlp", params: w.params, onnx: w.finish(name, x, [1, 784], 10) };
}

/**
 * Conv(1 -> c1, 5x5, stride 2, pad 2) -> ReLU -> Conv(c1 -> c2, 3x3, stride 2, pad 1) -> ReLU -> Flatten ->
 * Linear(c2 * 7 * 7 -> hidden) -> ReLU -> Linear(hidden -> 10), input [1, 1, 28, 28].
 */
export function scaleCnn(name: string, c1: number, c2: number, hidden: number, seed = 2): ScaleModel {
  const w = new GraphWriter(seed);
  const conv = (x: string, n: string, cin: number, cout: number, k: number, stride: number, pad: number) =>
    w.node(
      "Conv",
      n,
      [x, w.weights(`${n}.weight`, [cout, cin, k, k], cin * k * k), w.bias(`${n}.bias`, cout)],
      [attrInts("kernel_shape", [k, k]), attrInts("strides", [stride, stride]), attrInts("pads", [pad, pad, pad, pad])],
    );
  let x = w.node("Relu", "relu0", [conv("input", "conv0", 1, c1, 5, 2, 2)]);
  x = w.node("Relu", "relu1", [conv(x, "conv1", c1, c2, 3, 2, 1)]);
  x = w.node("Flatten", "flatten", [x], [attrInt("axis", 1)]);
  x = w.node("Relu", "relu2", [w.gemm(x, "fc0", c2 * 49, hidden)]);
  x = w.gemm(x, "fc1", hidden, 10);
  return { name, kind: "cnn", params: w.params, onnx: w.finish(name, x, [1, 1, 28, 28], 10) };
}

/**
 * The benchmark's models: MLPs of about 10k, 100k, 300k and 1M parameters, CNNs of about 75k and 300k, and a CNN
 * with a wide first layer whose circuit needs a 2^20 domain (the development setup at that size).
 */
export function scaleModels(): ScaleModel[] {
  return [
    scaleMlp("mlp_10k", [12]),
    scaleMlp("mlp_100k", [128]),
    scaleMlp("mlp_300k", [384]),
    scaleMlp("mlp_1m", [1024, 192]),
    scaleCnn("cnn_75k", 16, 16, 92),
    scaleCnn("cnn_300k", 32, 32, 180),
    scaleCnn("cnn_wide", 80, 32, 180),
  ];
}

/** The committed 8 x 8 digits (values 0-16) upsampled bilinearly to 28 x 28 pixels in [0, 1]. */
export function digits28(
  file: string,
  count: number,
  shape: number[],
): { input_shape: number[]; inputs: number[][]; labels: number[] } {
  const d = JSON.parse(readFileSync(file, "utf8")) as { inputs: number[][]; labels: number[] };
  const up = (img: number[]) => {
    const out: number[] = [];
    for (let i = 0; i < 28; i++)
      for (let j = 0; j < 28; j++) {
        const y = Math.min(7, Math.max(0, ((i + 0.5) * 8) / 28 - 0.5));
        const x = Math.min(7, Math.max(0, ((j + 0.5) * 8) / 28 - 0.5));
        const y0 = Math.floor(y),
          x0 = Math.floor(x);
        const y1 = Math.min(7, y0 + 1),
          x1 = Math.min(7, x0 + 1);
        const fy = y - y0,
          fx = x - x0;
        const v =
          img[y0 * 8 + x0]! * (1 - fy) * (1 - fx) +
          img[y0 * 8 + x1]! * (1 - fy) * fx +
          img[y1 * 8 + x0]! * fy * (1 - fx) +
          img[y1 * 8 + x1]! * fy * fx;
        out.push(Math.round((v / 16) * 255) / 255);
      }
    return out;
  };
  return {
    input_shape: shape,
    inputs: d.inputs.slice(0, count).map(up),
    labels: d.labels.slice(0, count),
  };
}
