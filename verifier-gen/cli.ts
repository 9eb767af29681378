/**
 * verifier-gen CLI: build / prove / verify / eval / ceremony / attest.
 *   npx tsx verifier-gen/cli.ts --help      (or the `verifier-gen` bin)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider, toBeHex } from "ethers";
import { buildAttestation, datasetCommitment, loadTestSet, proveAttestation, samplesOf } from "./src/attestation.js";
import {
  applyBeacon,
  checkCeremonyChain,
  contribute,
  finalizeCeremony,
  initCeremony,
  verifyCeremony,
} from "./src/ceremony.js";
import type { OutputKind } from "./src/interface.js";
import { VerifierGenError } from "./src/errors.js";
import type { Logger } from "./src/logger.js";
import {
  batchOf,
  build,
  evaluate,
  evaluationOf,
  loadModelDir,
  parseInputFile,
  proveBatch,
  proveInput,
  terminateSnarkjs,
  verifyProofFile,
  writeManifestLabels,
  writeSolidity,
  type BatchProofFile,
  type DecodedInference,
  type ProofFile,
} from "./src/pipeline.js";
import { quantizeInput } from "./src/quantize.js";

let verbose = false;
let quiet = false;

/** Human-readable stderr logger implementing the library's (pino-compatible) Logger. */
function makeLogger(): Logger {
  const emit = (level: string) =>
    ((a: unknown, b?: string) => {
      if (quiet && level !== "error") return;
      if (level === "debug" && !verbose) return;
      const msg = typeof a === "string" ? a : (b ?? "");
      const obj = typeof a === "object" && a !== null ? a : undefined;
      const extra = obj && verbose ? ` ${JSON.stringify(obj)}` : "";
      process.stderr.write(`[verifier-gen] ${level === "info" ? "" : level + ": "}${msg}${extra}\n`);
    }) as Logger["info"];
  return { info: emit("info"), warn: emit("warn"), debug: emit("debug"), error: emit("error") };
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};

const program = new Command();
program
  .name("verifier-gen")
  .description("Compile ONNX models into Groth16 circuits and Solidity verifiers (veriml)")
  .option("-v, --verbose", "verbose logging")
  .option("-q, --quiet", "only errors on stderr")
  .hook("preAction", (cmd) => {
    verbose = !!cmd.opts().verbose;
    quiet = !!cmd.opts().quiet;
  });

program
  .command("build")
  .description("quantize, emit circuit + integer ONNX, compile, Groth16 setup, Solidity verifier")
  .argument("<model>", "ONNX model file")
  .requiredOption("--calibration <data.json>", "calibration dataset JSON")
  .requiredOption("--out <dir>", "output directory")
  .option("--bits <n>", "weight/activation bits", int("--bits"), 8)
  .option("--multiplier-bits <n>", "requantization multiplier precision", int("--multiplier-bits"), 10)
  .option("--ptau <file>", "powers-of-tau file (public ceremony); default: a development key drawn from the R1CS")
  .option("--name <name>", "model name, also of the verifier contract (default: the ONNX file name)")
  .option(
    "--output-kind <kind>",
    "label (ArgMax graphs) | logits | probabilities | values | embedding (default: label or values)",
  )
  .option("--force", "replace a verifier of another model in --solidity-dir")
  .option("--per-tensor", "per-tensor instead of per-channel weight scales")
  .option(
    "--wide <tensors>",
    "16-bit activations: auto (tensors whose calibration shows heavy tails), none, or comma-separated tensor names",
    "none",
  )
  .option("--naive", "baseline circuit: weights as private signals, one public signal per value")
  .option(
    "--backend <name>",
    "how the R1CS is made: direct (default: written from the gadget plan, scales to millions of weights) or circom (circom2, the reference; the default for --input-commitment sha256)",
  )
  .option(
    "--input-commitment <kind>",
    "how the proof's public signals carry the input: packed (default: the input values) or sha256 (one signal, the SHA-256 of the request's input bytes, of every slot's with --batch; circom backend)",
    "packed",
  )
  .option(
    "--circom-opt <level>",
    "circom backend simplification: O2 (default, fewest constraints) or O1 (sparser)",
    "O2",
  )
  .option("--batch <k>", "inferences one proof covers: k copies of the model in one circuit", int("--batch"), 1)
  .option("--solidity-dir <dir>", "also write the Solidity verifier into this directory (e.g. contracts/verifiers)")
  .action(async (model: string, o: Record<string, unknown>) => {
    const log = makeLogger();
    const t0 = Date.now();
    const r = await build(
      {
        model,
        calibration: o.calibration as string,
        out: o.out as string,
        bits: o.bits as number,
        multiplierBits: o.multiplierBits as number,
        perChannel: !o.perTensor,
        wide: o.wide === "auto" || o.wide === "none" ? o.wide : String(o.wide).split(","),
        naive: !!o.naive,
        batch: o.batch as number,
        optimization: o.circomOpt === "O1" ? "O1" : "O2",
        ...(o.backend ? { backend: o.backend as "direct" | "circom" } : {}),
        inputCommitment: o.inputCommitment as "packed" | "sha256",
        ...(o.ptau ? { ptau: o.ptau as string } : {}),
        ...(o.name ? { name: o.name as string } : {}),
        ...(o.outputKind ? { outputKind: o.outputKind as OutputKind } : {}),
        force: !!o.force,
        ...(o.solidityDir ? { solidityDir: o.solidityDir as string } : {}),
      },
      log,
    );
    const m = r.manifest;
    const lines = [
      `model          ${m.name}`,
      `modelHash      ${m.modelHash}  (commitment format ${m.commitment.format}, ${m.commitment.leafCount} leaves)`,
      `input          [${m.input.shape}] scale ${m.input.scale} range [${m.input.lo}, ${m.input.hi}]`,
      `output         ${m.output.kind}${m.output.classes > 0 ? ` over ${m.output.classes} classes` : ` (${m.output.count} values)`}`,
      `constraints    ${m.circuit.constraints} (ptau 2^${m.circuit.ptauPower})${m.batch === undefined ? "" : `, batch ${m.batch}: ${m.circuit.constraintsPerSlot} per inference`}`,
      `public signals ${m.publicSignals.length}: ${m.publicSignals.map((s) => s.name).join(", ")}`,
      m.packing
        ? `packing        ${m.packing.segments.map((s) => `${s.kind} ${s.count}x${s.valueBits}b`).join(" + ")} -> ${m.packing.elements} elements (${m.packing.valuesPerElement.join("/")} values)`
        : "",
      m.inputCommitment === "sha256" ? `input signal   sha256(input bytes) >> 3 (${m.publicSignals[0]!.name})` : "",
      `verifier       ${r.solidityFile} (contract ${m.contractName})`,
      `out            ${r.dir}`,
      `time           ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ].filter(Boolean);
    process.stdout.write(lines.join("\n") + "\n");
  });

program
  .command("prove")
  .description("run the model on an input and produce a Groth16 proof")
  .argument("<dir>", "build directory")
  .requiredOption(
    "--input <input.json...>",
    'input: {"input": [...]}, an array, or a dataset JSON (first row); a batch-k build takes k of them, one per slot',
  )
  .option("--out <proof.json>", "proof output file", "proof.json")
  .action(async (dir: string, o: { input: string[]; out: string }) => {
    const md = loadModelDir(dir);
    const xs = o.input.map((file) => parseInputFile(file, md));
    const k = batchOf(md.manifest);
    if (xs.length !== k) {
      throw new VerifierGenError(
        "INPUT",
        k === 1
          ? `${dir} proves one input: give one --input file, not ${xs.length}`
          : `${dir} is a batch-${k} build: give ${k} --input files (one per slot), not ${xs.length}`,
      );
    }
    const pf =
      k === 1
        ? await proveInput(md, xs[0]!, makeLogger())
        : await proveBatch(
            md,
            xs.map((x) => quantizeInput(md.graph, x)),
            makeLogger(),
          );
    writeFileSync(o.out, JSON.stringify(pf, null, 1));
    const shown = (d: DecodedInference) => (d.label !== undefined ? `label ${d.label}` : `output [${d.output}]`);
    const res = Array.isArray(pf.decoded)
      ? pf.decoded.map((d, s) => `slot ${s}: ${shown(d)}`).join("\n")
      : shown(pf.decoded);
    process.stdout.write(
      `${res}\nproof          ${o.out}\npublic signals ${pf.publicSignals.length}\nwitness ${pf.timing.witnessMs.toFixed(0)} ms, prove ${pf.timing.proveMs.toFixed(0)} ms\n`,
    );
  });

program
  .command("verify")
  .description("check a proof off-chain")
  .argument("<dir>", "build directory")
  .argument("<proof>", "proof.json")
  .action(async (dir: string, proofPath: string) => {
    const md = loadModelDir(dir);
    let pf: ProofFile | BatchProofFile;
    try {
      pf = JSON.parse(readFileSync(proofPath, "utf8")) as ProofFile | BatchProofFile;
    } catch (e) {
      throw new VerifierGenError("INPUT", `cannot read proof ${proofPath}: ${(e as Error).message}`, { cause: e });
    }
    const r = await verifyProofFile(md, pf);
    process.stdout.write(
      `${r.valid ? "VALID" : "INVALID"}${r.label !== undefined ? ` label ${r.label}` : ""}${r.slots?.some((x) => x.label !== undefined) ? ` labels ${r.slots.map((x) => x.label).join(", ")}` : ""} (model ${md.manifest.modelHash})\n`,
    );
    process.exitCode = r.valid ? 0 : 2;
  });

program
  .command("solidity")
  .description("regenerate the Solidity verifier of a build directory (from its verification key)")
  .argument("<dir>", "build directory")
  .option("--solidity-dir <dir>", "also write it (and VerimlPacking.sol) into this directory")
  .action((dir: string, o: { solidityDir?: string }) => {
    const file = writeSolidity(loadModelDir(dir), o.solidityDir);
    process.stdout.write(`${file}\n`);
  });

const nameList = (v: string): string[] => v.split(",").map((x) => x.trim());

program
  .command("label")
  .description(
    "write names of the input features and of the classes into a build's manifest (for people; not committed)",
  )
  .argument("<dir>", "build directory")
  .option("--input-names <list>", "comma-separated name of each input value, in order", nameList)
  .option("--class-names <list>", "comma-separated name of each class, in order", nameList)
  .action((dir: string, o: { inputNames?: string[]; classNames?: string[] }) => {
    writeManifestLabels(loadModelDir(dir), {
      ...(o.inputNames === undefined ? {} : { inputNames: o.inputNames }),
      ...(o.classNames === undefined ? {} : { classNames: o.classNames }),
    });
  });

program
  .command("eval")
  .description("float vs quantized accuracy, agreement, bit-exactness of the three executors, proving time")
  .argument("<dir>", "build directory")
  .requiredOption("--data <data.json>", "dataset JSON")
  .option("--prove-samples <n>", "number of samples to prove for timing", int("--prove-samples"), 5)
  .option("--json", "print one JSON object")
  .option("--record", "write the accuracy figures into the build's manifest (evaluation), where the web app reads them")
  .action(async (dir: string, o: { data: string; proveSamples: number; json?: boolean; record?: boolean }) => {
    const md = loadModelDir(dir);
    const log = makeLogger();
    const rep = await evaluate(
      md,
      {
        data: o.data,
        proveSamples: o.proveSamples,
        onProgress: (d, t, phase) => log.info(`${phase} ${d}/${t}`),
      },
      log,
    );
    if (o.record) writeManifestLabels(md, { evaluation: evaluationOf(rep, o.data) });
    if (o.json) {
      process.stdout.write(JSON.stringify(rep) + "\n");
      return;
    }
    const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(2)}%`);
    process.stdout.write(
      [
        `model               ${rep.model} (${rep.modelHash})`,
        `samples             ${rep.samples}`,
        `output kind         ${rep.output_kind}`,
        ...(rep.agreement === null
          ? []
          : [
              `float accuracy      ${pct(rep.float_accuracy)}`,
              `quantized accuracy  ${pct(rep.quantized_accuracy)}`,
              `top-1 agreement     ${pct(rep.agreement)}`,
            ]),
        ...(rep.mae_float === null
          ? []
          : [
              `MAE float           ${rep.mae_float.toPrecision(5)}`,
              `MAE quantized       ${rep.mae_quantized!.toPrecision(5)}`,
              `MAE float vs quant  ${rep.mae_float_vs_quantized!.toPrecision(5)}`,
            ]),
        ...(rep.mean_cosine === null
          ? []
          : [`cosine mean / min   ${rep.mean_cosine.toFixed(5)} / ${rep.min_cosine!.toFixed(5)}`]),
        `bit-exact           ${rep.bitexact} (onnxruntime ${rep.bitexact_detail.interpreter_vs_onnxruntime}/${rep.samples}, witness ${rep.bitexact_detail.interpreter_vs_witness}/${rep.bitexact_detail.witness_checked}, ${rep.bitexact_detail.trace_values_compared} values)`,
        `constraints         ${rep.constraints}${rep.batch > 1 ? ` (batch ${rep.batch}: ${rep.constraints_per_slot} per inference)` : ""}`,
        `witness ms median   ${rep.witness_ms_median?.toFixed(1)}`,
        `prove ms median     ${rep.prove_ms_median?.toFixed(1)} (${rep.proved} proofs${rep.batch > 1 ? ` of ${rep.batch} inferences` : ""})`,
      ].join("\n") + "\n",
    );
  });

program
  .command("attest")
  .description("prove the model's accuracy on a labelled test set (benchmark attestation for the BenchmarkRegistry)")
  .argument("<build>", "build directory of a classifier (label, logits or probabilities)")
  .requiredOption(
    "--data <file>",
    "labelled test set: dataset JSON with labels, or CSV rows of input values then the label",
  )
  .requiredOption("--attester <address>", "the account that will submit the attestation (the proof is bound to it)")
  .option("--samples <n>", "use the first n samples (default: all)", int("--samples"))
  .option("--dir <dir>", "attestation circuit directory (default: <build>/attestation-<n>; reused while unchanged)")
  .option("--out <file>", "attestation output file", "attestation.json")
  .action(async (dir: string, o: { data: string; attester: string; samples?: number; dir?: string; out: string }) => {
    const log = makeLogger();
    const md = loadModelDir(dir);
    const samples = samplesOf(md, loadTestSet(o.data, o.samples), o.data);
    const ab = await buildAttestation(md, { samples: samples.length, ...(o.dir ? { dir: o.dir } : {}), logger: log });
    const a = await proveAttestation(md, ab, samples, o.attester, log);
    writeFileSync(o.out, JSON.stringify(a, null, 1));
    process.stdout.write(
      [
        `model              ${a.model} (${a.modelHash})`,
        `correct            ${a.correct} of ${a.samples} (${((100 * a.correct) / a.samples).toFixed(2)} %)`,
        `dataset commitment ${a.datasetCommitment}`,
        `attester           ${a.attester}`,
        `circuit            ${ab.manifest.circuit.constraints} constraints, verifier ${ab.manifest.contractName} (code hash ${a.verifierCodeHash})`,
        `attestation        ${o.out}`,
        `prove              ${a.timing.proveMs.toFixed(0)} ms`,
      ].join("\n") + "\n",
    );
  });

program
  .command("dataset-commitment")
  .description("the commitment of a labelled test set as a model sees it (what an attestation names)")
  .argument("<build>", "build directory")
  .requiredOption("--data <file>", "labelled test set (dataset JSON or CSV)")
  .option("--samples <n>", "use the first n samples (default: all)", int("--samples"))
  .action((dir: string, o: { data: string; samples?: number }) => {
    const md = loadModelDir(dir);
    const samples = samplesOf(md, loadTestSet(o.data, o.samples), o.data);
    process.stdout.write(`${toBeHex(datasetCommitment(md, samples), 32)}\n`);
  });

const ceremony = program
  .command("ceremony")
  .description("production Groth16 key: public phase-1 file + multi-party phase 2 (docs/CEREMONY.md)");

ceremony
  .command("init")
  .description("start a phase 2 from the build's R1CS and a published powers-of-tau file")
  .argument("<build>", "build directory")
  .requiredOption(
    "--ptau <file>",
    "a published phase-1 file, e.g. powersOfTau28_hez_final_12.ptau (checked by its hash)",
  )
  .option("--dir <dir>", "ceremony directory (default: <build>/ceremony)")
  .action(async (buildDir: string, o: { ptau: string; dir?: string }) => {
    const { dir, state } = await initCeremony(buildDir, {
      ptau: o.ptau,
      ...(o.dir ? { dir: o.dir } : {}),
      logger: makeLogger(),
    });
    process.stdout.write(
      `ceremony      ${dir}\nmodel         ${state.model.name} (${state.model.modelHash})\nphase 1       ${state.phase1.name} (2^${state.phase1.power})\ncircuit hash  ${state.circuitHash}\n`,
    );
  });

ceremony
  .command("contribute")
  .description("add your contribution to the latest key (your entropy is used once and never written anywhere)")
  .argument("<dir>", "ceremony directory")
  .requiredOption("--name <name>", "your name, as recorded in the transcript")
  .option("--entropy <text>", "extra entropy, mixed with the system's random source")
  .action(async (dir: string, o: { name: string; entropy?: string }) => {
    const step = await contribute(dir, {
      name: o.name,
      ...(o.entropy ? { entropy: o.entropy } : {}),
      logger: makeLogger(),
    });
    process.stdout.write(`contribution ${step.index} by ${step.name}\nhash ${step.hash}\n`);
  });

ceremony
  .command("beacon")
  .description("apply the final random beacon (e.g. the hash of a block mined after the last contribution)")
  .argument("<dir>", "ceremony directory")
  .requiredOption("--hash <hex>", "the beacon value (hex)")
  .requiredOption("--source <text>", 'where the value comes from, e.g. "Ethereum mainnet block 21000000"')
  .option("--iterations <exp>", "2^exp SHA-256 rounds (10-63)", int("--iterations"), 10)
  .action(async (dir: string, o: { hash: string; source: string; iterations: number }) => {
    const step = await applyBeacon(dir, {
      value: o.hash,
      iterationsExp: o.iterations,
      source: o.source,
      logger: makeLogger(),
    });
    process.stdout.write(`beacon (step ${step.index})\nhash ${step.hash}\n`);
  });

ceremony
  .command("check")
  .description("list the contributions so far and check the latest key against the record")
  .argument("<dir>", "ceremony directory")
  .action(async (dir: string) => {
    const { state } = await checkCeremonyChain(dir);
    const lines = [
      `model         ${state.model.name} (${state.model.modelHash})`,
      `phase 1       ${state.phase1.name}`,
      ...state.steps.map((s) => `${String(s.index).padStart(3)} ${s.kind.padEnd(12)} ${s.name.padEnd(24)} ${s.hash}`),
      `the latest key carries exactly these ${state.steps.length} steps`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
  });

ceremony
  .command("finalize")
  .description("check the whole ceremony (snarkjs zkey verify), install the key and regenerate the verifier")
  .argument("<dir>", "ceremony directory")
  .requiredOption("--ptau <file>", "the phase-1 file the ceremony started from")
  .option("--solidity-dir <dir>", "also write the Solidity verifier into this directory")
  .option("--force", "replace a verifier of another model in --solidity-dir")
  .action(async (dir: string, o: { ptau: string; solidityDir?: string; force?: boolean }) => {
    const m = await finalizeCeremony(dir, {
      ptau: o.ptau,
      ...(o.solidityDir ? { solidityDir: o.solidityDir } : {}),
      force: !!o.force,
      logger: makeLogger(),
    });
    const mpc = m.ceremony.mpc!;
    process.stdout.write(
      [
        `model            ${m.name} (${m.modelHash})`,
        `phase 1          ${mpc.phase1File.name}`,
        ...mpc.contributions.map((c, i) => `contribution ${i + 1}   ${c.name}: ${c.hash}`),
        `beacon           ${mpc.beacon.value} (2^${mpc.beacon.iterationsExp}, ${mpc.beacon.source})`,
        `transcript hash  ${mpc.transcriptHash}`,
      ].join("\n") + "\n",
    );
  });

ceremony
  .command("verify")
  .description("third-party check: key vs R1CS and phase 1, transcript vs manifest, deployed verifier vs key")
  .argument("<build>", "build directory")
  .option("--ptau <file>", "the public phase-1 file (without it the key is not checked against it)")
  .option("--rpc <url>", "JSON-RPC endpoint of the chain the verifier is deployed on")
  .option("--address <address>", "the deployed verifier")
  .option("--no-recompile", "do not compile the circuit again to compare the R1CS")
  .action(async (buildDir: string, o: { ptau?: string; rpc?: string; address?: string; recompile: boolean }) => {
    if ((o.rpc === undefined) !== (o.address === undefined)) {
      throw new VerifierGenError("INPUT", "--rpc and --address go together");
    }
    const provider = o.rpc ? new JsonRpcProvider(o.rpc, undefined, { staticNetwork: true }) : undefined;
    try {
      const r = await verifyCeremony(buildDir, {
        ...(o.ptau ? { ptau: o.ptau } : {}),
        ...(provider ? { deployed: { address: o.address!, provider } } : {}),
        recompile: o.recompile,
        logger: makeLogger(),
      });
      process.stdout.write(
        [
          ...r.checked.map((c) => `ok       ${c}`),
          ...r.skipped.map((c) => `skipped  ${c}`),
          r.skipped.length === 0 ? `VERIFIED ${r.model}: transcript ${r.transcriptHash}` : `INCOMPLETE ${r.model}`,
        ].join("\n") + "\n",
      );
      process.exitCode = r.skipped.length === 0 ? 0 : 3;
    } finally {
      provider?.destroy();
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof VerifierGenError) {
    process.stderr.write(`verifier-gen: error: ${e.message}\n`);
    if (verbose && e.cause) process.stderr.write(`  cause: ${(e.cause as Error).stack ?? String(e.cause)}\n`);
  } else {
    process.stderr.write(`verifier-gen: unexpected error: ${(e as Error).message}\n`);
    if (verbose) process.stderr.write(`${(e as Error).stack}\n`);
  }
  process.exitCode = 1;
} finally {
  await terminateSnarkjs();
}
