/**
 * TEST AND MEASUREMENT ONLY: a Groth16 verification key whose toxic waste is known, so a proof can be made for
 * any public signals without a circuit. With alpha = a G1, beta = b G2, gamma = g G2, delta = d G2 and
 * IC_i = u_i G1, the pairing check e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) == 1 holds for
 * B = G2, C = c G1 and A = (a b + g (u_0 + sum_i s_i u_i) + c d) G1, for every c and every signals s.
 *
 * It lets the generated Solidity verifier of a batch circuit (k slots) be tested and measured before the
 * circuit exists: the verifier runs its real packing, multi-scalar multiplication and pairing, and accepts only
 * proofs made for exactly the signals it packs. A verifier built from such a key verifies anything its holder
 * wants; never register one outside a test chain.
 */
import { hexlify, keccak256, toBeHex } from "ethers";
import type { Groth16Proof, VerificationKey } from "snarkjs";
import { compileVerifier, type VerifierArtifact } from "../../verifier-gen/src/compile.js";
import { encodeInputBytes } from "../../verifier-gen/src/encoding.js";
import { proofCalldata } from "../../verifier-gen/src/groth16.js";
import { runInt } from "../../verifier-gen/src/intgraph.js";
import { expectedPublicSignals, verifierSolidityOptions, type ModelDir } from "../../verifier-gen/src/pipeline.js";
import { emitSolidityVerifier, PACKING_LIBRARY_SOL } from "../../verifier-gen/src/solidity.js";

/** BN254 scalar field. */
export const FR = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

interface FfGroup {
  g: Uint8Array;
  timesScalar(a: Uint8Array, s: bigint): Uint8Array;
  toAffine(a: Uint8Array): Uint8Array;
  toObject(a: Uint8Array): unknown[];
}
interface FfCurve {
  G1: FfGroup;
  G2: FfGroup;
  terminate(): Promise<void>;
}
// Untyped dependency (of snarkjs): the specifier is a variable so TypeScript does not look for declarations.
const FFJAVASCRIPT: string = "ffjavascript";

const mod = (x: bigint): bigint => ((x % FR) + FR) % FR;

/** A verification key with its toxic waste, and a way to prove any public signals under it. */
export interface ForgeableKey {
  vk: VerificationKey;
  /** A valid proof (snarkjs format and Solidity calldata) for `signals` (each < FR). */
  prove(signals: readonly bigint[], salt?: bigint): { proof: Groth16Proof; calldata: ProofCalldata };
  /** Releases the curve's wasm (call when done). */
  close(): Promise<void>;
}

export interface ProofCalldata {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
}

/** Deterministic scalars from a seed: keccak256(seed, label, i) mod r (never zero). */
function scalar(seed: string, label: string, i = 0): bigint {
  const h = BigInt(keccak256(new TextEncoder().encode(`${seed}/${label}/${i}`)));
  return mod(h) === 0n ? 1n : mod(h);
}

/** Whether a 32-byte word has a zero byte (calldata charges 4 gas for it instead of 16). */
export function hasZeroByte(word: bigint): boolean {
  const hex = toBeHex(word, 32).slice(2);
  for (let i = 0; i < 64; i += 2) if (hex.slice(i, i + 2) === "00") return true;
  return false;
}

const str = (x: unknown): unknown => (Array.isArray(x) ? x.map(str) : String(x as bigint));

/** A forgeable key of `nPublic` public signals, its waste derived from `seed` (reproducible). */
export async function forgeableKey(nPublic: number, seed = "veriml-forgeable"): Promise<ForgeableKey> {
  const ff = (await import(FFJAVASCRIPT)) as { getCurveFromName(name: string, single?: boolean): Promise<FfCurve> };
  const curve = await ff.getCurveFromName("bn128", true);
  const g1 = (s: bigint) => curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, s)));
  const g2 = (s: bigint) => curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, s)));
  const [a, b, g, d] = ["alpha", "beta", "gamma", "delta"].map((l) => scalar(seed, l));
  const u = Array.from({ length: nPublic + 1 }, (_, i) => scalar(seed, "ic", i));
  const vk = {
    protocol: "groth16",
    curve: "bn128",
    nPublic,
    vk_alpha_1: str(g1(a!)),
    vk_beta_2: str(g2(b!)),
    vk_gamma_2: str(g2(g!)),
    vk_delta_2: str(g2(d!)),
    IC: u.map((x) => str(g1(x))),
  } as VerificationKey;
  const generator2 = str(curve.G2.toObject(curve.G2.toAffine(curve.G2.g))) as string[][];
  return {
    vk,
    prove(signals, salt = 0n) {
      if (signals.length !== nPublic) throw new RangeError(`${signals.length} signals for a key of ${nPublic}`);
      let vkx = u[0]!;
      signals.forEach((s, i) => {
        if (s < 0n || s >= FR) throw new RangeError(`signal ${i} is not a field element`);
        vkx = mod(vkx + s * u[i + 1]!);
      });
      // Retried until every word of the proof has no zero byte, so its calldata gas is the same for all signals.
      for (let attempt = 0n; ; attempt++) {
        const c = scalar(seed, `c/${salt}/${signals.join(",")}`, Number(attempt));
        const x = mod(a! * b! + g! * vkx + c * d!);
        const proof: Groth16Proof = {
          pi_a: str(g1(x)) as string[],
          pi_b: generator2,
          pi_c: str(g1(c)) as string[],
          protocol: "groth16",
          curve: "bn128",
        };
        const calldata = proofCalldata(proof);
        if (![...calldata.a, ...calldata.c].some(hasZeroByte)) return { proof, calldata };
      }
    },
    close: () => curve.terminate(),
  };
}

/** The generated verifier of a build's model for `batch` slots, under a forgeable key, and proofs for it. */
export interface ForgeableBatchVerifier {
  batch: number;
  artifact: VerifierArtifact;
  /** One slot: the request input bytes and the model's output (the integer graph run on them). */
  slot(q: readonly number[]): { input: string; output: bigint[]; signals: bigint[] };
  /** A proof the verifier accepts for exactly these slots (quantized inputs, in slot order). */
  prove(slots: readonly (readonly number[])[]): ProofCalldata;
  close(): Promise<void>;
}

/**
 * Emits and compiles the build's verifier with BATCH_SIZE = `batch` exactly as verifier-gen would for a batch
 * circuit of the model (the same template and packing; `batch` times the single circuit's public signals),
 * under a forgeable key. TEST AND MEASUREMENT ONLY.
 */
export async function forgeableBatchVerifier(
  md: ModelDir,
  batch: number,
  seed = "veriml-forgeable",
): Promise<ForgeableBatchVerifier> {
  const perSlot = md.vkey.nPublic / (md.manifest.batch ?? 1);
  const key = await forgeableKey(perSlot * batch, seed);
  const options = verifierSolidityOptions(md.manifest);
  const contractName = `${options.contractName.replace(/Verifier$/, "")}Batch${batch}ForgeableVerifier`;
  const source = `${contractName}.sol`;
  const sol = emitSolidityVerifier(key.vk, { ...options, contractName, batch });
  const artifact = compileVerifier({ [source]: sol, "VerimlPacking.sol": PACKING_LIBRARY_SOL }, source, contractName);
  const slot = (q: readonly number[]) => {
    const trace = runInt(md.graph, Array.from(q));
    return {
      input: hexlify(encodeInputBytes(md.graph, q)),
      output: Array.from(trace.tensors[trace.tensors.length - 1]!, (v) => BigInt(v)),
      signals: expectedPublicSignals(md, Array.from(q), trace),
    };
  };
  return {
    batch,
    artifact,
    slot,
    prove(slots) {
      if (slots.length !== batch) throw new RangeError(`${slots.length} slots for a batch of ${batch}`);
      return key.prove(slots.flatMap((q) => slot(q).signals)).calldata;
    },
    close: () => key.close(),
  };
}
