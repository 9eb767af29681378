/**
 * Registers a verifier-gen build in the modes you choose, with Hardhat Ignition, on the suite deployed to
 * the network chosen with --network (ignition/modules/Suite.ts first):
 *
 *   VERIML_BUILD=models/build/iris_mlp VERIML_MODES=zk,optimistic,sampling \
 *     npx hardhat run --network localhost scripts/register-model.ts
 *
 * VERIML_REGISTRATION: a JSON file of prices and per-mode parameters (scripts/lib/register.ts
 * RegistrationParameters; e.g. {"ethPrice": "0.01", "sampling": {"sampleBps": 10000}}); VERIML_ARTIFACT_URI:
 * where operators fetch the build (default file://<build>); VERIML_DEPLOYMENT_ID: the suite's Ignition
 * deployment (default chain-<chainId>); VERIML_REGISTRATION_ID: register the same build again under a new
 * id. Builds made with the local development ceremony are refused on every chain but the local ones
 * (their single phase-2 contributor could forge proofs); VERIML_FORCE_DEV_CEREMONY=1 overrides that, for
 * testnet trials only.
 */
import { network } from "hardhat";
import { MODE_IDS, readRegistrationParameters, registerWithIgnition, type ModeName } from "./lib/register.js";

const modes = (process.env.VERIML_MODES ?? "zk").split(",").map((m) => m.trim()) as ModeName[];
for (const mode of modes) {
  if (!(mode in MODE_IDS)) throw new Error(`VERIML_MODES: unknown mode "${mode}" (zk, optimistic, sampling, quality)`);
}
const connection = await network.create();
const registered = await registerWithIgnition(connection, {
  buildDir: process.env.VERIML_BUILD ?? (process.env.VERIML_MODEL_HASH ? undefined : "models/build/digits-mlp"),
  modelHash: process.env.VERIML_MODEL_HASH,
  modes,
  artifactURI: process.env.VERIML_ARTIFACT_URI,
  parameters: await readRegistrationParameters(process.env.VERIML_REGISTRATION),
  deploymentId: process.env.VERIML_DEPLOYMENT_ID,
  registrationId: process.env.VERIML_REGISTRATION_ID,
  forceDevCeremony: process.env.VERIML_FORCE_DEV_CEREMONY === "1",
});
process.stdout.write(
  `model ${registered.name}: id ${registered.modelId} in ${registered.modes.join(", ")}` +
    `${registered.verifier ? `, verifier ${registered.verifier}` : ""}, modelHash ${registered.modelHash}\n` +
    `recorded in ${registered.deploymentDir}; serve it with an operator config entry\n` +
    `  {"modelId": "${registered.modelId}", "modes": [${registered.modes.map((m) => MODE_IDS[m]).join(", ")}]}\n`,
);
await connection.close();
