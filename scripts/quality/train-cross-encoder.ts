/**
 * Trains the project's tiny BERT cross-encoder on the synthetic addition task and writes it in the standard
 * cross-encoder layout (models/quality/cross-encoder: config.json, vocab.txt, tokenizer_config.json,
 * model.onnx), plus the held-out evaluation set (data/quality/arith-heldout.json). Seeded and
 * deterministic: `npx tsx scripts/quality/train-cross-encoder.ts [--steps N] [--out DIR]`.
 * Training data never contains a held-out question (split by unordered operand pair, see isHeldOut).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import {
  ANSWER_TEMPLATES,
  MAX_SUM,
  PROMPT_TEMPLATES,
  allQuestions,
  answer,
  auc,
  isHeldOut,
  prompt,
  rng,
  wrongAnswer,
} from "../../operator/src/quality/arith.js";
import { WordPieceTokenizer } from "../../operator/src/quality/tokenizer.js";
import { Adam, backward, bceWithLogits, concatRows, noGrad } from "./autograd.js";
import { TinyBert, type TinyBertConfig } from "./tiny-bert.js";

const log = pino({ base: { app: "train-cross-encoder" } });
const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "3500" },
    batch: { type: "string", default: "32" },
    lr: { type: "string", default: "0.002" },
    seed: { type: "string", default: "7" },
    out: { type: "string", default: "models/quality/cross-encoder" },
    data: { type: "string", default: "data/quality" },
  },
});
const STEPS = Number(args.steps);
const BATCH = Number(args.batch);
const LR = Number(args.lr);
const SEED = Number(args.seed);
const LOG_EVERY = Number(process.env.LOG_EVERY ?? 250);

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** WordPiece vocab from the task's own text: every word of the corpus, plus characters and ## pieces. */
export function buildVocab(): string[] {
  const basic = new WordPieceTokenizer(SPECIALS);
  const words = new Set<string>();
  for (const q of allQuestions()) {
    PROMPT_TEMPLATES.forEach((_, t) => basic.basicTokenize(prompt(q, t)).forEach((w) => words.add(w)));
    for (let c = 0; c <= MAX_SUM; c++) {
      ANSWER_TEMPLATES.forEach((_, t) => basic.basicTokenize(answer(q, c, t)).forEach((w) => words.add(w)));
    }
  }
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789".split("");
  const pieces = [...chars, ...chars.map((c) => `##${c}`), ..."+-=?.,!:;()*/".split("")];
  const vocab = [...SPECIALS];
  for (const t of [...[...words].sort(), ...pieces]) if (!vocab.includes(t)) vocab.push(t);
  return vocab;
}

/**
 * Number tokens start from value features (like sinusoidal position encodings, but of the number's value)
 * in the first dimensions of their embedding, so the network does not have to discover from scratch that
 * "17" lies between "16" and "18"; everything is trained from there.
 */
function initNumberEmbeddings(model: TinyBert, vocab: readonly string[]): void {
  const word = model.p("embeddings.word");
  const h = model.cfg.hidden;
  vocab.forEach((token, id) => {
    if (!/^\d+$/.test(token)) return;
    const v = Number(token) / MAX_SUM;
    const features = [
      v - 0.5,
      Math.cos(Math.PI * v),
      Math.sin(Math.PI * v),
      Math.cos(2 * Math.PI * v),
      Math.sin(2 * Math.PI * v),
    ];
    features.forEach((f, k) => {
      word.data[id * h + k] = f;
    });
  });
}

interface Example {
  prompt: string;
  response: string;
  label: number;
}

function sample(rand: () => number, heldOut: boolean): Example {
  const pool = QUESTIONS.filter((q) => isHeldOut(q) === heldOut);
  const q = pool[Math.floor(rand() * pool.length)]!;
  const label = rand() < 0.5 ? 1 : 0;
  const c = label === 1 ? q.a + q.b : wrongAnswer(q, rand);
  const pt = Math.floor(rand() * PROMPT_TEMPLATES.length);
  const at = Math.floor(rand() * ANSWER_TEMPLATES.length);
  return { prompt: prompt(q, pt), response: answer(q, c, at), label };
}
const QUESTIONS = allQuestions();

function main(): void {
  const vocab = buildVocab();
  const tokenizer = new WordPieceTokenizer(vocab);
  const cfg: TinyBertConfig = {
    vocabSize: vocab.length,
    hidden: 32,
    layers: 2,
    heads: 2,
    intermediate: 64,
    maxPositions: 32,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  };
  const rand = rng(SEED);
  const model = new TinyBert(cfg, rand);
  initNumberEmbeddings(model, vocab);
  const params = [...model.params.values()];
  const opt = new Adam(params, LR, 0.9, 0.999, 1e-8, 0.0);
  const evalRand = rng(SEED + 1000);
  const heldOut: Example[] = Array.from({ length: 2000 }, () => sample(evalRand, true));
  const encode = (e: Example) => tokenizer.encodePair(e.prompt, e.response, cfg.maxPositions);
  const evaluate = (set: Example[]): number => {
    const scores = noGrad(() =>
      set.map((e) => {
        const enc = encode(e);
        return model.logit(enc.inputIds, enc.tokenTypeIds).data[0]!;
      }),
    );
    return auc(
      scores,
      set.map((e) => e.label),
    );
  };

  const started = Date.now();
  let running = 0;
  for (let step = 1; step <= STEPS; step++) {
    const batch = Array.from({ length: BATCH }, () => sample(rand, false));
    const logits = concatRows(
      batch.map((e) => {
        const enc = encode(e);
        return model.logit(enc.inputIds, enc.tokenTypeIds);
      }),
    );
    const loss = bceWithLogits(
      logits,
      batch.map((e) => e.label),
    );
    backward(loss);
    const warm = Math.min(1, step / 200);
    const decay = 0.5 * (1 + Math.cos((Math.PI * step) / STEPS));
    opt.step(LR * warm * (0.05 + 0.95 * decay));
    running = 0.98 * running + 0.02 * loss.data[0]!;
    if (step % LOG_EVERY === 0 || step === STEPS) {
      log.info(
        {
          step,
          loss: Number(running.toFixed(4)),
          heldOutAuc: Number(evaluate(heldOut.slice(0, 500)).toFixed(4)),
          seconds: (Date.now() - started) / 1000,
        },
        "training",
      );
    }
  }
  const heldOutAuc = evaluate(heldOut);
  log.info({ heldOutAuc }, "held-out AUC");

  const out = args.out;
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "vocab.txt"), vocab.join("\n") + "\n");
  writeFileSync(
    path.join(out, "config.json"),
    JSON.stringify(
      {
        architectures: ["BertForSequenceClassification"],
        model_type: "bert",
        vocab_size: cfg.vocabSize,
        hidden_size: cfg.hidden,
        num_hidden_layers: cfg.layers,
        num_attention_heads: cfg.heads,
        intermediate_size: cfg.intermediate,
        hidden_act: "gelu",
        max_position_embeddings: cfg.maxPositions,
        type_vocab_size: cfg.typeVocabSize,
        layer_norm_eps: cfg.layerNormEps,
        num_labels: 1,
        id2label: { "0": "LABEL_0" },
        veriml: { task: "arith-add", seed: SEED, steps: STEPS, batch: BATCH, lr: LR, heldOutAuc },
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(
    path.join(out, "tokenizer_config.json"),
    JSON.stringify(
      {
        tokenizer_class: "BertTokenizer",
        do_lower_case: true,
        model_max_length: cfg.maxPositions,
        unk_token: "[UNK]",
        cls_token: "[CLS]",
        sep_token: "[SEP]",
        pad_token: "[PAD]",
        mask_token: "[MASK]",
      },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(
    path.join(out, "model.onnx"),
    model.toOnnx(`tiny BERT cross-encoder for arith-add, held-out AUC ${heldOutAuc.toFixed(4)}`),
  );
  mkdirSync(args.data, { recursive: true });
  writeFileSync(
    path.join(args.data, "arith-heldout.json"),
    JSON.stringify({ task: "arith-add", seed: SEED + 1000, examples: heldOut }) + "\n",
  );
  log.info({ out, seconds: (Date.now() - started) / 1000 }, "written");
}

main();
