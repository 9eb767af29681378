/**
 * Batched proofs: a batch-k build of the digits MLP holds k independent copies of the model in one circuit (the
 * same weights, the same model commitment) and one Groth16 proof covers k inferences. Its public signals are the
 * slots' own, concatenated, so a proof is bound to every slot's input and output and to the slots' order: swapping
 * two slots' outputs, changing one, or reusing the proof for other inputs fails. The circuit's witness is the
 * interpreter's on every slot, and its gadget plan is k faithful copies of the single circuit's.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { digitsMlpBatchBuild } from "../../scripts/lib/fixtures.js";
import { emitCircom, type GadgetCall, type LC } from "../../verifier-gen/src/circom.js";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { InputError } from "../../verifier-gen/src/errors.js";
import { calculateWitness, SNARK_SCALAR_FIELD, verifyGroth16 } from "../../verifier-gen/src/groth16.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { pack } from "../../verifier-gen/src/packing.js";
import {
  batchCircuitInput,
  BuildOptionsSchema,
  evaluate,
  expectedPublicSignals,
  loadModelDir,
  MAX_BATCH,
  proveBatch,
  proveQuantized,
  terminateSnarkjs,
  verifyProofFile,
  type BatchProofFile,
  type ModelDir,
} from "../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import { checkWitness, readR1cs } from "../../verifier-gen/src/r1cs.js";
import { rejectionOf } from "../helpers/errors.js";
import { generateSignals, parseSym, witnessVector } from "../../verifier-gen/src/witness.js";

const K = 4;
const test = loadDataset("data/digits-test.json");
const single = loadModelDir("models/build/digits-mlp");
const q = (i: number) => quantizeInput(single.graph, test.inputs[i]!);
const labelOf = (x: number[]) => runInt(single.graph, x).output[0]!;
/** Four inputs with four different labels. */
const SAMPLES = [0, 1, 2, 3];
const toField = (v: number) => (v >= 0 ? BigInt(v) : BigInt(v) + SNARK_SCALAR_FIELD);

/** A single-slot name's copy in slot s of a batch circuit: `t2[5]` -> `t2[s][5]`, `am4` -> `am4[s]`. */
const inSlot = (name: string, s: number) => name.replace(/^([A-Za-z_][A-Za-z0-9_]*)/, `$1[${s}]`);
const lcIn = (l: LC, s: number): LC => ({ t: new Map([...l.t].map(([n, v]) => [inSlot(n, s), v])), c: l.c });
/** A gadget call of the single circuit, renamed into slot s. */
function callIn(c: GadgetCall, s: number): GadgetCall {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === "name" || k === "output" || k === "weight") out[k] = inSlot(v as string, s);
    else if (k === "outputs") out[k] = (v as string[]).map((n) => inSlot(n, s));
    else if (k === "inputs") out[k] = (v as LC[]).map((l) => lcIn(l, s));
    else if (v !== null && typeof v === "object" && "t" in v) out[k] = lcIn(v as LC, s);
    else out[k] = v;
  }
  return out as GadgetCall;
}
const json = (v: unknown) =>
  JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? x.toString() : x instanceof Map ? [...x] : x));

describe("verifier-gen: batch builds (k inferences, one proof)", function () {
  this.timeout(600_000);
  let md: ModelDir;
  let pf: BatchProofFile;
  const qs = SAMPLES.map(q);
  /** The public signals of a statement: slot s maps qs[s] to [labels[s]]. */
  const statement = (inputs: number[][], labels: number[]) =>
    inputs.flatMap((x, s) => pack(md.manifest.packing!, [x, [labels[s]!]])).map(String);
  const verifies = (signals: string[]) => verifyGroth16(md.vkey, signals, pf.proof);

  before(async () => {
    md = loadModelDir(await digitsMlpBatchBuild(K));
    pf = await proveBatch(md, qs);
  });
  after(terminateSnarkjs);

  it("is the same model: its commitment, k times the single circuit's constraints and public signals", () => {
    expect(md.manifest.batch).to.equal(K);
    expect(md.manifest.modelHash).to.equal(single.manifest.modelHash);
    expect(md.manifest.circuit.constraints).to.equal(K * single.manifest.circuit.constraints);
    expect(md.manifest.circuit.constraintsPerSlot).to.equal(single.manifest.circuit.constraints);
    expect(md.manifest.publicSignals).to.have.length(K * single.manifest.publicSignals.length);
    expect(md.vkey.nPublic).to.equal(K * single.vkey.nPublic);
    expect(md.manifest.contractName).to.equal("DigitsMlpBatch4Verifier");
  });

  it("proves k different inputs in one proof: slot s's signals are a single circuit's for input s", async () => {
    expect(new Set(qs.map(labelOf)).size).to.equal(K);
    expect(await verifies(pf.publicSignals)).to.equal(true);
    expect((await verifyProofFile(md, pf)).valid).to.equal(true);
    const perSlot = single.manifest.publicSignals.length;
    qs.forEach((x, s) => {
      const own = pf.publicSignals.slice(s * perSlot, (s + 1) * perSlot).map(BigInt);
      expect(own).to.deep.equal(expectedPublicSignals(single, x, runInt(single.graph, x)));
      expect(pf.decoded[s]!.label).to.equal(labelOf(x));
      expect(pf.decoded[s]!.input).to.deep.equal(x);
    });
    expect(pf.publicSignals).to.deep.equal(statement(qs, qs.map(labelOf)));
    const decoded = await verifyProofFile(md, pf);
    expect(decoded.slots!.map((s) => s.label)).to.deep.equal(qs.map(labelOf));
  });

  it("fails with two slots' outputs swapped, one slot's output changed, or the slots reordered", async () => {
    const labels = qs.map(labelOf);
    const swapped = [labels[1]!, labels[0]!, labels[2]!, labels[3]!];
    expect(await verifies(statement(qs, swapped)), "outputs of slots 0 and 1 swapped").to.equal(false);
    for (let s = 0; s < K; s++) {
      const changed = labels.map((l, j) => (j === s ? (l + 1) % 10 : l));
      expect(await verifies(statement(qs, changed)), `slot ${s}'s output changed`).to.equal(false);
    }
    // A true statement, but not the one proved: the proof is bound to the slots' order.
    const order = [1, 0, 2, 3];
    expect(
      await verifies(
        statement(
          order.map((i) => qs[i]!),
          order.map((i) => labels[i]!),
        ),
      ),
    ).to.equal(false);
  });

  it("cannot be reused for other inputs, even with their honest outputs", async () => {
    const others = [4, 5, 6, 7].map(q);
    for (let s = 0; s < K; s++) {
      const inputs = qs.map((x, j) => (j === s ? others[s]! : x));
      expect(await verifies(statement(inputs, inputs.map(labelOf))), `slot ${s}'s input replaced`).to.equal(false);
    }
    expect(await verifies(statement(others, others.map(labelOf)))).to.equal(false);
    // Nor is a single build's proof of slot 0's inference a batch proof, nor the batch proof a single one.
    const one = await proveQuantized(single, qs[0]!);
    expect(await verifyGroth16(md.vkey, statement(qs, qs.map(labelOf)), one.proof)).to.equal(false);
    expect(await verifyGroth16(single.vkey, pf.publicSignals.slice(0, 2), pf.proof)).to.equal(false);
  });

  it("the circuit's witness is the interpreter's on every traced value of every slot", async () => {
    const sym = parseSym(readFileSync(`${md.dir}/circuit/model.sym`, "utf8"));
    const w = await calculateWitness(`${md.dir}/circuit/model_js/model.wasm`, batchCircuitInput(md, qs));
    expect(md.traceSignals).to.have.length(K);
    let compared = 0;
    md.traceSignals.forEach((tensors, s) => {
      const trace = runInt(md.graph, qs[s]!);
      tensors.forEach((names, t) =>
        names.forEach((name, e) => {
          if (name === null) return;
          const wire = sym.get(`main.${name}`);
          if (wire === undefined) return;
          compared++;
          expect(w[wire], `slot ${s} ${name}`).to.equal(toField(trace.tensors[t]![e]!));
        }),
      );
    });
    // As many per slot as the single circuit has wires for (the input and the hidden activations).
    const singleSym = parseSym(readFileSync(`${single.dir}/circuit/model.sym`, "utf8"));
    const perSlot = single.traceSignals[0]!.flat().filter((n) => n !== null && singleSym.has(`main.${n}`)).length;
    expect(perSlot).to.be.greaterThan(64);
    expect(compared).to.equal(K * perSlot);
  });

  it("its gadget plan is k copies of the single circuit's, each in its own slot's names", () => {
    const one = emitCircom(md.graph);
    const batch = emitCircom(md.graph, { batch: K });
    const body = (p: GadgetCall[]) => p.filter((c) => c.kind !== "Output");
    const perSlot = body(one.plan).length;
    expect(body(batch.plan)).to.have.length(K * perSlot);
    for (let s = 0; s < K; s++) {
      const slot = body(batch.plan).slice(s * perSlot, (s + 1) * perSlot);
      expect(json(slot)).to.equal(json(body(one.plan).map((c) => callIn(c, s))));
    }
    // The public outputs: slot s's packed signals, over slot s's signals, at pub[s * E + j].
    const E = one.publicSignals.length;
    const outputs = batch.plan.filter((c) => c.kind === "Output");
    expect(outputs).to.have.length(K * E);
    outputs.forEach((c, i) => {
      const s = Math.floor(i / E);
      const mine = one.plan.filter((p) => p.kind === "Output")[i % E]!;
      if (c.kind !== "Output" || mine.kind !== "Output") throw new Error("unreachable");
      expect(c.output).to.equal(`pub[${i}]`);
      expect(json(c.value)).to.equal(json(lcIn(mine.value, s)));
    });
    expect(batch.publicSignals.map((p) => p.slot)).to.deep.equal(
      Array.from({ length: K * E }, (_, i) => Math.floor(i / E)),
    );
    // Weights are constants: no weight signals, and a batch circuit has no naive form.
    expect(batch.weightInputs).to.deep.equal({});
    expect(() => emitCircom(md.graph, { batch: 2, naive: true })).to.throw(InputError);
    expect(() => emitCircom(md.graph, { batch: 0 })).to.throw(InputError);
  });

  it("the independent witness generator reproduces circom's witness on every wire of the batch circuit", async () => {
    const r1cs = readR1cs(`${md.dir}/circuit/model.r1cs`);
    const wires = parseSym(readFileSync(`${md.dir}/circuit/model.sym`, "utf8"));
    const plan = emitCircom(md.graph, { batch: K }).plan;
    const inputs = Object.fromEntries(qs.map((x, s) => [`x[${s}]`, x.map(BigInt)]));
    const ours = witnessVector(generateSignals(plan, inputs), wires, r1cs.nWires);
    expect(ours).to.deep.equal(
      await calculateWitness(`${md.dir}/circuit/model_js/model.wasm`, batchCircuitInput(md, qs)),
    );
    expect(checkWitness(r1cs, ours)).to.deep.equal([]);
  });

  it("builds at most the batch the ZkModule registers (MAX_BATCH_SIZE)", () => {
    const onChain = /MAX_BATCH_SIZE = (\d+);/.exec(readFileSync("contracts/modules/ZkModule.sol", "utf8"));
    expect(Number(onChain?.[1])).to.equal(MAX_BATCH);
    expect(
      BuildOptionsSchema.safeParse({ model: "m", calibration: "c", out: "o", batch: MAX_BATCH + 1 }).success,
    ).to.equal(false);
    expect(BuildOptionsSchema.safeParse({ model: "m", calibration: "c", out: "o", batch: 0 }).success).to.equal(false);
  });

  it("takes exactly k inputs, and a batch build refuses the single-input calls", async () => {
    for (const [call, message] of [
      [() => proveBatch(md, qs.slice(0, K - 1)), /proves 4 inputs at once, not 3/],
      [() => proveQuantized(md, qs[0]!), /batch-4 build/],
      [() => proveBatch(single, qs), /proves 1 input at once, not 4/],
    ] as const) {
      const error = await rejectionOf(call());
      expect(error).to.be.instanceOf(InputError);
      expect(error.message).to.match(message);
    }
  });

  it("eval checks every slot's witness and reports constraints per slot and in total", async () => {
    const data = { ...test, inputs: test.inputs.slice(0, 10), labels: test.labels!.slice(0, 10) };
    const rep = await evaluate(md, { data, proveSamples: 1 });
    expect(rep.bitexact).to.equal(true);
    // 10 samples: two full batches and one padded with copies of its first sample.
    expect(rep.bitexact_detail.witness_checked).to.equal(10);
    expect(rep.batch).to.equal(K);
    expect(rep.constraints).to.equal(md.manifest.circuit.constraints);
    expect(rep.constraints_per_slot).to.equal(single.manifest.circuit.constraints);
    for (const [op, n] of Object.entries(rep.constraint_breakdown_per_slot))
      expect(rep.constraint_breakdown[op]).to.equal(K * n);
    expect(rep.proved).to.equal(1);
  });
});
