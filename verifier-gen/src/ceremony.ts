/**
 * The production Groth16 setup of a build: a public phase-1 file and a multi-party phase 2 (docs/CEREMONY.md).
 *
 *   init        the build's R1CS + a published powers-of-tau file -> the initial key (no contribution yet)
 *   contribute  each participant adds secret randomness to delta; the transcript records name + contribution hash
 *   beacon      a final contribution from public randomness nobody could know in advance (a future block hash)
 *   finalize    checks the whole chain with snarkjs, installs the key into the build, regenerates the verifier
 *               and records the transcript in the manifest (`ceremony.mpc`, development: false)
 *   verify      what a third party runs: the key against the R1CS and the public phase-1 file, the transcript
 *               against the manifest, the verifier against the key, and the deployed code against the verifier
 *
 * Every step is snarkjs's own (zKey.newZKey, contribute, beacon, verifyFromR1cs, exportVerificationKey); this
 * module only reads the contribution section of a .zkey to compare it with what the ceremony recorded. Whoever
 * knows the combined delta can forge proofs: it stays unknown as long as one contributor destroyed their entropy.
 */
import { buildConstraintSystem, r1csBytes } from "./r1csgen.js";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { keccak256 } from "ethers";
import * as snarkjs from "snarkjs";
import { emitCircom } from "./circom.js";
import { InputError } from "./errors.js";
import { GADGETS_CIRCOM } from "./gadgets.circom.js";
import { compileCircom, ptauPowerFor } from "./groth16.js";
import { silentLogger, type Logger } from "./logger.js";
import { CeremonyError, checkPhase1File, PUBLIC_PHASE1_FILES, type KnownPhase1, type Phase1Record } from "./phase1.js";
import { readR1cs } from "./r1cs.js";
import { loadModelDir, verifierFor, writeSolidity, type Manifest, type MpcRecord } from "./pipeline.js";

export { CeremonyError } from "./phase1.js";

/** Contributions (besides the beacon) a finalized ceremony needs: the model owner alone is not a ceremony. */
export const MIN_CONTRIBUTIONS = 2;

/** One entry of a key's contribution section (snarkjs zkey_utils readContribution), with its hash. */
export interface ZkeyContribution {
  name: string;
  /** 0: a participant's contribution, 1: a beacon */
  type: number;
  /** BLAKE2b-512 of the contribution's public key (what snarkjs prints as "Contribution Hash") */
  hash: string;
  beaconHash?: string;
  iterationsExp?: number;
}

export interface ZkeyTranscript {
  circuitHash: string;
  contributions: ZkeyContribution[];
  /** BLAKE2b-512 over the circuit hash and every contribution's public key, in order */
  transcriptHash: string;
}

interface Section {
  pos: number;
  size: number;
}

/** The sections of an iden3 binary file, read from its table (the points are not loaded). */
function sectionTable(file: string, magic: string): { fd: number; sections: Map<number, Section> } {
  const fd = openSync(file, "r");
  const size = statSync(file).size;
  const head = Buffer.alloc(12);
  if (readSync(fd, head, 0, 12, 0) !== 12 || head.subarray(0, 4).toString("latin1") !== magic) {
    closeSync(fd);
    throw new CeremonyError(`${basename(file)} is not a .${magic} file`);
  }
  const sections = new Map<number, Section>();
  let pos = 12;
  const entry = Buffer.alloc(12);
  for (let i = 0; i < head.readUInt32LE(8); i++) {
    if (readSync(fd, entry, 0, 12, pos) !== 12) break;
    const len = Number(entry.readBigUInt64LE(4));
    sections.set(entry.readUInt32LE(0), { pos: pos + 12, size: len });
    pos += 12 + len;
  }
  if (pos !== size) {
    closeSync(fd);
    throw new CeremonyError(`${basename(file)}: the section table does not match the file size`);
  }
  return { fd, sections };
}

/**
 * The circuit hash and the contributions recorded in a Groth16 key (section 10), each with its contribution hash
 * computed as snarkjs does (zkey_utils hashPubKey: deltaAfter, g1_s, g1_sx uncompressed, g2_spx, transcript).
 */
export async function readZkeyTranscript(file: string): Promise<ZkeyTranscript> {
  const { fd, sections } = sectionTable(file, "zkey");
  let sec: Buffer;
  try {
    const s = sections.get(10);
    if (s === undefined) throw new CeremonyError(`${basename(file)} has no contribution section`);
    sec = Buffer.alloc(s.size);
    readSync(fd, sec, 0, s.size, s.pos);
  } finally {
    closeSync(fd);
  }
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  let p = 0;
  const take = (n: number): Buffer => {
    if (p + n > sec.length) throw new CeremonyError(`${basename(file)}: truncated contribution section`);
    const b = sec.subarray(p, p + n);
    p += n;
    return b;
  };
  const point = (group: "G1" | "G2"): Buffer => {
    const n = group === "G1" ? 64 : 128;
    const out = Buffer.alloc(n);
    curve[group].toRprUncompressed(out, 0, Uint8Array.from(take(n)));
    return out;
  };
  const csHash = take(64);
  const chain = createHash("blake2b512").update(csHash);
  const n = take(4).readUInt32LE(0);
  const contributions: ZkeyContribution[] = [];
  for (let i = 0; i < n; i++) {
    const pub = Buffer.concat([point("G1"), point("G1"), point("G1"), point("G2"), take(64)]);
    const type = take(4).readUInt32LE(0);
    const paramsLength = take(4).readUInt32LE(0);
    const params = take(paramsLength);
    const c: ZkeyContribution = { name: "", type, hash: createHash("blake2b512").update(pub).digest("hex") };
    for (let q = 0; q < params.length;) {
      const kind = params[q++]!;
      if (kind === 1 || kind === 3) {
        const len = params[q++]!;
        const value = params.subarray(q, q + len);
        q += len;
        if (kind === 1) c.name = value.toString("utf8");
        else c.beaconHash = value.toString("hex");
      } else if (kind === 2) {
        c.iterationsExp = params[q++]!;
      } else {
        throw new CeremonyError(`${basename(file)}: unknown contribution parameter ${kind}`);
      }
    }
    chain.update(pub);
    contributions.push(c);
  }
  if (p !== sec.length) throw new CeremonyError(`${basename(file)}: trailing bytes in the contribution section`);
  return { circuitHash: csHash.toString("hex"), contributions, transcriptHash: chain.digest("hex") };
}

// ---------------------------------------------------------------------------
// The ceremony directory: ceremony.json (the transcript so far) and the keys, one file per step.

export interface CeremonyStep {
  index: number;
  kind: "contribution" | "beacon";
  name: string;
  hash: string;
  /** the key after this step, relative to the ceremony directory */
  zkey: string;
  beacon?: { value: string; iterationsExp: number; source: string };
}

export interface CeremonyState {
  format: "veriml-ceremony";
  version: 1;
  model: { name: string; modelHash: string };
  /** the build directory, relative to the ceremony directory (finalize installs the key there) */
  build: string;
  r1csSha256: string;
  circuitHash: string;
  phase1: Phase1Record;
  initial: string;
  steps: CeremonyStep[];
}

const STATE = "ceremony.json";

const sha256File = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

export function loadCeremony(dirArg: string): { dir: string; state: CeremonyState } {
  const dir = resolve(dirArg);
  const file = join(dir, STATE);
  if (!existsSync(file)) throw new InputError(`${dirArg} is not a ceremony directory (no ${STATE})`);
  let state: CeremonyState;
  try {
    state = JSON.parse(readFileSync(file, "utf8")) as CeremonyState;
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (state.format !== "veriml-ceremony" || state.version !== 1)
    throw new InputError(`${file} is not a ceremony record`);
  return { dir, state };
}

function saveCeremony(dir: string, state: CeremonyState): void {
  const tmp = join(dir, `${STATE}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, join(dir, STATE));
}

const latestZkey = (dir: string, s: CeremonyState) => join(dir, s.steps.at(-1)?.zkey ?? s.initial);

/** Refuses a key whose recorded contributions are not exactly `steps` (one missing, added, renamed or forged). */
function requireSameChain(
  t: ZkeyTranscript,
  steps: readonly { name: string; hash: string; kind: string }[],
  where: string,
): void {
  if (t.contributions.length !== steps.length) {
    throw new CeremonyError(
      `${where}: the key has ${t.contributions.length} contributions, the record lists ${steps.length}`,
    );
  }
  t.contributions.forEach((c, i) => {
    const s = steps[i]!;
    if (c.hash !== s.hash) {
      throw new CeremonyError(
        `${where}: contribution ${i + 1} (${s.name}) has hash ${c.hash.slice(0, 16)}... in the key, ${s.hash.slice(0, 16)}... in the record`,
      );
    }
    if (c.name !== s.name || (c.type === 1) !== (s.kind === "beacon")) {
      throw new CeremonyError(`${where}: contribution ${i + 1} is "${c.name}" in the key, "${s.name}" in the record`);
    }
  });
}

/** Checks the latest key of a ceremony against its record (cheap: no phase-1 file needed). */
export async function checkCeremonyChain(
  dirArg: string,
): Promise<{ state: CeremonyState; transcript: ZkeyTranscript }> {
  const { dir, state } = loadCeremony(dirArg);
  const t = await readZkeyTranscript(latestZkey(dir, state));
  if (t.circuitHash !== state.circuitHash) {
    throw new CeremonyError(
      `${dirArg}: the latest key is for another circuit (circuit hash ${t.circuitHash.slice(0, 16)}...)`,
    );
  }
  requireSameChain(t, state.steps, basename(latestZkey(dir, state)));
  return { state, transcript: t };
}

export interface InitOptions {
  ptau: string;
  /** default: <build>/ceremony */
  dir?: string;
  /** the public phase-1 files accepted (default: the published Hermez files); tests pass their own */
  knownPhase1?: readonly KnownPhase1[];
  logger?: Logger;
}

/** Snarkjs logs through {info, debug, warn, error}(string); errors are kept to explain a refusal. */
function snarkLog(logger: Logger, errors: string[] = []) {
  return {
    info: (m: string) => logger.debug(m),
    debug: () => undefined,
    warn: (m: string) => logger.warn(m),
    error: (m: string) => {
      errors.push(m);
      logger.debug(m);
    },
  };
}

/** Starts a phase 2 for a build: checks the phase-1 file, writes the initial key and the ceremony record. */
export async function initCeremony(buildDir: string, o: InitOptions): Promise<{ dir: string; state: CeremonyState }> {
  const logger = o.logger ?? silentLogger;
  const md = loadModelDir(buildDir);
  if (md.manifest.naive) throw new InputError(`${buildDir} is a naive baseline build: it cannot be registered`);
  const r1cs = join(md.dir, "circuit/model.r1cs");
  const info = readR1cs(r1cs, false);
  const power = ptauPowerFor(info.nConstraints, info.nPubOut + info.nPubIn);
  const phase1 = checkPhase1File(o.ptau, power, o.knownPhase1);
  logger.info({ phase1: phase1.name, power }, `phase 1: ${phase1.name} (published, 2^${phase1.power})`);
  const dir = resolve(o.dir ?? join(md.dir, "ceremony"));
  if (existsSync(join(dir, STATE))) throw new InputError(`${dir} already holds a ceremony; give another --dir`);
  mkdirSync(dir, { recursive: true });
  const initial = "0000_initial.zkey";
  const errors: string[] = [];
  const csHash = await snarkjs.zKey.newZKey(r1cs, resolve(o.ptau), join(dir, initial), snarkLog(logger, errors));
  if (!(csHash instanceof Uint8Array)) {
    throw new CeremonyError(`snarkjs could not start phase 2: ${errors.join("; ") || "newZKey failed"}`);
  }
  const t = await readZkeyTranscript(join(dir, initial));
  const state: CeremonyState = {
    format: "veriml-ceremony",
    version: 1,
    model: { name: md.manifest.name, modelHash: md.manifest.modelHash },
    build: relative(dir, md.dir) || ".",
    r1csSha256: sha256File(r1cs),
    circuitHash: t.circuitHash,
    phase1,
    initial,
    steps: [],
  };
  saveCeremony(dir, state);
  return { dir, state };
}

const stepFile = (index: number, kind: string) => `${String(index).padStart(4, "0")}_${kind}.zkey`;

const NAME = /^[\x20-\x7e]{1,64}$/;

export interface ContributeOptions {
  /** who contributes (recorded in the key and the transcript; printable ASCII, at most 64 characters) */
  name: string;
  /** extra entropy text; snarkjs mixes it with 64 bytes from the system's random source */
  entropy?: string;
  logger?: Logger;
}

/** Adds one participant's contribution to the latest key of a ceremony. */
export async function contribute(dirArg: string, o: ContributeOptions): Promise<CeremonyStep> {
  const logger = o.logger ?? silentLogger;
  if (!NAME.test(o.name)) throw new InputError(`contributor name must be 1-64 printable ASCII characters`);
  const { state } = await checkCeremonyChain(dirArg);
  const dir = resolve(dirArg);
  if (state.steps.some((s) => s.kind === "beacon"))
    throw new CeremonyError(`${dirArg}: the beacon is applied; the ceremony is closed`);
  const index = state.steps.length + 1;
  const zkey = stepFile(index, "contribution");
  const entropy = `${o.entropy ?? ""}${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;
  const hash = await snarkjs.zKey.contribute(
    latestZkey(dir, state),
    join(dir, `${zkey}.tmp`),
    o.name,
    entropy,
    snarkLog(logger),
  );
  if (!(hash instanceof Uint8Array)) throw new CeremonyError(`snarkjs could not contribute`);
  renameSync(join(dir, `${zkey}.tmp`), join(dir, zkey));
  const step: CeremonyStep = {
    index,
    kind: "contribution",
    name: o.name,
    hash: Buffer.from(hash).toString("hex"),
    zkey,
  };
  pruneIntermediate(dir, state);
  state.steps.push(step);
  saveCeremony(dir, state);
  logger.info({ index, name: o.name, hash: step.hash }, `contribution ${index} by ${o.name}: ${step.hash}`);
  return step;
}

/** Drops the previous step's key (the latest key carries the whole chain; the initial key is kept). */
function pruneIntermediate(dir: string, state: CeremonyState): void {
  const last = state.steps.at(-1);
  if (last !== undefined) rmSync(join(dir, last.zkey), { force: true });
}

export interface BeaconOptions {
  /** the beacon's public value, hex (e.g. the hash of a block mined after the last contribution) */
  value: string;
  /** 2^iterationsExp SHA-256 rounds over the value (10-63) */
  iterationsExp: number;
  /** where the value comes from, for the record (e.g. "Ethereum mainnet block 21000000") */
  source: string;
  name?: string;
  logger?: Logger;
}

/** Applies the final random beacon; afterwards no contribution is accepted. */
export async function applyBeacon(dirArg: string, o: BeaconOptions): Promise<CeremonyStep> {
  const logger = o.logger ?? silentLogger;
  const value = o.value.replace(/^0x/i, "").toLowerCase();
  if (!/^([0-9a-f]{2}){16,255}$/.test(value))
    throw new InputError(`beacon value must be 16-255 bytes of hex (a block hash is 32)`);
  if (!Number.isInteger(o.iterationsExp) || o.iterationsExp < 10 || o.iterationsExp > 63) {
    throw new InputError(`beacon iterations must be an exponent between 10 and 63`);
  }
  const name = o.name ?? "final beacon";
  if (!NAME.test(name)) throw new InputError(`beacon name must be 1-64 printable ASCII characters`);
  const { state } = await checkCeremonyChain(dirArg);
  const dir = resolve(dirArg);
  if (state.steps.some((s) => s.kind === "beacon")) throw new CeremonyError(`${dirArg}: the beacon is already applied`);
  const contributions = state.steps.length;
  if (contributions < MIN_CONTRIBUTIONS) {
    throw new CeremonyError(
      `${dirArg}: ${contributions} contribution(s); a ceremony needs at least ${MIN_CONTRIBUTIONS} before the beacon`,
    );
  }
  const index = contributions + 1;
  const zkey = stepFile(index, "beacon");
  const errors: string[] = [];
  const hash = await snarkjs.zKey.beacon(
    latestZkey(dir, state),
    join(dir, `${zkey}.tmp`),
    name,
    value,
    o.iterationsExp,
    snarkLog(logger, errors),
  );
  if (!(hash instanceof Uint8Array)) throw new CeremonyError(`snarkjs refused the beacon: ${errors.join("; ")}`);
  renameSync(join(dir, `${zkey}.tmp`), join(dir, zkey));
  const step: CeremonyStep = {
    index,
    kind: "beacon",
    name,
    hash: Buffer.from(hash).toString("hex"),
    zkey,
    beacon: { value, iterationsExp: o.iterationsExp, source: o.source },
  };
  pruneIntermediate(dir, state);
  state.steps.push(step);
  saveCeremony(dir, state);
  logger.info({ index, hash: step.hash }, `beacon applied: ${step.hash}`);
  return step;
}

/** snarkjs zkey verify: the key is the R1CS's over the phase-1 file, and every contribution (and the beacon) checks. */
async function snarkjsVerify(r1cs: string, ptau: string, zkey: string, logger: Logger): Promise<void> {
  const errors: string[] = [];
  let ok: boolean;
  try {
    ok = await snarkjs.zKey.verifyFromR1cs(r1cs, resolve(ptau), zkey, snarkLog(logger, errors));
  } catch (e) {
    throw new CeremonyError(`snarkjs zkey verify failed: ${(e as Error).message}`, { cause: e });
  }
  if (ok !== true) {
    throw new CeremonyError(
      `snarkjs zkey verify refused ${basename(zkey)}: ${errors.join("; ") || "a contribution or the beacon does not check"} ` +
        `(it is not this circuit's key over this phase-1 file, or its transcript is broken)`,
    );
  }
}

export interface FinalizeOptions {
  ptau: string;
  knownPhase1?: readonly KnownPhase1[];
  /** also copy the regenerated Solidity verifier here (e.g. contracts/verifiers) */
  solidityDir?: string;
  force?: boolean;
  logger?: Logger;
}

/** Checks the finished ceremony, installs its key into the build and regenerates the verifier. */
export async function finalizeCeremony(dirArg: string, o: FinalizeOptions): Promise<Manifest> {
  const logger = o.logger ?? silentLogger;
  const { state, transcript } = await checkCeremonyChain(dirArg);
  const dir = resolve(dirArg);
  const beacon = state.steps.at(-1);
  if (beacon?.kind !== "beacon" || beacon.beacon === undefined)
    throw new CeremonyError(`${dirArg}: no beacon yet; apply it first`);
  const md = loadModelDir(resolve(dir, state.build));
  if (md.manifest.modelHash !== state.model.modelHash) {
    throw new CeremonyError(
      `${state.build} is model ${md.manifest.modelHash}, the ceremony is for ${state.model.modelHash}`,
    );
  }
  const r1cs = join(md.dir, "circuit/model.r1cs");
  if (sha256File(r1cs) !== state.r1csSha256)
    throw new CeremonyError(`${state.build}: the R1CS changed since the ceremony started`);
  const phase1 = checkPhase1File(o.ptau, state.phase1.power, o.knownPhase1);
  if (phase1.blake2b !== state.phase1.blake2b) {
    throw new CeremonyError(
      `${basename(o.ptau)} is not the phase-1 file the ceremony started from (${state.phase1.name})`,
    );
  }
  const zkey = latestZkey(dir, state);
  logger.info("checking the whole ceremony with snarkjs (zkey verify)");
  await snarkjsVerify(r1cs, o.ptau, zkey, logger);

  const target = join(md.dir, "model.zkey");
  copyFileSync(zkey, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
  const vkey = await snarkjs.zKey.exportVerificationKey(target);
  writeFileSync(join(md.dir, "verification_key.json"), JSON.stringify(vkey, null, 1));
  const contributions = state.steps.filter((s) => s.kind === "contribution");
  const mpc: MpcRecord = {
    phase1File: { name: phase1.name, blake2b: phase1.blake2b, power: phase1.power },
    r1csSha256: state.r1csSha256,
    circuitHash: state.circuitHash,
    contributions: contributions.map((s) => ({ name: s.name, hash: s.hash })),
    beacon: { name: beacon.name, ...beacon.beacon, hash: beacon.hash },
    transcriptHash: transcript.transcriptHash,
  };
  const manifest: Manifest = {
    ...md.manifest,
    ceremony: {
      development: false,
      phase1: `${phase1.name} (BLAKE2b-512 ${phase1.blake2b.slice(0, 16)}...)`,
      phase2Contributions: contributions.length,
      mpc,
    },
  };
  writeFileSync(join(md.dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  // The verifier is regenerated from the ceremony's verification key (and recorded with its code hash).
  writeSolidity(loadModelDir(md.dir), o.solidityDir, o.force ?? false);
  const done = loadModelDir(md.dir).manifest;
  logger.info({ transcriptHash: mpc.transcriptHash }, `ceremony installed into ${md.dir}`);
  return done;
}

// ---------------------------------------------------------------------------
// The third-party check.

export interface VerifyOptions {
  /** the public phase-1 file: without it the key is not checked against the R1CS and phase 1 (the report says so) */
  ptau?: string;
  knownPhase1?: readonly KnownPhase1[];
  /** a deployed verifier to compare with the one generated from the key */
  deployed?: { address: string; provider: { getCode(address: string): Promise<string> } };
  /** compile the circuit (with verifier-gen's own gadget library) again and compare the R1CS byte for byte */
  recompile?: boolean;
  logger?: Logger;
}

/** The circom level (O2, the default, or O1) that compiles `source` into exactly `r1cs`, if any. */
async function recompiles(source: string, r1cs: Buffer, logger: Logger): Promise<"O2" | "O1" | undefined> {
  const tmp = mkdtempSync(join(tmpdir(), "veriml-recompile-"));
  try {
    writeFileSync(join(tmp, "model.circom"), source);
    writeFileSync(join(tmp, "veriml_gadgets.circom"), GADGETS_CIRCOM);
    for (const level of ["O2", "O1"] as const) {
      const c = await compileCircom(tmp, "model", logger, level);
      if (readFileSync(c.r1cs).equals(r1cs)) return level;
    }
    return undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface VerifyReport {
  model: string;
  modelHash: string;
  phase1: string;
  contributions: { name: string; hash: string }[];
  beacon: MpcRecord["beacon"];
  transcriptHash: string;
  codeHash: string;
  /** what was checked, in order */
  checked: string[];
  /** what was not (no phase-1 file given, no deployed verifier given) */
  skipped: string[];
}

/**
 * Confirms that a build's key came out of the ceremony its manifest records and that the verifier (and, given
 * one, a deployed contract) is the one generated from that key. Throws a CeremonyError at the first check that
 * fails.
 */
export async function verifyCeremony(buildDir: string, o: VerifyOptions = {}): Promise<VerifyReport> {
  const logger = o.logger ?? silentLogger;
  const checked: string[] = [];
  const skipped: string[] = [];
  const md = loadModelDir(buildDir); // the integer graph is the modelHash's
  const m = md.manifest;
  const mpc = m.ceremony.mpc;
  if (m.ceremony.development || mpc === undefined) {
    throw new CeremonyError(`${m.name}: its key is a development key (${m.ceremony.phase1}), not a ceremony's`);
  }
  if (m.naive || m.verifierModelHash !== m.modelHash) {
    throw new CeremonyError(`${m.name}: its verifier would not report the model's hash ${m.modelHash}`);
  }
  checked.push(`integer graph matches modelHash, which the verifier reports, ${m.modelHash}`);

  const circuit = readFileSync(join(md.dir, "circuit/model.circom"), "utf8");
  if (circuit !== emitCircom(md.graph, { naive: m.naive }).main) {
    throw new CeremonyError(`${m.name}: circuit/model.circom is not the circuit verifier-gen emits for this model`);
  }
  const r1cs = join(md.dir, "circuit/model.r1cs");
  if (sha256File(r1cs) !== mpc.r1csSha256)
    throw new CeremonyError(`${m.name}: the R1CS is not the one the ceremony used`);
  if (o.recompile) {
    if (m.circuit.backend === "direct") {
      // The direct backend's R1CS is a function of the gadget plan alone: rebuild it and compare bytes.
      const src = emitCircom(md.graph, { naive: m.naive, ...(m.batch === undefined ? {} : { batch: m.batch }) });
      const n = md.graph.input.shape.reduce((a, b) => a * b, 1);
      const k = m.batch ?? 1;
      const inputs =
        k === 1 ? [{ name: "x", length: n }] : Array.from({ length: k }, (_, s) => ({ name: `x[${s}]`, length: n }));
      if (!r1csBytes(buildConstraintSystem(src, inputs)).equals(readFileSync(r1cs)))
        throw new CeremonyError(`${m.name}: the R1CS is not what the direct backend writes for the model's circuit`);
      checked.push("circuit source is the model's; the direct backend writes this R1CS byte for byte");
    } else {
      const level = await recompiles(circuit, readFileSync(r1cs), logger);
      if (level === undefined)
        throw new CeremonyError(`${m.name}: the R1CS is not what circom compiles from the model's circuit`);
      checked.push(`circuit source is the model's; circom --${level} compiles it to this R1CS byte for byte`);
    }
  } else {
    checked.push("circuit source is the model's; R1CS is the ceremony's (sha256)");
  }

  const zkey = join(md.dir, "model.zkey");
  if (m.artifacts?.["model.zkey"] !== undefined && sha256File(zkey) !== m.artifacts["model.zkey"]) {
    throw new CeremonyError(`${m.name}: model.zkey is not the key the manifest lists`);
  }
  const t = await readZkeyTranscript(zkey);
  if (t.circuitHash !== mpc.circuitHash)
    throw new CeremonyError(`${m.name}: the key's circuit hash is not the ceremony's`);
  requireSameChain(
    t,
    [...mpc.contributions.map((c) => ({ ...c, kind: "contribution" })), { ...mpc.beacon, kind: "beacon" }],
    `${m.name}: model.zkey vs the manifest`,
  );
  if (mpc.contributions.length < MIN_CONTRIBUTIONS) {
    throw new CeremonyError(
      `${m.name}: ${mpc.contributions.length} contribution(s); a ceremony needs ${MIN_CONTRIBUTIONS}`,
    );
  }
  const last = t.contributions.at(-1)!;
  if (last.beaconHash !== mpc.beacon.value || last.iterationsExp !== mpc.beacon.iterationsExp) {
    throw new CeremonyError(`${m.name}: the key's beacon is not the one the manifest records`);
  }
  if (t.transcriptHash !== mpc.transcriptHash)
    throw new CeremonyError(`${m.name}: the transcript hash does not match the key`);
  checked.push(`transcript: ${mpc.contributions.length} contributions + beacon, hashes as recorded`);

  if (o.ptau !== undefined) {
    const phase1 = checkPhase1File(o.ptau, mpc.phase1File.power, o.knownPhase1 ?? PUBLIC_PHASE1_FILES);
    if (phase1.blake2b !== mpc.phase1File.blake2b) {
      throw new CeremonyError(
        `${basename(o.ptau)} is not the phase-1 file the manifest records (${mpc.phase1File.name})`,
      );
    }
    logger.info("snarkjs zkey verify (the key against the R1CS and the phase-1 file)");
    await snarkjsVerify(r1cs, o.ptau, zkey, logger);
    checked.push(
      `key is the R1CS's over ${phase1.name}, every contribution and the beacon check (snarkjs zkey verify)`,
    );
  } else {
    skipped.push(`the key against the R1CS and the public phase-1 file (give --ptau ${mpc.phase1File.name})`);
  }

  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  if (JSON.stringify(vkey) !== JSON.stringify(md.vkey)) {
    throw new CeremonyError(`${m.name}: verification_key.json is not the key's verification key`);
  }
  const { artifact } = verifierFor(md, vkey);
  const recorded = JSON.parse(readFileSync(join(md.dir, "verifier.json"), "utf8")) as { codeHash: string };
  if (recorded.codeHash !== artifact.codeHash) {
    throw new CeremonyError(
      `${m.name}: verifier.json (code hash ${recorded.codeHash}) is not the verifier of this key (${artifact.codeHash})`,
    );
  }
  checked.push(`verifier generated from the key: code hash ${artifact.codeHash}`);

  if (o.deployed !== undefined) {
    const code = await o.deployed.provider.getCode(o.deployed.address);
    if (code === "0x") throw new CeremonyError(`no contract at ${o.deployed.address}`);
    const deployed = keccak256(code);
    if (deployed !== artifact.codeHash) {
      throw new CeremonyError(
        `the contract at ${o.deployed.address} (code hash ${deployed}) is not the verifier generated from this ceremony's key (${artifact.codeHash})`,
      );
    }
    checked.push(`deployed verifier ${o.deployed.address} has that code hash`);
  } else {
    skipped.push("a deployed verifier (give --rpc and --address)");
  }
  return {
    model: m.name,
    modelHash: m.modelHash,
    phase1: mpc.phase1File.name,
    contributions: mpc.contributions,
    beacon: mpc.beacon,
    transcriptHash: mpc.transcriptHash,
    codeHash: artifact.codeHash,
    checked,
    skipped,
  };
}
