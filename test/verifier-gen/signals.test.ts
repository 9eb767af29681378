// The public signals of a proof derived from the input and the settled output alone (what the web app's
// "verify this proof yourself" and the CLI compute) are the prover's, and a verification key is bound to
// the verifier contract that embeds it.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import * as snarkjs from "snarkjs";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { interfaceOf, quantizeFloatInput } from "../../verifier-gen/src/interface.js";
import { loadModelDir, proveQuantized, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { publicSignalsFor } from "../../verifier-gen/src/signals.js";
import { keyConstantsInCode, type VerificationKeyConstants } from "../../verifier-gen/src/vkbinding.js";

const BUILDS = ["models/build/digits-mlp", "models/build/iris_mlp"];

describe("verifier-gen: public signals and the key's binding to its verifier", function () {
  this.timeout(60_000);
  after(terminateSnarkjs);

  for (const dir of BUILDS) {
    it(`${dir}: the signals from the input and the output are the prover's, and only they verify`, async () => {
      const md = loadModelDir(dir);
      const data = dir.includes("digits")
        ? (JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] })
        : (JSON.parse(readFileSync("models/pytorch/iris_mlp.json", "utf8")) as { inputs: number[][] });
      const { q } = quantizeFloatInput(interfaceOf(md.manifest), data.inputs[3]!);
      const output = Array.from(runInt(md.graph, q).tensors.at(-1)!);
      const proved = await proveQuantized(md, q);
      const signals = publicSignalsFor(md.manifest, q, output);
      expect(signals.map(String)).to.deep.equal(proved.publicSignals);
      expect(await snarkjs.groth16.verify(md.vkey, signals.map(String), proved.proof)).to.equal(true);
      // Another output (the next label, or one logit off) is other signals, which the proof does not verify.
      const other = output.map((v, i) => (i === 0 ? (v + 1) % (md.manifest.output.hi + 1) : v));
      const wrong = publicSignalsFor(md.manifest, q, other);
      expect(wrong.map(String)).to.not.deep.equal(proved.publicSignals);
      expect(await snarkjs.groth16.verify(md.vkey, wrong.map(String), proved.proof)).to.equal(false);
    });
  }

  it("finds every constant of a build's key in its own verifier's code, and none of another build's", () => {
    const key = (dir: string) =>
      JSON.parse(readFileSync(`${dir}/verification_key.json`, "utf8")) as VerificationKeyConstants;
    const code = (dir: string) =>
      (JSON.parse(readFileSync(`${dir}/verifier.json`, "utf8")) as { deployedBytecode: string }).deployedBytecode;
    for (const dir of BUILDS) {
      const { found, total } = keyConstantsInCode(key(dir), code(dir));
      expect(found, dir).to.equal(total);
      expect(total, dir).to.be.greaterThan(10);
    }
    const cross = keyConstantsInCode(key("models/build/iris_mlp"), code("models/build/digits-mlp"));
    // The curve's fixed points (gamma is the G2 generator in snarkjs keys) are shared; the key's own are not.
    expect(cross.found).to.be.lessThan(cross.total);
    expect(cross.found).to.be.at.most(4);
  });
});
