// Delivers RandaoRandomness values in tests: mines past the mixed blocks and fulfils every pending request
// with the blocks' headers, as the operator bots' randomness keeper does (operator/src/chain/randomness.ts).
import type { ContractRunner, Provider } from "ethers";
import { fulfilRandomness } from "../../operator/src/chain/randomness.js";
import { RANDAO_BLOCKS, RANDAO_DELAY } from "../../scripts/lib/randomness.js";
import { RandaoRandomness__factory } from "../../types/ethers-contracts/index.js";

interface Miner {
  mine(blocks?: number): Promise<void>;
}

/** Mines until every pending randomness request of `source` can be delivered, then delivers them all. */
export async function fulfilAll(
  networkHelpers: Miner,
  runner: ContractRunner & { provider: Provider | null },
  source: string,
): Promise<number> {
  await networkHelpers.mine(RANDAO_DELAY + RANDAO_BLOCKS + 1);
  const randao = RandaoRandomness__factory.connect(source, runner);
  const requested = await randao.queryFilter(randao.filters.RandomnessRequested(), 0);
  let sent = 0;
  for (const e of requested) {
    if (await fulfilRandomness(source, runner, e.args.requester, e.args.key)) sent++;
  }
  return sent;
}
