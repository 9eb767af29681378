import { expect } from "chai";
import { network } from "hardhat";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { SNARK_SCALAR_FIELD } from "../../verifier-gen/src/groth16.js";
import { loadModelDir, proveInput, terminateSnarkjs, type ProofFile } from "../../verifier-gen/src/pipeline.js";

const { ethers } = await network.create();
const test = loadDataset("data/digits-test.json");

function args(pf: ProofFile) {
  return {
    a: pf.calldata.a.map(BigInt),
    b: pf.calldata.b.map((r) => r.map(BigInt)),
    c: pf.calldata.c.map(BigInt),
    pub: pf.calldata.pubSignals.map(BigInt),
  };
}

for (const [model, contract] of [
  ["digits-mlp", "DigitsMlpVerifier"],
  ["digits-cnn", "DigitsCnnVerifier"],
] as const) {
  describe(`verifier-gen: ${contract} (generated Groth16 verifier)`, function () {
    this.timeout(120_000);
    const md = loadModelDir(`models/build/${model}`);
    let pf: ProofFile;
    let verifier: Awaited<ReturnType<typeof ethers.deployContract>>;

    before(async () => {
      pf = await proveInput(md, test.inputs[0]!);
      verifier = await ethers.deployContract(contract);
    });
    after(async () => {
      await terminateSnarkjs();
    });

    const output = (label: bigint | number) => [BigInt(label)];

    it("commits to the model hash of the build", async () => {
      expect(await verifier.getFunction("MODEL_HASH")()).to.equal(md.manifest.modelHash);
      expect(await verifier.getFunction("NUM_PUBLIC_SIGNALS")()).to.equal(BigInt(md.manifest.publicSignals.length));
    });

    it("accepts a valid proof", async () => {
      const { a, b, c, pub } = args(pf);
      expect(pf.decoded.label).to.equal(test.labels![0]);
      expect(await verifier.getFunction("verifyProof")(a, b, c, pub)).to.equal(true);
      const gas = await verifier.getFunction("verifyProof").estimateGas(a, b, c, pub);
      const tx = await verifier.getFunction("verifyProof").send(a, b, c, pub);
      const rc = await tx.wait();
      console.log(`      verifyProof gas: estimate ${gas}, used ${rc!.gasUsed}`);
    });

    it("recomputes the public signals from the raw input bytes and the output (the last tensor)", async () => {
      const { a, b, c, pub } = args(pf);
      const bytes = Uint8Array.from(test.inputs[0]!);
      expect(pf.decoded.output).to.deep.equal([pf.decoded.label]);
      const sig = await verifier.getFunction("packPublicSignals")(bytes, output(pf.decoded.label!));
      expect(sig.map((v: bigint) => v)).to.deep.equal(pub);
      expect(await verifier.getFunction("verifyInference")(a, b, c, bytes, output(pf.decoded.label!))).to.equal(true);
      const other = (pf.decoded.label! + 1) % 10;
      expect(await verifier.getFunction("verifyInference")(a, b, c, bytes, output(other))).to.equal(false);
    });

    it("rejects a changed output (label)", async () => {
      const { a, b, c, pub } = args(pf);
      const bytes = Uint8Array.from(test.inputs[0]!);
      for (let l = 0n; l < 10n; l++) {
        if (l === BigInt(pf.decoded.label!)) continue;
        const other = await verifier.getFunction("packPublicSignals")(bytes, output(l));
        expect(other).to.not.deep.equal(pub);
        expect(await verifier.getFunction("verifyProof")(a, b, c, [...other])).to.equal(false);
      }
      // the label sits in the lowest 4 bits of the last element
      const last = pub.length - 1;
      const tweaked = [...pub];
      tweaked[last] = tweaked[last]! ^ 1n;
      expect(await verifier.getFunction("verifyProof")(a, b, c, tweaked)).to.equal(false);
    });

    it("rejects a changed input", async () => {
      const { a, b, c, pub } = args(pf);
      const changed = [...pub];
      changed[0] = changed[0]! ^ 1n; // flip the lowest bit of pixel 48
      expect(await verifier.getFunction("verifyProof")(a, b, c, changed)).to.equal(false);
      const px = Uint8Array.from(test.inputs[0]!);
      px[10] = (px[10]! + 1) % 17;
      expect(await verifier.getFunction("verifyInference")(a, b, c, px, output(pf.decoded.label!))).to.equal(false);
    });

    it("rejects aliased public signals (value + r) with PublicInputNotInField", async () => {
      const { a, b, c, pub } = args(pf);
      for (let i = 0; i < pub.length; i++) {
        const aliased = [...pub];
        aliased[i] = aliased[i]! + SNARK_SCALAR_FIELD;
        await expect(verifier.getFunction("verifyProof")(a, b, c, aliased))
          .to.be.revertedWithCustomError(verifier, "PublicInputNotInField")
          .withArgs(BigInt(i));
      }
    });

    it("rejects a tampered proof", async () => {
      const { a, b, c, pub } = args(pf);
      expect(await verifier.getFunction("verifyProof")(a, b, [a[0]!, a[1]!], pub)).to.equal(false);
      expect(await verifier.getFunction("verifyProof")(c, b, c, pub)).to.equal(false);
    });

    it("reads input bytes as tensor 0 does (clamped to the model's range) and checks output ranges exactly", async () => {
      const { hi } = md.manifest.input;
      const px = Uint8Array.from(test.inputs[0]!);
      const clamped = Uint8Array.from(px);
      px[3] = 200;
      clamped[3] = hi;
      expect(await verifier.getFunction("packPublicSignals")(px, output(1))).to.deep.equal(
        await verifier.getFunction("packPublicSignals")(clamped, output(1)),
      );
      await expect(verifier.getFunction("packPublicSignals")(px.slice(1), output(1))).to.be.revertedWithCustomError(
        verifier,
        "InputLengthMismatch",
      );
      // The label range is exactly [0, 9]: 10..15 would fit its 4 bits but are refused.
      for (const bad of [10n, 15n, -1n]) {
        await expect(verifier.getFunction("packPublicSignals")(px, [bad]))
          .to.be.revertedWithCustomError(verifier, "ValueOutOfRange")
          .withArgs(0n, bad, 0n, 9n);
      }
      await expect(verifier.getFunction("packPublicSignals")(px, [1n, 2n])).to.be.revertedWithCustomError(
        verifier,
        "OutputLengthMismatch",
      );
    });
  });
}
