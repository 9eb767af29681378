/**
 * High-level library API: build / prove / verify / evaluate a model directory.
 */
import { median } from "./stats.js";
import { createHash } from "node:crypto";
import { concat, keccak256, toUtf8Bytes } from "ethers";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { z } from "zod";
import type { Groth16Proof, VerificationKey } from "snarkjs";
import { developmentZkey } from "./devsetup.js";
import { constraintBreakdown, emitCircom, type PublicSignalSpec } from "./circom.js";
import { checkDatasetShape, loadDataset, type Dataset } from "./dataset.js";
import { InputError, IntegrityError, ToolError, VerifierGenError } from "./errors.js";
import { importOnnx } from "./floatgraph.js";
import { GADGETS_CIRCOM } from "./gadgets.circom.js";
import {
  calculateWitness,
  compileCircom,
  exportVerificationKey,
  proofCalldata,
  proveGroth16,
  ptauPowerFor,
  setupGroth16,
  terminateSnarkjs,
  verifyGroth16,
} from "./groth16.js";
import { computeRanges, runInt, type IntGraph, type Trace } from "./intgraph.js";
import { requireServableGraph } from "./validate.js";
import { emitIntOnnx, IntOnnxRunner } from "./intonnx.js";
import { silentLogger, type Logger } from "./logger.js";
import { inputEncoding, modelCommitment } from "./merkle.js";
import { pack, unpack, type PackLayout } from "./packing.js";
import { publicSignalsFor } from "./signals.js";
import { QuantizeOptionsSchema, quantize, quantizeInput } from "./quantize.js";
import { contractNameFor, emitSolidityVerifier, PACKING_LIBRARY_SOL } from "./solidity.js";
import { compileVerifier, type VerifierArtifact } from "./compile.js";
import { OUTPUT_KINDS, type Evaluation, type OutputKind } from "./interface.js";

export const BuildOptionsSchema = z.object({
  model: z.string().min(1),
  calibration: z.string().min(1),
  out: z.string().min(1),
  bits: z.number().int().min(2).max(16).default(8),
  multiplierBits: z.number().int().min(4).max(20).default(10),
  perChannel: z.boolean().default(true),
  wide: QuantizeOptionsSchema.shape.wide,
  ptau: z.string().optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "name: letters, digits, _ and - only")
    .optional(),
  naive: z.boolean().default(false),
  /** also copy the Solidity verifier into this directory (e.g. contracts/verifiers) */
  solidityDir: z.string().optional(),
  /** circom simplification level: O2 (default, fewest constraints) or O1 (keeps linear constraints, sparser) */
  optimization: z.enum(["O1", "O2"]).default("O2"),
  /**
   * What the output values are: `label` for a graph ending in ArgMax (the default there); for a tensor
   * output `logits`, `probabilities`, `values` (regression; the default) or `embedding`.
   */
  outputKind: z.enum(OUTPUT_KINDS).optional(),
  /** replace a verifier of another model in `solidityDir` (never done silently) */
  force: z.boolean().default(false),
  /** deterministic phase-2 contribution entropy (tests only) */
  entropy: z.string().optional(),
});
export type BuildOptions = z.input<typeof BuildOptionsSchema>;

export interface Manifest {
  format: "veriml-verifier-gen-manifest";
  version: 2;
  name: string;
  contractName: string;
  /** The model commitment (registered on chain). */
  modelHash: string;
  /** What the verifier's MODEL_HASH reports: modelHash, or for a naive baseline a value derived from it. */
  verifierModelHash: string;
  /** The preimage of modelHash (commitment format 3, verifier-gen/src/merkle.ts). */
  commitment: { format: 3; leafCount: number; depth: number; paramRoot: string; tensorSizes: number[] };
  sourceOnnxSha256: string;
  bits: number;
  multiplierBits: number;
  naive: boolean;
  input: {
    shape: number[];
    scale: number;
    lo: number;
    hi: number;
    quantization: string;
    /** on-chain encoding of the request input: big-endian integers of `bytes` bytes per value */
    encoding: { bytes: number; signed: boolean };
  };
  /**
   * The output is the graph's last tensor: `count` quantized values in [lo, hi]. `kind` says what they are
   * (verifier-gen/src/interface.ts); `graph` whether the integer graph ends in an ArgMax (then one value,
   * the label) or in a tensor.
   */
  output: {
    kind: OutputKind;
    graph: "argmax" | "tensor";
    classes: number;
    count: number;
    lo: number;
    hi: number;
    scale: number[];
  };
  /**
   * Where the Groth16 keys come from. `development`: the powers of tau were generated on this machine and
   * phase 2 has the builder's single contribution, so whoever built the keys could forge proofs: never for
   * a public chain (scripts refuse it there).
   */
  ceremony: { development: boolean; phase1: string; phase2Contributions: number };
  publicSignals: PublicSignalSpec[];
  /** layout of the packed public signals (null for naive builds: one public signal per value) */
  packing: PackLayout | null;
  circuit: { constraints: number; wires: number; ptauPower: number; ptau: string; compileMs: number; setupMs: number };
  files: Record<string, string>;
  /** sha256 (hex) of each served file, for operators that fetch the build from its artifact URI. */
  artifacts?: Record<string, string>;
}

const FILES = {
  manifest: "manifest.json",
  intgraph: "intgraph.json",
  sourceOnnx: "model.onnx",
  intOnnx: "model.int.onnx",
  circuit: "circuit/model.circom",
  r1cs: "circuit/model.r1cs",
  wasm: "circuit/model_js/model.wasm",
  sym: "circuit/model.sym",
  zkey: "model.zkey",
  vkey: "verification_key.json",
  verifier: "verifier.json",
} as const;

/** The files an operator serves a build from; the manifest lists their sha256 (`artifacts`) so a fetched copy can be checked. */
export const SERVED_FILES = [
  FILES.intgraph,
  FILES.intOnnx,
  FILES.wasm,
  FILES.zkey,
  FILES.vkey,
  FILES.verifier,
] as const;

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function readBytes(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
    });
  }
}

export interface BuildResult {
  manifest: Manifest;
  dir: string;
  solidityFile: string;
}

/** A model name from its ONNX file name: "models/iris_mlp.onnx" -> "iris_mlp". */
export function nameFromFile(file: string): string {
  const stem = basename(file)
    .replace(/\.onnx$/i, "")
    .replace(/[^A-Za-z0-9_-]+/g, "_");
  if (stem === "") throw new InputError(`cannot derive a model name from ${file}; give --name`);
  return stem;
}

/** The output kind of a build: checked against what the integer graph ends in. */
function outputKindFor(graph: "argmax" | "tensor", asked: OutputKind | undefined, name: string): OutputKind {
  if (graph === "argmax") {
    if (asked !== undefined && asked !== "label") {
      throw new InputError(`${name}: the graph ends in ArgMax, so its output is a label, not ${asked}`);
    }
    return "label";
  }
  if (asked === "label") {
    throw new InputError(`${name}: output kind label needs a graph ending in ArgMax; this one outputs a tensor`);
  }
  return asked ?? "values";
}

export async function build(options: BuildOptions, logger: Logger = silentLogger): Promise<BuildResult> {
  const o = BuildOptionsSchema.parse(options);
  const dir = resolve(o.out);
  mkdirSync(join(dir, "circuit"), { recursive: true });
  const bytes = readBytes(o.model, "model");
  const fg = importOnnx(bytes, o.model);
  // PyTorch names every graph "torch_jit": the file name is what tells one model from another.
  const name = o.name ?? nameFromFile(o.model);
  logger.info({ model: o.model, nodes: fg.nodes.length, input: fg.input.shape }, "parsed ONNX model");

  const calib = loadDataset(o.calibration);
  checkDatasetShape(calib, fg.input.shape, o.calibration);
  const ig = quantize(
    fg,
    calib.inputs,
    { bits: o.bits, multiplierBits: o.multiplierBits, perChannel: o.perChannel, wide: o.wide },
    logger,
  );
  ig.name = name;
  // What the output means is part of the model: committed with it, so no one can relabel it later.
  const outputKind = outputKindFor(ig.output.kind, o.outputKind, name);
  ig.output.meaning = outputKind;
  // Every executor (interpreter, int64 ONNX, circuit, on-chain one-step) must agree on this graph.
  requireServableGraph(ig, `${name}: the quantized graph`);
  const commitment = modelCommitment(ig);
  logger.info({ modelHash: commitment.modelHash, nodes: ig.nodes.length }, "quantized integer graph");

  writeFileSync(join(dir, FILES.intgraph), JSON.stringify(ig));
  copyFileSync(o.model, join(dir, FILES.sourceOnnx));
  writeFileSync(join(dir, FILES.intOnnx), emitIntOnnx(ig));

  const src = emitCircom(ig, { naive: o.naive });
  writeFileSync(join(dir, FILES.circuit), src.main);
  writeFileSync(join(dir, "circuit/veriml_gadgets.circom"), GADGETS_CIRCOM);
  logger.info("compiling circuit with circom2");
  const comp = await compileCircom(join(dir, "circuit"), "model", logger, o.optimization);
  logger.info({ constraints: comp.constraints, ms: comp.ms }, "circuit compiled");

  const power = ptauPowerFor(comp.constraints, comp.publicOutputs + comp.publicInputs);
  const zkey = join(dir, FILES.zkey);
  const t0 = Date.now();
  let vk: VerificationKey;
  if (o.ptau) {
    if (!existsSync(o.ptau)) throw new InputError(`powers-of-tau file ${o.ptau} not found`);
    logger.info({ ptau: resolve(o.ptau), power }, "Groth16 setup (phase 2)");
    vk = await setupGroth16(comp.r1cs, resolve(o.ptau), zkey, logger, o.entropy);
  } else {
    // No ceremony at all: a development key drawn from the R1CS (devsetup.ts), minutes instead of hours at 2^18.
    logger.info({ power }, "development Groth16 key from the R1CS (no ceremony; NOT for production)");
    await developmentZkey(comp.r1cs, zkey, {
      logger,
      ...(o.entropy === undefined ? {} : { entropy: new TextEncoder().encode(o.entropy) }),
    });
    vk = await exportVerificationKey(zkey);
  }
  const setupMs = Date.now() - t0;
  writeFileSync(join(dir, FILES.vkey), JSON.stringify(vk, null, 1));

  const contractName = contractNameFor(name) + (o.naive ? "Naive" : "");
  const ranges = computeRanges(ig);
  const outRange = ranges[ranges.length - 1]!;

  const manifest: Manifest = {
    format: "veriml-verifier-gen-manifest",
    version: 2,
    name,
    contractName,
    modelHash: commitment.modelHash,
    verifierModelHash: o.naive ? naiveModelHash(commitment.modelHash) : commitment.modelHash,
    commitment: {
      format: 3,
      leafCount: commitment.leafCount,
      depth: commitment.depth,
      paramRoot: commitment.paramRoot,
      tensorSizes: commitment.tensorSizes,
    },
    sourceOnnxSha256: createHash("sha256").update(bytes).digest("hex"),
    bits: o.bits,
    multiplierBits: o.multiplierBits,
    naive: o.naive,
    input: {
      shape: ig.input.shape,
      scale: ig.input.scale,
      lo: ig.input.lo,
      hi: ig.input.hi,
      quantization: "q = clamp(floor(x / scale + 1/2), lo, hi)",
      encoding: inputEncoding(ig.input.lo, ig.input.hi),
    },
    output: {
      kind: outputKind,
      graph: ig.output.kind,
      classes:
        ig.output.kind === "argmax"
          ? prod(ig.nodes[ig.output.logits - 1]!.shape)
          : outputKind === "logits" || outputKind === "probabilities"
            ? outRange.lo.length
            : 0,
      count: outRange.lo.length,
      lo: Math.min(...outRange.lo),
      hi: Math.max(...outRange.hi),
      scale: ig.output.scale,
    },
    ceremony: {
      development: !o.ptau,
      phase1: o.ptau
        ? `public powers of tau ${resolve(o.ptau)}`
        : "none: a development key drawn from the R1CS (verifier-gen/src/devsetup.ts)",
      phase2Contributions: o.ptau ? 1 : 0,
    },
    publicSignals: src.publicSignals,
    packing: src.packing,
    circuit: {
      constraints: comp.constraints,
      wires: comp.wires,
      ptauPower: power,
      ptau: o.ptau ? resolve(o.ptau) : "none: development key from the R1CS, NOT for production",
      compileMs: comp.ms,
      setupMs,
    },
    files: { ...FILES, solidity: `${contractName}.sol` },
  };
  writeFileSync(join(dir, FILES.manifest), JSON.stringify(manifest, null, 2));
  const solFile = writeSolidity(
    { dir, manifest, graph: ig, vkey: vk, traceSignals: src.traceSignals, naiveWeights: src.weightInputs },
    o.solidityDir,
    o.force,
  );
  if (o.naive) writeFileSync(join(dir, "naive_weights.json"), JSON.stringify(src.weightInputs));
  return { manifest, dir, solidityFile: solFile };
}

/**
 * (Re)generate the Solidity verifier of a build directory from its verification key, and compile it with the
 * pinned solc into `verifier.json` (the exact bytecode that is deployed, and its code hash).
 */
export function writeSolidity(md: ModelDir, solidityDir?: string, force = false): string {
  const m = md.manifest;
  const sol = emitSolidityVerifier(md.vkey, {
    contractName: m.contractName,
    modelHash: m.verifierModelHash,
    modelName: m.name,
    packing: m.packing,
    input: { count: prod(m.input.shape), lo: m.input.lo, hi: m.input.hi, ...m.input.encoding },
    output: { count: m.output.count, lo: m.output.lo, hi: m.output.hi },
  });
  const file = join(md.dir, `${m.contractName}.sol`);
  writeFileSync(file, sol);
  writeFileSync(join(md.dir, "VerimlPacking.sol"), PACKING_LIBRARY_SOL);
  const source = `${m.contractName}.sol`;
  const artifact = compileVerifier({ [source]: sol, "VerimlPacking.sol": PACKING_LIBRARY_SOL }, source, m.contractName);
  writeFileSync(join(md.dir, FILES.verifier), JSON.stringify(artifact, null, 1));
  if (solidityDir) {
    mkdirSync(solidityDir, { recursive: true });
    const target = join(solidityDir, `${m.contractName}.sol`);
    // Two models with the same name would otherwise replace each other's verifier without a word.
    const existing = existsSync(target) ? readFileSync(target, "utf8") : undefined;
    if (existing !== undefined && !existing.includes(m.verifierModelHash) && !force) {
      throw new InputError(
        `${target} is the verifier of another model (not ${m.verifierModelHash}); give another --name or --force`,
      );
    }
    writeFileSync(target, sol);
    writeFileSync(join(solidityDir, "VerimlPacking.sol"), PACKING_LIBRARY_SOL);
  }
  recordArtifactDigests(md.dir, m);
  return file;
}

// ---------------------------------------------------------------------------

export interface ModelDir {
  dir: string;
  manifest: Manifest;
  graph: IntGraph;
  vkey: VerificationKey;
  traceSignals: (string | null)[][];
  naiveWeights: Record<string, number[]>;
}

export function loadModelDir(dirArg: string): ModelDir {
  const dir = resolve(dirArg);
  const mf = join(dir, FILES.manifest);
  if (!existsSync(mf)) throw new InputError(`${dirArg} is not a verifier-gen build directory (no ${FILES.manifest})`);
  const manifest = JSON.parse(readFileSync(mf, "utf8")) as Manifest;
  if (manifest.format !== "veriml-verifier-gen-manifest") throw new InputError(`${mf} is not a verifier-gen manifest`);
  if (manifest.version !== 2) {
    throw new InputError(
      `${mf} is manifest version ${manifest.version}; rebuild the model with this verifier-gen (version 2)`,
    );
  }
  const graph = JSON.parse(readFileSync(join(dir, FILES.intgraph), "utf8")) as IntGraph;
  const vkey = JSON.parse(readFileSync(join(dir, FILES.vkey), "utf8")) as VerificationKey;
  if (modelCommitment(graph).modelHash !== manifest.modelHash) {
    throw new IntegrityError(`${FILES.intgraph} does not match the manifest modelHash`);
  }
  const src = emitCircom(graph, { naive: manifest.naive });
  return { dir, manifest, graph, vkey, traceSignals: src.traceSignals, naiveWeights: src.weightInputs };
}

/** Lists the sha256 of every served file of a build in its manifest (after the last of them is written). */
export function recordArtifactDigests(dir: string, manifest: Manifest): void {
  const artifacts: Record<string, string> = {};
  for (const file of SERVED_FILES) {
    const target = join(dir, file);
    if (existsSync(target)) artifacts[file] = createHash("sha256").update(readFileSync(target)).digest("hex");
  }
  manifest.artifacts = artifacts;
  writeFileSync(join(dir, FILES.manifest), JSON.stringify(manifest, null, 2));
}

/** The compiled verifier of a build (`verifier.json`, written with its Solidity). */
export function loadVerifierArtifact(dirArg: string): VerifierArtifact {
  const file = join(resolve(dirArg), FILES.verifier);
  if (!existsSync(file)) {
    throw new InputError(`${dirArg} has no ${FILES.verifier}; regenerate it with \`verifier-gen solidity ${dirArg}\``);
  }
  return JSON.parse(readFileSync(file, "utf8")) as VerifierArtifact;
}

/** Circuit input object for a quantized input. */
export function circuitInput(md: ModelDir, q: number[]): Record<string, unknown> {
  return {
    x: q.map(String),
    ...Object.fromEntries(Object.entries(md.naiveWeights).map(([k, v]) => [k, v.map(String)])),
  };
}

/** The packed public signals for an input and its trace: [input values, the last tensor]. */
export function packedSignals(layout: PackLayout, q: number[], trace: Trace): bigint[] {
  const last = Array.from(trace.tensors[trace.tensors.length - 1]!);
  return pack(
    layout,
    layout.segments.map((seg) => (seg.kind === "input" ? q : last)),
  );
}

/** What a naive baseline's verifier reports as MODEL_HASH: never the real commitment, so a baseline can
 * never be registered for the model it was built from. */
export function naiveModelHash(modelHash: string): string {
  return keccak256(concat([toUtf8Bytes("veriml-naive-baseline"), modelHash]));
}

export function expectedPublicSignals(md: ModelDir, q: number[], trace: Trace): bigint[] {
  return publicSignalsFor(md.manifest, q, Array.from(trace.tensors[trace.tensors.length - 1]!));
}

export function parseInputFile(file: string, md: ModelDir): number[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`cannot read input ${file}: ${(e as Error).message}`, { cause: e });
  }
  const n = prod(md.manifest.input.shape);
  let values: unknown = raw;
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    values = r.input ?? (Array.isArray(r.inputs) ? r.inputs[0] : undefined);
  }
  const flat: number[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "number" && Number.isFinite(v)) flat.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else throw new InputError(`input ${file}: expected numbers, found ${JSON.stringify(v)?.slice(0, 40)}`);
  };
  if (values === undefined)
    throw new InputError(`input ${file}: expected {"input": [...]}, a dataset JSON, or an array of numbers`);
  walk(values);
  if (flat.length !== n)
    throw new InputError(
      `input ${file}: ${flat.length} values, the model input [${md.manifest.input.shape}] needs ${n}`,
    );
  return flat;
}

export interface ProofFile {
  format: "veriml-proof";
  modelHash: string;
  contractName: string;
  proof: Groth16Proof;
  publicSignals: string[];
  calldata: { a: string[]; b: string[][]; c: string[]; pubSignals: string[] };
  /** output: the last tensor (for an argmax model, [label]); label: the label of an argmax model */
  decoded: { label?: number; input: number[]; output: number[] };
  timing: { witnessMs: number; proveMs: number };
}

/** Quantizes a float input with the model's input scale and proves it. */
export async function proveInput(md: ModelDir, x: number[], logger: Logger = silentLogger): Promise<ProofFile> {
  return proveQuantized(md, quantizeInput(md.graph, x), logger);
}

/** Proves the model on a quantized input (tensor 0). */
export async function proveQuantized(md: ModelDir, q: number[], logger: Logger = silentLogger): Promise<ProofFile> {
  const trace = runInt(md.graph, q);
  const expected = expectedPublicSignals(md, q, trace);
  const r = await proveGroth16(join(md.dir, FILES.zkey), join(md.dir, FILES.wasm), circuitInput(md, q));
  const got = r.publicSignals.map(BigInt);
  if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) {
    throw new IntegrityError(`circuit public signals [${got}] differ from the reference interpreter [${expected}]`);
  }
  logger.debug({ witnessMs: r.witnessMs, proveMs: r.proveMs }, "proved");
  const cd = proofCalldata(r.proof);
  return {
    format: "veriml-proof",
    modelHash: md.manifest.modelHash,
    contractName: md.manifest.contractName,
    proof: r.proof,
    publicSignals: r.publicSignals,
    calldata: {
      a: cd.a.map(String),
      b: cd.b.map((row) => row.map(String)),
      c: cd.c.map(String),
      pubSignals: r.publicSignals,
    },
    decoded: {
      ...(md.graph.output.kind === "argmax" ? { label: trace.output[0]! } : {}),
      output: Array.from(trace.tensors[trace.tensors.length - 1]!),
      input: q,
    },
    timing: { witnessMs: r.witnessMs, proveMs: r.proveMs },
  };
}

export async function verifyProofFile(
  md: ModelDir,
  pf: ProofFile,
): Promise<{ valid: boolean; label?: number; input?: number[] }> {
  if (!pf || pf.format !== "veriml-proof" || !pf.proof || !Array.isArray(pf.publicSignals)) {
    throw new InputError("not a verifier-gen proof file");
  }
  if (pf.modelHash !== md.manifest.modelHash) return { valid: false };
  let valid: boolean;
  try {
    valid = await verifyGroth16(md.vkey, pf.publicSignals, pf.proof);
  } catch (e) {
    throw new InputError(`malformed proof: ${(e as Error).message}`, { cause: e });
  }
  const res: { valid: boolean; label?: number; input?: number[] } = { valid };
  try {
    const sig = pf.publicSignals.map(BigInt);
    const li = md.manifest.publicSignals.findIndex((s) => s.kind === "label");
    if (li >= 0) res.label = Number(sig[li]);
    const lay = md.manifest.packing;
    if (lay) {
      const parts = unpack(lay, sig);
      lay.segments.forEach((seg, i) => {
        if (seg.kind === "input") res.input = parts[i];
        if (seg.kind === "label") res.label = parts[i]![0];
      });
    }
  } catch {
    /* decoding is for display only */
  }
  return res;
}

// ---------------------------------------------------------------------------

export interface EvalOptions {
  data: string | Dataset;
  proveSamples?: number;
  /** check witness bit-exactness on at most this many samples (default: all) */
  witnessSamples?: number;
  onProgress?: (done: number, total: number, phase: string) => void;
}

export interface EvalReport {
  model: string;
  modelHash: string;
  samples: number;
  /** What the output is (the manifest's kind); which metrics below apply follows from it. */
  output_kind: string;
  /** Classifiers (label, logits, probabilities): accuracy on the dataset's labels, float and quantized. */
  float_accuracy: number | null;
  quantized_accuracy: number | null;
  /** Classifiers: share of inputs whose quantized class is the float model's. */
  agreement: number | null;
  /** Regression (values) against the dataset's targets: mean absolute error of the float and the dequantized
   * model, and between the two. */
  mae_float: number | null;
  mae_quantized: number | null;
  mae_float_vs_quantized: number | null;
  /** Embeddings: cosine similarity between the float and the dequantized vector, mean and minimum. */
  mean_cosine: number | null;
  min_cosine: number | null;
  bitexact: boolean;
  bitexact_detail: {
    interpreter_vs_onnxruntime: number;
    interpreter_vs_witness: number;
    witness_checked: number;
    trace_values_compared: number;
  };
  constraints: number;
  /** Constraints per integer op (circom.ts constraintBreakdown: counted from the gadget plan). */
  constraint_breakdown: Record<string, number>;
  /** Bits of every activation the graph materializes (requantizations and normalisations), by node name. */
  activation_bits: Record<string, number>;
  witness_ms_median: number | null;
  prove_ms_median: number | null;
  proved: number;
}

const medianOrNull = (a: number[]): number | null => (a.length === 0 ? null : median(a));

function symMap(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const parts = line.split(",");
    if (parts.length < 4) continue;
    const w = Number(parts[1]);
    if (w >= 0) m.set(parts.slice(3).join(","), w);
  }
  return m;
}

export async function evaluate(md: ModelDir, opts: EvalOptions, logger: Logger = silentLogger): Promise<EvalReport> {
  const ds = typeof opts.data === "string" ? loadDataset(opts.data) : opts.data;
  checkDatasetShape(ds, md.manifest.input.shape, typeof opts.data === "string" ? opts.data : "dataset");
  const n = ds.inputs.length;
  const progress = opts.onProgress ?? (() => undefined);
  const g = md.graph;
  const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  const toField = (v: number) => (v >= 0 ? BigInt(v) : BigInt(v) + P);

  // float model via onnxruntime on the source ONNX
  let floatSess: ort.InferenceSession | null = null;
  try {
    floatSess = await ort.InferenceSession.create(join(md.dir, FILES.sourceOnnx));
  } catch (e) {
    throw new ToolError("onnxruntime could not load the source model", { cause: e });
  }
  const intRunner = await IntOnnxRunner.create(g, readFileSync(join(md.dir, FILES.intOnnx)));
  const sym = symMap(join(md.dir, FILES.sym));
  const wasm = join(md.dir, FILES.wasm);

  let floatAbsError = 0,
    quantAbsError = 0,
    gapAbsError = 0;
  const kind = md.manifest.output.kind;
  const classifier = kind === "label" || kind === "logits" || kind === "probabilities";
  const regression = kind === "values" && ds.targets !== undefined;
  const cosines: number[] = [];
  const outScale = md.manifest.output.scale;
  let floatCorrect = 0,
    quantCorrect = 0,
    agree = 0,
    ortMismatch = 0,
    witnessMismatch = 0,
    witnessChecked = 0,
    compared = 0;
  const witnessLimit = opts.witnessSamples ?? n;
  const inName = floatSess.inputNames[0]!;
  const outName = floatSess.outputNames[0]!;
  for (let i = 0; i < n; i++) {
    const x = ds.inputs[i]!;
    const fo = await floatSess.run({
      [inName]: new ort.Tensor("float32", Float32Array.from(x), md.manifest.input.shape),
    });
    const fd = fo[outName]!.data as Float32Array | BigInt64Array;
    let floatLabel: number;
    if (g.output.kind === "argmax") floatLabel = Number(fd[0]);
    else {
      const arr = Array.from(fd as Float32Array);
      floatLabel = arr.indexOf(Math.max(...arr));
    }
    const q = quantizeInput(g, x);
    const tr = runInt(g, q);
    const qLabel = g.output.kind === "argmax" ? tr.output[0]! : tr.output.indexOf(Math.max(...tr.output));
    if (floatLabel === qLabel) agree++;
    const dequantized = (k: number) => tr.output[k]! * (outScale.length > k ? outScale[k]! : outScale[0]!);
    if (regression) {
      const target = ds.targets![i]!;
      target.forEach((y, k) => {
        floatAbsError += Math.abs(Number(fd[k]) - y) / target.length;
        quantAbsError += Math.abs(dequantized(k) - y) / target.length;
        gapAbsError += Math.abs(Number(fd[k]) - dequantized(k)) / target.length;
      });
    }
    if (kind === "embedding") {
      let dot = 0,
        nf = 0,
        nq = 0;
      for (let k = 0; k < tr.output.length; k++) {
        const a = Number(fd[k]),
          b = dequantized(k);
        dot += a * b;
        nf += a * a;
        nq += b * b;
      }
      cosines.push(nf === 0 || nq === 0 ? 0 : dot / Math.sqrt(nf * nq));
    }
    if (ds.labels) {
      if (floatLabel === ds.labels[i]) floatCorrect++;
      if (qLabel === ds.labels[i]) quantCorrect++;
    }
    const ot = await intRunner.run(q);
    for (let t = 0; t < tr.tensors.length; t++) {
      const A = tr.tensors[t]!,
        B = ot.tensors[t]!;
      compared += A.length;
      if (A.length !== B.length || A.some((v, j) => v !== B[j])) {
        ortMismatch++;
        logger.warn({ sample: i, tensor: t }, "onnxruntime trace differs from the interpreter");
        break;
      }
    }
    if (i < witnessLimit) {
      witnessChecked++;
      const w = await calculateWitness(wasm, circuitInput(md, q));
      let bad = false;
      const expected = expectedPublicSignals(md, q, tr);
      md.manifest.publicSignals.forEach((_, k) => {
        if (w[1 + k] !== expected[k]) bad = true;
      });
      md.traceSignals.forEach((names, t) => {
        names.forEach((nm, e) => {
          if (!nm) return;
          const wi = sym.get(`main.${nm}`);
          if (wi === undefined) return;
          compared++;
          if (w[wi] !== toField(tr.tensors[t]![e]!)) bad = true;
        });
      });
      if (bad) {
        witnessMismatch++;
        logger.warn({ sample: i }, "circuit witness differs from the interpreter");
      }
    }
    if ((i + 1) % 50 === 0 || i + 1 === n) progress(i + 1, n, "executing");
  }
  await floatSess.release();
  await intRunner.release();

  const proveN = Math.min(opts.proveSamples ?? 5, n);
  const wms: number[] = [],
    pms: number[] = [];
  for (let i = 0; i < proveN; i++) {
    const pf = await proveInput(md, ds.inputs[i]!, logger);
    if (!(await verifyProofFile(md, pf)).valid) throw new IntegrityError(`proof for sample ${i} does not verify`);
    wms.push(pf.timing.witnessMs);
    pms.push(pf.timing.proveMs);
    progress(i + 1, proveN, "proving");
  }
  return {
    model: md.manifest.name,
    modelHash: md.manifest.modelHash,
    samples: n,
    output_kind: kind,
    float_accuracy: classifier && ds.labels ? floatCorrect / n : null,
    quantized_accuracy: classifier && ds.labels ? quantCorrect / n : null,
    agreement: classifier ? agree / n : null,
    mae_float: regression ? floatAbsError / n : null,
    mae_quantized: regression ? quantAbsError / n : null,
    mae_float_vs_quantized: regression ? gapAbsError / n : null,
    mean_cosine: cosines.length > 0 ? cosines.reduce((a, b) => a + b, 0) / cosines.length : null,
    min_cosine: cosines.length > 0 ? Math.min(...cosines) : null,
    bitexact: ortMismatch === 0 && witnessMismatch === 0,
    bitexact_detail: {
      interpreter_vs_onnxruntime: n - ortMismatch,
      interpreter_vs_witness: witnessChecked - witnessMismatch,
      witness_checked: witnessChecked,
      trace_values_compared: compared,
    },
    constraints: md.manifest.circuit.constraints,
    constraint_breakdown: constraintBreakdown(g, emitCircom(g, { naive: md.manifest.naive }).plan),
    activation_bits: Object.fromEntries(
      g.nodes.flatMap((n) =>
        n.op === "requant" || n.op === "normalize" ? [[n.name, Math.ceil(Math.log2(n.hi - n.lo + 1))]] : [],
      ),
    ),
    witness_ms_median: medianOrNull(wms),
    prove_ms_median: medianOrNull(pms),
    proved: proveN,
  };
}

export { terminateSnarkjs, VerifierGenError };

/** The manifest's `evaluation` for a report (verifier-gen/src/interface.ts Evaluation): what the page shows. */
export function evaluationOf(rep: EvalReport, dataset: string): Evaluation {
  return {
    dataset,
    samples: rep.samples,
    floatAccuracy: rep.float_accuracy,
    quantizedAccuracy: rep.quantized_accuracy,
    agreement: rep.agreement,
    maeFloat: rep.mae_float,
    maeQuantized: rep.mae_quantized,
    meanCosine: rep.mean_cosine,
    bitexact: rep.bitexact,
  };
}

/**
 * Writes labels for people into a build's manifest: the recorded evaluation, input feature names, class
 * names. They are not committed by the modelHash and change no file the manifest lists a digest of.
 */
export function writeManifestLabels(
  md: ModelDir,
  labels: { evaluation?: Evaluation; inputNames?: string[]; classNames?: string[] },
): void {
  const manifest = JSON.parse(readFileSync(join(md.dir, FILES.manifest), "utf8")) as Manifest & {
    evaluation?: Evaluation;
    input: { names?: string[] };
    output: { names?: string[] };
  };
  const inputs = prod(manifest.input.shape);
  if (labels.inputNames !== undefined) {
    if (labels.inputNames.length !== inputs) {
      throw new InputError(`${labels.inputNames.length} input names for ${inputs} input values`);
    }
    manifest.input.names = labels.inputNames;
  }
  if (labels.classNames !== undefined) {
    if (labels.classNames.length !== manifest.output.classes) {
      throw new InputError(`${labels.classNames.length} class names for ${manifest.output.classes} classes`);
    }
    manifest.output.names = labels.classNames;
  }
  if (labels.evaluation !== undefined) manifest.evaluation = labels.evaluation;
  writeFileSync(join(md.dir, FILES.manifest), JSON.stringify(manifest, null, 2));
}
