import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { developmentZkey } from "../../verifier-gen/src/devsetup.js";
import {
  calculateWitnessBin,
  compileCircom,
  defaultPtauCacheDir,
  ensureLocalPtau,
  setupGroth16,
  terminateSnarkjs,
  type CompileResult,
} from "../../verifier-gen/src/groth16.js";
import { silentLogger, type Logger } from "../../verifier-gen/src/logger.js";

const CIRCUITS: Record<string, string> = {
  // three public outputs, private inputs only
  outs: `pragma circom 2.1.0;
template Outs() {
  signal input a;
  signal input b;
  signal output y[3];
  signal t;
  t <== a * b;
  y[0] <== t * t;
  y[1] <== t * a + b;
  y[2] <== y[0] * b;
}
component main = Outs();
`,
  // two public outputs and a public input
  pubin: `pragma circom 2.1.0;
template PubIn() {
  signal input p;
  signal input s;
  signal output y[2];
  signal t;
  t <== s * s;
  y[0] <== t * p;
  y[1] <== t * s + p;
}
component main {public [p]} = PubIn();
`,
  // 300 chained multiplications (domain 512): every H point gets a nonzero (A*B - C) coset value
  chain: `pragma circom 2.1.0;
template Chain(n) {
  signal input x;
  signal input k;
  signal output y;
  signal v[n];
  v[0] <== x * x;
  for (var i = 1; i < n; i++) v[i] <== v[i-1] * (v[i-1] + k) + i;
  y <== v[n-1] * x;
}
component main {public [k]} = Chain(300);
`,
};

interface Section {
  id: number;
  start: number;
  size: number;
}

/** The sections of an iden3 binary file (.zkey, .wtns), in file order. */
function sections(buf: Buffer): Section[] {
  const n = buf.readUInt32LE(8);
  const out: Section[] = [];
  let off = 12;
  for (let i = 0; i < n; i++) {
    const size = Number(buf.readBigUInt64LE(off + 4));
    out.push({ id: buf.readUInt32LE(off), start: off + 12, size });
    off += 12 + size;
  }
  expect(off).to.equal(buf.length);
  return out;
}

function section(buf: Buffer, id: number): Buffer {
  const s = sections(buf).find((x) => x.id === id)!;
  return buf.subarray(s.start, s.start + s.size);
}

function grothHeader(buf: Buffer) {
  const h = section(buf, 2);
  const n8q = h.readUInt32LE(0);
  const n8r = h.readUInt32LE(4 + n8q);
  const p = 8 + n8q + n8r;
  return {
    protocol: section(buf, 1).readUInt32LE(0),
    n8q,
    q: h.subarray(4, 4 + n8q).toString("hex"),
    n8r,
    r: h.subarray(8 + n8q, p).toString("hex"),
    nVars: h.readUInt32LE(p),
    nPublic: h.readUInt32LE(p + 4),
    domainSize: h.readUInt32LE(p + 8),
  };
}

/** Which points of a point section are the point at infinity (all-zero bytes). */
function zeroPattern(buf: Buffer, id: number, pointBytes: number): boolean[] {
  const s = section(buf, id);
  const out: boolean[] = [];
  for (let i = 0; i < s.length; i += pointBytes) out.push(s.subarray(i, i + pointBytes).every((b) => b === 0));
  return out;
}

const collect = (): { logger: Logger; lines: Array<{ obj: unknown; msg: string | undefined }> } => {
  const lines: Array<{ obj: unknown; msg: string | undefined }> = [];
  const info = ((obj: unknown, msg?: string) => {
    lines.push({ obj, msg: typeof obj === "string" ? obj : msg });
  }) as Logger["info"];
  return { logger: { ...silentLogger, info }, lines };
};

describe("verifier-gen: development Groth16 setup (devsetup.ts, no powers of tau)", function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), "veriml-devsetup-test-"));
  const c: Record<string, CompileResult> = {};
  const zkey = (name: string, tag = "a") => join(dir, `${name}.${tag}.zkey`);
  const inputs: Record<string, Record<string, unknown>> = {
    outs: { a: 7, b: 11 },
    pubin: { p: 5, s: 13 },
    chain: { x: 3, k: 12345 },
  };

  before(async () => {
    for (const [name, src] of Object.entries(CIRCUITS)) {
      writeFileSync(join(dir, `${name}.circom`), src);
      c[name] = await compileCircom(dir, name);
      // the chain key is computed on two worker threads, the others in this thread
      const threads = name === "chain" ? 2 : 1;
      await developmentZkey(c[name].r1cs, zkey(name), { entropy: new TextEncoder().encode(`test ${name} a`), threads });
      await developmentZkey(c[name].r1cs, zkey(name, "b"), { entropy: new TextEncoder().encode(`test ${name} b`) });
    }
  });
  after(async () => {
    await terminateSnarkjs();
    rmSync(dir, { recursive: true, force: true });
  });

  async function prove(name: string, key = zkey(name), wtns?: Uint8Array) {
    const w = wtns ?? (await calculateWitnessBin(c[name]!.wasm, inputs[name]!));
    return snarkjs.groth16.prove(key, { type: "mem", data: w });
  }

  for (const name of Object.keys(CIRCUITS)) {
    it(`${name}: a snarkjs proof with the development key verifies under its exported verification key`, async () => {
      const vk = await snarkjs.zKey.exportVerificationKey(zkey(name));
      expect(vk.protocol).to.equal("groth16");
      expect(vk.curve).to.equal("bn128");
      expect(vk.nPublic).to.equal(c[name]!.publicOutputs + c[name]!.publicInputs);
      expect(vk.IC).to.have.length(vk.nPublic + 1);
      const { proof, publicSignals } = await prove(name);
      expect(publicSignals).to.have.length(vk.nPublic);
      expect(await snarkjs.groth16.verify(vk, publicSignals, proof)).to.equal(true);
    });

    it(`${name}: the same proof fails with any public signal changed`, async () => {
      const vk = await snarkjs.zKey.exportVerificationKey(zkey(name));
      const { proof, publicSignals } = await prove(name);
      for (let i = 0; i < publicSignals.length; i++) {
        const changed = [...publicSignals];
        changed[i] = String(BigInt(changed[i]!) + 1n);
        expect(await snarkjs.groth16.verify(vk, changed, proof), `signal ${i}`).to.equal(false);
      }
    });

    it(`${name}: a proof from another random setup does not verify under this key`, async () => {
      const vkA = await snarkjs.zKey.exportVerificationKey(zkey(name));
      const vkB = await snarkjs.zKey.exportVerificationKey(zkey(name, "b"));
      const { proof, publicSignals } = await prove(name, zkey(name, "b"));
      expect(await snarkjs.groth16.verify(vkB, publicSignals, proof)).to.equal(true);
      expect(await snarkjs.groth16.verify(vkA, publicSignals, proof)).to.equal(false);
    });
  }

  it("has the layout of snarkjs's own key (newZKey + contribute from a powers of tau) for the same circuit", async () => {
    const ptau = await ensureLocalPtau(9, defaultPtauCacheDir());
    const initialFile = join(dir, "chain.snarkjs0.zkey");
    const theirsFile = join(dir, "chain.snarkjs.zkey");
    await snarkjs.zKey.newZKey(c.chain!.r1cs, ptau, initialFile);
    await setupGroth16(c.chain!.r1cs, ptau, theirsFile); // the project's path: newZKey + one contribution
    const ours = readFileSync(zkey("chain"));
    const theirs = readFileSync(theirsFile);
    const initial = readFileSync(initialFile);
    const layout = (b: Buffer) => sections(b).map(({ id, size }) => ({ id, size }));
    // same sections in the same order, same sizes except the contributions (ours: none, like newZKey's)
    expect(sections(ours).map((s) => s.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(layout(ours).slice(0, 9)).to.deep.equal(layout(theirs).slice(0, 9));
    const sorted = (b: Buffer) => layout(b).sort((x, y) => x.id - y.id);
    expect(sorted(ours)).to.deep.equal(sorted(initial));
    expect(section(ours, 10)).to.have.length(68);
    expect(section(ours, 10).readUInt32LE(64)).to.equal(0);
    expect(section(initial, 10).readUInt32LE(64)).to.equal(0);
    expect(section(theirs, 10).readUInt32LE(64)).to.equal(1);
    expect(ours.subarray(0, 12).equals(theirs.subarray(0, 12))).to.equal(true); // magic, version, count
    // header fields
    const h = grothHeader(ours);
    expect(h).to.deep.equal(grothHeader(theirs));
    expect(h.domainSize).to.equal(512);
    expect(h.nPublic).to.equal(2);
    // the coefficient section does not depend on the toxic waste: byte-identical
    expect(section(ours, 4).equals(section(theirs, 4))).to.equal(true);
    // points at infinity exactly where snarkjs has them (wires without A / B terms)
    for (const [id, bytes] of [
      [5, 64],
      [6, 64],
      [7, 128],
      [8, 64],
      [3, 64],
      [9, 64],
    ] as const) {
      expect(zeroPattern(ours, id, bytes), `section ${id}`).to.deep.equal(zeroPattern(theirs, id, bytes));
    }
    expect(zeroPattern(ours, 6, 64).some((z) => z)).to.equal(true); // the pattern check is not vacuous
    const vkOurs = await snarkjs.zKey.exportVerificationKey(zkey("chain"));
    const vkTheirs = await snarkjs.zKey.exportVerificationKey(theirsFile);
    expect(vkOurs.nPublic).to.equal(vkTheirs.nPublic);
    expect(vkOurs.IC.length).to.equal(vkTheirs.IC.length);
    // both keys prove the same statement
    const { proof, publicSignals } = await prove("chain", theirsFile);
    const ourProof = await prove("chain");
    expect(ourProof.publicSignals).to.deep.equal(publicSignals);
    expect(await snarkjs.groth16.verify(vkTheirs, publicSignals, proof)).to.equal(true);
    expect(await snarkjs.groth16.verify(vkOurs, publicSignals, proof)).to.equal(false);
  });

  it("H section: a witness violating one constraint does not verify; a tampered H point breaks valid proofs", async () => {
    const vk = await snarkjs.zKey.exportVerificationKey(zkey("chain"));
    const good = await calculateWitnessBin(c.chain!.wasm, inputs.chain!);
    const ok = await prove("chain", zkey("chain"), good);
    expect(await snarkjs.groth16.verify(vk, ok.publicSignals, ok.proof)).to.equal(true);

    // change one private wire in the middle of the chain: A*B != C at the constraints that use it
    const wtns = Buffer.from(good);
    const values = sections(wtns).find((s) => s.id === 2)!;
    const nPublic = vk.nPublic;
    const nVars = values.size / 32;
    const wire = nPublic + 1 + Math.floor((nVars - nPublic - 1) / 2);
    const at = values.start + wire * 32;
    wtns[at] = wtns[at]! ^ 1;
    const bad = await prove("chain", zkey("chain"), wtns);
    expect(bad.publicSignals).to.deep.equal(ok.publicSignals);
    expect(await snarkjs.groth16.verify(vk, bad.publicSignals, bad.proof)).to.equal(false);

    // swap two H points: the honest witness no longer verifies (so passing proofs exercise every H term)
    for (const i of [0, 255, 511]) {
      const key = Buffer.from(readFileSync(zkey("chain")));
      const hs = sections(key).find((s) => s.id === 9)!;
      const j = (i + 1) % 512;
      const pi = Buffer.from(key.subarray(hs.start + i * 64, hs.start + (i + 1) * 64));
      key.copy(key, hs.start + i * 64, hs.start + j * 64, hs.start + (j + 1) * 64);
      pi.copy(key, hs.start + j * 64);
      const tampered = join(dir, `chain.h${i}.zkey`);
      writeFileSync(tampered, key);
      const p = await prove("chain", tampered, good);
      expect(await snarkjs.groth16.verify(vk, p.publicSignals, p.proof), `H[${i}] <-> H[${j}]`).to.equal(false);
    }
  });

  it("is reproducible from entropy (on any number of threads), random without it, and logs every section with timings", async () => {
    const e = new TextEncoder().encode("test pubin a");
    const again = zkey("pubin", "again");
    await developmentZkey(c.pubin!.r1cs, again, { entropy: e });
    expect(readFileSync(again).equals(readFileSync(zkey("pubin")))).to.equal(true);
    expect(readFileSync(zkey("pubin", "b")).equals(readFileSync(zkey("pubin")))).to.equal(false);
    // the same key whether the points are computed in this thread or in workers
    for (const threads of [1, 2]) {
      const log = collect();
      const f = zkey("chain", `threads${threads}`);
      await developmentZkey(c.chain!.r1cs, f, {
        entropy: new TextEncoder().encode("test chain a"),
        threads,
        logger: log.logger,
      });
      expect(readFileSync(f).equals(readFileSync(zkey("chain"))), `${threads} thread(s)`).to.equal(true);
      const tables = log.lines.map((l) => l.obj as { step?: string; threads?: number }).filter((o) => o.step);
      expect(tables.filter((o) => o.step!.endsWith("-table")).map((o) => o.threads)).to.deep.equal([threads, threads]);
    }

    const { logger, lines } = collect();
    const r1 = zkey("pubin", "rand1");
    const r2 = zkey("pubin", "rand2");
    await developmentZkey(c.pubin!.r1cs, r1, { logger });
    await developmentZkey(c.pubin!.r1cs, r2);
    const b1 = readFileSync(r1);
    const b2 = readFileSync(r2);
    expect(section(b1, 2).equals(section(b2, 2))).to.equal(false);
    expect(section(b1, 4).equals(section(b2, 4))).to.equal(true);
    const vk = await snarkjs.zKey.exportVerificationKey(r1);
    const { proof, publicSignals } = await prove("pubin", r1);
    expect(await snarkjs.groth16.verify(vk, publicSignals, proof)).to.equal(true);

    const logged = lines.map((l) => (l.obj as { section?: string }).section).filter(Boolean);
    expect(logged).to.include.members(["IC", "H", "C", "A", "B1", "B2"]);
    for (const l of lines) expect(l.obj).to.have.property("ms").that.is.a("number");
  });

  it("rejects files that are not an r1cs", async () => {
    const f = join(dir, "not.r1cs");
    writeFileSync(f, "zkey....garbage");
    let err: unknown;
    try {
      await developmentZkey(f, join(dir, "not.zkey"));
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/not an r1cs file/);
  });
});
