/**
 * The public signals of a build's Groth16 proof for one input and its output, exactly as the generated
 * verifier packs them on chain (verifyInference): computed from the quantized input and the settled output
 * alone, so anyone (the prover, the CLI's verify, the web app's "verify this proof yourself") derives them
 * the same way. No file system or native code: the browser shares it.
 */
import type { PublicSignalSpec } from "./circom.js";
import { pack, type PackLayout } from "./packing.js";

/** The BN254 scalar field order r: public signals are elements of it. */
export const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const toField = (v: number): bigint => (v >= 0 ? BigInt(v) : BigInt(v) + SNARK_SCALAR_FIELD);

/** What of a manifest the public signals follow from. */
export interface SignalSpec {
  publicSignals: PublicSignalSpec[];
  packing: PackLayout | null;
}

/**
 * The public signals of batch slot `slot` (0 for a single-inference build: all of them) for quantized input
 * `q` (tensor 0) and `output`, the values of the graph's last tensor (for an ArgMax graph: the label alone).
 */
export function publicSignalsFor(
  spec: SignalSpec,
  q: readonly number[],
  output: readonly number[],
  slot = 0,
): bigint[] {
  let packed: bigint[] | undefined;
  return spec.publicSignals
    .filter((s) => (s.slot ?? 0) === slot)
    .map((s) => {
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
      }
    });
}
