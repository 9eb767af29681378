/**
 * Trains the two generators the project ships for the addition task and writes them as ONNX models
 * (models/quality/gen-good, models/quality/gen-cheap): a closed-answer classifier over the answer tokens
 * 0..MAX_SUM (the task's answers form a small closed set, so a classifier head is the whole decoder:
 * one forward pass, argmax, the answer text). Architecture: token embeddings of the prompt, mean-pooled,
 * ReLU hidden layer, logits over answers.
 *  - gen-good reads the whole prompt (embedding 32, hidden 64).
 *  - gen-cheap is the cheaper model an operator might quietly serve: it reads only the first 3 tokens of
 *    the prompt (a truncated context) with a smaller network (embedding 8, hidden 16), so it usually
 *    misses the second operand and guesses.
 * Seeded and deterministic: `npx tsx scripts/quality/train-generators.ts`. Needs the cross-encoder's
 * vocab.txt (the generators share its WordPiece vocabulary).
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { MAX_SUM, PROMPT_TEMPLATES, allQuestions, prompt, rng } from "../../operator/src/quality/arith.js";
import { WordPieceTokenizer } from "../../operator/src/quality/tokenizer.js";
import { DataType, attrInt, attrInts, encodeModel, makeTensor, valueInfo } from "../../verifier-gen/src/onnx/proto.js";
import {
  Adam,
  Mat,
  backward,
  concatRows,
  gather,
  matmul,
  meanRows,
  noGrad,
  relu,
  sliceRows,
  softmaxCrossEntropy,
} from "./autograd.js";
import { gaussian } from "./tiny-bert.js";

const log = pino({ base: { app: "train-generators" } });
const { values: args } = parseArgs({
  options: {
    vocab: { type: "string", default: "models/quality/cross-encoder" },
    out: { type: "string", default: "models/quality" },
    seed: { type: "string", default: "11" },
  },
});

interface GeneratorSpec {
  name: string;
  embed: number;
  hidden: number;
  /** Tokens of the prompt the model reads (undefined: all). */
  context?: number;
  steps: number;
}

const SPECS: GeneratorSpec[] = [
  { name: "gen-good", embed: 32, hidden: 64, steps: 3000 },
  { name: "gen-cheap", embed: 8, hidden: 16, context: 3, steps: 1500 },
];

function train(spec: GeneratorSpec, tokenizer: WordPieceTokenizer, seed: number): { params: Mat[]; accuracy: number } {
  const rand = rng(seed);
  const classes = MAX_SUM + 1;
  const init = (r: number, c: number, std: number) => {
    const m = new Mat(r, c);
    for (let i = 0; i < m.data.length; i++) m.data[i] = std * gaussian(rand);
    return m;
  };
  const emb = init(tokenizer.size, spec.embed, 1);
  const w1 = init(spec.embed, spec.hidden, 1 / Math.sqrt(spec.embed));
  const b1 = new Mat(1, spec.hidden);
  const w2 = init(spec.hidden, classes, 1 / Math.sqrt(spec.hidden));
  const b2 = new Mat(1, classes);
  const params = [emb, w1, b1, w2, b2];
  const ids = (text: string) => {
    const all = tokenizer.encode(text);
    return spec.context === undefined ? all : all.slice(0, spec.context);
  };
  const forward = (text: string) => {
    const x = gather(emb, ids(text));
    return matmul(relu(matmul(meanRows(x), w1, b1)), w2, b2);
  };
  const questions = allQuestions();
  const opt = new Adam(params, 0.01);
  for (let step = 1; step <= spec.steps; step++) {
    const batch = Array.from({ length: 32 }, () => {
      const q = questions[Math.floor(rand() * questions.length)]!;
      return { text: prompt(q, Math.floor(rand() * PROMPT_TEMPLATES.length)), target: q.a + q.b };
    });
    const loss = softmaxCrossEntropy(
      concatRows(batch.map((b) => forward(b.text))),
      batch.map((b) => b.target),
    );
    backward(loss);
    opt.step(0.01 * (step > spec.steps * 0.7 ? 0.2 : 1));
  }
  let correct = 0;
  let total = 0;
  noGrad(() => {
    for (const q of questions) {
      for (let t = 0; t < PROMPT_TEMPLATES.length; t++) {
        const logits = forward(prompt(q, t)).data;
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[c]! > logits[best]!) best = c;
        correct += best === q.a + q.b ? 1 : 0;
        total++;
      }
    }
  });
  void sliceRows;
  return { params, accuracy: correct / total };
}

function toOnnx(spec: GeneratorSpec, params: Mat[]): Uint8Array {
  const [emb, w1, b1, w2, b2] = params as [Mat, Mat, Mat, Mat, Mat];
  const inits = [
    makeTensor("embeddings", [emb.rows, emb.cols], DataType.FLOAT, emb.data),
    makeTensor("hidden.weight", [w1.rows, w1.cols], DataType.FLOAT, w1.data),
    makeTensor("hidden.bias", [b1.cols], DataType.FLOAT, b1.data),
    makeTensor("answer.weight", [w2.rows, w2.cols], DataType.FLOAT, w2.data),
    makeTensor("answer.bias", [b2.cols], DataType.FLOAT, b2.data),
  ];
  const nodes = [];
  let ids = "input_ids";
  if (spec.context !== undefined) {
    inits.push(
      makeTensor("ctx.starts", [1], DataType.INT64, [0]),
      makeTensor("ctx.ends", [1], DataType.INT64, [spec.context]),
      makeTensor("ctx.axes", [1], DataType.INT64, [1]),
    );
    nodes.push({
      op_type: "Slice",
      input: [ids, "ctx.starts", "ctx.ends", "ctx.axes"],
      output: ["ids_ctx"],
      name: "context",
    });
    ids = "ids_ctx";
  }
  nodes.push(
    { op_type: "Gather", input: ["embeddings", ids], output: ["tok"], name: "embed", attribute: [attrInt("axis", 0)] },
    {
      op_type: "ReduceMean",
      input: ["tok"],
      output: ["pooled"],
      name: "pool",
      attribute: [attrInts("axes", [1]), attrInt("keepdims", 0)],
    },
    { op_type: "MatMul", input: ["pooled", "hidden.weight"], output: ["h0"], name: "hidden" },
    { op_type: "Add", input: ["h0", "hidden.bias"], output: ["h1"], name: "hidden_bias" },
    { op_type: "Relu", input: ["h1"], output: ["h2"], name: "relu" },
    { op_type: "MatMul", input: ["h2", "answer.weight"], output: ["l0"], name: "answer" },
    { op_type: "Add", input: ["l0", "answer.bias"], output: ["logits"], name: "answer_bias" },
  );
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "veriml-train-generators",
    graph: {
      name: spec.name,
      node: nodes,
      initializer: inits,
      input: [valueInfo("input_ids", DataType.INT64, [1, "sequence"])],
      output: [valueInfo("logits", DataType.FLOAT, [1, MAX_SUM + 1])],
    },
  });
}

function main(): void {
  const tokenizer = WordPieceTokenizer.fromFolder(args.vocab);
  SPECS.forEach((spec, i) => {
    const started = Date.now();
    const { params, accuracy } = train(spec, tokenizer, Number(args.seed) + i);
    const dir = path.join(args.out, spec.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "model.onnx"), toOnnx(spec, params));
    copyFileSync(path.join(args.vocab, "vocab.txt"), path.join(dir, "vocab.txt"));
    copyFileSync(path.join(args.vocab, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
    writeFileSync(
      path.join(dir, "generator.json"),
      JSON.stringify(
        {
          kind: "answer-classifier",
          task: "arith-add",
          answers: Array.from({ length: MAX_SUM + 1 }, (_, c) => String(c)),
          contextTokens: spec.context ?? null,
          embed: spec.embed,
          hidden: spec.hidden,
          trainAccuracy: accuracy,
        },
        null,
        2,
      ) + "\n",
    );
    log.info({ generator: spec.name, accuracy, seconds: (Date.now() - started) / 1000 }, "generator written");
  });
}

main();
