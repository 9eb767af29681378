// Generator backends: the committed ONNX generators (a good one, a cheap worse one) and the OpenAI-compatible
// HTTP backend against a local server speaking the chat-completions protocol.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { pino } from "pino";
import { allQuestions, isCorrect, prompt, PROMPT_TEMPLATES } from "../../../operator/src/quality/arith.js";
import { QualityRuntimeError } from "../../../operator/src/quality/errors.js";
import { OnnxGenerator, OpenAIGenerator, createGenerator } from "../../../operator/src/quality/generators.js";

const log = pino({ level: "silent" });

async function accuracy(folder: string): Promise<number> {
  const gen = await OnnxGenerator.load(folder, log);
  let right = 0;
  let total = 0;
  for (const q of allQuestions()) {
    for (let t = 0; t < PROMPT_TEMPLATES.length; t += 2) {
      const p = prompt(q, t);
      right += isCorrect(p, await gen.generate(p)) ? 1 : 0;
      total++;
    }
  }
  await gen.close();
  return right / total;
}

describe("generators", function () {
  this.timeout(60_000);

  it("the good ONNX generator answers almost every question right, the cheap one mostly wrong", async () => {
    const good = await accuracy("models/quality/gen-good");
    const cheap = await accuracy("models/quality/gen-cheap");
    expect(good).to.be.at.least(0.95);
    expect(cheap).to.be.at.most(0.4);
  });

  it("is deterministic and reads the prompt through the shared WordPiece vocabulary", async () => {
    const gen = await createGenerator({ backend: "onnx", folder: "models/quality/gen-good" }, log);
    const a = await gen.generate("what is 17 + 15 ?");
    expect(a).to.equal(await gen.generate("what is 17 + 15 ?"));
    expect(a).to.equal("32");
    await gen.close();
  });

  describe("OpenAI-compatible backend", () => {
    let server: Server;
    let baseURL: string;
    const seen: unknown[] = [];
    before(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          const parsed = JSON.parse(body) as { model: string; messages: { role: string; content: string }[] };
          seen.push({ url: req.url, auth: req.headers.authorization, ...parsed });
          const user = parsed.messages.at(-1)!.content;
          if (user.includes("fail")) {
            res.writeHead(500).end("{}");
            return;
          }
          const m = /(\d+) \+ (\d+)/.exec(user);
          const content = m ? ` ${Number(m[1]) + Number(m[2])} ` : "I do not know";
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content } }] }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("posts chat completions and returns the trimmed answer", async () => {
      const gen = new OpenAIGenerator(
        { baseURL, model: "llama-3-8b", apiKey: "k", system: "answer with a number" },
        log,
      );
      expect(await gen.generate("what is 2 + 3 ?")).to.equal("5");
      expect(seen.at(-1)).to.deep.include({ url: "/v1/chat/completions", auth: "Bearer k", model: "llama-3-8b" });
      expect((seen.at(-1) as { messages: unknown[] }).messages).to.have.length(2);
    });

    it("turns HTTP errors and unreachable endpoints into QualityRuntimeError", async () => {
      const gen = new OpenAIGenerator({ baseURL, model: "m" }, log);
      let error: unknown;
      try {
        await gen.generate("please fail");
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(QualityRuntimeError);
      const down = new OpenAIGenerator({ baseURL: "http://127.0.0.1:9/v1", model: "m", timeoutMs: 2000 }, log);
      error = undefined;
      try {
        await down.generate("what is 1 + 1 ?");
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(QualityRuntimeError);
    });
  });
});
