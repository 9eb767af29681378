// Delivers RandaoRandomness values in tests: mines past the mixed blocks and fulfils with their headers, as
// the operator bots do (operator/src/chain/randomness.ts).
import type { ContractRunner, Provider } from "ethers";
import { fulfilRandomness } from "../../operator/src/chain/randomness.js";
import { RANDAO_BLOCKS, RANDAO_DELAY } from "../../scripts/lib/randomness.js";

interface Miner {
  mine(blocks?: number): Promise<void>;
}

/** Mines until the randomness of (`requester`, `key`) can be delivered, then delivers it. */
export async function fulfil(
  networkHelpers: Miner,
  runner: ContractRunner & { provider: Provider | null },
  source: string,
  requester: string,
  key: string,
): Promise<void> {
  await networkHelpers.mine(RANDAO_DELAY + RANDAO_BLOCKS + 1);
  const sent = await fulfilRandomness(source, runner, requester, key);
  if (!sent) throw new Error(`randomness ${key} of ${requester} was not fulfilled (not requested, ready or expired)`);
}
