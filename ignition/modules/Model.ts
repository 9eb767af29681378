/**
 * Registering one model: its Groth16 verifier (zk mode) and its registration with the configs of the modes
 * it enables. A model's modules are built per model (their ids carry the model's name) by
 * scripts/register-model.ts, which computes each mode's config from the build and deploys them into the
 * suite's Ignition deployment, so the verifier and the registration are recorded next to the suite.
 * Re-running a registration with the same parameters sends nothing; with other parameters Ignition refuses
 * (register under another VERIML_REGISTRATION_ID instead).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** What Ignition needs of a compiled contract. */
export interface CompiledContract {
  contractName: string;
  abi: readonly unknown[];
  bytecode: string;
  deployedBytecode: string;
}

/** A module id: Ignition allows letters, digits and underscores. */
export const moduleId = (prefix: string, name: string): string => `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;

/** Deploys a build's verifier from the build's own compiled bytecode (the code hash the zk config pins). */
export function verifierModule(name: string, verifier: CompiledContract) {
  return buildModule(moduleId("VerimlVerifier", name), (m) => {
    const contract = m.contract(verifier.contractName, {
      _format: "hh3-artifact-1",
      contractName: verifier.contractName,
      sourceName: `verifier-gen/${verifier.contractName}.sol`,
      abi: verifier.abi as never,
      bytecode: verifier.bytecode,
      deployedBytecode: verifier.deployedBytecode,
      linkReferences: {},
      deployedLinkReferences: {},
    } as never);
    return { verifier: contract };
  });
}

export interface RegistrationSpec {
  registry: string;
  modelHash: string;
  artifactURI: string;
  ethPrice: bigint;
  operatorStake: bigint;
  modes: { mode: number; config: string }[];
}

/** Registers a model with the registry of a deployed suite. */
export function registrationModule(id: string, spec: RegistrationSpec) {
  return buildModule(moduleId("VerimlModel", id), (m) => {
    const registry = m.contractAt("ModelRegistry", spec.registry);
    m.call(
      registry,
      "registerModel",
      [spec.modelHash, spec.artifactURI, spec.ethPrice, spec.operatorStake, spec.modes],
      { id: "RegisterModel" },
    );
    // The caller reads the model id back from the ModelRegistered event (a module returns contracts only).
    return { registry };
  });
}
