/**
 * Submits a benchmark attestation (written by `verifier-gen attest`) to a BenchmarkRegistry on the network chosen
 * with --network, and reads the record back:
 *
 *   VERIML_ATTESTATION=attestation.json VERIML_MODEL_ID=1 VERIML_BENCHMARK_REGISTRY=0x... \
 *     npx hardhat run --network localhost scripts/attest.ts
 *
 * The first account of the network submits; the proof must have been made for it (`--attester`). The model owner
 * additionally gives VERIML_ATTESTATION_BUILD (the attestation circuit directory, <build>/attestation-<n>): when
 * the model has no verifier for that sample count yet, its verifier is deployed and named first. Without
 * VERIML_BENCHMARK_REGISTRY it is the suite's (the chain's Ignition record); with VERIML_MODEL_REGISTRY, or a record
 * from before the suite had one, a registry is deployed over that ModelRegistry. On a public chain a development attestation key is refused (whoever drew it can prove
 * any count); VERIML_FORCE_DEV_CEREMONY=1 forces it for testnet trials.
 */
import path from "node:path";
import { network } from "hardhat";
import { BenchmarkRegistry__factory } from "../types/ethers-contracts/index.js";
import { deploymentDir, deploymentIdFor, readDeployedAddresses, SUITE_MODULE } from "../operator/src/deployment.js";
import { SUITE_CONTRACTS } from "../operator/src/deployment-record.js";
import { readAttestationFile } from "../verifier-gen/src/attestation.js";
import { deployBenchmarkRegistry, setAttestationVerifier, submitAttestation } from "./lib/attestation.js";

const need = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
};

const attestation = readAttestationFile(need("VERIML_ATTESTATION"));
const modelId = BigInt(need("VERIML_MODEL_ID"));
const connection = await network.create();
const [signer] = await connection.ethers.getSigners();
if (signer === undefined) throw new Error("the network has no account to submit with");
let address = process.env.VERIML_BENCHMARK_REGISTRY;
if (address === undefined || address === "") {
  let models = process.env.VERIML_MODEL_REGISTRY;
  if (models === undefined || models === "") {
    // The suite's own registry (Ignition deploys one with the suite); an older record's suite gets one deployed.
    const { chainId } = await connection.ethers.provider.getNetwork();
    const recorded = await readDeployedAddresses(deploymentDir(deploymentIdFor(chainId)));
    address = recorded[`${SUITE_MODULE}#${SUITE_CONTRACTS.benchmark}`];
    models = recorded[`${SUITE_MODULE}#${SUITE_CONTRACTS.registry}`];
    if (models === undefined) throw new Error("no ModelRegistry in the deployment record; set VERIML_MODEL_REGISTRY");
  }
  if (address === undefined) {
    address = await (await deployBenchmarkRegistry(models, signer)).getAddress();
    process.stdout.write(`deployed BenchmarkRegistry ${address}\n`);
  }
}
const benchmark = BenchmarkRegistry__factory.connect(address, signer);
const build = process.env.VERIML_ATTESTATION_BUILD;
const configured = await benchmark.verifierOf(modelId, attestation.samples);
if (configured.verifier === "0x0000000000000000000000000000000000000000") {
  if (build === undefined) throw new Error(`model ${modelId} has no verifier for ${attestation.samples} samples`);
  const force = process.env.VERIML_FORCE_DEV_CEREMONY === "1";
  const verifier = await setAttestationVerifier(benchmark, modelId, path.resolve(build), signer, force);
  process.stdout.write(`named verifier ${verifier} for model ${modelId}, ${attestation.samples} samples\n`);
}
const { attestationId, gasUsed } = await submitAttestation(benchmark, modelId, attestation, signer);
const record = await benchmark.getAttestation(attestationId);
process.stdout.write(
  `attestation ${attestationId}: model ${record.modelId} (${record.modelHash}) labels ${record.correct} of ` +
    `${record.samples} correctly on test set ${record.dataset}; attester ${record.attester}, block ` +
    `${record.blockNumber}, gas ${gasUsed}\n`,
);
await connection.close();
