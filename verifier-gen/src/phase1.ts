/**
 * The public phase-1 (powers-of-tau) files a production Groth16 key may start from, and the check that a file
 * is one of them and large enough for a circuit.
 *
 * The list is the Hermez / Polygon "perpetual powers of tau" files prepared for phase 2 (54 contributions and a
 * random beacon; https://github.com/privacy-scaling-explorations/perpetualpowersoftau, selection:
 * https://www.reddit.com/r/ethereum/comments/iftos6/powers_of_tau_selection_for_hermez_rollup/), with the
 * BLAKE2b-512 digest of each whole file (`b2sum`) exactly as snarkjs publishes them: snarkjs 0.7.6 README.md,
 * section "7. Prepare phase 2", table "Prepared (phase2) Ptau files for bn128 with 54 contributions and a beacon"
 * (https://github.com/iden3/snarkjs#7-prepare-phase-2; files at https://storage.googleapis.com/zkevm/ptau/<name>).
 * verifier-gen never downloads them: the model owner brings the file, verifier-gen hashes it.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import { VerifierGenError } from "./errors.js";

/** A ceremony step or check failed: the key, the transcript or the deployed verifier is not what it claims. */
export class CeremonyError extends VerifierGenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CEREMONY", message, options);
  }
}

export interface KnownPhase1 {
  /** log2 of the largest circuit domain the file serves */
  power: number;
  /** the published file name */
  name: string;
  /** BLAKE2b-512 of the whole file, hex */
  blake2b: string;
}

export const PHASE1_SOURCE =
  "snarkjs 0.7.6 README, 'Prepared (phase2) Ptau files for bn128 with 54 contributions and a beacon' (Hermez perpetual powers of tau)";

/** BLAKE2b-512 of powersOfTau28_hez_final_<power>.ptau (power 28: powersOfTau28_hez_final.ptau), as published. */
// prettier-ignore
const HEZ_FINAL_BLAKE2B: Readonly<Record<number, string>> = {
  8: "d6a8fb3a04feb600096c3b791f936a578c4e664d262e4aa24beed1b7a9a96aa5eb72864d628db247e9293384b74b36ffb52ca8d148d6e1b8b51e279fdf57b583",
  9: "94f108a80e81b5d932d8e8c9e8fd7f46cf32457e31462deeeef37af1b71c2c1b3c71fb0d9b59c654ec266b042735f50311f9fd1d4cadce47ab234ad163157cb5",
  10: "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849",
  11: "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33",
  12: "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a",
  13: "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9",
  14: "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1",
  15: "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e",
  16: "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125",
  17: "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345",
  18: "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e",
  19: "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887",
  20: "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b",
  21: "9aef0573cef4ded9c4a75f148709056bf989f80dad96876aadeb6f1c6d062391f07a394a9e756d16f7eb233198d5b69407cca44594c763ab4a5b67ae73254678",
  22: "0d64f63dba1a6f11139df765cb690da69d9b2f469a1ddd0de5e4aa628abb28f787f04c6a5fb84a235ec5ea7f41d0548746653ecab0559add658a83502d1cb21b",
  23: "3063a0bd81d68711197c8820a92466d51aeac93e915f5136d74f63c394ee6d88c5e8016231ea6580bec02e25d491f319d92e77f5c7f46a9caa8f3b53c0ea544f",
  24: "fa404d140d5819d39984833ca5ec3632cd4995f81e82db402371a4de7c2eae8687c62bc632a95b0c6aadba3fb02680a94e09174b7233ccd26d78baca2647c733",
  25: "0377d860cdb09a8a31ea1b0b8c04335614c8206357181573bf294c25d5ca7dff72387224fbd868897e6769f7805b3dab02854aec6d69d7492883b5e4e5f35eeb",
  26: "418dee4a74b9592198bd8fd02ad1aea76f9cf3085f206dfd7d594c9e264ae919611b1459a1cc920c2f143417744ba9edd7b8d51e44be9452344a225ff7eead19",
  27: "10ffd99837c512ef99752436a54b9810d1ac8878d368fb4b806267bdd664b4abf276c9cd3c4b9039a1fa4315a0c326c0e8e9e8fe0eb588ffd4f9021bf7eae1a1",
  28: "55c77ce8562366c91e7cda394cf7b7c15a06c12d8c905e8b36ba9cf5e13eb37d1a429c589e8eaba4c591bc4b88a0e2828745a53e170eac300236f5c1a326f41a",
};

/** The published Hermez files, powers 8 to 28 (verifier-gen's circuits are at least 2^8). */
export const PUBLIC_PHASE1_FILES: readonly KnownPhase1[] = Object.freeze(
  Object.entries(HEZ_FINAL_BLAKE2B).map(([p, blake2b]) => ({
    power: Number(p),
    name: p === "28" ? "powersOfTau28_hez_final.ptau" : `powersOfTau28_hez_final_${p.padStart(2, "0")}.ptau`,
    blake2b,
  })),
);

/** BLAKE2b-512 (hex) of a file, read in 16 MB chunks (the 2^20 file is over a gigabyte). */
export function blake2bFile(file: string): string {
  const h = createHash("blake2b512");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(16 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

export interface PtauHeader {
  /** the largest domain the file's powers serve (2^power) */
  power: number;
  /** the power of the ceremony the file was cut from */
  ceremonyPower: number;
  /** the Lagrange sections phase 2 needs are present (`powersoftau prepare phase2`) */
  prepared: boolean;
}

const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** Reads a .ptau file's header and section table (without loading its points). */
export function readPtauHeader(file: string): PtauHeader {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const read = (pos: number, n: number): Buffer => {
      const b = Buffer.alloc(n);
      if (pos + n > size || readSync(fd, b, 0, n, pos) !== n) throw new CeremonyError(`${file}: truncated .ptau file`);
      return b;
    };
    const head = read(0, 12);
    if (head.subarray(0, 4).toString("latin1") !== "ptau") throw new CeremonyError(`${file} is not a .ptau file`);
    const nSections = head.readUInt32LE(8);
    const sections = new Map<number, { pos: number; size: number }>();
    let pos = 12;
    for (let i = 0; i < nSections; i++) {
      const s = read(pos, 12);
      const len = Number(s.readBigUInt64LE(4));
      sections.set(s.readUInt32LE(0), { pos: pos + 12, size: len });
      pos += 12 + len;
    }
    if (pos !== size) throw new CeremonyError(`${file}: the section table does not match the file size`);
    const h = sections.get(1);
    if (h === undefined) throw new CeremonyError(`${file}: .ptau file without a header`);
    const hb = read(h.pos, h.size);
    const n8 = hb.readUInt32LE(0);
    let q = 0n;
    for (let i = n8 - 1; i >= 0; i--) q = (q << 8n) | BigInt(hb[4 + i]!);
    if (q !== BN254_Q) throw new CeremonyError(`${file}: not a powers of tau over BN254 (bn128)`);
    return {
      power: hb.readUInt32LE(4 + n8),
      ceremonyPower: hb.readUInt32LE(8 + n8),
      prepared: [12, 13, 14, 15].every((id) => sections.has(id)),
    };
  } finally {
    closeSync(fd);
  }
}

export interface Phase1Record {
  name: string;
  blake2b: string;
  power: number;
}

/**
 * Checks that `file` is one of the `known` public phase-1 files (by its BLAKE2b-512, not its name), prepared for
 * phase 2 and of a power that serves a circuit of 2^`neededPower`. `known` defaults to the published Hermez
 * files; tests pass their own list for a small local file, which a real ceremony then refuses.
 */
export function checkPhase1File(
  file: string,
  neededPower: number,
  known: readonly KnownPhase1[] = PUBLIC_PHASE1_FILES,
): Phase1Record {
  const header = readPtauHeader(file);
  const digest = blake2bFile(file);
  const entry = known.find((k) => k.blake2b === digest);
  if (entry === undefined) {
    throw new CeremonyError(
      `${basename(file)} is not a known public phase-1 file (BLAKE2b-512 ${digest.slice(0, 16)}...): ` +
        `use one of the Hermez powersOfTau28_hez_final_NN.ptau files (${PHASE1_SOURCE})`,
    );
  }
  if (header.power !== entry.power) {
    throw new CeremonyError(`${basename(file)}: header says 2^${header.power}, the published file is 2^${entry.power}`);
  }
  if (!header.prepared) throw new CeremonyError(`${basename(file)} is not prepared for phase 2`);
  if (header.power < neededPower) {
    throw new CeremonyError(
      `${entry.name} serves circuits up to 2^${header.power}; this one needs 2^${neededPower} ` +
        `(use powersOfTau28_hez_final_${String(neededPower).padStart(2, "0")}.ptau or larger)`,
    );
  }
  return { name: entry.name, blake2b: digest, power: header.power };
}
