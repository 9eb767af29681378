/**
 * The production setup (verifier-gen/src/ceremony.ts): a phase-1 file checked by its hash, a multi-party phase 2
 * with snarkjs's own steps, the key installed into the build, and the third-party check refusing every way a
 * key, a transcript or a deployed verifier can differ from the ceremony it claims.
 *
 * Phase 1 here is a small local powers of tau (2^9, about 15 s): not a published file, so every call that must
 * accept it passes it explicitly as the known list; the default list (the Hermez files) refuses it.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContractFactory, type Signer } from "ethers";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import {
  applyBeacon,
  checkCeremonyChain,
  contribute,
  finalizeCeremony,
  initCeremony,
  readZkeyTranscript,
  verifyCeremony,
  type CeremonyStep,
} from "../../verifier-gen/src/ceremony.js";
import { ensureLocalPtau, terminateSnarkjs } from "../../verifier-gen/src/groth16.js";
import {
  blake2bFile,
  CeremonyError,
  checkPhase1File,
  PUBLIC_PHASE1_FILES,
  readPtauHeader,
  type KnownPhase1,
} from "../../verifier-gen/src/phase1.js";
import {
  build,
  loadModelDir,
  loadVerifierArtifact,
  proveInput,
  recordArtifactDigests,
  verifyProofFile,
  writeSolidity,
  type Manifest,
} from "../../verifier-gen/src/pipeline.js";
import { BuildRefusedError, checkBuildForChain } from "../../scripts/lib/zk.js";
import { argmaxMlp } from "../helpers/onnx-models.js";

const { ethers } = await network.create();

const inputs = Array.from({ length: 16 }, (_, k) => Array.from({ length: 4 }, (_, i) => Math.cos(k * 7 + i * 3) * 2));
const BLOCK_HASH = "0x8e1b0f2c6a9d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b";

/** The sections of an iden3 binary file, as [id, bytes] in file order. */
function sections(buf: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = 12;
  for (let i = 0; i < buf.readUInt32LE(8); i++) {
    const size = Number(buf.readBigUInt64LE(off + 4));
    out.push([buf.readUInt32LE(off), buf.subarray(off + 12, off + 12 + size)]);
    off += 12 + size;
  }
  return out;
}

/** The same file with section `id` replaced. */
function withSection(buf: Buffer, id: number, bytes: Buffer): Buffer {
  const parts = [buf.subarray(0, 12)];
  for (const [sid, data] of sections(buf)) {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(sid, 0);
    const body = sid === id ? bytes : data;
    head.writeBigUInt64LE(BigInt(body.length), 4);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

const section10 = (file: string) => sections(readFileSync(file)).find(([id]) => id === 10)![1];
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
const writeManifest = (dir: string, m: Manifest) =>
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m, null, 2));

async function deploy(buildDir: string, signer: Signer): Promise<string> {
  const a = loadVerifierArtifact(buildDir);
  const c = await new ContractFactory(a.abi as object[], a.bytecode, signer).deploy();
  await c.waitForDeployment();
  return c.getAddress();
}

async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a refusal matching ${message}`).to.be.instanceOf(CeremonyError);
  expect((error as Error).message).to.match(message);
}

/** Runs a whole ceremony (two contributions, a beacon) on a build and installs it. */
async function ceremony(buildDir: string, ptau: string, known: KnownPhase1[]): Promise<CeremonyStep[]> {
  const { dir } = await initCeremony(buildDir, { ptau, knownPhase1: known });
  const steps = [
    await contribute(dir, { name: "alice", entropy: "alice's dice" }),
    await contribute(dir, { name: "bob" }),
    await applyBeacon(dir, { value: BLOCK_HASH, iterationsExp: 10, source: "test block" }),
  ];
  await finalizeCeremony(dir, { ptau, knownPhase1: known });
  return steps;
}

describe("verifier-gen: production ceremony (public phase 1, multi-party phase 2, third-party check)", function () {
  this.timeout(600_000);
  const tmp = mkdtempSync(join(tmpdir(), "vg-ceremony-"));
  const dev = join(tmp, "dev"); // the development build every case starts from
  const main = join(tmp, "main"); // the build that gets the ceremony
  let ptauA: string;
  let ptauB: string;
  let knownA: KnownPhase1[];
  let knownB: KnownPhase1[];
  let steps: CeremonyStep[];
  let deployer: Signer;

  const known = (file: string, name: string): KnownPhase1 => ({
    power: readPtauHeader(file).power,
    name,
    blake2b: blake2bFile(file),
  });
  /** a fresh copy of the finished ceremony build */
  const copyOfMain = (name: string) => {
    const d = join(tmp, name);
    cpSync(main, d, { recursive: true });
    return d;
  };

  before(async () => {
    deployer = (await ethers.getSigners())[0]!;
    ptauA = await ensureLocalPtau(9, join(tmp, "ptau-a"));
    ptauB = await ensureLocalPtau(9, join(tmp, "ptau-b"));
    knownA = [known(ptauA, "test-a.ptau")];
    knownB = [known(ptauB, "test-b.ptau")];
    writeFileSync(join(tmp, "tiny.onnx"), argmaxMlp());
    writeFileSync(join(tmp, "calib.json"), JSON.stringify({ input_shape: [1, 4], inputs }));
    await build({ model: join(tmp, "tiny.onnx"), calibration: join(tmp, "calib.json"), out: dev, name: "tiny" });
    cpSync(dev, main, { recursive: true });
    steps = await ceremony(main, ptauA, knownA);
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await terminateSnarkjs();
  });

  it("the published list is the table of snarkjs's README (name, power and BLAKE2b-512 of each Hermez file)", () => {
    const readme = readFileSync("node_modules/snarkjs/README.md", "utf8");
    const rows = [
      ...readme.matchAll(
        /^\|\s*(\d+)\s*\|[^|]*\|\s*\[(powersOfTau28_hez_final[_\d]*\.ptau)\]\([^)]*\)\s*\|\s*([0-9a-f]{128})\s*\|/gm,
      ),
    ];
    expect(rows.map(([, power, name, blake2b]) => ({ power: Number(power), name, blake2b }))).to.deep.equal(
      PUBLIC_PHASE1_FILES,
    );
  });

  it("accepts only a published phase-1 file, by its hash, of a power that serves the circuit", async () => {
    // the local file is no published ceremony: the real check (the Hermez list) refuses it, whatever its name
    const renamed = join(tmp, "powersOfTau28_hez_final_09.ptau");
    cpSync(ptauA, renamed);
    await refused(initCeremony(dev, { ptau: renamed, dir: join(tmp, "refused") }), /not a known public phase-1 file/);
    expect(() => checkPhase1File(ptauA, 10, knownA)).to.throw(CeremonyError, /serves circuits up to 2\^9/);
    expect(checkPhase1File(ptauA, 9, knownA)).to.deep.include({ name: "test-a.ptau", power: 9 });
    expect(() => checkPhase1File(join(tmp, "tiny.onnx"), 8, knownA)).to.throw(CeremonyError, /not a \.ptau file/);
  });

  it("two contributions and a beacon: the key is installed, the transcript recorded, proofs verify with it", async () => {
    const m = readManifest(main);
    expect(m.ceremony.development).to.equal(false);
    const mpc = m.ceremony.mpc!;
    expect(mpc.phase1File).to.deep.equal({ name: "test-a.ptau", blake2b: knownA[0]!.blake2b, power: 9 });
    expect(mpc.contributions).to.deep.equal([
      { name: "alice", hash: steps[0]!.hash },
      { name: "bob", hash: steps[1]!.hash },
    ]);
    expect(mpc.beacon).to.deep.include({ value: BLOCK_HASH.slice(2), iterationsExp: 10, hash: steps[2]!.hash });
    // the hashes this module reads from the key are the ones snarkjs returned when contributing
    const t = await readZkeyTranscript(join(main, "model.zkey"));
    expect(t.contributions.map((c) => c.hash)).to.deep.equal(steps.map((s) => s.hash));
    expect(t.transcriptHash).to.equal(mpc.transcriptHash);
    expect(m.ceremony.phase2Contributions).to.equal(2);

    const md = loadModelDir(main);
    const pf = await proveInput(md, inputs[3]!);
    expect((await verifyProofFile(md, pf)).valid).to.equal(true);
    // the development key's proof does not verify under the ceremony's key, nor the other way round
    const devProof = await proveInput(loadModelDir(dev), inputs[3]!);
    expect(devProof.publicSignals).to.deep.equal(pf.publicSignals);
    expect((await verifyProofFile(md, devProof)).valid).to.equal(false);
    expect((await verifyProofFile(loadModelDir(dev), pf)).valid).to.equal(false);
    // the verifier was regenerated from the ceremony's key, and it accepts the proof on chain
    expect(loadVerifierArtifact(main).codeHash).to.not.equal(loadVerifierArtifact(dev).codeHash);
    const verifier = new ethers.Contract(await deploy(main, deployer), loadVerifierArtifact(main).abi as string[]);
    const cd = pf.calldata;
    expect(await verifier.connect(deployer).getFunction("verifyProof")(cd.a, cd.b, cd.c, cd.pubSignals)).to.equal(true);
  });

  it("verify: a third party confirms the key, the transcript and the deployed verifier", async () => {
    const address = await deploy(main, deployer);
    const r = await verifyCeremony(main, {
      ptau: ptauA,
      knownPhase1: knownA,
      deployed: { address, provider: ethers.provider },
      recompile: true,
    });
    expect(r.skipped).to.deep.equal([]);
    expect(r.checked.join("\n"))
      .to.match(/snarkjs zkey verify/)
      .and.match(/byte for byte/)
      .and.match(/deployed/);
    expect(r.codeHash).to.equal(loadVerifierArtifact(main).codeHash);
    // without the phase-1 file and a chain, the report says what it did not check
    const partial = await verifyCeremony(main);
    expect(partial.skipped).to.have.length(2);
    // the phase-1 check itself refuses the unpublished file when no list is given
    await refused(verifyCeremony(main, { ptau: ptauA }), /not a known public phase-1 file/);
  });

  it("refuses a tampered contribution: in the key alone, and with the manifest rewritten to match it", async () => {
    const d = copyOfMain("tampered");
    const zkey = join(d, "model.zkey");
    const s10 = Buffer.from(section10(zkey));
    // contribution 1 starts after the circuit hash (64) and the count (4): its transcript follows 3 G1 + 1 G2 points
    const at = 64 + 4 + 3 * 64 + 128 + 5;
    s10.writeUInt8(s10[at]! ^ 0x01, at);
    writeFileSync(zkey, withSection(readFileSync(zkey), 10, s10));
    await refused(verifyCeremony(d), /model.zkey is not the key the manifest lists/);
    recordArtifactDigests(d, readManifest(d)); // the served-file digests updated to the tampered key
    await refused(verifyCeremony(d), /contribution 1 \(alice\) has hash/);
    // an attacker who also rewrites the manifest to the tampered hashes: only snarkjs's check is left, and refuses
    const t = await readZkeyTranscript(zkey);
    const m = readManifest(d);
    m.ceremony.mpc!.contributions[0]!.hash = t.contributions[0]!.hash;
    m.ceremony.mpc!.transcriptHash = t.transcriptHash;
    writeManifest(d, m);
    recordArtifactDigests(d, m);
    expect((await verifyCeremony(d)).skipped).to.have.length(2); // the cheap checks pass now
    await refused(verifyCeremony(d, { ptau: ptauA, knownPhase1: knownA }), /snarkjs zkey verify refused/);
  });

  it("refuses a key with a hidden contribution (a delta someone knows, the recorded transcript unchanged)", async () => {
    const d = copyOfMain("hidden");
    const zkey = join(d, "model.zkey");
    await snarkjs.zKey.contribute(zkey, join(tmp, "hidden.zkey"), "mallory", "mallory keeps this");
    // the new key, with the contribution section of the honest one: every recorded hash still matches
    writeFileSync(zkey, withSection(readFileSync(join(tmp, "hidden.zkey")), 10, Buffer.from(section10(zkey))));
    // and its verification key and verifier regenerated, as a careful forger would
    const vk = await snarkjs.zKey.exportVerificationKey(zkey);
    writeFileSync(join(d, "verification_key.json"), JSON.stringify(vk, null, 1));
    writeSolidity(loadModelDir(d));
    expect((await verifyCeremony(d)).skipped).to.have.length(2);
    await refused(verifyCeremony(d, { ptau: ptauA, knownPhase1: knownA }), /snarkjs zkey verify refused/);
    // the verification key is what the hidden contribution changed: without the forger's care, a cheap check sees it
    const e = copyOfMain("hidden-vk");
    writeFileSync(
      join(e, "model.zkey"),
      withSection(readFileSync(join(tmp, "hidden.zkey")), 10, Buffer.from(section10(zkey))),
    );
    recordArtifactDigests(e, readManifest(e));
    await refused(verifyCeremony(e), /verification_key.json is not the key's/);
  });

  it("refuses a key from another phase-1 file, even when the manifest claims the right one", async () => {
    const d = join(tmp, "other-ptau");
    cpSync(dev, d, { recursive: true });
    await ceremony(d, ptauB, knownB);
    // honest about its phase 1: the file given is not the one recorded
    await refused(verifyCeremony(d, { ptau: ptauA, knownPhase1: knownA }), /not the phase-1 file the manifest records/);
    // relabelled as ptau A's ceremony: snarkjs finds the key is not over ptau A
    const m = readManifest(d);
    m.ceremony.mpc!.phase1File = { name: "test-a.ptau", blake2b: knownA[0]!.blake2b, power: 9 };
    writeManifest(d, m);
    await refused(verifyCeremony(d, { ptau: ptauA, knownPhase1: knownA }), /snarkjs zkey verify refused/);
    // and a finalize of a ceremony over B given file A refuses before installing anything
    const e = join(tmp, "other-ptau-finalize");
    cpSync(dev, e, { recursive: true });
    const { dir } = await initCeremony(e, { ptau: ptauB, knownPhase1: knownB });
    await contribute(dir, { name: "alice" });
    await contribute(dir, { name: "bob" });
    await applyBeacon(dir, { value: BLOCK_HASH, iterationsExp: 10, source: "test block" });
    await refused(
      finalizeCeremony(dir, { ptau: ptauA, knownPhase1: [...knownA, ...knownB] }),
      /not the phase-1 file the ceremony started from/,
    );
    expect(readManifest(e).ceremony.development).to.equal(true);
  });

  it("refuses a manifest with a missing, forged or reordered contribution hash", async () => {
    const d = copyOfMain("forged");
    const honest = readManifest(d);
    const variants: [string, (m: Manifest) => void, RegExp][] = [
      ["missing", (m) => m.ceremony.mpc!.contributions.splice(1, 1), /the key has 3 contributions, the record lists 2/],
      [
        "forged",
        (m) => (m.ceremony.mpc!.contributions[1]!.hash = "00" + m.ceremony.mpc!.contributions[1]!.hash.slice(2)),
        /contribution 2 \(bob\) has hash/,
      ],
      ["renamed", (m) => (m.ceremony.mpc!.contributions[0]!.name = "vitalik"), /contribution 1 is "alice" in the key/],
      ["reordered", (m) => m.ceremony.mpc!.contributions.reverse(), /contribution 1 \(bob\) has hash/],
      ["beacon", (m) => (m.ceremony.mpc!.beacon.value = "ff" + m.ceremony.mpc!.beacon.value.slice(2)), /beacon/],
      ["transcript", (m) => (m.ceremony.mpc!.transcriptHash = "00".repeat(64)), /transcript hash/],
      ["development", (m) => (m.ceremony = { ...m.ceremony, development: true }), /development key/],
    ];
    for (const [what, change, message] of variants) {
      const m = structuredClone(honest);
      change(m);
      writeManifest(d, m);
      await refused(verifyCeremony(d), message);
      void what;
    }
    // a ceremony record edited between steps is caught before the next contribution
    const c = join(tmp, "chain");
    cpSync(dev, c, { recursive: true });
    const { dir } = await initCeremony(c, { ptau: ptauA, knownPhase1: knownA });
    await contribute(dir, { name: "alice" });
    const state = JSON.parse(readFileSync(join(dir, "ceremony.json"), "utf8"));
    state.steps[0].name = "someone else";
    writeFileSync(join(dir, "ceremony.json"), JSON.stringify(state));
    await refused(contribute(dir, { name: "bob" }), /contribution 1 is "alice" in the key/);
    await refused(checkCeremonyChain(dir), /"someone else" in the record/);
  });

  it("refuses a deployed verifier generated from another key", async () => {
    const devVerifier = await deploy(dev, deployer);
    await refused(
      verifyCeremony(main, { deployed: { address: devVerifier, provider: ethers.provider } }),
      /is not the verifier generated from this ceremony's key/,
    );
    await refused(
      verifyCeremony(main, { deployed: { address: await deployer.getAddress(), provider: ethers.provider } }),
      /no contract at/,
    );
    // and a verifier.json swapped for another key's
    const d = copyOfMain("swapped-verifier");
    cpSync(join(dev, "verifier.json"), join(d, "verifier.json"));
    await refused(verifyCeremony(d), /verifier.json .* is not the verifier of this key/);
  });

  it("a beacon needs two contributions first, and closes the ceremony", async () => {
    const c = join(tmp, "order");
    cpSync(dev, c, { recursive: true });
    const { dir } = await initCeremony(c, { ptau: ptauA, knownPhase1: knownA });
    await contribute(dir, { name: "alice" });
    await refused(
      applyBeacon(dir, { value: BLOCK_HASH, iterationsExp: 10, source: "test" }),
      /at least 2 before the beacon/,
    );
    await refused(finalizeCeremony(dir, { ptau: ptauA, knownPhase1: knownA }), /no beacon yet/);
    await contribute(dir, { name: "bob" });
    await applyBeacon(dir, { value: BLOCK_HASH, iterationsExp: 10, source: "test" });
    await refused(contribute(dir, { name: "carol" }), /the ceremony is closed/);
    // a key the owner contributed to alone (made with snarkjs directly), recorded faithfully, is still refused
    const solo = copyOfMain("solo");
    const z0 = join(tmp, "solo0.zkey"),
      z1 = join(tmp, "solo1.zkey");
    await snarkjs.zKey.newZKey(join(solo, "circuit/model.r1cs"), ptauA, z0);
    await snarkjs.zKey.contribute(z0, z1, "owner", "owner entropy");
    await snarkjs.zKey.beacon(z1, join(solo, "model.zkey"), "final beacon", BLOCK_HASH.slice(2), 10);
    const t = await readZkeyTranscript(join(solo, "model.zkey"));
    const m = readManifest(solo);
    m.ceremony.mpc!.contributions = [{ name: "owner", hash: t.contributions[0]!.hash }];
    m.ceremony.mpc!.beacon.hash = t.contributions[1]!.hash;
    m.ceremony.mpc!.transcriptHash = t.transcriptHash;
    writeManifest(solo, m);
    recordArtifactDigests(solo, m);
    await refused(verifyCeremony(solo), /1 contribution\(s\); a ceremony needs 2/);
    expect(() => checkBuildForChain(readManifest(solo), 1n, false, knownA)).to.throw(BuildRefusedError, /needs 2/);
  });

  it("public chains: development builds refused, ceremony builds over a published phase 1 accepted", () => {
    const devManifest = readManifest(dev);
    const mpcManifest = readManifest(main);
    expect(() => checkBuildForChain(devManifest, 11155111n)).to.throw(BuildRefusedError, /development ceremony/);
    expect(() => checkBuildForChain(devManifest, 31337n)).to.not.throw();
    // a manifest that merely says development: false is not a ceremony
    const claimed = { ...devManifest, ceremony: { ...devManifest.ceremony, development: false } };
    expect(() => checkBuildForChain(claimed, 1n)).to.throw(BuildRefusedError, /development ceremony/);
    expect(() => checkBuildForChain(mpcManifest, 11155111n, false, knownA)).to.not.throw();
    // the same ceremony over an unpublished phase 1 is refused by the real list
    expect(() => checkBuildForChain(mpcManifest, 11155111n)).to.throw(BuildRefusedError, /not a published one/);
  });

  it("CLI: contribute, beacon and check a ceremony; init and verify refuse an unpublished phase 1; verify says what it skipped", async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "verifier-gen/cli.ts", ...args], {
        encoding: "utf8",
        timeout: 300_000,
      });
    const c = join(tmp, "cli");
    cpSync(dev, c, { recursive: true });
    const { dir } = await initCeremony(c, { ptau: ptauA, knownPhase1: knownA });
    const a = cli("ceremony", "contribute", dir, "--name", "alice", "--entropy", "typed at random");
    expect(a.status, a.stderr).to.equal(0);
    expect(a.stdout).to.match(/contribution 1 by alice\nhash [0-9a-f]{128}/);
    expect(cli("ceremony", "contribute", dir, "--name", "bob").status).to.equal(0);
    const b = cli("ceremony", "beacon", dir, "--hash", BLOCK_HASH, "--source", "test block", "--iterations", "10");
    expect(b.status, b.stderr).to.equal(0);
    const check = cli("ceremony", "check", dir);
    expect(check.status, check.stderr).to.equal(0);
    expect(check.stdout)
      .to.match(/1 contribution\s+alice/)
      .and.match(/2 contribution\s+bob/)
      .and.match(/3 beacon/);
    await finalizeCeremony(dir, { ptau: ptauA, knownPhase1: knownA });
    const partial = cli("ceremony", "verify", c, "--no-recompile");
    expect(partial.status, partial.stderr).to.equal(3);
    expect(partial.stdout)
      .to.match(/ok {7}transcript: 2 contributions \+ beacon/)
      .and.match(/skipped .*--ptau/)
      .and.match(/INCOMPLETE/);
    for (const r of [
      cli("ceremony", "init", dev, "--ptau", ptauA, "--dir", join(tmp, "cli-refused")),
      cli("ceremony", "verify", c, "--ptau", ptauA),
    ]) {
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/verifier-gen: error: .*not a known public phase-1 file/);
      expect(r.stderr).to.not.match(/at .*\.ts:\d+/);
    }
  });
});
