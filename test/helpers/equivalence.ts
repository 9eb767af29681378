/**
 * Whether the direct backend's constraint system (verifier-gen/src/r1csgen.ts) is circom's, up to the linear
 * substitutions each made: both are brought to one canonical form and compared constraint by constraint.
 *
 * The direct system's linear constraints L are solved (reduced row echelon, each pivot the highest wire of its
 * row), so every linear combination has one canonical representative modulo L. circom's wires are mapped by name
 * (its .sym) to the direct wire or substituted signal of the same name, i.e. into the quotient V / L. Then:
 * - that map must be an affine isomorphism (as many free direct wires as circom wires, images independent), so
 *   every circom witness is exactly one direct witness satisfying L and vice versa;
 * - the public wires must map to themselves;
 * - the quadratic constraints, normalized (A and B monic, C scaled to match, the pair sorted), must be the same
 *   multiset, and every linear constraint circom kept must reduce to 0 modulo L.
 * Together: the two R1CS have the same solutions, so they admit exactly the same public signals for every choice
 * of the private wires, forged or honest.
 */
import type { R1cs } from "../../verifier-gen/src/r1cs.js";
import type { ConstraintSystem } from "../../verifier-gen/src/r1csgen.js";

type Lin = Map<number, bigint>;

function field(P: bigint) {
  const mod = (x: bigint) => ((x % P) + P) % P;
  const inv = (a: bigint) => {
    let r = 1n,
      b = mod(a),
      e = P - 2n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % P;
      b = (b * b) % P;
      e >>= 1n;
    }
    return r;
  };
  const addInto = (acc: Lin, x: Lin, k: bigint) => {
    for (const [w, v] of x) {
      const nv = mod((acc.get(w) ?? 0n) + v * k);
      if (nv === 0n) acc.delete(w);
      else acc.set(w, nv);
    }
  };
  return { mod, inv, addInto };
}

/** Differences found (empty: the systems are equivalent). */
export function compareWithCircom(cs: ConstraintSystem, circom: R1cs, sym: Map<string, number>): string[] {
  const P = circom.prime;
  const { mod, inv, addInto } = field(P);
  const problems: string[] = [];
  if (!cs.aliases) throw new Error("compareWithCircom needs a constraint system built with keepAliases");

  // ---- solve the direct system's linear constraints: pivot wire -> its value over the free wires ----
  const pivots = new Map<number, Lin>();
  /** pivots whose expression mentions a wire (for back-substitution) */
  const users = new Map<number, Set<number>>();
  const reduce = (x: Lin): Lin => {
    const out: Lin = new Map();
    for (const [w, k] of x) {
      const e = pivots.get(w);
      if (e) addInto(out, e, k);
      else addInto(out, new Map([[w, k]]), 1n);
    }
    return out;
  };
  const addLinear = (c: Lin) => {
    const r = reduce(c);
    if (r.size === 0) return;
    const p = Math.max(...r.keys());
    if (p === 0) {
      problems.push("direct: the linear constraints are inconsistent");
      return;
    }
    const k = r.get(p)!;
    r.delete(p);
    const e: Lin = new Map();
    addInto(e, r, mod(-inv(k)));
    // substitute p in every earlier pivot expression, then record it
    for (const q of users.get(p) ?? []) {
      const eq = pivots.get(q)!;
      const kp = eq.get(p);
      if (kp === undefined) continue;
      eq.delete(p);
      addInto(eq, e, kp);
      for (const w of e.keys()) (users.get(w) ?? users.set(w, new Set()).get(w)!).add(q);
    }
    pivots.set(p, e);
    for (const w of e.keys()) (users.get(w) ?? users.set(w, new Set()).get(w)!).add(p);
  };
  const isConst = (x: Lin) => x.size === 0 || (x.size === 1 && x.has(0));
  let quadratic = cs.constraints.filter(([a, b]) => a.size > 0 && b.size > 0);
  for (const [a, b, c] of cs.constraints) if (a.size === 0 || b.size === 0) addLinear(c);
  // A product whose factor is a constant modulo L is linear (circom's simplifier substitutes those too): to L, until none.
  for (let changed = true; changed;) {
    changed = false;
    quadratic = quadratic.filter(([a, b, c]) => {
      const [ra, rb] = [reduce(a), reduce(b)];
      if (!isConst(ra) && !isConst(rb)) return true;
      const [k, x] = isConst(ra) ? [ra.get(0) ?? 0n, rb] : [rb.get(0) ?? 0n, ra];
      const lin: Lin = new Map();
      addInto(lin, x, k);
      addInto(lin, reduce(c), P - 1n);
      addLinear(lin);
      changed = true;
      return false;
    });
  }

  // ---- circom's wires in the direct quotient space ----
  const image = new Array<Lin | undefined>(circom.nWires);
  image[0] = new Map([[0, 1n]]);
  for (const [full, wire] of sym) {
    if (image[wire] !== undefined) continue;
    const name = full.replace(/^main\./, "");
    const w = cs.wires.get(name);
    const lc = w !== undefined ? new Map([[w, 1n]]) : cs.aliases.get(name);
    if (lc) image[wire] = reduce(lc);
  }
  const unmapped = image.findIndex((x) => x === undefined);
  if (unmapped >= 0) problems.push(`circom wire ${unmapped} has no signal of the same name in the direct system`);
  if (problems.length > 0) return problems;
  const img = image as Lin[];

  // affine isomorphism: as many free wires as circom's non-constant wires, and the images' linear parts independent
  const free = cs.nWires - 1 - pivots.size;
  if (free !== circom.nWires - 1) problems.push(`direct has ${free} free wires, circom ${circom.nWires - 1}`);
  const basis = new Map<number, Lin>(); // leading wire -> row
  for (let i = 1; i < img.length; i++) {
    const v = new Map(img[i]!);
    v.delete(0);
    for (;;) {
      if (v.size === 0) {
        problems.push(`circom wire ${i} is a linear function of the others in the direct system`);
        break;
      }
      const lead = Math.max(...v.keys());
      const row = basis.get(lead);
      if (!row) {
        basis.set(lead, v);
        break;
      }
      addInto(v, row, mod(-v.get(lead)! * inv(row.get(lead)!)));
    }
  }
  /** a canonical text of a combination (coefficients above p / 2 as negatives, so -1 reads -1) */
  const key = (x: Lin) =>
    [...x]
      .sort((a, b) => a[0] - b[0])
      .map(([w, k]) => `${k > P / 2n ? k - P : k}*w${w}`)
      .join(" + ");
  const short = (t: string) => (t.length > 160 ? `${t.slice(0, 160)}...` : t);
  for (let i = 1; i <= circom.nPubOut + circom.nPubIn; i++)
    if (key(img[i]!) !== key(reduce(new Map([[i, 1n]])))) problems.push(`public wire ${i} differs`);

  // ---- the constraints, normalized ----
  const monic = (x: Lin): [Lin, bigint] => {
    if (x.size === 0) return [x, 1n];
    const lead = x.get(Math.min(...x.keys()))!;
    const out: Lin = new Map();
    addInto(out, x, inv(lead));
    return [out, lead];
  };
  const normal = (a: Lin, b: Lin, c: Lin): string => {
    const [ma, ka] = monic(a);
    const [mb, kb] = monic(b);
    const mc: Lin = new Map();
    addInto(mc, c, inv((ka * kb) % P));
    const [sa, sb] = [key(ma), key(mb)].sort();
    return `${sa} * ${sb} = ${key(mc)}`;
  };
  const quads = new Map<string, number>();
  for (const [a, b, c] of quadratic) {
    const k = normal(reduce(a), reduce(b), reduce(c));
    quads.set(k, (quads.get(k) ?? 0) + 1);
  }
  const translate = (lc: Array<[number, bigint]>): Lin => {
    const out: Lin = new Map();
    for (const [w, k] of lc) addInto(out, img[w]!, k);
    return out;
  };
  for (const [a, b, c] of circom.constraints) {
    const [ta, tb, tc] = [translate(a), translate(b), translate(c)];
    if (a.length === 0 || b.length === 0 || isConst(ta) || isConst(tb)) {
      const lin: Lin = new Map();
      if (a.length > 0 && b.length > 0) addInto(lin, isConst(ta) ? tb : ta, (isConst(ta) ? ta : tb).get(0) ?? 0n);
      addInto(lin, tc, P - 1n);
      if (lin.size !== 0)
        problems.push(`circom's linear constraint ${key(lin)} does not hold in the direct system`.slice(0, 200));
      continue;
    }
    const k = normal(ta, tb, tc);
    const n = quads.get(k) ?? 0;
    if (n === 0) problems.push(`circom's constraint ${short(k)} is not in the direct system`);
    else quads.set(k, n - 1);
  }
  for (const [k, n] of quads) if (n > 0) problems.push(`the direct system's constraint ${short(k)} is not circom's`);
  return problems;
}
