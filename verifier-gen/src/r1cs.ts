/**
 * Minimal reader for circom's .r1cs binary format and an independent constraint checker
 * (used by tests to show that a tampered witness violates the constraints).
 */
import { readFileSync } from "node:fs";
import { ToolError } from "./errors.js";

export interface R1cs {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  nConstraints: number;
  /** constraints[k] = [A, B, C], each a list of [wire, coeff] */
  constraints: [Array<[number, bigint]>, Array<[number, bigint]>, Array<[number, bigint]>][];
}

function readLE(buf: Buffer, off: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}

export function readR1cs(file: string, loadConstraints = true): R1cs {
  const buf = readFileSync(file);
  if (buf.toString("ascii", 0, 4) !== "r1cs") throw new ToolError(`${file} is not an r1cs file`);
  const nSections = buf.readUInt32LE(8);
  let off = 12;
  const sections = new Map<number, { start: number; size: number }>();
  for (let i = 0; i < nSections; i++) {
    const type = buf.readUInt32LE(off);
    const size = Number(buf.readBigUInt64LE(off + 4));
    sections.set(type, { start: off + 12, size });
    off += 12 + size;
  }
  const h = sections.get(1);
  if (!h) throw new ToolError(`${file}: missing r1cs header`);
  let p = h.start;
  const n8 = buf.readUInt32LE(p);
  p += 4;
  const prime = readLE(buf, p, n8);
  p += n8;
  const nWires = buf.readUInt32LE(p);
  const nPubOut = buf.readUInt32LE(p + 4);
  const nPubIn = buf.readUInt32LE(p + 8);
  const nPrvIn = buf.readUInt32LE(p + 12);
  const nConstraints = buf.readUInt32LE(p + 24);
  const constraints: R1cs["constraints"] = [];
  if (loadConstraints) {
    const c = sections.get(2)!;
    let q = c.start;
    for (let k = 0; k < nConstraints; k++) {
      const lcs: Array<[number, bigint]>[] = [];
      for (let j = 0; j < 3; j++) {
        const nt = buf.readUInt32LE(q);
        q += 4;
        const lc: Array<[number, bigint]> = [];
        for (let t = 0; t < nt; t++) {
          lc.push([buf.readUInt32LE(q), readLE(buf, q + 4, n8)]);
          q += 4 + n8;
        }
        lcs.push(lc);
      }
      constraints.push([lcs[0]!, lcs[1]!, lcs[2]!]);
    }
  }
  return { prime, nWires, nPubOut, nPubIn, nPrvIn, nConstraints, constraints };
}

/** Indices of the constraints that the witness violates (empty = satisfied). */
export function checkWitness(r: R1cs, witness: readonly bigint[]): number[] {
  const P = r.prime;
  const ev = (lc: Array<[number, bigint]>) => {
    let s = 0n;
    for (const [w, c] of lc) s = (s + c * witness[w]!) % P;
    return s;
  };
  const bad: number[] = [];
  if (witness[0] !== 1n) bad.push(-1);
  r.constraints.forEach(([a, b, c], k) => {
    if ((ev(a) * ev(b) - ev(c)) % P !== 0n) bad.push(k);
  });
  return bad;
}
