/**
 * Circuit soundness with an independent witness generator (verifier-gen/src/witness.ts): every hint a
 * prover chooses (quotients, bit decompositions, ArgMax selectors) is overridden in turn and everything
 * that depends on it is recomputed, so each forged witness is the best a cheating prover could build
 * around that choice. Every one must violate the R1CS, on the digits MLP and CNN. Then mutation tests:
 * weakened gadgets (remainder width S + 1, ArgMax range 254, the tie term dropped) let some forgery
 * through, so this suite would fail for them.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emitCircom, tableSplit, type GadgetCall } from "../../verifier-gen/src/circom.js";
import { digitsMlpBatchBuild } from "../../scripts/lib/fixtures.js";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { GADGETS_CIRCOM } from "../../verifier-gen/src/gadgets.circom.js";
import { calculateWitness, compileCircom, terminateSnarkjs } from "../../verifier-gen/src/groth16.js";
import { runInt, type IntGraph } from "../../verifier-gen/src/intgraph.js";
import { loadModelDir } from "../../verifier-gen/src/pipeline.js";
import { quantize, quantizeInput } from "../../verifier-gen/src/quantize.js";
import { importOnnx } from "../../verifier-gen/src/floatgraph.js";
import { activationMlp, miniTransformer, rng, tokenIdsEmbedding } from "../helpers/onnx-models.js";
import { checkWitness, readR1cs } from "../../verifier-gen/src/r1cs.js";
import { generateSignals, parseSym, witnessVector } from "../../verifier-gen/src/witness.js";
import { forgeries, satisfied, signedOf, type Compiled } from "../helpers/forgery.js";

const test = loadDataset("data/digits-test.json");
const big = (v: number) => BigInt(v);

/** A circuit compiled by circom, with its witness calculator. */
type CircomCompiled = Compiled & { wasm: string };

function compiledBuild(dir: string): CircomCompiled {
  const md = loadModelDir(dir);
  return {
    plan: emitCircom(md.graph).plan,
    r1cs: readR1cs(`${dir}/circuit/model.r1cs`),
    wires: parseSym(readFileSync(`${dir}/circuit/model.sym`, "utf8")),
    wasm: `${dir}/circuit/model_js/model.wasm`,
  };
}

/** Compiles a circuit source with a given gadget library into a temporary directory. */
async function compileWith(main: string, gadgets: string): Promise<CircomCompiled & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "vg-sound-"));
  writeFileSync(join(dir, "model.circom"), main);
  writeFileSync(join(dir, "veriml_gadgets.circom"), gadgets);
  const comp = await compileCircom(dir, "model");
  return {
    dir,
    plan: [],
    r1cs: readR1cs(comp.r1cs),
    wires: parseSym(readFileSync(comp.sym, "utf8")),
    wasm: comp.wasm,
  };
}

describe("verifier-gen: circuit soundness (independent witness generator, forged hints)", function () {
  this.timeout(600_000);
  after(terminateSnarkjs);

  for (const model of ["digits-mlp", "digits-cnn"]) {
    describe(model, () => {
      const dir = `models/build/${model}`;
      const md = loadModelDir(dir);
      const c = compiledBuild(dir);
      const inputs = [0, 7, 42].map((i) => quantizeInput(md.graph, test.inputs[i]!).map(big));

      it("the independent generator reproduces circom's witness exactly on every wire", async () => {
        for (const x of inputs) {
          const ours = witnessVector(generateSignals(c.plan, { x }), c.wires, c.r1cs.nWires);
          const theirs = await calculateWitness(c.wasm, { x: x.map(String) });
          expect(ours).to.deep.equal(theirs);
          expect(checkWitness(c.r1cs, ours)).to.deep.equal([]);
        }
      });

      it("no forged quotient, remainder, clamp branch or label satisfies the constraints", () => {
        for (const x of inputs.slice(0, 2)) {
          const accepted = forgeries(c, x, model === "digits-cnn" ? 120 : Infinity);
          expect(accepted, `forgeries accepted: ${accepted.slice(0, 5).join(", ")}`).to.deep.equal([]);
        }
      });

      it("out-of-range inputs (one past hi or below lo) violate the input range check", () => {
        const x = inputs[0]!;
        const { lo, hi } = md.graph.input;
        for (const bad of [hi + 1, lo - 1]) {
          const forged = [...x];
          forged[3] = BigInt(bad);
          expect(satisfied(c, { x: forged }), `input ${bad}`).to.equal(false);
        }
      });
    });
  }

  describe("exact ranges of signed inputs (item 12)", () => {
    it("a [-127, 127] input accepts 127 and -127 but not 128 (which fits 8 bits above lo)", async () => {
      const g: IntGraph = {
        format: "veriml-intgraph",
        version: 1,
        name: "signed",
        bits: 8,
        input: { shape: [1, 2], scale: 1, lo: -127, hi: 127 },
        nodes: [
          { name: "fc", op: "dense", input: 0, inF: 2, outF: 2, shape: [1, 2], weight: [1, -1, 2, 1], bias: [0, 3] },
          { name: "label", op: "argmax", input: 1, shape: [1] },
        ],
        output: { kind: "argmax", tensor: 2, logits: 1, scale: [1] },
      };
      const src = emitCircom(g);
      const built = await compileWith(src.main, GADGETS_CIRCOM);
      try {
        const circuit = { ...built, plan: src.plan };
        for (const v of [127, -127, 0]) expect(satisfied(circuit, { x: [BigInt(v), 5n] }), `${v}`).to.equal(true);
        for (const v of [128, -128, 200]) expect(satisfied(circuit, { x: [BigInt(v), 5n] }), `${v}`).to.equal(false);
        expect(runInt(g, [127, 5]).output[0]).to.be.a("number");
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });
  });

  describe("ties (ArgMax picks the first maximum)", () => {
    const argmaxCircuit = (n: number, N: number) =>
      [
        "pragma circom 2.1.0;",
        'include "veriml_gadgets.circom";',
        "template T() {",
        `    signal input x[${n}];`,
        "    signal output label;",
        "    component am0;",
        `    am0 = ArgMax(${n}, ${N});`,
        `    for (var i = 0; i < ${n}; i++) am0.in[i] <== x[i];`,
        "    label <== am0.out;",
        "}",
        "component main = T();",
      ].join("\n");
    const plan = (n: number, N: number): GadgetCall[] => [
      {
        kind: "ArgMax",
        name: "am0",
        n,
        N,
        inputs: Array.from({ length: n }, (_, i) => ({ t: new Map([[`x[${i}]`, 1n]]), c: 0n })),
        output: "label",
      },
    ];

    it("with tied logits only the first index is a valid label", async () => {
      const built = await compileWith(argmaxCircuit(4, 5), GADGETS_CIRCOM);
      try {
        const c = { ...built, plan: plan(4, 5) };
        const x = [3n, 7n, 7n, 1n];
        expect(satisfied(c, { x })).to.equal(true);
        expect(generateSignals(c.plan, { x }).get("main.am0.out")).to.equal(1n);
        for (const k of [0, 2, 3])
          expect(satisfied(c, { x }, { select: new Map([["am0", k]]) }), `label ${k}`).to.equal(false);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });
  });

  describe("function tables (lookup gadget)", () => {
    const fg = importOnnx(activationMlp(["Tanh", "Sigmoid"], { seed: 5 }));
    const calib = Array.from({ length: 48 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.sin(i * 7 + k) * 2));
    const ig = quantize(fg, calib);
    const src = emitCircom(ig);
    const x = quantizeInput(ig, calib[3]!).map(big);

    it("every other table position, for every looked-up element, violates the constraints", async () => {
      const built = await compileWith(src.main, GADGETS_CIRCOM);
      try {
        const c = { ...built, plan: src.plan };
        const honest = witnessVector(generateSignals(c.plan, { x }), c.wires, c.r1cs.nWires);
        expect(honest).to.deep.equal(await calculateWitness(c.wasm, { x: x.map(String) }));
        const lookups = src.plan.filter((p) => p.kind === "Lookup");
        expect(lookups).to.have.length(16);
        const values = generateSignals(c.plan, { x });
        for (const call of lookups) {
          if (call.kind !== "Lookup") continue;
          const k = Number(signedOf(values.get(`main.${call.name}.in`)!)) - call.LO;
          for (const other of [k - 1, k + 1, 0, call.table.length - 1]) {
            if (other === k || other < 0 || other >= call.table.length) continue;
            expect(satisfied(c, { x }, { select: new Map([[call.name, other]]) }), `${call.name} at ${other}`).to.equal(
              false,
            );
          }
        }
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });

    it("mutation: without the position constraint, another table entry is accepted", async () => {
      const mutant = src.main.replaceAll(/ {4}(idx === in - \(-?\d+\)|idxH \* \d+ \+ idxL === pos);\n/g, "");
      expect(mutant).to.not.equal(src.main);
      const built = await compileWith(mutant, GADGETS_CIRCOM);
      try {
        const call = src.plan.find((p) => p.kind === "Lookup")!;
        if (call.kind !== "Lookup") throw new Error("unreachable");
        const values = generateSignals(src.plan, { x });
        const k = Number(signedOf(values.get(`main.${call.name}.in`)!)) - call.LO;
        const other = call.table.findIndex((t, i) => i !== k && t !== call.table[k]);
        expect(satisfied({ ...built, plan: src.plan }, { x }, { select: new Map([[call.name, other]]) })).to.equal(
          true,
        );
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });
  });

  describe("softmax (row maximum, exponential table, rounded division)", () => {
    const fg = importOnnx(activationMlp(["Tanh"], { head: "Softmax", outputs: 4, seed: 9 }));
    const calib = Array.from({ length: 48 }, (_, i) => Array.from({ length: 6 }, (_, k) => Math.sin(i * 5 + k) * 2));
    const ig = quantize(fg, calib);
    const src = emitCircom(ig);
    const x = quantizeInput(ig, calib[7]!).map(big);

    it("no other maximum, table position or quotient satisfies the constraints", async () => {
      const built = await compileWith(src.main, GADGETS_CIRCOM);
      try {
        const c = { ...built, plan: src.plan };
        const honest = generateSignals(c.plan, { x });
        expect(witnessVector(honest, c.wires, c.r1cs.nWires)).to.deep.equal(
          await calculateWitness(c.wasm, { x: x.map(String) }),
        );
        const rowMax = src.plan.find((p) => p.kind === "RowMax")!;
        const m = honest.get(`main.${rowMax.name}.out`)!;
        for (const d of [-1n, 1n, 5n]) {
          expect(satisfied(c, { x }, { max: new Map([[rowMax.name, m + d]]) }), `max ${d}`).to.equal(false);
        }
        for (const call of src.plan.filter((p) => p.kind === "SoftmaxDiv")) {
          const q = honest.get(`main.${call.name}.q`)!;
          for (const d of [-1n, 1n]) {
            expect(satisfied(c, { x }, { divide: new Map([[call.name, q + d]]) }), `${call.name} ${d}`).to.equal(false);
          }
        }
        expect(forgeries(c, x)).to.deep.equal([]);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });

    it("mutations: without the product a larger maximum passes; without the lower remainder check a larger quotient does", async () => {
      const noProduct = GADGETS_CIRCOM.replace("    prodc[n - 1] === 0;\n", "");
      const noLower = GADGETS_CIRCOM.replace("    rl.in <== r;\n", "    rl.in <== 0;\n");
      expect(noProduct).to.not.equal(GADGETS_CIRCOM);
      expect(noLower).to.not.equal(GADGETS_CIRCOM);
      const honest = generateSignals(src.plan, { x });
      const rowMax = src.plan.find((p) => p.kind === "RowMax")!;
      const a = await compileWith(src.main, noProduct);
      try {
        // A "maximum" above every input passes the range checks; only the product pinned it to an input.
        const m = honest.get(`main.${rowMax.name}.out`)!;
        expect(satisfied({ ...a, plan: src.plan }, { x }, { max: new Map([[rowMax.name, m + 1n]]) })).to.equal(true);
      } finally {
        rmSync(a.dir, { recursive: true, force: true });
      }
      const b = await compileWith(src.main, noLower);
      try {
        // q + 1 leaves a negative remainder, which only the lower check refused.
        const accepted = src.plan.filter((call) => {
          if (call.kind !== "SoftmaxDiv") return false;
          const q = honest.get(`main.${call.name}.q`)!;
          const forged = generateSignals(src.plan, { x }, { divide: new Map([[call.name, q + 1n]]) });
          // The mutant checks 0 instead of r in every division: its bits are all zero.
          for (const other of src.plan) {
            if (other.kind !== "SoftmaxDiv") continue;
            forged.set(`main.${other.name}.rl.in`, 0n);
            for (let i = 0; i < other.NR; i++) forged.set(`main.${other.name}.rl.bits[${i}]`, 0n);
          }
          return checkWitness(b.r1cs, witnessVector(forged, b.wires, b.r1cs.nWires)).length === 0;
        });
        expect(accepted.length).to.be.greaterThan(0);
      } finally {
        rmSync(b.dir, { recursive: true, force: true });
      }
    });
  });

  describe("transformer gadgets (products of activations, inverse square root, two-level tables, embeddings)", () => {
    const r = rng(77);
    const fg = importOnnx(miniTransformer({ causal: true }));
    const calib = Array.from({ length: 48 }, () => Array.from({ length: 20 }, () => r() * 3));
    const ig = quantize(fg, calib);
    const src = emitCircom(ig);
    const x = quantizeInput(ig, calib[4]!).map(big);
    const idsFg = importOnnx(tokenIdsEmbedding());
    const idsCalib = Array.from({ length: 48 }, () => Array.from({ length: 5 }, () => Math.floor((r() + 0.5) * 10)));
    const idsIg = quantize(idsFg, idsCalib);
    const idsSrc = emitCircom(idsIg);
    const ids = quantizeInput(idsIg, idsCalib[2]!).map(big);

    it("the generator reproduces circom's witness on every wire, and no forged root, position or quotient passes", async () => {
      for (const [s, input] of [
        [src, x],
        [idsSrc, ids],
      ] as const) {
        const built = await compileWith(s.main, GADGETS_CIRCOM);
        try {
          const c = { ...built, plan: s.plan };
          expect(witnessVector(generateSignals(c.plan, { x: input }), c.wires, c.r1cs.nWires)).to.deep.equal(
            await calculateWitness(c.wasm, { x: input.map(String) }),
          );
          const kinds = new Set(s.plan.map((p) => p.kind));
          expect(kinds.has("Rsqrt")).to.equal(true);
          expect(forgeries(c, input)).to.deep.equal([]);
        } finally {
          rmSync(built.dir, { recursive: true, force: true });
        }
      }
      expect(src.plan.some((p) => p.kind === "Mul")).to.equal(true);
      expect(idsSrc.plan.some((p) => p.kind === "Embed")).to.equal(true);
      // The two-level selector is what this circuit uses for its larger tables.
      const big2 = src.plan.find((p) => p.kind === "Lookup" && p.table.length > 64);
      expect(big2 && big2.kind === "Lookup" && tableSplit(big2.table.length, 1).outer).to.be.greaterThan(1);
    });

    it("mutations: without the upper check a smaller root passes, without the lower one a larger root", async () => {
      const honest = generateSignals(src.plan, { x });
      const call = src.plan.find((p) => p.kind === "Rsqrt")!;
      if (call.kind !== "Rsqrt") throw new Error("unreachable");
      const r0 = honest.get(`main.${call.name}.out`)!;
      for (const [line, check, bits, d] of [
        ["    hb.in <== lo + hi - (1 << (2 * R)) - 1;\n", "hb", call.NH, -1n],
        ["    lb.in <== (1 << (2 * R)) - lo;\n", "lb", 2 * call.R + 1, 1n],
      ] as const) {
        const weakened = GADGETS_CIRCOM.replace(line, `    ${check}.in <== 0;\n`);
        expect(weakened).to.not.equal(GADGETS_CIRCOM);
        const m = await compileWith(src.main, weakened);
        try {
          const forged = generateSignals(src.plan, { x }, { root: new Map([[call.name, r0 + d]]) });
          for (const other of src.plan) {
            if (other.kind !== "Rsqrt") continue;
            forged.set(`main.${other.name}.${check}.in`, 0n);
            for (let i = 0; i < bits; i++) forged.set(`main.${other.name}.${check}.bits[${i}]`, 0n);
          }
          expect(checkWitness(m.r1cs, witnessVector(forged, m.wires, m.r1cs.nWires)), check).to.deep.equal([]);
        } finally {
          rmSync(m.dir, { recursive: true, force: true });
        }
      }
    });
  });

  describe("batch circuits (k copies of the model in one circuit)", () => {
    const K = 4;
    /** Slot s's input as the generator takes it: x[s]. */
    const slotInputs = (xs: bigint[][]) => Object.fromEntries(xs.map((x, s) => [`x[${s}]`, x]));
    let c: Compiled;
    let md: ReturnType<typeof loadModelDir>;
    let xs: bigint[][];

    before(async () => {
      const dir = await digitsMlpBatchBuild(K);
      md = loadModelDir(dir);
      c = { ...compiledBuild(dir), plan: emitCircom(md.graph, { batch: K }).plan };
      xs = [0, 7, 42, 3].map((i) => quantizeInput(md.graph, test.inputs[i]!).map(big));
    });

    it("no forged quotient, remainder, clamp branch or label of any slot satisfies the constraints", async () => {
      expect(satisfied(c, slotInputs(xs))).to.equal(true);
      const accepted = forgeries(c, slotInputs(xs));
      expect(accepted, `forgeries accepted: ${accepted.slice(0, 5).join(", ")}`).to.deep.equal([]);
      // The search covered every slot's gadgets.
      const slotsCovered = new Set(c.plan.flatMap((p) => (p.kind === "ArgMax" ? [p.name] : [])));
      expect([...slotsCovered]).to.deep.equal(["am4[0]", "am4[1]", "am4[2]", "am4[3]"]);
    });

    it("an out-of-range input in one slot violates that slot's range check", () => {
      const { lo, hi } = md.graph.input;
      for (const bad of [hi + 1, lo - 1]) {
        const forged = xs.map((x) => [...x]);
        forged[K - 1]![3] = BigInt(bad);
        expect(satisfied(c, slotInputs(forged)), `slot ${K - 1} input ${bad}`).to.equal(false);
      }
    });

    it("mutation: ArgMax range checks of 254 bits let a wrong label through in every slot", async () => {
      const src = emitCircom(md.graph, { batch: K });
      const built = await compileWith(
        src.main,
        GADGETS_CIRCOM.replace("ge[i] = RangeBits(N);", "ge[i] = RangeBits(254);"),
      );
      try {
        const options = { rangeWidth: (comp: string, n: number) => (/\.ge\[\d+\]$/.test(comp) ? 254 : n) };
        const accepted = forgeries({ ...built, plan: src.plan, options }, slotInputs(xs));
        for (let s = 0; s < K; s++)
          expect(
            accepted.some((f) => f.startsWith(`am4[${s}] label`)),
            `slot ${s}`,
          ).to.equal(true);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });

    it("a transformer (products, inverse square root, tables, softmax) in two slots: generator = circom = interpreter", async () => {
      const r = rng(78);
      const fg = importOnnx(miniTransformer({ causal: true }));
      const calib = Array.from({ length: 48 }, () => Array.from({ length: 20 }, () => r() * 3));
      const ig = quantize(fg, calib);
      const src = emitCircom(ig, { batch: 2 });
      const qs = [calib[4]!, calib[9]!].map((x) => quantizeInput(ig, x));
      const built = await compileWith(src.main, GADGETS_CIRCOM);
      try {
        const t = { ...built, plan: src.plan };
        const inputs = slotInputs(qs.map((q) => q.map(big)));
        const values = generateSignals(t.plan, inputs);
        expect(witnessVector(values, t.wires, t.r1cs.nWires)).to.deep.equal(
          await calculateWitness(t.wasm, { x: qs.map((q) => q.map(String)) }),
        );
        src.traceSignals.forEach((tensors, slot) => {
          const trace = runInt(ig, qs[slot]!);
          tensors.forEach((names, k) =>
            names.forEach((name, e) => {
              if (name === null) return;
              expect(signedOf(values.get(`main.${name}`)!), `slot ${slot} ${name}`).to.equal(
                big(trace.tensors[k]![e]!),
              );
            }),
          );
        });
        // Forged hints in the second copy of the model (slot 1's gadgets) are refused as in the first.
        const slot1 = (call: GadgetCall) => "name" in call && /^[a-z]+\d*\[1\]/.test(call.name);
        expect(t.plan.filter(slot1).filter((p) => p.kind === "Rsqrt" || p.kind === "Lookup").length).to.be.above(20);
        expect(forgeries(t, inputs, 40, slot1)).to.deep.equal([]);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });
  });

  describe("mutation tests: a weakened gadget lets a forgery through", () => {
    const mutate = (from: string, to: string) => {
      expect(GADGETS_CIRCOM.includes(from), `mutation site "${from}"`).to.equal(true);
      return GADGETS_CIRCOM.replace(from, to);
    };
    const md = loadModelDir("models/build/digits-mlp");
    const src = emitCircom(md.graph);
    const x = quantizeInput(md.graph, test.inputs[0]!).map(big);

    it("remainder width S + 1: a quotient one too small is accepted", async () => {
      const built = await compileWith(
        src.main,
        mutate("component rr = RangeBits(S);", "component rr = RangeBits(S + 1);"),
      );
      try {
        const options = { rangeWidth: (comp: string, n: number) => (comp.endsWith(".d.rr") ? n + 1 : n) };
        const accepted = forgeries({ ...built, plan: src.plan, options }, x);
        expect(accepted.some((f) => f.endsWith("q-1"))).to.equal(true);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });

    it("ArgMax range checks of 254 bits: a wrong label is accepted", async () => {
      const built = await compileWith(src.main, mutate("ge[i] = RangeBits(N);", "ge[i] = RangeBits(254);"));
      try {
        const options = { rangeWidth: (comp: string, n: number) => (/\.ge\[\d+\]$/.test(comp) ? 254 : n) };
        const accepted = forgeries({ ...built, plan: src.plan, options }, x);
        expect(accepted.some((f) => f.includes("label"))).to.equal(true);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });

    it("the tie term dropped: a later tied index is accepted", async () => {
      const gadgets = mutate("ge[i].in <== m - in[i] - after;", "ge[i].in <== m - in[i];");
      const n = 4;
      const built = await compileWith(
        [
          "pragma circom 2.1.0;",
          'include "veriml_gadgets.circom";',
          "template T() {",
          `    signal input x[${n}];`,
          "    signal output label;",
          "    component am0;",
          `    am0 = ArgMax(${n}, 5);`,
          `    for (var i = 0; i < ${n}; i++) am0.in[i] <== x[i];`,
          "    label <== am0.out;",
          "}",
          "component main = T();",
        ].join("\n"),
        gadgets,
      );
      try {
        const c = {
          ...built,
          plan: [
            {
              kind: "ArgMax",
              name: "am0",
              n,
              N: 5,
              inputs: Array.from({ length: n }, (_, i) => ({ t: new Map([[`x[${i}]`, 1n]]), c: 0n })),
              output: "label",
            },
          ] as GadgetCall[],
        };
        // The generator's ArgMax uses the real tie term; against the mutant's constraints only the
        // range-check inputs differ, so rebuild them the way the mutant computes them.
        const x4 = [3n, 7n, 7n, 1n];
        const forged = generateSignals(c.plan, { x: x4 }, { select: new Map([["am0", 2]]) });
        for (let i = 0; i < n; i++) {
          const v =
            (7n - x4[i]! + 21888242871839275222246405745257275088548364400416034343698204186575808495617n) %
            21888242871839275222246405745257275088548364400416034343698204186575808495617n;
          forged.set(`main.am0.ge[${i}].in`, v);
          for (let b = 0; b < 5; b++) forged.set(`main.am0.ge[${i}].bits[${b}]`, (v >> BigInt(b)) & 1n);
        }
        const w = witnessVector(forged, c.wires, c.r1cs.nWires);
        expect(checkWitness(c.r1cs, w)).to.deep.equal([]);
      } finally {
        rmSync(built.dir, { recursive: true, force: true });
      }
    });
  });
});
