import type { Signer } from "ethers";
import { RandaoRandomness__factory } from "../../types/ethers-contracts/index.js";

/** RandaoRandomness defaults: first mixed block 2 blocks after the request, 3 consecutive blocks mixed. */
export const RANDAO_DELAY = 2;
export const RANDAO_BLOCKS = 3;

/** Deploys the default randomness source (RANDAO of future blocks, delivered with block headers). */
export async function deployRandomness(
  deployer: Signer,
  options: { delay?: number; blocks?: number } = {},
): Promise<string> {
  const source = await new RandaoRandomness__factory(deployer).deploy(
    options.delay ?? RANDAO_DELAY,
    options.blocks ?? RANDAO_BLOCKS,
  );
  await source.waitForDeployment();
  return source.getAddress();
}
