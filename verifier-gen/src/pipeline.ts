/**
 * High-level library API: build / prove / verify / evaluate a model directory.
 */
import { median } from "./stats.js";
import { createHash } from "node:crypto";
import { concat, getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { z } from "zod";
import type { Groth16Proof, VerificationKey } from "snarkjs";
import { developmentZkey } from "./devsetup.js";
import { createRequire } from "node:module";
import {
  constraintBreakdown,
  emitCircom,
  SHA256_CIRCUIT_FILES,
  type CircuitSource,
  type PublicSignalSpec,
} from "./circom.js";
import {
  buildConstraintSystem,
  directWitness,
  symText,
  writeR1cs,
  wtnsBytes,
  type ConstraintSystem,
} from "./r1csgen.js";
import { generateSignals } from "./witness.js";
import { checkDatasetShape, loadDataset, type Dataset } from "./dataset.js";
import { InputError, IntegrityError, ToolError, VerifierGenError } from "./errors.js";
import { importOnnx } from "./floatgraph.js";
import { GADGETS_CIRCOM } from "./gadgets.circom.js";
import {
  calculateWitnessBin,
  compileCircom,
  exportVerificationKey,
  proofCalldata,
  proveWitness,
  ptauPowerFor,
  setupGroth16,
  terminateSnarkjs,
  verifyGroth16,
  witnessValues,
} from "./groth16.js";
import { computeRanges, runInt, type IntGraph, type Trace } from "./intgraph.js";
import { requireServableGraph } from "./validate.js";
import { emitIntOnnx, IntOnnxRunner } from "./intonnx.js";
import { silentLogger, type Logger } from "./logger.js";
import { inputEncoding, modelCommitment } from "./merkle.js";
import { pack, unpack, type PackLayout } from "./packing.js";
import {
  INPUT_COMMITMENTS,
  batchPublicSignals,
  inputHashSignal,
  publicSignalsFor,
  toField,
  type InputCommitment,
} from "./signals.js";
import { decodeInputBytes, encodeInputBytes } from "./encoding.js";
import { QuantizeOptionsSchema, quantize, quantizeInput } from "./quantize.js";
import { contractNameFor, emitSolidityVerifier, PACKING_LIBRARY_SOL, type SolidityOptions } from "./solidity.js";
import { compileVerifier, type VerifierArtifact } from "./compile.js";
import { OUTPUT_KINDS, type Evaluation, type OutputKind } from "./interface.js";

/**
 * Largest batch a build accepts: the ZkModule registers no verifier of more slots (MAX_BATCH_SIZE, which bounds
 * one proof's gas); a batch-k circuit has k times the constraints of a single one.
 */
export const MAX_BATCH = 64;

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
  /**
   * Inferences one proof covers (default 1): the circuit holds `batch` independent copies of the model (the same
   * weights, the same model commitment) and its public signals are the slots' own, concatenated.
   */
  batch: z.number().int().min(1).max(MAX_BATCH).default(1),
  /** also copy the Solidity verifier into this directory (e.g. contracts/verifiers) */
  solidityDir: z.string().optional(),
  /**
   * How the R1CS is made: `direct` (default) writes it and every witness straight from the gadget plan
   * (r1csgen.ts; scales to millions of weights); `circom` compiles the generated circuit with circom2 (the
   * reference the direct backend is tested against). Default: direct, but circom for input commitment sha256
   * (its SHA-256 is circomlib's circuit; the direct backend refuses it).
   */
  backend: z.enum(["direct", "circom"]).optional(),
  /**
   * How the proof's public signals carry the input: `packed` (default) packs the input values with the output;
   * `sha256` makes them one signal, the SHA-256 of the request's input bytes (top 253 bits), which the circuit
   * computes from the bytes it decodes the input from and the verifier with the SHA-256 precompile. Cheaper on
   * chain for large inputs, dearer to prove (about 30k constraints per 64 bytes); single-inference builds only.
   */
  inputCommitment: z.enum(INPUT_COMMITMENTS).default("packed"),
  /** circom simplification level (circom backend): O2 (default, fewest constraints) or O1 (keeps linear constraints) */
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
  /**
   * Inferences one proof covers (absent: 1). The public signals of a batch-k circuit are the concatenation, over
   * the slots s = 0..k-1, of exactly the public signals a single-inference circuit of the model has (publicSignals
   * lists all of them, each with its slot); `packing` is one slot's layout.
   */
  batch?: number;
  /**
   * How the public signals carry the input (absent: `packed`, the input values packed with the output). `sha256`:
   * publicSignals[0] is uint256(sha256(request input bytes)) >> 3 (signals.ts: inputHashSignal) and `packing`
   * holds the output alone; the circuit's private input is the bytes (`xb`), decoded and clamped as the verifier does.
   */
  inputCommitment?: InputCommitment;
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
   * Where the Groth16 keys come from. `development`: a key drawn by one process (devsetup.ts), or a phase 2 with
   * the builder's single contribution (`build --ptau`): whoever built the keys could forge proofs, so never for a
   * public chain (scripts refuse it there). A key from `verifier-gen ceremony` (a public phase-1 file and a
   * multi-party phase 2, docs/CEREMONY.md) has `development: false` and its transcript in `mpc`.
   */
  ceremony: CeremonyManifest;
  publicSignals: PublicSignalSpec[];
  /** layout of the packed public signals (null for naive builds: one public signal per value) */
  packing: PackLayout | null;
  circuit: {
    /** how the R1CS and witnesses are made (absent in builds older than the direct backend: circom) */
    backend?: "direct" | "circom";
    /** the whole circuit's (every slot of a batch circuit) */
    constraints: number;
    /** batch builds: one slot's share (constraints / batch: the slots are identical) */
    constraintsPerSlot?: number;
    wires: number;
    ptauPower: number;
    ptau: string;
    compileMs: number;
    setupMs: number;
  };
  files: Record<string, string>;
  /** sha256 (hex) of each served file, for operators that fetch the build from its artifact URI. */
  artifacts?: Record<string, string>;
}

export interface CeremonyManifest {
  development: boolean;
  phase1: string;
  phase2Contributions: number;
  mpc?: MpcRecord;
}

/** The transcript of a multi-party phase 2 (verifier-gen/src/ceremony.ts); hashes are BLAKE2b-512 hex, as snarkjs prints them. */
export interface MpcRecord {
  /** the public phase-1 file, identified by its digest (verifier-gen/src/phase1.ts) */
  phase1File: { name: string; blake2b: string; power: number };
  /** sha256 of the R1CS the ceremony started from */
  r1csSha256: string;
  /** snarkjs's circuit hash of the initial key (binds the R1CS and the phase-1 points) */
  circuitHash: string;
  /** each participant's contribution, in order: the name they gave and snarkjs's contribution hash */
  contributions: { name: string; hash: string }[];
  /** the final random beacon: its public value (hex), 2^iterationsExp SHA-256 rounds, where it came from */
  beacon: { name: string; value: string; iterationsExp: number; source: string; hash: string };
  /** BLAKE2b-512 over the circuit hash and every contribution's public key, beacon included: the whole chain */
  transcriptHash: string;
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
  const hashed = o.inputCommitment === "sha256";
  if (hashed && o.backend === "direct") {
    throw new InputError("input commitment sha256 needs --backend circom (the direct backend has no SHA-256 circuit)");
  }
  const backend = o.backend ?? (hashed ? "circom" : "direct");
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

  const graphJson = JSON.stringify(ig);
  writeFileSync(join(dir, FILES.intgraph), graphJson);
  rememberCommitment(commitmentRecord(graphJson), commitment.modelHash);
  copyFileSync(o.model, join(dir, FILES.sourceOnnx));
  writeFileSync(join(dir, FILES.intOnnx), emitIntOnnx(ig));

  const tc = Date.now();
  const src = emitCircom(ig, { naive: o.naive, batch: o.batch, inputCommitment: o.inputCommitment });
  // The circom source is written either way: the specification of the circuit, which circom2 can check.
  writeFileSync(join(dir, FILES.circuit), src.main);
  writeFileSync(join(dir, "circuit/veriml_gadgets.circom"), GADGETS_CIRCOM);
  if (hashed) copySha256Circuits(join(dir, "circuit"));
  let comp: {
    r1cs: string;
    constraints: number;
    wires: number;
    publicOutputs: number;
    publicInputs: number;
    ms: number;
  };
  if (backend === "circom") {
    logger.info("compiling circuit with circom2");
    comp = await compileCircom(join(dir, "circuit"), "model", logger, o.optimization);
  } else {
    rmSync(join(dir, "circuit/model_js"), { recursive: true, force: true });
    const cs = buildConstraintSystem(src, circuitInputs(src, ig, o.batch));
    writeR1cs(cs, join(dir, FILES.r1cs));
    writeFileSync(join(dir, FILES.sym), symText(cs));
    comp = {
      r1cs: join(dir, FILES.r1cs),
      constraints: cs.constraints.length,
      wires: cs.nWires,
      publicOutputs: cs.nPubOut,
      publicInputs: 0,
      ms: Date.now() - tc,
    };
  }
  logger.info({ backend, constraints: comp.constraints, ms: comp.ms }, "circuit compiled");

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

  const contractName =
    contractNameFor(`${name}${hashed ? "_sha256" : ""}${o.batch > 1 ? `_batch${o.batch}` : ""}`) +
    (o.naive ? "Naive" : "");
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
    ...(o.batch > 1 ? { batch: o.batch } : {}),
    ...(hashed ? { inputCommitment: o.inputCommitment } : {}),
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
      // With --ptau the phase 2 still has only the builder's contribution: a development key until a ceremony.
      development: true,
      phase1: o.ptau
        ? `powers of tau ${basename(o.ptau)}, phase 2 contributed by the builder alone (verifier-gen ceremony for production)`
        : "none: a development key drawn from the R1CS (verifier-gen/src/devsetup.ts)",
      phase2Contributions: o.ptau ? 1 : 0,
    },
    publicSignals: src.publicSignals,
    packing: src.packing,
    circuit: {
      backend,
      constraints: comp.constraints,
      ...(o.batch > 1 ? { constraintsPerSlot: comp.constraints / o.batch } : {}),
      wires: comp.wires,
      ptauPower: power,
      ptau: o.ptau ? basename(o.ptau) : "none: development key from the R1CS, NOT for production",
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

/** circomlib's SHA-256 circuits, copied into a circuit directory (circuit/sha256/, circuit/binsum.circom). */
function copySha256Circuits(circuitDir: string): void {
  const circomlib = join(dirname(createRequire(import.meta.url).resolve("circomlib/package.json")), "circuits");
  mkdirSync(join(circuitDir, "sha256"), { recursive: true });
  for (const f of SHA256_CIRCUIT_FILES) copyFileSync(join(circomlib, f), join(circuitDir, f));
}

/** How a build's public signals carry the input (manifest `inputCommitment`; absent: packed). */
export function inputCommitmentOf(m: Manifest): InputCommitment {
  return m.inputCommitment ?? "packed";
}

/** What the Solidity verifier of a build is generated from (besides its verification key). */
export function verifierSolidityOptions(m: Manifest): SolidityOptions {
  return {
    contractName: m.contractName,
    modelHash: m.verifierModelHash,
    modelName: m.name,
    packing: m.packing,
    inputCommitment: inputCommitmentOf(m),
    input: { count: prod(m.input.shape), lo: m.input.lo, hi: m.input.hi, ...m.input.encoding },
    output: { count: m.output.count, lo: m.output.lo, hi: m.output.hi },
    batch: m.batch ?? 1,
  };
}

/**
 * (Re)generate the Solidity verifier of a build directory from its verification key, and compile it with the
 * pinned solc into `verifier.json` (the exact bytecode that is deployed, and its code hash).
 */
export function writeSolidity(md: ModelDir, solidityDir?: string, force = false): string {
  const m = md.manifest;
  const { sol, artifact } = verifierFor(md, md.vkey);
  const file = join(md.dir, `${m.contractName}.sol`);
  writeFileSync(file, sol);
  writeFileSync(join(md.dir, "VerimlPacking.sol"), PACKING_LIBRARY_SOL);
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

/** The Solidity verifier of a build for a verification key, and its compiled artifact (what is deployed). */
export function verifierFor(md: ModelDir, vkey: VerificationKey): { sol: string; artifact: VerifierArtifact } {
  const m = md.manifest;
  const sol = emitSolidityVerifier(vkey, verifierSolidityOptions(m));
  const source = `${m.contractName}.sol`;
  const artifact = compileVerifier({ [source]: sol, "VerimlPacking.sol": PACKING_LIBRARY_SOL }, source, m.contractName);
  return { sol, artifact };
}

// ---------------------------------------------------------------------------

export interface ModelDir {
  dir: string;
  manifest: Manifest;
  graph: IntGraph;
  vkey: VerificationKey;
  /** per slot (one for a single-inference build): the signal of each traced value, see CircuitSource */
  traceSignals: (string | null)[][][];
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
  const graphBytes = readFileSync(join(dir, FILES.intgraph));
  const graph = JSON.parse(graphBytes.toString("utf8")) as IntGraph;
  const vkey = JSON.parse(readFileSync(join(dir, FILES.vkey), "utf8")) as VerificationKey;
  requireCommitment(graph, graphBytes, manifest.modelHash);
  const src = emitCircom(graph, {
    naive: manifest.naive,
    batch: batchOf(manifest),
    inputCommitment: inputCommitmentOf(manifest),
  });
  const md: ModelDir = { dir, manifest, graph, vkey, traceSignals: src.traceSignals, naiveWeights: src.weightInputs };
  circuits.set(md, { src });
  return md;
}

/**
 * Checks that the integer graph commits to `modelHash`. The Merkle tree over every weight takes seconds at a million
 * weights, so a graph whose exact bytes were checked before on this machine is not hashed again: the result is kept
 * under the sha256 of the file in the user's cache (`VERIML_CACHE_DIR`, default ~/.cache/veriml).
 */
function requireCommitment(graph: IntGraph, bytes: Buffer | string, modelHash: string): void {
  const record = commitmentRecord(bytes);
  try {
    if (readFileSync(record, "utf8") === modelHash) return;
  } catch {
    /* not checked before */
  }
  if (modelCommitment(graph).modelHash !== modelHash) {
    throw new IntegrityError(`${FILES.intgraph} does not match the manifest modelHash`);
  }
  rememberCommitment(record, modelHash);
}

const commitmentRecord = (bytes: Buffer | string): string =>
  join(
    process.env.VERIML_CACHE_DIR ?? join(homedir(), ".cache", "veriml"),
    "commitments",
    createHash("sha256").update(bytes).digest("hex"),
  );

function rememberCommitment(record: string, modelHash: string): void {
  try {
    mkdirSync(dirname(record), { recursive: true });
    writeFileSync(record, modelHash);
  } catch {
    /* an unwritable cache only costs the next load the hashing */
  }
}

/**
 * The private inputs of a circuit in circom's declaration order: `x` (`x[s]` per slot of a batch circuit), then a
 * naive build's weight arrays.
 */
function circuitInputs(src: CircuitSource, g: IntGraph, batch: number): { name: string; length: number }[] {
  const n = prod(g.input.shape);
  return [
    ...(batch === 1
      ? [{ name: "x", length: n }]
      : Array.from({ length: batch }, (_, s) => ({ name: `x[${s}]`, length: n }))),
    ...Object.entries(src.weightInputs).map(([name, v]) => ({ name, length: v.length })),
  ];
}

/** A loaded build's circuit, made once per load: its gadget plan and, for the direct backend, its wires. */
const circuits = new WeakMap<ModelDir, { src: CircuitSource; cs?: ConstraintSystem }>();

function circuitOf(md: ModelDir): { src: CircuitSource; cs?: ConstraintSystem } {
  let c = circuits.get(md);
  if (!c) {
    c = {
      src: emitCircom(md.graph, {
        naive: md.manifest.naive,
        batch: batchOf(md.manifest),
        inputCommitment: inputCommitmentOf(md.manifest),
      }),
    };
    circuits.set(md, c);
  }
  return c;
}

const isDirect = (md: ModelDir) => md.manifest.circuit.backend === "direct";

/**
 * The witness of a quantized input: circom's witness calculator for circom builds; for direct builds witness.ts's
 * evaluation of the gadget plan laid out on the wires of the constraint system (built on first use).
 */
export async function circuitWitness(
  md: ModelDir,
  input: Record<string, unknown>,
): Promise<{ bin: Uint8Array; vector: () => Promise<bigint[]>; wires: () => Map<string, number> }> {
  if (!isDirect(md)) {
    const bin = await calculateWitnessBin(join(md.dir, FILES.wasm), input);
    return {
      bin,
      vector: () => witnessValues(bin),
      wires: () => symMap(join(md.dir, FILES.sym)),
    };
  }
  const c = circuitOf(md);
  c.cs ??= buildConstraintSystem(c.src, circuitInputs(c.src, md.graph, batchOf(md.manifest)));
  const cs = c.cs;
  // The circuit input object as witness.ts takes it: x[s] of a batch circuit is the array named "x[s]".
  const inputs: Record<string, bigint[]> = {};
  for (const [name, v] of Object.entries(input) as [string, unknown[]][]) {
    if (Array.isArray(v[0]))
      (v as unknown[][]).forEach((row, s) => (inputs[`${name}[${s}]`] = row.map((e) => BigInt(e as string))));
    else inputs[name] = v.map((e) => BigInt(e as string));
  }
  const vector = directWitness(cs, generateSignals(c.src.plan, inputs));
  return {
    bin: wtnsBytes(vector),
    vector: async () => vector,
    wires: () => new Map([...cs.wires].map(([name, wire]) => [`main.${name}`, wire])),
  };
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

/** Inferences one proof of a build covers (manifest `batch`; absent: 1). */
export function batchOf(m: Manifest): number {
  return m.batch ?? 1;
}

/**
 * Circuit input object for a quantized input (a single-inference build). A sha256 build's circuit takes input bytes:
 * those of q in the canonical encoding (requestCircuitInput takes a request's own bytes).
 */
export function circuitInput(md: ModelDir, q: number[]): Record<string, unknown> {
  requireSingle(md, "circuitInput");
  if (inputCommitmentOf(md.manifest) === "sha256") return requestCircuitInput(md, encodeInputBytes(md.graph, q));
  return {
    x: q.map(String),
    ...Object.fromEntries(Object.entries(md.naiveWeights).map(([k, v]) => [k, v.map(String)])),
  };
}

/**
 * Circuit input object for a request's input bytes, exactly as the request holds them (a sha256 build: the circuit
 * hashes these bytes, so they must be the request's own, not a re-encoding). Throws on a wrong length.
 */
export function requestCircuitInput(md: ModelDir, input: Uint8Array): Record<string, unknown> {
  requireSingle(md, "requestCircuitInput");
  decodeInputBytes(md.graph, input);
  if (inputCommitmentOf(md.manifest) === "sha256") return { xb: Array.from(input, String) };
  return circuitInput(md, decodeInputBytes(md.graph, input));
}

/** Circuit input object of a batch build: slot s's quantized input as x[s] (a sha256 build: its canonical bytes). */
export function batchCircuitInput(md: ModelDir, qs: readonly number[][]): Record<string, unknown> {
  requireBatchOf(md, qs.length);
  if (inputCommitmentOf(md.manifest) === "sha256") {
    return batchRequestCircuitInput(
      md,
      qs.map((q) => encodeInputBytes(md.graph, q)),
    );
  }
  return batchOf(md.manifest) === 1 ? circuitInput(md, qs[0]!) : { x: qs.map((q) => q.map(String)) };
}

/**
 * Circuit input object of a batch build for the requests' input bytes, slot s = inputs[s], exactly as the requests
 * hold them (a sha256 build hashes them). Throws on a wrong count or length.
 */
export function batchRequestCircuitInput(md: ModelDir, inputs: readonly Uint8Array[]): Record<string, unknown> {
  requireBatchOf(md, inputs.length);
  if (batchOf(md.manifest) === 1) return requestCircuitInput(md, inputs[0]!);
  const qs = inputs.map((bytes) => decodeInputBytes(md.graph, bytes));
  if (inputCommitmentOf(md.manifest) !== "sha256") return batchCircuitInput(md, qs);
  return { xb: inputs.map((bytes) => Array.from(bytes, String)) };
}

function requireSingle(md: ModelDir, what: string): void {
  const k = batchOf(md.manifest);
  if (k !== 1) throw new InputError(`${md.manifest.name} is a batch-${k} build: ${what} takes one input per slot`);
}

function requireBatchOf(md: ModelDir, n: number): void {
  const k = batchOf(md.manifest);
  if (n !== k) throw new InputError(`${md.manifest.name} proves ${k} input${k === 1 ? "" : "s"} at once, not ${n}`);
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

/**
 * The public signals of one slot (every signal of a single-inference circuit), in the manifest's order; a sha256
 * build's input hash is over `input`, by default the canonical encoding of q.
 */
function slotSignals(md: ModelDir, slot: number, q: number[], trace: Trace, input?: Uint8Array): bigint[] {
  const bytes = inputCommitmentOf(md.manifest) === "sha256" ? (input ?? encodeInputBytes(md.graph, q)) : undefined;
  return publicSignalsFor(md.manifest, q, Array.from(trace.tensors[trace.tensors.length - 1]!), slot, bytes);
}

/**
 * The public signals a single-inference build's proof of input `q` (with its interpreter trace) must have; for a
 * sha256 build, of the request input bytes `input` (default: q's canonical encoding).
 */
export function expectedPublicSignals(md: ModelDir, q: number[], trace: Trace, input?: Uint8Array): bigint[] {
  requireSingle(md, "expectedPublicSignals");
  return slotSignals(md, 0, q, trace, input);
}

/**
 * The public signals of a batch build's proof of inputs qs (one per slot, with their traces): a packed build's are
 * the slots' own, concatenated; a sha256 build's follow from the request input bytes `inputs` (default: the
 * canonical encodings of qs) and every slot's output together.
 */
export function expectedBatchSignals(
  md: ModelDir,
  qs: readonly number[][],
  traces: readonly Trace[],
  inputs?: readonly Uint8Array[],
): bigint[] {
  requireBatchOf(md, qs.length);
  if (traces.length !== qs.length) throw new InputError(`${qs.length} inputs but ${traces.length} traces`);
  if (inputCommitmentOf(md.manifest) !== "sha256") return qs.flatMap((q, s) => slotSignals(md, s, q, traces[s]!));
  return batchPublicSignals(
    md.manifest,
    qs.map((q, s) => ({
      q,
      output: Array.from(traces[s]!.tensors[traces[s]!.tensors.length - 1]!),
      input: inputs?.[s] ?? encodeInputBytes(md.graph, q),
    })),
  );
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

/** One inference of a proof: its input (tensor 0) and output (the last tensor; [label] for an argmax model). */
export interface DecodedInference {
  label?: number;
  input: number[];
  output: number[];
}

export interface ProofFile {
  format: "veriml-proof";
  modelHash: string;
  contractName: string;
  proof: Groth16Proof;
  publicSignals: string[];
  /** a sha256 build's proof: the input bytes it was made for (hex), which its input signal is the hash of */
  input?: string;
  calldata: { a: string[]; b: string[][]; c: string[]; pubSignals: string[] };
  /** output: the last tensor (for an argmax model, [label]); label: the label of an argmax model */
  decoded: DecodedInference;
  timing: { witnessMs: number; proveMs: number };
}

/** A batch build's proof: one Groth16 proof of `batch` inferences, slot s's in `decoded[s]`. */
export interface BatchProofFile extends Omit<ProofFile, "format" | "decoded" | "input"> {
  format: "veriml-batch-proof";
  batch: number;
  decoded: DecodedInference[];
  /** a sha256 build's proof: each slot's input bytes (hex), which its input signal is the hash of */
  inputs?: string[];
}

/** Quantizes a float input with the model's input scale and proves it. */
export async function proveInput(md: ModelDir, x: number[], logger: Logger = silentLogger): Promise<ProofFile> {
  return proveQuantized(md, quantizeInput(md.graph, x), logger);
}

/** Runs the prover and checks its public signals against the reference interpreter's. */
async function proveChecked(
  md: ModelDir,
  input: Record<string, unknown>,
  expected: bigint[],
  logger: Logger,
): Promise<Omit<ProofFile, "format" | "decoded">> {
  const r = await proveWitness(join(md.dir, FILES.zkey), async () => (await circuitWitness(md, input)).bin);
  const got = r.publicSignals.map(BigInt);
  if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) {
    throw new IntegrityError(`circuit public signals [${got}] differ from the reference interpreter [${expected}]`);
  }
  logger.debug({ witnessMs: r.witnessMs, proveMs: r.proveMs }, "proved");
  const cd = proofCalldata(r.proof);
  return {
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
    timing: { witnessMs: r.witnessMs, proveMs: r.proveMs },
  };
}

function decodedOf(md: ModelDir, q: number[], trace: Trace): DecodedInference {
  return {
    ...(md.graph.output.kind === "argmax" ? { label: trace.output[0]! } : {}),
    output: Array.from(trace.tensors[trace.tensors.length - 1]!),
    input: q,
  };
}

/** Proves the model on a quantized input (tensor 0). */
export async function proveQuantized(md: ModelDir, q: number[], logger: Logger = silentLogger): Promise<ProofFile> {
  requireSingle(md, "proveQuantized");
  if (inputCommitmentOf(md.manifest) === "sha256") return proveRequest(md, encodeInputBytes(md.graph, q), logger);
  const trace = runInt(md.graph, q);
  const proved = await proveChecked(md, circuitInput(md, q), expectedPublicSignals(md, q, trace), logger);
  return { format: "veriml-proof", ...proved, decoded: decodedOf(md, q, trace) };
}

/**
 * Proves the model on a request's input bytes (tensor 0 = clamp(decode(bytes), lo, hi)): what an operator proves.
 * A sha256 build's proof is for exactly these bytes (its input signal is their hash). Throws on a wrong length.
 */
export async function proveRequest(md: ModelDir, input: Uint8Array, logger: Logger = silentLogger): Promise<ProofFile> {
  requireSingle(md, "proveRequest");
  const q = decodeInputBytes(md.graph, input);
  if (inputCommitmentOf(md.manifest) !== "sha256") return proveQuantized(md, q, logger);
  const trace = runInt(md.graph, q);
  const proved = await proveChecked(
    md,
    requestCircuitInput(md, input),
    expectedPublicSignals(md, q, trace, input),
    logger,
  );
  return { format: "veriml-proof", ...proved, input: hexlify(input), decoded: decodedOf(md, q, trace) };
}

/**
 * Proves a batch build on exactly `batch` quantized inputs, slot s = qs[s] (pad unused slots with copies of used
 * ones: every slot is a full inference the verifier checks).
 */
export async function proveBatch(
  md: ModelDir,
  qs: readonly number[][],
  logger: Logger = silentLogger,
): Promise<BatchProofFile> {
  requireBatchOf(md, qs.length);
  if (inputCommitmentOf(md.manifest) === "sha256") {
    return proveBatchRequests(
      md,
      qs.map((q) => encodeInputBytes(md.graph, q)),
      logger,
    );
  }
  const traces = qs.map((q) => runInt(md.graph, q));
  const proved = await proveChecked(md, batchCircuitInput(md, qs), expectedBatchSignals(md, qs, traces), logger);
  return {
    format: "veriml-batch-proof",
    batch: qs.length,
    ...proved,
    decoded: qs.map((q, s) => decodedOf(md, q, traces[s]!)),
  };
}

/**
 * Proves a batch build on the requests' input bytes, slot s = inputs[s] (tensor 0 = clamp(decode(bytes), lo, hi)):
 * what an operator proves. A sha256 build's proof is for exactly these bytes. Throws on a wrong count or length.
 */
export async function proveBatchRequests(
  md: ModelDir,
  inputs: readonly Uint8Array[],
  logger: Logger = silentLogger,
): Promise<BatchProofFile> {
  requireBatchOf(md, inputs.length);
  const qs = inputs.map((bytes) => decodeInputBytes(md.graph, bytes));
  if (inputCommitmentOf(md.manifest) !== "sha256") return proveBatch(md, qs, logger);
  const traces = qs.map((q) => runInt(md.graph, q));
  const proved = await proveChecked(
    md,
    batchRequestCircuitInput(md, inputs),
    expectedBatchSignals(md, qs, traces, inputs),
    logger,
  );
  return {
    format: "veriml-batch-proof",
    batch: qs.length,
    ...proved,
    inputs: inputs.map((bytes) => hexlify(bytes)),
    decoded: qs.map((q, s) => decodedOf(md, q, traces[s]!)),
  };
}

/** What a proof file shows once checked: whether it verifies and, decoded from its public signals, each slot's. */
export interface Verified {
  valid: boolean;
  label?: number;
  input?: number[];
  /** batch proofs: every slot's label and input */
  slots?: { label?: number; input?: number[] }[];
}

export async function verifyProofFile(md: ModelDir, pf: ProofFile | BatchProofFile): Promise<Verified> {
  const batchFile = pf?.format === "veriml-batch-proof";
  if (!pf || !(pf.format === "veriml-proof" || batchFile) || !pf.proof || !Array.isArray(pf.publicSignals)) {
    throw new InputError("not a verifier-gen proof file");
  }
  if (pf.modelHash !== md.manifest.modelHash) return { valid: false };
  const k = batchOf(md.manifest);
  if (batchFile !== k > 1) return { valid: false };
  let valid: boolean;
  try {
    valid = await verifyGroth16(md.vkey, pf.publicSignals, pf.proof);
  } catch (e) {
    throw new InputError(`malformed proof: ${(e as Error).message}`, { cause: e });
  }
  if (inputCommitmentOf(md.manifest) === "sha256") return verifyHashedInput(md, pf, valid);
  const slots: { label?: number; input?: number[] }[] = [];
  try {
    const sig = pf.publicSignals.map(BigInt);
    for (let s = 0; s < k; s++) {
      const slot: { label?: number; input?: number[] } = {};
      const own = md.manifest.publicSignals.flatMap((spec, i) =>
        (spec.slot ?? 0) === s ? [{ spec, v: sig[i]! }] : [],
      );
      const li = own.findIndex((o) => o.spec.kind === "label");
      if (li >= 0) slot.label = Number(own[li]!.v);
      const lay = md.manifest.packing;
      if (lay) {
        const parts = unpack(
          lay,
          own.map((o) => o.v),
        );
        lay.segments.forEach((seg, i) => {
          if (seg.kind === "input") slot.input = parts[i];
          if (seg.kind === "label") slot.label = parts[i]![0];
        });
      }
      slots.push(slot);
    }
  } catch {
    /* decoding is for display only */
  }
  return k === 1 ? { valid, ...slots[0] } : { valid, slots };
}

/**
 * A sha256 build's proof shows the model maps the input bytes whose hash is its input signal: valid only with those
 * bytes (the file's `input`, or a batch file's `inputs`, one per slot, each of the model's input length, hashing to
 * the signal), which give the inputs decoded; the labels come from the packed outputs.
 */
function verifyHashedInput(md: ModelDir, pf: ProofFile | BatchProofFile, valid: boolean): Verified {
  const k = batchOf(md.manifest);
  const spec = md.manifest.publicSignals;
  const sig = pf.publicSignals.map(BigInt);
  const hi = spec.findIndex((s) => s.kind === "inputHash");
  let inputs: Uint8Array[];
  let qs: number[][];
  try {
    const hex = pf.format === "veriml-batch-proof" ? pf.inputs : [pf.input];
    if (!Array.isArray(hex) || hex.length !== k) return { valid: false };
    inputs = hex.map((h) => getBytes(h ?? "0x"));
    qs = inputs.map((bytes) => decodeInputBytes(md.graph, bytes));
  } catch {
    return { valid: false };
  }
  if (hi < 0 || sig[hi] !== inputHashSignal(concat(inputs))) return { valid: false };
  const slots: { label?: number; input?: number[] }[] = qs.map((q) => ({ input: q }));
  const packedIdx = spec.flatMap((s, i) => (s.kind === "packed" ? [i] : []));
  const lay = md.manifest.packing;
  if (lay && packedIdx.length === lay.elements && lay.segments[0]?.kind === "label") {
    const labels = unpack(
      lay,
      packedIdx.map((i) => sig[i]!),
    )[0]!;
    slots.forEach((slot, s) => (slot.label = labels[s]));
  }
  return k === 1 ? { valid, ...slots[0] } : { valid, slots };
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
  /** Inferences one proof covers (the build's batch). */
  batch: number;
  /** The whole circuit's constraints, and one slot's share (the same for a single-inference build). */
  constraints: number;
  constraints_per_slot: number;
  /** Constraints per integer op (circom.ts constraintBreakdown: counted from the gadget plan), whole circuit and per slot. */
  constraint_breakdown: Record<string, number>;
  constraint_breakdown_per_slot: Record<string, number>;
  /** Bits of every activation the graph materializes (requantizations and normalisations), by node name. */
  activation_bits: Record<string, number>;
  /** Per proof (of `batch` inferences). */
  witness_ms_median: number | null;
  prove_ms_median: number | null;
  /** Proofs made for the timings. */
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
  const batch = batchOf(md.manifest);

  // float model via onnxruntime on the source ONNX
  let floatSess: ort.InferenceSession | null = null;
  try {
    floatSess = await ort.InferenceSession.create(join(md.dir, FILES.sourceOnnx));
  } catch (e) {
    throw new ToolError("onnxruntime could not load the source model", { cause: e });
  }
  const intRunner = await IntOnnxRunner.create(g, readFileSync(join(md.dir, FILES.intOnnx)));
  let sym: Map<string, number> | undefined;

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
  /**
   * Samples waiting for the circuit witness check: a batch circuit checks `batch` of them at once (the last group
   * padded with copies of its first), every slot's public signals and traced values against its own trace.
   */
  let pending: { sample: number; q: number[]; tr: Trace }[] = [];
  const checkPending = async () => {
    if (pending.length === 0) return;
    const slots = Array.from({ length: batch }, (_, s) => pending[s] ?? pending[0]!);
    const qs = slots.map((p) => p.q);
    const traces = slots.map((p) => p.tr);
    const cw = await circuitWitness(md, batchCircuitInput(md, qs));
    const w = await cw.vector();
    sym ??= cw.wires();
    const expected = expectedBatchSignals(md, qs, traces);
    const bad = new Set<number>();
    md.manifest.publicSignals.forEach((spec, j) => {
      if (w[1 + j] !== expected[j]) bad.add(spec.slot ?? 0);
    });
    md.traceSignals.forEach((tensors, s) => {
      tensors.forEach((names, t) => {
        names.forEach((nm, e) => {
          if (!nm) return;
          const wi = sym!.get(`main.${nm}`);
          if (wi === undefined) return;
          compared++;
          if (w[wi] !== toField(traces[s]!.tensors[t]![e]!)) bad.add(s);
        });
      });
    });
    pending.forEach((p, s) => {
      witnessChecked++;
      if (!bad.has(s)) return;
      witnessMismatch++;
      logger.warn({ sample: p.sample, slot: s }, "circuit witness differs from the interpreter");
    });
    pending = [];
  };
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
      pending.push({ sample: i, q, tr });
      if (pending.length === batch) await checkPending();
    }
    if ((i + 1) % 50 === 0 || i + 1 === n) progress(i + 1, n, "executing");
  }
  await checkPending();
  await floatSess.release();
  await intRunner.release();
  const breakdown = constraintBreakdown(g, circuitOf(md).src.plan);

  // Proofs for timing: a batch build proves `batch` consecutive samples (wrapping around the set) per proof.
  const proveN = Math.min(opts.proveSamples ?? 5, n);
  const wms: number[] = [],
    pms: number[] = [];
  for (let i = 0; i < proveN; i++) {
    const xs = Array.from({ length: batch }, (_, s) => ds.inputs[(i * batch + s) % n]!);
    const pf =
      batch === 1
        ? await proveInput(md, xs[0]!, logger)
        : await proveBatch(
            md,
            xs.map((x) => quantizeInput(g, x)),
            logger,
          );
    if (!(await verifyProofFile(md, pf)).valid) throw new IntegrityError(`proof ${i} does not verify`);
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
    batch,
    constraints: md.manifest.circuit.constraints,
    constraints_per_slot: md.manifest.circuit.constraints / batch,
    constraint_breakdown: breakdown,
    constraint_breakdown_per_slot: Object.fromEntries(Object.entries(breakdown).map(([op, c]) => [op, c / batch])),
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
