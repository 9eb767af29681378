/**
 * Where a chain's veriml contracts are: Hardhat Ignition's deployment record
 * (ignition/deployments/<deploymentId>/deployed_addresses.json, written by
 * `hardhat ignition deploy ignition/modules/Suite.ts`). The CLI, the client and the operator read it, so
 * nobody types an address by hand. The default deployment id of a chain is Ignition's own: chain-<chainId>.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, type Provider } from "ethers";
import { OperatorError } from "./errors.js";

/** No deployment record, or one without the suite's contracts. */
export class DeploymentError extends OperatorError {}

/** The suite module's id in ignition/modules/Suite.ts. */
export const SUITE_MODULE = "VerimlSuite";

/** Contract futures of the suite module, by the name the rest of veriml uses. */
const SUITE_CONTRACTS = {
  registry: "ModelRegistry",
  vault: "StakingVault",
  market: "InferenceMarket",
  randomness: "RandaoRandomness",
  zk: "ZkModule",
  executor: "OneStepExecutor",
  optimistic: "OptimisticModule",
  sampling: "SamplingModule",
  committee: "SamplingCommittee",
  gameArbitrator: "OptimisticArbitrator",
  quality: "QualityModule",
} as const;

export type SuiteAddresses = Record<keyof typeof SUITE_CONTRACTS, string>;

/** Default root of Ignition's records (Hardhat's `paths.ignition` + "/deployments"). */
export const DEFAULT_DEPLOYMENTS_ROOT = path.join("ignition", "deployments");

/** Ignition's default deployment id for a chain. */
export const deploymentIdFor = (chainId: bigint): string => `chain-${chainId}`;

/** `deployment`: a directory, or a deployment id under `root`. */
export function deploymentDir(deployment: string, root: string = DEFAULT_DEPLOYMENTS_ROOT): string {
  return deployment.includes("/") || deployment.includes(path.sep) ? deployment : path.join(root, deployment);
}

/** Every address Ignition recorded in `dir` (future id -> checksummed address). */
export async function readDeployedAddresses(dir: string): Promise<Record<string, string>> {
  const file = path.join(dir, "deployed_addresses.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new DeploymentError(
      `no deployment record at ${file}: deploy the suite first (npx hardhat ignition deploy ignition/modules/Suite.ts --network <name>)`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentError(`${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof json !== "object" || json === null) throw new DeploymentError(`${file} is not an object of addresses`);
  const out: Record<string, string> = {};
  for (const [id, value] of Object.entries(json)) {
    try {
      out[id] = getAddress(String(value));
    } catch (cause) {
      throw new DeploymentError(`${file}: ${id} is not an address (${String(value)})`, { cause });
    }
  }
  return out;
}

interface JournalEntry {
  type?: string;
  chainId?: number;
  futureId?: string;
  hash?: string;
}

/** The entries of Ignition's journal of type `type` (none without a journal), in order. */
async function journalEntries(dir: string, type: string): Promise<JournalEntry[]> {
  const text = await readFile(path.join(dir, "journal.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line.includes(type))
    .map((line) => JSON.parse(line) as JournalEntry)
    .filter((entry) => entry.type === type);
}

/** The chain a deployment was made on, from Ignition's journal (undefined without a journal). */
export async function readDeploymentChainId(dir: string): Promise<bigint | undefined> {
  const chainId = (await journalEntries(dir, "DEPLOYMENT_INITIALIZE")).find((e) => e.chainId !== undefined)?.chainId;
  return chainId === undefined ? undefined : BigInt(chainId);
}

/** The hash of the last transaction Ignition confirmed for `futureId` in the deployment at `dir`. */
export async function readConfirmedTransaction(dir: string, futureId: string): Promise<string | undefined> {
  return (await journalEntries(dir, "TRANSACTION_CONFIRM")).filter((e) => e.futureId === futureId).at(-1)?.hash;
}

/** The suite's addresses in the deployment at `dir`. */
export async function readSuiteDeployment(dir: string): Promise<SuiteAddresses> {
  const recorded = await readDeployedAddresses(dir);
  const missing: string[] = [];
  const suite = {} as SuiteAddresses;
  for (const [key, contract] of Object.entries(SUITE_CONTRACTS) as [keyof SuiteAddresses, string][]) {
    const address = recorded[`${SUITE_MODULE}#${contract}`];
    if (address === undefined) missing.push(contract);
    else suite[key] = address;
  }
  if (missing.length > 0) {
    throw new DeploymentError(`the deployment at ${dir} lacks ${missing.join(", ")} of the ${SUITE_MODULE} module`);
  }
  return suite;
}

export interface DeploymentChoice {
  /** An explicit market address wins over any record. */
  market?: string | undefined;
  /** A deployment directory or id; default chain-<chainId of the provider>. */
  deployment?: string | undefined;
  /** Root the ids are under (default ignition/deployments). */
  deploymentsRoot?: string | undefined;
}

/**
 * The market to talk to: `market` if given, else the one recorded for `deployment` (or for the chain the
 * provider is on), checked to have code on that chain (a record of another chain, or of a node that was
 * restarted, is refused with a clear error rather than calls that return nothing).
 */
export async function resolveMarket(choice: DeploymentChoice, provider: Provider): Promise<string> {
  if (choice.market !== undefined && choice.market !== "") return getAddress(choice.market);
  const { chainId } = await provider.getNetwork();
  const dir = deploymentDir(choice.deployment ?? deploymentIdFor(chainId), choice.deploymentsRoot);
  const { market } = await readSuiteDeployment(dir);
  const recordedChain = await readDeploymentChainId(dir);
  if (recordedChain !== undefined && recordedChain !== chainId) {
    throw new DeploymentError(`the deployment at ${dir} is of chain ${recordedChain}, the node is chain ${chainId}`);
  }
  if ((await provider.getCode(market)) === "0x") {
    throw new DeploymentError(
      `the market recorded in ${dir} (${market}) has no code on chain ${chainId}: the record is of another chain or of a node since restarted; redeploy (add --reset for a fresh local node)`,
    );
  }
  return market;
}

/** Chains where development keys are acceptable and the clock may be moved: Hardhat's and the usual local ones. */
export const LOCAL_CHAIN_IDS: ReadonlySet<bigint> = new Set([31337n, 1337n]);
