// The generated verifier of a batch circuit (manifest `batch: k`): its public signals are the concatenation
// over its k slots of the single circuit's, each slot packed exactly as verifyInference packs one. Tested before
// any batch circuit exists with a verification key whose toxic waste is known (scripts/lib/forgeable-groth16.ts):
// the verifier runs its real packing, MSM and pairing and accepts a proof only for exactly the signals it
// packs, so a proof made for k copies of the single packing tells whether the Solidity packs the same.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { ContractFactory, Interface, id, type Contract } from "ethers";
import * as snarkjs from "snarkjs";
import { loadModelDir, terminateSnarkjs, verifierSolidityOptions } from "../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import {
  BatchSizeError,
  INFERENCE_VERIFIER_FUNCTIONS,
  INFERENCE_VERIFIER_INTERFACE_ID,
  emitSolidityVerifier,
  signalsPerSlot,
} from "../../verifier-gen/src/solidity.js";
import {
  forgeableBatchVerifier,
  forgeableKey,
  type ForgeableBatchVerifier,
} from "../../scripts/lib/forgeable-groth16.js";

const { ethers } = await network.create();
const MLP = "models/build/digits-mlp";
const md = loadModelDir(MLP);
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][] };
/** Quantized input i of the test set. */
const q = (i: number): number[] => quantizeInput(md.graph, testSet.inputs[i]!);

describe("verifier-gen: batch verifiers (k slots per proof)", function () {
  this.timeout(300_000);
  const built = new Map<number, { v: ForgeableBatchVerifier; contract: Contract }>();
  async function verifierOf(k: number) {
    let entry = built.get(k);
    if (entry === undefined) {
      const v = await forgeableBatchVerifier(md, k);
      const [deployer] = await ethers.getSigners();
      const contract = (await new ContractFactory(
        v.artifact.abi as object[],
        v.artifact.bytecode,
        deployer!,
      ).deploy()) as Contract;
      entry = { v, contract };
      built.set(k, entry);
    }
    return entry;
  }
  after(async () => {
    for (const { v } of built.values()) await v.close();
    await terminateSnarkjs();
  });
  const call = (c: Contract, name: string, ...args: unknown[]) => c.getFunction(name)(...args);

  it("a forged proof of the single circuit's signals verifies under snarkjs too (the helper is a real Groth16 key)", async () => {
    const key = await forgeableKey(md.vkey.nPublic);
    const { v } = await verifierOf(1);
    const signals = v.slot(q(0)).signals;
    const { proof } = key.prove(signals);
    expect(await snarkjs.groth16.verify(key.vk, signals.map(String), proof)).to.equal(true);
    expect(await snarkjs.groth16.verify(key.vk, [signals[0]!, signals[1]! + 1n].map(String), proof)).to.equal(false);
    await key.close();
  });

  for (const k of [1, 4]) {
    it(`k = ${k}: BATCH_SIZE, and a proof of the k slots' single packings, concatenated, verifies`, async () => {
      const { v, contract } = await verifierOf(k);
      expect(await call(contract, "BATCH_SIZE")).to.equal(BigInt(k));
      expect(await call(contract, "NUM_PUBLIC_SIGNALS")).to.equal(BigInt(k * md.vkey.nPublic));
      expect(await call(contract, "MODEL_HASH")).to.equal(md.manifest.modelHash);
      expect(await call(contract, "supportsInterface", INFERENCE_VERIFIER_INTERFACE_ID)).to.equal(true);
      const slots = Array.from({ length: k }, (_, s) => q(s + 3));
      const proof = v.prove(slots);
      const inputs = slots.map((x) => v.slot(x).input);
      const outputs = slots.map((x) => v.slot(x).output);
      // Each slot packs as the single path does: packPublicSignals is the same function.
      for (let s = 0; s < k; s++) {
        const packed = (await call(contract, "packPublicSignals", inputs[s], outputs[s])) as bigint[];
        expect([...packed]).to.deep.equal(v.slot(slots[s]!).signals);
      }
      expect(await call(contract, "verifyInferences", proof.a, proof.b, proof.c, inputs, outputs)).to.equal(true);
      const gas = await contract
        .getFunction("verifyInferences")
        .estimateGas(proof.a, proof.b, proof.c, inputs, outputs);
      console.log(`      verifyInferences gas, k = ${k}: ${gas} (${Number(gas) / k} per inference)`);
      if (k === 1) {
        // The single path and the batch path of a k = 1 verifier accept the same proof.
        expect(await call(contract, "verifyInference", proof.a, proof.b, proof.c, inputs[0], outputs[0])).to.equal(
          true,
        );
      }
    });
  }

  it("k = 4: a proof binds every slot: another output, another input, or two slots swapped do not verify", async () => {
    const { v, contract } = await verifierOf(4);
    const slots = [q(10), q(11), q(12), q(13)];
    const proof = v.prove(slots);
    const inputs = slots.map((x) => v.slot(x).input);
    const outputs = slots.map((x) => v.slot(x).output);
    const verify = (i: string[], o: bigint[][]) => call(contract, "verifyInferences", proof.a, proof.b, proof.c, i, o);
    expect(await verify(inputs, outputs)).to.equal(true);
    for (let s = 0; s < 4; s++) {
      const wrong = outputs.map((o, j) => (j === s ? [(o[0]! + 1n) % 10n] : o));
      expect(await verify(inputs, wrong), `slot ${s} output changed`).to.equal(false);
    }
    const otherInput = inputs.map((x, j) => (j === 2 ? v.slot(q(20)).input : x));
    expect(await verify(otherInput, outputs)).to.equal(false);
    const swap = <T>(xs: T[]) => [xs[1]!, xs[0]!, xs[2]!, xs[3]!];
    // Slots 0 and 1 swapped together are still valid inferences, but not the proved order.
    expect(await verify(swap(inputs), swap(outputs))).to.equal(false);
  });

  it("k = 4: refuses other slot counts, malformed slots, and the single-inference entry point", async () => {
    const { v, contract } = await verifierOf(4);
    const slots = [q(1), q(2), q(3), q(4)];
    const proof = v.prove(slots);
    const inputs = slots.map((x) => v.slot(x).input);
    const outputs = slots.map((x) => v.slot(x).output);
    const verify = (i: string[], o: bigint[][]) => call(contract, "verifyInferences", proof.a, proof.b, proof.c, i, o);
    await expect(verify(inputs.slice(0, 3), outputs.slice(0, 3)))
      .to.be.revertedWithCustomError(contract, "BatchSizeMismatch")
      .withArgs(3n, 3n, 4n);
    await expect(verify([...inputs, inputs[0]!], [...outputs, outputs[0]!]))
      .to.be.revertedWithCustomError(contract, "BatchSizeMismatch")
      .withArgs(5n, 5n, 4n);
    await expect(verify(inputs, outputs.slice(0, 3)))
      .to.be.revertedWithCustomError(contract, "BatchSizeMismatch")
      .withArgs(4n, 3n, 4n);
    await expect(
      verify(
        inputs,
        outputs.map((o, j) => (j === 3 ? [10n] : o)),
      ),
    )
      .to.be.revertedWithCustomError(contract, "ValueOutOfRange")
      .withArgs(0n, 10n, 0n, 9n);
    await expect(
      verify(
        inputs.map((x, j) => (j === 1 ? x.slice(0, -2) : x)),
        outputs,
      ),
    )
      .to.be.revertedWithCustomError(contract, "InputLengthMismatch")
      .withArgs(63n, 64n);
    await expect(call(contract, "verifyInference", proof.a, proof.b, proof.c, inputs[0], outputs[0]))
      .to.be.revertedWithCustomError(contract, "NotSingleInference")
      .withArgs(4n);
  });

  it("the ERC-165 id is IInferenceVerifier's, and a key that does not split into k slots is refused", async () => {
    const artifact = JSON.parse(
      readFileSync("artifacts/contracts/interfaces/IInferenceVerifier.sol/IInferenceVerifier.json", "utf8"),
    ) as { abi: object[] };
    const iface = new Interface(artifact.abi);
    const own = iface.fragments
      .filter((f) => f.type === "function")
      .map((f) => (f as { format(t: string): string }).format("sighash"))
      .filter((f) => f !== "supportsInterface(bytes4)")
      .sort();
    expect(own).to.deep.equal([...INFERENCE_VERIFIER_FUNCTIONS].sort());
    const xor = own.reduce((acc, f) => acc ^ BigInt(id(f).slice(0, 10)), 0n);
    expect(BigInt(INFERENCE_VERIFIER_INTERFACE_ID)).to.equal(xor);
    expect(signalsPerSlot(8, 4)).to.equal(2);
    expect(() => signalsPerSlot(7, 4)).to.throw(BatchSizeError, /7 public signals/);
    expect(() => signalsPerSlot(8, 0)).to.throw(BatchSizeError, /batch size 0/);
    expect(() => emitSolidityVerifier(md.vkey, { ...verifierSolidityOptions(md.manifest), batch: 3 })).to.throw(
      BatchSizeError,
    );
  });
});
