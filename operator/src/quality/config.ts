/** Config schemas of quality mode (no runtime imports, so the operator config can use them). */
import { z } from "zod";

export const OpenAIBackendSchema = z
  .object({
    baseURL: z.string().url(),
    model: z.string().min(1),
    apiKey: z.string().optional(),
    system: z.string().optional(),
    maxTokens: z.number().int().positive().default(256),
    temperature: z.number().min(0).max(2).default(0),
    timeoutMs: z.number().int().positive().default(60_000),
  })
  .strict();
export type OpenAIBackendOptions = z.input<typeof OpenAIBackendSchema>;

/** How the worker generates responses: an ONNX model folder (default) or an OpenAI-compatible endpoint. */
export const GeneratorBackendSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("onnx"), folder: z.string().min(1) }).strict(),
  OpenAIBackendSchema.extend({ backend: z.literal("openai") }).strict(),
]);
export type GeneratorBackend = z.input<typeof GeneratorBackendSchema>;

/** Quality-mode settings of one served model. */
export const QualityModelSchema = z
  .object({
    /** Worker: how responses are generated. */
    generator: GeneratorBackendSchema.optional(),
    /** Validator: the cross-encoder folder (config.json, vocab.txt, model.onnx). */
    crossEncoder: z.string().min(1).optional(),
    /** Worker: responses longer than this (bytes) are written to `responseDir` and submitted by hash + URI;
     * keep it at or below the model's on-chain maxInlineBytes. */
    maxInlineBytes: z.number().int().positive().default(256),
    /** Worker: where long responses are published (file: URIs); validators read them from there. */
    responseDir: z.string().min(1).optional(),
  })
  .strict();
export type QualityModelConfig = z.infer<typeof QualityModelSchema>;
