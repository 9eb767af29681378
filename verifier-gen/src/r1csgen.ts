/**
 * The direct backend: the R1CS of a circuit written straight from its gadget plan (circom.ts `plan`), and its
 * witness (.wtns) from witness.ts's evaluation of the same plan, with no circom compiler in between.
 *
 * The gadget library (gadgets.circom.ts) stays the specification: every gadget here emits the constraints its
 * circom template states, over the same named signals, so witness.ts (the honest prover and every forged one)
 * and the soundness tests run unchanged against either backend. What differs is what circom's optimiser would do:
 * a signal defined by a linear expression (`s <== a + 2 * b`) is substituted, not given a wire and a constraint;
 * a linear combination of more than a few terms that a product needs is first made a wire by one linear constraint
 * (A = B = 0), so a dense row's weights sit in C only and cost the prover nothing (snarkjs walks only A and B).
 * The circom compiler handles neither at scale: its time grows with huge linear combinations, and at a million
 * weights it overflows 32-bit offsets; here a weight is one coefficient written once.
 *
 * Wire order is circom's: 1, the public outputs (`pub[..]`, or naive `xin`, `y`), the private inputs (`x`, naive
 * weights), then internal signals in plan order.
 */
import { writeFileSync } from "node:fs";
import type { CircuitSource, GadgetCall, LC } from "./circom.js";
import { tableSplit } from "./circom.js";
import { InputError, IntegrityError } from "./errors.js";
import { SNARK_SCALAR_FIELD as P } from "./groth16.js";
import type { SignalValues } from "./witness.js";

/** A linear combination over wire indices (wire 0 is the constant 1). */
type WLC = Map<number, bigint>;

const mod = (x: bigint): bigint => {
  const r = x % P;
  return r < 0n ? r + P : r;
};

/** Bits a range check may have: 2^253 < p, so 253 bits still decompose uniquely; from 254 on every field element has a decomposition. */
const MAX_RANGE_BITS = 253;

/** Terms above which a linear combination entering a product is first made a wire of its own. */
const MAX_PRODUCT_TERMS = 4;

export interface ConstraintSystem {
  nWires: number;
  nPubOut: number;
  nPrvIn: number;
  /** A, B, C of each constraint A * B = C */
  constraints: [WLC, WLC, WLC][];
  /** wire of each named signal that has one (substituted signals are absent, as circom's .sym leaves them out) */
  wires: Map<string, number>;
  /** wires with no name (materialised linear combinations), in order, with what they equal */
  derived: { wire: number; lc: WLC }[];
  /** with `keepAliases`: every substituted signal with the combination of wires it stands for (tests compare with circom) */
  aliases?: Map<string, WLC>;
}

export interface DirectOptions {
  /** Bits a RangeBits component really has (default: the width the plan gives it): to build weakened mutants. */
  rangeWidth?: (component: string, width: number) => number;
  /** Keep the substituted signals in the result (`aliases`): off by default, a large circuit has millions. */
  keepAliases?: boolean;
}

class Builder {
  readonly wires = new Map<string, number>();
  /** signals defined linearly: their value as a combination of wires */
  readonly alias = new Map<string, WLC>();
  readonly constraints: [WLC, WLC, WLC][] = [];
  readonly derived: { wire: number; lc: WLC }[] = [];
  private readonly materialised = new WeakMap<LC, WLC>();
  nWires = 1;

  constructor(private readonly options: DirectOptions) {}

  wire(name: string): number {
    const w = this.nWires++;
    this.wires.set(name, w);
    return w;
  }

  sig(name: string): WLC {
    const w = this.wires.get(name);
    if (w !== undefined) return new Map([[w, 1n]]);
    const a = this.alias.get(name);
    if (a === undefined) throw new Error(`direct backend: signal ${name} used before it is defined`);
    return a;
  }

  /** name <== lc (linear): substituted, no wire */
  define(name: string, lc: WLC): WLC {
    this.alias.set(name, lc);
    return lc;
  }

  lc(l: LC): WLC {
    const out: WLC = new Map();
    if (l.c !== 0n) out.set(0, mod(l.c));
    for (const [s, k] of l.t) addInto(out, this.sig(s), k);
    return out;
  }

  /** a plan LC as a factor of a product: made a wire first when it is long (one linear constraint, in C only) */
  factor(l: LC): WLC {
    const cached = this.materialised.get(l);
    if (cached) return cached;
    const v = this.lc(l);
    if (v.size <= MAX_PRODUCT_TERMS) return v;
    const w = this.nWires++;
    this.derived.push({ wire: w, lc: v });
    const wl: WLC = new Map([[w, 1n]]);
    this.linear(sub(v, wl));
    this.materialised.set(l, wl);
    return wl;
  }

  linear(c: WLC): void {
    prune(c);
    if (c.size === 0) return;
    this.constraints.push([new Map(), new Map(), c]);
  }

  quad(a: WLC, b: WLC, c: WLC): void {
    this.constraints.push([prune(new Map(a)), prune(new Map(b)), prune(new Map(c))]);
  }

  /** a fresh wire `name` with out = a * b */
  product(name: string, a: WLC, b: WLC): WLC {
    if (isConst(a) || isConst(b)) {
      // A constant factor: linear, substituted (circom's simplifier does the same).
      const [k, x] = isConst(a) ? [a.get(0) ?? 0n, b] : [b.get(0) ?? 0n, a];
      return this.define(name, scale(x, k));
    }
    const w = this.wire(name);
    this.quad(a, b, new Map([[w, 1n]]));
    return new Map([[w, 1n]]);
  }

  // ---- the gadgets (gadgets.circom.ts), one method each ----

  rangeBits(c: string, n: number, input: WLC): void {
    // INVARIANT: a plan never asks for a range check that checks nothing.
    if (n > MAX_RANGE_BITS)
      throw new IntegrityError(
        `direct backend: ${c} is a range check of ${n} bits, more than the field allows (${MAX_RANGE_BITS})`,
      );
    this.define(`${c}.in`, input);
    const width = this.options.rangeWidth?.(c, n) ?? n;
    const sum: WLC = new Map();
    let e = 1n;
    for (let i = 0; i < width; i++) {
      const b = this.wire(`${c}.bits[${i}]`);
      const bit: WLC = new Map([[b, 1n]]);
      this.quad(
        bit,
        new Map([
          [b, 1n],
          [0, P - 1n],
        ]),
        new Map(),
      );
      addInto(sum, bit, e);
      e <<= 1n;
    }
    this.linear(sub(sum, input));
  }

  greaterEq(c: string, N: number, a: WLC, b: WLC): WLC {
    this.define(`${c}.a`, a);
    this.define(`${c}.b`, b);
    const d = sub(a, b);
    addInto(d, constant(1n << BigInt(N)), 1n);
    this.rangeBits(`${c}.rb`, N + 1, d);
    return this.define(`${c}.ge`, this.sig(`${c}.rb.bits[${N}]`));
  }

  max2(c: string, N: number, a: WLC, b: WLC): WLC {
    this.define(`${c}.a`, a);
    this.define(`${c}.b`, b);
    const ge = this.greaterEq(`${c}.c`, N, a, b);
    const out = this.wire(`${c}.out`);
    // out = b + ge * (a - b)
    this.quad(ge, sub(a, b), sub(new Map([[out, 1n]]), b));
    return new Map([[out, 1n]]);
  }

  clamp(c: string, N: number, LO: number, HI: number, MODE: number, input: WLC): WLC {
    this.define(`${c}.in`, input);
    const one = constant(1n);
    const below = MODE & 1 ? sub(one, this.greaterEq(`${c}.cl`, N, input, constant(BigInt(LO)))) : new Map();
    const above = MODE & 2 ? sub(one, this.greaterEq(`${c}.ch`, N, constant(BigInt(HI)), input)) : new Map();
    this.define(`${c}.below`, below);
    this.define(`${c}.above`, above);
    const pb = this.product(`${c}.pb`, below, sub(constant(BigInt(LO)), input));
    const pa = this.product(`${c}.pa`, above, sub(constant(BigInt(HI)), input));
    const out = new Map(input);
    addInto(out, pb, 1n);
    addInto(out, pa, 1n);
    return this.define(`${c}.out`, out);
  }

  divPow2(c: string, M: number, S: number, input: WLC): WLC {
    this.define(`${c}.in`, input);
    const two = 1n << BigInt(S);
    const q = this.wire(`${c}.q`);
    // r = in * M + 2^(S-1) - q * 2^S, range-checked: t === q * 2^S + r with r substituted
    const r = scale(input, BigInt(M));
    addInto(r, constant(1n << BigInt(S - 1)), 1n);
    addInto(r, new Map([[q, 1n]]), -two);
    this.define(`${c}.r`, r);
    this.rangeBits(`${c}.rr`, S, r);
    return new Map([[q, 1n]]);
  }

  qRange(c: string, NQ: number, QMIN: number, input: WLC): void {
    this.define(`${c}.in`, input);
    this.rangeBits(`${c}.rb`, NQ, sub(input, constant(BigInt(QMIN))));
  }

  /** A table (circom.ts tableTemplate): one-hot selectors pinned to the input's position, the row they read. */
  table(c: string, LO: number, table: readonly bigint[], width: number, input: WLC): WLC[] {
    this.define(`${c}.in`, input);
    const rows = table.length / width;
    const { outer, inner } = tableSplit(rows, width);
    const pos = sub(input, constant(BigInt(LO)));
    const boolean = (name: string): WLC => {
      const w = this.wire(name);
      this.quad(
        new Map([[w, 1n]]),
        new Map([
          [w, 1n],
          [0, P - 1n],
        ]),
        new Map(),
      );
      return new Map([[w, 1n]]);
    };
    const outs: WLC[] = [];
    if (outer === 1) {
      const one: WLC = new Map();
      const idx: WLC = new Map();
      const acc: WLC[] = Array.from({ length: width }, () => new Map());
      for (let i = 0; i < rows; i++) {
        const s = boolean(`${c}.sel[${i}]`);
        addInto(one, s, 1n);
        addInto(idx, s, BigInt(i));
        for (let j = 0; j < width; j++) addInto(acc[j]!, s, table[i * width + j]!);
      }
      this.linear(sub(one, constant(1n)));
      this.linear(sub(idx, pos));
      acc.forEach((a) => outs.push(a));
    } else {
      const tail = rows - (outer - 1) * inner;
      const hs = Array.from({ length: outer }, (_, i) => boolean(`${c}.hs[${i}]`));
      const ls = Array.from({ length: inner }, (_, j) => boolean(`${c}.ls[${j}]`));
      const sum = (xs: WLC[], k: (i: number) => bigint) => {
        const s: WLC = new Map();
        xs.forEach((x, i) => addInto(s, x, k(i)));
        return s;
      };
      this.linear(
        sub(
          sum(hs, () => 1n),
          constant(1n),
        ),
      );
      this.linear(
        sub(
          sum(ls, () => 1n),
          constant(1n),
        ),
      );
      const idx = sum(hs, (i) => BigInt(i * inner));
      addInto(
        idx,
        sum(ls, (j) => BigInt(j)),
        1n,
      );
      this.linear(sub(idx, pos));
      if (tail < inner)
        this.quad(
          hs[outer - 1]!,
          sum(ls.slice(tail), () => 1n),
          new Map(),
        );
      const acc: WLC[] = Array.from({ length: width }, () => new Map());
      for (let i = 0; i < outer; i++)
        for (let w = 0; w < width; w++) {
          const row: WLC = new Map();
          for (let j = 0; j < inner; j++)
            if (i * inner + j < rows) addInto(row, ls[j]!, table[(i * inner + j) * width + w]!);
          addInto(acc[w]!, this.product(`${c}.p[${i}][${w}]`, hs[i]!, row), 1n);
        }
      acc.forEach((a) => outs.push(a));
    }
    outs.forEach((o, j) => this.define(width === 1 ? `${c}.out` : `${c}.out[${j}]`, o));
    return outs;
  }

  run(call: GadgetCall): void {
    switch (call.kind) {
      case "RangeBits":
        this.rangeBits(call.name, call.n, this.lc(call.input));
        return;
      case "Requant": {
        const c = call.name;
        const input = this.define(`${c}.in`, this.lc(call.input));
        const q = this.divPow2(`${c}.d`, call.M, call.S, input);
        let out: WLC;
        if (call.MODE === 0) {
          this.qRange(`${c}.qr`, call.N, call.QMIN, q);
          out = q;
        } else {
          out = this.clamp(`${c}.c`, call.N, call.LO, call.HI, call.MODE, q);
        }
        this.define(`${c}.out`, out);
        this.define(call.output, out);
        return;
      }
      case "Clamp":
        this.define(call.output, this.clamp(call.name, call.N, call.LO, call.HI, call.MODE, this.lc(call.input)));
        return;
      case "LeakyRelu": {
        const c = call.name;
        const input = this.define(`${c}.in`, this.factor(call.input));
        const pos = this.greaterEq(`${c}.pos`, call.N, input, new Map());
        const q = this.divPow2(`${c}.d`, call.M, call.S, input);
        this.qRange(`${c}.qr`, call.NQ, call.QMIN, q);
        const diff = this.product(`${c}.diff`, pos, sub(input, q));
        const out = new Map(q);
        addInto(out, diff, 1n);
        this.define(call.output, this.define(`${c}.out`, out));
        return;
      }
      case "Max2":
        this.define(call.output, this.max2(call.name, call.N, this.factor(call.a), this.factor(call.b)));
        return;
      case "ArgMax": {
        const c = call.name;
        const ins = call.inputs.map((l, i) => this.define(`${c}.in[${i}]`, this.factor(l)));
        const sels: WLC[] = [];
        const s: WLC = new Map();
        const idx: WLC = new Map();
        const m: WLC = new Map();
        for (let i = 0; i < call.n; i++) {
          const w = this.wire(`${c}.sel[${i}]`);
          const sel: WLC = new Map([[w, 1n]]);
          this.quad(
            sel,
            new Map([
              [w, 1n],
              [0, P - 1n],
            ]),
            new Map(),
          );
          sels.push(sel);
          addInto(s, sel, 1n);
          addInto(idx, sel, BigInt(i));
          addInto(m, this.product(`${c}.picked[${i}]`, sel, ins[i]!), 1n);
        }
        this.linear(sub(s, constant(1n)));
        for (let i = 0; i < call.n; i++) {
          const d = sub(m, ins[i]!);
          for (let j = i + 1; j < call.n; j++) addInto(d, sels[j]!, -1n);
          this.rangeBits(`${c}.ge[${i}]`, call.N, d);
        }
        this.define(call.output, this.define(`${c}.out`, idx));
        return;
      }
      case "Lookup":
        this.define(call.output, this.table(call.name, call.LO, call.table, 1, this.lc(call.input))[0]!);
        return;
      case "Embed": {
        const row = this.table(call.name, call.LO, call.table, call.width, this.lc(call.input));
        call.outputs.forEach((o, j) => this.define(o, row[j]!));
        return;
      }
      case "RowMax": {
        const c = call.name;
        const xs = call.inputs.map((l, i) => this.define(`${c}.in[${i}]`, this.factor(l)));
        const out = this.wire(`${c}.out`);
        const m: WLC = new Map([[out, 1n]]);
        xs.forEach((x, i) => this.rangeBits(`${c}.ge[${i}]`, call.N, sub(m, x)));
        // prodc[0] = out - in[0]; prodc[i] = prodc[i - 1] * (out - in[i]); prodc[n - 1] === 0
        let p = this.define(`${c}.prodc[0]`, sub(m, xs[0]!));
        for (let i = 1; i < xs.length; i++) {
          if (i === xs.length - 1) {
            this.quad(p, sub(m, xs[i]!), new Map());
            p = new Map();
          } else {
            p = this.product(`${c}.prodc[${i}]`, p, sub(m, xs[i]!));
          }
        }
        if (xs.length === 1) this.linear(p);
        this.define(call.output, m);
        return;
      }
      case "SoftmaxDiv": {
        const c = call.name;
        const e = this.define(`${c}.e`, this.lc(call.e));
        const s = this.define(`${c}.s`, this.factor(call.s));
        const q = this.wire(`${c}.q`);
        const r = this.wire(`${c}.r`);
        const qw: WLC = new Map([[q, 1n]]);
        const rw: WLC = new Map([[r, 1n]]);
        // r = 2 * OUT * e + s - 2 * q * s:  q * (2 s) = 2 OUT e + s - r
        const rhs = scale(e, 2n * BigInt(call.OUT));
        addInto(rhs, s, 1n);
        addInto(rhs, rw, -1n);
        this.quad(qw, scale(s, 2n), rhs);
        this.rangeBits(`${c}.rl`, call.NR, rw);
        const hi = scale(s, 2n);
        addInto(hi, constant(1n), -1n);
        addInto(hi, rw, -1n);
        this.rangeBits(`${c}.rh`, call.NR, hi);
        this.rangeBits(`${c}.qr`, call.NQ, qw);
        this.define(call.output, qw);
        return;
      }
      case "Product":
        this.product(call.output, this.sig(call.weight), this.factor(call.x));
        return;
      case "Mul":
        this.product(call.output, this.factor(call.a), this.factor(call.b));
        return;
      case "Rsqrt": {
        const c = call.name;
        const d = this.define(`${c}.d`, this.factor(call.input));
        const r = this.wire(`${c}.out`);
        const rw: WLC = new Map([[r, 1n]]);
        this.rangeBits(`${c}.rb`, call.R + 1, rw);
        const rr2 = this.product(`${c}.rr2`, rw, rw);
        const lo = this.product(`${c}.lo`, rr2, d);
        const hi = this.product(
          `${c}.hi`,
          new Map([
            [r, 2n],
            [0, 1n],
          ]),
          d,
        );
        const four = constant(1n << BigInt(2 * call.R));
        this.rangeBits(`${c}.lb`, 2 * call.R + 1, sub(four, lo));
        const top = new Map(lo);
        addInto(top, hi, 1n);
        addInto(top, four, -1n);
        addInto(top, constant(1n), -1n);
        this.rangeBits(`${c}.hb`, call.NH, top);
        this.define(call.output, rw);
        return;
      }
      case "Output": {
        const w = this.wires.get(call.output);
        if (w === undefined) throw new Error(`direct backend: public signal ${call.output} has no wire`);
        this.linear(sub(this.lc(call.value), new Map([[w, 1n]])));
        return;
      }
    }
  }
}

function addInto(acc: WLC, x: WLC, k: bigint): void {
  if (k === 0n) return;
  for (const [w, v] of x) acc.set(w, mod((acc.get(w) ?? 0n) + v * k));
}
const scale = (x: WLC, k: bigint): WLC => {
  const out: WLC = new Map();
  addInto(out, x, k);
  return out;
};
const sub = (a: WLC, b: WLC): WLC => {
  const out = new Map(a);
  addInto(out, b, -1n);
  return out;
};
const constant = (c: bigint): WLC => new Map([[0, mod(c)]]);
const isConst = (x: WLC): boolean => x.size === 0 || (x.size === 1 && x.has(0));
function prune(x: WLC): WLC {
  for (const [w, v] of x) if (v === 0n) x.delete(w);
  return x;
}

/**
 * The constraint system of a circuit: `inputs` lists the private input arrays and their lengths (`x`, and a naive
 * build's weight arrays) in circom's declaration order.
 */
export function buildConstraintSystem(
  src: Pick<CircuitSource, "plan" | "publicSignals">,
  inputs: readonly { name: string; length: number }[],
  options: DirectOptions = {},
): ConstraintSystem {
  // The SHA-256 of a sha256 circuit's input bytes is circomlib's circuit, which only circom compiles.
  if (src.publicSignals.some((s) => s.kind === "inputHash")) {
    throw new InputError("the direct backend cannot build input commitment sha256: build it with --backend circom");
  }
  const b = new Builder(options);
  for (const s of src.publicSignals) b.wire(s.name);
  let nPrvIn = 0;
  for (const { name, length } of inputs)
    for (let i = 0; i < length; i++) {
      b.wire(`${name}[${i}]`);
      nPrvIn++;
    }
  for (const call of src.plan) b.run(call);
  return {
    nWires: b.nWires,
    nPubOut: src.publicSignals.length,
    nPrvIn,
    constraints: b.constraints,
    wires: b.wires,
    derived: b.derived,
    ...(options.keepAliases ? { aliases: b.alias } : {}),
  };
}

/** The witness vector of the signal values witness.ts computed (wire 0 = 1, derived wires evaluated). */
export function directWitness(cs: ConstraintSystem, values: SignalValues): bigint[] {
  const w = new Array<bigint>(cs.nWires);
  w[0] = 1n;
  for (const [name, wire] of cs.wires) {
    const v = values.get(`main.${name}`);
    if (v === undefined) throw new Error(`witness: no value for wire ${wire} (${name})`);
    w[wire] = v;
  }
  for (const { wire, lc } of cs.derived) {
    let acc = 0n;
    for (const [x, k] of lc) acc += w[x]! * k;
    w[wire] = mod(acc);
  }
  return w;
}

// ---- binary formats (iden3's r1cs and wtns, as snarkjs reads them) ----

const N8 = 32;

class Writer {
  private chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 20);
  private pos = 0;
  size = 0;
  private room(n: number) {
    if (this.pos + n > this.cur.length) {
      this.chunks.push(this.cur.subarray(0, this.pos));
      this.cur = Buffer.alloc(Math.max(1 << 20, n));
      this.pos = 0;
    }
  }
  u32(v: number) {
    this.room(4);
    this.cur.writeUInt32LE(v, this.pos);
    this.pos += 4;
    this.size += 4;
  }
  u64(v: number) {
    this.room(8);
    this.cur.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.size += 8;
  }
  field(v: bigint) {
    this.room(N8);
    let x = v;
    for (let i = 0; i < N8; i++) {
      this.cur[this.pos + i] = Number(x & 0xffn);
      x >>= 8n;
    }
    this.pos += N8;
    this.size += N8;
  }
  ascii(s: string) {
    this.room(s.length);
    this.cur.write(s, this.pos, "ascii");
    this.pos += s.length;
    this.size += s.length;
  }
  done(): Buffer {
    this.chunks.push(this.cur.subarray(0, this.pos));
    return Buffer.concat(this.chunks);
  }
}

function sectioned(magic: string, version: number, sections: [number, Buffer][]): Buffer {
  const head = new Writer();
  head.ascii(magic);
  head.u32(version);
  head.u32(sections.length);
  const parts = [head.done()];
  for (const [type, body] of sections) {
    const h = new Writer();
    h.u32(type);
    h.u64(body.length);
    parts.push(h.done(), body);
  }
  return Buffer.concat(parts);
}

/** The .r1cs file of a constraint system. */
export function r1csBytes(cs: ConstraintSystem): Buffer {
  const header = new Writer();
  header.u32(N8);
  header.field(P);
  header.u32(cs.nWires);
  header.u32(cs.nPubOut);
  header.u32(0);
  header.u32(cs.nPrvIn);
  header.u64(cs.nWires);
  header.u32(cs.constraints.length);
  const body = new Writer();
  for (const abc of cs.constraints)
    for (const lc of abc) {
      const terms = [...lc].sort((x, y) => x[0] - y[0]);
      body.u32(terms.length);
      for (const [w, k] of terms) {
        body.u32(w);
        body.field(k);
      }
    }
  const labels = new Writer();
  for (let i = 0; i < cs.nWires; i++) labels.u64(i);
  return sectioned("r1cs", 1, [
    [1, header.done()],
    [2, body.done()],
    [3, labels.done()],
  ]);
}

export function writeR1cs(cs: ConstraintSystem, file: string): void {
  writeFileSync(file, r1csBytes(cs));
}

/** circom's .sym lines (label, wire, component, name) for the named wires, so tools that read .sym keep working. */
export function symText(cs: ConstraintSystem): string {
  const lines: string[] = [];
  for (const [name, wire] of [...cs.wires].sort((a, b) => a[1] - b[1])) lines.push(`${wire},${wire},0,main.${name}`);
  return lines.join("\n") + "\n";
}

/** The .wtns file of a witness vector. */
export function wtnsBytes(witness: readonly bigint[]): Buffer {
  const header = new Writer();
  header.u32(N8);
  header.field(P);
  header.u32(witness.length);
  const values = new Writer();
  for (const v of witness) values.field(v);
  return sectioned("wtns", 2, [
    [1, header.done()],
    [2, values.done()],
  ]);
}
