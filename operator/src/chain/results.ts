import { keccak256, ZeroHash } from "ethers";
import type { InferenceMarket } from "../../../types/ethers-contracts/index.js";
import { OperatorError } from "../errors.js";

/** The chain's log and its stored hash of a settled output disagree (a forged or reorganised log). */
export class ResultMismatchError extends OperatorError {}

/**
 * The settled output of a request, as the market delivered it: the bytes of its RequestFinalized event,
 * checked against the hash the market stores (`resultHashOf`). "0x" while the request has no accepted result
 * (open, rejected, refunded). The market stores only the hash; the bytes live in the event log.
 */
export async function settledOutput(market: InferenceMarket, requestId: bigint): Promise<string> {
  const stored = await market.resultHashOf(requestId);
  if (stored === ZeroHash) return "0x";
  const events = await market.queryFilter(market.filters.RequestFinalized(requestId));
  const match = events.find((e) => keccak256(e.args.output) === stored);
  if (match === undefined) {
    throw new ResultMismatchError(
      `request ${requestId}: no RequestFinalized log carries the output of stored hash ${stored} (${events.length} logs)`,
    );
  }
  return match.args.output;
}
