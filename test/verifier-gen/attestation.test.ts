/**
 * Benchmark attestation circuits (verifier-gen/src/attestation.ts): the TypeScript Poseidon and dataset commitment
 * against circomlib's circuit, the count of correct labels against the interpreter, proofs bound to their public
 * signals, and forged witnesses (a wrong prediction counted as a hit, another decomposition of the outputs)
 * refused by the constraints.
 */
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  buildAttestation,
  datasetCommitment,
  loadTestSet,
  predict,
  proveAttestation,
  samplesOf,
  type AttestationBuild,
  type Sample,
} from "../../verifier-gen/src/attestation.js";
import { InputError, ToolError } from "../../verifier-gen/src/errors.js";
import { calculateWitness, compileCircom, terminateSnarkjs, verifyGroth16 } from "../../verifier-gen/src/groth16.js";
import { build, loadModelDir, type ModelDir } from "../../verifier-gen/src/pipeline.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { streamSlots } from "../../verifier-gen/src/packing.js";
import { poseidon } from "../../verifier-gen/src/poseidon.js";
import { checkWitness, readR1cs } from "../../verifier-gen/src/r1cs.js";
import { activationMlp, argmaxMlp } from "../helpers/onnx-models.js";

const require = createRequire(import.meta.url);
const circomlib = join(dirname(require.resolve("circomlib/package.json")), "circuits");
const ATTESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const inputs = Array.from({ length: 24 }, (_, k) => Array.from({ length: 4 }, (_, i) => Math.cos(k * 7 + i * 3) * 2));

/** a^-1 mod p */
function inverse(a: bigint, p: bigint): bigint {
  let [r0, r1, s0, s1] = [p, a, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return ((s0 % p) + p) % p;
}

function symWires(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const parts = line.split(",");
    if (parts.length >= 4 && Number(parts[1]) >= 0) m.set(parts.slice(3).join(","), Number(parts[1]));
  }
  return m;
}

/** The honest witness of attestation build `ab` on `samples`, its R1CS and its wires by name. */
async function attestationWitness(ab: AttestationBuild, samples: readonly Sample[]) {
  const w = await calculateWitness(join(ab.dir, "circuit/attestation_js/attestation.wasm"), {
    x: samples.map((x) => x.q.map(String)),
    y: samples.map((x) => String(x.label)),
    attester: BigInt(ATTESTER).toString(),
  });
  return {
    w,
    r1cs: readR1cs(join(ab.dir, "circuit/attestation.r1cs")),
    wires: symWires(join(ab.dir, "circuit/attestation.sym")),
  };
}

/**
 * Witness `w` of an attestation circuit with sample `i`'s outputs set to `u` and its ArgMax made to pick `index`:
 * selectors, picked value and range-checked differences recomputed, then the prediction, the hit against `label`
 * and the count, as a prover choosing them would supply (values mod P; wires the compiler merged are skipped). Every
 * other wire, the outputs' own range checks included, keeps its honest value.
 */
function forgeSample(
  w: readonly bigint[],
  wires: Map<string, number>,
  P: bigint,
  i: number,
  u: readonly bigint[],
  index: number,
  label: number,
): bigint[] {
  const f = [...w];
  const at = (name: string) => w[wires.get(`main.${name}`)!]!;
  const set = (name: string, v: bigint) => {
    const k = wires.get(`main.${name}`);
    if (k !== undefined) f[k] = ((v % P) + P) % P;
  };
  const bits = [...wires.keys()].filter((k) => k.startsWith(`main.am[${i}].ge[0].bits[`)).length;
  u.forEach((v, j) => {
    set(`u[${i}][${j}]`, v);
    set(`ur[${i}][${j}].in`, v);
    set(`am[${i}].in[${j}]`, v);
    set(`am[${i}].sel[${j}]`, j === index ? 1n : 0n);
    set(`am[${i}].picked[${j}]`, j === index ? v : 0n);
  });
  set(`am[${i}].out`, BigInt(index));
  u.forEach((v, j) => {
    const value = (((u[index]! - v - (index > j ? 1n : 0n)) % P) + P) % P;
    set(`am[${i}].ge[${j}].in`, value);
    for (let k = 0; k < bits; k++) set(`am[${i}].ge[${j}].bits[${k}]`, (value >> BigInt(k)) & 1n);
  });
  const d = BigInt(index - label);
  set(`pred[${i}]`, BigInt(index));
  set(`d[${i}]`, d);
  set(`inv[${i}]`, d === 0n ? 0n : inverse(((d % P) + P) % P, P));
  set(`hit[${i}]`, d === 0n ? 1n : 0n);
  set("correct", at("correct") - at(`hit[${i}]`) + (d === 0n ? 1n : 0n));
  return f;
}

describe("verifier-gen: benchmark attestation circuits", function () {
  this.timeout(600_000);
  const tmp = mkdtempSync(join(tmpdir(), "vg-attest-"));
  let label: ModelDir; // a graph ending in ArgMax
  let logits: ModelDir; // a tensor output, attested through the ArgMax gadget
  let labelBuild: AttestationBuild;
  let logitsBuild: AttestationBuild;
  /** six samples, the labels of 1 and 4 deliberately not the model's prediction */
  let samples: (md: ModelDir) => Sample[];

  before(async () => {
    writeFileSync(join(tmp, "label.onnx"), argmaxMlp(1));
    writeFileSync(join(tmp, "logits.onnx"), activationMlp(["Relu"], { inputs: 4, hidden: 5, outputs: 3, seed: 5 }));
    writeFileSync(join(tmp, "calib.json"), JSON.stringify({ input_shape: [1, 4], inputs }));
    const calibration = join(tmp, "calib.json");
    await build({ model: join(tmp, "label.onnx"), calibration, out: join(tmp, "label"), name: "label_mlp" });
    await build({
      model: join(tmp, "logits.onnx"),
      calibration,
      out: join(tmp, "logits"),
      name: "logits_mlp",
      outputKind: "logits",
    });
    label = loadModelDir(join(tmp, "label"));
    logits = loadModelDir(join(tmp, "logits"));
    samples = (md) =>
      inputs.slice(0, 6).map((x, i) => {
        const q = samplesOf(md, { inputShape: [1, 4], inputs: [x], labels: [0] })[0]!.q;
        const p = predict(md, q);
        return { q, label: i === 1 || i === 4 ? (p + 1) % 3 : p };
      });
    labelBuild = await buildAttestation(label, { samples: 6, dir: join(tmp, "label-att"), entropy: "a" });
    logitsBuild = await buildAttestation(logits, { samples: 6, dir: join(tmp, "logits-att"), entropy: "b" });
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  it("the TypeScript Poseidon is circomlib's: its published vectors and its circuit", async () => {
    // circomlibjs test vectors
    expect(poseidon([1n, 2n])).to.equal(0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189an);
    expect(poseidon([1n, 2n, 3n, 4n])).to.equal(0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465n);
    const dir = join(tmp, "poseidon");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const f of ["poseidon.circom", "poseidon_constants.circom"]) copyFileSync(join(circomlib, f), join(dir, f));
    const widths = [1, 5, 16];
    writeFileSync(
      join(dir, "p.circom"),
      `pragma circom 2.1.0;\ninclude "poseidon.circom";\ntemplate P() {\n` +
        widths
          .map(
            (n, k) =>
              `    signal input in${k}[${n}];\n    signal output out${k};\n    component h${k} = Poseidon(${n});\n` +
              `    for (var i = 0; i < ${n}; i++) { h${k}.inputs[i] <== in${k}[i]; }\n    out${k} <== h${k}.out;\n`,
          )
          .join("") +
        `}\ncomponent main = P();\n`,
    );
    const c = await compileCircom(dir, "p");
    const values = widths.map((n, k) => Array.from({ length: n }, (_, i) => BigInt(i * 7919 + k) ** 9n));
    const w = await calculateWitness(c.wasm, Object.fromEntries(values.map((v, k) => [`in${k}`, v.map(String)])));
    const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
    widths.forEach((_, k) => expect(w[1 + k]).to.equal(poseidon(values[k]!.map((v) => v % P))));
  });

  for (const kind of ["label", "logits"] as const) {
    it(`${kind}: the proof states the interpreter's count on the committed set, and nothing else verifies`, async () => {
      const md = kind === "label" ? label : logits;
      const ab = kind === "label" ? labelBuild : logitsBuild;
      const s = samples(md);
      const a = await proveAttestation(md, ab, s, ATTESTER);
      expect(a.correct).to.equal(4);
      expect(a.samples).to.equal(6);
      expect(BigInt(a.datasetCommitment)).to.equal(datasetCommitment(md, s));
      expect(a.publicSignals).to.deep.equal([BigInt(a.datasetCommitment), 6n, 4n, BigInt(ATTESTER)].map(String));
      expect(await verifyGroth16(ab.vkey, a.publicSignals, a.proof)).to.equal(true);
      // another count, another test set, another sample count, another attester: the same proof fails
      const changed = (i: number, v: bigint) => a.publicSignals.map((x, k) => (k === i ? String(v) : x));
      const other = datasetCommitment(
        md,
        s.map((x, i) => (i === 0 ? { ...x, label: (x.label + 1) % 3 } : x)),
      );
      for (const sig of [changed(2, 5n), changed(2, 3n), changed(0, other), changed(1, 7n), changed(3, 1n)]) {
        expect(await verifyGroth16(ab.vkey, sig, a.proof)).to.equal(false);
      }
    });
  }

  it("a forged witness cannot count a wrong prediction as correct, nor decompose the outputs another way", async () => {
    for (const [md, ab] of [
      [label, labelBuild],
      [logits, logitsBuild],
    ] as const) {
      const { w, r1cs, wires } = await attestationWitness(ab, samples(md));
      expect(checkWitness(r1cs, w)).to.deep.equal([]);
      const wire = (name: string) => {
        const i = wires.get(`main.${name}`);
        if (i === undefined) throw new Error(`no wire ${name}`);
        return i;
      };
      // sample 1 is wrong: claim it right (hit 1, correct + 1), with every inverse the prover could pick
      for (const inv of [0n, 1n, w[wire("inv[1]")]!]) {
        const forged = [...w];
        forged[wire("hit[1]")] = 1n;
        forged[wire("correct")] = forged[wire("correct")]! + 1n;
        forged[wire("inv[1]")] = inv;
        expect(checkWitness(r1cs, forged)).to.not.deep.equal([]);
      }
      if (md === logits) {
        // two different outputs of sample 0 swapped in the decomposition of its packed element
        const forged = [...w];
        const u = [0, 1, 2].map((j) => wire(`u[0][${j}]`));
        const j = u.findIndex((k) => w[k] !== w[u[0]!]);
        expect(j, "sample 0 has two different outputs").to.be.greaterThan(0);
        [forged[u[0]!], forged[u[j]!]] = [w[u[j]!]!, w[u[0]!]!];
        expect(checkWitness(r1cs, forged)).to.not.deep.equal([]);
      }
    }
  });

  it("a tie counts for its first index only: a witness taking a later tied index fails, the first one passes", async () => {
    // a quantized input whose outputs tie at their maximum (a deterministic search; ties are common)
    const { lo, hi } = logits.graph.input;
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let tie: { q: number[]; first: number; later: number } | undefined;
    for (let k = 0; tie === undefined && k < 100_000; k++) {
      const q = [0, 1, 2, 3].map(() => lo + (next() % (hi - lo + 1)));
      const t = runInt(logits.graph, q);
      const out = Array.from(t.tensors[t.tensors.length - 1]!);
      const at = out.flatMap((v, j) => (v === Math.max(...out) ? [j] : []));
      if (at.length > 1) tie = { q, first: at[0]!, later: at[1]! };
    }
    expect(tie, "a tied input").to.not.equal(undefined);
    // sample 0 is the tie, labelled with the later tied index: the interpreter and the circuit count it wrong
    const s = samples(logits).map((x, i) => (i === 0 ? { q: tie!.q, label: tie!.later } : x));
    expect(predict(logits, tie!.q)).to.equal(tie!.first);
    const { w, r1cs, wires } = await attestationWitness(logitsBuild, s);
    const wire = (name: string) => wires.get(`main.${name}`);
    const at = (name: string) => w[wire(name)!]!;
    expect(at("correct")).to.equal(3n);
    const u = [0, 1, 2].map((j) => at(`u[0][${j}]`));
    /** The whole witness of sample 0's ArgMax, prediction and hit, recomputed for the prover's choice of index. */
    const choose = (index: number) => forgeSample(w, wires, r1cs.prime, 0, u, index, tie!.later);
    // the forging helper is exact: choosing the first tied index rebuilds the honest witness
    expect(choose(tie!.first)).to.deep.equal(w);
    expect(checkWitness(r1cs, choose(tie!.first))).to.deep.equal([]);
    // the later tied index would make the wrong label a hit: the tie rule refuses it
    const forged = choose(tie!.later);
    expect(forged[wire("correct")!]).to.equal(4n);
    expect(checkWitness(r1cs, forged)).to.not.deep.equal([]);
  });

  it("the outputs' range checks stop a decomposition into field elements that makes any label the prediction", async () => {
    // Sample 1's label t is not the prediction. Outputs u_t = m and u_i = m - [i < t], with m solved mod P so that
    // they add up to the proven element: every ArgMax difference is then 0 and t wins. Only the range check of
    // each output (u < 2^B) is left to stand in the way.
    const s = samples(logits);
    const t = s[1]!.label;
    expect(predict(logits, s[1]!.q)).to.not.equal(t);
    const { w, r1cs, wires } = await attestationWitness(logitsBuild, s);
    const P = r1cs.prime;
    const outputs = streamSlots(logits.manifest.packing!).filter((x) => x.seg === 1);
    expect(new Set(outputs.map((x) => x.element)).size, "the outputs share one element").to.equal(1);
    const weight = outputs.map((x) => 1n << BigInt(x.shift));
    const honest = outputs.map((x) => w[wires.get(`main.u[1][${x.idx}]`)!]!);
    const element = honest.reduce((acc, v, k) => acc + v * weight[k]!, 0n);
    const below = outputs.reduce((acc, x, k) => acc + (x.idx < t ? weight[k]! : 0n), 0n);
    const m = (((element + below) % P) * inverse(weight.reduce((a, b) => a + b, 0n) % P, P)) % P;
    const u = outputs.map((x) => (m - (x.idx < t ? 1n : 0n) + P) % P);
    expect(u.reduce((acc, v, k) => (acc + v * weight[k]!) % P, 0n)).to.equal(element % P);
    const forged = forgeSample(w, wires, P, 1, u, t, t);
    expect(forged[wires.get("main.correct")!]).to.equal(5n);
    // every constraint the forgery breaks is a range check of sample 1's outputs: without them it would be proven
    const ranges = new Set([...wires].filter(([name]) => name.startsWith("main.ur[1][")).map(([, k]) => k));
    const broken = checkWitness(r1cs, forged);
    expect(broken.length).to.be.greaterThan(0);
    for (const k of broken) {
      const touches = r1cs.constraints[k]!.some((lc) => lc.some(([wire]) => ranges.has(wire)));
      expect(touches, `constraint ${k} is a range check of an output`).to.equal(true);
    }
  });

  it("a label outside the classes has no witness (3 classes: the label's 2 bits could say 3, and -1 is P - 1)", async () => {
    const s = samples(label);
    const input = (y0: number) => ({
      x: s.map((x) => x.q.map(String)),
      y: s.map((x, i) => String(i === 0 ? y0 : x.label)),
      attester: BigInt(ATTESTER).toString(),
    });
    const wasm = join(labelBuild.dir, "circuit/attestation_js/attestation.wasm");
    await calculateWitness(wasm, input(2));
    // 3 has the 2 bits of a label; -1 (P - 1) leaves 2 - y = 3, which the upper bound's 2 bits hold too
    for (const y0 of [3, -1]) {
      let error: unknown;
      try {
        await calculateWitness(wasm, input(y0));
      } catch (e) {
        error = e;
      }
      expect(error, `label ${y0} of a 3-class model`).to.be.instanceOf(ToolError);
      expect((error as Error).message).to.match(/witness generation failed/);
    }
  });

  it("an input outside the model's range has no witness (its packing in the commitment would alias)", async () => {
    const s = samples(label);
    const { lo, hi } = label.graph.input;
    const wasm = join(labelBuild.dir, "circuit/attestation_js/attestation.wasm");
    const input = (v: number) => ({
      x: s.map((x, i) => x.q.map((q, j) => String(i === 0 && j === 0 ? v : q))),
      y: s.map((x) => String(x.label)),
      attester: BigInt(ATTESTER).toString(),
    });
    await calculateWitness(wasm, input(lo));
    await calculateWitness(wasm, input(hi));
    for (const v of [lo - 1, hi + 1]) {
      let error: unknown;
      try {
        await calculateWitness(wasm, input(v));
      } catch (e) {
        error = e;
      }
      expect(error, `input ${v} outside [${lo}, ${hi}]`).to.be.instanceOf(ToolError);
    }
  });

  it("the commitment binds every input value, every label, the order and the size of the set", () => {
    const s = samples(label);
    const c = datasetCommitment(label, s);
    const variants: Sample[][] = [
      s.map((x, i) => (i === 5 ? { ...x, label: (x.label + 1) % 3 } : x)),
      s.map((x, i) =>
        i === 2 ? { ...x, q: x.q.map((v, j) => (j === 3 ? (v === label.graph.input.lo ? v + 1 : v - 1) : v)) } : x,
      ),
      [s[1]!, s[0]!, ...s.slice(2)],
      s.slice(0, 5),
    ];
    for (const v of variants) expect(datasetCommitment(label, v)).to.not.equal(c);
    expect(() =>
      datasetCommitment(
        label,
        s.map((x, i) => (i === 0 ? { ...x, label: 3 } : x)),
      ),
    ).to.throw(InputError);
  });

  it("reads a CSV test set (values then label, gzipped or not) as the same samples as the dataset JSON", () => {
    const ds = loadTestSet("data/digits-test.json", 8);
    const csv = ds.inputs.map((x, i) => [...x, ds.labels[i]].join(",")).join("\n") + "\n";
    writeFileSync(join(tmp, "t.csv"), csv);
    writeFileSync(join(tmp, "t.csv.gz"), gzipSync(csv));
    for (const f of ["t.csv", "t.csv.gz"]) {
      const c = loadTestSet(join(tmp, f));
      expect(c.inputs).to.deep.equal(ds.inputs);
      expect(c.labels).to.deep.equal(ds.labels);
    }
    expect(() => loadTestSet("data/digits-test.json", 361)).to.throw(InputError, /360 samples, asked for 361/);
  });

  it("a rebuild keeps the key and the circuit, and brings an out-of-date verifier up to the current template", async () => {
    const dir = labelBuild.dir;
    const sol = join(dir, `${labelBuild.manifest.contractName}.sol`);
    const current = readFileSync(sol, "utf8");
    const zkey = readFileSync(join(dir, "attestation.zkey"));
    // An older verifier-gen's verifier: another source, another compiled artifact.
    writeFileSync(sol, current.replace("Do not edit", "Do not edit (old template)"));
    writeFileSync(join(dir, "verifier.json"), JSON.stringify({ ...labelBuild.artifact, codeHash: "0x00" }));
    const rebuilt = await buildAttestation(label, { samples: 6, dir, entropy: "a" });
    expect(readFileSync(sol, "utf8")).to.equal(current);
    expect(rebuilt.artifact.codeHash).to.equal(labelBuild.artifact.codeHash);
    expect(readFileSync(join(dir, "attestation.zkey")).equals(zkey), "the key was redrawn").to.equal(true);
  });

  it("refuses models without a label to count and labels outside the classes", async () => {
    const regression = loadModelDir("models/build/diabetes_relu");
    let error: unknown;
    try {
      await buildAttestation(regression, { samples: 2, dir: join(tmp, "x") });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.match(/has no label to count/);
    expect(() => samplesOf(label, { inputShape: [1, 4], inputs: [inputs[0]!], labels: [7] })).to.throw(
      InputError,
      /not one of the model's 3 classes/,
    );
  });
});
