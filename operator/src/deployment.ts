/**
 * Where a chain's veriml contracts are: Hardhat Ignition's deployment record
 * (ignition/deployments/<deploymentId>/deployed_addresses.json, written by
 * `hardhat ignition deploy ignition/modules/Suite.ts`). The CLI, the client and the operator read it, so
 * nobody types an address by hand. The default deployment id of a chain is Ignition's own: chain-<chainId>.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, type Provider } from "ethers";
import {
  DeploymentError,
  checkRecordOnChain,
  deploymentIdFor,
  journalChainId,
  journalEntries,
  parseDeployedAddresses,
  suiteAddresses,
  type SuiteAddresses,
} from "./deployment-record.js";

export {
  DeploymentError,
  LOCAL_CHAIN_IDS,
  SUITE_MODULE,
  deploymentIdFor,
  type SuiteAddresses,
} from "./deployment-record.js";

/** Default root of Ignition's records (Hardhat's `paths.ignition` + "/deployments"). */
export const DEFAULT_DEPLOYMENTS_ROOT = path.join("ignition", "deployments");

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
  return parseDeployedAddresses(text, file);
}

/** Ignition's journal of the deployment at `dir` (empty without one). */
const readJournal = (dir: string): Promise<string> => readFile(path.join(dir, "journal.jsonl"), "utf8").catch(() => "");

/** The chain a deployment was made on, from Ignition's journal (undefined without a journal). */
export async function readDeploymentChainId(dir: string): Promise<bigint | undefined> {
  return journalChainId(await readJournal(dir));
}

/** The hash of the last transaction Ignition confirmed for `futureId` in the deployment at `dir`. */
export async function readConfirmedTransaction(dir: string, futureId: string): Promise<string | undefined> {
  return journalEntries(await readJournal(dir), "TRANSACTION_CONFIRM")
    .filter((e) => e.futureId === futureId)
    .at(-1)?.hash;
}

/** The suite's addresses in the deployment at `dir`. */
export async function readSuiteDeployment(dir: string): Promise<SuiteAddresses> {
  return suiteAddresses(await readDeployedAddresses(dir), dir);
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
  await checkRecordOnChain({ where: dir, market, chainId: await readDeploymentChainId(dir) }, provider);
  return market;
}
