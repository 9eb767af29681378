// QualityExecutor: prompts from the request input, responses inline or by hash + file URI.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { AbiCoder, hexlify, keccak256, toUtf8Bytes, toUtf8String } from "ethers";
import { pino } from "pino";
import { BadInputError, ExecutionError } from "../../../operator/src/errors.js";
import { QualityExecutor } from "../../../operator/src/executors/quality.js";
import { OnnxGenerator, type Generator } from "../../../operator/src/quality/generators.js";
import type { Job } from "../../../operator/src/store.js";

const log = pino({ level: "silent" });
const job = (text: string | Uint8Array): Job => {
  const bytes = typeof text === "string" ? toUtf8Bytes(text) : text;
  return { requestId: 1n, input: hexlify(bytes), inputHash: keccak256(bytes), inputURI: "" } as Job;
};

/** A generator that writes a long essay: what an LLM behind the OpenAI backend may return. */
class Essayist implements Generator {
  readonly name = "essayist";
  async generate(prompt: string): Promise<string> {
    return `${prompt} `.repeat(40);
  }
  async close(): Promise<void> {}
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("QualityExecutor", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "veriml-quality-exec-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("submits a short response inline with an empty proof", async () => {
    const gen = await OnnxGenerator.load("models/quality/gen-good", log);
    const exec = new QualityExecutor(gen, { maxInlineBytes: 256 }, log);
    const result = await exec.execute(job("what is 11 + 8 ?"));
    expect(toUtf8String(result.output)).to.equal("19");
    expect(result.proof).to.equal("0x");
    await gen.close();
  });

  it("publishes a long response to a file and submits its hash and URI", async () => {
    const exec = new QualityExecutor(new Essayist(), { maxInlineBytes: 64, responseDir: dir }, log);
    const result = await exec.execute(job("tell me about 2 + 2"));
    const [uri] = AbiCoder.defaultAbiCoder().decode(["string"], result.proof) as unknown as [string];
    const text = await readFile(fileURLToPath(uri));
    expect(keccak256(text)).to.equal(result.output);
    expect(text.length).to.be.greaterThan(64);
    const noDir = new QualityExecutor(new Essayist(), { maxInlineBytes: 64 }, log);
    expect(await failure(noDir.execute(job("tell me about 2 + 2")))).to.be.instanceOf(ExecutionError);
  });

  it("refuses non-UTF-8 prompts, and never claims without a generator", async () => {
    const exec = new QualityExecutor(new Essayist(), { maxInlineBytes: 64 }, log);
    expect(await failure(exec.check(job(Uint8Array.from([0xff, 0xfe, 0x00]))))).to.be.instanceOf(BadInputError);
    const validatorOnly = new QualityExecutor(undefined, { maxInlineBytes: 64 }, log);
    expect(await failure(validatorOnly.check(job("what is 1 + 1 ?")))).to.be.instanceOf(BadInputError);
  });
});
