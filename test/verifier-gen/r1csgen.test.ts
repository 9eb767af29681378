/**
 * The direct backend (verifier-gen/src/r1csgen.ts): the R1CS written from the gadget plan must accept the honest
 * witness, agree with circom's compilation of the same circuit on every public signal, and refuse every forged hint
 * the soundness suite tries against circom's R1CS; weakened gadgets must let forgeries through (so the search can
 * fail); and its files must be what snarkjs reads.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emitCircom, type CircuitSource } from "../../verifier-gen/src/circom.js";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { IntegrityError } from "../../verifier-gen/src/errors.js";
import { importOnnx } from "../../verifier-gen/src/floatgraph.js";
import { GADGETS_CIRCOM } from "../../verifier-gen/src/gadgets.circom.js";
import {
  calculateWitness,
  compileCircom,
  SNARK_SCALAR_FIELD,
  terminateSnarkjs,
  witnessValues,
} from "../../verifier-gen/src/groth16.js";
import { runInt, type IntGraph } from "../../verifier-gen/src/intgraph.js";
import { pack } from "../../verifier-gen/src/packing.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { quantize, quantizeInput } from "../../verifier-gen/src/quantize.js";
import { checkWitness, readR1cs, type R1cs } from "../../verifier-gen/src/r1cs.js";
import {
  buildConstraintSystem,
  directWitness,
  writeR1cs,
  wtnsBytes,
  type DirectOptions,
} from "../../verifier-gen/src/r1csgen.js";
import { generateSignals, parseSym } from "../../verifier-gen/src/witness.js";
import { compareWithCircom } from "../helpers/equivalence.js";
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

/** circom's compilation of the same circuit (in a temporary directory): its R1CS, .sym and witness, the reference. */
async function circomReference(
  src: CircuitSource,
  inputs: Record<string, bigint[]>,
): Promise<{ r1cs: R1cs; sym: Map<string, number>; witness: bigint[] }> {
  const dir = mkdtempSync(join(tmpdir(), "vg-direct-ref-"));
  try {
    writeFileSync(join(dir, "model.circom"), src.main);
    writeFileSync(join(dir, "veriml_gadgets.circom"), GADGETS_CIRCOM);
    const comp = await compileCircom(dir, "model");
    const witness = await calculateWitness(
      comp.wasm,
      Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.map(String)])),
    );
    return { r1cs: readR1cs(comp.r1cs), sym: parseSym(readFileSync(comp.sym, "utf8")), witness };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The direct backend's system of a circuit compared with circom's (test/helpers/equivalence.ts). */
const differences = (
  src: CircuitSource,
  inputs: { name: string; length: number }[],
  ref: { r1cs: R1cs; sym: Map<string, number> },
  options: DirectOptions = {},
) => compareWithCircom(buildConstraintSystem(src, inputs, { ...options, keepAliases: true }), ref.r1cs, ref.sym);

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
      const ref = await circomReference(src, { x });
      const reference = ref.witness;
      // The same constraint system as circom's, up to the linear substitutions: the same solutions.
      expect(differences(src, [{ name: "x", length: x.length }], ref)).to.deep.equal([]);
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
    const ref = await circomReference(src, inputs);
    const reference = ref.witness;
    expect(
      differences(
        src,
        [
          { name: "x", length: x.length },
          ...Object.entries(src.weightInputs).map(([name, v]) => ({ name, length: v.length })),
        ],
        ref,
      ),
    ).to.deep.equal([]);
    expect(w.slice(0, 1 + c.r1cs.nPubOut)).to.deep.equal(reference.slice(0, 1 + c.r1cs.nPubOut));
    expect(satisfied(c, inputs)).to.equal(true);
  });

  it("a batch circuit (slot inputs x[s]) is circom's constraint system too, with circom's public signals", async () => {
    const { g, x } = synthetic(activationMlp(["Tanh"], { head: "Softmax", outputs: 4, seed: 11 }), 6, 4);
    const x1 = x.map((v) => -v);
    const src = emitCircom(g, { batch: 2 });
    const inputs = [
      { name: "x[0]", length: x.length },
      { name: "x[1]", length: x.length },
    ];
    const cs = buildConstraintSystem(src, inputs);
    const w = directWitness(cs, generateSignals(src.plan, { "x[0]": x, "x[1]": x1 }));
    const ref = await circomReference(src, { x: [...x, ...x1] });
    expect(cs.nPubOut).to.equal(ref.r1cs.nPubOut);
    expect(w.slice(0, 1 + cs.nPubOut)).to.deep.equal(ref.witness.slice(0, 1 + cs.nPubOut));
    expect(differences(src, inputs, ref)).to.deep.equal([]);
  });

  it("a single-value input range pins the input (x[i] === lo): no wrong label with the right public signals", async () => {
    // Input range [0, 0]: circom's source says x[i] === 0, so every input bit of the packing is 0. Without that
    // constraint in the plan the direct R1CS leaves x free: x = [1, -2, 0] packs to 8 * 1 + 4 * (-2) + 0 = 0 as
    // well, moves logit 1 above logit 0 and proves label 1 for the input [0, 0, 0], whose label is 0.
    const g: IntGraph = {
      format: "veriml-intgraph",
      version: 1,
      name: "constant-input",
      bits: 8,
      input: { shape: [1, 3], scale: 1, lo: 0, hi: 0 },
      nodes: [
        { name: "fc", op: "dense", input: 0, inF: 3, outF: 2, shape: [1, 2], weight: [0, 0, 0, 1, 0, 0], bias: [0, 0] },
        { name: "label", op: "argmax", input: 1, shape: [1] },
      ],
      output: { kind: "argmax", tensor: 2, logits: 1, scale: [1] },
    };
    expect(runInt(g, [0, 0, 0]).output[0]).to.equal(0);
    const src = emitCircom(g);
    const c = direct(src, g);
    const honest = c.vector!(generateSignals(src.plan, { x: [0n, 0n, 0n] }));
    expect(checkWitness(c.r1cs, honest)).to.deep.equal([]);
    const values = generateSignals(src.plan, { x: [1n, SNARK_SCALAR_FIELD - 2n, 0n] });
    const forged = c.vector!(values);
    expect(values.get("main.am2.out")).to.equal(1n);
    // The forged public signals are exactly the packing of the honest input with the wrong label.
    expect(forged.slice(1, 1 + c.r1cs.nPubOut)).to.deep.equal(pack(src.packing!, [[0, 0, 0], [1]]));
    expect(checkWitness(c.r1cs, forged)).to.not.deep.equal([]);
    // circom's R1CS of the same source refuses it too, and agrees with the direct one on the honest input.
    const ref = await circomReference(src, { x: [0n, 0n, 0n] });
    expect(honest.slice(0, 1 + c.r1cs.nPubOut)).to.deep.equal(ref.witness.slice(0, 1 + c.r1cs.nPubOut));
    expect(differences(src, [{ name: "x", length: 3 }], ref)).to.deep.equal([]);
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

    it("the comparison with circom's constraint system finds one remainder bit too many, or one input check too few", async () => {
      const ref = await circomReference(src, { x });
      const inputs = [{ name: "x", length: x.length }];
      expect(differences(src, inputs, ref)).to.deep.equal([]);
      const wide = differences(src, inputs, ref, { rangeWidth: (comp, n) => (comp === "rq2[3].d.rr" ? n + 1 : n) });
      expect(wide[0]).to.equal("direct has 1678 free wires, circom 1677");
      const dropped = {
        ...src,
        plan: src.plan.filter((call) => !(call.kind === "RangeBits" && call.name === "xr[5]")),
      };
      const loose = differences(dropped, inputs, ref);
      expect(loose[0]).to.match(/^circom wire \d+ has no signal of the same name in the direct system$/);
      const narrow = differences(src, inputs, ref, { rangeWidth: (comp, n) => (comp === "xr[5]" ? n - 1 : n) });
      expect(narrow.length).to.be.greaterThan(0);
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

  it("refuses a range check of 254 bits (every field element decomposes), accepts 253", () => {
    const check = (n: number) => ({
      plan: [{ kind: "RangeBits" as const, name: "r", n, input: { t: new Map([["x[0]", 1n]]), c: 0n } }],
      publicSignals: [],
    });
    expect(buildConstraintSystem(check(253), [{ name: "x", length: 1 }]).constraints).to.have.length(254);
    expect(() => buildConstraintSystem(check(254), [{ name: "x", length: 1 }])).to.throw(IntegrityError, /254 bits/);
  });

  it("writes the .wtns snarkjs reads", async () => {
    const g = loadModelDir("models/build/digits-mlp").graph;
    const src = emitCircom(g);
    const cs = buildConstraintSystem(src, [{ name: "x", length: 64 }]);
    const w = directWitness(cs, generateSignals(src.plan, { x: quantizeInput(g, test.inputs[3]!).map(big) }));
    expect(await witnessValues(wtnsBytes(w))).to.deep.equal(w);
  });
});
