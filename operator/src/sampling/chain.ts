import { hexlify, type ContractTransaction } from "ethers";
import { sendCall } from "../chain/tx-sender.js";
import {
  SamplingCommittee__factory,
  SamplingModule__factory,
  type SamplingCommittee,
  type SamplingModule,
} from "../../../types/ethers-contracts/index.js";
import { withRetry } from "../chain/retry.js";
import { OperatorError } from "../errors.js";
import type { RoleContext } from "../roles/role.js";
import type { Job } from "../store.js";

export const MODE_SAMPLING = 2;

/** Mirrors ISamplingModule.Phase. */
export const Phase = {
  None: 0n,
  AwaitingRandomness: 1n,
  Unsampled: 2n,
  SamplerDrawn: 3n,
  Revealing: 4n,
  Disputed: 5n,
  Final: 6n,
} as const;

/** Mirrors ISamplingCommittee.Stage. */
export const Stage = { None: 0n, AwaitingDraw: 1n, Voting: 2n, Resolved: 3n } as const;

/** Mirrors IInferenceMarket.Status (the values the spML duties read). */
export const RequestStatus = { Submitted: 3n, Finalized: 4n, Refunded: 5n } as const;

/** What identifies a request's input (the parts of a Job that resolveInput reads). */
export type RequestInput = Pick<Job, "requestId" | "modelId" | "input" | "inputHash" | "inputURI" | "createdBlock">;

/** The request's input as the market announced it (RequestCreated is indexed by request id). */
export async function requestInput(ctx: RoleContext, requestId: bigint): Promise<RequestInput> {
  const { market } = ctx;
  const [event] = await withRetry(
    "getLogs RequestCreated(id)",
    () => market.queryFilter(market.filters.RequestCreated(requestId)),
    ctx.retry,
    ctx.log,
  );
  if (event === undefined) throw new OperatorError(`request ${requestId}: no RequestCreated event`);
  return {
    requestId,
    modelId: event.args.modelId,
    input: hexlify(event.args.input),
    inputHash: event.args.inputHash,
    inputURI: event.args.inputURI,
    createdBlock: event.blockNumber,
  };
}

/** The module the registry maps mode SAMPLING to, connected to the operator's signer. */
export async function samplingModule(ctx: RoleContext): Promise<SamplingModule> {
  const address = await withRetry("moduleOf", () => ctx.registry.moduleOf(MODE_SAMPLING), ctx.retry, ctx.log);
  return SamplingModule__factory.connect(address, ctx.signer);
}

/** The committee a model's sampling config names as arbitrator. */
export async function committeeOf(
  ctx: RoleContext,
  module: SamplingModule,
  requestId: bigint,
): Promise<SamplingCommittee> {
  const config = await module.configOf(requestId);
  return SamplingCommittee__factory.connect(config.arbitrator, ctx.signer);
}

/**
 * The market's active clock (IActiveClock): every deadline and chess clock is measured on it, and it stands
 * still while the market is paused. Never the host's clock, nor a block timestamp.
 */
export async function chainTime(ctx: Pick<RoleContext, "market" | "retry" | "log">): Promise<bigint> {
  return withRetry("activeTime", () => ctx.market.activeTime(), ctx.retry, ctx.log);
}

/**
 * Sends a role's call through the operator's TxSender (signed, recorded, broadcast, waited for with a
 * deadline, replaced when slow) and returns the mined transaction's hash; a revert throws.
 */
export async function sendAndWait(
  ctx: Pick<RoleContext, "tx">,
  what: string,
  build: () => Promise<ContractTransaction>,
): Promise<string> {
  const receipt = await sendCall(ctx.tx, what, build);
  return receipt.hash;
}
