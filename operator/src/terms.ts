/**
 * The terms a request is judged under (the market's snapshot at creation: the stake a claim locks and the
 * mode config), their ABI encodings (one place: scripts, tests and bots decode them from here), and the
 * operator's policy for accepting them. An honest operator claims only what it can serve without risking
 * its stake: a model owner can set any clock, window or verifier it likes, so the bot checks them first.
 */
import { AbiCoder } from "ethers";
import { OperatorError } from "./errors.js";

const abi = AbiCoder.defaultAbiCoder();

/** ABI of IZkModule.ZkConfig. */
export const ZK_CONFIG_TYPE = "tuple(address verifier, bytes32 verifierCodeHash)";
/** ABI of IOptimisticModule.OptimisticConfig. */
export const OPTIMISTIC_CONFIG_TYPE =
  "tuple(uint64 challengeWindow, uint64 clock, uint256 challengerBond, uint32 leafCount, bytes32 paramRoot, uint32[] tensorSizes)";

export interface ZkConfig {
  verifier: string;
  verifierCodeHash: string;
}

export interface OptimisticConfig {
  challengeWindow: number;
  clock: number;
  challengerBond: bigint;
  leafCount: number;
  paramRoot: string;
  tensorSizes: number[];
}

export function encodeZkConfig(c: ZkConfig): string {
  return abi.encode([ZK_CONFIG_TYPE], [c]);
}

export function decodeZkConfig(bytes: string): ZkConfig {
  const [c] = abi.decode([ZK_CONFIG_TYPE], bytes) as unknown as [{ verifier: string; verifierCodeHash: string }];
  return { verifier: c.verifier, verifierCodeHash: c.verifierCodeHash };
}

export function encodeOptimisticConfig(c: OptimisticConfig): string {
  return abi.encode([OPTIMISTIC_CONFIG_TYPE], [c]);
}

export function decodeOptimisticConfig(bytes: string): OptimisticConfig {
  const [c] = abi.decode([OPTIMISTIC_CONFIG_TYPE], bytes) as unknown as [Record<string, unknown>];
  return {
    challengeWindow: Number(c.challengeWindow),
    clock: Number(c.clock),
    challengerBond: BigInt(c.challengerBond as bigint),
    leafCount: Number(c.leafCount),
    paramRoot: String(c.paramRoot),
    tensorSizes: (c.tensorSizes as bigint[]).map(Number),
  };
}

/** The terms of one request, as the market snapshotted them. */
export interface Terms {
  operatorStake: bigint;
  /** The mode config bytes (0x hex). */
  modeConfig: string;
}

/** What an operator accepts. Clocks and windows below these cannot be met reliably, whoever set them. */
export interface TermsPolicy {
  /** Smallest chess clock (optimistic disputes), seconds. */
  minClockSeconds: number;
  /** Smallest window the operator itself must act in (sampling reveals), seconds. */
  minWindowSeconds: number;
}

export const DEFAULT_TERMS_POLICY: TermsPolicy = { minClockSeconds: 300, minWindowSeconds: 300 };

/** The request's terms are ones this operator does not serve (permanent for that request: never claim it). */
export class TermsRefusedError extends OperatorError {}
