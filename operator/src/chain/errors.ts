/**
 * What went wrong with a chain call, decided from structure, never from a regex over a whole message
 * (a proof's calldata is full of hex that spells "502"): the ethers error code, the JSON-RPC error code
 * of the node's reply, and the revert data decoded against the ABIs of every veriml contract.
 *
 * - transient: the call may succeed as it is later (timeouts, resets, 5xx and 429, malformed replies,
 *   a node that lost a transaction, nonce races);
 * - revert: the chain refused it now (a custom error with its name and arguments); whether that is final
 *   depends on the chain state, which the caller re-reads;
 * - permanent: retrying the same call cannot help (bad arguments, unsupported operation).
 */
import { ErrorDescription, Interface, isError, type ErrorCode } from "ethers";
import {
  InferenceMarket__factory,
  ModelRegistry__factory,
  OptimisticModule__factory,
  QualityModule__factory,
  RandaoRandomness__factory,
  SamplingModule__factory,
  StakingVault__factory,
  ZkModule__factory,
} from "../../../types/ethers-contracts/index.js";
import { OptimisticArbitrator__factory, SamplingCommittee__factory } from "../../../types/ethers-contracts/index.js";

import { TransientChainError } from "../errors.js";

export type ErrorKind = "transient" | "revert" | "permanent";

export interface ChainFailure {
  kind: ErrorKind;
  /** Decoded custom error (or "Error(string)" / "Panic(uint256)"), when the chain reverted. */
  revert?: { name: string; args: unknown[] };
  /** Short description for logs and store notes. */
  summary: string;
}

const TRANSIENT_ETHERS: ReadonlySet<ErrorCode | string> = new Set([
  "NETWORK_ERROR",
  "SERVER_ERROR",
  "TIMEOUT",
  "BAD_DATA", // a malformed or truncated reply
  "NONCE_EXPIRED", // a nonce race: resync and go on
  "REPLACEMENT_UNDERPRICED",
  "TRANSACTION_REPLACED",
  "CANCELLED",
  "INSUFFICIENT_FUNDS", // the operator's balance can be topped up: alert, keep trying
]);
const TRANSIENT_SOCKET = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "UND_ERR_SOCKET"]);
/** JSON-RPC error codes a node uses for load, limits and internal trouble. */
const TRANSIENT_RPC = new Set([-32603, -32005, -32002, -32001, -32000, 429]);

let contractInterface: Interface | undefined;
/** Every custom error any veriml contract can revert with, in one interface. */
function errorsInterface(): Interface {
  if (contractInterface !== undefined) return contractInterface;
  const fragments = new Map<string, unknown>();
  for (const factory of [
    InferenceMarket__factory,
    ModelRegistry__factory,
    StakingVault__factory,
    ZkModule__factory,
    OptimisticModule__factory,
    SamplingModule__factory,
    SamplingCommittee__factory,
    OptimisticArbitrator__factory,
    QualityModule__factory,
    RandaoRandomness__factory,
  ]) {
    for (const f of factory.abi as readonly { type: string; name?: string; inputs?: unknown }[]) {
      if (f.type === "error" && f.name !== undefined) fragments.set(`${f.name}:${JSON.stringify(f.inputs)}`, f);
    }
  }
  contractInterface = new Interface([...fragments.values()] as never);
  return contractInterface;
}

/** Revert data carried by an ethers error (or its JSON-RPC payload), if any. */
function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number): string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 6) return undefined;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]*$/.test(o.data) && o.data.length >= 10) return o.data;
    for (const key of ["data", "error", "info", "cause", "payload"]) {
      const found = walk(o[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(error, 0);
}

/** The JSON-RPC error code of the node's reply, if the error carries one. */
function rpcCode(error: unknown): number | undefined {
  const o = error as { error?: { code?: unknown }; info?: { error?: { code?: unknown } }; code?: unknown } | null;
  for (const c of [o?.error?.code, o?.info?.error?.code]) if (typeof c === "number") return c;
  return undefined;
}

/** Decodes revert data against the veriml contracts' errors, Error(string) and Panic(uint256). */
export function decodeRevert(data: string): { name: string; args: unknown[] } | undefined {
  try {
    const parsed: ErrorDescription | null = errorsInterface().parseError(data);
    if (parsed !== null) return { name: parsed.name, args: [...parsed.args] };
  } catch {
    // fall through to the standard errors
  }
  try {
    const std = new Interface(["error Error(string)", "error Panic(uint256)"]).parseError(data);
    if (std !== null) return { name: std.name, args: [...std.args] };
  } catch {
    // unknown selector
  }
  return undefined;
}

/** Classifies an error thrown by a provider, a signer or a contract call. */
export function classify(error: unknown): ChainFailure {
  const code = (error as { code?: unknown } | null)?.code;
  const data = revertData(error);
  if (isError(error, "CALL_EXCEPTION") || (data !== undefined && data !== "0x")) {
    const revert = data === undefined ? undefined : decodeRevert(data);
    if (revert !== undefined) {
      const args = revert.args.map((a) => (typeof a === "bigint" ? a.toString() : String(a))).join(", ");
      return { kind: "revert", revert, summary: `${revert.name}(${args})` };
    }
    // A CALL_EXCEPTION without data is a revert without reason, or a node that answered nonsense.
    return { kind: isError(error, "CALL_EXCEPTION") ? "revert" : "transient", summary: "reverted without data" };
  }
  if (typeof code === "string" && TRANSIENT_ETHERS.has(code)) return { kind: "transient", summary: code };
  // A reply whose body is not JSON at all (a proxy's error page, a truncated stream).
  const operation = (error as { operation?: unknown } | null)?.operation;
  if (code === "UNSUPPORTED_OPERATION" && (operation === "bodyJson" || operation === "bodyText")) {
    return { kind: "transient", summary: "malformed reply" };
  }
  if (typeof code === "string" && TRANSIENT_SOCKET.has(code)) return { kind: "transient", summary: code };
  const rpc = rpcCode(error);
  if (rpc !== undefined && TRANSIENT_RPC.has(rpc)) return { kind: "transient", summary: `JSON-RPC ${rpc}` };
  const causeCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof causeCode === "string" && TRANSIENT_SOCKET.has(causeCode))
    return { kind: "transient", summary: causeCode };
  if (error instanceof SyntaxError) return { kind: "transient", summary: "malformed reply" };
  if (error instanceof TransientChainError) return { kind: "transient", summary: error.message.slice(0, 200) };
  if (code === "UNKNOWN_ERROR") return { kind: "transient", summary: "unknown node error" };
  const message = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : String(error).slice(0, 200);
  return { kind: "permanent", summary: message };
}

export const isTransient = (error: unknown): boolean => classify(error).kind === "transient";
