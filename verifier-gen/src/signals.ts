/**
 * The public signals of a build's Groth16 proof for one input and its output, exactly as the generated
 * verifier computes them on chain (verifyInference): from the request's input (its quantized values, or for a
 * build with `inputCommitment: "sha256"` its input bytes) and the settled output alone, so anyone (the prover,
 * the CLI's verify, the web app's "verify this proof yourself") derives them the same way. No file system or
 * native code: the browser shares it.
 */
import { concat, getBytes, sha256, type BytesLike } from "ethers";
import type { PublicSignalSpec } from "./circom.js";
import { pack, type PackLayout } from "./packing.js";

/** The BN254 scalar field order r: public signals are elements of it. */
export const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const toField = (v: number): bigint => (v >= 0 ? BigInt(v) : BigInt(v) + SNARK_SCALAR_FIELD);

/**
 * How a proof's public signals carry the input. `packed` (the default): the input values themselves, packed with
 * the output (packing.ts). `sha256`: one signal, the SHA-256 of the request's input bytes reduced to its top 253
 * bits (inputHashSignal), and the output packed alone; the circuit hashes the bytes it decodes the input from. A
 * batch-k sha256 build has one hash of the k slots' input bytes, concatenated in slot order, and the k outputs
 * packed as one stream: its signals are the batch's, not any one slot's (batchPublicSignals).
 */
export const INPUT_COMMITMENTS = ["packed", "sha256"] as const;
export type InputCommitment = (typeof INPUT_COMMITMENTS)[number];

/**
 * The input signal of a `sha256` build: uint256(sha256(input bytes)) >> 3, the digest's top 253 bits (< 2^253 < r,
 * so always a canonical field element). Collisions of the truncated digest cost about 2^126 hashes.
 */
export function inputHashSignal(input: BytesLike): bigint {
  return BigInt(sha256(getBytes(input))) >> 3n;
}

/** What of a manifest the public signals follow from. */
export interface SignalSpec {
  publicSignals: PublicSignalSpec[];
  packing: PackLayout | null;
}

/** The public signals of batch slot `slot` in the manifest's order (every signal of a single-inference build). */
export const signalsOfSlot = (spec: SignalSpec, slot: number): PublicSignalSpec[] =>
  spec.publicSignals.filter((s) => (s.slot ?? 0) === slot);

/** Whether a build's signals carry the input as a hash (input commitment sha256): then they cover all its slots together. */
export const hasInputHash = (spec: SignalSpec): boolean => spec.publicSignals.some((s) => s.kind === "inputHash");

/** One inference of a proof as its public signals follow from it. */
export interface SlotValues {
  /** the quantized input (tensor 0) */
  q: readonly number[];
  /** the values of the graph's last tensor (an ArgMax graph: the label alone) */
  output: readonly number[];
  /** the request's input bytes: needed by a build whose signals include the input hash */
  input?: BytesLike;
}

/**
 * Every public signal of a proof of `slots` (one per slot of the build, in slot order), in the manifest's order: a
 * packed build's are the slots' own, concatenated; a sha256 build's are the hash of every slot's input bytes and
 * the packed stream of every slot's output.
 */
export function batchPublicSignals(spec: SignalSpec, slots: readonly SlotValues[]): bigint[] {
  if (!hasInputHash(spec)) return slots.flatMap((s, i) => publicSignalsFor(spec, s.q, s.output, i, s.input));
  const inputs = slots.map((s) => {
    if (s.input === undefined) throw new TypeError("batchPublicSignals: this build's signals need the input bytes");
    return s.input;
  });
  let packed: bigint[] | undefined;
  return spec.publicSignals.map((s) => {
    switch (s.kind) {
      case "inputHash":
        return inputHashSignal(concat(inputs));
      case "packed":
        packed ??= pack(spec.packing!, [slots.flatMap((slot) => Array.from(slot.output))]);
        return packed[s.element!]!;
      default:
        throw new TypeError(`batchPublicSignals: a sha256 build has no ${s.kind} signal`);
    }
  });
}

/**
 * The public signals of batch slot `slot` (0 for a single-inference build: all of them) for quantized input
 * `q` (tensor 0) and `output`, the values of the graph's last tensor (for an ArgMax graph: the label alone).
 * A build whose signals include the input hash needs `input`, the request's input bytes (q is then unused).
 */
export function publicSignalsFor(
  spec: SignalSpec,
  q: readonly number[],
  output: readonly number[],
  slot = 0,
  input?: BytesLike,
): bigint[] {
  if (hasInputHash(spec)) {
    if (slot !== 0)
      throw new TypeError("publicSignalsFor: a sha256 build's signals cover all its slots (batchPublicSignals)");
    return batchPublicSignals(spec, [{ q, output, ...(input === undefined ? {} : { input }) }]);
  }
  let packed: bigint[] | undefined;
  return signalsOfSlot(spec, slot).map((s) => {
    switch (s.kind) {
      case "label":
        return BigInt(output[0]!);
      case "packed":
        packed ??= pack(
          spec.packing!,
          spec.packing!.segments.map((seg) => (seg.kind === "input" ? q : output)),
        );
        return packed[s.element!]!;
      case "input":
        return toField(q[s.element!]!);
      case "output":
        return toField(output[s.element!]!);
      case "inputHash":
        throw new TypeError("publicSignalsFor: an input hash outside a sha256 build");
    }
  });
}
