// Long setup steps report their progress with an estimate, and stop reporting when done.
import { expect } from "chai";
import { estimatedPtauSeconds, withProgress } from "../../verifier-gen/src/groth16.js";
import type { Logger } from "../../verifier-gen/src/logger.js";

describe("verifier-gen: setup progress", () => {
  it("logs elapsed and estimated time while the work runs, nothing after", async () => {
    const lines: string[] = [];
    const push = ((a: unknown, b?: string) => lines.push(typeof a === "string" ? a : (b ?? ""))) as Logger["info"];
    const logger: Logger = { info: push, warn: push, debug: push, error: push };
    const result = await withProgress(
      logger,
      "powers-of-tau 2^14",
      600,
      () => new Promise((r) => setTimeout(() => r(7), 130)),
      40,
    );
    expect(result).to.equal(7);
    expect(lines.length).to.be.within(2, 4);
    expect(lines[0]).to.match(/^powers-of-tau 2\^14: \d+ s of about 600 s \(\d+ s left\)$/);
    const seen = lines.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(lines.length).to.equal(seen);
    expect(estimatedPtauSeconds(12)).to.equal(185);
    expect(estimatedPtauSeconds(14)).to.be.within(560, 640);
  });
});
