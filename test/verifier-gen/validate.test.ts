// A model owner's integer graph must be one that every executor, the on-chain one-step included, computes
// identically, or an honest operator serving it loses disputes (audit: a bias of 2^53 that float64 rounds,
// a shift of 200 the chain calls malformed). The validator names the node and op of every problem, and the
// operator refuses such a build before serving it.
import { mkdtemp, rm, writeFile, copyFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { IntGraph, IntNode } from "../../verifier-gen/src/intgraph.js";
import { modelCommitment } from "../../verifier-gen/src/merkle.js";
import { graphIssues } from "../../verifier-gen/src/validate.js";
import { OptimisticExecutor } from "../../operator/src/executors/optimistic.js";
import { ConfigError } from "../../operator/src/errors.js";
import { pino } from "pino";

const load = (m: string): IntGraph => JSON.parse(readFileSync(`models/build/${m}/intgraph.json`, "utf8")) as IntGraph;
const clone = (g: IntGraph): IntGraph => structuredClone(g);
const nodeOf = <K extends IntNode["op"]>(g: IntGraph, op: K) =>
  g.nodes.find((n) => n.op === op) as Extract<IntNode, { op: K }>;
const poolOf = (g: IntGraph) =>
  g.nodes.find((n) => n.op === "maxpool" || n.op === "sumpool") as Extract<IntNode, { op: "maxpool" | "sumpool" }>;

describe("verifier-gen: graphs every executor computes alike", () => {
  it("the committed digits graphs pass", () => {
    expect(graphIssues(load("digits-mlp"))).to.deep.equal([]);
    expect(graphIssues(load("digits-cnn"))).to.deep.equal([]);
  });

  const cases: [string, string, (g: IntGraph) => void, RegExp][] = [
    ["digits-mlp", "a bias float64 cannot hold exactly (2^53)", (g) => (nodeOf(g, "dense").bias[0] = 2 ** 53), /bias/],
    ["digits-mlp", "a parameter of 2^64", (g) => (nodeOf(g, "dense").weight[3] = 2 ** 64), /weight/],
    ["digits-mlp", "a shift the chain calls malformed (200)", (g) => (nodeOf(g, "requant").shift[0] = 200), /shift/],
    ["digits-mlp", "a negative shift", (g) => (nodeOf(g, "requant").shift[0] = -1), /shift/],
    [
      "digits-mlp",
      "sums beyond 2^53 (huge weights)",
      (g) => {
        const d = nodeOf(g, "dense");
        d.weight = d.weight.map(() => 2 ** 50);
      },
      /2\^(31|53)/,
    ],
    ["digits-mlp", "dims that do not match the tensors", (g) => (nodeOf(g, "dense").inF = 63), /dims/],
    ["digits-mlp", "a node reading a later tensor", (g) => ((g.nodes[0] as { input: number }).input = 3), /earlier/],
    ["digits-mlp", "an argmax with two outputs", (g) => (nodeOf(g, "argmax").shape = [1, 2]), /argmax|sizes/],
    ["digits-cnn", "a pool changing its channel count", (g) => (poolOf(g).outShape[0] += 1), /geometry|channels/],
    [
      "digits-cnn",
      "a pooling window entirely in the padding",
      (g) => {
        const p = poolOf(g);
        p.pads = [p.kernel[0], p.kernel[1], 0, 0];
      },
      /padding/,
    ],
    ["digits-cnn", "a zero stride", (g) => (nodeOf(g, "conv2d").strides = [0, 1]), /stride/],
  ];
  for (const [model, what, change, reason] of cases) {
    it(`names the node and op of ${what}`, () => {
      const g = clone(load(model));
      change(g);
      const issues = graphIssues(g);
      expect(issues.length, JSON.stringify(issues)).to.be.greaterThan(0);
      expect(issues.map((i) => i.reason).join(" | ")).to.match(reason);
    });
  }

  it("an operator refuses to serve a build whose graph the chain would judge differently", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "veriml-bad-graph-"));
    try {
      const g = clone(load("digits-mlp"));
      nodeOf(g, "requant").shift[0] = 200;
      const manifest = JSON.parse(readFileSync("models/build/digits-mlp/manifest.json", "utf8")) as Record<
        string,
        unknown
      >;
      // The owner registers exactly this graph: its hash matches, so only the validation can refuse it.
      manifest.modelHash = modelCommitment(g).modelHash;
      await writeFile(path.join(dir, "intgraph.json"), JSON.stringify(g));
      await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
      await copyFile("models/build/digits-mlp/model.int.onnx", path.join(dir, "model.int.onnx"));
      expect(() => new OptimisticExecutor(dir, pino({ level: "silent" })))
        .to.throw(ConfigError)
        .with.property("message")
        .that.matches(/node \d+ \(requant\): shift/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
