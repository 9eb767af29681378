/**
 * A tiny BERT cross-encoder (BertForSequenceClassification with one logit): embeddings (word + position +
 * token type, layer norm), post-LN encoder layers (multi-head self-attention, GELU feed-forward), tanh
 * pooler on [CLS], linear classifier. The same network three ways: a trainable forward on the autodiff,
 * an ONNX export (opset 17, inputs input_ids / attention_mask / token_type_ids, output logits [batch, 1]),
 * and a loader from that ONNX file (so tests check onnxruntime against this forward).
 */
import {
  DataType,
  attrFloat,
  attrInt,
  attrInts,
  decodeModel,
  encodeModel,
  makeTensor,
  tensorValues,
  valueInfo,
  type NodeProtoObj,
  type TensorProtoObj,
} from "../../verifier-gen/src/onnx/proto.js";
import {
  Mat,
  add,
  concatCols,
  gather,
  gelu,
  layerNorm,
  matmul,
  matmulBT,
  row,
  softmaxRows,
  sliceCols,
  tanh,
} from "./autograd.js";

export interface TinyBertConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

/** Parameter names and shapes, in a fixed order (also the ONNX initializer names). */
export function parameterShapes(cfg: TinyBertConfig): [string, number, number][] {
  const h = cfg.hidden;
  const shapes: [string, number, number][] = [
    ["embeddings.word", cfg.vocabSize, h],
    ["embeddings.position", cfg.maxPositions, h],
    ["embeddings.token_type", cfg.typeVocabSize, h],
    ["embeddings.ln.gamma", 1, h],
    ["embeddings.ln.beta", 1, h],
  ];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layer${l}`;
    for (const w of ["q", "k", "v", "o"]) shapes.push([`${p}.attn.${w}.weight`, h, h], [`${p}.attn.${w}.bias`, 1, h]);
    shapes.push([`${p}.attn.ln.gamma`, 1, h], [`${p}.attn.ln.beta`, 1, h]);
    shapes.push([`${p}.ffn.in.weight`, h, cfg.intermediate], [`${p}.ffn.in.bias`, 1, cfg.intermediate]);
    shapes.push([`${p}.ffn.out.weight`, cfg.intermediate, h], [`${p}.ffn.out.bias`, 1, h]);
    shapes.push([`${p}.ffn.ln.gamma`, 1, h], [`${p}.ffn.ln.beta`, 1, h]);
  }
  shapes.push(["pooler.weight", h, h], ["pooler.bias", 1, h], ["classifier.weight", h, 1], ["classifier.bias", 1, 1]);
  return shapes;
}

export class TinyBert {
  readonly params = new Map<string, Mat>();

  constructor(
    readonly cfg: TinyBertConfig,
    rand?: () => number,
  ) {
    for (const [name, r, c] of parameterShapes(cfg)) {
      const m = new Mat(r, c);
      if (name.endsWith(".gamma")) m.data.fill(1);
      else if (!name.endsWith(".bias") && !name.endsWith(".beta") && rand) {
        const std = name.startsWith("embeddings") ? 0.1 : 1 / Math.sqrt(r);
        for (let i = 0; i < m.data.length; i++) m.data[i] = std * gaussian(rand);
      }
      this.params.set(name, m);
    }
  }

  p(name: string): Mat {
    const m = this.params.get(name);
    if (!m) throw new Error(`no parameter ${name}`);
    return m;
  }

  /** The logit of one unpadded sequence (records on the autodiff tape unless inside noGrad). */
  logit(ids: readonly number[], types: readonly number[]): Mat {
    const cfg = this.cfg;
    const positions = ids.map((_, i) => i);
    let x = add(
      add(gather(this.p("embeddings.word"), ids), gather(this.p("embeddings.position"), positions)),
      gather(this.p("embeddings.token_type"), types),
    );
    x = layerNorm(x, this.p("embeddings.ln.gamma"), this.p("embeddings.ln.beta"), cfg.layerNormEps);
    const d = cfg.hidden / cfg.heads;
    for (let l = 0; l < cfg.layers; l++) {
      const p = `layer${l}`;
      const q = matmul(x, this.p(`${p}.attn.q.weight`), this.p(`${p}.attn.q.bias`));
      const k = matmul(x, this.p(`${p}.attn.k.weight`), this.p(`${p}.attn.k.bias`));
      const v = matmul(x, this.p(`${p}.attn.v.weight`), this.p(`${p}.attn.v.bias`));
      const heads: Mat[] = [];
      for (let h = 0; h < cfg.heads; h++) {
        const qh = sliceCols(q, h * d, (h + 1) * d);
        const kh = sliceCols(k, h * d, (h + 1) * d);
        const vh = sliceCols(v, h * d, (h + 1) * d);
        heads.push(matmul(softmaxRows(matmulBT(qh, kh, 1 / Math.sqrt(d))), vh));
      }
      const attn = matmul(concatCols(heads), this.p(`${p}.attn.o.weight`), this.p(`${p}.attn.o.bias`));
      x = layerNorm(add(x, attn), this.p(`${p}.attn.ln.gamma`), this.p(`${p}.attn.ln.beta`), cfg.layerNormEps);
      const ff = matmul(
        gelu(matmul(x, this.p(`${p}.ffn.in.weight`), this.p(`${p}.ffn.in.bias`))),
        this.p(`${p}.ffn.out.weight`),
        this.p(`${p}.ffn.out.bias`),
      );
      x = layerNorm(add(x, ff), this.p(`${p}.ffn.ln.gamma`), this.p(`${p}.ffn.ln.beta`), cfg.layerNormEps);
    }
    const pooled = tanh(matmul(row(x, 0), this.p("pooler.weight"), this.p("pooler.bias")));
    return matmul(pooled, this.p("classifier.weight"), this.p("classifier.bias"));
  }

  /** ONNX model (opset 17) of the network with dynamic batch and sequence length. */
  toOnnx(docString: string): Uint8Array {
    const cfg = this.cfg;
    const h = cfg.hidden;
    const d = h / cfg.heads;
    const nodes: NodeProtoObj[] = [];
    const inits: TensorProtoObj[] = [];
    for (const [name, r, c] of parameterShapes(cfg)) {
      const m = this.p(name);
      const isVector = r === 1 && !name.startsWith("classifier.weight");
      inits.push(makeTensor(name, isVector ? [c] : [r, c], DataType.FLOAT, m.data));
    }
    const i64 = (name: string, values: number[]) =>
      inits.push(makeTensor(name, [values.length], DataType.INT64, values));
    const f32 = (name: string, value: number) => inits.push(makeTensor(name, [], DataType.FLOAT, [value]));
    i64("c.axis1", [1]);
    i64("c.axes12", [1, 2]);
    i64("c.zero", [0]);
    i64("c.one", [1]);
    i64("c.heads_shape", [0, -1, cfg.heads, d]);
    i64("c.hidden_shape", [0, -1, h]);
    f32("c.f_one", 1);
    f32("c.mask_neg", -10000);
    f32("c.scale", 1 / Math.sqrt(d));
    f32("c.sqrt2", Math.SQRT2);
    f32("c.half", 0.5);
    let n = 0;
    const op = (opType: string, inputs: string[], attribute: NodeProtoObj["attribute"] = [], out?: string): string => {
      const output = out ?? `t${n++}`;
      nodes.push({ op_type: opType, input: inputs, output: [output], name: `${opType}_${n}`, attribute });
      return output;
    };
    // Embeddings. position ids 0..L-1 via Range on the sequence length.
    const shape = op("Shape", ["input_ids"]);
    const seqLen = op("Gather", [shape, "c.one"], [attrInt("axis", 0)]);
    const seqScalar = op("Squeeze", [seqLen, "c.zero"]);
    const zeroScalar = op("Squeeze", ["c.zero", "c.zero"]);
    const oneScalar = op("Squeeze", ["c.one", "c.zero"]);
    const positions = op("Range", [zeroScalar, seqScalar, oneScalar]);
    const word = op("Gather", ["embeddings.word", "input_ids"], [attrInt("axis", 0)]);
    const pos = op("Gather", ["embeddings.position", positions], [attrInt("axis", 0)]);
    const typ = op("Gather", ["embeddings.token_type", "token_type_ids"], [attrInt("axis", 0)]);
    let x = op("Add", [op("Add", [word, pos]), typ]);
    const ln = (input: string, prefix: string) =>
      op(
        "LayerNormalization",
        [input, `${prefix}.gamma`, `${prefix}.beta`],
        [attrInt("axis", -1), attrFloat("epsilon", cfg.layerNormEps)],
      );
    x = ln(x, "embeddings.ln");
    // Additive attention mask [B, 1, 1, L]: 0 for tokens, -10000 for padding.
    const maskF = op("Cast", ["attention_mask"], [attrInt("to", DataType.FLOAT)]);
    const maskBias = op("Unsqueeze", [op("Mul", [op("Sub", ["c.f_one", maskF]), "c.mask_neg"]), "c.axes12"]);
    const linear = (input: string, prefix: string) =>
      op("Add", [op("MatMul", [input, `${prefix}.weight`]), `${prefix}.bias`]);
    const splitHeads = (t: string) =>
      op("Transpose", [op("Reshape", [t, "c.heads_shape"])], [attrInts("perm", [0, 2, 1, 3])]);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `layer${l}`;
      const q = splitHeads(linear(x, `${p}.attn.q`));
      const kT = op(
        "Transpose",
        [op("Reshape", [linear(x, `${p}.attn.k`), "c.heads_shape"])],
        [attrInts("perm", [0, 2, 3, 1])],
      );
      const v = splitHeads(linear(x, `${p}.attn.v`));
      const scores = op("Add", [op("Mul", [op("MatMul", [q, kT]), "c.scale"]), maskBias]);
      const probs = op("Softmax", [scores], [attrInt("axis", -1)]);
      const ctx = op("Reshape", [
        op("Transpose", [op("MatMul", [probs, v])], [attrInts("perm", [0, 2, 1, 3])]),
        "c.hidden_shape",
      ]);
      x = ln(op("Add", [x, linear(ctx, `${p}.attn.o`)]), `${p}.attn.ln`);
      const inner = linear(x, `${p}.ffn.in`);
      const gelu = op("Mul", [
        op("Mul", [inner, "c.half"]),
        op("Add", ["c.f_one", op("Erf", [op("Div", [inner, "c.sqrt2"])])]),
      ]);
      x = ln(op("Add", [x, linear(gelu, `${p}.ffn.out`)]), `${p}.ffn.ln`);
    }
    const cls = op("Gather", [x, "c.zero"], [attrInt("axis", 1)]); // [B, 1, H]
    const clsFlat = op("Squeeze", [cls, "c.axis1"]);
    const pooled = op("Tanh", [linear(clsFlat, "pooler")]);
    op("Add", [op("MatMul", [pooled, "classifier.weight"]), "classifier.bias"], [], "logits");
    return encodeModel({
      ir_version: 8,
      opset_import: [{ domain: "", version: 17 }],
      producer_name: "veriml-train-cross-encoder",
      doc_string: docString,
      graph: {
        name: "tiny-bert-cross-encoder",
        node: nodes,
        initializer: inits,
        input: [
          valueInfo("input_ids", DataType.INT64, ["batch", "sequence"]),
          valueInfo("attention_mask", DataType.INT64, ["batch", "sequence"]),
          valueInfo("token_type_ids", DataType.INT64, ["batch", "sequence"]),
        ],
        output: [valueInfo("logits", DataType.FLOAT, ["batch", 1])],
      },
    });
  }

  /** Loads the weights of a model written by `toOnnx` (float32, as onnxruntime sees them). */
  static fromOnnx(bytes: Uint8Array, cfg: TinyBertConfig): TinyBert {
    const model = new TinyBert(cfg);
    const byName = new Map((decodeModel(bytes).graph?.initializer ?? []).map((t) => [t.name ?? "", t]));
    for (const [name] of parameterShapes(cfg)) {
      const t = byName.get(name);
      if (!t) throw new Error(`ONNX model has no initializer ${name}`);
      model.p(name).data.set(tensorValues(t));
    }
    return model;
  }
}

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
