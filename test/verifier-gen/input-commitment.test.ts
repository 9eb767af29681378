/**
 * Input commitment sha256 (issue 14): the proof's input signal is the SHA-256 of the request's input bytes (top 253
 * bits), computed in the circuit from the bytes it decodes and clamps the input from, and on chain by the verifier
 * with the SHA-256 precompile. A proof binds the exact bytes: other bytes (even ones that decode to the same input),
 * a changed byte or another length are refused, and a witness that runs the model on another input than the hashed
 * bytes violates the R1CS. Packed builds are unchanged.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { ContractFactory, hexlify, type Contract } from "ethers";
import { digitsMlpSha256Build } from "../../scripts/lib/fixtures.js";
import { emitCircom } from "../../verifier-gen/src/circom.js";
import { calculateWitnessBin, compileCircom, witnessValues } from "../../verifier-gen/src/groth16.js";
import { parseSym } from "../../verifier-gen/src/witness.js";
import { decodeInputBytes, encodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { InputError } from "../../verifier-gen/src/errors.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import {
  build,
  circuitWitness,
  loadModelDir,
  loadVerifierArtifact,
  proveRequest,
  requestCircuitInput,
  terminateSnarkjs,
  verifierSolidityOptions,
  verifyProofFile,
  type ModelDir,
  type ProofFile,
} from "../../verifier-gen/src/pipeline.js";
import { buildConstraintSystem } from "../../verifier-gen/src/r1csgen.js";
import { checkWitness, readR1cs, type R1cs } from "../../verifier-gen/src/r1cs.js";
import { inputHashSignal, publicSignalsFor } from "../../verifier-gen/src/signals.js";
import { emitSolidityVerifier } from "../../verifier-gen/src/solidity.js";

const { ethers } = await network.create();
const testSet = JSON.parse(readFileSync("data/digits-test.json", "utf8")) as { inputs: number[][]; labels: number[] };

describe("verifier-gen: input commitment sha256", function () {
  this.timeout(300_000);
  after(terminateSnarkjs);

  let md: ModelDir;
  let r1cs: R1cs;
  let verifier: Contract;
  /** Request bytes of test sample 3 with two raw values past hi (31): the circuit clamps them as the verifier does. */
  let bytes: Uint8Array;
  let proof: ProofFile;

  before(async () => {
    md = loadModelDir(await digitsMlpSha256Build());
    r1cs = readR1cs(`${md.dir}/circuit/model.r1cs`);
    const artifact = loadVerifierArtifact(md.dir);
    const [deployer] = await ethers.getSigners();
    const deployed = await new ContractFactory(artifact.abi as object[], artifact.bytecode, deployer).deploy();
    await deployed.waitForDeployment();
    verifier = deployed as Contract;
    bytes = Uint8Array.from(testSet.inputs[3]!);
    bytes[5] = 200;
    bytes[6] = 255;
    proof = await proveRequest(md, bytes);
  });

  const call = (p: ProofFile, input: Uint8Array, output = p.decoded.output) =>
    verifier.getFunction("verifyInference").staticCall(p.calldata.a, p.calldata.b, p.calldata.c, input, output);

  it("records the commitment in the manifest: one input signal, the output packed alone, the circom backend", () => {
    const m = md.manifest;
    expect(m.inputCommitment).to.equal("sha256");
    expect(m.circuit.backend).to.equal("circom");
    expect(m.contractName).to.equal("DigitsMlpSha256Verifier");
    expect(m.publicSignals.map((s) => s.kind)).to.deep.equal(["inputHash", "packed"]);
    expect(m.packing!.segments.map((s) => s.kind)).to.deep.equal(["label"]);
    // The same model: the packed build's commitment.
    expect(m.modelHash).to.equal(loadModelDir("models/build/digits-mlp").manifest.modelHash);
  });

  it("proves the request's own bytes: signal 0 is sha256(bytes) >> 3, the output the model's on the clamped input", async () => {
    const q = decodeInputBytes(md.graph, bytes);
    expect(q[5]).to.equal(31);
    expect(q[6]).to.equal(31);
    expect(proof.decoded.output).to.deep.equal(Array.from(runInt(md.graph, q).tensors.at(-1)!));
    expect(BigInt(proof.publicSignals[0]!)).to.equal(inputHashSignal(bytes));
    expect(BigInt(proof.publicSignals[0]!) < 1n << 253n).to.equal(true);
    expect(proof.publicSignals.map(BigInt)).to.deep.equal(
      publicSignalsFor(md.manifest, q, proof.decoded.output, 0, bytes),
    );
    expect(() => publicSignalsFor(md.manifest, q, proof.decoded.output)).to.throw(/input bytes/);
    expect(await call(proof, bytes)).to.equal(true);
  });

  it("refuses other bytes, even ones that decode to the same input, and a changed byte", async () => {
    // The canonical encoding of the same clamped input: the same model input, other bytes, another hash.
    const canonical = encodeInputBytes(md.graph, decodeInputBytes(md.graph, bytes));
    expect(hexlify(canonical)).to.not.equal(hexlify(bytes));
    expect(await call(proof, canonical)).to.equal(false);
    for (const k of [0, 40, 63]) {
      const changed = Uint8Array.from(bytes);
      changed[k] = (changed[k]! + 1) % 256;
      expect(await call(proof, changed)).to.equal(false);
    }
    // Another output for the same bytes.
    expect(await call(proof, bytes, [(proof.decoded.output[0]! + 1) % 10])).to.equal(false);
  });

  it("reverts on an input of the wrong length, and the prover refuses one", async () => {
    for (const wrong of [bytes.slice(0, 63), Uint8Array.from([...bytes, 0]), new Uint8Array(0)]) {
      await expect(call(proof, wrong))
        .to.be.revertedWithCustomError(verifier, "InputLengthMismatch")
        .withArgs(wrong.length, 64);
    }
    let refused: unknown;
    await proveRequest(md, bytes.slice(0, 63)).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.match(/63 bytes, the model needs 64/);
  });

  it("the local verify (CLI) checks the proof's bytes against its input signal", async () => {
    expect(await verifyProofFile(md, proof)).to.deep.include({ valid: true, label: proof.decoded.label });
    const other = Uint8Array.from(bytes);
    other[0] = 7;
    expect((await verifyProofFile(md, { ...proof, input: hexlify(other) })).valid).to.equal(false);
    const { input: _dropped, ...withoutInput } = proof;
    expect((await verifyProofFile(md, withoutInput)).valid).to.equal(false);
  });

  describe("forged witnesses violate the R1CS", () => {
    /** A compiled circuit of the build: its R1CS and the honest witness of some request bytes, with its wires. */
    interface Circuit {
      r1cs: R1cs;
      witnessOf: (input: Uint8Array) => Promise<{ vector: bigint[]; wires: Map<string, number> }>;
    }
    const built = (): Circuit => ({
      r1cs,
      witnessOf: async (input) => {
        const w = await circuitWitness(md, requestCircuitInput(md, input));
        return { vector: await w.vector(), wires: w.wires() };
      },
    });
    /** The build's circuit source with `edits` applied, compiled by circom into a temporary directory. */
    const mutated = async (edits: [string, string][]): Promise<Circuit> => {
      const dir = mkdtempSync(join(tmpdir(), "vg-sha-mutant-"));
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
        witnessOf: async (input) => ({
          vector: await witnessValues(await calculateWitnessBin(comp.wasm, requestCircuitInput(md, input))),
          wires,
        }),
      };
    };
    const isHash = (name: string) => name.startsWith("main.sha.") || name === "main.pub[0]";
    const isBytes = (name: string) => name.startsWith("main.xb[") || name.startsWith("main.xbr[");
    /** The decoding of the bytes: the clamps of the raw values (x itself is the model's first tensor). */
    const isDecode = (name: string) => name.startsWith("main.xc[");
    /**
     * Wires of `base`, but from `other` each wire all of whose signals `pick` selects (circom merges signals that are
     * equal into one wire: a wire the hash shares with the bytes belongs to both).
     */
    const splice = (base: bigint[], other: bigint[], wires: Map<string, number>, pick: (name: string) => boolean) => {
      const names = new Map<number, string[]>();
      for (const [name, wire] of wires) names.set(wire, [...(names.get(wire) ?? []), name]);
      const w = [...base];
      for (const [wire, of] of names) if (of.every(pick)) w[wire] = other[wire]!;
      return w;
    };
    /**
     * The two forgeries of a model run on other bytes than the hashed ones (x[10] differs): whether each satisfies the
     * circuit's constraints.
     */
    const forgeries = async (c: Circuit) => {
      const other = Uint8Array.from(bytes);
      other[10] = bytes[10] === 0 ? 9 : 0;
      expect(decodeInputBytes(md.graph, other)[10]).to.not.equal(decodeInputBytes(md.graph, bytes)[10]);
      const a = await c.witnessOf(bytes);
      const b = await c.witnessOf(other);
      expect(checkWitness(c.r1cs, a.vector)).to.deep.equal([]);
      // The hash of `bytes` (signal 0 as the verifier computes it) over a model run on `other`.
      const hashKept = splice(b.vector, a.vector, a.wires, isHash);
      expect(hashKept[a.wires.get("main.pub[0]")!]).to.equal(inputHashSignal(bytes));
      // The bytes, their hash and their decoding kept, the model's wires (x and everything after it) from `other`.
      const modelSwapped = splice(a.vector, b.vector, a.wires, (n) => !isHash(n) && !isBytes(n) && !isDecode(n));
      return {
        hashKept: checkWitness(c.r1cs, hashKept).length === 0,
        modelSwapped: checkWitness(c.r1cs, modelSwapped).length === 0,
      };
    };

    it("the honest witness satisfies it; a byte changed alone does not", async () => {
      const honest = await built().witnessOf(bytes);
      expect(checkWitness(r1cs, honest.vector)).to.deep.equal([]);
      const forged = [...honest.vector];
      forged[honest.wires.get("main.xb[10]")!]! += 1n;
      expect(checkWitness(r1cs, forged)).to.not.deep.equal([]);
    });

    it("the model run on other bytes than the hashed ones (x differs) is refused, whichever part is kept", async () => {
      expect(await forgeries(built())).to.deep.equal({ hashKept: false, modelSwapped: false });
    });

    it("mutation: with the hash's input bits and x only assigned (<--), not constrained, both forgeries pass", async () => {
      const c = await mutated([
        ["sha.in[i * 8 + j] <== xbr[i].bits[7 - j]", "sha.in[i * 8 + j] <-- xbr[i].bits[7 - j]"],
        ["x[i] <== xc[i].out", "x[i] <-- xc[i].out"],
      ]);
      expect(await forgeries(c)).to.deep.equal({ hashKept: true, modelSwapped: true });
    });
  });

  describe("what the option refuses, and what it leaves unchanged", () => {
    it("the direct backend and naive baselines", async () => {
      let refused: unknown;
      await build({
        model: "models/digits-mlp.onnx",
        calibration: "data/digits-calibration.json",
        out: `${md.dir}-never`,
        inputCommitment: "sha256",
        backend: "direct",
      }).catch((e: unknown) => (refused = e));
      expect(refused).to.be.instanceOf(InputError);
      expect(String(refused)).to.match(/--backend circom/);
      const g = md.graph;
      expect(() => emitCircom(g, { inputCommitment: "sha256", naive: true })).to.throw(InputError, /naive/);
      const src = emitCircom(g, { inputCommitment: "sha256" });
      expect(() => buildConstraintSystem(src, [{ name: "xb", length: 64 }])).to.throw(InputError, /--backend circom/);
    });

    it("packed builds: circuit and verifier byte for byte as committed", () => {
      for (const b of ["digits-mlp", "digits-cnn", "iris_mlp", "diabetes_relu"]) {
        const packed = loadModelDir(`models/build/${b}`);
        expect(packed.manifest.inputCommitment).to.equal(undefined);
        expect(emitCircom(packed.graph).main).to.equal(readFileSync(`models/build/${b}/circuit/model.circom`, "utf8"));
        expect(emitSolidityVerifier(packed.vkey, verifierSolidityOptions(packed.manifest))).to.equal(
          readFileSync(`models/build/${b}/${packed.manifest.contractName}.sol`, "utf8"),
        );
      }
    });
  });
});
