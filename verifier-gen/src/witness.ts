/**
 * An independent witness generator for verifier-gen circuits: it evaluates the circuit's gadget plan
 * (circom.ts `plan`) with the semantics of gadgets.circom.ts, in TypeScript, without circom's witness
 * calculator, and can override every hint a prover chooses freely (`<--` in the gadgets): quotients of
 * divisions, bit decompositions of range checks and comparisons, ArgMax selectors. Everything that
 * depends on a hint (remainders, clamp branches, outputs, packed public signals) is recomputed from it,
 * so an overridden witness is what the most careful cheating prover would produce: if it satisfies the
 * R1CS, the circuit is unsound for that hint. The soundness tests use it to try every alternative a
 * gadget leaves open, and the mutation tests to show a weakened gadget is caught.
 */
import { tableSplit, type GadgetCall, type LC } from "./circom.js";
import { SNARK_SCALAR_FIELD as P } from "./groth16.js";
import { isqrt } from "./intgraph.js";

/** Prover choices that replace the honest hints, keyed by component path (as in circom.ts `plan`). */
export interface Hints {
  /** DivPow2 component (e.g. "rq2[5].d") -> the quotient claimed */
  quotient?: Map<string, bigint>;
  /** RangeBits component (e.g. "rq2[5].d.rr") -> the value whose low bits are claimed */
  bits?: Map<string, bigint>;
  /** ArgMax component (e.g. "am5") -> the index claimed; Lookup component (e.g. "lu3[0]") -> the table position claimed */
  select?: Map<string, number>;
  /** RowMax component (e.g. "mx4[0]") -> the maximum claimed */
  max?: Map<string, bigint>;
  /** SoftmaxDiv component (e.g. "sd4[2]") -> the quotient claimed */
  divide?: Map<string, bigint>;
  /** Rsqrt component (e.g. "rs5[0]") -> the inverse square root claimed */
  root?: Map<string, bigint>;
}

const mod = (x: bigint): bigint => ((x % P) + P) % P;
/** circom's signed view of a field element (values above p/2 are negative). */
const signed = (x: bigint): bigint => (x > P / 2n ? x - P : x);

/** Signal values by full circom name ("main.x[3]", "main.rq2[5].d.q"). */
export type SignalValues = Map<string, bigint>;

/** Generator options. `rangeWidth` lets tests evaluate a deliberately weakened gadget library. */
export interface GeneratorOptions {
  /** Bits a RangeBits component really has (default: the width the plan gives it). */
  rangeWidth?: (component: string, width: number) => number;
}

class Evaluator {
  readonly values: SignalValues = new Map();
  constructor(
    private readonly hints: Hints,
    private readonly options: GeneratorOptions,
  ) {}

  set(name: string, v: bigint): bigint {
    const m = mod(v);
    this.values.set(`main.${name}`, m);
    return m;
  }

  get(name: string): bigint {
    const v = this.values.get(`main.${name}`);
    if (v === undefined) throw new Error(`witness: signal ${name} used before it is computed`);
    return v;
  }

  lc(l: LC): bigint {
    let acc = l.c;
    for (const [s, k] of l.t) acc += this.get(s) * k;
    return mod(acc);
  }

  rangeBits(c: string, n: number, input: bigint): void {
    this.set(`${c}.in`, input);
    const v = mod(this.hints.bits?.get(c) ?? input);
    const width = this.options.rangeWidth?.(c, n) ?? n;
    for (let i = 0; i < width; i++) this.set(`${c}.bits[${i}]`, (v >> BigInt(i)) & 1n);
  }

  /** ge = bit N of a - b + 2^N */
  greaterEq(c: string, N: number, a: bigint, b: bigint): bigint {
    this.set(`${c}.a`, a);
    this.set(`${c}.b`, b);
    const value = mod(a - b + (1n << BigInt(N)));
    this.rangeBits(`${c}.rb`, N + 1, value);
    return this.set(`${c}.ge`, this.get(`${c}.rb.bits[${N}]`));
  }

  max2(c: string, N: number, a: bigint, b: bigint): bigint {
    this.set(`${c}.a`, a);
    this.set(`${c}.b`, b);
    const ge = this.greaterEq(`${c}.c`, N, a, b);
    return this.set(`${c}.out`, b + ge * (a - b));
  }

  clamp(c: string, N: number, LO: number, HI: number, MODE: number, input: bigint): bigint {
    this.set(`${c}.in`, input);
    const below = MODE & 1 ? 1n - this.greaterEq(`${c}.cl`, N, input, mod(BigInt(LO))) : 0n;
    const above = MODE & 2 ? 1n - this.greaterEq(`${c}.ch`, N, mod(BigInt(HI)), input) : 0n;
    this.set(`${c}.below`, below);
    this.set(`${c}.above`, above);
    const pb = this.set(`${c}.pb`, below * (BigInt(LO) - input));
    const pa = this.set(`${c}.pa`, above * (BigInt(HI) - input));
    return this.set(`${c}.out`, input + pb + pa);
  }

  /** q = floor((in * M + 2^(S-1)) / 2^S) with the remainder range-checked */
  divPow2(c: string, M: number, S: number, K: number, input: bigint): bigint {
    this.set(`${c}.in`, input);
    const two = 1n << BigInt(S);
    const t = mod(input * BigInt(M) + (1n << BigInt(S - 1)));
    // circom: q <-- ((t + K * 2^S) \ 2^S) - K, integer division of the field representative
    const honest = mod(mod(t + BigInt(K) * two) / two - BigInt(K));
    const q = this.set(`${c}.q`, this.hints.quotient?.get(c) ?? honest);
    const r = this.set(`${c}.r`, t - q * two);
    this.rangeBits(`${c}.rr`, S, r);
    return q;
  }

  qRange(c: string, NQ: number, QMIN: number, input: bigint): void {
    this.set(`${c}.in`, input);
    this.rangeBits(`${c}.rb`, NQ, mod(input - BigInt(QMIN)));
  }

  argMax(c: string, n: number, N: number, inputs: bigint[]): bigint {
    inputs.forEach((v, i) => this.set(`${c}.in[${i}]`, v));
    let best = 0;
    for (let i = 1; i < n; i++) if (signed(inputs[i]!) > signed(inputs[best]!)) best = i;
    best = this.hints.select?.get(c) ?? best;
    let m = 0n;
    let idx = 0n;
    for (let i = 0; i < n; i++) {
      const sel = this.set(`${c}.sel[${i}]`, i === best ? 1n : 0n);
      m += this.set(`${c}.picked[${i}]`, sel * inputs[i]!);
      idx += BigInt(i) * sel;
    }
    for (let i = 0; i < n; i++) {
      const after = i < best ? 1n : 0n;
      this.rangeBits(`${c}.ge[${i}]`, N, mod(m - inputs[i]! - after));
    }
    return this.set(`${c}.out`, idx);
  }

  /** A table template (circom.ts tableTemplate): selectors for the claimed position, and the row it reads. */
  table(c: string, LO: number, table: readonly bigint[], width: number, input: bigint): bigint[] {
    this.set(`${c}.in`, input);
    const rows = table.length / width;
    const k = this.hints.select?.get(c) ?? Number(signed(input) - BigInt(LO));
    const { outer, inner } = tableSplit(rows, width);
    const entry = (pos: number, j: number) => (pos >= 0 && pos < rows ? table[pos * width + j]! : 0n);
    const outName = (j: number) => (width === 1 ? `${c}.out` : `${c}.out[${j}]`);
    if (outer === 1) {
      for (let i = 0; i < rows; i++) this.set(`${c}.sel[${i}]`, i === k ? 1n : 0n);
      return Array.from({ length: width }, (_, j) => this.set(outName(j), entry(k, j)));
    }
    const h = Math.floor(k / inner),
      l = k - h * inner;
    for (let i = 0; i < outer; i++) this.set(`${c}.hs[${i}]`, i === h ? 1n : 0n);
    for (let j = 0; j < inner; j++) this.set(`${c}.ls[${j}]`, j === l ? 1n : 0n);
    for (let i = 0; i < outer; i++)
      for (let j = 0; j < width; j++) this.set(`${c}.p[${i}][${j}]`, i === h ? entry(i * inner + l, j) : 0n);
    return Array.from({ length: width }, (_, j) => this.set(outName(j), entry(k, j)));
  }

  run(call: GadgetCall): void {
    switch (call.kind) {
      case "RangeBits":
        this.rangeBits(call.name, call.n, this.lc(call.input));
        return;
      case "Requant": {
        const c = call.name;
        const input = this.set(`${c}.in`, this.lc(call.input));
        const q = this.divPow2(`${c}.d`, call.M, call.S, call.K, input);
        let out: bigint;
        if (call.MODE === 0) {
          this.qRange(`${c}.qr`, call.N, call.QMIN, q);
          out = q;
        } else {
          out = this.clamp(`${c}.c`, call.N, call.LO, call.HI, call.MODE, q);
        }
        this.set(`${c}.out`, out);
        this.set(call.output, out);
        return;
      }
      case "Clamp":
        this.set(call.output, this.clamp(call.name, call.N, call.LO, call.HI, call.MODE, this.lc(call.input)));
        return;
      case "LeakyRelu": {
        const c = call.name;
        const input = this.set(`${c}.in`, this.lc(call.input));
        const pos = this.greaterEq(`${c}.pos`, call.N, input, 0n);
        const q = this.divPow2(`${c}.d`, call.M, call.S, call.K, input);
        this.qRange(`${c}.qr`, call.NQ, call.QMIN, q);
        const diff = this.set(`${c}.diff`, pos * (input - q));
        this.set(call.output, this.set(`${c}.out`, q + diff));
        return;
      }
      case "Max2":
        this.set(call.output, this.max2(call.name, call.N, this.lc(call.a), this.lc(call.b)));
        return;
      case "ArgMax":
        this.set(
          call.output,
          this.argMax(
            call.name,
            call.n,
            call.N,
            call.inputs.map((l) => this.lc(l)),
          ),
        );
        return;
      case "Lookup":
        this.set(call.output, this.table(call.name, call.LO, call.table, 1, this.lc(call.input))[0]!);
        return;
      case "RowMax": {
        const c = call.name;
        const xs = call.inputs.map((l, i) => this.set(`${c}.in[${i}]`, this.lc(l)));
        let best = xs[0]!;
        for (const x of xs) if (signed(x) > signed(best)) best = x;
        const m = this.set(`${c}.out`, this.hints.max?.get(c) ?? best);
        let p = 0n;
        xs.forEach((x, i) => {
          this.rangeBits(`${c}.ge[${i}]`, call.N, mod(m - x));
          p = this.set(`${c}.prodc[${i}]`, i === 0 ? m - x : p * (m - x));
        });
        this.set(call.output, m);
        return;
      }
      case "SoftmaxDiv": {
        const c = call.name;
        const e = this.set(`${c}.e`, this.lc(call.e));
        const s = this.set(`${c}.s`, this.lc(call.s));
        const num = mod(2n * BigInt(call.OUT) * e + s);
        const q = this.set(`${c}.q`, this.hints.divide?.get(c) ?? num / mod(2n * s));
        const r = this.set(`${c}.r`, num - 2n * q * s);
        this.rangeBits(`${c}.rl`, call.NR, r);
        this.rangeBits(`${c}.rh`, call.NR, mod(2n * s - 1n - r));
        this.rangeBits(`${c}.qr`, call.NQ, q);
        this.set(call.output, q);
        return;
      }
      case "Product":
        this.set(call.output, this.get(call.weight) * this.lc(call.x));
        return;
      case "Mul":
        this.set(call.output, this.lc(call.a) * this.lc(call.b));
        return;
      case "Rsqrt": {
        const c = call.name;
        const d = this.set(`${c}.d`, this.lc(call.input));
        const four = 1n << BigInt(2 * call.R);
        const r = this.set(`${c}.out`, this.hints.root?.get(c) ?? isqrt(four / d));
        this.rangeBits(`${c}.rb`, call.R + 1, r);
        const rr2 = this.set(`${c}.rr2`, r * r);
        const lo = this.set(`${c}.lo`, rr2 * d);
        const hi = this.set(`${c}.hi`, (2n * r + 1n) * d);
        this.rangeBits(`${c}.lb`, 2 * call.R + 1, mod(four - lo));
        this.rangeBits(`${c}.hb`, call.NH, mod(lo + hi - four - 1n));
        this.set(call.output, r);
        return;
      }
      case "Embed": {
        const row = this.table(call.name, call.LO, call.table, call.width, this.lc(call.input));
        call.outputs.forEach((o, j) => this.set(o, row[j]!));
        return;
      }
      case "Output":
        this.set(call.output, this.lc(call.value));
        return;
    }
  }
}

/**
 * Every signal of the circuit for the given input signals (e.g. `{ x: [...] }`, plus naive weights), with
 * `hints` replacing the honest prover choices where given.
 */
export function generateSignals(
  plan: readonly GadgetCall[],
  inputs: Record<string, readonly bigint[]>,
  hints: Hints = {},
  options: GeneratorOptions = {},
): SignalValues {
  const e = new Evaluator(hints, options);
  for (const [name, values] of Object.entries(inputs)) values.forEach((v, i) => e.set(`${name}[${i}]`, v));
  for (const call of plan) e.run(call);
  return e.values;
}

/** Wire index of each named signal, from circom's .sym file (signals the compiler removed are absent). */
export function parseSym(text: string): Map<string, number> {
  const wires = new Map<string, number>();
  for (const line of text.split("\n")) {
    const parts = line.split(",");
    if (parts.length < 4) continue;
    const wire = Number(parts[1]);
    if (wire >= 0) wires.set(parts.slice(3).join(","), wire);
  }
  return wires;
}

/** The witness vector (wire 0 = 1) of the signal values; throws when a wire has no value. */
export function witnessVector(values: SignalValues, wires: Map<string, number>, nWires: number): bigint[] {
  const w = new Array<bigint | undefined>(nWires).fill(undefined);
  w[0] = 1n;
  for (const [name, wire] of wires) {
    const v = values.get(name);
    if (v !== undefined) w[wire] = v;
  }
  const missing = w.findIndex((v) => v === undefined);
  if (missing >= 0) {
    const name = [...wires].find(([, i]) => i === missing)?.[0] ?? "?";
    throw new Error(`witness: no value for wire ${missing} (${name})`);
  }
  return w as bigint[];
}
