/**
 * Cross-encoder evaluator: scores (prompt, response) pairs with a model in the standard cross-encoder
 * layout, run by onnxruntime-node:
 *
 *   folder/
 *     config.json            BERT config (max_position_embeddings, num_labels, ...)
 *     vocab.txt              WordPiece vocabulary (tokenizer_config.json optional: do_lower_case, ...)
 *     model.onnx             inputs input_ids / attention_mask / token_type_ids (int64 [batch, seq]),
 *                            output logits [batch, 1] (relevance logit) or [batch, 2] (softmax, label 1)
 *                            (also found as onnx/model.onnx, the layout of exported hub models)
 *
 * The score is sigmoid(logit) (or the label-1 probability) in basis points, 0..10000, the scale the
 * QualityModule's threshold uses. Inputs the model does not declare (some exports drop token_type_ids)
 * are not fed.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { Logger } from "pino";
import { z } from "zod";
import { ModelLayoutError, QualityRuntimeError } from "./errors.js";
import { WordPieceTokenizer } from "./tokenizer.js";

const ConfigSchema = z
  .object({
    max_position_embeddings: z.number().int().positive().optional(),
    num_labels: z.number().int().positive().optional(),
    model_type: z.string().optional(),
  })
  .passthrough();

export interface CrossEncoderOptions {
  /** Longest pair in tokens (default: config max_position_embeddings, at most 512). */
  maxLength?: number;
  /** onnxruntime intra-op threads (default 1: validators score one pair at a time). */
  threads?: number;
}

export interface PairScore {
  logit: number;
  /** 0..10000 */
  score: number;
}

export class CrossEncoder {
  private constructor(
    readonly folder: string,
    readonly tokenizer: WordPieceTokenizer,
    private readonly session: ort.InferenceSession,
    readonly maxLength: number,
    private readonly log: Logger,
  ) {}

  static async load(folder: string, log: Logger, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
    const configPath = path.join(folder, "config.json");
    if (!existsSync(configPath)) throw new ModelLayoutError(`${folder} has no config.json`);
    let config: z.infer<typeof ConfigSchema>;
    try {
      config = ConfigSchema.parse(JSON.parse(readFileSync(configPath, "utf8")));
    } catch (cause) {
      throw new ModelLayoutError(`${configPath} is not a valid model config`, { cause });
    }
    const modelPath = [path.join(folder, "model.onnx"), path.join(folder, "onnx", "model.onnx")].find((p) =>
      existsSync(p),
    );
    if (modelPath === undefined) throw new ModelLayoutError(`${folder} has no model.onnx (nor onnx/model.onnx)`);
    const tokenizer = WordPieceTokenizer.fromFolder(folder);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
      });
    } catch (cause) {
      throw new ModelLayoutError(`onnxruntime cannot load ${modelPath}`, { cause });
    }
    for (const name of ["input_ids", "attention_mask"]) {
      if (!session.inputNames.includes(name)) throw new ModelLayoutError(`${modelPath} has no input ${name}`);
    }
    const maxLength = Math.min(options.maxLength ?? config.max_position_embeddings ?? 512, 512);
    const child = log.child({ ns: "cross-encoder" });
    child.info({ folder, inputs: session.inputNames, outputs: session.outputNames, maxLength }, "cross-encoder loaded");
    return new CrossEncoder(folder, tokenizer, session, maxLength, child);
  }

  /** Scores a batch of pairs (padded to the longest). */
  async scoreBatch(pairs: readonly { prompt: string; response: string }[]): Promise<PairScore[]> {
    if (pairs.length === 0) return [];
    const encoded = pairs.map((p) => this.tokenizer.encodePair(p.prompt, p.response, this.maxLength));
    const { length, pairs: padded } = this.tokenizer.padBatch(encoded);
    const dims = [pairs.length, length];
    const tensor = (key: "inputIds" | "attentionMask" | "tokenTypeIds") =>
      new ort.Tensor("int64", BigInt64Array.from(padded.flatMap((p) => p[key].map(BigInt))), dims);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: tensor("inputIds"),
      attention_mask: tensor("attentionMask"),
    };
    if (this.session.inputNames.includes("token_type_ids")) feeds.token_type_ids = tensor("tokenTypeIds");
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds);
    } catch (cause) {
      throw new QualityRuntimeError("cross-encoder inference failed", { cause });
    }
    const logits = out[this.session.outputNames.includes("logits") ? "logits" : this.session.outputNames[0]!]!;
    const data = logits.data as Float32Array;
    const perRow = data.length / pairs.length;
    return pairs.map((_, i) => {
      let logit: number;
      let prob: number;
      if (perRow === 1) {
        logit = data[i]!;
        prob = 1 / (1 + Math.exp(-logit));
      } else {
        // Two-class heads: softmax, probability of label 1.
        const a = data[i * perRow]!;
        const b = data[i * perRow + 1]!;
        logit = b - a;
        prob = 1 / (1 + Math.exp(-logit));
      }
      return { logit, score: Math.round(prob * 10_000) };
    });
  }

  async score(prompt: string, response: string): Promise<PairScore> {
    const [s] = await this.scoreBatch([{ prompt, response }]);
    this.log.debug({ score: s!.score }, "scored");
    return s!;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
