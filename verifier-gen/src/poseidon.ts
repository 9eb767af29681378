/**
 * circomlib's Poseidon (circuits/poseidon.circom, the optimized PoseidonEx with the sparse partial rounds), in
 * TypeScript over BN254, step for step as the template computes it, with the constants read from circomlib's own
 * poseidon_constants.circom. Off-chain it computes what a circuit using `Poseidon(n)` outputs (the dataset
 * commitment of a benchmark attestation); test/verifier-gen/attestation.test.ts checks both against each other and
 * against circomlibjs's published vector.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const N_ROUNDS_F = 8;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

interface Constants {
  C: bigint[];
  S: bigint[];
  M: bigint[][];
  P: bigint[][];
}

const cache = new Map<number, Constants>();
let source: string | undefined;

/** The numbers of `function NAME(t)`'s branch for t, in order. */
function constantsOf(name: string, t: number): bigint[] {
  if (source === undefined) {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("circomlib/package.json"));
    source = readFileSync(join(dir, "circuits/poseidon_constants.circom"), "utf8");
  }
  const fn = source.indexOf(`function ${name}(t)`);
  if (fn < 0) throw new Error(`circomlib poseidon constants: no ${name}`);
  const branch = new RegExp(`t\\s*==\\s*${t}\\s*\\)\\s*\\{\\s*return`, "g");
  branch.lastIndex = fn;
  const m = branch.exec(source);
  if (m === null) throw new Error(`circomlib poseidon constants: no ${name} for t = ${t}`);
  const start = source.indexOf("[", m.index);
  let depth = 0;
  let end = start;
  for (; end < source.length; end++) {
    if (source[end] === "[") depth++;
    else if (source[end] === "]" && --depth === 0) break;
  }
  return (source.slice(start, end + 1).match(/0x[0-9a-fA-F]+|\d+/g) ?? []).map((v) => BigInt(v));
}

function constants(t: number): Constants {
  let c = cache.get(t);
  if (c === undefined) {
    const square = (flat: bigint[]) => Array.from({ length: t }, (_, i) => flat.slice(i * t, (i + 1) * t));
    c = {
      C: constantsOf("POSEIDON_C", t),
      S: constantsOf("POSEIDON_S", t),
      M: square(constantsOf("POSEIDON_M", t)),
      P: square(constantsOf("POSEIDON_P", t)),
    };
    cache.set(t, c);
  }
  return c;
}

const mod = (v: bigint) => ((v % P) + P) % P;
const sigma = (v: bigint) => {
  const v2 = (v * v) % P;
  return (((v2 * v2) % P) * v) % P;
};
/** out[i] = sum_j M[j][i] * in[j] (circomlib Mix) */
const mix = (s: bigint[], M: bigint[][]) => s.map((_, i) => mod(s.reduce((acc, v, j) => acc + M[j]![i]! * v, 0n)));

/** Poseidon(inputs) as circomlib's `Poseidon(inputs.length)` template outputs it (1 to 16 field elements). */
export function poseidon(inputs: readonly bigint[]): bigint {
  const n = inputs.length;
  if (n < 1 || n > 16) throw new RangeError(`poseidon: 1 to 16 inputs, got ${n}`);
  const t = n + 1;
  const nRoundsP = N_ROUNDS_P[t - 2]!;
  const { C, S, M, P: Pm } = constants(t);
  const half = N_ROUNDS_F / 2;
  let s = [0n, ...inputs.map(mod)];
  const ark = (offset: number) => (s = s.map((v, i) => mod(v + C[i + offset]!)));
  ark(0);
  for (let r = 0; r < half - 1; r++) {
    s = s.map(sigma);
    ark((r + 1) * t);
    s = mix(s, M);
  }
  s = s.map(sigma);
  ark(half * t);
  s = mix(s, Pm);
  for (let r = 0; r < nRoundsP; r++) {
    const base = (t * 2 - 1) * r;
    const in0 = mod(sigma(s[0]!) + C[(half + 1) * t + r]!);
    const first = mod(S[base]! * in0 + s.slice(1).reduce((acc, v, i) => acc + S[base + i + 1]! * v, 0n));
    s = [first, ...s.slice(1).map((v, i) => mod(v + in0 * S[base + t + i]!))];
  }
  for (let r = 0; r < half - 1; r++) {
    s = s.map(sigma);
    ark((half + 1) * t + nRoundsP + r * t);
    s = mix(s, M);
  }
  s = s.map(sigma);
  return mod(s.reduce((acc, v, j) => acc + M[j]![0]! * v, 0n));
}
