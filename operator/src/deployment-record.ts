/**
 * Hardhat Ignition's deployment record read from its text, with no file system: the part of
 * operator/src/deployment.ts that the web app shares (it fetches the same files over HTTP). The CLI, the
 * client, the operator and the page all turn a record into addresses here.
 */
import { getAddress, type Provider } from "ethers";
import { OperatorError } from "./errors.js";

/** No deployment record, or one without the suite's contracts. */
export class DeploymentError extends OperatorError {}

/** The suite module's id in ignition/modules/Suite.ts. */
export const SUITE_MODULE = "VerimlSuite";

/** Contract futures of the suite module, by the name the rest of veriml uses. */
export const SUITE_CONTRACTS = {
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
  benchmark: "BenchmarkRegistry",
} as const;

export type SuiteAddresses = Record<keyof typeof SUITE_CONTRACTS, string>;

/** Ignition's default deployment id for a chain. */
export const deploymentIdFor = (chainId: bigint): string => `chain-${chainId}`;

/** Chains where development keys are acceptable and the clock may be moved: Hardhat's and the usual local ones. */
export const LOCAL_CHAIN_IDS: ReadonlySet<bigint> = new Set([31337n, 1337n]);

/** Every address of a deployed_addresses.json (future id -> checksummed address); `file` names it in errors. */
export function parseDeployedAddresses(text: string, file: string): Record<string, string> {
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

/** The suite's addresses among a record's (`where` names the deployment in errors). */
export function suiteAddresses(recorded: Record<string, string>, where: string): SuiteAddresses {
  const missing: string[] = [];
  const suite = {} as SuiteAddresses;
  for (const [key, contract] of Object.entries(SUITE_CONTRACTS) as [keyof SuiteAddresses, string][]) {
    const address = recorded[`${SUITE_MODULE}#${contract}`];
    if (address === undefined) missing.push(contract);
    else suite[key] = address;
  }
  if (missing.length > 0) {
    throw new DeploymentError(`the deployment at ${where} lacks ${missing.join(", ")} of the ${SUITE_MODULE} module`);
  }
  return suite;
}

export interface JournalEntry {
  type?: string;
  chainId?: number;
  futureId?: string;
  hash?: string;
}

/** The entries of Ignition's journal (journal.jsonl text) of type `type`, in order. */
export function journalEntries(text: string, type: string): JournalEntry[] {
  return text
    .split("\n")
    .filter((line) => line.includes(type))
    .map((line) => JSON.parse(line) as JournalEntry)
    .filter((entry) => entry.type === type);
}

/** The chain a deployment was made on, from its journal's text (undefined when it does not say). */
export function journalChainId(text: string): bigint | undefined {
  const chainId = journalEntries(text, "DEPLOYMENT_INITIALIZE").find((e) => e.chainId !== undefined)?.chainId;
  return chainId === undefined ? undefined : BigInt(chainId);
}

/**
 * Refuses a record that is not of the chain the provider is on: one made on another chain, or of a local
 * node since restarted (its market has no code), with a clear error rather than calls that return nothing.
 */
export async function checkRecordOnChain(
  record: { where: string; market: string; chainId: bigint | undefined },
  provider: Provider,
): Promise<void> {
  const { chainId } = await provider.getNetwork();
  if (record.chainId !== undefined && record.chainId !== chainId) {
    throw new DeploymentError(
      `the deployment at ${record.where} is of chain ${record.chainId}, the node is chain ${chainId}`,
    );
  }
  if ((await provider.getCode(record.market)) === "0x") {
    throw new DeploymentError(
      `the market recorded in ${record.where} (${record.market}) has no code on chain ${chainId}: the record is of another chain or of a node since restarted; redeploy (add --reset for a fresh local node)`,
    );
  }
}
