import { ContractFactory, type Signer } from "ethers";
import {
  BenchmarkRegistry__factory,
  type BenchmarkRegistry,
  type IBenchmarkRegistry,
} from "../../types/ethers-contracts/index.js";
import type { AttestationFile } from "../../verifier-gen/src/attestation.js";
import { loadAttestation } from "../../verifier-gen/src/attestation.js";

/** Deploys a BenchmarkRegistry over a ModelRegistry. */
export async function deployBenchmarkRegistry(modelRegistry: string, deployer: Signer): Promise<BenchmarkRegistry> {
  const benchmark = await new BenchmarkRegistry__factory(deployer).deploy(modelRegistry);
  await benchmark.waitForDeployment();
  return benchmark;
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
): Promise<string> {
  const { artifact } = loadAttestation(attestationDir);
  const verifier = await new ContractFactory(artifact.abi as object[], artifact.bytecode, owner).deploy();
  await verifier.waitForDeployment();
  const address = await verifier.getAddress();
  await (await benchmark.connect(owner).setVerifier(modelId, address, artifact.codeHash)).wait();
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
  if (!log) throw new Error("attest: no Attested event in the receipt");
  return { attestationId: log.args.attestationId as bigint, gasUsed: receipt!.gasUsed };
}
