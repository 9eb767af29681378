/**
 * Builds with the direct backend (the default) against the circom backend on the same PyTorch export: the same
 * model, the same public signals and outputs, proofs that verify; and loading a build hashes its integer graph only
 * once per machine.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { leafValues, hashLeaf, merkleLevels, modelCommitment, rootOf, TAG } from "../../verifier-gen/src/merkle.js";
import { build, loadModelDir, proveInput, terminateSnarkjs, verifyProofFile } from "../../verifier-gen/src/pipeline.js";

describe("verifier-gen: build backends and loading", function () {
  this.timeout(600_000);
  const root = mkdtempSync(join(tmpdir(), "vg-pipeline-"));
  const cache = mkdtempSync(join(tmpdir(), "vg-cache-"));
  const saved = process.env.VERIML_CACHE_DIR;
  before(() => (process.env.VERIML_CACHE_DIR = cache));
  after(async () => {
    if (saved === undefined) delete process.env.VERIML_CACHE_DIR;
    else process.env.VERIML_CACHE_DIR = saved;
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
    await terminateSnarkjs();
  });
  const data = loadDataset("models/pytorch/wine_probs.json");
  const common = { model: "models/pytorch/wine_probs.onnx", calibration: "models/pytorch/wine_probs.calib.json" };

  it("direct and circom builds of one export are the same model with the same public signals", async () => {
    const direct = await build({ ...common, out: join(root, "direct"), entropy: "a" });
    const circom = await build({ ...common, out: join(root, "circom"), backend: "circom", entropy: "a" });
    expect(direct.manifest.circuit.backend).to.equal("direct");
    expect(circom.manifest.circuit.backend).to.equal("circom");
    expect(direct.manifest.modelHash).to.equal(circom.manifest.modelHash);
    expect(existsSync(join(root, "direct/circuit/model_js"))).to.equal(false);
    // circom's optimiser removes a few more linear constraints; the direct backend keeps one per dense row.
    expect(direct.manifest.circuit.constraints).to.be.within(
      circom.manifest.circuit.constraints,
      Math.ceil(circom.manifest.circuit.constraints * 1.15),
    );
    const d = loadModelDir(join(root, "direct"));
    const c = loadModelDir(join(root, "circom"));
    for (const x of data.inputs.slice(0, 3)) {
      const pd = await proveInput(d, x);
      const pc = await proveInput(c, x);
      expect(pd.publicSignals).to.deep.equal(pc.publicSignals);
      expect((await verifyProofFile(d, pd)).valid).to.equal(true);
      // A proof of one build is nothing to the other's key (another setup).
      expect((await verifyProofFile(d, { ...pd, proof: pc.proof })).valid).to.equal(false);
    }
  });

  it("loading hashes the integer graph once per machine, and a changed graph is refused all the same", () => {
    const dir = join(root, "direct");
    const md = loadModelDir(dir);
    // The check is recorded under the sha256 of the graph's bytes (the build recorded it already).
    const records = readdirSync(join(cache, "commitments"));
    expect(records.map((r) => readFileSync(join(cache, "commitments", r), "utf8"))).to.include(md.manifest.modelHash);
    const file = join(dir, "intgraph.json");
    const original = readFileSync(file, "utf8");
    try {
      const g = JSON.parse(original);
      g.nodes[0].bias[0] += 1;
      writeFileSync(file, JSON.stringify(g));
      expect(() => loadModelDir(dir)).to.throw(/does not match the manifest modelHash/);
    } finally {
      writeFileSync(file, original);
    }
    expect(() => loadModelDir(dir)).to.not.throw();
  });

  it("the commitment computed on bytes is the tree of merkle.ts's hex primitives", () => {
    const g = loadModelDir(join(root, "direct")).graph;
    const leaves = leafValues(g);
    expect(leaves.length & (leaves.length - 1)).to.not.equal(0); // padded: not a power of two
    expect(modelCommitment(g).paramRoot).to.equal(rootOf(merkleLevels(leaves.map(hashLeaf), TAG.MODEL_NODE)));
  });
});
