/**
 * Packing of the public data (input values, then the outputs) into BN254 field elements.
 *
 * The public data is a stream of segments, in this order: the input values, then the output
 * values (the graph's last tensor: the label of an ArgMax model). A value v of a segment with range [lo, hi] is encoded as u = v - lo, an unsigned
 * integer of B = max(1, bitlen(hi - lo)) bits. Values are appended greedily to the current
 * element while it holds at most 248 bits (so every element is < 2^248 < r); a value that
 * does not fit starts the next element. Each element is the big-endian concatenation of its
 * values: the first value in the most significant bits. In Solidity:
 *     if (used + B > 248) { push(acc); acc = 0; used = 0; }  acc = (acc << B) | u;  used += B;
 * (see contracts/verifiers/VerimlPacking.sol and the generated packPublicSignals).
 */
export const ELEMENT_BITS = 248;

export interface PackSegment {
  kind: "input" | "label" | "output";
  count: number;
  lo: number;
  hi: number;
  valueBits: number;
}

export interface PackLayout {
  segments: PackSegment[];
  elementBits: number;
  elements: number;
  /** number of values (over the whole stream) in each element */
  valuesPerElement: number[];
  encoding: string;
}

const bitlen = (v: number) => (v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1);

export function packLayout(segments: Omit<PackSegment, "valueBits">[]): PackLayout {
  const segs = segments.map((s) => ({ ...s, valueBits: Math.max(1, bitlen(s.hi - s.lo)) }));
  const perElement: number[] = [];
  let used = 0;
  let n = 0;
  for (const s of segs) {
    for (let i = 0; i < s.count; i++) {
      if (perElement.length === 0 || used + s.valueBits > ELEMENT_BITS) {
        if (perElement.length > 0) perElement[perElement.length - 1] = n;
        perElement.push(0);
        used = 0;
        n = 0;
      }
      used += s.valueBits;
      n++;
    }
  }
  if (perElement.length > 0) perElement[perElement.length - 1] = n;
  return {
    segments: segs,
    elementBits: ELEMENT_BITS,
    elements: perElement.length,
    valuesPerElement: perElement,
    encoding:
      "stream = segments in order; u = v - lo in B bits; greedy: start a new element when used + B > 248; element = big-endian concatenation (first value most significant)",
  };
}

/** Every value of the stream with its element and bit offset (shift) inside the element. */
export function streamSlots(layout: PackLayout): { seg: number; idx: number; element: number; shift: number }[] {
  const flat: { seg: number; idx: number; bits: number; element: number; shift: number }[] = [];
  layout.segments.forEach((s, seg) => {
    for (let idx = 0; idx < s.count; idx++) flat.push({ seg, idx, bits: s.valueBits, element: 0, shift: 0 });
  });
  let k = 0;
  layout.valuesPerElement.forEach((n, element) => {
    const slice = flat.slice(k, k + n);
    let shift = slice.reduce((t, v) => t + v.bits, 0);
    for (const v of slice) {
      shift -= v.bits;
      v.element = element;
      v.shift = shift;
    }
    k += n;
  });
  return flat.map(({ seg, idx, element, shift }) => ({ seg, idx, element, shift }));
}

export function pack(layout: PackLayout, values: readonly (ArrayLike<number> | undefined)[]): bigint[] {
  layout.segments.forEach((s, i) => {
    if ((values[i]?.length ?? -1) !== s.count) throw new RangeError(`pack: segment ${s.kind} needs ${s.count} values`);
  });
  const out: bigint[] = new Array<bigint>(layout.elements).fill(0n);
  for (const { seg, idx, element, shift } of streamSlots(layout)) {
    const s = layout.segments[seg]!;
    const v = values[seg]![idx]!;
    if (!Number.isInteger(v) || v < s.lo || v > s.hi)
      throw new RangeError(`pack: ${s.kind} value ${v} outside [${s.lo}, ${s.hi}]`);
    out[element] = out[element]! | (BigInt(v - s.lo) << BigInt(shift));
  }
  return out;
}

export function unpack(layout: PackLayout, elements: readonly bigint[]): number[][] {
  const out = layout.segments.map((s) => new Array<number>(s.count).fill(0));
  for (const { seg, idx, element, shift } of streamSlots(layout)) {
    const s = layout.segments[seg]!;
    const mask = (1n << BigInt(s.valueBits)) - 1n;
    out[seg]![idx] = Number((elements[element]! >> BigInt(shift)) & mask) + s.lo;
  }
  return out;
}
