/**
 * The verifier-gen CLI end to end: build (tiny model, local ptau), prove, verify, eval --json,
 * and clear errors (no stack traces) for bad files.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { DataType, attrInt, encodeModel, makeModel, makeTensor, valueInfo } from "../../verifier-gen/src/onnx/proto.js";
import { activationMlp } from "../helpers/onnx-models.js";

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "verifier-gen/cli.ts", ...args], {
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("verifier-gen: CLI", function () {
  this.timeout(600_000);
  const tmp = mkdtempSync(join(tmpdir(), "vg-cli-"));
  const test = loadDataset("data/digits-test.json");
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("prove -> verify with the committed digits MLP build; a tampered proof is INVALID", () => {
    writeFileSync(join(tmp, "input.json"), JSON.stringify({ input: test.inputs[1] }));
    const p = cli(
      "prove",
      "models/build/digits-mlp",
      "--input",
      join(tmp, "input.json"),
      "--out",
      join(tmp, "proof.json"),
    );
    expect(p.code, p.err).to.equal(0);
    expect(p.out).to.contain(`label ${test.labels![1]}`);
    const v = cli("verify", "models/build/digits-mlp", join(tmp, "proof.json"));
    expect(v.code, v.err).to.equal(0);
    expect(v.out).to.match(/^VALID label/);
    const pf = JSON.parse(readFileSync(join(tmp, "proof.json"), "utf8"));
    pf.publicSignals[0] = String((Number(pf.publicSignals[0]) + 1) % 10);
    writeFileSync(join(tmp, "bad.json"), JSON.stringify(pf));
    const b = cli("verify", "models/build/digits-mlp", join(tmp, "bad.json"));
    expect(b.code).to.equal(2);
    expect(b.out).to.match(/^INVALID/);
  });

  it("eval --json prints one JSON object with the required fields", () => {
    writeFileSync(
      join(tmp, "small.json"),
      JSON.stringify({ input_shape: [1, 64], inputs: test.inputs.slice(0, 12), labels: test.labels!.slice(0, 12) }),
    );
    const e = cli(
      "eval",
      "models/build/digits-cnn",
      "--data",
      join(tmp, "small.json"),
      "--json",
      "--prove-samples",
      "1",
      "-q",
    );
    expect(e.code, e.err).to.equal(0);
    const rep = JSON.parse(e.out);
    for (const k of [
      "samples",
      "float_accuracy",
      "quantized_accuracy",
      "agreement",
      "bitexact",
      "constraints",
      "prove_ms_median",
    ]) {
      expect(rep, k).to.have.property(k);
    }
    expect(rep.samples).to.equal(12);
    expect(rep.bitexact).to.equal(true);
  });

  it("eval --json reports each output kind's metrics: MAE for regression, cosine for embeddings", async () => {
    const reg = cli(
      "eval",
      "models/build/diabetes_relu",
      "--data",
      "models/pytorch/diabetes_relu.json",
      "--json",
      "--prove-samples",
      "1",
      "-q",
    );
    expect(reg.code, reg.err).to.equal(0);
    const r = JSON.parse(reg.out);
    expect(r.output_kind).to.equal("values");
    expect(r.agreement).to.equal(null);
    expect(Math.abs(r.mae_float - 54.445)).to.be.lessThan(0.01);
    expect(r.mae_quantized).to.be.a("number");
    expect(r.mae_float_vs_quantized).to.be.greaterThan(0).and.lessThan(r.mae_float);
    expect(r.mean_cosine).to.equal(null);
    // A small embedding model (Tanh features out), built and evaluated as such.
    writeFileSync(join(tmp, "embed.onnx"), activationMlp(["Tanh"], { outputs: 5, seed: 21 }));
    const rows = Array.from({ length: 24 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.sin(i * 11 + k) * 2));
    writeFileSync(join(tmp, "embed.json"), JSON.stringify({ input_shape: [1, 6], inputs: rows }));
    const b = cli(
      "build",
      join(tmp, "embed.onnx"),
      "--calibration",
      join(tmp, "embed.json"),
      "--out",
      join(tmp, "embed"),
      "--output-kind",
      "embedding",
      "-q",
    );
    expect(b.code, b.err).to.equal(0);
    const emb = cli(
      "eval",
      join(tmp, "embed"),
      "--data",
      join(tmp, "embed.json"),
      "--json",
      "--prove-samples",
      "1",
      "-q",
    );
    expect(emb.code, emb.err).to.equal(0);
    const e = JSON.parse(emb.out);
    expect(e.output_kind).to.equal("embedding");
    expect(e.float_accuracy).to.equal(null);
    expect(e.mean_cosine).to.be.greaterThan(0.99);
    expect(e.min_cosine).to.be.greaterThan(0.95).and.at.most(e.mean_cosine);
    expect(e.bitexact).to.equal(true);
  });

  it("build -> prove -> verify for a freshly built tiny model", () => {
    const r = (k: number) => Array.from({ length: k }, (_, i) => Math.sin(i * 12.9898 + k) * 0.8);
    const graph = {
      name: "tiny",
      node: [
        { op_type: "Gemm", name: "fc1", input: ["x", "w1", "b1"], output: ["h"], attribute: [attrInt("transB", 1)] },
        { op_type: "Relu", name: "relu", input: ["h"], output: ["a"] },
        { op_type: "Gemm", name: "fc2", input: ["a", "w2", "b2"], output: ["y"], attribute: [attrInt("transB", 1)] },
        {
          op_type: "ArgMax",
          name: "am",
          input: ["y"],
          output: ["label"],
          attribute: [attrInt("axis", 1), attrInt("keepdims", 0)],
        },
      ],
      initializer: [
        makeTensor("w1", [6, 8], DataType.FLOAT, r(48)),
        makeTensor("b1", [6], DataType.FLOAT, r(6)),
        makeTensor("w2", [3, 6], DataType.FLOAT, r(18)),
        makeTensor("b2", [3], DataType.FLOAT, r(3)),
      ],
      input: [valueInfo("x", DataType.FLOAT, [1, 8])],
      output: [valueInfo("label", DataType.INT64, [1])],
    };
    writeFileSync(join(tmp, "tiny.onnx"), encodeModel(makeModel(graph, 13)));
    const inputs = Array.from({ length: 16 }, (_, k) =>
      Array.from({ length: 8 }, (_, i) => Math.cos(k * 7 + i * 3) * 2),
    );
    writeFileSync(join(tmp, "calib.json"), JSON.stringify({ input_shape: [1, 8], inputs }));
    const b = cli(
      "build",
      join(tmp, "tiny.onnx"),
      "--calibration",
      join(tmp, "calib.json"),
      "--out",
      join(tmp, "tiny"),
    );
    expect(b.code, b.err).to.equal(0);
    expect(b.out).to.contain("modelHash").and.contain("constraints").and.contain("TinyVerifier");
    writeFileSync(join(tmp, "in.json"), JSON.stringify([inputs[3]]));
    expect(
      cli("prove", join(tmp, "tiny"), "--input", join(tmp, "in.json"), "--out", join(tmp, "tp.json")).code,
    ).to.equal(0);
    const v = cli("verify", join(tmp, "tiny"), join(tmp, "tp.json"));
    expect(v.out).to.match(/^VALID/);
  });

  it("build --batch 3 -> prove 3 inputs -> verify shows every slot's label; another count is refused", () => {
    const b = cli(
      "build",
      join(tmp, "tiny.onnx"),
      "--calibration",
      join(tmp, "calib.json"),
      "--out",
      join(tmp, "tiny3"),
      "--batch",
      "3",
    );
    expect(b.code, b.err).to.equal(0);
    expect(b.out)
      .to.contain("TinyBatch3Verifier")
      .and.match(/batch 3: \d+ per inference/);
    const calib = JSON.parse(readFileSync(join(tmp, "calib.json"), "utf8")) as { inputs: number[][] };
    const files = [2, 5, 9].map((k) => {
      const file = join(tmp, `in${k}.json`);
      writeFileSync(file, JSON.stringify([calib.inputs[k]]));
      return file;
    });
    const p = cli("prove", join(tmp, "tiny3"), "--input", ...files, "--out", join(tmp, "tp3.json"));
    expect(p.code, p.err).to.equal(0);
    expect(p.out).to.match(/slot 0: label \d\nslot 1: label \d\nslot 2: label \d/);
    const labels = [...p.out.matchAll(/slot \d: label (\d)/g)].map((m) => m[1]);
    const v = cli("verify", join(tmp, "tiny3"), join(tmp, "tp3.json"));
    expect(v.code, v.err).to.equal(0);
    expect(v.out).to.contain(`VALID labels ${labels.join(", ")}`);
    const short = cli("prove", join(tmp, "tiny3"), "--input", ...files.slice(0, 2));
    expect(short.code).to.equal(1);
    expect(short.err).to.contain("is a batch-3 build: give 3 --input files (one per slot), not 2");
    const naive = cli(
      "build",
      join(tmp, "tiny.onnx"),
      "--calibration",
      join(tmp, "calib.json"),
      "--out",
      join(tmp, "tiny-naive3"),
      "--batch",
      "3",
      "--naive",
    );
    expect(naive.code).to.equal(1);
    expect(naive.err).to.contain("a naive baseline has no batch form");
  });

  it("reports bad files clearly, without a stack trace", () => {
    writeFileSync(join(tmp, "junk.onnx"), "definitely not protobuf");
    const cases = [
      cli("build", join(tmp, "junk.onnx"), "--calibration", "data/digits-calibration.json", "--out", join(tmp, "x")),
      cli(
        "build",
        "models/does-not-exist.onnx",
        "--calibration",
        "data/digits-calibration.json",
        "--out",
        join(tmp, "x"),
      ),
      cli("build", "models/digits-mlp.onnx", "--calibration", join(tmp, "junk.onnx"), "--out", join(tmp, "x")),
      cli("prove", "models/build/digits-mlp", "--input", join(tmp, "small.json").replace("small", "nope")),
      cli("prove", tmp, "--input", join(tmp, "in.json")),
      cli("eval", "models/build/digits-mlp", "--data", join(tmp, "calib.json")),
    ];
    for (const c of cases) {
      expect(c.code).to.equal(1);
      expect(c.err).to.match(/verifier-gen: error: /);
      expect(c.err).to.not.match(/\n\s+at /);
    }
    expect(cases[0]!.err).to.contain("not a valid ONNX");
    expect(cases[5]!.err).to.contain("does not match the model input");
  });
});
