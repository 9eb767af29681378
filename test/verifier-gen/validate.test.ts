// A model owner's integer graph must be one that every executor, the on-chain one-step included, computes
// identically, or an honest operator serving it loses disputes (audit: a bias of 2^53 that float64 rounds,
// a shift of 200 the chain calls malformed). The validator names the node and op of every problem, and the
// operator refuses such a build before serving it.
import { cp, mkdtemp, rm, writeFile, copyFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { hexlify, keccak256 } from "ethers";
import { runInt, type IntGraph, type IntNode } from "../../verifier-gen/src/intgraph.js";
import { decodeOutput, encodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { IntOnnxRunner, emitIntOnnx } from "../../verifier-gen/src/intonnx.js";
import { SamplingExecutor } from "../../operator/src/executors/sampling.js";
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
    [
      "wine_probs",
      "a softmax whose input can leave its exponential table",
      (g) => {
        const sm = nodeOf(g, "softmax");
        sm.hi = sm.lo + 3;
        sm.exp = sm.exp.slice(0, 4);
      },
      /beyond the table's/,
    ],
    [
      "wine_probs",
      "a function table narrower than its input's range",
      (g) => {
        const lut = nodeOf(g, "lut");
        lut.lo += 10;
        lut.table = lut.table.slice(10);
      },
      /beyond the table's/,
    ],
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
  it("the sampling executor computes the committed graph, whatever model.int.onnx the build ships", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "veriml-int-onnx-"));
    try {
      await cp("models/build/iris_mlp", dir, { recursive: true });
      // A shipped integer ONNX of another model: the executor must not use it.
      await copyFile("models/build/diabetes_relu/model.int.onnx", path.join(dir, "model.int.onnx"));
      const executor = await SamplingExecutor.create(dir, `0x${"11".repeat(32)}`, pino({ level: "silent" }));
      try {
        const g = load("iris_mlp");
        const q = [5, -3, 40, -127];
        const input = encodeInputBytes(g, q);
        const out = await executor.infer({
          requestId: 1n,
          input: hexlify(input),
          inputHash: keccak256(input),
          inputURI: "",
        });
        expect(decodeOutput(out).map(Number)).to.deep.equal(runInt(g, q).output);
      } finally {
        await executor.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the int64 ONNX spreads a constant with inner > 1 as the interpreter does", async () => {
    const g: IntGraph = {
      format: "veriml-intgraph",
      version: 1,
      name: "inner",
      bits: 8,
      input: { shape: [1, 8], scale: 1, lo: -127, hi: 127 },
      nodes: [{ op: "affine", name: "a", shape: [1, 8], input: 0, mul: [1, 10], add: [0, 100], inner: 2 }],
      output: { kind: "tensor", tensor: 1, logits: 1, scale: [1] },
    };
    expect(graphIssues(g)).to.deep.equal([]);
    const runner = await IntOnnxRunner.create(g, emitIntOnnx(g));
    try {
      const x = [1, 2, 3, 4, 5, 6, 7, -1];
      expect((await runner.run(x)).output).to.deep.equal(runInt(g, x).output);
      expect(runInt(g, x).output).to.deep.equal([1, 2, 130, 140, 5, 6, 170, 90]);
    } finally {
      await runner.release();
    }
  });

  // From an attacker's review: a crafted graph the executors must still agree on, or that validation refuses.
  const single = (node: IntNode, shape: number[], lo: number, hi: number): IntGraph => ({
    format: "veriml-intgraph",
    version: 1,
    name: node.name,
    bits: 8,
    input: { shape, scale: 1, lo, hi },
    nodes: [node],
    output: { kind: "tensor", tensor: 1, logits: 1, scale: [1], meaning: "values" },
  });

  it("the int64 ONNX clamps values between 2^31 and 2^32 as the interpreter does (onnxruntime's int64 Max/Min do not)", async () => {
    const graphs = [
      single(
        { op: "requant", name: "rq", shape: [1, 4], input: 0, mult: [2 ** 30], shift: [5], lo: -127, hi: 127 },
        [1, 4],
        -127,
        127,
      ),
      single(
        {
          op: "normalize",
          name: "nm",
          shape: [1, 2, 4],
          input: 0,
          n: 4,
          center: true,
          eps: 27,
          R: 15,
          mult: 19574977,
          shift: 7,
          lo: -76,
          hi: 190,
        },
        [1, 2, 4],
        -3,
        14,
      ),
    ];
    const inputs = [
      [100, 1, 2, 3],
      [14, 6, 6, 14, 14, 4, -3, 4],
    ];
    for (const [k, g] of graphs.entries()) {
      expect(graphIssues(g)).to.deep.equal([]);
      const runner = await IntOnnxRunner.create(g, emitIntOnnx(g));
      try {
        expect((await runner.run(inputs[k]!)).output, g.name).to.deep.equal(runInt(g, inputs[k]!).output);
      } finally {
        await runner.release();
      }
    }
  });

  it("refuses negative multipliers (ranges, circuit widths and the int64 ONNX's offsets assume q grows with x)", () => {
    const rq = single(
      { op: "requant", name: "rq", shape: [1, 2], input: 0, mult: [-1], shift: [1], lo: -127, hi: 127 },
      [1, 2],
      -1000,
      0,
    );
    expect(graphIssues(rq).map((i) => i.reason)).to.include("a negative multiplier");
    const nm = single(
      {
        op: "normalize",
        name: "nm",
        shape: [1, 4],
        input: 0,
        n: 4,
        center: true,
        eps: 1,
        R: 12,
        mult: -3,
        shift: 5,
        lo: -127,
        hi: 127,
      },
      [1, 4],
      -8,
      8,
    );
    expect(
      graphIssues(nm)
        .map((i) => i.reason)
        .join(),
    ).to.match(/mult and shift/);
    const lk = single({ op: "leakyrelu", name: "lk", shape: [1, 2], input: 0, mult: -2, shift: 3 }, [1, 2], -8, 8);
    expect(graphIssues(lk).map((i) => i.reason)).to.include("a negative multiplier");
  });

  it("commits no table whose length is not its range's (the one-step would read past it)", () => {
    const g = single({ op: "lut", name: "t", shape: [1, 2], input: 0, lo: -2, hi: 2, table: [1, 2, 3] }, [1, 2], -2, 2);
    expect(() => modelCommitment(g)).to.throw(RangeError, /3 table entries for the range \[-2, 2\]/);
  });
});
