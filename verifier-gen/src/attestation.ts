/**
 * Benchmark attestation: one Groth16 proof that a committed model classifies `samples` inputs of a committed test
 * set with `correct` correct labels. Recorded on chain by contracts/attestation/BenchmarkRegistry.sol.
 *
 * The circuit wraps the model's own circuit (circom.ts `Model`, unchanged) `samples` times:
 *   private  x[i] (the quantized inputs) and y[i] (the labels), i < samples
 *   public   datasetCommitment, samples, correct, attester
 * Each copy range-checks its input exactly (as the model's circuit always does) and packs it with its output into
 * its public `pub[]` elements (packing.ts). The wrapper recovers the prediction from them. For a graph ending in
 * ArgMax, the label is a linear function of pub[] and x, so it costs no constraint. For logits or probabilities,
 * the output values come out of pub[] by range-checked decomposition (the bit ranges are disjoint and under 248
 * bits, so it is unique), then go through the ArgMax gadget (ties to the first index, as every executor does).
 * hit[i] = (prediction == y[i]) by the IsZero construction, and correct = sum of hit. The labels are constrained to
 * 0..classes-1 (what the commitment packs and what `datasetCommitment` accepts). The test set is committed as below.
 * `attester` is a public input (bound, as every public input is, by the key's IC point), so a proof is only good
 * for the account that submits it.
 *
 * Dataset commitment (datasetCommitment, also in TypeScript below): the samples as the model sees them (inputs
 * quantized with the model's input scale, labels 0..classes-1) are packed with packing.ts into the stream
 * [x_0, y_0, x_1, y_1, ...], segments {input: n values in [lo, hi]} and {label: 1 value in [0, classes - 1]}. The
 * elements are [TAG, samples, n, lo, hi, classes, packed...], zero-padded to a multiple of 15. Then h = 0 and, for
 * each block of 15, h = Poseidon(h, block) (circomlib Poseidon(16)). The commitment is the last h.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { basename, join, resolve } from "node:path";
import { getAddress, id, toBeHex } from "ethers";
import type { Groth16Proof, VerificationKey } from "snarkjs";
import { emitCircom } from "./circom.js";
import { compileVerifier, type VerifierArtifact } from "./compile.js";
import { checkDatasetShape, loadDataset, type Dataset } from "./dataset.js";
import { developmentZkey } from "./devsetup.js";
import { InputError, IntegrityError } from "./errors.js";
import { GADGETS_CIRCOM } from "./gadgets.circom.js";
import {
  compileCircom,
  exportVerificationKey,
  proofCalldata,
  proveGroth16,
  ptauPowerFor,
  SNARK_SCALAR_FIELD,
  verifyGroth16,
} from "./groth16.js";
import { runInt } from "./intgraph.js";
import { silentLogger, type Logger } from "./logger.js";
import { pack, packLayout, streamSlots, type PackLayout } from "./packing.js";
import type { ModelDir } from "./pipeline.js";
import { poseidon } from "./poseidon.js";
import { quantizeInput } from "./quantize.js";
import { contractNameFor, groth16Core } from "./solidity.js";

/** "veriml-dataset-v1" as a field element: the first element of every dataset commitment. */
export const DATASET_TAG = BigInt(`0x${Buffer.from("veriml-dataset-v1").toString("hex")}`);
const BLOCK = 15;
const P = SNARK_SCALAR_FIELD;
const toField = (v: number) => (v >= 0 ? BigInt(v) : BigInt(v) + P);
const bitlen = (v: number) => (v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1);
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A labelled sample as the model sees it: the quantized input and the true label. */
export interface Sample {
  q: number[];
  label: number;
}

/** What a model must be to be attested: a classifier with a packed circuit. */
function requireClassifier(md: ModelDir): { classes: number } {
  const m = md.manifest;
  if (m.naive || m.packing === null) throw new InputError(`${m.name}: a naive baseline build cannot be attested`);
  if (m.inputCommitment === "sha256") {
    throw new InputError(`${m.name}: attest the packed build of this model (the same modelHash), not its sha256 one`);
  }
  if (m.output.kind !== "label" && m.output.kind !== "logits" && m.output.kind !== "probabilities") {
    throw new InputError(
      `${m.name}: output kind ${m.output.kind} has no label to count (label, logits or probabilities)`,
    );
  }
  if (m.output.classes < 2) throw new InputError(`${m.name}: a classifier needs at least 2 classes`);
  return { classes: m.output.classes };
}

/** The packing of a test set of `samples` samples for a model. */
export function datasetLayout(md: ModelDir, samples: number): PackLayout {
  const { classes } = requireClassifier(md);
  const nIn = prod(md.manifest.input.shape);
  const { lo, hi } = md.manifest.input;
  return packLayout(
    Array.from({ length: samples }, () => [
      { kind: "input" as const, count: nIn, lo, hi },
      { kind: "label" as const, count: 1, lo: 0, hi: classes - 1 },
    ]).flat(),
  );
}

function header(md: ModelDir, samples: number): bigint[] {
  const m = md.manifest;
  return [
    DATASET_TAG,
    BigInt(samples),
    BigInt(prod(m.input.shape)),
    toField(m.input.lo),
    toField(m.input.hi),
    BigInt(m.output.classes),
  ];
}

/** The padded element stream the Poseidon chain absorbs, each element a constant or packed data. */
function streamOf<T>(head: bigint[], data: T[]): (bigint | T)[] {
  const s: (bigint | T)[] = [...head, ...data];
  while (s.length % BLOCK !== 0) s.push(0n);
  return s;
}

/** The dataset commitment of samples (see the module comment); refuses inputs or labels outside their ranges. */
export function datasetCommitment(md: ModelDir, samples: readonly Sample[]): bigint {
  const layout = datasetLayout(md, samples.length);
  let packed: bigint[];
  try {
    packed = pack(
      layout,
      samples.flatMap((s) => [s.q, [s.label]]),
    );
  } catch (e) {
    throw new InputError(`test set: ${(e as Error).message}`, { cause: e });
  }
  const stream = streamOf(header(md, samples.length), packed);
  let h = 0n;
  for (let b = 0; b < stream.length; b += BLOCK) h = poseidon([h, ...(stream.slice(b, b + BLOCK) as bigint[])]);
  return h;
}

/** The model's prediction for a quantized input: its label, or the first index of its largest output. */
export function predict(md: ModelDir, q: readonly number[]): number {
  const t = runInt(md.graph, q);
  if (md.graph.output.kind === "argmax") return t.output[0]!;
  const last = Array.from(t.tensors[t.tensors.length - 1]!);
  return last.indexOf(Math.max(...last));
}

// ---------------------------------------------------------------------------
// The circuit.

/** A linear combination as circom source: terms "k*sig" plus a constant (small integers, printed exactly). */
function lc(terms: [bigint, string][], c: bigint): string {
  const parts = terms.filter(([k]) => k !== 0n).map(([k, s]) => (k === 1n ? s : `${k}*${s}`));
  if (c !== 0n || parts.length === 0) parts.push(c >= 0n ? `${c}` : `(${c})`);
  return parts.join(" + ");
}

/** Modular inverse in the scalar field. */
function inverse(a: bigint): bigint {
  let [r0, r1, s0, s1] = [P, ((a % P) + P) % P, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return ((s0 % P) + P) % P;
}

/** The attestation circuit for `samples` samples: the model's circuit plus the wrapper above. */
export function emitAttestationCircuit(md: ModelDir, samples: number): string {
  const { classes } = requireClassifier(md);
  if (!Number.isInteger(samples) || samples < 1) throw new InputError(`samples must be a positive integer`);
  const m = md.manifest;
  const model = emitCircom(md.graph, { naive: false });
  const tail = "\ncomponent main = Model();\n";
  if (!model.main.endsWith(tail)) throw new IntegrityError("the model circuit does not end in its main component");
  const layout = model.packing!;
  const nIn = prod(m.input.shape);
  const outSeg = layout.segments[1]!;
  const slots = streamSlots(layout);
  const inputSlots = (element: number) => slots.filter((s) => s.seg === 0 && s.element === element);
  /** pub[e] of copy i minus its input values' share: what the output values add up to in element e */
  const outputShare = (i: number, element: number) =>
    `m[${i}].pub[${element}] - (${lc(
      inputSlots(element).map((s) => [1n << BigInt(s.shift), `x[${i}][${s.idx}]`]),
      -inputSlots(element).reduce((t, s) => t + (BigInt(m.input.lo) << BigInt(s.shift)), 0n),
    )})`;
  const labelBits = Math.max(1, bitlen(classes - 1));
  const L: string[] = [];
  const argmaxGraph = md.graph.output.kind === "argmax";
  const outSlots = slots.filter((s) => s.seg === 1);
  for (let i = 0; i < samples; i++) {
    L.push(`    m[${i}] = Model();`);
    L.push(`    for (var j = 0; j < ${nIn}; j++) { m[${i}].x[j] <== x[${i}][j]; }`);
    if (argmaxGraph) {
      const s = outSlots[0]!;
      // (pub[e] - inputs' share) = (label - lo) * 2^shift exactly (< 2^248): the label is linear in pub[e] and x
      L.push(`    pred[${i}] <== (${outputShare(i, s.element)}) * ${inverse(1n << BigInt(s.shift))} + (${outSeg.lo});`);
    } else {
      for (const element of [...new Set(outSlots.map((s) => s.element))]) {
        const here = outSlots.filter((s) => s.element === element);
        for (const s of here) {
          L.push(
            `    u[${i}][${s.idx}] <-- (m[${i}].pub[${element}] >> ${s.shift}) & ${(1n << BigInt(outSeg.valueBits)) - 1n};`,
          );
          L.push(`    ur[${i}][${s.idx}] = RangeBits(${outSeg.valueBits});`);
          L.push(`    ur[${i}][${s.idx}].in <== u[${i}][${s.idx}];`);
        }
        // disjoint bit ranges under 2^248: the decomposition of the outputs' share is unique
        L.push(
          `    ${outputShare(i, element)} === ${lc(
            here.map((s) => [1n << BigInt(s.shift), `u[${i}][${s.idx}]`]),
            0n,
          )};`,
        );
      }
      L.push(`    am[${i}] = ArgMax(${outSeg.count}, ${outSeg.valueBits});`);
      L.push(`    for (var j = 0; j < ${outSeg.count}; j++) { am[${i}].in[j] <== u[${i}][j]; }`);
      L.push(`    pred[${i}] <== am[${i}].out;`);
    }
    // the label is one of the classes: 0 <= y and classes - 1 - y < 2^labelBits, both < 2^labelBits
    L.push(`    yr[${i}] = RangeBits(${labelBits});`);
    L.push(`    yr[${i}].in <== y[${i}];`);
    if (classes !== 1 << labelBits) {
      L.push(`    yc[${i}] = RangeBits(${labelBits});`);
      L.push(`    yc[${i}].in <== ${classes - 1} - y[${i}];`);
    }
    // hit = (pred == y): d * inv = 1 - hit and d * hit = 0 leave hit = 1 iff d = 0
    L.push(`    d[${i}] <== pred[${i}] - y[${i}];`);
    L.push(`    inv[${i}] <-- d[${i}] != 0 ? 1 / d[${i}] : 0;`);
    L.push(`    hit[${i}] <== 1 - d[${i}] * inv[${i}];`);
    L.push(`    d[${i}] * hit[${i}] === 0;`);
  }
  // the dataset commitment: the packed test set absorbed 15 elements at a time
  const data = datasetLayout(md, samples);
  const seg = (k: number) => (k % 2 === 0 ? `x[${k >> 1}]` : `y[${k >> 1}]`);
  const elements = Array.from({ length: data.elements }, () => ({ terms: [] as [bigint, string][], c: 0n }));
  for (const s of streamSlots(data)) {
    const sg = data.segments[s.seg]!;
    const e = elements[s.element]!;
    e.terms.push([1n << BigInt(s.shift), s.seg % 2 === 0 ? `${seg(s.seg)}[${s.idx}]` : seg(s.seg)]);
    e.c -= BigInt(sg.lo) << BigInt(s.shift);
  }
  const stream = streamOf(
    header(md, samples),
    elements.map((e) => lc(e.terms, e.c)),
  );
  const blocks = stream.length / BLOCK;
  const C: string[] = [];
  for (let b = 0; b < blocks; b++) {
    C.push(`    ph[${b}] = Poseidon(16);`);
    C.push(`    ph[${b}].inputs[0] <== ${b === 0 ? "0" : `ph[${b - 1}].out`};`);
    stream.slice(b * BLOCK, (b + 1) * BLOCK).forEach((v, j) => C.push(`    ph[${b}].inputs[${j + 1}] <== ${v};`));
  }
  return [
    model.main
      .slice(0, model.main.length - tail.length + 1)
      .replace(`include "veriml_gadgets.circom";`, `include "veriml_gadgets.circom";\ninclude "poseidon.circom";`),
    `// Benchmark attestation over ${samples} samples of model ${m.modelHash} (verifier-gen/src/attestation.ts).`,
    `template Attestation() {`,
    `    signal input x[${samples}][${nIn}];`,
    `    signal input y[${samples}];`,
    `    signal input attester;`,
    `    signal output datasetCommitment;`,
    `    signal output samples;`,
    `    signal output correct;`,
    `    component m[${samples}];`,
    `    component yr[${samples}];`,
    ...(classes === 1 << labelBits ? [] : [`    component yc[${samples}];`]),
    `    signal pred[${samples}];`,
    `    signal d[${samples}];`,
    `    signal inv[${samples}];`,
    `    signal hit[${samples}];`,
    ...(argmaxGraph
      ? []
      : [
          `    signal u[${samples}][${outSeg.count}];`,
          `    component ur[${samples}][${outSeg.count}];`,
          `    component am[${samples}];`,
        ]),
    `    component ph[${blocks}];`,
    ...L,
    ...C,
    `    datasetCommitment <== ph[${blocks - 1}].out;`,
    `    samples <== ${samples};`,
    `    var total = 0;`,
    `    for (var i = 0; i < ${samples}; i++) { total += hit[i]; }`,
    `    correct <== total;`,
    `    // the proof is for this attester only`,
    `    signal attesterSquare;`,
    `    attesterSquare <== attester * attester;`,
    `}`,
    ``,
    `component main {public [attester]} = Attestation();`,
    ``,
  ].join("\n");
}

// ---------------------------------------------------------------------------
// The Solidity verifier.

/** ERC-165 id of IBenchmarkVerifier (contracts/interfaces/IBenchmarkVerifier.sol): the XOR of its selectors. */
export const BENCHMARK_VERIFIER_INTERFACE_ID = toBeHex(
  ["MODEL_HASH()", "SAMPLES()", "verifyAttestation(uint256[2],uint256[2][2],uint256[2],uint256,uint256,address)"]
    .map((signature) => BigInt(id(signature).slice(0, 10)))
    .reduce((a, b) => a ^ b, 0n),
  4,
);

export function emitAttestationVerifier(
  vk: VerificationKey,
  o: { contractName: string; modelHash: string; modelName: string; samples: number },
): string {
  if (vk.nPublic !== 4) throw new IntegrityError(`an attestation key has 4 public signals, this one ${vk.nPublic}`);
  const core = groth16Core(vk);
  return `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ${o.contractName}
/// @notice Groth16 verifier of benchmark attestations for the veriml model "${o.modelName}" over ${o.samples} samples.
/// @dev Generated by veriml verifier-gen (verifier-gen/src/attestation.ts, own MIT template). Do not edit.
///      The circuit is bound to the integer graph whose model commitment is MODEL_HASH; its public signals are
///      [datasetCommitment, SAMPLES, correct, attester]. Implements IBenchmarkVerifier.
contract ${o.contractName} {
    /// @notice A public signal is not a canonical field element (>= r); such aliases are rejected.
    error PublicInputNotInField(uint256 index);

    /// @notice The model commitment (verifier-gen/src/merkle.ts) of the integer graph the circuit encodes.
    bytes32 public constant MODEL_HASH = ${o.modelHash};
    /// @notice The number of test samples every proof of this verifier covers.
    uint256 public constant SAMPLES = ${o.samples};
    uint256 public constant NUM_PUBLIC_SIGNALS = 4;

${core.constants}

    /// @notice Verify a Groth16 proof. b uses the EIP-197 coordinate order (imaginary part first).
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) external view returns (bool) {
        return _verify(a, b, c, pubSignals);
    }

    /// @notice Whether (a, b, c) proves that the model labels exactly \`correct\` of the SAMPLES samples of the
    ///         test set committed by \`datasetCommitment\` correctly, in a proof made for \`attester\`.
    function verifyAttestation(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256 datasetCommitment,
        uint256 correct,
        address attester
    ) external view returns (bool) {
        return _verify(a, b, c, [datasetCommitment, SAMPLES, correct, uint256(uint160(attester))]);
    }

    /// @notice ERC-165: this contract implements IBenchmarkVerifier.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == ${BENCHMARK_VERIFIER_INTERFACE_ID};
    }

${core.functions}
}
`;
}

// ---------------------------------------------------------------------------
// The attestation build: circuit, key and verifier next to the model's build.

export interface AttestationManifest {
  format: "veriml-attestation-build";
  version: 1;
  model: { name: string; modelHash: string };
  samples: number;
  classes: number;
  contractName: string;
  /** sha256 of the circuit source: a build is reused only for exactly this circuit */
  circuitSha256: string;
  dataset: { layout: PackLayout; tag: string; block: number };
  publicSignals: ["datasetCommitment", "samples", "correct", "attester"];
  circuit: { constraints: number; wires: number; ptauPower: number; compileMs: number; setupMs: number };
  ceremony: { development: true; phase1: string; phase2Contributions: 0 };
}

export interface AttestationBuild {
  dir: string;
  manifest: AttestationManifest;
  vkey: VerificationKey;
  artifact: VerifierArtifact;
}

const FILES = {
  manifest: "attestation.json",
  circuit: "circuit/attestation.circom",
  r1cs: "circuit/attestation.r1cs",
  wasm: "circuit/attestation_js/attestation.wasm",
  zkey: "attestation.zkey",
  vkey: "verification_key.json",
  verifier: "verifier.json",
} as const;

export interface BuildAttestationOptions {
  samples: number;
  /** default: <model build>/attestation-<samples> */
  dir?: string;
  /** deterministic development-key entropy (tests only) */
  entropy?: string;
  logger?: Logger;
}

/** Writes the attestation verifier of `vkey` (source and compiled artifact) unless the same source is there. */
function writeAttestationVerifier(
  dir: string,
  md: ModelDir,
  samples: number,
  vkey: VerificationKey,
  contractName: string,
): VerifierArtifact {
  const sol = emitAttestationVerifier(vkey, {
    contractName,
    modelHash: md.manifest.modelHash,
    modelName: md.manifest.name,
    samples,
  });
  const file = join(dir, `${contractName}.sol`);
  const compiled = join(dir, FILES.verifier);
  if (existsSync(file) && existsSync(compiled) && readFileSync(file, "utf8") === sol) {
    return JSON.parse(readFileSync(compiled, "utf8")) as VerifierArtifact;
  }
  writeFileSync(file, sol);
  const artifact = compileVerifier({ [`${contractName}.sol`]: sol }, `${contractName}.sol`, contractName);
  writeFileSync(compiled, JSON.stringify(artifact, null, 1));
  return artifact;
}

/**
 * Builds (or reuses, when its circuit is unchanged) the attestation circuit of a model for `samples` samples:
 * compiled with circom, a development key (devsetup.ts; the ceremony applies as to any circuit), and the verifier.
 */
export async function buildAttestation(md: ModelDir, o: BuildAttestationOptions): Promise<AttestationBuild> {
  const logger = o.logger ?? silentLogger;
  const { classes } = requireClassifier(md);
  const dir = resolve(o.dir ?? join(md.dir, `attestation-${o.samples}`));
  const source = emitAttestationCircuit(md, o.samples);
  const circuitSha256 = createHash("sha256").update(source).digest("hex");
  const existing = join(dir, FILES.manifest);
  if (existsSync(existing)) {
    const manifest = JSON.parse(readFileSync(existing, "utf8")) as AttestationManifest;
    if (manifest.circuitSha256 === circuitSha256 && existsSync(join(dir, FILES.zkey))) {
      logger.info({ dir }, "attestation circuit up to date");
      // The key stays; the verifier follows the template of this verifier-gen (a build from an older one gets
      // the current verifier, as a consumer regenerating it from the key would).
      const vkey = JSON.parse(readFileSync(join(dir, FILES.vkey), "utf8")) as VerificationKey;
      writeAttestationVerifier(dir, md, o.samples, vkey, manifest.contractName);
      return loadAttestation(dir);
    }
  }
  mkdirSync(join(dir, "circuit"), { recursive: true });
  writeFileSync(join(dir, FILES.circuit), source);
  writeFileSync(join(dir, "circuit/veriml_gadgets.circom"), GADGETS_CIRCOM);
  const require = createRequire(import.meta.url);
  const circomlib = join(resolve(require.resolve("circomlib/package.json"), ".."), "circuits");
  for (const f of ["poseidon.circom", "poseidon_constants.circom"])
    copyFileSync(join(circomlib, f), join(dir, "circuit", f));
  logger.info({ samples: o.samples }, `compiling the attestation circuit (${o.samples} copies of ${md.manifest.name})`);
  const comp = await compileCircom(join(dir, "circuit"), "attestation", logger);
  logger.info({ constraints: comp.constraints, ms: comp.ms }, "attestation circuit compiled");
  const t0 = Date.now();
  await developmentZkey(comp.r1cs, join(dir, FILES.zkey), {
    logger,
    ...(o.entropy === undefined ? {} : { entropy: new TextEncoder().encode(o.entropy) }),
  });
  const setupMs = Date.now() - t0;
  const vkey = await exportVerificationKey(join(dir, FILES.zkey));
  writeFileSync(join(dir, FILES.vkey), JSON.stringify(vkey, null, 1));
  const contractName = `${contractNameFor(md.manifest.name).replace(/Verifier$/, "")}Benchmark${o.samples}Verifier`;
  const artifact = writeAttestationVerifier(dir, md, o.samples, vkey, contractName);
  const manifest: AttestationManifest = {
    format: "veriml-attestation-build",
    version: 1,
    model: { name: md.manifest.name, modelHash: md.manifest.modelHash },
    samples: o.samples,
    classes,
    contractName,
    circuitSha256,
    dataset: { layout: datasetLayout(md, o.samples), tag: "veriml-dataset-v1", block: BLOCK },
    publicSignals: ["datasetCommitment", "samples", "correct", "attester"],
    circuit: {
      constraints: comp.constraints,
      wires: comp.wires,
      ptauPower: ptauPowerFor(comp.constraints, comp.publicInputs + comp.publicOutputs),
      compileMs: comp.ms,
      setupMs,
    },
    ceremony: {
      development: true,
      phase1: "none: a development key drawn from the R1CS (verifier-gen/src/devsetup.ts)",
      phase2Contributions: 0,
    },
  };
  writeFileSync(existing, JSON.stringify(manifest, null, 2));
  return { dir, manifest, vkey, artifact };
}

export function loadAttestation(dirArg: string): AttestationBuild {
  const dir = resolve(dirArg);
  const file = join(dir, FILES.manifest);
  if (!existsSync(file)) throw new InputError(`${dirArg} is not an attestation build (no ${FILES.manifest})`);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as AttestationManifest;
  if (manifest.format !== "veriml-attestation-build" || manifest.version !== 1) {
    throw new InputError(`${file} is not an attestation build manifest`);
  }
  return {
    dir,
    manifest,
    vkey: JSON.parse(readFileSync(join(dir, FILES.vkey), "utf8")) as VerificationKey,
    artifact: JSON.parse(readFileSync(join(dir, FILES.verifier), "utf8")) as VerifierArtifact,
  };
}

// ---------------------------------------------------------------------------
// Test sets and proofs.

/**
 * A labelled test set: a dataset JSON with labels, or a CSV (optionally .gz) whose rows are the input values then
 * the label (the layout of data/digits.csv.gz). `limit` keeps the first rows.
 */
export function loadTestSet(file: string, limit?: number): Dataset & { labels: number[] } {
  let ds: Dataset;
  if (/\.csv(\.gz)?$/i.test(file)) {
    let text: string;
    try {
      const raw = readFileSync(file);
      text = (file.toLowerCase().endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
    } catch (e) {
      throw new InputError(`cannot read test set ${file}: ${(e as Error).message}`, { cause: e });
    }
    const rows = text
      .split(/\r?\n/)
      .filter((l) => l.trim() !== "")
      .map((line, i) => {
        const v = line.split(",").map((c) => Number(c.trim()));
        if (v.length < 2 || v.some((n) => !Number.isFinite(n)))
          throw new InputError(`${file}: row ${i + 1} is not numbers`);
        return v;
      });
    const width = rows[0]!.length;
    if (rows.some((r) => r.length !== width)) throw new InputError(`${file}: rows of different lengths`);
    ds = { inputShape: [1, width - 1], inputs: rows.map((r) => r.slice(0, -1)), labels: rows.map((r) => r.at(-1)!) };
  } else {
    ds = loadDataset(file);
  }
  if (ds.labels === undefined) throw new InputError(`${file}: a test set needs labels`);
  const n = limit ?? ds.inputs.length;
  if (!Number.isInteger(n) || n < 1 || n > ds.inputs.length) {
    throw new InputError(`${file}: ${ds.inputs.length} samples, asked for ${n}`);
  }
  return { inputShape: ds.inputShape, inputs: ds.inputs.slice(0, n), labels: ds.labels.slice(0, n) };
}

/** The samples of a test set as the model sees them (inputs quantized with the model's input scale). */
export function samplesOf(md: ModelDir, ds: Dataset & { labels: number[] }, what = "test set"): Sample[] {
  checkDatasetShape(ds, md.manifest.input.shape, what);
  const { classes } = requireClassifier(md);
  return ds.inputs.map((x, i) => {
    const label = ds.labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new InputError(`${what}: label ${label} of sample ${i} is not one of the model's ${classes} classes`);
    }
    return { q: quantizeInput(md.graph, x), label };
  });
}

export interface AttestationFile {
  format: "veriml-attestation";
  model: string;
  modelHash: string;
  samples: number;
  correct: number;
  /** 0x + 64 hex digits */
  datasetCommitment: string;
  attester: string;
  verifierCodeHash: string;
  proof: Groth16Proof;
  publicSignals: string[];
  calldata: { a: string[]; b: string[][]; c: string[] };
  timing: { witnessMs: number; proveMs: number };
}

/** Proves the accuracy of the model on `samples` for `attester`; checks the circuit against the interpreter. */
export async function proveAttestation(
  md: ModelDir,
  ab: AttestationBuild,
  samples: readonly Sample[],
  attester: string,
  logger: Logger = silentLogger,
): Promise<AttestationFile> {
  if (samples.length !== ab.manifest.samples) {
    throw new InputError(
      `the attestation circuit takes ${ab.manifest.samples} samples, the test set has ${samples.length}`,
    );
  }
  if (ab.manifest.model.modelHash !== md.manifest.modelHash) {
    throw new InputError(`${ab.dir} attests model ${ab.manifest.model.modelHash}, not ${md.manifest.modelHash}`);
  }
  const who = getAddress(attester);
  const commitment = datasetCommitment(md, samples);
  const correct = samples.filter((s) => predict(md, s.q) === s.label).length;
  const r = await proveGroth16(join(ab.dir, FILES.zkey), join(ab.dir, FILES.wasm), {
    x: samples.map((s) => s.q.map(String)),
    y: samples.map((s) => String(s.label)),
    attester: BigInt(who).toString(),
  });
  const expected = [commitment, BigInt(samples.length), BigInt(correct), BigInt(who)];
  const got = r.publicSignals.map(BigInt);
  if (got.length !== 4 || got.some((v, i) => v !== expected[i])) {
    throw new IntegrityError(`attestation circuit public signals [${got}] differ from the reference [${expected}]`);
  }
  if (!(await verifyGroth16(ab.vkey, r.publicSignals, r.proof)))
    throw new IntegrityError("attestation proof does not verify");
  logger.debug({ witnessMs: r.witnessMs, proveMs: r.proveMs }, "attestation proved");
  const cd = proofCalldata(r.proof);
  return {
    format: "veriml-attestation",
    model: md.manifest.name,
    modelHash: md.manifest.modelHash,
    samples: samples.length,
    correct,
    datasetCommitment: toBeHex(commitment, 32),
    attester: who,
    verifierCodeHash: ab.artifact.codeHash,
    proof: r.proof,
    publicSignals: r.publicSignals,
    calldata: { a: cd.a.map(String), b: cd.b.map((row) => row.map(String)), c: cd.c.map(String) },
    timing: { witnessMs: r.witnessMs, proveMs: r.proveMs },
  };
}

export function readAttestationFile(file: string): AttestationFile {
  let a: AttestationFile;
  try {
    a = JSON.parse(readFileSync(file, "utf8")) as AttestationFile;
  } catch (e) {
    throw new InputError(`cannot read attestation ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (a.format !== "veriml-attestation") throw new InputError(`${basename(file)} is not an attestation file`);
  return a;
}
