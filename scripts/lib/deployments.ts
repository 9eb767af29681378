import { mkdir, readFile, writeFile } from "node:fs/promises";

/** What deployments/<chainId>.json records for one chain. */
export interface DeploymentRecord {
  network: string;
  chainId: string;
  deployer: string;
  deployedAt: string;
  parameters: unknown;
  contracts: Record<string, string>;
  models: Record<
    string,
    { modelId: string; modelHash: string; verifier?: string; artifactURI: string; modes: string[] }
  >;
}

export const deploymentFile = (chainId: bigint): string => `deployments/${chainId}.json`;

export async function readDeployment(chainId: bigint): Promise<DeploymentRecord> {
  const file = deploymentFile(chainId);
  try {
    return JSON.parse(await readFile(file, "utf8")) as DeploymentRecord;
  } catch (cause) {
    throw new Error(`no deployment recorded for chain ${chainId} (${file}): run scripts/deploy.ts first`, { cause });
  }
}

export async function writeDeployment(chainId: bigint, record: DeploymentRecord): Promise<string> {
  await mkdir("deployments", { recursive: true });
  const file = deploymentFile(chainId);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
