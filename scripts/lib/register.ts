/**
 * Registers a verifier-gen build in any of zk, optimistic and sampling mode (and a model hash in quality
 * mode) through Hardhat Ignition, into the suite's deployment: the verifier (zk) and the registration are
 * Ignition modules (ignition/modules/Model.ts), recorded next to the suite's addresses.
 *
 * Everything the chain would refuse is refused first, with the contract's own custom error: the configs
 * are checked by the registry's modules in an eth_call of the registration before anything is sent.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { keccak256, parseEther } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { z } from "zod";
import { moduleId, registrationModule, verifierModule } from "../../ignition/modules/Model.js";
import { classify } from "../../operator/src/chain/errors.js";
import {
  deploymentDir,
  deploymentIdFor,
  readConfirmedTransaction,
  readSuiteDeployment,
} from "../../operator/src/deployment.js";
import { loadOptimisticModel } from "../../operator/src/optimistic/model.js";
import { encodeSamplingConfig } from "../../operator/src/sampling/config.js";
import { encodeOptimisticConfig, encodeZkConfig } from "../../operator/src/terms.js";
import { ModelRegistry__factory, OptimisticArbitrator__factory } from "../../types/ethers-contracts/index.js";
import { loadVerifierArtifact } from "../../verifier-gen/src/pipeline.js";
import { encodeQualityConfig } from "./quality.js";
import { checkBuildForChain, readManifest } from "./zk.js";

export const MODE_IDS = { zk: 0, optimistic: 1, sampling: 2, quality: 3 } as const;
export type ModeName = keyof typeof MODE_IDS;

const eth = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseEther(String(v));
  } catch {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${v} is not an amount of ETH` });
    return z.NEVER;
  }
});
const seconds = z.number().int().positive();
const bps = z.number().int().min(0).max(10_000);

/** Per-mode parameters of a registration (a JSON file; every field has a default). */
export const RegistrationParameters = z
  .object({
    ethPrice: eth.default("0.01"),
    operatorStake: eth.default("1"),
    optimistic: z
      .object({
        challengeWindow: seconds.default(3600),
        clock: seconds.default(600),
        challengerBond: eth.default("0.1"),
      })
      .strict()
      .default({}),
    sampling: z
      .object({
        sampleBps: bps.default(1_000),
        verifierFeeBps: bps.default(5_000),
        samplerNoShowSlashBps: bps.default(2_000),
        maxDraws: z.number().int().min(1).max(255).default(2),
        commitWindow: seconds.default(600),
        revealWindow: seconds.default(600),
        /** "committee" (the suite's SamplingCommittee), "game" (its OptimisticArbitrator) or an address. */
        arbitrator: z.string().default("committee"),
      })
      .strict()
      .default({}),
    quality: z
      .object({
        committeeSize: z
          .number()
          .int()
          .min(1)
          .refine((k) => k % 2 === 1, "must be odd (the median of an even committee is no member's score)"),
        minReveals: z.number().int().min(1),
        threshold: bps,
        outlierDistance: bps,
        commitWindow: seconds,
        revealWindow: seconds,
        maxInlineBytes: z.number().int().nonnegative(),
        operatorSlashBps: bps,
        validatorStake: eth,
        validatorReward: eth,
        outlierSlash: eth,
        noRevealSlash: eth,
      })
      .strict()
      .optional(),
  })
  .strict();
export type RegistrationParameters = z.infer<typeof RegistrationParameters>;

export async function readRegistrationParameters(file: string | undefined): Promise<RegistrationParameters> {
  if (file === undefined) return RegistrationParameters.parse({});
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read registration parameters ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = RegistrationParameters.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid registration parameters (${file}):\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export interface RegisterOptions {
  /** A verifier-gen build (zk, optimistic, sampling); quality-only registrations give `modelHash` instead. */
  buildDir?: string;
  modelHash?: string;
  modes: ModeName[];
  artifactURI?: string;
  parameters: RegistrationParameters;
  /** Ignition deployment the suite is in (default chain-<chainId>). */
  deploymentId?: string;
  /** Registration module id (default: the build's name); another id registers the model again. */
  registrationId?: string;
  forceDevCeremony?: boolean;
}

export interface Registered {
  modelId: bigint;
  name: string;
  modelHash: string;
  modes: ModeName[];
  verifier?: string;
  artifactURI: string;
  deploymentDir: string;
}

/** Registers a model with the suite of the connection's chain; returns the id the registry assigned. */
export async function registerWithIgnition(connection: NetworkConnection, o: RegisterOptions): Promise<Registered> {
  const { ethers, ignition } = connection;
  const [owner] = await ethers.getSigners();
  if (!owner) throw new Error("no account configured for this network");
  const { chainId } = await ethers.provider.getNetwork();
  const deploymentId = o.deploymentId ?? deploymentIdFor(chainId);
  const dir = deploymentDir(deploymentId);
  const suite = await readSuiteDeployment(dir);
  if (o.modes.length === 0) throw new Error("no mode to register in");

  const buildModes = o.modes.filter((m) => m !== "quality");
  if (buildModes.length > 0 && o.buildDir === undefined) throw new Error(`modes ${buildModes.join(",")} need a build`);
  const manifest = o.buildDir === undefined ? undefined : await readManifest(o.buildDir);
  if (manifest !== undefined) checkBuildForChain(manifest, chainId, o.forceDevCeremony);
  const modelHash = manifest?.modelHash ?? o.modelHash;
  if (modelHash === undefined) throw new Error("give a build or a model hash");
  if (o.modelHash !== undefined && manifest !== undefined && o.modelHash !== manifest.modelHash) {
    throw new Error(`model hash ${o.modelHash} is not the build's ${manifest.modelHash}`);
  }
  const name = o.registrationId ?? manifest?.name ?? modelHash.slice(0, 10);
  const artifactURI = o.artifactURI ?? (o.buildDir ? `file://${path.resolve(o.buildDir)}` : "");
  const p = o.parameters;

  // The build's commitment preimage, read once for whichever modes need it.
  let preimage: { leafCount: number; paramRoot: string; tensorSizes: number[] } | undefined;
  const commitment = () => (preimage ??= loadOptimisticModel(o.buildDir!).tree.commitment);
  const modes: { mode: number; config: string }[] = [];
  let verifier: string | undefined;
  for (const mode of o.modes) {
    if (mode === "zk") {
      const artifact = loadVerifierArtifact(o.buildDir!);
      const deployed = await ignition.deploy(verifierModule(name, artifact), {
        deploymentId,
        displayUi: false,
      });
      verifier = await deployed.verifier.getAddress();
      const codeHash = keccak256(await ethers.provider.getCode(verifier));
      if (codeHash !== keccak256(artifact.deployedBytecode)) {
        throw new Error(`the verifier at ${verifier} is not the build's bytecode`);
      }
      modes.push({ mode: MODE_IDS.zk, config: encodeZkConfig({ verifier, verifierCodeHash: codeHash }) });
    } else if (mode === "optimistic") {
      const { leafCount, paramRoot, tensorSizes } = commitment();
      modes.push({
        mode: MODE_IDS.optimistic,
        config: encodeOptimisticConfig({ ...p.optimistic, leafCount, paramRoot, tensorSizes }),
      });
    } else if (mode === "sampling") {
      const { arbitrator: choice, ...rest } = p.sampling;
      const arbitrator =
        choice === "committee" ? suite.committee : choice === "game" ? suite.gameArbitrator : ethers.getAddress(choice);
      if (arbitrator === suite.gameArbitrator) {
        // The game arbitrator rules only on models whose commitment preimage it holds (anyone may record it).
        const game = OptimisticArbitrator__factory.connect(arbitrator, owner);
        const { leafCount, paramRoot, tensorSizes } = commitment();
        if ((await game.modelShapeOf(modelHash)).tensorSizes.length === 0) {
          await (await game.setModelCommitment(leafCount, paramRoot, tensorSizes)).wait();
        }
      }
      modes.push({ mode: MODE_IDS.sampling, config: encodeSamplingConfig({ ...rest, arbitrator }) });
    } else {
      if (p.quality === undefined) throw new Error("quality mode needs the `quality` parameters");
      modes.push({ mode: MODE_IDS.quality, config: encodeQualityConfig(p.quality) });
    }
  }

  const spec = {
    registry: suite.registry,
    modelHash,
    artifactURI,
    ethPrice: p.ethPrice,
    operatorStake: p.operatorStake,
    modes,
  };
  const registry = ModelRegistry__factory.connect(suite.registry, owner);
  // The modules check every config now, exactly as they will at registration: refuse before sending.
  try {
    await registry.registerModel.staticCall(spec.modelHash, artifactURI, spec.ethPrice, spec.operatorStake, modes);
  } catch (error) {
    const failure = classify(error);
    throw new Error(`the registry refuses this registration: ${failure.summary}`, { cause: error });
  }
  await ignition.deploy(registrationModule(name, spec), { deploymentId, displayUi: false });
  // The id is the one this registration's own transaction got (Ignition's journal has it), never a guess
  // from events of other registrations of the same build.
  const futureId = `${moduleId("VerimlModel", name)}#RegisterModel`;
  const txHash = await readConfirmedTransaction(dir, futureId);
  if (txHash === undefined) throw new Error(`${dir} records no confirmed transaction for ${futureId}`);
  const receipt = await ethers.provider.getTransactionReceipt(txHash);
  const registered = receipt?.logs
    .map((log) => registry.interface.parseLog(log))
    .find((parsed) => parsed?.name === "ModelRegistered");
  if (registered === undefined || registered === null) throw new Error(`${txHash} emitted no ModelRegistered`);
  return {
    modelId: registered.args.modelId as bigint,
    name: manifest?.name ?? name,
    modelHash,
    modes: o.modes,
    ...(verifier === undefined ? {} : { verifier }),
    artifactURI,
    deploymentDir: dir,
  };
}
