/**
 * Soundness checks on the digits MLP circuit: a tampered witness (different class, wrong
 * remainder, changed activation) violates the R1CS constraints, and a proof made from it
 * does not verify.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { loadDataset } from "../../verifier-gen/src/dataset.js";
import { SNARK_SCALAR_FIELD, calculateWitness } from "../../verifier-gen/src/groth16.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { circuitInput, loadModelDir, terminateSnarkjs } from "../../verifier-gen/src/pipeline.js";
import { quantizeInput } from "../../verifier-gen/src/quantize.js";
import { checkWitness, readR1cs } from "../../verifier-gen/src/r1cs.js";

const DIR = "models/build/digits-mlp";

/** Overwrite witness value `index` in an in-memory .wtns file. */
function setWtns(mem: { data: Uint8Array }, index: number, value: bigint): void {
  const buf = Buffer.from(mem.data);
  let off = 12;
  let n8 = 32;
  const nSections = buf.readUInt32LE(8);
  for (let s = 0; s < nSections; s++) {
    const type = buf.readUInt32LE(off);
    const size = Number(buf.readBigUInt64LE(off + 4));
    if (type === 1) n8 = buf.readUInt32LE(off + 12);
    if (type === 2) {
      let v = ((value % SNARK_SCALAR_FIELD) + SNARK_SCALAR_FIELD) % SNARK_SCALAR_FIELD;
      const start = off + 12 + index * n8;
      for (let i = 0; i < n8; i++) {
        buf[start + i] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
    off += 12 + size;
  }
  mem.data = new Uint8Array(buf);
}

describe("verifier-gen: circuit soundness (tampered witness)", function () {
  this.timeout(120_000);
  const md = loadModelDir(DIR);
  const r1cs = readR1cs(`${DIR}/circuit/model.r1cs`);
  const sym = new Map<string, number>();
  for (const line of readFileSync(`${DIR}/circuit/model.sym`, "utf8").split("\n")) {
    const p = line.split(",");
    if (p.length >= 4 && Number(p[1]) >= 0) sym.set(p.slice(3).join(","), Number(p[1]));
  }
  const test = loadDataset("data/digits-test.json");
  const q = quantizeInput(md.graph, test.inputs[0]!);
  const trace = runInt(md.graph, q);
  // public signals are w[1..E]; the label is in the lowest LB bits of the last one
  const E = md.manifest.publicSignals.length;
  const LB = BigInt(md.manifest.packing!.segments[1]!.valueBits);
  const labelOf = (w: bigint[]) => w[E]! & ((1n << LB) - 1n);
  const withLabel = (w: bigint[], label: bigint) => {
    const t = [...w];
    t[E] = ((w[E]! >> LB) << LB) | label;
    return t;
  };
  let wtnsMem: { type: "mem"; data: Uint8Array };
  let w: bigint[];

  before(async () => {
    wtnsMem = { type: "mem" } as { type: "mem"; data: Uint8Array };
    await snarkjs.wtns.calculate(circuitInput(md, q), `${DIR}/circuit/model_js/model.wasm`, wtnsMem);
    w = await snarkjs.wtns.exportJson(wtnsMem);
  });
  after(async () => {
    await terminateSnarkjs();
  });

  it("the honest witness satisfies every constraint", () => {
    expect(labelOf(w)).to.equal(BigInt(trace.output[0]!));
    expect(checkWitness(r1cs, w)).to.deep.equal([]);
  });

  it("a different class (label only) violates the constraints", () => {
    const t = withLabel(w, (labelOf(w) + 1n) % 10n);
    expect(checkWitness(r1cs, t).length).to.be.greaterThan(0);
  });

  it("a different class with a consistent one-hot selector still violates the argmax range checks", () => {
    const label = Number(labelOf(w));
    const other = (label + 1) % 10;
    const t = withLabel(w, BigInt(other));
    const am = [...sym.keys()].find((k) => /^main\.am\d+\.sel\[\d+\]$/.test(k))!.replace(/\.sel\[\d+\]$/, "");
    const logits = trace.logits;
    for (let i = 0; i < 10; i++) {
      const si = sym.get(`${am}.sel[${i}]`);
      const pi = sym.get(`${am}.picked[${i}]`);
      if (si !== undefined) t[si] = i === other ? 1n : 0n;
      if (pi !== undefined) t[pi] = i === other ? (BigInt(logits[i]!) + SNARK_SCALAR_FIELD) % SNARK_SCALAR_FIELD : 0n;
    }
    expect(checkWitness(r1cs, t).length).to.be.greaterThan(0);
  });

  it("a wrong requantization remainder violates the constraints", () => {
    const bitsKeys = [...sym.keys()].filter((k) => /\.d\.rr\.bits\[\d+\]$/.test(k));
    expect(bitsKeys.length).to.be.greaterThan(0);
    for (const k of bitsKeys.slice(0, 20)) {
      const t = [...w];
      const i = sym.get(k)!;
      t[i] = 1n - t[i]!; // flip one remainder bit: r changes by a power of two
      expect(checkWitness(r1cs, t).length, k).to.be.greaterThan(0);
    }
  });

  it("a changed hidden activation violates the constraints", () => {
    const i = sym.get("main.t2[0]")!;
    const t = [...w];
    t[i] = t[i]! + 1n;
    expect(checkWitness(r1cs, t).length).to.be.greaterThan(0);
  });

  it("a proof computed from a tampered witness does not verify", async () => {
    const bad = { type: "mem", data: new Uint8Array(wtnsMem.data) };
    const tampered = withLabel(w, (labelOf(w) + 1n) % 10n);
    setWtns(bad, E, tampered[E]!);
    const { proof, publicSignals } = await snarkjs.groth16.prove(`${DIR}/model.zkey`, bad);
    expect(publicSignals[E - 1]).to.equal(String(tampered[E]));
    expect(await snarkjs.groth16.verify(md.vkey, publicSignals, proof)).to.equal(false);
    const good = await snarkjs.groth16.prove(`${DIR}/model.zkey`, wtnsMem);
    expect(await snarkjs.groth16.verify(md.vkey, good.publicSignals, good.proof)).to.equal(true);
  });

  it("witnesses computed at once (a pool of provers) are each their own input's", async () => {
    const wasm = `${DIR}/circuit/model_js/model.wasm`;
    const inputs = test.inputs.slice(0, 6).map((x) => circuitInput(md, quantizeInput(md.graph, x)));
    const alone: bigint[][] = [];
    for (const input of inputs) alone.push(await calculateWitness(wasm, input));
    const together = await Promise.all(inputs.map((input) => calculateWitness(wasm, input)));
    expect(new Set(alone.map((w) => w[1]!.toString())).size, "distinct inputs").to.be.greaterThan(1);
    together.forEach((w, i) => expect(w[1], `witness ${i}`).to.equal(alone[i]![1]));
  });
});
