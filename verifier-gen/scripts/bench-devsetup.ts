/**
 * Times the DEVELOPMENT-ONLY Groth16 setup (verifier-gen/src/devsetup.ts) on one .r1cs and prints
 * {constraints, wires, domainSize, ms, zkeyBytes} as JSON on stdout (progress on stderr).
 *
 *   npx tsx verifier-gen/scripts/bench-devsetup.ts <circuit.r1cs> [out.zkey]
 *
 * Without out.zkey the key goes to a temporary directory and is deleted afterwards.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { developmentZkey } from "../src/devsetup.js";
import { silentLogger, type Logger } from "../src/logger.js";
import { readR1cs } from "../src/r1cs.js";

const [r1csArg, outArg] = process.argv.slice(2);
if (!r1csArg) {
  process.stderr.write("usage: tsx verifier-gen/scripts/bench-devsetup.ts <circuit.r1cs> [out.zkey]\n");
  process.exit(2);
}
const r1cs = resolve(r1csArg);
const tmp = outArg ? undefined : mkdtempSync(join(tmpdir(), "veriml-devsetup-"));
const zkey = outArg ? resolve(outArg) : join(tmp!, "bench.zkey");

const log: Logger = {
  ...silentLogger,
  info: ((a: unknown, b?: string) => {
    const msg = typeof a === "string" ? a : (b ?? "");
    const ms = typeof a === "object" && a !== null && "ms" in a ? ` (${String((a as { ms: unknown }).ms)} ms)` : "";
    process.stderr.write(`[devsetup] ${msg}${ms}\n`);
  }) as Logger["info"],
};

try {
  const info = readR1cs(r1cs, false);
  const t0 = performance.now();
  await developmentZkey(r1cs, zkey, { logger: log });
  const ms = Math.round(performance.now() - t0);
  let domainSize = 2; // snarkjs: the smallest power of two above constraints + public signals
  while (domainSize <= info.nConstraints + info.nPubOut + info.nPubIn) domainSize *= 2;
  process.stdout.write(
    `${JSON.stringify({ constraints: info.nConstraints, wires: info.nWires, domainSize, ms, zkeyBytes: statSync(zkey).size })}\n`,
  );
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
