/**
 * DEVELOPMENT-ONLY Groth16 setup: straight from a circom .r1cs to a snarkjs proving key (.zkey), with no
 * powers-of-tau file. NOT a trusted setup: never use its keys in production.
 *
 * snarkjs's development path (groth16.ts: a local powers of tau, `newZKey`, one contribution) computes
 * tau^i, alpha tau^i, beta tau^i in G1/G2 for every i below 2^k and their Lagrange forms, then specialises
 * them to the circuit; at 2^18 that takes hours on 2 cores. Here the process draws the toxic waste itself
 * (tau, alpha, beta, gamma, delta: uniformly random nonzero field elements from the OS CSPRNG, or derived
 * from `entropy` for reproducible tests), evaluates the QAP at tau with plain field arithmetic (Lagrange
 * basis values L_j(tau) = omega^j (tau^n - 1) / (n (tau - omega^j)) with one batch inversion), and then
 * needs one fixed-base scalar multiplication per point of the key: a windowed table of the generator, so
 * 15-20 mixed additions per point in ffjavascript's wasm instead of a double-and-add, on worker threads.
 *
 * The file has exactly the layout of the key snarkjs ends with after `newZKey` + `contribute` (groth16.ts's
 * setupGroth16): sections 1..10 in that order, of the same sizes except section 10 (newZKey alone writes
 * 1, 2, 4, 3, 9, 8, 5, 6, 7, 10; readers go by the section table); points affine, little-endian Montgomery
 * ("LEM"), the point at infinity as zero bytes (where snarkjs has it: wires without A / B terms); the extra
 * rows snarkjs adds so that the public signals are bound (A gets wire s with coefficient 1 at row
 * nConstraints + s, s = 0..nPublic); IC (ONE and the public signals) = (beta A_s + alpha B_s + C_s) / gamma
 * and C (the other wires) = the same over delta; H_i = L^{2n}_{2i+1}(tau) / delta, the Lagrange basis of the
 * doubled domain at its odd points, which is what snarkjs's prover multiplies its (A*B - C) values on the
 * odd coset with; the coefficient section as coef * R^2 mod r (R = 2^256). What differs from a snarkjs
 * key: gamma is random instead of 1, and section 10 holds zero contributions (as newZKey leaves it) after a
 * 64-byte "circuit hash" that is a BLAKE2b of the .r1cs file. snarkjs's prover and `exportVerificationKey`
 * never read section 10; `snarkjs zkey verify` needs the ptau this path does not have.
 *
 * Why it is sound to use for development: the key is a genuine Groth16 CRS for the circuit with honestly
 * sampled trapdoors, so proving, verification, the exported verification key, the Solidity verifier,
 * zero-knowledge and the rejection of false statements behave exactly as with a ceremony key, for anyone
 * who does not know the trapdoors. One party (this process) knows them while it runs (whoever kept tau,
 * alpha, beta, delta could forge proofs for this key), which is the same trust as the single-party local
 * ceremony this replaces; the secrets are dropped when the function returns (JavaScript cannot guarantee
 * that BigInts are erased, so the machine must be trusted). Production keys must come from a public
 * phase 1 (e.g. the Perpetual Powers of Tau) and a multi-party phase 2 with snarkjs.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";

/** BN254 scalar field (the r1cs prime). */
const FR = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254 base field. */
const FQ = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Bytes per field element (both fields). */
const N8 = 32;
/** R^2 mod r for the Montgomery radix R = 2^256: snarkjs stores the coefficient section as coef * R^2 mod r. */
const MONT_R2 = ((1n << 256n) % FR) ** 2n % FR;
/** Bits of a scalar (r < 2^254). */
const SCALAR_BITS = 254;

export interface DevelopmentZkeyOptions {
  /** Derive the toxic waste from these bytes instead of the OS CSPRNG (reproducible tests ONLY). */
  entropy?: Uint8Array;
  logger?: Logger;
  /** Threads for the scalar multiplications (default: the available cores, at most 8; 1 for small circuits). */
  threads?: number;
}

// ---------------------------------------------------------------------------------------------
// ffjavascript (untyped): only what is used here. The specifier is a variable so that TypeScript
// does not look for declarations (the repository's shims file is owned elsewhere).

interface FfField {
  w: Uint8Array[];
  toObject(a: Uint8Array): bigint;
}
interface FfCurve {
  Fr: FfField;
  tm: { code?: Uint8Array; pG1gen: number; pG2gen: number };
  terminate(): Promise<void>;
}
const FFJAVASCRIPT: string = "ffjavascript";

async function loadCurve(): Promise<FfCurve> {
  const ff = (await import(FFJAVASCRIPT)) as {
    getCurveFromName(name: string, singleThread?: boolean): Promise<FfCurve>;
  };
  return ff.getCurveFromName("bn128", true);
}

// ---------------------------------------------------------------------------------------------
// Field arithmetic mod r (BigInt).

const mod = (a: bigint): bigint => {
  const x = a % FR;
  return x < 0n ? x + FR : x;
};

function pow(b: bigint, e: bigint): bigint {
  let result = 1n;
  let base = mod(b);
  let x = e;
  while (x > 0n) {
    if (x & 1n) result = (result * base) % FR;
    base = (base * base) % FR;
    x >>= 1n;
  }
  return result;
}

const inv = (a: bigint): bigint => {
  if (mod(a) === 0n) throw new Error("devsetup: inverse of zero");
  return pow(a, FR - 2n);
};

/** In-place batch inversion (Montgomery's trick): one inversion and 3(n-1) multiplications. */
function batchInvert(xs: bigint[]): void {
  const n = xs.length;
  if (n === 0) return;
  const prefix = new Array<bigint>(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = (acc * xs[i]!) % FR;
  }
  let accInv = inv(acc);
  for (let i = n - 1; i >= 0; i--) {
    const x = xs[i]!;
    xs[i] = (accInv * prefix[i]!) % FR;
    accInv = (accInv * x) % FR;
  }
}

function readLE32(buf: Buffer, off: number): bigint {
  return (
    buf.readBigUInt64LE(off) |
    (buf.readBigUInt64LE(off + 8) << 64n) |
    (buf.readBigUInt64LE(off + 16) << 128n) |
    (buf.readBigUInt64LE(off + 24) << 192n)
  );
}

const M64 = (1n << 64n) - 1n;
function writeLE32(buf: Buffer, off: number, v: bigint): void {
  buf.writeBigUInt64LE(v & M64, off);
  buf.writeBigUInt64LE((v >> 64n) & M64, off + 8);
  buf.writeBigUInt64LE((v >> 128n) & M64, off + 16);
  buf.writeBigUInt64LE(v >> 192n, off + 24);
}

// ---------------------------------------------------------------------------------------------
// Toxic waste.

interface ToxicWaste {
  tau: bigint;
  alpha: bigint;
  beta: bigint;
  gamma: bigint;
  delta: bigint;
}

/**
 * Uniform nonzero scalars: 512 random bits reduced mod r (bias < 2^-250). With `entropy`, the bits are
 * SHA-512(domain tag, label, counter, entropy); tau is redrawn while it lies on the 2n-th roots of unity
 * (where the Lagrange formula divides by zero; probability below 2^-225).
 */
function drawToxicWaste(domainSize: number, entropy: Uint8Array | undefined): ToxicWaste {
  const draw = (label: string, ok: (x: bigint) => boolean): bigint => {
    for (let counter = 0; ; counter++) {
      let bytes: Buffer;
      if (entropy) {
        const ctr = Buffer.alloc(4);
        ctr.writeUInt32BE(counter);
        bytes = createHash("sha512")
          .update("veriml devsetup v1\0")
          .update(label)
          .update("\0")
          .update(ctr)
          .update(entropy)
          .digest();
      } else {
        bytes = randomBytes(64);
      }
      const x = BigInt(`0x${bytes.toString("hex")}`) % FR;
      bytes.fill(0);
      if (x !== 0n && ok(x)) return x;
    }
  };
  const always = () => true;
  const twoN = BigInt(2 * domainSize);
  return {
    tau: draw("tau", (t) => pow(t, twoN) !== 1n),
    alpha: draw("alpha", always),
    beta: draw("beta", always),
    gamma: draw("gamma", always),
    delta: draw("delta", always),
  };
}

// ---------------------------------------------------------------------------------------------
// R1CS.

interface R1csFile {
  nVars: number;
  nOutputs: number;
  nPubInputs: number;
  nConstraints: number;
  /** The file contents, and where section 2 (constraints) starts. */
  buf: Buffer;
  constraintsStart: number;
  constraintsEnd: number;
}

function parseR1cs(buf: Buffer, file: string): R1csFile {
  if (buf.toString("ascii", 0, 4) !== "r1cs") throw new Error(`${file} is not an r1cs file`);
  const nSections = buf.readUInt32LE(8);
  const sections = new Map<number, { start: number; size: number }>();
  let off = 12;
  for (let i = 0; i < nSections; i++) {
    const id = buf.readUInt32LE(off);
    const size = Number(buf.readBigUInt64LE(off + 4));
    if (!sections.has(id)) sections.set(id, { start: off + 12, size });
    off += 12 + size;
  }
  const header = sections.get(1);
  const cons = sections.get(2);
  if (!header || !cons) throw new Error(`${file}: missing r1cs header or constraints section`);
  let p = header.start;
  const n8 = buf.readUInt32LE(p);
  p += 4;
  if (n8 !== N8) throw new Error(`${file}: field elements of ${n8} bytes (only bn128 is supported)`);
  const prime = readLE32(buf, p);
  p += n8;
  if (prime !== FR) throw new Error(`${file}: the r1cs prime is not the bn128 scalar field`);
  const nVars = buf.readUInt32LE(p);
  const nOutputs = buf.readUInt32LE(p + 4);
  const nPubInputs = buf.readUInt32LE(p + 8);
  // p + 12: private inputs, p + 16: labels (u64)
  const nConstraints = buf.readUInt32LE(p + 24);
  return {
    nVars,
    nOutputs,
    nPubInputs,
    nConstraints,
    buf,
    constraintsStart: cons.start,
    constraintsEnd: cons.start + cons.size,
  };
}

/** snarkjs's zkey_new.js: cirPower = log2(nConstraints + nPublic) + 1 (floor log2; so the domain is > m + nPublic). */
function domainPower(nConstraints: number, nPublic: number): number {
  const v = nConstraints + nPublic;
  let l = 0;
  while (2 ** (l + 1) <= v) l++;
  return l + 1;
}

// ---------------------------------------------------------------------------------------------
// Fixed-base scalar multiplication in ffjavascript's wasm (its own instance and memory per thread).

/** The WebAssembly JS API (the repository's lib settings do not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (code: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface EngineParams {
  /** ffjavascript's bn128 wasm module */
  code: Uint8Array;
  prefix: "g1m" | "g2m";
  /** address of the generator (jacobian, z = 1) in that module's static data */
  pGen: number;
  /** window bits (2..17) */
  w: number;
}

/** scalars: count * 32 bytes (little-endian, standard form, < r) -> count affine points (LEM). */
type MulFn = (scalars: Uint8Array, count: number) => Uint8Array;

/** Window size minimising (mixed additions per point) * points + (table build, about 1.7 additions per entry). */
function bestWindow(nPoints: number, maxW = 16): number {
  let best = 2;
  let bestCost = Infinity;
  for (let w = 2; w <= maxW; w++) {
    const nWin = Math.ceil(SCALAR_BITS / w);
    const cost = nPoints * nWin + nWin * 2 ** w * 1.7;
    if (cost < bestCost) {
      bestCost = cost;
      best = w;
    }
  }
  return best;
}

/**
 * k*G for many k and one generator G: a table T[j][d] = d * 2^(w j) * G (affine), then each product is
 * the sum over windows j of T[j][digit_j(k)]: ceil(254 / w) mixed additions per point, then a batch
 * conversion to affine (one inversion per 2048 points). Zero scalars give the point at infinity, which
 * the wasm writes as all-zero bytes (as snarkjs does for wires without terms).
 *
 * SELF-CONTAINED on purpose (no imports, no references outside its body, plain JavaScript after type
 * stripping): worker threads run it from its source text (`fixedBaseEngine.toString()`).
 */
function fixedBaseEngine(wasm: WasmApi, params: EngineParams): MulFn {
  type Fn = (...args: number[]) => number;
  const { code, prefix, pGen, w } = params;
  const n8 = 32; // bytes per scalar and per base-field element
  const nf8 = prefix === "g1m" ? n8 : 2 * n8; // G2 coordinates are in Fq2
  const sA = 2 * nf8; // affine point
  const sJ = 3 * nf8; // jacobian point
  const nWin = Math.ceil(254 / w);
  const entries = 2 ** w;
  const BATCH = 2048;

  const memory = new wasm.Memory({ initial: 32 });
  const ex = new wasm.Instance(new wasm.Module(code), { env: { memory } }).exports as Record<string, Fn | undefined>;
  const fn = (name: string): Fn => {
    const f = ex[`${prefix}_${name}`];
    if (!f) throw new Error(`devsetup: wasm lacks ${prefix}_${name}`);
    return f;
  };
  const addMixed = fn("addMixed");
  const zero = fn("zero");
  const toJacobian = fn("toJacobian");
  const toAffine = fn("toAffine");
  const batchToAffine = fn("batchToAffine");

  // Memory: [module statics | table | jacobian scratch | affine batch | base] then wasm scratch (u32[0]).
  const align = (x: number) => Math.ceil(x / 64) * 64;
  const staticEnd = new Uint32Array(memory.buffer)[0]!;
  if (pGen + sJ > staticEnd) throw new Error("devsetup: unexpected wasm memory layout");
  const table = align(staticEnd);
  const jacEntries = Math.max(entries, BATCH);
  const jac = align(table + nWin * entries * sA);
  const aff = align(jac + jacEntries * sJ);
  const base = align(aff + BATCH * sA);
  const end = base + sA + (1 << 20) + 4 * jacEntries * nf8; // + batchToAffine's scratch (it grows with the batch)
  memory.grow(Math.ceil(Math.max(0, end - memory.buffer.byteLength) / 65536));
  const u8 = new Uint8Array(memory.buffer);
  new Uint32Array(memory.buffer)[0] = base + sA;

  u8.copyWithin(base, pGen, pGen + sA); // the generator, affine
  for (let j = 0; j < nWin; j++) {
    // jac[d] = d * base for d = 1 .. 2^w - 1, into T[j] as affine; then base <- 2^w * base
    toJacobian(base, jac + sJ);
    for (let d = 2; d < entries; d++) addMixed(jac + (d - 1) * sJ, base, jac + d * sJ);
    batchToAffine(jac + sJ, entries - 1, table + (j * entries + 1) * sA);
    addMixed(jac + (entries - 1) * sJ, base, jac);
    toAffine(jac, base);
  }

  // window j covers bits [j w, j w + w) of the 256-bit little-endian scalar
  const byteOff: number[] = [];
  const shift: number[] = [];
  const mask: number[] = [];
  for (let j = 0; j < nWin; j++) {
    const bit = j * w;
    byteOff.push(bit >> 3);
    shift.push(bit & 7);
    mask.push(2 ** Math.min(w, 8 * n8 - bit) - 1);
  }
  const padded = new Uint8Array(n8 + 4);

  return (scalars: Uint8Array, count: number): Uint8Array => {
    const out = new Uint8Array(count * sA);
    for (let i0 = 0; i0 < count; i0 += BATCH) {
      const nb = Math.min(BATCH, count - i0);
      for (let i = 0; i < nb; i++) {
        const acc = jac + i * sJ;
        zero(acc);
        padded.set(scalars.subarray((i0 + i) * n8, (i0 + i + 1) * n8));
        for (let j = 0; j < nWin; j++) {
          const b = byteOff[j]!;
          const v = padded[b]! | (padded[b + 1]! << 8) | (padded[b + 2]! << 16);
          const d = (v >>> shift[j]!) & mask[j]!;
          if (d !== 0) addMixed(acc, table + (j * entries + d) * sA, acc);
        }
      }
      batchToAffine(jac, nb, aff);
      out.set(u8.subarray(aff, aff + nb * sA), i0 * sA);
    }
    padded.fill(0);
    return out;
  };
}

/**
 * Worker-thread body (CommonJS, eval'd). `__name` / `__defProp` are defined because TypeScript loaders
 * that keep function names (tsx, esbuild keepNames) insert calls to them into transpiled function bodies.
 */
const WORKER_SOURCE = `"use strict";
var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });
const { parentPort, workerData } = require("node:worker_threads");
const fixedBaseEngine = (${fixedBaseEngine.toString()});
const mul = fixedBaseEngine(WebAssembly, workerData);
parentPort.on("message", ({ id, scalars, count }) => {
  try {
    const out = mul(scalars, count);
    scalars.fill(0);
    parentPort.postMessage({ id, out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.stack || e) });
  }
});
parentPort.postMessage({ ready: true });
`;

type WorkerReply = { ready: true } | { id: number; out?: Uint8Array; error?: string };

/**
 * The same engine on several threads (one table each), splitting every batch of scalars between them;
 * with one thread, or if workers cannot start, it runs in this thread.
 */
class FixedBasePool {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly workers: Worker[],
    private readonly local: MulFn | undefined,
  ) {
    for (const wk of workers) {
      wk.on("message", (m: WorkerReply) => {
        if ("ready" in m) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.out) p.resolve(m.out);
        else p.reject(new Error(`devsetup worker: ${m.error ?? "no result"}`));
      });
      wk.on("error", (e: Error) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
    }
  }

  get threads(): number {
    return this.local ? 1 : this.workers.length;
  }

  static async create(params: EngineParams, threads: number, logger: Logger): Promise<FixedBasePool> {
    if (threads > 1) {
      const workers: Worker[] = [];
      try {
        await Promise.all(
          Array.from({ length: threads }, async () => {
            const wk = new Worker(WORKER_SOURCE, { eval: true, workerData: params });
            workers.push(wk);
            // (not removeAllListeners: Worker keeps internal listeners of its own)
            const onError = (e: Error) => failed(e);
            const onExit = (code: number) => failed(new Error(`devsetup worker exited with code ${code}`));
            let failed: (e: Error) => void = () => undefined;
            await new Promise<void>((resolve, reject) => {
              failed = reject;
              wk.once("message", () => resolve());
              wk.on("error", onError);
              wk.on("exit", onExit);
            });
            wk.off("error", onError);
            wk.off("exit", onExit);
          }),
        );
        return new FixedBasePool(workers, undefined);
      } catch (e) {
        await Promise.all(workers.map((wk) => wk.terminate()));
        logger.warn({ err: String(e) }, "devsetup: worker threads unavailable, computing in this thread");
      }
    }
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    return new FixedBasePool([], fixedBaseEngine(wasm, params));
  }

  /** Products for `count` scalars (32 bytes each), in order; `onProgress` after each chunk. */
  async mul(scalars: Uint8Array, count: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const CHUNK = 1 << 14;
    const chunks: Array<[number, number]> = [];
    for (let i = 0; i < count; i += CHUNK) chunks.push([i, Math.min(CHUNK, count - i)]);
    const parts: Uint8Array[] = new Array<Uint8Array>(chunks.length);
    let done = 0;
    if (this.local) {
      for (let k = 0; k < chunks.length; k++) {
        const [i, n] = chunks[k]!;
        parts[k] = this.local(scalars.subarray(i * N8, (i + n) * N8), n);
        onProgress?.((done += n));
        await new Promise<void>((resolve) => setImmediate(resolve)); // let timers (progress logs) run
      }
    } else {
      // each worker takes the next chunk when it finishes one
      let next = 0;
      await Promise.all(
        this.workers.map(async (wk) => {
          while (next < chunks.length) {
            const k = next++;
            const [i, n] = chunks[k]!;
            const id = this.nextId++;
            const part = new Uint8Array(scalars.subarray(i * N8, (i + n) * N8)); // a copy, transferred
            parts[k] = await new Promise<Uint8Array>((resolve, reject) => {
              this.pending.set(id, { resolve, reject });
              wk.postMessage({ id, scalars: part, count: n }, [part.buffer]);
            });
            onProgress?.((done += n));
          }
        }),
      );
    }
    const sA = parts[0] ? parts[0].byteLength / chunks[0]![1] : 0;
    const out = new Uint8Array(count * sA);
    chunks.forEach(([i], k) => out.set(parts[k]!, i * sA));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((wk) => wk.terminate()));
  }
}

/** Scalars (BigInt, reduced) into the 32-byte little-endian buffer the engine takes. */
function scalarBytes(xs: readonly bigint[]): Buffer {
  const b = Buffer.alloc(xs.length * N8);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (x !== 0n) writeLE32(b, i * N8, x);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Writing.

class ZkeyWriter {
  private pos = 0;
  private constructor(private readonly fh: Awaited<ReturnType<typeof open>>) {}

  static async create(path: string, nSections: number): Promise<ZkeyWriter> {
    const w = new ZkeyWriter(await open(path, "w"));
    const head = Buffer.alloc(12);
    head.write("zkey", 0, "ascii");
    head.writeUInt32LE(1, 4); // version
    head.writeUInt32LE(nSections, 8);
    await w.write(head);
    return w;
  }

  private async write(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.byteLength) {
      const { bytesWritten } = await this.fh.write(b, off, b.byteLength - off, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }

  async section(id: number, parts: Uint8Array[]): Promise<void> {
    const size = parts.reduce((s, p) => s + p.byteLength, 0);
    const h = Buffer.alloc(12);
    h.writeUInt32LE(id, 0);
    h.writeBigUInt64LE(BigInt(size), 4);
    await this.write(h);
    for (const p of parts) await this.write(p);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function u32(...xs: number[]): Buffer {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => b.writeUInt32LE(x, 4 * i));
  return b;
}

function le32(x: bigint): Buffer {
  const b = Buffer.alloc(N8);
  writeLE32(b, 0, x);
  return b;
}

// ---------------------------------------------------------------------------------------------

/**
 * Writes a Groth16 proving key for `r1csPath` to `zkeyPath` in snarkjs's .zkey format, with toxic waste
 * this process draws and drops. DEVELOPMENT ONLY (see the header of this file).
 */
export async function developmentZkey(
  r1csPath: string,
  zkeyPath: string,
  options: DevelopmentZkeyOptions = {},
): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const tStart = performance.now();
  let tStep = tStart;
  const lap = (): number => {
    const now = performance.now();
    const ms = Math.round(now - tStep);
    tStep = now;
    return ms;
  };

  const r1cs = parseR1cs(await readFile(r1csPath), r1csPath);
  const { nVars, nConstraints: m, buf } = r1cs;
  const nPublic = r1cs.nOutputs + r1cs.nPubInputs;
  const power = domainPower(m, nPublic);
  const n = 2 ** power;
  if (power >= 28) throw new Error(`devsetup: circuit too big (domain 2^${power})`);
  if (nVars < nPublic + 1) throw new Error(`${r1csPath}: ${nVars} wires but ${nPublic} public signals`);
  logger.info(
    { r1cs: r1csPath, constraints: m, wires: nVars, nPublic, domainSize: n, ms: lap() },
    `development Groth16 setup (NOT a ceremony): ${m} constraints, ${nVars} wires, domain 2^${power}`,
  );

  const curve = await loadCurve();
  const tmp = `${zkeyPath}.${process.pid}.tmp`;
  try {
    const code = curve.tm.code;
    if (!code) throw new Error("devsetup: ffjavascript did not expose its wasm (single-thread curve expected)");
    const omega = curve.Fr.toObject(curve.Fr.w[power]!);
    const omega2 = curve.Fr.toObject(curve.Fr.w[power + 1]!);
    if (pow(omega, BigInt(n)) !== 1n || pow(omega, BigInt(n / 2)) !== FR - 1n || (omega2 * omega2) % FR !== omega) {
      throw new Error("devsetup: unexpected roots of unity");
    }

    // ---- toxic waste and the QAP at tau (field arithmetic only) ----
    let tw: ToxicWaste | undefined = drawToxicWaste(n, options.entropy);
    const { tau, alpha, beta } = tw;
    const gammaInv = inv(tw.gamma);
    const deltaInv = inv(tw.delta);

    // L_j(tau) for the constraints and the public-signal rows: omega^j (tau^n - 1) / (n (tau - omega^j)).
    const nRows = m + nPublic + 1;
    const zOverN = mod((pow(tau, BigInt(n)) - 1n) * inv(BigInt(n)));
    const L = new Array<bigint>(nRows);
    const wj = new Array<bigint>(nRows);
    let x = 1n;
    for (let j = 0; j < nRows; j++) {
      wj[j] = x;
      L[j] = mod(tau - x);
      x = (x * omega) % FR;
    }
    batchInvert(L);
    for (let j = 0; j < nRows; j++) L[j] = (((wj[j]! * zOverN) % FR) * L[j]!) % FR;

    // A_s(tau), B_s(tau), C_s(tau) per wire, and the coefficient section (A and B terms, coef * R^2).
    const a = new Array<bigint>(nVars).fill(0n);
    const b = new Array<bigint>(nVars).fill(0n);
    const c = new Array<bigint>(nVars).fill(0n);
    const coefEntry = 12 + N8;
    let nTermsAB = 0;
    {
      let p = r1cs.constraintsStart;
      for (let k = 0; k < m; k++)
        for (let mat = 0; mat < 3; mat++) {
          const nt = buf.readUInt32LE(p);
          p += 4 + nt * (4 + N8);
          if (mat < 2) nTermsAB += nt;
        }
      if (p !== r1cs.constraintsEnd) throw new Error(`${r1csPath}: constraints section has an unexpected size`);
    }
    const nCoefs = nTermsAB + nPublic + 1;
    const coefs = Buffer.alloc(4 + nCoefs * coefEntry);
    coefs.writeUInt32LE(nCoefs, 0);
    let cp = 4;
    const putCoef = (mat: number, k: number, s: number, v: bigint) => {
      coefs.writeUInt32LE(mat, cp);
      coefs.writeUInt32LE(k, cp + 4);
      coefs.writeUInt32LE(s, cp + 8);
      writeLE32(coefs, cp + 12, (v * MONT_R2) % FR);
      cp += coefEntry;
    };
    {
      const acc = [a, b, c];
      let p = r1cs.constraintsStart;
      for (let k = 0; k < m; k++) {
        const Lk = L[k]!;
        for (let mat = 0; mat < 3; mat++) {
          const arr = acc[mat]!;
          const nt = buf.readUInt32LE(p);
          p += 4;
          for (let t = 0; t < nt; t++) {
            const s = buf.readUInt32LE(p);
            if (s >= nVars) throw new Error(`${r1csPath}: constraint ${k} refers to wire ${s} of ${nVars}`);
            const coef = readLE32(buf, p + 4);
            p += 4 + N8;
            arr[s] = arr[s]! + coef * Lk; // reduced once at the end
            if (mat < 2) putCoef(mat, k, s, coef);
          }
        }
      }
    }
    // snarkjs's extra rows: A gets wire s (s = 0..nPublic) at row m + s, so the public inputs are bound.
    for (let s = 0; s <= nPublic; s++) {
      a[s] = a[s]! + L[m + s]!;
      putCoef(0, m + s, s, 1n);
    }
    for (let s = 0; s < nVars; s++) {
      a[s] = a[s]! % FR;
      b[s] = b[s]! % FR;
      c[s] = c[s]! % FR;
    }
    L.length = 0;
    wj.length = 0;

    // Point scalars.
    const ic = new Array<bigint>(nPublic + 1);
    const cPriv = new Array<bigint>(nVars - nPublic - 1);
    for (let s = 0; s < nVars; s++) {
      const v = (beta * a[s]! + alpha * b[s]! + c[s]!) % FR;
      if (s <= nPublic) ic[s] = (v * gammaInv) % FR;
      else cPriv[s - nPublic - 1] = (v * deltaInv) % FR;
    }
    c.length = 0;
    // H_i = L^{2n}_{2i+1}(tau) / delta, x_i = omega2^{2i+1} = omega2 * omega^i:
    // x_i (tau^{2n} - 1) / (2n (tau - x_i) delta).
    const hK = mod((pow(tau, BigInt(2 * n)) - 1n) * inv(BigInt(2 * n)) * deltaInv);
    const hx = new Array<bigint>(n);
    const h = new Array<bigint>(n);
    x = omega2;
    for (let i = 0; i < n; i++) {
      hx[i] = x;
      h[i] = mod(tau - x);
      x = (x * omega) % FR;
    }
    batchInvert(h);
    for (let i = 0; i < n; i++) h[i] = (((hx[i]! * hK) % FR) * h[i]!) % FR;
    hx.length = 0;
    const headerG1 = [alpha, beta, tw.delta];
    const headerG2 = [beta, tw.gamma, tw.delta];
    tw = undefined;
    logger.info(
      { step: "qap", coefficients: nCoefs, ms: lap() },
      `devsetup: QAP evaluated at tau (${nCoefs} A/B coefficients)`,
    );

    // ---- scalar multiplications ----
    const nonzero = (xs: readonly bigint[]) => xs.reduce((k, v) => k + (v === 0n ? 0 : 1), 0);
    const g1Sections: Array<[string, bigint[]]> = [
      ["header", headerG1],
      ["IC", ic],
      ["H", h],
      ["C", cPriv],
      ["A", a],
      ["B1", b],
    ];
    const g2Sections: Array<[string, bigint[]]> = [
      ["header2", headerG2],
      ["B2", b],
    ];
    const points = new Map<string, Uint8Array>();
    for (const [group, sectionsOf, pGen] of [
      ["G1", g1Sections, curve.tm.pG1gen],
      ["G2", g2Sections, curve.tm.pG2gen],
    ] as const) {
      const count = sectionsOf.reduce((k, [, xs]) => k + nonzero(xs), 0);
      const w = bestWindow(count);
      const threads = Math.max(1, options.threads ?? (count < 20_000 ? 1 : Math.min(8, availableParallelism())));
      const prefix = group === "G1" ? "g1m" : "g2m";
      const pool = await FixedBasePool.create({ code, prefix, pGen, w }, threads, logger);
      try {
        logger.info(
          { step: `${group}-table`, window: w, threads: pool.threads, ms: lap() },
          `devsetup: ${group} tables (${w}-bit windows, ${pool.threads} thread(s))`,
        );
        for (const [name, xs] of sectionsOf) {
          const sb = scalarBytes(xs);
          const t0 = performance.now();
          let lastLog = t0;
          const pts = await pool.mul(sb, xs.length, (done) => {
            const now = performance.now();
            if (now - lastLog > 10_000 && done < xs.length) {
              lastLog = now;
              logger.info(
                { section: name, done, of: xs.length, ms: Math.round(now - t0) },
                `devsetup: section ${name}: ${done}/${xs.length} points`,
              );
            }
          });
          sb.fill(0);
          points.set(name, pts);
          logger.info(
            { section: name, group, points: xs.length, nonzero: nonzero(xs), ms: lap() },
            `devsetup: ${group} points for ${name}: ${xs.length}`,
          );
        }
      } finally {
        await pool.close();
      }
    }
    for (const xs of [a, b, ic, cPriv, h, headerG1, headerG2]) xs.fill(0n);

    // ---- write, in the section order of a finished snarkjs key (zkey contribute / beacon) ----
    const pt = (name: string): Uint8Array => points.get(name)!;
    const hg1 = pt("header");
    const hg2 = pt("header2");
    const sG1 = 2 * N8;
    const sG2 = 4 * N8;
    const csHash = createHash("blake2b512").update("veriml development setup\0").update(buf).digest();
    const out = await ZkeyWriter.create(tmp, 10);
    try {
      await out.section(1, [u32(1)]); // Groth16
      await out.section(2, [
        u32(N8),
        le32(FQ),
        u32(N8),
        le32(FR),
        u32(nVars, nPublic, n),
        hg1.subarray(0, sG1), // alpha1
        hg1.subarray(sG1, 2 * sG1), // beta1
        hg2.subarray(0, sG2), // beta2
        hg2.subarray(sG2, 2 * sG2), // gamma2
        hg1.subarray(2 * sG1, 3 * sG1), // delta1
        hg2.subarray(2 * sG2, 3 * sG2), // delta2
      ]);
      await out.section(3, [pt("IC")]);
      await out.section(4, [coefs]);
      await out.section(5, [pt("A")]);
      await out.section(6, [pt("B1")]);
      await out.section(7, [pt("B2")]);
      await out.section(8, [pt("C")]);
      await out.section(9, [pt("H")]);
      await out.section(10, [csHash, u32(0)]); // circuit hash, zero contributions
    } finally {
      await out.close();
    }
    await rename(tmp, zkeyPath);
    logger.info(
      { zkey: zkeyPath, ms: lap(), totalMs: Math.round(performance.now() - tStart) },
      `devsetup: proving key written in ${Math.round(performance.now() - tStart)} ms`,
    );
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await curve.terminate();
  }
}
