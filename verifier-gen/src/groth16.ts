/**
 * circom2 compilation and Groth16 (snarkjs) setup / prove / verify, plus a locally
 * generated powers-of-tau for development (production: pass a public ceremony file).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import * as snarkjs from "snarkjs";
import { ToolError } from "./errors.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { readR1cs } from "./r1cs.js";

const require = createRequire(import.meta.url);
const execFileP = promisify(execFile);

export { SNARK_SCALAR_FIELD } from "./signals.js";
export const BN254_BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** Adapter: snarkjs logs through {info, debug, warn, error}(string). */
function snarkLogger(logger: Logger) {
  return {
    info: (m: string) => logger.debug(m),
    debug: () => undefined,
    warn: (m: string) => logger.warn(m),
    error: (m: string) => logger.error(m),
  };
}

/** Smallest power of two domain (as power) that snarkjs accepts for this circuit. */
export function ptauPowerFor(nConstraints: number, nPublic: number): number {
  const need = nConstraints + nPublic + 1;
  let p = 1;
  while (2 ** p < need) p++;
  return Math.max(p, 8);
}

/**
 * Seconds a local powers-of-tau file of 2^power takes on a 2-core machine: measured 185 s at 2^12 and
 * 598 s at 2^14 (README, issue 14), about x1.8 per power. Only for the progress estimate.
 */
export const estimatedPtauSeconds = (power: number): number => Math.round(185 * 1.8 ** (power - 12));

/** Runs `work`, logging "<what>: <elapsed> s of about <estimate> s" every `everyMs` until it ends. */
export async function withProgress<T>(
  logger: Logger,
  what: string,
  estimateS: number | undefined,
  work: () => Promise<T>,
  everyMs = 15_000,
): Promise<T> {
  const t0 = Date.now();
  const timer = setInterval(() => {
    const elapsed = Math.round((Date.now() - t0) / 1000);
    const left = estimateS === undefined ? "" : ` of about ${estimateS} s (${Math.max(0, estimateS - elapsed)} s left)`;
    logger.info({ elapsedS: elapsed, estimateS }, `${what}: ${elapsed} s${left}`);
  }, everyMs);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A locally generated (single, deterministic-named, random-entropy) powers-of-tau file of
 * at least 2^power, cached in `cacheDir` (default .veriml/ptau). NOT a secure ceremony:
 * for development and tests only.
 */
export async function ensureLocalPtau(power: number, cacheDir: string, logger: Logger = silentLogger): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  for (let p = power; p <= 20; p++) {
    const f = join(cacheDir, `veriml-local-${p}.ptau`);
    if (existsSync(f)) return f;
  }
  const final = join(cacheDir, `veriml-local-${power}.ptau`);
  const estimate = estimatedPtauSeconds(power);
  logger.info(
    { power, file: final, estimateS: estimate },
    `generating a local powers-of-tau 2^${power} (development only; about ${estimate} s on 2 cores; cached for later builds)`,
  );
  const t0 = Date.now();
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const p0 = join(cacheDir, `tmp-${power}-0.ptau`);
  const p1 = join(cacheDir, `tmp-${power}-1.ptau`);
  const p2 = join(cacheDir, `tmp-${power}-2.ptau`);
  const entropy = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  await withProgress(logger, `powers-of-tau 2^${power}`, estimate, async () => {
    await snarkjs.powersOfTau.newAccumulator(curve, power, p0, snarkLogger(logger));
    logger.info("powers-of-tau: contributing");
    await snarkjs.powersOfTau.contribute(p0, p1, "veriml-local", entropy, snarkLogger(logger));
    logger.info("powers-of-tau: preparing phase 2 (most of the time)");
    await snarkjs.powersOfTau.preparePhase2(p1, p2, snarkLogger(logger));
  });
  renameSync(p2, final);
  rmSync(p0, { force: true });
  rmSync(p1, { force: true });
  logger.info({ ms: Date.now() - t0 }, "powers-of-tau ready");
  return final;
}

export interface CompileResult {
  r1cs: string;
  wasm: string;
  sym: string;
  constraints: number;
  wires: number;
  publicOutputs: number;
  publicInputs: number;
  ms: number;
}

/** Compile `dir/<name>.circom` with circom2 (WASI) into dir. */
export async function compileCircom(
  dir: string,
  name: string,
  logger: Logger = silentLogger,
  optimization: "O1" | "O2" = "O2",
): Promise<CompileResult> {
  const cli = require.resolve("circom2/cli.js");
  const t0 = Date.now();
  try {
    const { stdout } = await execFileP(
      process.execPath,
      [cli, `${name}.circom`, "--r1cs", "--wasm", "--sym", `--${optimization}`, "-o", "."],
      {
        cwd: dir,
        maxBuffer: 64 << 20,
      },
    );
    logger.debug({ stdout }, "circom output");
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw new ToolError(
      `circom failed to compile ${name}.circom: ${(err.stderr || err.stdout || "").trim().split("\n").slice(-5).join(" | ")}`,
      {
        cause: e,
      },
    );
  }
  const r1cs = join(dir, `${name}.r1cs`);
  const info = readR1cs(r1cs, false);
  return {
    r1cs,
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    sym: join(dir, `${name}.sym`),
    constraints: info.nConstraints,
    wires: info.nWires,
    publicOutputs: info.nPubOut,
    publicInputs: info.nPubIn,
    ms: Date.now() - t0,
  };
}

/** Groth16 setup: phase-2 key from the r1cs and ptau, one contribution, verification key. */
export async function setupGroth16(
  r1cs: string,
  ptau: string,
  zkeyOut: string,
  logger: Logger = silentLogger,
  entropy?: string,
): Promise<snarkjs.VerificationKey> {
  const tmp = `${zkeyOut}.0`;
  try {
    await withProgress(logger, "Groth16 setup (phase 2)", undefined, async () => {
      await snarkjs.zKey.newZKey(r1cs, ptau, tmp, snarkLogger(logger));
      const e = entropy ?? Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16)).join("");
      await snarkjs.zKey.contribute(tmp, zkeyOut, "veriml verifier-gen", e, snarkLogger(logger));
    });
  } catch (e) {
    throw new ToolError(`Groth16 setup failed (is the powers-of-tau large enough?): ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    rmSync(tmp, { force: true });
  }
  return snarkjs.zKey.exportVerificationKey(zkeyOut);
}

const wcCache = new Map<string, Promise<WitnessCalculator>>();
const zkeyCache = new Map<string, Uint8Array>();

/** Witness calculator for a circuit wasm (compiled once per process, wasm only: no generated JS is run). */
function witnessCalculator(wasm: string): Promise<WitnessCalculator> {
  let p = wcCache.get(wasm);
  if (!p) {
    p = WitnessCalculatorBuilder(readFileSync(wasm));
    wcCache.set(wasm, p);
  }
  return p;
}

function toBigInts(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toBigInts);
  if (typeof v === "number" || typeof v === "string") return BigInt(v);
  return v;
}

// One witness at a time per calculator: circom_runtime computes into the instance's memory and reads the
// result back after an await, so two interleaved calls can return each other's witness.
const wcQueue = new Map<string, Promise<unknown>>();

/** Binary .wtns content for an input object. */
export async function calculateWitnessBin(wasm: string, input: Record<string, unknown>): Promise<Uint8Array> {
  const run = async (): Promise<Uint8Array> => {
    try {
      const wc = await witnessCalculator(wasm);
      return await wc.calculateWTNSBin(
        Object.fromEntries(Object.entries(input).map(([k, v]) => [k, toBigInts(v)])),
        true,
      );
    } catch (e) {
      throw new ToolError(`witness generation failed: ${(e as Error).message.split("\n")[0]}`, { cause: e });
    }
  };
  const previous = wcQueue.get(wasm) ?? Promise.resolve();
  const mine = previous.then(run, run);
  wcQueue.set(
    wasm,
    mine.catch(() => undefined),
  );
  return mine;
}

export async function calculateWitness(wasm: string, input: Record<string, unknown>): Promise<bigint[]> {
  return witnessValues(await calculateWitnessBin(wasm, input));
}

/** The values of a .wtns file's content. */
export async function witnessValues(data: Uint8Array): Promise<bigint[]> {
  return snarkjs.wtns.exportJson({ type: "mem", data });
}

export interface ProveResult {
  proof: snarkjs.Groth16Proof;
  publicSignals: string[];
  witnessMs: number;
  proveMs: number;
}

export async function proveGroth16(zkey: string, wasm: string, input: Record<string, unknown>): Promise<ProveResult> {
  return proveWitness(zkey, () => calculateWitnessBin(wasm, input));
}

/** A proof from a witness (.wtns content) that `witness` computes; the proving key is read once per process. */
export async function proveWitness(
  zkey: string,
  witness: () => Uint8Array | Promise<Uint8Array>,
): Promise<ProveResult> {
  let zk = zkeyCache.get(zkey);
  if (!zk) {
    zk = readFileSync(zkey);
    zkeyCache.set(zkey, zk);
  }
  const t0 = performance.now();
  const data = await witness();
  const t1 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove({ type: "mem", data: zk }, { type: "mem", data });
  const t2 = performance.now();
  return { proof, publicSignals, witnessMs: t1 - t0, proveMs: t2 - t1 };
}

export async function verifyGroth16(
  vkey: object,
  publicSignals: (string | bigint)[],
  proof: snarkjs.Groth16Proof,
): Promise<boolean> {
  return snarkjs.groth16.verify(vkey, publicSignals.map(String), proof);
}

/** Stop snarkjs's worker threads (call once when done, or the process will not exit). */
export async function terminateSnarkjs(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  if (g.curve_bn128) {
    await g.curve_bn128.terminate();
    delete g.curve_bn128;
  }
}

/** Solidity calldata of a proof (G2 coordinates in EIP-197 order: imaginary part first). */
export function proofCalldata(proof: snarkjs.Groth16Proof): {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
} {
  const B = (s: string) => BigInt(s);
  return {
    a: [B(proof.pi_a[0]!), B(proof.pi_a[1]!)],
    b: [
      [B(proof.pi_b[0]![1]!), B(proof.pi_b[0]![0]!)],
      [B(proof.pi_b[1]![1]!), B(proof.pi_b[1]![0]!)],
    ],
    c: [B(proof.pi_c[0]!), B(proof.pi_c[1]!)],
  };
}

/** Proof size in bytes as sent on chain (8 words). */
export const PROOF_BYTES = 8 * 32;

export function defaultPtauCacheDir(): string {
  // <repo>/.veriml/ptau (gitignored); this file lives in <repo>/verifier-gen/src
  return resolve(dirname(new URL(import.meta.url).pathname), "../../.veriml/ptau");
}

/** The verification key of a proving key. */
export async function exportVerificationKey(zkey: string): Promise<snarkjs.VerificationKey> {
  return snarkjs.zKey.exportVerificationKey(zkey);
}
