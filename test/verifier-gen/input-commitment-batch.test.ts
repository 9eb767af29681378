/**
 * Input commitment sha256 for batch builds (issue 14): one proof of k inferences has two public signals, the SHA-256
 * of the k requests' input bytes concatenated in slot order (top 253 bits) and the k outputs packed as one stream.
 * The concatenation splits into slots one way only, because the verifier takes each slot's input at exactly the
 * model's input length: bytes moved across a slot boundary, swapped slots, a changed byte, another output, or a
 * witness that runs one slot's model on other bytes than the hashed ones are all refused.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { ContractFactory, concat, hexlify, type Contract } from "ethers";
import { digitsMlpSha256Build } from "../../scripts/lib/fixtures.js";
import { calculateWitnessBin, compileCircom, witnessValues } from "../../verifier-gen/src/groth16.js";
import { parseSym } from "../../verifier-gen/src/witness.js";
import { decodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import {
  batchRequestCircuitInput,
  circuitWitness,
  loadModelDir,
  loadVerifierArtifact,
  proveBatchRequests,
  terminateSnarkjs,
  verifyProofFile,
  type BatchProofFile,
  type ModelDir,
} from "../../verifier-gen/src/pipeline.js";
import { checkWitness, readR1cs, type R1cs } from "../../verifier-gen/src/r1cs.js";
import { batchPublicSignals, inputHashSignal, publicSignalsFor } from "../../verifier-gen/src/signals.js";

const { ethers } = await network.create();
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };

describe("verifier-gen: input commitment sha256, batch of 2", function () {
  this.timeout(300_000);
  after(terminateSnarkjs);

  let md: ModelDir;
  let r1cs: R1cs;
  let verifier: Contract;
  /** Request bytes of test samples 1 and 2; slot 1 has a raw value past hi (31), which the circuit clamps. */
  let inputs: Uint8Array[];
  let proof: BatchProofFile;

  before(async () => {
    md = loadModelDir(await digitsMlpSha256Build(2));
    r1cs = readR1cs(`${md.dir}/circuit/model.r1cs`);
    const artifact = loadVerifierArtifact(md.dir);
    const [deployer] = await ethers.getSigners();
    const deployed = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer).deploy();
    await deployed.waitForDeployment();
    verifier = deployed as Contract;
    inputs = [Uint8Array.from(testSet.inputs[1]!), Uint8Array.from(testSet.inputs[2]!)];
    inputs[1]![9] = 240;
    proof = await proveBatchRequests(md, inputs);
  });

  const outputsOf = (p: BatchProofFile) => p.decoded.map((d) => d.output);
  const call = (p: BatchProofFile, ins: Uint8Array[], outs: number[][] = outputsOf(p)) =>
    verifier.getFunction("verifyInferences").staticCall(p.calldata.a, p.calldata.b, p.calldata.c, ins, outs);

  it("records two public signals for the whole batch: the input hash and the k labels packed as one stream", () => {
    const m = md.manifest;
    expect(m.inputCommitment).to.equal("sha256");
    expect(m.batch).to.equal(2);
    expect(m.contractName).to.equal("DigitsMlpSha256Batch2Verifier");
    expect(m.publicSignals.map((s) => s.kind)).to.deep.equal(["inputHash", "packed"]);
    expect(m.publicSignals.every((s) => s.slot === undefined)).to.equal(true);
    expect(m.packing!.segments).to.have.length(1);
    expect(m.packing!.segments[0]).to.deep.include({ kind: "label", count: 2 });
    expect(m.modelHash).to.equal(loadModelDir("models/build/digits-mlp").manifest.modelHash);
  });

  it("proves each slot's own bytes: signal 0 hashes both slots' bytes in slot order, the labels the model's", async () => {
    const qs = inputs.map((b) => decodeInputBytes(md.graph, b));
    expect(qs[1]![9]).to.equal(31);
    proof.decoded.forEach((d, s) =>
      expect(d.output).to.deep.equal(Array.from(runInt(md.graph, qs[s]!).tensors.at(-1)!)),
    );
    expect(BigInt(proof.publicSignals[0]!)).to.equal(inputHashSignal(concat(inputs)));
    const slots = qs.map((q, s) => ({ q, output: proof.decoded[s]!.output, input: inputs[s]! }));
    expect(proof.publicSignals.map(BigInt)).to.deep.equal(batchPublicSignals(md.manifest, slots));
    expect(() => batchPublicSignals(md.manifest, [{ q: qs[0]!, output: [1] }])).to.throw(/input bytes/);
    expect(() => publicSignalsFor(md.manifest, qs[0]!, [1], 1, inputs[1])).to.throw(/all its slots/);
    expect(await call(proof, inputs)).to.equal(true);
  });

  it("refuses swapped slots, a changed byte in either slot, and another output", async () => {
    expect(await call(proof, [inputs[1]!, inputs[0]!])).to.equal(false);
    const outs = outputsOf(proof);
    if (outs[0]![0] !== outs[1]![0])
      expect(await call(proof, [inputs[1]!, inputs[0]!], [outs[1]!, outs[0]!])).to.equal(false);
    for (const [slot, k] of [
      [0, 0],
      [0, 63],
      [1, 0],
      [1, 40],
    ] as const) {
      const changed = inputs.map((b) => Uint8Array.from(b));
      changed[slot]![k] = (changed[slot]![k]! + 1) % 256;
      expect(await call(proof, changed)).to.equal(false);
    }
    expect(await call(proof, inputs, [outs[0]!, [(outs[1]![0]! + 1) % 10]])).to.equal(false);
  });

  it("reverts on bytes moved across the slot boundary (the same concatenation), wrong lengths and counts", async () => {
    const all = concat(inputs);
    // Slot 0 one byte short, slot 1 one byte long: the hashed message would be identical.
    const shifted = [all.slice(0, 2 + 63 * 2), `0x${all.slice(2 + 63 * 2)}`];
    expect(concat(shifted)).to.equal(all);
    await expect(call(proof, shifted as unknown as Uint8Array[]))
      .to.be.revertedWithCustomError(verifier, "InputLengthMismatch")
      .withArgs(63, 64);
    await expect(call(proof, [inputs[0]!, Uint8Array.from([...inputs[1]!, 0])]))
      .to.be.revertedWithCustomError(verifier, "InputLengthMismatch")
      .withArgs(65, 64);
    await expect(call(proof, [inputs[0]!]))
      .to.be.revertedWithCustomError(verifier, "BatchSizeMismatch")
      .withArgs(1, 2, 2);
    await expect(call(proof, inputs, [outputsOf(proof)[0]!, [1, 2]]))
      .to.be.revertedWithCustomError(verifier, "OutputLengthMismatch")
      .withArgs(2, 1);
    await expect(call(proof, inputs, [outputsOf(proof)[0]!, [10]]))
      .to.be.revertedWithCustomError(verifier, "ValueOutOfRange")
      .withArgs(0, 10, 0, 9);
    const { a, b, c } = proof.calldata;
    await expect(verifier.getFunction("verifyInference").staticCall(a, b, c, inputs[0]!, [1]))
      .to.be.revertedWithCustomError(verifier, "NotSingleInference")
      .withArgs(2);
    let refused: unknown;
    await proveBatchRequests(md, [inputs[0]!.slice(0, 63), inputs[1]!]).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.match(/63 bytes, the model needs 64/);
  });

  it("the local verify (CLI) checks every slot's bytes against the input signal", async () => {
    const verified = await verifyProofFile(md, proof);
    expect(verified.valid).to.equal(true);
    expect(verified.slots!.map((s) => s.label)).to.deep.equal(proof.decoded.map((d) => d.label));
    const other = inputs.map((b) => hexlify(b));
    other[1] = hexlify(inputs[0]!);
    expect((await verifyProofFile(md, { ...proof, inputs: other })).valid).to.equal(false);
    expect((await verifyProofFile(md, { ...proof, inputs: [hexlify(inputs[0]!)] })).valid).to.equal(false);
    const { inputs: _dropped, ...withoutInputs } = proof;
    expect((await verifyProofFile(md, withoutInputs)).valid).to.equal(false);
  });

  describe("forged witnesses violate the R1CS", () => {
    interface Circuit {
      r1cs: R1cs;
      witnessOf: (ins: Uint8Array[]) => Promise<{ vector: bigint[]; wires: Map<string, number> }>;
    }
    const built = (): Circuit => ({
      r1cs,
      witnessOf: async (ins) => {
        const w = await circuitWitness(md, batchRequestCircuitInput(md, ins));
        return { vector: await w.vector(), wires: w.wires() };
      },
    });
    const mutated = async (edits: [string, string][]): Promise<Circuit> => {
      const dir = mkdtempSync(join(tmpdir(), "vg-sha-batch-mutant-"));
      cpSync(join(md.dir, "circuit"), dir, { recursive: true, filter: (p) => !p.includes("model_js") });
      let source = readFileSync(join(dir, "model.circom"), "utf8");
      for (const [from, to] of edits) {
        expect(source).to.include(from);
        source = source.replace(from, to);
      }
      writeFileSync(join(dir, "model.circom"), source);
      const comp = await compileCircom(dir, "model");
      const wires = parseSym(readFileSync(comp.sym, "utf8"));
      return {
        r1cs: readR1cs(comp.r1cs),
        witnessOf: async (ins) => ({
          vector: await witnessValues(await calculateWitnessBin(comp.wasm, batchRequestCircuitInput(md, ins))),
          wires,
        }),
      };
    };
    /** Whether a wire belongs to the hash of the batch's bytes. */
    const isHash = (name: string) => name.startsWith("main.sha.") || name === "main.pub[0]";
    const splice = (base: bigint[], other: bigint[], wires: Map<string, number>, pick: (name: string) => boolean) => {
      const names = new Map<number, string[]>();
      for (const [name, wire] of wires) names.set(wire, [...(names.get(wire) ?? []), name]);
      const w = [...base];
      for (const [wire, of] of names) if (of.every(pick)) w[wire] = other[wire]!;
      return w;
    };
    /** Slot 1's model run on other bytes than the hashed ones (its x[10] differs), the hash of the real bytes kept. */
    const forgery = async (c: Circuit) => {
      const other = inputs.map((b) => Uint8Array.from(b));
      other[1]![10] = inputs[1]![10] === 0 ? 9 : 0;
      const a = await c.witnessOf(inputs);
      const b = await c.witnessOf(other);
      expect(checkWitness(c.r1cs, a.vector)).to.deep.equal([]);
      const hashKept = splice(b.vector, a.vector, a.wires, isHash);
      expect(hashKept[a.wires.get("main.pub[0]")!]).to.equal(inputHashSignal(concat(inputs)));
      return checkWitness(c.r1cs, hashKept).length === 0;
    };

    it("the honest witness satisfies it; a byte of slot 1 changed alone does not", async () => {
      const honest = await built().witnessOf(inputs);
      expect(checkWitness(r1cs, honest.vector)).to.deep.equal([]);
      const forged = [...honest.vector];
      forged[honest.wires.get("main.xb[1][10]")!]! += 1n;
      expect(checkWitness(r1cs, forged)).to.not.deep.equal([]);
    });

    it("slot 1's model run on other bytes than the hashed ones is refused", async () => {
      expect(await forgery(built())).to.equal(false);
    });

    it("mutation: with slot bytes only assigned (<--) into the hash, the forgery passes", async () => {
      const c = await mutated([
        ["sha.in[512 + i * 8 + j] <== xbr[1][i].bits[7 - j]", "sha.in[512 + i * 8 + j] <-- xbr[1][i].bits[7 - j]"],
      ]);
      expect(await forgery(c)).to.equal(true);
    });
  });
});
