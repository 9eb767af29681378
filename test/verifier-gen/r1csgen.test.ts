/**
 * The direct backend (verifier-gen/src/r1csgen.ts): the R1CS written from the gadget plan must accept the honest
 * witness, agree with circom's compilation of the same circuit on every public signal, and refuse every forged hint
 * the soundness suite tries against circom's R1CS; weakened gadgets must let forgeries through (so the search can
 * fail); and its files must be what snarkjs reads.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emitCircom, type CircuitSource } from "../../verifier-gen/src/circom.js";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { importOnnx } from "../../verifier-gen/src/floatgraph.js";
import { GADGETS_CIRCOM } from "../../verifier-gen/src/gadgets.circom.js";
import { calculateWitness, compileCircom, terminateSnarkjs, witnessValues } from "../../verifier-gen/src/groth16.js";
import type { IntGraph } from "../../verifier-gen/src/intgraph.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { quantize, quantizeInput } from "../../verifier-gen/src/quantize.js";
import { checkWitness, readR1cs } from "../../verifier-gen/src/r1cs.js";
import {
  buildConstraintSystem,
  directWitness,
  writeR1cs,
  wtnsBytes,
  type DirectOptions,
} from "../../verifier-gen/src/r1csgen.js";
import { generateSignals } from "../../verifier-gen/src/witness.js";
import { forgeries, satisfied, type Compiled } from "../helpers/forgery.js";
import { activationMlp, miniTransformer, rng, tokenIdsEmbedding } from "../helpers/onnx-models.js";

const test = loadDataset("data/digits-test.json");
const big = (v: number) => BigInt(v);

/** The direct backend's R1CS of a circuit, written to a file and read back, with its witness layout. */
function direct(src: CircuitSource, g: IntGraph, options: DirectOptions = {}): Compiled {
  const nIn = g.input.shape.reduce((a, b) => a * b, 1);
  const inputs = [
    { name: "x", length: nIn },
    ...Object.entries(src.weightInputs).map(([name, v]) => ({ name, length: v.length })),
  ];
  const cs = buildConstraintSystem(src, inputs, options);
  const dir = mkdtempSync(join(tmpdir(), "vg-direct-"));
  try {
    writeR1cs(cs, join(dir, "model.r1cs"));
    return {
      plan: src.plan,
      r1cs: readR1cs(join(dir, "model.r1cs")),
      wires: new Map([...cs.wires].map(([name, wire]) => [`main.${name}`, wire])),
      vector: (values) => directWitness(cs, values),
      ...(options.rangeWidth ? { options: { rangeWidth: options.rangeWidth } } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** circom's witness for the same circuit (compiled into a temporary directory): the reference. */
async function circomWitness(src: CircuitSource, inputs: Record<string, bigint[]>): Promise<bigint[]> {
  const dir = mkdtempSync(join(tmpdir(), "vg-direct-ref-"));
  try {
    writeFileSync(join(dir, "model.circom"), src.main);
    writeFileSync(join(dir, "veriml_gadgets.circom"), GADGETS_CIRCOM);
    const comp = await compileCircom(dir, "model");
    return await calculateWitness(
      comp.wasm,
      Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.map(String)])),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("verifier-gen: direct R1CS backend", function () {
  this.timeout(600_000);
  after(terminateSnarkjs);

  const r = rng(31);
  const synthetic = (onnx: Uint8Array, width: number, scale: number, ids = false) => {
    const fg = importOnnx(onnx);
    const calib = Array.from({ length: 48 }, () =>
      Array.from({ length: width }, () => (ids ? Math.floor((r() + 0.5) * 10) : r() * scale)),
    );
    const g = quantize(fg, calib);
    return { g, x: quantizeInput(g, calib[5]!).map(big) };
  };
  const circuits: { name: string; g: IntGraph; x: bigint[]; limit?: number }[] = [
    ...["digits-mlp", "digits-cnn"].map((m) => {
      const g = loadModelDir(`models/build/${m}`).graph;
      return { name: m, g, x: quantizeInput(g, test.inputs[7]!).map(big), limit: 80 };
    }),
    { name: "tanh/sigmoid tables", ...synthetic(activationMlp(["Tanh", "Sigmoid"], { seed: 5 }), 6, 4) },
    { name: "leaky relu", ...synthetic(activationMlp(["LeakyRelu"], { seed: 6 }), 6, 4) },
    { name: "softmax", ...synthetic(activationMlp(["Tanh"], { head: "Softmax", outputs: 4, seed: 9 }), 6, 4) },
    { name: "causal attention block", ...synthetic(miniTransformer({ causal: true }), 20, 3), limit: 150 },
    { name: "token-id embedding", ...synthetic(tokenIdsEmbedding(), 5, 0, true) },
  ];

  for (const { name, g, x, limit } of circuits) {
    it(`${name}: the honest witness satisfies it, its public signals are circom's, and no forged hint passes`, async () => {
      const src = emitCircom(g);
      const c = direct(src, g);
      const values = generateSignals(src.plan, { x });
      const w = directWitness(buildConstraintSystem(src, [{ name: "x", length: x.length }]), values);
      expect(checkWitness(c.r1cs, w)).to.deep.equal([]);
      const reference = await circomWitness(src, { x });
      const nPub = c.r1cs.nPubOut;
      expect(nPub).to.equal(src.publicSignals.length);
      expect(w.slice(0, 1 + nPub)).to.deep.equal(reference.slice(0, 1 + nPub));
      // A wrong public signal (another output) is refused.
      const tampered = [...w];
      tampered[1] = tampered[1]! + 1n;
      expect(checkWitness(c.r1cs, tampered)).to.not.deep.equal([]);
      expect(forgeries(c, x, limit)).to.deep.equal([]);
    });
  }

  it("a naive build (weights as private inputs) matches circom's public signals", async () => {
    const { g, x } = synthetic(activationMlp(["Relu"], { seed: 3 }), 6, 4);
    const src = emitCircom(g, { naive: true });
    const c = direct(src, g);
    const inputs: Record<string, bigint[]> = { x };
    for (const [k, v] of Object.entries(src.weightInputs)) inputs[k] = v.map(big);
    const values = generateSignals(src.plan, inputs);
    const w = c.vector!(values);
    expect(checkWitness(c.r1cs, w)).to.deep.equal([]);
    const reference = await circomWitness(src, inputs);
    expect(w.slice(0, 1 + c.r1cs.nPubOut)).to.deep.equal(reference.slice(0, 1 + c.r1cs.nPubOut));
    expect(satisfied(c, inputs)).to.equal(true);
  });

  describe("mutation: a weakened gadget lets a forgery through", () => {
    const g = loadModelDir("models/build/digits-mlp").graph;
    const src = emitCircom(g);
    const x = quantizeInput(g, test.inputs[0]!).map(big);

    it("remainder width S + 1: a quotient one too small is accepted", () => {
      const c = direct(src, g, { rangeWidth: (comp, n) => (comp.endsWith(".d.rr") ? n + 1 : n) });
      expect(forgeries(c, x).some((f) => f.endsWith("q-1"))).to.equal(true);
    });

    it("ArgMax range checks of 254 bits: a wrong label is accepted", () => {
      const c = direct(src, g, { rangeWidth: (comp, n) => (/\.ge\[\d+\]$/.test(comp) ? 254 : n) });
      expect(forgeries(c, x).some((f) => f.includes("label"))).to.equal(true);
    });
  });

  it("a dense row is one linear constraint: the weights sit in C only, every product has short factors", () => {
    const { g, x } = synthetic(activationMlp(["Relu"], { inputs: 784, hidden: 24, outputs: 10, seed: 4 }), 784, 2);
    const src = emitCircom(g);
    const c = direct(src, g);
    const values = generateSignals(src.plan, { x });
    expect(checkWitness(c.r1cs, c.vector!(values))).to.deep.equal([]);
    const longest = (k: 0 | 1 | 2) => Math.max(...c.r1cs.constraints.map((abc) => abc[k].length));
    expect(longest(0)).to.be.at.most(5);
    expect(longest(1)).to.be.at.most(5);
    // 784 weights and a bias term, the quotient and the remainder bits: one constraint per row.
    expect(longest(2)).to.be.greaterThan(784);
    const dense = c.r1cs.constraints.filter((abc) => abc[2].length > 784);
    expect(dense).to.have.length(24);
  });

  it("writes the .wtns snarkjs reads", async () => {
    const g = loadModelDir("models/build/digits-mlp").graph;
    const src = emitCircom(g);
    const cs = buildConstraintSystem(src, [{ name: "x", length: 64 }]);
    const w = directWitness(cs, generateSignals(src.plan, { x: quantizeInput(g, test.inputs[3]!).map(big) }));
    expect(await witnessValues(wtnsBytes(w))).to.deep.equal(w);
  });
});
