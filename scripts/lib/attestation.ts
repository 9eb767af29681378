import { createHash } from "node:crypto";
import { ContractFactory, keccak256, toBeHex, type Signer } from "ethers";
import { LOCAL_CHAIN_IDS } from "../../operator/src/deployment.js";
import {
  BenchmarkRegistry__factory,
  IModelRegistry__factory,
  type BenchmarkRegistry,
  type IBenchmarkRegistry,
} from "../../types/ethers-contracts/index.js";
import {
  datasetCommitment,
  emitAttestationCircuit,
  emitAttestationVerifier,
  loadAttestation,
  type AttestationBuild,
  type AttestationFile,
  type Sample,
} from "../../verifier-gen/src/attestation.js";
import { compileVerifier } from "../../verifier-gen/src/compile.js";
import type { ModelDir } from "../../verifier-gen/src/pipeline.js";
import { keyConstantsInCode } from "../../verifier-gen/src/vkbinding.js";
import { BuildRefusedError } from "./zk.js";

/** Deploys a BenchmarkRegistry over a ModelRegistry. */
export async function deployBenchmarkRegistry(modelRegistry: string, deployer: Signer): Promise<BenchmarkRegistry> {
  const benchmark = await new BenchmarkRegistry__factory(deployer).deploy(modelRegistry);
  await benchmark.waitForDeployment();
  return benchmark;
}

/**
 * On any chain but a local one, refuses every attestation build (`force`: testnet trials): attestation keys have no
 * ceremony flow yet, so each is a development key, and whoever drew it can prove any count. The manifest's
 * `ceremony.development` is not consulted: it is the build's own word, and no build can truthfully say false.
 */
export function checkAttestationBuildForChain(ab: AttestationBuild, chainId: bigint, force = false): void {
  if (LOCAL_CHAIN_IDS.has(chainId) || force) return;
  throw new BuildRefusedError(
    `${ab.manifest.contractName} has an attestation key no ceremony produced: whoever made it can prove any ` +
      `count. Refused on chain ${chainId} (VERIML_FORCE_DEV_CEREMONY=1 forces it).`,
  );
}

/**
 * Deploys the attestation verifier of an attestation build (its own compiled bytecode, whose code hash the
 * registry pins) and names it for `modelId`; `owner` must own the model. Returns the verifier's address.
 */
export async function setAttestationVerifier(
  benchmark: BenchmarkRegistry,
  modelId: bigint,
  attestationDir: string,
  owner: Signer,
  force = false,
): Promise<string> {
  const ab = loadAttestation(attestationDir);
  const { chainId } = await owner.provider!.getNetwork();
  checkAttestationBuildForChain(ab, chainId, force);
  const verifier = await new ContractFactory(ab.artifact.abi as object[], ab.artifact.bytecode, owner).deploy();
  await verifier.waitForDeployment();
  const address = await verifier.getAddress();
  await (await benchmark.connect(owner).setVerifier(modelId, address, ab.artifact.codeHash)).wait();
  return address;
}

/** The registry's arguments for an attestation file. */
export function attestArguments(a: AttestationFile): [string, bigint, bigint, IBenchmarkRegistry.ProofStruct] {
  return [
    a.datasetCommitment,
    BigInt(a.samples),
    BigInt(a.correct),
    {
      a: a.calldata.a.map(BigInt) as [bigint, bigint],
      b: a.calldata.b.map((row) => row.map(BigInt)) as [[bigint, bigint], [bigint, bigint]],
      c: a.calldata.c.map(BigInt) as [bigint, bigint],
    },
  ];
}

/** Submits an attestation (the signer must be the attester the proof was made for); returns its record id. */
export async function submitAttestation(
  benchmark: BenchmarkRegistry,
  modelId: bigint,
  a: AttestationFile,
  attester: Signer,
): Promise<{ attestationId: bigint; gasUsed: bigint }> {
  const receipt = await (await benchmark.connect(attester).attest(modelId, ...attestArguments(a))).wait();
  const log = receipt!.logs
    .map((l) => {
      try {
        return benchmark.interface.parseLog(l);
      } catch {
        return null;
      }
    })
    .find((l) => l?.name === "Attested");
  if (!log) throw new AttestationCheckError("attest: no Attested event in the receipt");
  return { attestationId: log.args.attestationId as bigint, gasUsed: receipt!.gasUsed };
}

/** A recorded attestation a consumer must not trust (the message lists every failed check). */
export class AttestationCheckError extends Error {}

/** What a consumer has checked about a record (see checkRecordedAttestation). */
export interface CheckedAttestation {
  modelId: bigint;
  samples: number;
  correct: number;
  dataset: string;
  attester: string;
  /**
   * Always false: no attestation key can be checked yet (no ceremony over attestation circuits, and a development
   * key has no transcript), so the record is sound only on the word of the key's maker (docs/SECURITY.md).
   */
  keyVerified: false;
}

export interface CheckAttestationOptions {
  /**
   * The consumer trusts whoever made the attestation key (the model's owner, for a development key) not to have
   * kept its trapdoor. Required for the check to pass: under a key whose trapdoor is known, any count verifies,
   * and nothing in the build (its verification key, its manifest) shows whether it is.
   */
  trustKeyMaker: boolean;
  /**
   * The ModelRegistry the consumer trusts (its suite's). A BenchmarkRegistry anyone deployed over another registry
   * would check proofs against the model hashes that registry claims, so its model ids mean nothing.
   */
  modelRegistry: string;
}

/**
 * The consumer's check of a recorded attestation against what it holds itself: the model build (its model hash
 * checked against the ONNX file with `verifier-gen verify`), the attestation build (or one it rebuilt) and the
 * test set. Throws AttestationCheckError unless all hold:
 *  - the benchmark registry is over the consumer's ModelRegistry (`modelRegistry`), where the record's model id is
 *    registered with the build's model hash, and the record says that hash;
 *  - the attestation circuit is the one verifier-gen emits for this model and sample count (its sha256);
 *  - the attestation verifier source is the one emitted from the build's key, and compiles to the pinned code hash;
 *  - the verifier that accepted the record is the one the registry pins for the model and sample count, its
 *    deployed code has that hash and embeds every constant of the build's key;
 *  - the record's test set commitment is the commitment of `testSet`, and it has that many samples;
 *  - the consumer trusts the key's maker (`trustKeyMaker`). Nothing above binds the build's key to the circuit:
 *    the verification key (and its manifest) come with the build, and a key made by the owner with its trapdoor
 *    kept passes every check while recording any count. Only a ceremony could remove this trust; attestation
 *    circuits have none yet, so the check never reports a key as verified and refuses unless told to trust it.
 */
export async function checkRecordedAttestation(
  benchmark: BenchmarkRegistry,
  attestationId: bigint,
  md: ModelDir,
  ab: AttestationBuild,
  testSet: readonly Sample[],
  o: CheckAttestationOptions,
): Promise<CheckedAttestation> {
  const provider = benchmark.runner?.provider;
  if (!provider) throw new AttestationCheckError("the registry contract has no provider");
  const r = await benchmark.getAttestation(attestationId);
  const problems: string[] = [];
  const modelHash = md.manifest.modelHash.toLowerCase();
  const over = await benchmark.modelRegistry();
  if (over.toLowerCase() !== o.modelRegistry.toLowerCase()) {
    problems.push(`the benchmark registry is over ModelRegistry ${over}, not ${o.modelRegistry}`);
  }
  const models = IModelRegistry__factory.connect(over, provider);
  const registered = (await models.getModel(r.modelId)).modelHash.toLowerCase();
  if (registered !== modelHash) problems.push(`model ${r.modelId} is registered with ${registered}, not ${modelHash}`);
  if (r.modelHash.toLowerCase() !== modelHash) problems.push(`the record is about model hash ${r.modelHash}`);
  if (ab.manifest.model.modelHash.toLowerCase() !== modelHash) {
    problems.push(`the attestation build is for model ${ab.manifest.model.modelHash}`);
  }
  const samples = ab.manifest.samples;
  const circuit = createHash("sha256").update(emitAttestationCircuit(md, samples)).digest("hex");
  if (circuit !== ab.manifest.circuitSha256) problems.push("the attestation circuit is not the one verifier-gen emits");
  const sol = emitAttestationVerifier(ab.vkey, {
    contractName: ab.manifest.contractName,
    modelHash: md.manifest.modelHash,
    modelName: md.manifest.name,
    samples,
  });
  const file = `${ab.manifest.contractName}.sol`;
  const compiled = compileVerifier({ [file]: sol }, file, ab.manifest.contractName);
  if (compiled.codeHash !== ab.artifact.codeHash) problems.push("the verifier does not compile from the build's key");
  const pinned = await benchmark.verifierOf(r.modelId, r.samples);
  if (pinned.verifier !== r.verifier) problems.push(`the record's verifier ${r.verifier} is not the pinned one`);
  const code = await provider.getCode(r.verifier);
  if (keccak256(code) !== compiled.codeHash) {
    problems.push(`the deployed verifier ${r.verifier} is not the build's (code hash ${keccak256(code)})`);
  }
  const { found, total } = keyConstantsInCode(ab.vkey, code);
  if (found !== total) problems.push(`the deployed verifier embeds ${found} of the key's ${total} constants`);
  if (Number(r.samples) !== testSet.length || testSet.length !== samples) {
    problems.push(`the record covers ${r.samples} samples, the test set ${testSet.length}, the build ${samples}`);
  } else {
    const mine = toBeHex(datasetCommitment(md, testSet), 32);
    if (r.dataset.toLowerCase() !== mine) problems.push(`the record's test set ${r.dataset} is not this one (${mine})`);
  }
  if (!o.trustKeyMaker) {
    problems.push(
      "the attestation key cannot be checked (no ceremony over attestation circuits), and its maker can prove any " +
        "count under it: trust the maker explicitly (trustKeyMaker) or do not rely on the record",
    );
  }
  if (problems.length > 0) {
    throw new AttestationCheckError(`attestation ${attestationId} fails its check: ${problems.join("; ")}`);
  }
  return {
    modelId: r.modelId,
    samples: Number(r.samples),
    correct: Number(r.correct),
    dataset: r.dataset,
    attester: r.attester,
    keyVerified: false,
  };
}
