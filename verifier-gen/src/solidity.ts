/**
 * verifier-gen's own Groth16 Solidity verifier template (MIT; not derived from snarkjs's
 * GPL template): the standard pairing check
 *     e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1,
 *     vk_x = IC_0 + sum_i pub_i * IC_{i+1}
 * with the EIP-196/197 precompiles (ecAdd 0x06, ecMul 0x07, ecPairing 0x08).
 * Public inputs >= r (aliases of smaller values) revert with PublicInputNotInField(i).
 */
import { id, toBeHex } from "ethers";
import type { VerificationKey } from "snarkjs";
import { streamSlots, type PackLayout } from "./packing.js";
import type { InputCommitment } from "./signals.js";

export function contractNameFor(modelName: string): string {
  const base = modelName
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  const n = /^[A-Za-z]/.test(base) ? base : `Model${base}`;
  return `${n}Verifier`;
}

export interface SolidityOptions {
  contractName: string;
  /** what MODEL_HASH reports: the model commitment (naive baselines report a value derived from it) */
  modelHash: string;
  modelName: string;
  /** packed public signal layout (null: one public signal per value, the naive baseline) */
  packing: PackLayout | null;
  /** the input: element count, [lo, hi] range and on-chain encoding */
  input: { count: number; lo: number; hi: number; bytes: number; signed: boolean };
  /** the output (the integer graph's last tensor): element count and [lo, hi] range */
  output: { count: number; lo: number; hi: number };
  /**
   * Inferences one proof covers (manifest `batch`, default 1). A batch-k circuit's public signals are the
   * concatenation over its k slots of the single-inference circuit's, so the verification key has k times
   * the per-slot signals.
   */
  batch?: number;
  /**
   * How the public signals carry the input (default `packed`). `sha256`: signal 0 is uint256(sha256(input)) >> 3
   * (the SHA-256 precompile), then the packed output alone (`packing` has the output segment only).
   */
  inputCommitment?: InputCommitment;
}

const g2 = (p: string[][]) => [p[0]![1]!, p[0]![0]!, p[1]![1]!, p[1]![0]!];
const bitlen = (v: number) => (v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1);

/** Input values up to which the packing is unrolled (one straight-line step per value); a loop past it. */
const UNROLL_LIMIT = 512;

/**
 * The packing functions of a verifier: `packPublicSignals` (one slot's public signals from the raw request input
 * and the claimed output) and `_pack`, which writes them to memory where the caller wants them (a batch packs
 * every slot straight into its public signal array).
 */
function packingSource(n: number, o: SolidityOptions): string {
  const { input: i, output: out } = o;
  const header = `
    /// @notice The public signals of one inference (one slot of a batch): \`input\` is the request's input
    ///         bytes (${i.count} values of ${i.bytes} byte(s), ${i.signed ? "two's complement" : "unsigned"}, big-endian), each clamped to
    ///         [${i.lo}, ${i.hi}] as tensor 0 of the integer graph is; \`output\` is the claimed last tensor
    ///         (${out.count} values, each in [${out.lo}, ${out.hi}], reverts otherwise).
    function packPublicSignals(
        bytes calldata input,
        int256[] calldata output
    ) public pure returns (uint256[${n}] memory s) {
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := s
        }
        _pack(ptr, input, output);
    }

    /// @dev Writes the ${n} public signal(s) of one slot (packPublicSignals) to memory words [ptr, ptr + ${32 * n}),
    ///      which the caller has allocated.
    // solhint-disable-next-line function-max-lines
    function _pack(uint256 ptr, bytes calldata input, int256[] calldata output) private pure {
        if (input.length != ${i.count * i.bytes}) revert InputLengthMismatch(input.length, ${i.count * i.bytes});
        if (output.length != ${out.count}) revert OutputLengthMismatch(output.length, ${out.count});`;
  if (o.packing === null) {
    return `${header}
        for (uint256 k = 0; k < ${i.count}; ++k) {
            int256 v = VerimlPacking.clamp(VerimlPacking.decode(input, k, ${i.bytes}, ${i.signed}), ${i.lo}, ${i.hi});
            _store(ptr, k, VerimlPacking.toField(v));
        }
        for (uint256 k = 0; k < ${out.count}; ++k) {
            VerimlPacking.checkRange(k, output[k], ${out.lo}, ${out.hi});
            _store(ptr, ${i.count} + k, VerimlPacking.toField(output[k]));
        }
    }

    function _store(uint256 ptr, uint256 index, uint256 value) private pure {
        assembly ("memory-safe") {
            mstore(add(ptr, mul(index, 32)), value)
        }
    }`;
  }
  const layout = o.packing;
  if ((o.inputCommitment ?? "packed") === "sha256") return hashedSource(n, o, layout, header);
  const [inSeg, outSeg] = layout.segments;
  // The layout is the circuit's (manifest "packing"): its two segments are the input and the output.
  if (
    layout.segments.length !== 2 ||
    inSeg!.kind !== "input" ||
    inSeg!.count !== i.count ||
    inSeg!.lo !== i.lo ||
    inSeg!.hi !== i.hi ||
    inSeg!.valueBits !== Math.max(1, bitlen(i.hi - i.lo)) ||
    outSeg!.count !== out.count ||
    outSeg!.lo !== out.lo ||
    outSeg!.hi !== out.hi ||
    outSeg!.valueBits !== Math.max(1, bitlen(out.hi - out.lo)) ||
    layout.elements !== n
  ) {
    throw new RangeError("packing layout does not match the verifier's input and output");
  }
  // Every element is a fixed run of the stream: emit one accumulation per (element, segment) run.
  const runs: { element: number; seg: number; start: number; end: number }[] = [];
  for (const slot of streamSlots(layout)) {
    const last = runs[runs.length - 1];
    if (last && last.element === slot.element && last.seg === slot.seg && last.end === slot.idx) last.end++;
    else runs.push({ element: slot.element, seg: slot.seg, start: slot.idx, end: slot.idx + 1 });
  }
  const yul = (v: number) => (v < 0 ? `sub(0, ${-v})` : `${v}`);
  const w = i.bytes;
  const bits = inSeg!.valueBits;
  const at = (offset: string) =>
    i.signed
      ? `signextend(${w - 1}, shr(${256 - 8 * w}, calldataload(${offset})))`
      : `shr(${256 - 8 * w}, calldataload(${offset}))`;
  // A decoded unsigned value of fewer than 32 bytes is never below 0 nor above 2^(8w) - 1: those clamps go.
  const clampLo = i.signed || w === 32 || i.lo > 0;
  const clampHi = i.signed || w === 32 || BigInt(i.hi) < 2n ** BigInt(8 * w) - 1n;
  const clamp = (ind: string) =>
    [
      ...(clampLo ? [`${ind}if slt(v, ${yul(i.lo)}) {`, `${ind}    v := ${yul(i.lo)}`, `${ind}}`] : []),
      ...(clampHi ? [`${ind}if sgt(v, ${yul(i.hi)}) {`, `${ind}    v := ${yul(i.hi)}`, `${ind}}`] : []),
    ].join("\n");
  const append = i.lo === 0 ? "v" : `sub(v, ${yul(i.lo)})`;
  const inputRun = (r: { start: number; end: number }, first: boolean): string => {
    const ind = "            ";
    const lines: string[] = [];
    if (first) lines.push(`${ind}acc := 0`);
    if (r.end - r.start <= UNROLL_LIMIT) {
      for (let k = r.start; k < r.end; k++) {
        lines.push(`${ind}v := ${at(k * w === 0 ? "o" : `add(o, ${k * w})`)}`);
        if (clampLo || clampHi) lines.push(clamp(ind));
        lines.push(`${ind}acc := or(shl(${bits}, acc), ${append})`);
      }
    } else {
      lines.push(
        `${ind}for {`,
        `${ind}    let p := add(o, ${r.start * w})`,
        `${ind}} lt(p, add(o, ${r.end * w})) {`,
        `${ind}    p := add(p, ${w})`,
        `${ind}} {`,
        `${ind}    v := ${at("p")}`,
        ...(clampLo || clampHi ? [clamp(`${ind}    `)] : []),
        `${ind}    acc := or(shl(${bits}, acc), ${append})`,
        `${ind}}`,
      );
    }
    return lines.join("\n");
  };
  const body: string[] = [];
  for (let e = 0; e < n; e++) {
    const mine = runs.filter((r) => r.element === e);
    body.push(
      `        // element ${e}: ${mine.map((r) => `${r.seg === 0 ? "input" : "output"} ${r.start}..${r.end - 1}`).join(", ")}`,
    );
    mine.forEach((r, j) => {
      if (r.seg === 0) {
        body.push(
          `        assembly ("memory-safe") {`,
          `            let o := input.offset`,
          `            let v`,
          inputRun(r, j === 0),
          `        }`,
        );
      } else {
        body.push(`        acc = _pushOutputs(${j === 0 ? "0" : "acc"}, output, ${r.start}, ${r.end});`);
      }
    });
    body.push(
      `        assembly ("memory-safe") {`,
      `            mstore(${e === 0 ? "ptr" : `add(ptr, ${32 * e})`}, acc)`,
      `        }`,
    );
  }
  return `${header}
        // Each input value: decoded (${w} byte(s) big-endian${i.signed ? ", two's complement" : ""}), clamped to [${i.lo}, ${i.hi}],
        // offset by ${i.lo} and appended in ${bits} bits; straight-line code with constant offsets (the length
        // is checked above, so every value read is the input's).
        uint256 acc;
${body.join("\n")}
    }
${pushOutputsSource(out, outSeg!.valueBits)}`;
}

/** `_pushOutputs`: `acc` followed by output values [start, end), each range-checked. */
function pushOutputsSource(out: SolidityOptions["output"], valueBits: number): string {
  return `
    /// @dev \`acc\` followed by output values [start, end): each in [${out.lo}, ${out.hi}] (reverts otherwise), offset by
    ///      ${out.lo} and appended in ${valueBits} bits.
    function _pushOutputs(
        uint256 acc,
        int256[] calldata output,
        uint256 start,
        uint256 end
    ) private pure returns (uint256 r) {
        r = acc;
        for (uint256 k = start; k < end; ++k) {
            int256 v = output[k];
            VerimlPacking.checkRange(k, v, ${out.lo}, ${out.hi});
            unchecked {
                r = (r << ${valueBits}) | uint256(v - (${out.lo}));
            }
        }
    }`;
}

/**
 * The packing of a sha256 build: signal 0 the input hash, the output packed into signals 1..n-1 (the layout has
 * the output segment only). The input's length is checked by the header, so the hash is over exactly the bytes
 * the circuit decodes.
 */
function hashedSource(n: number, o: SolidityOptions, layout: PackLayout, header: string): string {
  const { output: out } = o;
  const [outSeg] = layout.segments;
  if (
    layout.segments.length !== 1 ||
    outSeg!.kind === "input" ||
    outSeg!.count !== out.count ||
    outSeg!.lo !== out.lo ||
    outSeg!.hi !== out.hi ||
    outSeg!.valueBits !== Math.max(1, bitlen(out.hi - out.lo)) ||
    layout.elements + 1 !== n
  ) {
    throw new RangeError("packing layout does not match the verifier's output (input commitment sha256)");
  }
  const body: string[] = [];
  let start = 0;
  layout.valuesPerElement.forEach((count, e) => {
    body.push(`        // element ${e + 1}: output ${start}..${start + count - 1}`);
    body.push(`        acc = _pushOutputs(0, output, ${start}, ${start + count});`);
    body.push(`        assembly ("memory-safe") {`, `            mstore(add(ptr, ${32 * (e + 1)}), acc)`, `        }`);
    start += count;
  });
  return `${header}
        // signal 0: the top 253 bits of SHA-256 of the input bytes (the precompile at 0x02), < 2^253 < r
        uint256 acc = uint256(sha256(input)) >> 3;
        assembly ("memory-safe") {
            mstore(ptr, acc)
        }
${body.join("\n")}
    }
${pushOutputsSource(out, outSeg!.valueBits)}`;
}

/** The functions of IInferenceVerifier (contracts/interfaces/IInferenceVerifier.sol), ERC-165 aside. */
export const INFERENCE_VERIFIER_FUNCTIONS = [
  "MODEL_HASH()",
  "BATCH_SIZE()",
  "verifyInference(uint256[2],uint256[2][2],uint256[2],bytes,int256[])",
  "verifyInferences(uint256[2],uint256[2][2],uint256[2],bytes[],int256[][])",
] as const;

/** ERC-165 id of IInferenceVerifier: the XOR of its selectors. */
export const INFERENCE_VERIFIER_INTERFACE_ID = toBeHex(
  INFERENCE_VERIFIER_FUNCTIONS.reduce((acc, f) => acc ^ BigInt(id(f).slice(0, 10)), 0n),
  4,
);

/** A verifier's batch size refused before anything is emitted. */
export class BatchSizeError extends Error {}

/** Public signals per slot of a batch-k verification key of `nPublic` signals. */
export function signalsPerSlot(nPublic: number, batch: number): number {
  if (!Number.isInteger(batch) || batch < 1) throw new BatchSizeError(`batch size ${batch} is not an integer >= 1`);
  if (nPublic % batch !== 0) {
    throw new BatchSizeError(`${nPublic} public signals do not split into ${batch} equal slots`);
  }
  return nPublic / batch;
}

/**
 * The Groth16 part of every verifier-gen verifier: the verification key as constants (`constants`) and
 * `_verify(a, b, c, pubSignals)` with its pairing helpers (`functions`): canonical public signals, then the
 * pairing check. Model verifiers and attestation verifiers embed it unchanged.
 */
export function groth16Core(vk: VerificationKey): { constants: string; functions: string } {
  const n = vk.nPublic;
  const [bx1, bx0, by1, by0] = g2(vk.vk_beta_2);
  const [gx1, gx0, gy1, gy0] = g2(vk.vk_gamma_2);
  const [dx1, dx0, dy1, dy0] = g2(vk.vk_delta_2);
  const ic = vk.IC.map(
    (p, i) => `    uint256 internal constant _IC${i}_X = ${p[0]};\n    uint256 internal constant _IC${i}_Y = ${p[1]};`,
  ).join("\n");
  const icAcc = vk.IC.slice(1)
    .map((_, i) => `        if (!_mulAcc(buf, _IC${i + 1}_X, _IC${i + 1}_Y, pubSignals[${i}])) return false;`)
    .join("\n");
  return {
    constants: `    // BN254 scalar field r and base field q
    uint256 internal constant _R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant _Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    uint256 internal constant _ALPHA_X = ${vk.vk_alpha_1[0]};
    uint256 internal constant _ALPHA_Y = ${vk.vk_alpha_1[1]};
    uint256 internal constant _BETA_X1 = ${bx1};
    uint256 internal constant _BETA_X0 = ${bx0};
    uint256 internal constant _BETA_Y1 = ${by1};
    uint256 internal constant _BETA_Y0 = ${by0};
    uint256 internal constant _GAMMA_X1 = ${gx1};
    uint256 internal constant _GAMMA_X0 = ${gx0};
    uint256 internal constant _GAMMA_Y1 = ${gy1};
    uint256 internal constant _GAMMA_Y0 = ${gy0};
    uint256 internal constant _DELTA_X1 = ${dx1};
    uint256 internal constant _DELTA_X0 = ${dx0};
    uint256 internal constant _DELTA_Y1 = ${dy1};
    uint256 internal constant _DELTA_Y0 = ${dy0};
${ic}`,
    functions: `    function _verify(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[${n}] memory pubSignals
    ) internal view returns (bool) {
        for (uint256 i = 0; i < ${n}; ++i) {
            if (pubSignals[i] >= _R) revert PublicInputNotInField(i);
        }
        if (a[0] >= _Q || a[1] >= _Q || c[0] >= _Q || c[1] >= _Q) return false;
        if (b[0][0] >= _Q || b[0][1] >= _Q || b[1][0] >= _Q || b[1][1] >= _Q) return false;

        // vk_x = IC_0 + sum_i pub_i * IC_{i+1}, accumulated in words 0..1 of one scratch buffer (2..4: ecMul's).
        uint256[5] memory scratch;
        scratch[0] = _IC0_X;
        scratch[1] = _IC0_Y;
        uint256 buf;
        assembly ("memory-safe") {
            buf := scratch
        }
${icAcc}
        return _pairing(a, b, c, scratch[0], scratch[1]);
    }

    /// e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
    function _pairing(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256 vkX,
        uint256 vkY
    ) private view returns (bool) {
        uint256[24] memory input;
        // -A
        input[0] = a[0];
        input[1] = a[1] == 0 ? 0 : _Q - a[1];
        input[2] = b[0][0];
        input[3] = b[0][1];
        input[4] = b[1][0];
        input[5] = b[1][1];
        // alpha, beta
        input[6] = _ALPHA_X;
        input[7] = _ALPHA_Y;
        input[8] = _BETA_X1;
        input[9] = _BETA_X0;
        input[10] = _BETA_Y1;
        input[11] = _BETA_Y0;
        // vk_x, gamma
        input[12] = vkX;
        input[13] = vkY;
        input[14] = _GAMMA_X1;
        input[15] = _GAMMA_X0;
        input[16] = _GAMMA_Y1;
        input[17] = _GAMMA_Y0;
        // C, delta
        input[18] = c[0];
        input[19] = c[1];
        input[20] = _DELTA_X1;
        input[21] = _DELTA_X0;
        input[22] = _DELTA_Y1;
        input[23] = _DELTA_Y0;

        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, input, 768, out, 32)
        }
        return ok && out[0] == 1;
    }

    /// @dev Words 0..1 at \`buf\` += s * (x, y) (words 2..4 are scratch); false on a precompile failure.
    function _mulAcc(uint256 buf, uint256 x, uint256 y, uint256 s) private view returns (bool ok) {
        assembly ("memory-safe") {
            let m := add(buf, 64)
            mstore(m, x)
            mstore(add(buf, 96), y)
            mstore(add(buf, 128), s)
            // ecMul writes the product into words 2..3; ecAdd adds words 0..1 and 2..3 into words 0..1
            ok := staticcall(gas(), 0x07, m, 96, m, 64)
            if ok {
                ok := staticcall(gas(), 0x06, buf, 128, buf, 64)
            }
        }
    }
`,
  };
}

/**
 * The batch functions of a sha256 build of k > 1 slots: signal 0 the top 253 bits of SHA-256 of the k inputs' bytes
 * concatenated in slot order, then the k outputs packed as one stream (the layout's one segment of k x outputs).
 * Every input has exactly the model's input length, so the concatenation splits into slots one way only: the
 * bytes the circuit decodes slot s from are inputs[s].
 */
function hashedBatchSource(n: number, k: number, o: SolidityOptions): string {
  const { input: i, output: out } = o;
  const layout = o.packing;
  const outSeg = layout?.segments[0];
  if (
    layout === null ||
    layout.segments.length !== 1 ||
    outSeg!.kind === "input" ||
    outSeg!.count !== k * out.count ||
    outSeg!.lo !== out.lo ||
    outSeg!.hi !== out.hi ||
    outSeg!.valueBits !== Math.max(1, bitlen(out.hi - out.lo)) ||
    layout.elements + 1 !== n
  ) {
    throw new RangeError("packing layout does not match the verifier's batch output (input commitment sha256)");
  }
  const nb = i.count * i.bytes;
  const body: string[] = [];
  let t = 0;
  layout.valuesPerElement.forEach((count, e) => {
    // element e holds stream values [t, t + count): runs of consecutive values of one slot
    const runs: { slot: number; start: number; end: number }[] = [];
    for (let v = t; v < t + count; v++) {
      const slot = Math.floor(v / out.count);
      const idx = v % out.count;
      const last = runs[runs.length - 1];
      if (last && last.slot === slot && last.end === idx) last.end++;
      else runs.push({ slot, start: idx, end: idx + 1 });
    }
    body.push(
      `        // element ${e + 1}: ${runs.map((r) => `slot ${r.slot} output ${r.start}..${r.end - 1}`).join(", ")}`,
    );
    runs.forEach((r, j) =>
      body.push(`        acc = _pushOutputs(${j === 0 ? "0" : "acc"}, outputs[${r.slot}], ${r.start}, ${r.end});`),
    );
    body.push(`        s[${e + 1}] = acc;`);
    t += count;
  });
  return `
    /// @notice The public signals of a proof of ${k} inferences: signal 0 the top 253 bits of SHA-256 of the ${k}
    ///         inputs' bytes concatenated in slot order (each exactly ${nb} bytes: ${i.count} values of ${i.bytes} byte(s),
    ///         ${i.signed ? "two's complement" : "unsigned"}, big-endian, each clamped to [${i.lo}, ${i.hi}] by the circuit), then the ${k}
    ///         outputs packed as one stream (${out.count} value(s) per slot, each in [${out.lo}, ${out.hi}], reverts otherwise).
    // solhint-disable-next-line function-max-lines
    function packBatchPublicSignals(
        bytes[] calldata inputs,
        int256[][] calldata outputs
    ) public pure returns (uint256[${n}] memory s) {
        if (inputs.length != ${k} || outputs.length != ${k}) {
            revert BatchSizeMismatch(inputs.length, outputs.length, ${k});
        }
        bytes memory message = new bytes(${k * nb});
        for (uint256 slot = 0; slot < ${k}; ++slot) {
            bytes calldata input = inputs[slot];
            if (input.length != ${nb}) revert InputLengthMismatch(input.length, ${nb});
            if (outputs[slot].length != ${out.count}) revert OutputLengthMismatch(outputs[slot].length, ${out.count});
            assembly ("memory-safe") {
                calldatacopy(add(add(message, 32), mul(slot, ${nb})), input.offset, ${nb})
            }
        }
        // signal 0: the precompile at 0x02; < 2^253 < r
        s[0] = uint256(sha256(message)) >> 3;
        uint256 acc;
${body.join("\n")}
    }

    /// @notice IInferenceVerifier's single-inference check: a batch verifier (${k} slots) always reverts
    ///         (use verifyInferences).
    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        revert NotSingleInference(${k});
    }

    /// @notice Whether (a, b, c) proves that the model maps \`inputs[s]\` to \`outputs[s]\` for each of the
    ///         ${k} slots (IInferenceVerifier).
    function verifyInferences(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes[] calldata inputs,
        int256[][] calldata outputs
    ) external view returns (bool) {
        return _verify(a, b, c, packBatchPublicSignals(inputs, outputs));
    }

    /// @notice ERC-165: this contract implements IInferenceVerifier (the ZkModule registers nothing else).
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == ${INFERENCE_VERIFIER_INTERFACE_ID};
    }
${pushOutputsSource(out, outSeg!.valueBits)}`;
}

export function emitSolidityVerifier(vk: VerificationKey, o: SolidityOptions): string {
  const n = vk.nPublic;
  const k = o.batch ?? 1;
  // A sha256 batch's signals cover all its slots together; a packed batch's are k copies of one slot's.
  const hashedBatch = k > 1 && (o.inputCommitment ?? "packed") === "sha256";
  const m = hashedBatch ? n : signalsPerSlot(n, k);
  const core = groth16Core(vk);
  const singleFn =
    k === 1
      ? `
    /// @notice Whether (a, b, c) proves that the model maps \`input\` to \`output\` (IInferenceVerifier).
    function verifyInference(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes calldata input,
        int256[] calldata output
    ) external view returns (bool) {
        return _verify(a, b, c, packPublicSignals(input, output));
    }
`
      : `
    /// @notice IInferenceVerifier's single-inference check: a batch verifier (${k} slots) always reverts
    ///         (use verifyInferences).
    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        revert NotSingleInference(${k});
    }
`;
  const packFn = hashedBatch
    ? hashedBatchSource(n, k, o)
    : `${packingSource(m, o)}
${singleFn}
    /// @notice Whether (a, b, c) proves that the model maps \`inputs[s]\` to \`outputs[s]\` for each of the
    ///         ${k} slot(s) (IInferenceVerifier); the public signals are each slot's, concatenated in slot order.
    function verifyInferences(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes[] calldata inputs,
        int256[][] calldata outputs
    ) external view returns (bool) {
        if (inputs.length != ${k} || outputs.length != ${k}) {
            revert BatchSizeMismatch(inputs.length, outputs.length, ${k});
        }
        uint256[${n}] memory s;
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := s
        }
        // Each slot's signals are packed straight into place: slot \`slot\` at words [slot * ${m}, slot * ${m} + ${m}).
        for (uint256 slot = 0; slot < ${k}; ++slot) _pack(ptr + slot * ${32 * m}, inputs[slot], outputs[slot]);
        return _verify(a, b, c, s);
    }

    /// @notice ERC-165: this contract implements IInferenceVerifier (the ZkModule registers nothing else).
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == ${INFERENCE_VERIFIER_INTERFACE_ID};
    }`;

  return `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {VerimlPacking} from "./VerimlPacking.sol";

/// @title ${o.contractName}
/// @notice Groth16 verifier for the veriml model "${o.modelName}"${k === 1 ? "" : `, ${k} inferences per proof`}.
/// @dev Generated by veriml verifier-gen (own MIT template). Do not edit; regenerate instead.
///      The circuit is bound to the integer graph whose model commitment is MODEL_HASH.
contract ${o.contractName} {
    /// @notice A public signal is not a canonical field element (>= r); such aliases are rejected.
    error PublicInputNotInField(uint256 index);
    error InputLengthMismatch(uint256 got, uint256 expected);
    error OutputLengthMismatch(uint256 got, uint256 expected);
    /// @notice verifyInference on a batch verifier (one proof covers \`batchSize\` inferences).
    error NotSingleInference(uint256 batchSize);
    /// @notice verifyInferences needs exactly \`batchSize\` inputs and outputs.
    error BatchSizeMismatch(uint256 inputs, uint256 outputs, uint256 batchSize);

    /// @notice The model commitment (verifier-gen/src/merkle.ts) of the integer graph the circuit encodes.
    bytes32 public constant MODEL_HASH = ${o.modelHash};
    /// @notice Inferences one proof covers; ${hashedBatch ? "the public signals cover all slots together" : `each slot has ${m} public signal(s)`}.
    uint256 public constant BATCH_SIZE = ${k};
    uint256 public constant NUM_PUBLIC_SIGNALS = ${n};

${core.constants}

    /// @notice Verify a Groth16 proof. b uses the EIP-197 coordinate order (imaginary part first).
    /// @return true iff the proof is valid for pubSignals; reverts on non-canonical public signals.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[${n}] calldata pubSignals
    ) external view returns (bool) {
        return _verify(a, b, c, pubSignals);
    }${packFn}

${core.functions}}
`;
}

/** The packing library every generated verifier imports (written next to it). */
export const PACKING_LIBRARY_SOL = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title VerimlPacking
/// @notice Recomputes verifier-gen packed public signals, exactly as the circuit packs them.
/// @dev The public data is a stream of values (the input values, then the output values, see the model
///      manifest "packing.segments"). A value v of a segment with range [lo, hi] must satisfy lo <= v <= hi
///      and is pushed as u = v - lo with B = bitlen(hi - lo) bits. Values are appended to the current
///      element while it holds at most 248 bits; a value that does not fit starts the next element. Each
///      element is the big-endian concatenation of its values (first value most significant).
///      Generated by verifier-gen.
library VerimlPacking {
    /// @notice A value is outside its segment's range.
    error ValueOutOfRange(uint256 index, int256 value, int256 lo, int256 hi);
    error TooManyElements();

    uint256 internal constant ELEMENT_BITS = 248;
    /// @dev BN254 scalar field.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Packer {
        uint256[] elements;
        uint256 count;
        uint256 acc;
        uint256 used;
    }

    /// @param maxElements the number of packed public signals of the model (manifest "packing.elements")
    function init(uint256 maxElements) internal pure returns (Packer memory p) {
        p.elements = new uint256[](maxElements);
    }

    /// @notice Value \`index\` of \`data\`: a big-endian integer of \`width\` bytes, two's complement when \`signed\`.
    function decode(bytes calldata data, uint256 index, uint256 width, bool signed) internal pure returns (int256) {
        uint256 raw = 0;
        uint256 at = index * width;
        for (uint256 k = 0; k < width; ++k) raw = (raw << 8) | uint8(data[at + k]);
        if (signed && raw >= uint256(1) << (8 * width - 1)) return int256(raw) - int256(uint256(1) << (8 * width));
        return int256(raw);
    }

    function clamp(int256 v, int256 lo, int256 hi) internal pure returns (int256) {
        return v < lo ? lo : (v > hi ? hi : v);
    }

    /// @notice Reverts unless lo <= v <= hi (exactly the range, not the next power of two).
    function checkRange(uint256 index, int256 v, int256 lo, int256 hi) internal pure {
        if (v < lo || v > hi) revert ValueOutOfRange(index, v, lo, hi);
    }

    /// @notice A signed value as a field element (negative values wrap to R - |v|).
    function toField(int256 v) internal pure returns (uint256) {
        return v >= 0 ? uint256(v) : R - uint256(-v);
    }

    /// @notice Append one value u (already offset by lo, and below 2^bits) of \`bits\` bits.
    function push(Packer memory p, uint256 u, uint256 bits) internal pure {
        if (p.used + bits > ELEMENT_BITS) {
            _flush(p);
        }
        p.acc = (p.acc << bits) | u;
        p.used += bits;
    }

    /// @notice Close the last element and return all elements (the public signals).
    function finish(Packer memory p) internal pure returns (uint256[] memory) {
        if (p.used > 0) _flush(p);
        if (p.count != p.elements.length) revert TooManyElements();
        return p.elements;
    }

    function _flush(Packer memory p) private pure {
        if (p.count == p.elements.length) revert TooManyElements();
        p.elements[p.count++] = p.acc;
        p.acc = 0;
        p.used = 0;
    }
}
`;
