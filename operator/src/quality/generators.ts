/**
 * Generator backends for quality-mode models: the worker asks a backend for the response to a prompt.
 *  - `onnx` (default): a model folder run by onnxruntime-node. The project's own generators are
 *    answer classifiers (generator.json kind "answer-classifier": vocab.txt, model.onnx taking input_ids
 *    [1, seq] and giving logits over `answers`; the response is the argmax answer).
 *  - `openai`: an OpenAI-compatible HTTP endpoint (POST {baseURL}/chat/completions), what llama.cpp's
 *    server, vLLM and Ollama serve, so a real LLM can be plugged in. Greedy (temperature 0) by default.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { Logger } from "pino";
import { z } from "zod";
import {
  GeneratorBackendSchema,
  OpenAIBackendSchema,
  type GeneratorBackend,
  type OpenAIBackendOptions,
} from "./config.js";
import { ModelLayoutError, QualityRuntimeError } from "./errors.js";
import { WordPieceTokenizer } from "./tokenizer.js";

export interface Generator {
  readonly name: string;
  generate(prompt: string): Promise<string>;
  close(): Promise<void>;
}

const GeneratorJsonSchema = z
  .object({
    kind: z.literal("answer-classifier"),
    answers: z.array(z.string()).min(1),
  })
  .passthrough();

export class OnnxGenerator implements Generator {
  private constructor(
    readonly name: string,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly answers: readonly string[],
    private readonly log: Logger,
  ) {}

  static async load(folder: string, log: Logger): Promise<OnnxGenerator> {
    const specPath = path.join(folder, "generator.json");
    if (!existsSync(specPath)) throw new ModelLayoutError(`${folder} has no generator.json`);
    let spec: z.infer<typeof GeneratorJsonSchema>;
    try {
      spec = GeneratorJsonSchema.parse(JSON.parse(readFileSync(specPath, "utf8")));
    } catch (cause) {
      throw new ModelLayoutError(`${specPath} is not a valid generator spec`, { cause });
    }
    const tokenizer = WordPieceTokenizer.fromFolder(folder);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path.join(folder, "model.onnx"), { intraOpNumThreads: 1 });
    } catch (cause) {
      throw new ModelLayoutError(`onnxruntime cannot load ${folder}/model.onnx`, { cause });
    }
    const name = path.basename(path.resolve(folder));
    return new OnnxGenerator(name, tokenizer, session, spec.answers, log.child({ ns: "generator", name }));
  }

  async generate(prompt: string): Promise<string> {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) throw new QualityRuntimeError("empty prompt");
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      });
    } catch (cause) {
      throw new QualityRuntimeError(`generator ${this.name} failed`, { cause });
    }
    const logits = out[this.session.outputNames[0]!]!.data as Float32Array;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    const response = this.answers[best];
    if (response === undefined) throw new QualityRuntimeError(`generator ${this.name} has no answer ${best}`);
    this.log.debug({ response }, "generated");
    return response;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

const ChatResponseSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

export class OpenAIGenerator implements Generator {
  readonly name: string;
  private readonly options: z.output<typeof OpenAIBackendSchema>;

  constructor(
    options: OpenAIBackendOptions,
    private readonly log: Logger,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.options = OpenAIBackendSchema.parse(options);
    this.name = `openai:${this.options.model}`;
  }

  async generate(prompt: string): Promise<string> {
    const o = this.options;
    const messages = [...(o.system ? [{ role: "system", content: o.system }] : []), { role: "user", content: prompt }];
    let res: Response;
    try {
      res = await this.fetchImpl(`${o.baseURL.replace(/\/$/, "")}/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: o.model, messages, max_tokens: o.maxTokens, temperature: o.temperature }),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (cause) {
      throw new QualityRuntimeError(`${this.name}: endpoint unreachable`, { cause });
    }
    if (!res.ok) throw new QualityRuntimeError(`${this.name}: HTTP ${res.status}`);
    let content: string | null | undefined;
    try {
      content = ChatResponseSchema.parse(await res.json()).choices[0]?.message.content;
    } catch (cause) {
      throw new QualityRuntimeError(`${this.name}: malformed completion`, { cause });
    }
    if (!content) throw new QualityRuntimeError(`${this.name}: empty completion`);
    this.log.debug({ length: content.length }, "generated");
    return content.trim();
  }

  async close(): Promise<void> {}
}

/** Builds the configured backend. */
export async function createGenerator(backend: GeneratorBackend, log: Logger): Promise<Generator> {
  const parsed = GeneratorBackendSchema.parse(backend);
  if (parsed.backend === "onnx") return OnnxGenerator.load(parsed.folder, log);
  const { backend: _b, ...options } = parsed;
  return new OpenAIGenerator(options, log);
}
