/**
 * The on-chain encodings of a model's input and output, one place for every layer.
 *
 * Output: `abi.encode(int256[] values)`, the quantized values of the integer graph's last tensor (for an
 * ArgMax classifier, one value: the label), in every mode (contracts/libraries/VerimlOutput.sol).
 *
 * Input: the on-chain encoding of a request's input: the quantized integer input, one big-endian integer per
 * value of `inputEncoding(lo, hi).bytes` bytes (two's complement when the range is signed). Tensor 0 of
 * the integer graph is `clamp(decode(bytes), lo, hi)`: the zk verifier, the optimistic one-step, the
 * reference interpreter and every executor read input bytes through this one definition, so a request's
 * input means the same in every mode. Clients refuse values outside [lo, hi] before paying.
 */
import { AbiCoder } from "ethers";
import { IntegrityError } from "./errors.js";
import type { IntGraph } from "./intgraph.js";
import { inputEncoding } from "./merkle.js";

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Input byte length a graph expects. */
export function inputByteLength(g: IntGraph): number {
  return prod(g.input.shape) * inputEncoding(g.input.lo, g.input.hi).bytes;
}

/** What the input encoding needs of a graph (or of a model interface). */
type InputSpec = { input: { shape: readonly number[]; lo: number; hi: number } };

/** Quantized input values -> request input bytes. Throws on a value outside the model's range. */
export function encodeInputBytes(g: InputSpec, q: readonly number[]): Uint8Array {
  const n = prod(g.input.shape);
  if (q.length !== n) throw new IntegrityError(`input has ${q.length} values, the model needs ${n}`);
  const { bytes, signed } = inputEncoding(g.input.lo, g.input.hi);
  const out = new Uint8Array(n * bytes);
  q.forEach((v, i) => {
    if (!Number.isInteger(v) || v < g.input.lo || v > g.input.hi) {
      throw new IntegrityError(`input value ${v} at index ${i} is outside [${g.input.lo}, ${g.input.hi}]`);
    }
    let u = BigInt(v);
    if (signed && u < 0n) u += 1n << BigInt(8 * bytes);
    for (let k = bytes - 1; k >= 0; k--) {
      out[i * bytes + k] = Number(u & 0xffn);
      u >>= 8n;
    }
  });
  return out;
}

/** The raw integers the bytes encode (no clamping); throws when the length is wrong. */
export function decodeInputRaw(g: IntGraph, data: Uint8Array): number[] {
  const n = prod(g.input.shape);
  const { bytes, signed } = inputEncoding(g.input.lo, g.input.hi);
  if (data.length !== n * bytes) {
    throw new IntegrityError(`input has ${data.length} bytes, the model needs ${n * bytes} (${n} x ${bytes})`);
  }
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let k = 0; k < bytes; k++) u = u * 256 + data[i * bytes + k]!;
    out[i] = signed && u >= 2 ** (8 * bytes - 1) ? u - 2 ** (8 * bytes) : u;
  }
  return out;
}

/** Tensor 0 of the integer graph for request input bytes: clamp(decode(bytes), lo, hi). */
export function decodeInputBytes(g: IntGraph, data: Uint8Array): number[] {
  const { lo, hi } = g.input;
  return decodeInputRaw(g, data).map((v) => Math.min(hi, Math.max(lo, v)));
}

/** Indexes of raw values outside the model's range (what a client refuses before paying). */
export function outOfRange(g: IntGraph, data: Uint8Array): number[] {
  const { lo, hi } = g.input;
  return decodeInputRaw(g, data).flatMap((v, i) => (v < lo || v > hi ? [i] : []));
}

const abi = AbiCoder.defaultAbiCoder();

/** The output encoding of every mode: abi.encode(int256[]) of the graph's last tensor. */
export function encodeOutput(values: ArrayLike<number | bigint>): string {
  return abi.encode(["int256[]"], [Array.from(values, (v) => BigInt(v))]);
}

/** The values of an encoded output; throws unless it is the canonical abi.encode(int256[]). */
export function decodeOutput(output: string): bigint[] {
  const [values] = abi.decode(["int256[]"], output) as unknown as [bigint[]];
  if (encodeOutput(values) !== output.toLowerCase())
    throw new IntegrityError("output is not the canonical abi.encode(int256[])");
  return [...values];
}
