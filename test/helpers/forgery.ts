/**
 * The forgery search of the soundness suites: an honest witness from verifier-gen/src/witness.ts, then every hint a
 * prover chooses freely overridden in turn, each forged witness checked against a circuit's R1CS (circom's, or the
 * direct backend's).
 */
import { tableSplit, type GadgetCall } from "../../verifier-gen/src/circom.js";
import { SNARK_SCALAR_FIELD } from "../../verifier-gen/src/groth16.js";
import { checkWitness, type R1cs } from "../../verifier-gen/src/r1cs.js";
import {
  generateSignals,
  witnessVector,
  type GeneratorOptions,
  type Hints,
  type SignalValues,
} from "../../verifier-gen/src/witness.js";

/** A compiled circuit with what the forgery search needs. */
export interface Compiled {
  plan: GadgetCall[];
  r1cs: R1cs;
  wires: Map<string, number>;
  /** how a mutated gadget library sizes its range checks */
  options?: GeneratorOptions;
  /** the witness vector of signal values (default: the named wires, as circom's .sym lists them) */
  vector?: (values: SignalValues) => bigint[];
}

/** A field element as the signed integer it stands for. */
export const signedOf = (v: bigint): bigint => (v > SNARK_SCALAR_FIELD / 2n ? v - SNARK_SCALAR_FIELD : v);

export const vectorOf = (c: Compiled, values: SignalValues): bigint[] =>
  c.vector ? c.vector(values) : witnessVector(values, c.wires, c.r1cs.nWires);

/**
 * Whether a hint gives another witness that satisfies the constraints. A hint whose signals the compiler eliminated
 * (they are linear functions of the remaining wires) leaves the witness as it was: that is no forgery.
 */
export const satisfied = (c: Compiled, inputs: Record<string, bigint[]>, hints: Hints = {}): boolean => {
  const w = vectorOf(c, generateSignals(c.plan, inputs, hints, c.options));
  if (checkWitness(c.r1cs, w).length !== 0) return false;
  if (Object.keys(hints).length === 0) return true;
  const honest = vectorOf(c, generateSignals(c.plan, inputs, {}, c.options));
  return w.some((v, i) => v !== honest[i]);
};

/** For each wire, the constraints that have a term in it. */
const constraintsOfWire = new WeakMap<R1cs, number[][]>();
function constraintsOf(r1cs: R1cs): number[][] {
  let index = constraintsOfWire.get(r1cs);
  if (index === undefined) {
    const built = Array.from({ length: r1cs.nWires }, (): number[] => []);
    r1cs.constraints.forEach((abc, k) => {
      for (const wire of new Set(abc.flatMap((lc) => lc.map(([w]) => w)))) built[wire]!.push(k);
    });
    constraintsOfWire.set(r1cs, built);
    index = built;
  }
  return index;
}

/**
 * `satisfied` for the search, against the honest witness's vector: a constraint none of whose wires changed
 * evaluates as on the honest witness, so only the constraints of the changed wires are evaluated again (checking
 * the whole R1CS for every candidate was a third of the search's time).
 */
function forgedChecker(c: Compiled, honest: bigint[]): (w: bigint[]) => boolean {
  const violatedByHonest = new Set(checkWitness(c.r1cs, honest));
  const index = constraintsOf(c.r1cs);
  return (w) => {
    const touched = new Set<number>();
    let changed = false;
    w.forEach((v, i) => {
      if (v === honest[i]) return;
      changed = true;
      for (const k of index[i] ?? []) touched.add(k);
    });
    if (!changed) return false;
    for (const k of violatedByHonest) if (!touched.has(k)) return false;
    const again = { ...c.r1cs, constraints: [...touched].map((k) => c.r1cs.constraints[k]!) };
    return checkWitness(again, w).length === 0;
  };
}

/**
 * Every single-hint forgery of a circuit on one input (`x`, or for a batch circuit every slot's, `{ "x[s]": ... }`);
 * returns the ones that satisfy the constraints. `only` picks the gadgets whose hints are forged (default: all).
 */
export function forgeries(
  c: Compiled,
  input: bigint[] | Record<string, bigint[]>,
  limit = Infinity,
  only: (call: GadgetCall) => boolean = () => true,
): string[] {
  const inputs = Array.isArray(input) ? { x: input } : input;
  const honest = generateSignals(c.plan, inputs, {}, c.options);
  const check = forgedChecker(c, vectorOf(c, honest));
  const accepted: string[] = [];
  const attempt = (what: string, hints: Hints) => {
    if (check(vectorOf(c, generateSignals(c.plan, inputs, hints, c.options)))) accepted.push(what);
  };
  let tried = 0;
  for (const call of c.plan) {
    if (tried >= limit) break;
    if (!only(call)) continue;
    if (call.kind === "Requant" || call.kind === "LeakyRelu") {
      tried++;
      const q = honest.get(`main.${call.name}.d.q`)!;
      // Alternative quotients (and with them remainders off by multiples of 2^S).
      for (const d of [-2n, -1n, 1n, 2n])
        attempt(`${call.name} q${d > 0 ? "+" : ""}${d}`, { quotient: new Map([[`${call.name}.d`, q + d]]) });
      // The clamp branches: claim the other outcome of each comparison (flip the sign bit of the compared value).
      for (const cmp of ["c.cl", "c.ch", "pos"]) {
        const rb = `${call.name}.${cmp}.rb`;
        const v = honest.get(`main.${rb}.in`);
        if (v === undefined) continue;
        const N = BigInt(call.N);
        attempt(`${rb} flipped`, { bits: new Map([[rb, v ^ (1n << N)]]) });
      }
    } else if (call.kind === "Clamp" || call.kind === "Max2") {
      tried++;
      for (const cmp of call.kind === "Clamp" ? ["cl", "ch"] : ["c"]) {
        const rb = `${call.name}.${cmp}.rb`;
        const v = honest.get(`main.${rb}.in`);
        if (v === undefined) continue;
        attempt(`${rb} flipped`, { bits: new Map([[rb, v ^ (1n << BigInt(call.N))]]) });
      }
    } else if (call.kind === "Lookup" || call.kind === "Embed") {
      tried++;
      const width = call.kind === "Embed" ? call.width : 1;
      const rows = call.table.length / width;
      const { inner } = tableSplit(rows, width);
      const k = Number(signedOf(honest.get(`main.${call.name}.in`)!)) - call.LO;
      // Neighbours in both selectors of a two-level table (k +- 1 and k +- inner).
      for (const other of new Set([k - 1, k + 1, k - inner, k + inner])) {
        if (other >= 0 && other < rows)
          attempt(`${call.name} position ${other}`, { select: new Map([[call.name, other]]) });
      }
    } else if (call.kind === "Rsqrt") {
      tried++;
      const r0 = honest.get(`main.${call.name}.out`)!;
      for (const d of [-2n, -1n, 1n, 2n])
        attempt(`${call.name} root ${d > 0 ? "+" : ""}${d}`, { root: new Map([[call.name, r0 + d]]) });
    } else if (call.kind === "ArgMax") {
      // Every other label.
      const label = Number(honest.get(`main.${call.name}.out`)!);
      for (let k = 0; k < call.n; k++)
        if (k !== label) attempt(`${call.name} label ${k}`, { select: new Map([[call.name, k]]) });
    }
  }
  return accepted;
}
