// The committed tiny BERT cross-encoder: onnxruntime agrees with the TypeScript forward pass, it ranks
// held-out answers (questions never seen in training) with AUC >= 0.9, and it scores fast on CPU.
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { auc, isCorrect } from "../../../operator/src/quality/arith.js";
import { CrossEncoder } from "../../../operator/src/quality/evaluator.js";
import { ModelLayoutError } from "../../../operator/src/quality/errors.js";
import { noGrad } from "../../../scripts/quality/autograd.js";
import { TinyBert, type TinyBertConfig } from "../../../scripts/quality/tiny-bert.js";

const FOLDER = "models/quality/cross-encoder";
const log = pino({ level: "silent" });
const heldOut = JSON.parse(readFileSync("data/quality/arith-heldout.json", "utf8")) as {
  examples: { prompt: string; response: string; label: number }[];
};

describe("CrossEncoder (models/quality/cross-encoder)", function () {
  this.timeout(60_000);
  let encoder: CrossEncoder;
  before(async () => {
    encoder = await CrossEncoder.load(FOLDER, log);
  });
  after(async () => encoder.close());

  it("gives the same logits as the TypeScript forward pass, padded in a batch or alone", async () => {
    const config = JSON.parse(readFileSync(path.join(FOLDER, "config.json"), "utf8")) as Record<string, number>;
    const cfg: TinyBertConfig = {
      vocabSize: config.vocab_size!,
      hidden: config.hidden_size!,
      layers: config.num_hidden_layers!,
      heads: config.num_attention_heads!,
      intermediate: config.intermediate_size!,
      maxPositions: config.max_position_embeddings!,
      typeVocabSize: config.type_vocab_size!,
      layerNormEps: config.layer_norm_eps!,
    };
    const reference = TinyBert.fromOnnx(readFileSync(path.join(FOLDER, "model.onnx")), cfg);
    const pairs = heldOut.examples.slice(0, 24);
    const batch = await encoder.scoreBatch(pairs);
    for (let i = 0; i < pairs.length; i++) {
      const enc = encoder.tokenizer.encodePair(pairs[i]!.prompt, pairs[i]!.response, encoder.maxLength);
      const expected = noGrad(() => reference.logit(enc.inputIds, enc.tokenTypeIds).data[0]!);
      const alone = await encoder.score(pairs[i]!.prompt, pairs[i]!.response);
      expect(Math.abs(alone.logit - expected)).to.be.below(1e-4);
      expect(Math.abs(batch[i]!.logit - expected)).to.be.below(1e-4);
    }
  });

  it("separates right from wrong answers to held-out questions: AUC >= 0.9", async () => {
    const scores = (await encoder.scoreBatch(heldOut.examples)).map((s) => s.logit);
    const labels = heldOut.examples.map((e) => e.label);
    for (const e of heldOut.examples.slice(0, 50)) expect(isCorrect(e.prompt, e.response)).to.equal(e.label === 1);
    const value = auc(scores, labels);
    expect(value).to.be.at.least(0.9);
  });

  it("scores one pair in well under 50 ms on CPU (median)", async () => {
    const times: number[] = [];
    for (const e of heldOut.examples.slice(0, 40)) {
      const t = performance.now();
      const s = await encoder.score(e.prompt, e.response);
      times.push(performance.now() - t);
      expect(s.score).to.be.within(0, 10_000);
    }
    times.sort((a, b) => a - b);
    expect(times[20]!).to.be.below(50);
  });

  it("loads the exported-hub layout (onnx/model.onnx) and refuses a folder without a model", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ce-"));
    try {
      cpSync(FOLDER, dir, { recursive: true });
      expect(await failure(CrossEncoder.load(path.join(dir, "missing"), log))).to.be.instanceOf(ModelLayoutError);
      rmSync(path.join(dir, "model.onnx"));
      expect(await failure(CrossEncoder.load(dir, log))).to.be.instanceOf(ModelLayoutError);
      cpSync(path.join(FOLDER, "model.onnx"), path.join(dir, "onnx", "model.onnx"));
      const hub = await CrossEncoder.load(dir, log);
      const e = heldOut.examples[0]!;
      const diff = (await hub.score(e.prompt, e.response)).logit - (await encoder.score(e.prompt, e.response)).logit;
      expect(Math.abs(diff)).to.be.below(1e-6);
      await hub.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
