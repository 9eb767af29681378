import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { AbiCoder, hexlify, keccak256, toUtf8Bytes } from "ethers";
import type { Logger } from "pino";
import { BadInputError, ExecutionError } from "../errors.js";
import type { Generator } from "../quality/generators.js";
import type { Job } from "../store.js";
import type { ExecutionResult, Executor } from "./executor.js";
import { resolveInput } from "./input.js";

export interface QualityExecutorOptions {
  /** Longest response submitted inline (bytes); longer ones go by hash + URI. */
  maxInlineBytes: number;
  /** Directory long responses are published to (file: URIs). */
  responseDir?: string;
}

/** Longest prompt accepted (bytes). */
const MAX_PROMPT_BYTES = 16_384;

/**
 * Quality mode (PoQ): the request input is a UTF-8 prompt; the generator backend writes the response,
 * which is submitted inline (output = UTF-8 bytes, empty proof) or, when long, published to a file and
 * submitted as output = keccak256(response), proof = abi.encode(uri). Validators score it afterwards.
 */
export class QualityExecutor implements Executor {
  constructor(
    private readonly generator: Generator | undefined,
    private readonly options: QualityExecutorOptions,
    private readonly log: Logger,
  ) {}

  async check(job: Job): Promise<void> {
    // A validator-only process has no generator: it must never claim quality requests.
    if (this.generator === undefined) throw new BadInputError("no generator configured for quality mode");
    await this.prompt(job);
  }

  async execute(job: Job): Promise<ExecutionResult> {
    const generator = this.generator;
    if (generator === undefined) throw new ExecutionError("no generator configured for quality mode");
    const prompt = await this.prompt(job);
    let response: string;
    try {
      response = await generator.generate(prompt);
    } catch (cause) {
      throw new ExecutionError(`generator ${generator.name} failed`, { cause });
    }
    const bytes = toUtf8Bytes(response);
    if (bytes.length === 0) throw new ExecutionError(`generator ${generator.name} gave an empty response`);
    this.log.info({ requestId: job.requestId, bytes: bytes.length }, "response generated");
    if (bytes.length <= this.options.maxInlineBytes) return { output: hexlify(bytes), proof: "0x" };
    if (this.options.responseDir === undefined) {
      throw new ExecutionError(
        `response of ${bytes.length} bytes is too long to submit inline and no responseDir is set`,
      );
    }
    const hash = keccak256(bytes);
    const file = path.resolve(this.options.responseDir, `${hash.slice(2)}.txt`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    const uri = pathToFileURL(file).href;
    return { output: hash, proof: AbiCoder.defaultAbiCoder().encode(["string"], [uri]) };
  }

  private async prompt(job: Job): Promise<string> {
    const bytes = await resolveInput(job);
    if (bytes.length === 0 || bytes.length > MAX_PROMPT_BYTES) {
      throw new BadInputError(`prompt of ${bytes.length} bytes (1..${MAX_PROMPT_BYTES})`);
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new BadInputError("prompt is not UTF-8 text", { cause });
    }
  }
}
