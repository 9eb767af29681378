// Invariants every mode must keep, checked against the real contracts from their state and their events:
// escrow solvency, one payout per request, no slash beyond its lock (the operator's and every third party's:
// samplers, validators, challenger bonds), and no accepted result other than the correct one.
import { expect } from "chai";
import type { Provider } from "ethers";
import type { InferenceMarket, StakingVault } from "../../types/ethers-contracts/index.js";

/** Status values of IInferenceMarket.Status. */
export const RequestStatus = { None: 0n, Open: 1n, Claimed: 2n, Submitted: 3n, Finalized: 4n, Refunded: 5n } as const;

/** The market holds exactly what it owes in ETH; the vault holds exactly what it owes. */
export async function expectSolvent(provider: Provider, market: InferenceMarket, vault: StakingVault): Promise<void> {
  const held = await provider.getBalance(await market.getAddress());
  expect(held, "market ETH == liabilities").to.equal(
    await market.liabilities("0x0000000000000000000000000000000000000000"),
  );
  const vaultHeld = await provider.getBalance(await vault.getAddress());
  expect(vaultHeld, "vault ETH == total liabilities").to.equal(await vault.totalLiabilities());
}

/** Every request pays out at most once: one RequestFinalized or RequestRejected or RequestRefunded at most. */
export async function expectPaysAtMostOnce(market: InferenceMarket): Promise<void> {
  const ends = new Map<bigint, number>();
  for (const filter of [
    market.filters.RequestFinalized(),
    market.filters.RequestRejected(),
    market.filters.RequestRefunded(),
  ]) {
    for (const e of await market.queryFilter(filter, 0)) {
      const id = e.args[0] as bigint;
      ends.set(id, (ends.get(id) ?? 0) + 1);
    }
  }
  for (const [id, count] of ends) expect(count, `request ${id} settled ${count} times`).to.equal(1);
}

/** No lock was ever slashed beyond what it held (summed over its slashes), and no staker's balances underflow. */
export async function expectSlashesWithinLocks(vault: StakingVault, stakers: readonly string[]): Promise<void> {
  const locked = new Map<string, bigint>();
  for (const e of await vault.queryFilter(vault.filters.StakeLocked(), 0)) {
    locked.set(e.args.lockId, (locked.get(e.args.lockId) ?? 0n) + e.args.amount);
  }
  const slashed = new Map<string, bigint>();
  for (const e of await vault.queryFilter(vault.filters.StakeSlashed(), 0)) {
    slashed.set(e.args.lockId, (slashed.get(e.args.lockId) ?? 0n) + e.args.amount);
  }
  for (const [lockId, amount] of slashed) {
    expect(amount, `lock ${lockId} slashed beyond its amount`).to.be.at.most(locked.get(lockId) ?? 0n);
  }
  for (const s of stakers) {
    const info = await vault.stakeOf(s);
    expect(info.total >= info.locked + info.unbonding + info.bonded, `balances of ${s}`).to.equal(true);
  }
}

/**
 * No request was finalized as accepted with an output other than the correct one. `truth` returns the correct
 * output of a request, or undefined where the actor model allows a wrong output to stand (the test says why).
 */
export async function expectOnlyCorrectOutputsAccepted(
  market: InferenceMarket,
  truth: (requestId: bigint) => string | undefined,
): Promise<number> {
  let accepted = 0;
  for (const e of await market.queryFilter(market.filters.RequestFinalized(), 0)) {
    const id = e.args.requestId;
    const expected = truth(id);
    if (expected === undefined) continue;
    expect(e.args.output, `request ${id} accepted a wrong output`).to.equal(expected);
    accepted++;
  }
  return accepted;
}
