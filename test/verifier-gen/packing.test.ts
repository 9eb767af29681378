// The generated verifiers' packPublicSignals (straight-line code, one step per input value, with the clamps a
// byte encoding cannot need left out) against the reference packing (verifier-gen/src/signals.ts) on raw
// bytes at and beyond every range boundary: an unsigned build clamped to [0, 31] and signed ones to [-127, 127].
import { expect } from "chai";
import { ContractFactory } from "ethers";
import { network } from "hardhat";
import { loadModelDir, loadVerifierArtifact } from "../../verifier-gen/src/pipeline.js";
import { publicSignalsFor } from "../../verifier-gen/src/signals.js";

const { ethers } = await network.create();

/** A deterministic byte stream (xorshift), so a failure is reproducible. */
function bytesOf(seed: number, n: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}

for (const dir of ["models/build/digits-mlp", "models/build/iris_mlp", "models/build/diabetes_relu"]) {
  describe(`verifier-gen: on-chain packing of ${dir}`, function () {
    this.timeout(60_000);
    const md = loadModelDir(dir);
    const { lo, hi, encoding } = md.manifest.input;
    const count = md.manifest.input.shape.reduce((a, b) => a * b, 1);
    const value = (b: number) => (encoding.signed && b >= 128 ? b - 256 : b);
    const clamp = (v: number) => Math.min(hi, Math.max(lo, v));

    it("equals the reference packing of the clamped input for boundary and random bytes", async () => {
      expect(encoding.bytes).to.equal(1);
      const [deployer] = await ethers.getSigners();
      const artifact = loadVerifierArtifact(dir);
      const verifier = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer).deploy();
      const edges = [0, 1, lo & 0xff, (lo - 1) & 0xff, hi & 0xff, (hi + 1) & 0xff, 0x7f, 0x80, 0x81, 0xfe, 0xff];
      const cases = [
        Uint8Array.from({ length: count }, (_, i) => edges[i % edges.length]!),
        Uint8Array.from({ length: count }, (_, i) => edges[(i * 7 + 3) % edges.length]!),
        ...[1, 2, 3, 4, 5].map((seed) => bytesOf(seed, count)),
      ];
      const { lo: outLo, hi: outHi } = md.manifest.output;
      const outCount = md.manifest.output.count;
      for (const [n, raw] of cases.entries()) {
        const q = Array.from(raw, (b) => clamp(value(b)));
        const output = Array.from({ length: outCount }, (_, i) => ((i + n) % 2 === 0 ? outLo : outHi));
        const expected = publicSignalsFor(md.manifest, q, output);
        const got = (await verifier.getFunction("packPublicSignals")(raw, output.map(BigInt))) as bigint[];
        expect(got.map(BigInt), `case ${n}`).to.deep.equal(expected);
      }
    });
  });
}
